//! IncrementalAlterConfigs: SET, DELETE, APPEND and SUBTRACT (list-typed keys such as
//! `cleanup.policy`) on a topic's config overrides. Broker resources are refused (static
//! configs only).

use ferry_kafka_protocol::messages::incremental_alter_configs::{
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
};

use super::config_resources::{self as res, BROKER, TOPIC};
use crate::broker::Broker;
use crate::topic_config::alter::{self, Change};

pub async fn handle(
    broker: &Broker,
    request: IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let mut responses = Vec::with_capacity(request.resources.len());
    for resource in request.resources {
        let name = resource.resource_name;
        let outcome = match resource.resource_type {
            TOPIC => {
                let changes: Vec<Change> = resource
                    .configs
                    .into_iter()
                    .map(|c| Change {
                        name: c.name,
                        op: c.config_operation,
                        value: c.value,
                    })
                    .collect();
                broker
                    .alter_topic_config(&name, request.validate_only, |current| {
                        alter::incremental(current, &changes)
                    })
                    .await
                    .map_err(res::write_refusal)
            }
            BROKER => Err(res::broker_alter_refusal(broker, &name)),
            other => Err(res::unsupported_type(other)),
        };
        responses.push(res::resource_result(resource.resource_type, name, outcome));
    }
    IncrementalAlterConfigsResponse {
        responses,
        ..Default::default()
    }
}
