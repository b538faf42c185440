//! A memory pool for requests being read (Kafka's `queued.max.request.bytes`).
//!
//! Each connection reserves the capacity of its frame buffer from the pool before it allocates
//! it, growing its reservation as the buffer grows. When the pool is empty a connection waits
//! for memory before reading further, which stops reading from that socket (the client then
//! sees TCP backpressure) while connections that already hold memory finish their frames and
//! release it. An unbounded pool (Kafka's default, -1) only counts.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::limit::LimitCounter;

/// Bytes that may be reserved at once by all connections together.
#[derive(Clone)]
pub struct MemoryPool {
    inner: Arc<Inner>,
}

struct Inner {
    /// `None`: unbounded.
    permits: Option<Arc<Semaphore>>,
    capacity: usize,
    used: AtomicUsize,
    exhausted: LimitCounter,
}

/// Memory held from the pool; given back when dropped.
pub struct Reservation {
    pool: MemoryPool,
    bytes: usize,
    permit: Option<OwnedSemaphorePermit>,
}

impl MemoryPool {
    /// A pool of `capacity` bytes; `None` for an unbounded pool. `limit_name` is the
    /// configuration key, used when the pool runs dry.
    pub fn new(capacity: Option<usize>, limit_name: &'static str) -> Self {
        // tokio caps a semaphore's permits; no machine reserves that much anyway.
        let capacity = capacity.map(|c| c.min(Semaphore::MAX_PERMITS));
        MemoryPool {
            inner: Arc::new(Inner {
                permits: capacity.map(|c| Arc::new(Semaphore::new(c))),
                capacity: capacity.unwrap_or(usize::MAX),
                used: AtomicUsize::new(0),
                exhausted: LimitCounter::new(limit_name),
            }),
        }
    }

    /// An empty reservation to grow.
    pub fn empty(&self) -> Reservation {
        Reservation {
            pool: self.clone(),
            bytes: 0,
            permit: None,
        }
    }

    /// Bytes reserved now.
    pub fn used(&self) -> usize {
        self.inner.used.load(Ordering::Relaxed)
    }

    /// The pool's size (`usize::MAX` when unbounded).
    pub fn capacity(&self) -> usize {
        self.inner.capacity
    }

    /// How often a reader had to wait because the pool was empty.
    pub fn exhausted(&self) -> &LimitCounter {
        &self.inner.exhausted
    }
}

impl Reservation {
    /// Adds `bytes` to the reservation, waiting while the pool cannot spare them. A request
    /// larger than the whole pool can never be satisfied: the caller refuses such frames
    /// (frame sizes are checked against a maximum that the pool is configured to exceed).
    pub async fn grow(&mut self, bytes: usize) {
        if bytes == 0 {
            return;
        }
        if let Some(permits) = &self.pool.inner.permits {
            let wanted = u32::try_from(bytes).unwrap_or(u32::MAX);
            let permit = match permits.clone().try_acquire_many_owned(wanted) {
                Ok(permit) => permit,
                Err(_) => {
                    self.pool.inner.exhausted.hit(format_args!(
                        "memory pool exhausted ({} of {} bytes in use); a connection waits to read",
                        self.pool.used(),
                        self.pool.capacity()
                    ));
                    match permits.clone().acquire_many_owned(wanted).await {
                        Ok(permit) => permit,
                        // The semaphore is never closed.
                        Err(_closed) => return,
                    }
                }
            };
            match &mut self.permit {
                Some(held) => held.merge(permit),
                None => self.permit = Some(permit),
            }
        }
        self.bytes += bytes;
        self.pool.inner.used.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.pool
            .inner
            .used
            .fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn reservations_wait_for_memory_and_give_it_back() {
        let pool = MemoryPool::new(Some(100), "test.pool");
        let mut a = pool.empty();
        a.grow(60).await;
        let mut b = pool.empty();
        b.grow(40).await;
        assert_eq!(pool.used(), 100);
        let mut c = pool.empty();
        let waiting = tokio::time::timeout(Duration::from_millis(50), c.grow(10)).await;
        assert!(waiting.is_err(), "the pool is empty: growing must wait");
        assert_eq!(pool.exhausted().count(), 1);
        drop(a);
        assert_eq!(pool.used(), 40);
        tokio::time::timeout(Duration::from_secs(5), c.grow(10))
            .await
            .expect("memory was given back");
        assert_eq!(pool.used(), 50);
        drop((b, c));
        assert_eq!(pool.used(), 0);
    }

    #[tokio::test]
    async fn an_unbounded_pool_only_counts() {
        let pool = MemoryPool::new(None, "test.pool");
        let mut r = pool.empty();
        r.grow(1 << 40).await;
        assert_eq!(pool.used(), 1 << 40);
        drop(r);
        assert_eq!(pool.used(), 0);
    }
}
