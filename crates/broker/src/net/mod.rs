//! The Kafka listener: connection quotas, then one tokio task per connection.
//!
//! | module | concept |
//! |---|---|
//! | [`settings`] | the limits, under Kafka's keys |
//! | [`connection`] | one connection: frames in, answers out, in request order, with deadlines |
//! | [`state`] | what the connections share: quotas, the request memory pool, request slots |
//!
//! A connection reads size-prefixed frames and answers each before reading the next. Kafka
//! requires responses in request order on a connection; handling one request at a time gives
//! that for free (the Java broker also mutes a channel while its request is in flight), and it
//! means a client that does not read its answers is throttled by TCP: its next request is not
//! read until the previous answer is written. Anything wrong with a connection (oversize frame,
//! undecodable request, missed deadline, I/O error) closes that connection only.

mod connection;
pub mod settings;
pub mod state;

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

pub use settings::SocketSettings;
pub use state::NetState;

use crate::broker::{Broker, BrokerError};

/// Binds the configured listener (`listeners`; an empty host is every interface).
pub async fn bind(broker: &Broker) -> Result<TcpListener, BrokerError> {
    let l = &broker.config.listener;
    let host = if l.host.is_empty() {
        "0.0.0.0"
    } else {
        &l.host
    };
    let addr = format!("{host}:{}", l.port);
    TcpListener::bind(&addr)
        .await
        .map_err(|source| BrokerError::Bind { addr, source })
}

/// How often the acceptor looks again while the broker holds `max.connections`.
const FULL_RECHECK: Duration = Duration::from_millis(20);

/// Accepts connections until the task is dropped. While the broker holds `max.connections`
/// it stops accepting (new clients wait in the listen backlog), as Kafka's acceptor does; a
/// client address over its own limit is accepted and closed at once.
pub async fn accept_loop(broker: Arc<Broker>, listener: TcpListener) {
    let net = broker.net.clone();
    loop {
        if net.quotas.at_total_limit() {
            net.quotas.total_refused.hit(format_args!(
                "max.connections reached ({} connections); not accepting",
                net.quotas.total()
            ));
            while net.quotas.at_total_limit() {
                tokio::time::sleep(FULL_RECHECK).await;
            }
        }
        match listener.accept().await {
            Ok((stream, peer)) => {
                let admission = match net.quotas.admit(peer.ip()) {
                    Ok(admission) => admission,
                    Err(_refused) => continue, // counted and logged; dropping closes it
                };
                let broker = broker.clone();
                tokio::spawn(async move {
                    if let Err(error) = connection::serve(broker, stream, peer).await {
                        tracing::debug!(%peer, %error, "connection closed");
                    }
                    drop(admission);
                });
            }
            Err(error) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}
