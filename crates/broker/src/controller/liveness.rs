//! Noticing a broker whose process died before ZooKeeper does. A killed broker's session lives
//! on until it expires (`zookeeper.session.timeout.ms`, 18 s by default), and until then Kafka
//! 2.x keeps it leader of its partitions: producers wait that long. But a process that died
//! leaves its port closed, and a connection attempt to it is refused at once by the kernel of
//! its host. So the controller holds an idle connection to each other broker; when one ends,
//! it connects again, and when several attempts in a row are refused, it moves the broker's
//! leaderships away as a controlled shutdown would.
//!
//! Only a refusal counts. A paused process, a host cut off or a dropped packet time out
//! instead, and are left to the session timeout as in Kafka: being unable to reach a broker
//! does not prove that it is gone, a refused connection does. The broker stays fenced (never
//! elected) until it registers again with a new session.
//!
//! The controller itself is watched the same way by every other broker ([`ControllerProbe`]):
//! when its process is gone, they delete `/controller` (only if no election happened since they
//! saw it), so that one of them takes over at once instead of at the dead session's expiry;
//! the new controller's own probes then find the dead broker and move its leaderships.

use std::collections::{BTreeMap, HashMap};
use std::io::ErrorKind;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::zk::BrokerInfo;

/// Pause between two connection attempts once the connection ended.
const RETRY_INTERVAL: Duration = Duration::from_millis(150);
/// Refusals in a row that prove the process is gone (a restart of the listener in between is
/// not mistaken for a death: any successful connection starts the count again).
const REFUSALS: u32 = 3;
/// How long one connection attempt may take before it counts as "unreachable", not "refused".
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

struct Probe {
    /// The registration (czxid) being watched: a new one gets a new probe.
    epoch: i64,
    task: JoinHandle<()>,
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One probe per live broker but this one; gone brokers come out of [`Self::gone`] as
/// `(broker id, registration epoch)`.
pub struct LivenessProbes {
    me: i32,
    probes: HashMap<i32, Probe>,
    tx: mpsc::UnboundedSender<(i32, i64)>,
    pub gone: mpsc::UnboundedReceiver<(i32, i64)>,
}

impl LivenessProbes {
    pub fn new(me: i32) -> Self {
        let (tx, gone) = mpsc::unbounded_channel();
        LivenessProbes {
            me,
            probes: HashMap::new(),
            tx,
            gone,
        }
    }

    /// Probes the live brokers (`id -> (registration, epoch)`), stops probing the others.
    pub fn set_brokers(&mut self, live: &BTreeMap<i32, BrokerInfo>, epochs: &BTreeMap<i32, i64>) {
        self.probes
            .retain(|id, probe| epochs.get(id) == Some(&probe.epoch));
        for (id, info) in live {
            let (Some(epoch), Some(endpoint)) = (epochs.get(id), info.endpoints.first()) else {
                continue;
            };
            if *id == self.me || self.probes.contains_key(id) {
                continue;
            }
            let address = format!("{}:{}", endpoint.host, endpoint.port);
            let task = tokio::spawn(watch(*id, *epoch, address, self.tx.clone()));
            self.probes.insert(
                *id,
                Probe {
                    epoch: *epoch,
                    task,
                },
            );
        }
    }
}

/// Watches one broker (the controller) until its process is gone.
pub struct ControllerProbe {
    _probe: Option<Probe>,
    gone: mpsc::UnboundedReceiver<(i32, i64)>,
}

impl ControllerProbe {
    /// Probes broker `id` at `address`; `None` probes nothing (never reports).
    pub fn start(target: Option<(i32, String)>) -> Self {
        let (tx, gone) = mpsc::unbounded_channel();
        let probe = target.map(|(id, address)| Probe {
            epoch: 0,
            task: tokio::spawn(watch(id, 0, address, tx)),
        });
        ControllerProbe {
            _probe: probe,
            gone,
        }
    }

    /// Returns once the broker's process is gone (never, when nothing is probed).
    pub async fn gone(&mut self) {
        if self.gone.recv().await.is_none() {
            std::future::pending::<()>().await;
        }
    }
}

/// Holds a connection to `address` until the process behind it is gone, then reports it.
async fn watch(id: i32, epoch: i64, address: String, gone: mpsc::UnboundedSender<(i32, i64)>) {
    let mut refused = 0;
    loop {
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&address)).await {
            Ok(Ok(stream)) => {
                refused = 0;
                wait_until_closed(stream).await;
            }
            Ok(Err(error)) if error.kind() == ErrorKind::ConnectionRefused => {
                refused += 1;
                if refused >= REFUSALS {
                    tracing::warn!(broker = id, %address, "broker refuses connections: its process is gone");
                    let _ = gone.send((id, epoch));
                    return;
                }
            }
            // Unreachable or slow: proves nothing.
            Ok(Err(_)) | Err(_) => refused = 0,
        }
        tokio::time::sleep(RETRY_INTERVAL).await;
    }
}

/// Returns when the peer closes the connection (or it fails). Nothing is ever sent on it, so
/// anything that arrives is discarded.
async fn wait_until_closed(mut stream: TcpStream) {
    let mut buf = [0u8; 512];
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reports_a_closed_port_but_not_an_open_one() {
        let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let closing = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (tx, mut gone) = mpsc::unbounded_channel();
        tokio::spawn(watch(
            1,
            10,
            open.local_addr().unwrap().to_string(),
            tx.clone(),
        ));
        tokio::spawn(watch(2, 20, closing.local_addr().unwrap().to_string(), tx));
        // Broker 2's process dies: its accepted connection and its listener close.
        let (accepted, _) = closing.accept().await.unwrap();
        drop(accepted);
        drop(closing);
        let reported = tokio::time::timeout(Duration::from_secs(5), gone.recv()).await;
        assert_eq!(reported.unwrap(), Some((2, 20)));
        let more = tokio::time::timeout(Duration::from_millis(800), gone.recv()).await;
        assert!(more.is_err(), "a live broker was reported gone");
        drop(open);
    }
}
