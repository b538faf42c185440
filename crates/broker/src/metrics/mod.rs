//! The broker's Prometheus page (`ferry.http.port`, which also serves the web console): the
//! figures named as the common JMX exporters translate Kafka's MBeans where Kafka has the figure
//! (`kafka.server:type=socket-server-metrics` -> `kafka_server_socket_server_metrics_*`,
//! `kafka.network:type=SocketServer` -> `kafka_network_socketserver_*`), and ferry's own
//! counters of limits reached, labelled by the configuration key that sets the limit.
//!
//! | file | figures |
//! |---|---|
//! | this file | the page; connections, memory pool, limits, request times per API |
//! | `counters` | traffic per topic, ISR shrinks and expands (bumped by the request paths) |
//! | `gauges` | partitions, leaders, under-replicated and offline partitions, the active controller, log sizes, consumer lag (read at each scrape) |

pub mod counters;
mod gauges;

use std::fmt::Write;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use ferry_console::{Console, EnsembleServer, KafkaBootstrap, SourcesConfig};
use ferry_kafka_protocol::ApiKey;
use ferry_net::http::{Request, Response};
use ferry_net::LimitCounter;
use tokio::net::TcpListener;

use crate::broker::Broker;

/// Serves `/metrics` on `ferry.http.port` (on the listener's host) if it is set. A port in
/// use is logged, not fatal: the Kafka port matters more.
pub async fn spawn(broker: &Arc<Broker>) {
    let Some(port) = broker.config.http_port else {
        return;
    };
    let host = match broker.config.listener.host.as_str() {
        "" => "0.0.0.0",
        host => host,
    };
    let addr = format!("{host}:{port}");
    match TcpListener::bind(&addr).await {
        Ok(listener) => {
            tracing::info!(%addr, "broker metrics listening");
            let console = Console::new(broker.config.console.clone(), console_sources(broker));
            let broker = Arc::downgrade(broker);
            tokio::spawn(ferry_net::http::serve_async(
                listener,
                move |request: Request| {
                    let broker = broker.upgrade();
                    let console = console.clone();
                    async move {
                        match (broker, request.path.as_str()) {
                            (Some(broker), "/metrics") => Response::prometheus(prometheus(&broker)),
                            (Some(_), path) if console.serves(path) => {
                                console.handle(request).await
                            }
                            _ => Response::not_found(),
                        }
                    }
                },
            ));
        }
        Err(error) => tracing::warn!(%addr, %error, "broker metrics not started"),
    }
}

/// The console of a broker shows its cluster (starting from this broker) and the ZooKeeper
/// ensemble it keeps its metadata in, the whole tree rather than only its chroot.
fn console_sources(broker: &Broker) -> SourcesConfig {
    let config = &broker.config;
    let hosts: Vec<String> = ferry_zkclient::ConnectString::parse(&config.zookeeper_connect)
        .map(|c| c.hosts.iter().map(|(h, p)| format!("{h}:{p}")).collect())
        .unwrap_or_default();
    SourcesConfig {
        node: format!("broker {}", config.broker_id),
        served_by: "broker",
        zookeeper: (!hosts.is_empty()).then(|| hosts.join(",")),
        ensemble: hosts.into_iter().map(EnsembleServer::at).collect(),
        kafka: Some(KafkaBootstrap::Servers(config.listener.local_address())),
    }
}

/// The page's text.
pub fn prometheus(broker: &Broker) -> String {
    let net = &broker.net;
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, value: u64| {
        let _ = writeln!(out, "# TYPE {name} {kind}\n{name} {value}");
    };
    metric(
        "kafka_server_socket_server_metrics_connection_count",
        "gauge",
        net.quotas.total() as u64,
    );
    metric(
        "kafka_server_socket_server_metrics_connection_creation_total",
        "counter",
        net.accepted.load(Ordering::Relaxed),
    );
    metric(
        "kafka_network_socketserver_memorypoolused",
        "gauge",
        net.pool.used() as u64,
    );
    if net.pool.capacity() != usize::MAX {
        metric(
            "kafka_network_socketserver_memorypoolavailable",
            "gauge",
            net.pool.capacity().saturating_sub(net.pool.used()) as u64,
        );
    }
    let limits: [(&str, &LimitCounter); 7] = [
        ("refused", &net.quotas.per_ip_refused),
        ("refused", &net.quotas.total_refused),
        ("waited", net.pool.exhausted()),
        ("waited", &net.slots_full),
        ("closed_idle", &net.idle_closed),
        ("closed_stalled", &net.stalled_closed),
        ("closed_oversize", &net.oversize),
    ];
    let _ = writeln!(out, "# TYPE ferry_broker_limit_reached_total counter");
    for (outcome, counter) in limits {
        let _ = writeln!(
            out,
            "ferry_broker_limit_reached_total{{limit=\"{}\",outcome=\"{outcome}\"}} {}",
            counter.name(),
            counter.count()
        );
    }
    let name = "kafka_network_requestmetrics_totaltimems";
    let _ = writeln!(out, "# TYPE {name} histogram");
    for (key, histogram) in net.request_time.iter().enumerate() {
        let api = i16::try_from(key).ok().and_then(ApiKey::from_key);
        if let (Some(api), true) = (api, histogram.count() > 0) {
            histogram.write_prometheus(&mut out, name, &format!("request=\"{}\"", api.name()));
        }
    }
    let name = "ferry_broker_request_max_ms";
    let _ = writeln!(out, "# TYPE {name} gauge");
    for (key, histogram) in net.request_time.iter().enumerate() {
        let api = i16::try_from(key).ok().and_then(ApiKey::from_key);
        if let (Some(api), true) = (api, histogram.count() > 0) {
            let max_ms = histogram.max().as_secs_f64() * 1000.0;
            let _ = writeln!(out, "{name}{{request=\"{}\"}} {max_ms}", api.name());
        }
    }
    broker.counters.write_prometheus(&mut out);
    gauges::write_replication(&mut out, broker);
    gauges::write_logs(&mut out, broker);
    gauges::write_group_lag(&mut out, broker);
    out
}
