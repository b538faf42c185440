//! DescribeConfigs for topics (overrides read from ZooKeeper, merged with the broker's
//! defaults) and for this broker (its static `server.properties` settings and defaults).
//! Fields follow the request version: `is_default` (v0), `config_source` and synonyms (v1+,
//! synonyms only when asked), `config_type` and documentation (v3+, documentation when asked).

use ferry_kafka_protocol::messages::describe_configs::{
    DescribeConfigsRequest, DescribeConfigsResourceResult, DescribeConfigsResponse,
    DescribeConfigsResult, DescribeConfigsSynonym,
};
use ferry_kafka_protocol::ErrorCode;

use super::config_resources::{self as res, Refusal, BROKER, TOPIC};
use crate::broker::Broker;
use crate::topic_config::describe::{describe_broker, describe_topic, ConfigSource, Described};
use crate::zk::validate_topic_name;

pub async fn handle(
    broker: &Broker,
    request: DescribeConfigsRequest,
    version: i16,
) -> DescribeConfigsResponse {
    let wants = Wants {
        version,
        synonyms: request.include_synonyms,
        documentation: request.include_documentation,
    };
    let mut results = Vec::with_capacity(request.resources.len());
    for resource in request.resources {
        let keys = resource.configuration_keys.as_deref();
        let name = resource.resource_name;
        let described = match resource.resource_type {
            TOPIC => topic(broker, &name, keys).await,
            BROKER => res::check_broker_name(broker, &name)
                .map(|()| describe_broker(&broker.config.topic_defaults, keys)),
            other => Err(res::unsupported_type(other)),
        };
        let (error, message, configs) = match described {
            Ok(list) => {
                let configs = list.into_iter().map(|d| entry(d, &wants)).collect();
                (ErrorCode::None, None, configs)
            }
            Err((code, message)) => (code, Some(message), Vec::new()),
        };
        results.push(DescribeConfigsResult {
            error_code: error.code(),
            error_message: message,
            resource_type: resource.resource_type,
            resource_name: name,
            configs,
            ..Default::default()
        });
    }
    DescribeConfigsResponse {
        results,
        ..Default::default()
    }
}

async fn topic(
    broker: &Broker,
    name: &str,
    keys: Option<&[String]>,
) -> Result<Vec<Described>, Refusal> {
    validate_topic_name(name).map_err(|e| (ErrorCode::InvalidTopicException, e.to_string()))?;
    let zk = broker.zk.get();
    let unknown = || {
        (
            ErrorCode::UnknownTopicOrPartition,
            format!("Topic {name} does not exist"),
        )
    };
    let server_error = |e: crate::zk::ZkError| (ErrorCode::UnknownServerError, e.to_string());
    if !zk.topic_exists(name).await.map_err(server_error)? {
        return Err(unknown());
    }
    // ZooKeeper is the truth: a change made elsewhere shows even before its notification.
    let overrides = zk
        .get_topic_config(name)
        .await
        .map_err(server_error)?
        .map(|v| v.value)
        .unwrap_or_default();
    Ok(describe_topic(
        &broker.config.topic_defaults,
        &overrides,
        keys,
    ))
}

/// What the request version and flags ask to be filled in.
struct Wants {
    version: i16,
    synonyms: bool,
    documentation: bool,
}

fn entry(d: Described, wants: &Wants) -> DescribeConfigsResourceResult {
    let synonyms = if wants.synonyms {
        d.synonyms
            .into_iter()
            .map(|s| DescribeConfigsSynonym {
                name: s.name,
                value: s.value,
                source: s.source as i8,
                ..Default::default()
            })
            .collect()
    } else {
        Vec::new()
    };
    DescribeConfigsResourceResult {
        name: d.name,
        value: d.value,
        read_only: d.read_only,
        is_default: wants.version == 0 && d.source == ConfigSource::DefaultConfig,
        config_source: d.source as i8,
        is_sensitive: d.sensitive,
        synonyms,
        // 0 is Kafka's UNKNOWN type.
        config_type: d.kind.map_or(0, |k| k as i8),
        documentation: if wants.documentation {
            d.doc.map(str::to_string)
        } else {
            None
        },
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topic_config::TopicDefaults;
    use std::collections::BTreeMap;

    fn retention(wants: &Wants, overrides: &[(&str, &str)]) -> DescribeConfigsResourceResult {
        let overrides: BTreeMap<String, String> = overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let keys = ["retention.ms".to_string()];
        let mut list = describe_topic(&TopicDefaults::default(), &overrides, Some(&keys));
        entry(list.remove(0), wants)
    }

    #[test]
    fn fields_follow_the_version_and_flags() {
        let v0 = Wants {
            version: 0,
            synonyms: false,
            documentation: false,
        };
        let e = retention(&v0, &[]);
        assert!(e.is_default && e.synonyms.is_empty() && e.documentation.is_none());
        assert!(!retention(&v0, &[("retention.ms", "5")]).is_default);

        let v3 = Wants {
            version: 3,
            synonyms: true,
            documentation: true,
        };
        let e = retention(&v3, &[("retention.ms", "5")]);
        assert!(!e.is_default);
        assert_eq!(e.config_source, ConfigSource::DynamicTopicConfig as i8);
        assert_eq!(e.config_type, 5, "LONG");
        assert_eq!(e.synonyms.len(), 2);
        assert_eq!(e.synonyms[0].source, ConfigSource::DynamicTopicConfig as i8);
        assert!(e.documentation.is_some_and(|d| !d.is_empty()));
    }
}
