//! The JSON of a broker registration, `/brokers/ids/<id>` (Kafka's `BrokerIdZNode`).
//!
//! Version 5 (Kafka 2.7+), as Kafka 2.8 writes it:
//! `{"features":{},"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},
//! "endpoints":["PLAINTEXT://host:9092"],"jmx_port":-1,"port":9092,"host":"host","version":5,
//! "timestamp":"1636000000000"}` plus `"rack"` when set. `host` and `port` are the first
//! PLAINTEXT endpoint's (null and -1 without one), for clients older than 0.10. Versions 1
//! (host and port only) to 4 are read too.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::{Result, ZkError};
use super::json;

/// The registration version this broker writes.
pub const BROKER_INFO_VERSION: i32 = 5;

/// One advertised listener: `LISTENER://host:port`, with its security protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndPoint {
    pub listener: String,
    pub security_protocol: String,
    /// Empty means every interface (Kafka's null host).
    pub host: String,
    pub port: i32,
}

impl EndPoint {
    /// A listener whose name is its security protocol (`PLAINTEXT://host:port`).
    pub fn plaintext(host: &str, port: i32) -> Self {
        Self {
            listener: "PLAINTEXT".to_string(),
            security_protocol: "PLAINTEXT".to_string(),
            host: host.to_string(),
            port,
        }
    }

    /// `LISTENER://host:port`, an IPv6 host in brackets.
    pub fn connection_string(&self) -> String {
        match self.host.contains(':') {
            true => format!("{}://[{}]:{}", self.listener, self.host, self.port),
            false => format!("{}://{}:{}", self.listener, self.host, self.port),
        }
    }

    /// Parses `LISTENER://host:port` (Kafka's `EndPoint.createEndPoint`); the security
    /// protocol comes from `protocols`, or is the listener's name when there is no map.
    pub fn parse(text: &str, protocols: Option<&BTreeMap<String, String>>) -> Option<Self> {
        let (listener, address) = text.split_once("://")?;
        let (host, port) = address.rsplit_once(':')?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let security_protocol = match protocols {
            Some(map) => map.get(listener)?.clone(),
            None => listener.to_string(),
        };
        Some(Self {
            listener: listener.to_string(),
            security_protocol,
            host: host.to_string(),
            port: port.parse().ok()?,
        })
    }
}

/// A supported feature's version range (KIP-584).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionRange {
    pub min_version: i16,
    pub max_version: i16,
}

/// A broker's registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerInfo {
    pub id: i32,
    pub endpoints: Vec<EndPoint>,
    pub rack: Option<String>,
    /// -1 when JMX is off.
    pub jmx_port: i32,
    pub features: BTreeMap<String, VersionRange>,
    /// The JSON version read (what this broker writes is [`BROKER_INFO_VERSION`]).
    pub version: i32,
    /// Milliseconds since the epoch when the registration was written, as Kafka's string.
    pub timestamp: Option<String>,
}

#[derive(Serialize)]
struct BrokerJsonOut<'a> {
    features: &'a BTreeMap<String, VersionRange>,
    listener_security_protocol_map: BTreeMap<&'a str, &'a str>,
    endpoints: Vec<String>,
    jmx_port: i32,
    port: i32,
    host: Option<&'a str>,
    version: i32,
    timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    rack: Option<&'a str>,
}

#[derive(Deserialize)]
struct BrokerJsonIn {
    version: i32,
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    port: Option<i32>,
    #[serde(default)]
    jmx_port: Option<i32>,
    #[serde(default)]
    endpoints: Option<Vec<String>>,
    #[serde(default)]
    listener_security_protocol_map: Option<BTreeMap<String, String>>,
    #[serde(default)]
    rack: Option<String>,
    #[serde(default)]
    features: Option<BTreeMap<String, VersionRange>>,
    #[serde(default)]
    timestamp: Option<String>,
}

impl BrokerInfo {
    /// A registration of the current version, without rack or features.
    pub fn new(id: i32, endpoints: Vec<EndPoint>) -> Self {
        Self {
            id,
            endpoints,
            rack: None,
            jmx_port: -1,
            features: BTreeMap::new(),
            version: BROKER_INFO_VERSION,
            timestamp: None,
        }
    }

    /// The version-5 JSON, stamped with `timestamp_ms`.
    pub fn encode(&self, path: &str, timestamp_ms: i64) -> Result<Vec<u8>> {
        let plaintext = self
            .endpoints
            .iter()
            .find(|e| e.security_protocol == "PLAINTEXT");
        let out = BrokerJsonOut {
            features: &self.features,
            listener_security_protocol_map: self
                .endpoints
                .iter()
                .map(|e| (e.listener.as_str(), e.security_protocol.as_str()))
                .collect(),
            endpoints: self
                .endpoints
                .iter()
                .map(EndPoint::connection_string)
                .collect(),
            jmx_port: self.jmx_port,
            port: plaintext.map_or(-1, |e| e.port),
            host: plaintext.map(|e| e.host.as_str()),
            version: BROKER_INFO_VERSION,
            timestamp: timestamp_ms.to_string(),
            rack: self.rack.as_deref(),
        };
        json::encode(path, &out)
    }

    /// Reads any registration version Kafka 2.x wrote (1 to 5).
    pub fn decode(id: i32, path: &str, data: Option<&[u8]>) -> Result<Self> {
        let parsed: BrokerJsonIn = json::decode(path, data)?;
        let malformed = |reason: String| ZkError::Malformed {
            path: path.to_string(),
            reason,
        };
        let endpoints = match parsed.version {
            v if v < 1 => return Err(malformed(format!("unsupported version {v}"))),
            1 => {
                let host = parsed.host.unwrap_or_default();
                let port = parsed
                    .port
                    .ok_or_else(|| malformed("no port".to_string()))?;
                vec![EndPoint::plaintext(&host, port)]
            }
            _ => {
                let protocols = parsed.listener_security_protocol_map.as_ref();
                let listed = parsed
                    .endpoints
                    .ok_or_else(|| malformed("no endpoints".to_string()))?;
                listed
                    .iter()
                    .map(|text| {
                        EndPoint::parse(text, protocols)
                            .ok_or_else(|| malformed(format!("bad endpoint {text}")))
                    })
                    .collect::<Result<_>>()?
            }
        };
        Ok(Self {
            id,
            endpoints,
            rack: parsed.rack,
            jmx_port: parsed.jmx_port.unwrap_or(-1),
            features: parsed.features.unwrap_or_default(),
            version: parsed.version,
            timestamp: parsed.timestamp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As a Kafka 2.8 broker registers itself.
    const KAFKA_28: &str = r#"{"features":{},"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},"endpoints":["PLAINTEXT://localhost:9092"],"jmx_port":-1,"port":9092,"host":"localhost","version":5,"timestamp":"1636000000000"}"#;

    #[test]
    fn writes_what_kafka_28_writes() {
        let info = BrokerInfo::new(0, vec![EndPoint::plaintext("localhost", 9092)]);
        let bytes = info.encode("/brokers/ids/0", 1_636_000_000_000).unwrap();
        assert_eq!(String::from_utf8(bytes).unwrap(), KAFKA_28);
        let back = BrokerInfo::decode(0, "/brokers/ids/0", Some(KAFKA_28.as_bytes())).unwrap();
        assert_eq!(back.endpoints, info.endpoints);
        assert_eq!(back.timestamp.as_deref(), Some("1636000000000"));
    }

    #[test]
    fn reads_older_versions_and_named_listeners() {
        let v1 = br#"{"version":1,"host":"h","port":9092,"jmx_port":9999,"timestamp":"1"}"#;
        let info = BrokerInfo::decode(1, "/p", Some(v1)).unwrap();
        assert_eq!(info.endpoints, vec![EndPoint::plaintext("h", 9092)]);
        assert_eq!(info.jmx_port, 9999);
        let v4 = br#"{"listener_security_protocol_map":{"CLIENT":"SSL","REPL":"PLAINTEXT"},"endpoints":["CLIENT://[::1]:9093","REPL://h:9092"],"rack":"dc1","jmx_port":-1,"host":"h","timestamp":"2","port":9092,"version":4}"#;
        let info = BrokerInfo::decode(2, "/p", Some(v4)).unwrap();
        assert_eq!(info.endpoints[0].host, "::1");
        assert_eq!(info.endpoints[0].security_protocol, "SSL");
        assert_eq!(info.endpoints[0].connection_string(), "CLIENT://[::1]:9093");
        assert_eq!(info.rack.as_deref(), Some("dc1"));
        let bad = br#"{"version":0,"jmx_port":1}"#;
        assert!(BrokerInfo::decode(3, "/p", Some(bad)).is_err());
        let unknown =
            br#"{"version":4,"endpoints":["X://h:1"],"listener_security_protocol_map":{}}"#;
        assert!(BrokerInfo::decode(3, "/p", Some(unknown)).is_err());
    }

    #[test]
    fn no_plaintext_listener_writes_a_null_host() {
        let mut ssl = EndPoint::plaintext("h", 9093);
        ssl.listener = "SSL".to_string();
        ssl.security_protocol = "SSL".to_string();
        let mut info = BrokerInfo::new(0, vec![ssl]);
        info.rack = Some("r".to_string());
        let text = String::from_utf8(info.encode("/p", 5).unwrap()).unwrap();
        assert!(text.contains(r#""port":-1,"host":null"#), "{text}");
        assert!(text.ends_with(r#""timestamp":"5","rack":"r"}"#), "{text}");
    }
}
