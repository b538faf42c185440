//! What a connection sends: replies and watch events, in the order they were queued, written
//! by one task that owns the socket's write half.
//!
//! The queue counts the bytes not yet written. Replies wait while that count is over the
//! connection's budget, so a client that does not read its replies stops the responder, whose
//! bounded step queue then stops the reader: the client is throttled, and what it holds stays
//! bounded. Watch events cannot wait (they are queued while the state machine applies a write,
//! and must reach the client before any later reply), so a connection whose unwritten bytes
//! pass the hard limit, its client reading nothing, is closed instead: a slow watcher cannot
//! grow the server without bound. A write that makes no progress for the session timeout
//! closes the connection too.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferry_jute::{write_frame, Record, ReplyHeader, WatcherEvent};
use ferry_net::LimitCounter;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, Notify};

/// Bytes a connection may have queued before its replies wait.
pub fn soft_limit(jute_max_buffer: usize) -> usize {
    jute_max_buffer.max(1 << 20)
}

/// Bytes a connection may have queued before it is closed as a slow reader: room for a burst
/// of watch events on top of a full reply budget.
pub fn hard_limit(jute_max_buffer: usize) -> usize {
    4 * soft_limit(jute_max_buffer)
}

enum Item {
    Frame(Vec<u8>),
    Close,
}

/// The sending side, shared by the responder and the watch callback.
#[derive(Clone)]
pub struct Outbound {
    items: mpsc::UnboundedSender<Item>,
    budget: Arc<Budget>,
}

struct Budget {
    queued: AtomicUsize,
    soft: usize,
    hard: usize,
    drained: Notify,
    /// Set when the hard limit was passed or the socket stalled: the connection must close.
    overflowed: AtomicBool,
    overflow: Notify,
}

/// The writer's end.
pub struct Receiver {
    items: mpsc::UnboundedReceiver<Item>,
    budget: Arc<Budget>,
}

pub fn channel(soft: usize, hard: usize) -> (Outbound, Receiver) {
    let (items, rx) = mpsc::unbounded_channel();
    let budget = Arc::new(Budget {
        queued: AtomicUsize::new(0),
        soft,
        hard,
        drained: Notify::new(),
        overflowed: AtomicBool::new(false),
        overflow: Notify::new(),
    });
    (
        Outbound {
            items,
            budget: budget.clone(),
        },
        Receiver { items: rx, budget },
    )
}

impl Outbound {
    /// Queues a reply frame once the unwritten bytes are within the budget. False if the
    /// connection is closing.
    pub async fn reply(&self, frame: Vec<u8>) -> bool {
        loop {
            let drained = self.budget.drained.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            if self.budget.queued.load(Ordering::Acquire) <= self.budget.soft
                || self.is_overflowed()
            {
                break;
            }
            drained.await;
        }
        self.push(frame)
    }

    /// Queues a watch event now; past the hard limit the connection is marked for closing
    /// and the event dropped (the client will not be there to read it).
    pub fn event(&self, event: &WatcherEvent, slow_watchers: &LimitCounter) {
        let mut payload = ReplyHeader {
            xid: ferry_jute::xid::NOTIFICATION,
            zxid: -1,
            err: 0,
        }
        .to_bytes();
        event.encode(&mut payload);
        let mut frame = Vec::with_capacity(payload.len() + 4);
        write_frame(&mut frame, &payload);
        if self.budget.queued.load(Ordering::Acquire) + frame.len() > self.budget.hard {
            if !self.budget.overflowed.swap(true, Ordering::AcqRel) {
                slow_watchers.hit(format_args!(
                    "closing a connection that reads nothing: {} bytes unwritten",
                    self.budget.queued.load(Ordering::Acquire)
                ));
                self.budget.overflow.notify_one();
            }
            return;
        }
        self.push(frame);
    }

    fn push(&self, frame: Vec<u8>) -> bool {
        let len = frame.len();
        self.budget.queued.fetch_add(len, Ordering::AcqRel);
        if self.items.send(Item::Frame(frame)).is_err() {
            self.budget.queued.fetch_sub(len, Ordering::AcqRel);
            return false;
        }
        true
    }

    /// Asks the writer to stop after what is queued.
    pub fn close(&self) {
        let _ = self.items.send(Item::Close);
    }

    fn is_overflowed(&self) -> bool {
        self.budget.overflowed.load(Ordering::Acquire)
    }

    /// Resolves once the connection must close because its client reads nothing.
    pub async fn overflowed(&self) {
        loop {
            let notified = self.budget.overflow.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_overflowed() {
                return;
            }
            notified.await;
        }
    }
}

/// Writes queued frames in order, batching what is ready into one write, until closed. A
/// write that does not complete within `stall` marks the connection overflowed and ends.
/// `sent` is called once per frame written.
pub async fn write_loop<W: AsyncWrite + Unpin>(
    mut socket: W,
    mut receiver: Receiver,
    stall: Duration,
    stalled: &LimitCounter,
    mut sent: impl FnMut(),
) {
    let budget = receiver.budget.clone();
    let mut buffer = Vec::with_capacity(64 * 1024);
    'outer: while let Some(first) = receiver.items.recv().await {
        let mut next = Some(first);
        let mut closing = false;
        while let Some(item) = next.take() {
            match item {
                Item::Frame(frame) => {
                    sent();
                    buffer.extend_from_slice(&frame);
                }
                Item::Close => {
                    closing = true;
                    break;
                }
            }
            if buffer.len() < 256 * 1024 {
                next = receiver.items.try_recv().ok();
            }
        }
        if !buffer.is_empty() {
            match tokio::time::timeout(stall, socket.write_all(&buffer)).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => break 'outer,
                Err(_elapsed) => {
                    stalled.hit(format_args!(
                        "closing a connection whose client took no data for {stall:?}"
                    ));
                    budget.overflowed.store(true, Ordering::Release);
                    budget.overflow.notify_one();
                    break 'outer;
                }
            }
            budget.queued.fetch_sub(buffer.len(), Ordering::AcqRel);
            budget.drained.notify_waiters();
            buffer.clear();
        }
        if closing {
            break;
        }
    }
    // Whoever waits for room must not wait for a writer that is gone.
    budget.overflowed.store(true, Ordering::Release);
    budget.drained.notify_waiters();
    let _ = socket.shutdown().await;
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    #[tokio::test]
    async fn replies_wait_for_room_and_events_overflow() {
        let (out, receiver) = channel(100, 400);
        let (client, server) = tokio::io::duplex(64);
        let stalled = LimitCounter::new("test");
        let writer = tokio::spawn(async move {
            let stalled = LimitCounter::new("test");
            write_loop(server, receiver, Duration::from_secs(60), &stalled, || {}).await
        });
        assert!(out.reply(vec![1; 150]).await);
        // Over the soft limit (the client reads nothing): the next reply waits.
        let waiting = tokio::time::timeout(Duration::from_millis(50), out.reply(vec![2; 10])).await;
        assert!(waiting.is_err());
        let event = WatcherEvent {
            event_type: 3,
            state: 3,
            path: "/x".repeat(100),
        };
        for _ in 0..3 {
            out.event(&event, &stalled);
        }
        assert_eq!(stalled.count(), 1, "the hard limit was passed");
        tokio::time::timeout(Duration::from_secs(5), out.overflowed())
            .await
            .expect("the connection is marked for closing");
        drop((out, client));
        writer.await.unwrap();
    }

    #[tokio::test]
    async fn a_reader_drains_the_budget() {
        let (out, receiver) = channel(100, 400);
        let (mut client, server) = tokio::io::duplex(64);
        tokio::spawn(async move {
            let stalled = LimitCounter::new("test");
            write_loop(server, receiver, Duration::from_secs(60), &stalled, || {}).await
        });
        let reader = tokio::spawn(async move {
            let mut all = Vec::new();
            client.read_to_end(&mut all).await.unwrap();
            all.len()
        });
        for _ in 0..20 {
            assert!(out.reply(vec![7; 90]).await);
        }
        out.close();
        assert_eq!(reader.await.unwrap(), 20 * 90);
    }
}
