//! The stopping broker's side of controlled shutdown (Kafka's `KafkaServer.controlledShutdown`):
//! ask the controller, up to `controlled.shutdown.max.retries` times, to move this broker's
//! leaderships away, until it answers that none is left. The controller's side is in
//! `crate::controller`; a broker that is the controller itself asks its own event loop.

use std::sync::Arc;
use std::time::Duration;

use ferry_kafka_client::{ClientConfig, Connection};
use ferry_kafka_protocol::messages::controlled_shutdown::ControlledShutdownRequest;

use crate::broker::Broker;
use crate::controller::ControllerCommand;

/// The version sent (flexible, with the broker epoch).
const VERSION: i16 = 3;

/// How long one attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Asks the controller to move this broker's leaderships; gives up (logging why) after the
/// configured retries, as Kafka does, and the broker then stops anyway.
pub async fn request(broker: &Arc<Broker>) {
    let settings = &broker.config.replication;
    let attempts = settings.controlled_shutdown_max_retries.max(1);
    for attempt in 1..=attempts {
        match tokio::time::timeout(ATTEMPT_TIMEOUT, attempt_once(broker)).await {
            Ok(Ok(0)) => {
                tracing::info!("controlled shutdown succeeded");
                return;
            }
            Ok(Ok(remaining)) => {
                tracing::info!(
                    attempt,
                    remaining,
                    "controlled shutdown: partitions still led here"
                );
            }
            Ok(Err(reason)) => {
                tracing::info!(attempt, %reason, "controlled shutdown attempt failed")
            }
            Err(_) => tracing::info!(attempt, "controlled shutdown attempt timed out"),
        }
        if attempt < attempts {
            tokio::time::sleep(settings.controlled_shutdown_backoff).await;
        }
    }
    tracing::warn!("controlled shutdown did not complete; stopping anyway");
}

/// One attempt: the number of partitions this broker still leads afterwards.
async fn attempt_once(broker: &Arc<Broker>) -> Result<usize, String> {
    let controller = broker.metadata.controller_id();
    if controller == broker.id() {
        let broker_id = broker.id();
        return broker
            .controller_mailbox
            .ask(|reply| ControllerCommand::ControlledShutdown { broker_id, reply })
            .await
            .map(|remaining| remaining.len())
            .map_err(|e| e.to_string());
    }
    let address = broker
        .metadata
        .broker(controller)
        .map(|b| format!("{}:{}", b.host, b.port))
        .ok_or_else(|| format!("controller {controller} not known"))?;
    let config = ClientConfig {
        client_id: format!("broker-{}-shutdown", broker.id()),
        connect_timeout: Duration::from_secs(5),
        request_timeout: ATTEMPT_TIMEOUT,
    };
    let conn = Connection::connect(&address, config)
        .await
        .map_err(|e| e.to_string())?;
    let request = ControlledShutdownRequest {
        broker_id: broker.id(),
        broker_epoch: broker.registration().czxid,
        ..Default::default()
    };
    let response = conn
        .send_at(request, VERSION)
        .map_err(|e| e.to_string())?
        .wait()
        .await
        .map_err(|e| e.to_string())?;
    if response.error_code != 0 {
        return Err(format!("error code {}", response.error_code));
    }
    Ok(response.remaining_partitions.len())
}
