//! The live client connections: per-address counts for `maxClientCnxns`, which connection
//! holds which session, and what `cons` reports about each.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use ferry_net::{Admission, ConnectionQuotas, QuotaSettings};
use tokio::sync::watch;

/// Packets in and out of one connection; the connection counts, `cons` reads.
#[derive(Default)]
pub struct PacketCounters {
    pub received: AtomicU64,
    pub sent: AtomicU64,
}

/// What the registry keeps per connection.
pub struct ConnectionInfo {
    pub peer: SocketAddr,
    pub session: i64,
    /// Set to true to make the connection close itself.
    pub close: watch::Sender<bool>,
    pub packets: Arc<PacketCounters>,
    /// A read-only session (served while this server had no quorum).
    pub read_only: bool,
}

pub struct Registry {
    next_id: AtomicU64,
    inner: Mutex<Inner>,
    /// `maxClientCnxns`, per client address.
    pub quotas: Arc<ConnectionQuotas>,
}

#[derive(Default)]
struct Inner {
    connections: HashMap<u64, ConnectionInfo>,
}

/// A connection let in: its id, and what it holds until it leaves.
pub struct Admitted {
    pub id: u64,
    pub peer: SocketAddr,
    /// Becomes true when the connection must close itself.
    pub closed: watch::Receiver<bool>,
    pub packets: Arc<PacketCounters>,
    /// Its place in the per-address count (none for in-process connections).
    _quota: Option<Admission>,
}

impl Registry {
    /// `max_client_cnxns`: connections per client address (0: no limit, as in ZooKeeper).
    pub fn new(max_client_cnxns: u32) -> Self {
        let settings = QuotaSettings {
            max_per_ip: (max_client_cnxns > 0).then_some(max_client_cnxns as usize),
            ..QuotaSettings::default()
        };
        Registry {
            next_id: AtomicU64::new(0),
            inner: Mutex::new(Inner::default()),
            quotas: Arc::new(ConnectionQuotas::new(
                settings,
                "maxClientCnxns",
                "maxClientCnxns",
            )),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Admits a connection from `peer` unless that address already has `maxClientCnxns`
    /// (refusals are counted and logged by the quotas).
    pub fn admit(&self, peer: SocketAddr) -> Option<Admitted> {
        let quota = self.quotas.admit(peer.ip()).ok()?;
        Some(self.register(peer, Some(quota)))
    }

    /// Admits an in-process connection, which no client limit applies to.
    pub fn admit_exempt(&self, peer: SocketAddr) -> Admitted {
        self.register(peer, None)
    }

    fn register(&self, peer: SocketAddr, quota: Option<Admission>) -> Admitted {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let (close, closed) = watch::channel(false);
        let packets = Arc::new(PacketCounters::default());
        self.lock().connections.insert(
            id,
            ConnectionInfo {
                peer,
                session: 0,
                close,
                packets: packets.clone(),
                read_only: false,
            },
        );
        Admitted {
            id,
            peer,
            closed,
            packets,
            _quota: quota,
        }
    }

    pub fn leave(&self, id: u64) {
        self.lock().connections.remove(&id);
    }

    /// Binds a session to a connection, closing any other connection that held it (a client
    /// that reconnected to us before its old connection was noticed dead).
    pub fn bind_session(&self, id: u64, session: i64) {
        let mut inner = self.lock();
        for (other, info) in inner.connections.iter() {
            if *other != id && info.session == session {
                info.close.send_replace(true);
            }
        }
        if let Some(info) = inner.connections.get_mut(&id) {
            info.session = session;
        }
    }

    pub fn close_session_connections(&self, session: i64) {
        let inner = self.lock();
        for info in inner.connections.values().filter(|i| i.session == session) {
            info.close.send_replace(true);
        }
    }

    pub fn mark_read_only(&self, id: u64) {
        if let Some(info) = self.lock().connections.get_mut(&id) {
            info.read_only = true;
        }
    }

    /// Closes the read-only connections (the server has a quorum again: their clients
    /// reconnect for a read-write session).
    pub fn close_read_only(&self) {
        for info in self.lock().connections.values().filter(|i| i.read_only) {
            info.close.send_replace(true);
        }
    }

    /// Makes every client connection close itself (the server stopped serving).
    pub fn close_all(&self) {
        for info in self.lock().connections.values() {
            info.close.send_replace(true);
        }
    }

    /// (peer, session, received, sent) of every connection, for `cons` and `dump`.
    pub fn snapshot(&self) -> Vec<(SocketAddr, i64, u64, u64)> {
        self.lock()
            .connections
            .values()
            .map(|i| {
                (
                    i.peer,
                    i.session,
                    i.packets.received.load(Ordering::Relaxed),
                    i.packets.sent.load(Ordering::Relaxed),
                )
            })
            .collect()
    }

    /// Connection id -> session id.
    pub fn sessions(&self) -> HashMap<u64, i64> {
        self.lock()
            .connections
            .iter()
            .map(|(id, info)| (*id, info.session))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.lock().connections.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `crst`: zero the per-connection counters.
    pub fn reset_counters(&self) {
        for info in self.lock().connections.values() {
            info.packets.received.store(0, Ordering::Relaxed);
            info.packets.sent.store(0, Ordering::Relaxed);
        }
    }
}
