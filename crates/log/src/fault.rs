//! Fault injection for tests: make writes or fsyncs fail as a full or broken disk would.
//!
//! Every write and sync of the log goes through [`crate::io`], which asks the injector first, so a
//! test can prove that a failed append leaves the log unchanged and readable without needing a
//! real full filesystem.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

/// Injected failures, shared by every log using the same [`crate::Resources`].
#[derive(Debug)]
pub struct FaultInjector {
    /// Bytes that may still be written before writes fail with ENOSPC; negative = unlimited.
    write_budget: AtomicI64,
    fail_sync: AtomicBool,
}

impl Default for FaultInjector {
    fn default() -> Self {
        FaultInjector {
            write_budget: AtomicI64::new(-1),
            fail_sync: AtomicBool::new(false),
        }
    }
}

impl FaultInjector {
    /// After `bytes` more bytes, writes fail with "No space left on device" (a write that crosses
    /// the limit writes its first part, like a real short write, then fails).
    pub fn fail_writes_after(&self, bytes: u64) {
        self.write_budget
            .store(bytes.min(i64::MAX as u64) as i64, Ordering::SeqCst);
    }

    /// Makes fsync fail with EIO while set.
    pub fn fail_syncs(&self, fail: bool) {
        self.fail_sync.store(fail, Ordering::SeqCst);
    }

    /// Removes every injected fault.
    pub fn clear(&self) {
        self.write_budget.store(-1, Ordering::SeqCst);
        self.fail_sync.store(false, Ordering::SeqCst);
    }

    /// How many of `len` bytes may be written; `Err` once the budget is exhausted.
    pub(crate) fn admit_write(&self, len: usize) -> io::Result<usize> {
        let budget = self.write_budget.load(Ordering::SeqCst);
        if budget < 0 {
            return Ok(len);
        }
        if budget == 0 {
            return Err(io::Error::from_raw_os_error(28)); // ENOSPC
        }
        let allowed = (len as i64).min(budget);
        self.write_budget.fetch_sub(allowed, Ordering::SeqCst);
        Ok(allowed as usize)
    }

    pub(crate) fn admit_sync(&self) -> io::Result<()> {
        if self.fail_sync.load(Ordering::SeqCst) {
            return Err(io::Error::from_raw_os_error(5)); // EIO
        }
        Ok(())
    }
}
