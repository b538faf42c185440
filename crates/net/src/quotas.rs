//! Connection quotas: how many connections the server holds in all and per client address
//! (Kafka's `max.connections`, `max.connections.per.ip` with
//! `max.connections.per.ip.overrides`; ZooKeeper's `maxClientCnxns`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::limit::LimitCounter;

/// The limits; `None` is no limit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuotaSettings {
    pub max_total: Option<usize>,
    pub max_per_ip: Option<usize>,
    /// Per-address limits that replace `max_per_ip`.
    pub per_ip_overrides: HashMap<IpAddr, usize>,
}

/// Live connection counts against [`QuotaSettings`].
pub struct ConnectionQuotas {
    settings: QuotaSettings,
    counts: Mutex<Counts>,
    /// Connections refused because their address had its share.
    pub per_ip_refused: LimitCounter,
    /// Connections refused because the server had its total.
    pub total_refused: LimitCounter,
}

#[derive(Default)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QuotaRefusal {
    #[error("{ip} already has {max} connections")]
    PerIp { ip: IpAddr, max: usize },
    #[error("the server already has {max} connections")]
    Total { max: usize },
}

/// One admitted connection; it leaves the counts when dropped.
pub struct Admission {
    quotas: Arc<ConnectionQuotas>,
    ip: IpAddr,
}

impl ConnectionQuotas {
    /// `per_ip_key` and `total_key` name the settings in the limit reports.
    pub fn new(settings: QuotaSettings, per_ip_key: &'static str, total_key: &'static str) -> Self {
        ConnectionQuotas {
            settings,
            counts: Mutex::new(Counts::default()),
            per_ip_refused: LimitCounter::new(per_ip_key),
            total_refused: LimitCounter::new(total_key),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The limit that applies to `ip`.
    pub fn max_for(&self, ip: IpAddr) -> Option<usize> {
        match self.settings.per_ip_overrides.get(&ip) {
            Some(&max) => Some(max),
            None => self.settings.max_per_ip,
        }
    }

    /// Admits a connection from `ip`, or says which limit it hit (and counts that).
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Admission, QuotaRefusal> {
        let refusal = {
            let mut counts = self.lock();
            let per_ip = counts.per_ip.get(&ip).copied().unwrap_or(0);
            match (self.settings.max_total, self.max_for(ip)) {
                (Some(max), _) if counts.total >= max => Some(QuotaRefusal::Total { max }),
                (_, Some(max)) if per_ip >= max => Some(QuotaRefusal::PerIp { ip, max }),
                _ => {
                    counts.total += 1;
                    *counts.per_ip.entry(ip).or_default() += 1;
                    None
                }
            }
        };
        match refusal {
            None => Ok(Admission {
                quotas: self.clone(),
                ip,
            }),
            Some(refusal) => {
                let counter = match refusal {
                    QuotaRefusal::PerIp { .. } => &self.per_ip_refused,
                    QuotaRefusal::Total { .. } => &self.total_refused,
                };
                counter.hit(format_args!("connection refused: {refusal}"));
                Err(refusal)
            }
        }
    }

    /// Whether one more connection would exceed the total (the acceptor waits instead of
    /// accepting while this holds, as Kafka's does).
    pub fn at_total_limit(&self) -> bool {
        self.settings
            .max_total
            .is_some_and(|max| self.lock().total >= max)
    }

    /// Connections held now.
    pub fn total(&self) -> usize {
        self.lock().total
    }

    /// Connections held now from `ip`.
    pub fn from_ip(&self, ip: IpAddr) -> usize {
        self.lock().per_ip.get(&ip).copied().unwrap_or(0)
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut counts = self.quotas.lock();
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                counts.per_ip.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[test]
    fn per_ip_limits_with_overrides_and_a_total() {
        let settings = QuotaSettings {
            max_total: Some(5),
            max_per_ip: Some(2),
            per_ip_overrides: HashMap::from([(ip(9), 3)]),
        };
        let quotas = Arc::new(ConnectionQuotas::new(settings, "per.ip", "total"));
        let a1 = quotas.admit(ip(1)).expect("first");
        let _a2 = quotas.admit(ip(1)).expect("second");
        assert_eq!(
            quotas.admit(ip(1)).err(),
            Some(QuotaRefusal::PerIp { ip: ip(1), max: 2 })
        );
        let _b: Vec<_> = (0..3)
            .map(|_| quotas.admit(ip(9)).expect("override"))
            .collect();
        assert_eq!(quotas.total(), 5);
        assert!(quotas.at_total_limit());
        assert_eq!(
            quotas.admit(ip(2)).err(),
            Some(QuotaRefusal::Total { max: 5 })
        );
        drop(a1);
        assert_eq!(quotas.from_ip(ip(1)), 1);
        assert!(quotas.admit(ip(2)).is_ok());
        assert_eq!(quotas.per_ip_refused.count(), 1);
        assert_eq!(quotas.total_refused.count(), 1);
    }
}
