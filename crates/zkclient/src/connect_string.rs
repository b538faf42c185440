//! The connect string: `host1:2181,host2:2181,[::1]:2181/optional/chroot`, parsed as Java's
//! `ConnectStringParser` does (port 2181 when omitted; the chroot starts at the first `/`).

use crate::error::Error;
use crate::path::Chroot;

/// ZooKeeper's client port when the connect string names none.
pub const DEFAULT_PORT: u16 = 2181;

/// A parsed connect string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectString {
    /// `(host, port)` pairs in the order given; resolved at each connection attempt.
    pub hosts: Vec<(String, u16)>,
    pub chroot: Chroot,
}

impl ConnectString {
    pub fn parse(input: &str) -> Result<Self, Error> {
        let invalid = |reason: &str| Error::InvalidConnectString {
            input: input.to_string(),
            reason: reason.to_string(),
        };
        let (host_list, chroot) = match input.find('/') {
            Some(at) => (&input[..at], Some(&input[at..])),
            None => (input, None),
        };
        let chroot = Chroot::new(chroot)?;
        let mut hosts = Vec::new();
        for entry in host_list
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let (host, port) = split_host_port(entry).ok_or_else(|| invalid("bad port"))?;
            if host.is_empty() {
                return Err(invalid("empty host name"));
            }
            hosts.push((host.to_string(), port));
        }
        if hosts.is_empty() {
            return Err(invalid("no host given"));
        }
        Ok(Self { hosts, chroot })
    }

    /// The host list as written, for messages.
    pub fn hosts_display(&self) -> String {
        let hosts: Vec<String> = self
            .hosts
            .iter()
            .map(|(host, port)| match host.contains(':') {
                true => format!("[{host}]:{port}"),
                false => format!("{host}:{port}"),
            })
            .collect();
        hosts.join(",")
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`; `None` when the port is not a number.
fn split_host_port(entry: &str) -> Option<(&str, u16)> {
    if let Some(rest) = entry.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(port) => Some((host, port.parse().ok()?)),
            None if after.is_empty() => Some((host, DEFAULT_PORT)),
            None => None,
        };
    }
    match entry.rsplit_once(':') {
        Some((host, "")) => Some((host, DEFAULT_PORT)),
        Some((host, port)) => Some((host, port.parse().ok()?)),
        None => Some((entry, DEFAULT_PORT)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hosts_ports_and_chroot() {
        let parsed = ConnectString::parse("a:1,b,[::1]:3,[fe80::1]/app/x").unwrap();
        assert_eq!(
            parsed.hosts,
            vec![
                ("a".to_string(), 1),
                ("b".to_string(), DEFAULT_PORT),
                ("::1".to_string(), 3),
                ("fe80::1".to_string(), DEFAULT_PORT)
            ]
        );
        assert_eq!(parsed.chroot.as_str(), Some("/app/x"));
        assert_eq!(parsed.hosts_display(), "a:1,b:2181,[::1]:3,[fe80::1]:2181");
        let root = ConnectString::parse("127.0.0.1:2181/").unwrap();
        assert_eq!(root.chroot.as_str(), None);
    }

    #[test]
    fn refuses_what_cannot_be_dialled() {
        assert!(ConnectString::parse("").is_err());
        assert!(ConnectString::parse("/chroot").is_err());
        assert!(ConnectString::parse("a:port").is_err());
        assert!(ConnectString::parse("a:1/bad/").is_err());
    }
}
