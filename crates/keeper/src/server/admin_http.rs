//! The HTTP admin endpoint (ZooKeeper's AdminServer): `GET /commands/<name>` answers JSON,
//! `GET /metrics` answers Prometheus text, and `/console` is the web console
//! (`ferry_console`), on `ferry_net::http`.

use std::sync::Arc;

use ferry_console::{Console, EnsembleServer, KafkaBootstrap, SourcesConfig};
use ferry_net::http::{Request, Response};
use tokio::net::TcpListener;

use super::{four_letter, Keeper};

/// Starts the endpoint if `admin.enableServer` is on. A port already in use is logged, not
/// fatal: the client port matters more than the admin port.
pub async fn spawn(keeper: &Arc<Keeper>) {
    if !keeper.config.admin_enabled {
        return;
    }
    let addr = std::net::SocketAddr::new(keeper.config.admin_address, keeper.config.admin_port);
    match TcpListener::bind(addr).await {
        Ok(listener) => {
            tracing::info!(%addr, "admin server listening");
            let keeper = keeper.clone();
            let console = Console::new(keeper.config.console.clone(), console_sources(&keeper));
            tokio::spawn(ferry_net::http::serve_async(
                listener,
                move |request: Request| {
                    let keeper = keeper.clone();
                    let console = console.clone();
                    async move {
                        if console.serves(&request.path) {
                            return console.handle(request).await;
                        }
                        let (status, content_type, body) = route(&keeper, &request.path);
                        Response {
                            status,
                            content_type,
                            body: body.into_bytes(),
                        }
                    }
                },
            ));
        }
        Err(error) => tracing::warn!(%addr, %error, "admin server not started"),
    }
}

/// The console of a keeper shows this ensemble (each server's client address: its `server.N`
/// line's client part, else its host with this server's client port, as ensembles are usually
/// written: one server per host) and the brokers registered in it.
fn console_sources(keeper: &Keeper) -> SourcesConfig {
    let config = &keeper.config;
    let own_host = match config.client_port_address {
        Some(address) if !address.is_unspecified() => address.to_string(),
        _ => "127.0.0.1".to_string(),
    };
    let own = format!("{own_host}:{}", config.client_port);
    let mut ensemble: Vec<EnsembleServer> = config
        .servers
        .iter()
        .map(|(id, spec)| {
            if Some(*id) == config.my_id {
                return EnsembleServer::at(own.clone());
            }
            let address = spec.client_address(config.client_port);
            // Servers sharing a host each need their own port, which only the line can say.
            if address == own {
                return EnsembleServer {
                    name: format!("server.{id} ({})", spec.host),
                    address: Err(format!(
                        "client address unknown: add ;{}:<clientPort> to server.{id}",
                        spec.host
                    )),
                };
            }
            EnsembleServer::at(address)
        })
        .collect();
    if ensemble.is_empty() {
        ensemble.push(EnsembleServer::at(own.clone()));
    }
    SourcesConfig {
        node: config
            .my_id
            .map_or_else(|| "keeper".to_string(), |id| format!("keeper {id}")),
        served_by: "keeper",
        zookeeper: Some(own),
        ensemble,
        kafka: Some(KafkaBootstrap::RegisteredInZooKeeper),
    }
}

fn route(keeper: &Keeper, path: &str) -> (&'static str, &'static str, String) {
    if path == "/metrics" {
        return ("200 OK", "text/plain; version=0.0.4", prometheus(keeper));
    }
    let Some(command) = path.strip_prefix("/commands").map(|c| c.trim_matches('/')) else {
        return ("404 Not Found", "text/plain", "not found\n".into());
    };
    let json = match command {
        "" => serde_json::json!({"commands": ["ruok", "monitor", "server_stats", "configuration",
            "connections", "environment", "watch_summary", "dump", "is_read_only"]}),
        "ruok" => command_json("ruok", serde_json::Map::new()),
        "monitor" | "mntr" => {
            let mut fields = serde_json::Map::new();
            for (key, value) in four_letter::metrics(keeper) {
                let key = key.trim_start_matches("zk_").to_string();
                let value = value
                    .parse::<f64>()
                    .map(serde_json::Value::from)
                    .unwrap_or(serde_json::Value::String(value));
                fields.insert(key, value);
            }
            command_json("monitor", fields)
        }
        other => match text_command(other) {
            Some((name, word)) => {
                let text = four_letter::answer(keeper, word).unwrap_or_default();
                let mut fields = serde_json::Map::new();
                fields.insert("output".into(), text.into());
                command_json(name, fields)
            }
            None => {
                return (
                    "404 Not Found",
                    "application/json",
                    serde_json::json!({"command": other, "error": "Unknown command"}).to_string(),
                )
            }
        },
    };
    ("200 OK", "application/json", json.to_string())
}

/// Admin commands that return what the matching four-letter word prints.
fn text_command(name: &str) -> Option<(&'static str, &'static [u8; 4])> {
    Some(match name {
        "server_stats" | "srvr" | "stat" => ("server_stats", b"srvr"),
        "configuration" | "conf" => ("configuration", b"conf"),
        "connections" | "cons" => ("connections", b"cons"),
        "environment" | "envi" => ("environment", b"envi"),
        "watch_summary" | "wchs" => ("watch_summary", b"wchs"),
        "watches" | "wchc" => ("watches", b"wchc"),
        "watches_by_path" | "wchp" => ("watches_by_path", b"wchp"),
        "dump" => ("dump", b"dump"),
        "is_read_only" | "isro" => ("is_read_only", b"isro"),
        _ => return None,
    })
}

fn command_json(
    name: &str,
    mut fields: serde_json::Map<String, serde_json::Value>,
) -> serde_json::Value {
    fields.insert("command".into(), name.into());
    fields.insert("error".into(), serde_json::Value::Null);
    serde_json::Value::Object(fields)
}

fn prometheus(keeper: &Keeper) -> String {
    let mut out = String::new();
    for (key, value) in four_letter::metrics(keeper) {
        if let Ok(number) = value.parse::<f64>() {
            let name = key.trim_start_matches("zk_");
            out.push_str(&format!("# TYPE {name} gauge\n{name} {number}\n"));
        }
    }
    out
}
