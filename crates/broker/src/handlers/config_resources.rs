//! What DescribeConfigs, AlterConfigs and IncrementalAlterConfigs share: Kafka's resource
//! types, the broker resource's name rule, and the error codes of a config change.

use ferry_kafka_protocol::messages::ResourceResult;
use ferry_kafka_protocol::ErrorCode;

use crate::admin::ConfigWriteError;
use crate::broker::Broker;
use crate::topic_config::alter::AlterError;

/// Kafka's `ConfigResource.Type` codes.
pub const TOPIC: i8 = 2;
pub const BROKER: i8 = 4;

pub type Refusal = (ErrorCode, String);

/// A broker resource names this broker by id, or is empty (the cluster-wide default).
pub fn check_broker_name(broker: &Broker, name: &str) -> Result<(), Refusal> {
    if name.is_empty() || name.parse::<i32>() == Ok(broker.id()) {
        return Ok(());
    }
    Err((
        ErrorCode::InvalidRequest,
        format!(
            "Unexpected broker id, expected {} or empty string, but received {name}",
            broker.id()
        ),
    ))
}

pub fn unsupported_type(resource_type: i8) -> Refusal {
    (
        ErrorCode::InvalidRequest,
        format!("Unsupported resource type {resource_type}"),
    )
}

/// The refusal of a topic config change.
pub fn write_refusal(error: ConfigWriteError) -> Refusal {
    let code = match &error {
        ConfigWriteError::Alter(AlterError::InvalidConfig(_)) => ErrorCode::InvalidConfig,
        ConfigWriteError::Alter(AlterError::InvalidRequest(_)) => ErrorCode::InvalidRequest,
        ConfigWriteError::UnknownTopic(_) => ErrorCode::UnknownTopicOrPartition,
        ConfigWriteError::Zk(_) => ErrorCode::UnknownServerError,
    };
    (code, error.to_string())
}

/// Broker configs come from `server.properties` only: changing them dynamically is refused.
pub fn broker_alter_refusal(broker: &Broker, name: &str) -> Refusal {
    if let Err(refusal) = check_broker_name(broker, name) {
        return refusal;
    }
    (
        ErrorCode::InvalidRequest,
        "Dynamic broker configs are not supported: set them in server.properties and restart"
            .to_string(),
    )
}

/// The per-resource answer of AlterConfigs and IncrementalAlterConfigs.
pub fn resource_result(
    resource_type: i8,
    name: String,
    outcome: Result<(), Refusal>,
) -> ResourceResult {
    let (code, message) = match outcome {
        Ok(()) => (ErrorCode::None, None),
        Err((code, message)) => (code, Some(message)),
    };
    ResourceResult {
        error_code: code.code(),
        error_message: message,
        resource_type,
        resource_name: name,
        ..Default::default()
    }
}
