//! The socket server's limits, under Kafka's keys and with Kafka's defaults except where those
//! are unsafe (noted per field).

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, ToSocketAddrs};
use std::time::Duration;

use ferry_net::QuotaSettings;

use crate::config::{invalid, number, ConfigError};

/// What one connection and the whole listener may hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketSettings {
    /// `socket.request.max.bytes` (104857600): a longer frame closes its connection.
    pub request_max_bytes: usize,
    /// `max.connections`, `max.connections.per.ip`, `max.connections.per.ip.overrides`
    /// (Kafka's defaults: no limit).
    pub quotas: QuotaSettings,
    /// `connections.max.idle.ms` (600000): a connection with no request for this long is
    /// closed, and so is one whose frame (or reply) is not through in this time.
    pub max_idle: Duration,
    /// `queued.max.requests` (500): requests being handled at once; more wait unread.
    pub queued_max_requests: usize,
    /// `queued.max.request.bytes`: bytes of requests being read at once. Kafka's default is
    /// unbounded (-1); ours is the larger of 256 MiB and `socket.request.max.bytes`, so a flood
    /// of large requests cannot take all memory. -1 still means unbounded.
    pub queued_max_request_bytes: Option<usize>,
}

pub(crate) const KEYS: &[&str] = &[
    "socket.request.max.bytes",
    "max.connections",
    "max.connections.per.ip",
    "max.connections.per.ip.overrides",
    "connections.max.idle.ms",
    "queued.max.requests",
    "queued.max.request.bytes",
];

const DEFAULT_POOL_BYTES: usize = 256 << 20;

impl SocketSettings {
    pub(crate) fn from_properties(props: &BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let request_max_bytes: i32 = number(props, "socket.request.max.bytes", 104_857_600)?;
        let request_max_bytes = positive("socket.request.max.bytes", request_max_bytes.into())?;
        let max_total: i32 = number(props, "max.connections", i32::MAX)?;
        let max_per_ip: i32 = number(props, "max.connections.per.ip", i32::MAX)?;
        let per_ip_overrides = match props.get("max.connections.per.ip.overrides") {
            Some(text) => parse_overrides(text)?,
            None => HashMap::new(),
        };
        let idle_ms: i64 = number(props, "connections.max.idle.ms", 600_000)?;
        let queued: i32 = number(props, "queued.max.requests", 500)?;
        let pool: i64 = number(props, "queued.max.request.bytes", 0)?;
        let queued_max_request_bytes = match props.get("queued.max.request.bytes") {
            None => Some(DEFAULT_POOL_BYTES.max(request_max_bytes)),
            Some(_) if pool < 0 => None,
            Some(raw) => {
                let pool = usize::try_from(pool).unwrap_or(usize::MAX);
                // As Kafka checks: a pool smaller than one request could never hold it.
                if pool < request_max_bytes {
                    return Err(invalid(
                        "queued.max.request.bytes",
                        raw,
                        format!(
                            "must be -1 or at least socket.request.max.bytes ({request_max_bytes})"
                        ),
                    ));
                }
                Some(pool)
            }
        };
        Ok(SocketSettings {
            request_max_bytes,
            quotas: QuotaSettings {
                max_total: limit(positive("max.connections", max_total.into())?),
                max_per_ip: limit(non_negative("max.connections.per.ip", max_per_ip.into())?),
                per_ip_overrides,
            },
            max_idle: Duration::from_millis(positive("connections.max.idle.ms", idle_ms)? as u64),
            queued_max_requests: positive("queued.max.requests", queued.into())?,
            queued_max_request_bytes,
        })
    }
}

impl Default for SocketSettings {
    fn default() -> Self {
        // Parsing no properties cannot fail.
        Self::from_properties(&BTreeMap::new()).unwrap_or_else(|_| unreachable!())
    }
}

/// `i32::MAX` is Kafka's "no limit".
fn limit(value: usize) -> Option<usize> {
    (value < i32::MAX as usize).then_some(value)
}

fn positive(key: &str, value: i64) -> Result<usize, ConfigError> {
    if value < 1 {
        return Err(invalid(key, &value.to_string(), "must be at least 1"));
    }
    Ok(usize::try_from(value).unwrap_or(usize::MAX))
}

fn non_negative(key: &str, value: i64) -> Result<usize, ConfigError> {
    if value < 0 {
        return Err(invalid(key, &value.to_string(), "must not be negative"));
    }
    Ok(usize::try_from(value).unwrap_or(usize::MAX))
}

/// `host:count,host:count`; a host name stands for every address it resolves to.
fn parse_overrides(text: &str) -> Result<HashMap<IpAddr, usize>, ConfigError> {
    const KEY: &str = "max.connections.per.ip.overrides";
    let mut out = HashMap::new();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (host, count) = entry
            .rsplit_once(':')
            .ok_or_else(|| invalid(KEY, text, format!("{entry:?} is not host:count")))?;
        let count: usize = count
            .trim()
            .parse()
            .map_err(|e| invalid(KEY, text, format!("{entry:?}: {e}")))?;
        let host = host.trim().trim_matches(['[', ']']);
        let addresses: Vec<IpAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => (host, 0)
                .to_socket_addrs()
                .map_err(|e| invalid(KEY, text, format!("cannot resolve {host}: {e}")))?
                .map(|a| a.ip())
                .collect(),
        };
        for ip in addresses {
            out.insert(ip, count);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_properties;

    #[test]
    fn defaults_are_kafkas_with_a_bounded_pool() {
        let s = SocketSettings::default();
        assert_eq!(s.request_max_bytes, 104_857_600);
        assert_eq!(s.quotas.max_total, None);
        assert_eq!(s.quotas.max_per_ip, None);
        assert_eq!(s.max_idle, Duration::from_secs(600));
        assert_eq!(s.queued_max_requests, 500);
        assert_eq!(s.queued_max_request_bytes, Some(256 << 20));
    }

    #[test]
    fn limits_and_overrides() {
        let props = parse_properties(
            "max.connections=100\nmax.connections.per.ip=10\n\
             max.connections.per.ip.overrides=127.0.0.2:50, [::1]:5\n\
             queued.max.request.bytes=-1\nconnections.max.idle.ms=1000\n",
        );
        let s = SocketSettings::from_properties(&props).expect("valid");
        assert_eq!(s.quotas.max_total, Some(100));
        assert_eq!(s.quotas.max_per_ip, Some(10));
        assert_eq!(s.quotas.per_ip_overrides.len(), 2);
        assert_eq!(
            s.quotas.per_ip_overrides.get(&IpAddr::from([127, 0, 0, 2])),
            Some(&50)
        );
        assert_eq!(s.queued_max_request_bytes, None);
        assert_eq!(s.max_idle, Duration::from_secs(1));
    }

    #[test]
    fn bad_values_name_their_key() {
        for bad in [
            "queued.max.request.bytes=1000",
            "max.connections=0",
            "max.connections.per.ip=-1",
            "max.connections.per.ip.overrides=nocount",
            "connections.max.idle.ms=0",
            "queued.max.requests=x",
        ] {
            let err = SocketSettings::from_properties(&parse_properties(bad)).expect_err(bad);
            let key = bad.split('=').next().unwrap_or_default();
            assert!(err.to_string().contains(key), "{bad}: {err}");
        }
    }
}
