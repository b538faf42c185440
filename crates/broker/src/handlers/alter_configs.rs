//! AlterConfigs: replaces a topic's whole set of config overrides (keys left out return to
//! their defaults), as Kafka 2.x does. Broker resources are refused (static configs only).

use ferry_kafka_protocol::messages::alter_configs::{AlterConfigsRequest, AlterConfigsResponse};

use super::config_resources::{self as res, BROKER, TOPIC};
use crate::broker::Broker;
use crate::topic_config::alter;

pub async fn handle(broker: &Broker, request: AlterConfigsRequest) -> AlterConfigsResponse {
    let mut responses = Vec::with_capacity(request.resources.len());
    for resource in request.resources {
        let name = resource.resource_name;
        let outcome = match resource.resource_type {
            TOPIC => {
                let entries: Vec<(String, Option<String>)> = resource
                    .configs
                    .into_iter()
                    .map(|c| (c.name, c.value))
                    .collect();
                broker
                    .alter_topic_config(&name, request.validate_only, |_| alter::replace(&entries))
                    .await
                    .map_err(res::write_refusal)
            }
            BROKER => Err(res::broker_alter_refusal(broker, &name)),
            other => Err(res::unsupported_type(other)),
        };
        responses.push(res::resource_result(resource.resource_type, name, outcome));
    }
    AlterConfigsResponse {
        responses,
        ..Default::default()
    }
}
