//! The live client connections: per-address counts for `maxClientCnxns`, which connection
//! holds which session, and what `cons` reports about each.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

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
}

#[derive(Default)]
pub struct Registry {
    next_id: AtomicU64,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    per_ip: HashMap<IpAddr, u32>,
    connections: HashMap<u64, ConnectionInfo>,
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Admits a connection from `peer` unless that address already has `max` (0: no limit).
    pub fn admit(
        &self,
        peer: SocketAddr,
        max: u32,
    ) -> Option<(u64, watch::Receiver<bool>, Arc<PacketCounters>)> {
        let mut inner = self.lock();
        let count = inner.per_ip.entry(peer.ip()).or_default();
        if max > 0 && *count >= max {
            return None;
        }
        *count += 1;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let (close, closed) = watch::channel(false);
        let packets = Arc::new(PacketCounters::default());
        inner.connections.insert(
            id,
            ConnectionInfo {
                peer,
                session: 0,
                close,
                packets: packets.clone(),
            },
        );
        Some((id, closed, packets))
    }

    pub fn leave(&self, id: u64) {
        let mut inner = self.lock();
        if let Some(info) = inner.connections.remove(&id) {
            if let Some(count) = inner.per_ip.get_mut(&info.peer.ip()) {
                *count -= 1;
                if *count == 0 {
                    inner.per_ip.remove(&info.peer.ip());
                }
            }
        }
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
