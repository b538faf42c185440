//! Following one znode for the broker's lifetime: read it with a watch and act on what was
//! read; when the watch fires, do it again; when the session expires, wait for the broker's
//! next session and start over. A failed read is retried after a pause.

use std::future::Future;
use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::broker::Broker;
use crate::zk::{ZkError, ZnodeWatch};

const RETRY_BACKOFF: Duration = Duration::from_millis(500);

/// Runs `arm` (read, act, return the watch left behind; `None` stops following) until the
/// broker is gone or its session closed.
pub(crate) async fn follow<T, F, Fut>(broker: Weak<Broker>, what: String, mut arm: F)
where
    F: FnMut(Arc<Broker>) -> Fut,
    Fut: Future<Output = Result<Option<ZnodeWatch<T>>, ZkError>>,
{
    let Some(mut sessions) = broker.upgrade().map(|b| b.zk.sessions()) else {
        return;
    };
    loop {
        let mut watch = loop {
            let Some(b) = broker.upgrade() else { return };
            if b.zk.is_closed() {
                return;
            }
            match arm(b).await {
                Ok(Some(watch)) => break watch,
                Ok(None) => return,
                Err(error) => tracing::warn!(%error, %what, "following znode failed; retrying"),
            }
            tokio::select! {
                _ = sessions.changed() => {}
                () = tokio::time::sleep(RETRY_BACKOFF) => {}
            }
        };
        if !watch.changed().await {
            // The session is over and its watches with it; wait for the next one.
            if sessions.changed().await.is_err() {
                return;
            }
        }
    }
}
