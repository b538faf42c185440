//! The ensemble view: each server's `srvr` (mode, zxid, connections, latency), asked over the
//! client port as an operator would, so Apache ZooKeeper servers (whose whitelist has only
//! `srvr` by default) show as well as ferry keepers.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::sources::EnsembleServer;

const SRVR_TIMEOUT: Duration = Duration::from_secs(2);
const MAX_ANSWER: u64 = 64 * 1024;

/// Every server's state, asked concurrently; a server that does not answer shows its error.
pub async fn servers(ensemble: &[EnsembleServer]) -> Value {
    let asks: Vec<_> = ensemble
        .iter()
        .cloned()
        .map(|server| {
            tokio::spawn(async move {
                let name = &server.name;
                let address = match &server.address {
                    Ok(address) => address,
                    Err(why) => return unreachable_server(name, why),
                };
                match tokio::time::timeout(SRVR_TIMEOUT, srvr(address)).await {
                    Ok(Ok(text)) => parse_srvr(name, &text),
                    Ok(Err(error)) => unreachable_server(name, &error.to_string()),
                    Err(_) => unreachable_server(name, "no answer within 2 s"),
                }
            })
        })
        .collect();
    let mut servers = Vec::new();
    for ask in asks {
        servers.push(
            ask.await
                .unwrap_or_else(|e| unreachable_server("?", &e.to_string())),
        );
    }
    json!({ "servers": servers })
}

async fn srvr(address: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(address).await?;
    stream.write_all(b"srvr").await?;
    let mut answer = Vec::new();
    (&mut stream)
        .take(MAX_ANSWER)
        .read_to_end(&mut answer)
        .await?;
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

fn unreachable_server(address: &str, error: &str) -> Value {
    json!({
        "address": address, "mode": null, "zxid": null, "connections": null,
        "outstanding": null, "latency_min": null, "latency_avg": null, "latency_max": null,
        "node_count": null, "version": null, "error": error,
    })
}

/// Reads ZooKeeper's `srvr` text:
/// `Zookeeper version: ...`, `Latency min/avg/max: 0/0.1/5`, `Connections: 3`,
/// `Outstanding: 0`, `Zxid: 0x...`, `Mode: leader`, `Node count: 40`.
fn parse_srvr(address: &str, text: &str) -> Value {
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name))
            .map(|v| v.trim().to_string())
    };
    let number = |name: &str| field(name).and_then(|v| v.parse::<i64>().ok());
    let latency: Vec<Option<f64>> = field("Latency min/avg/max:")
        .map(|v| v.split('/').map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_default();
    let mode = field("Mode:");
    let error = if mode.is_none() {
        // `srvr` not allowed, or a server without a quorum ("This ZooKeeper instance is not
        // currently serving requests").
        Some(text.trim().to_string()).filter(|t| !t.is_empty())
    } else {
        None
    };
    json!({
        "address": address,
        "mode": mode,
        "zxid": field("Zxid:"),
        "connections": number("Connections:"),
        "outstanding": number("Outstanding:"),
        "latency_min": latency.first().copied().flatten(),
        "latency_avg": latency.get(1).copied().flatten(),
        "latency_max": latency.get(2).copied().flatten(),
        "node_count": number("Node count:"),
        "version": field("Zookeeper version:"),
        "error": error.or_else(|| text.trim().is_empty().then(|| "empty answer".to_string())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_srvr_answer() {
        let text = "Zookeeper version: 3.8.0-ferry\nLatency min/avg/max: 0/0.25/7\n\
                    Received: 10\nSent: 10\nConnections: 3\nOutstanding: 0\n\
                    Zxid: 0x100000004\nMode: leader\nNode count: 40\n";
        let v = parse_srvr("h:1", text);
        assert_eq!(v["mode"], "leader");
        assert_eq!(v["zxid"], "0x100000004");
        assert_eq!(v["connections"], 3);
        assert_eq!(v["latency_avg"], 0.25);
        assert_eq!(v["latency_max"], 7.0);
        assert_eq!(v["node_count"], 40);
        assert_eq!(v["error"], Value::Null);
    }

    #[test]
    fn a_server_that_does_not_serve_shows_why() {
        let v = parse_srvr(
            "h:1",
            "This ZooKeeper instance is not currently serving requests\n",
        );
        assert_eq!(v["mode"], Value::Null);
        assert_eq!(
            v["error"],
            "This ZooKeeper instance is not currently serving requests"
        );
    }
}
