//! Session liveness on the server that owns the sessions (the leader): when each session was
//! last heard from, and which have gone quiet for longer than their timeout.
//!
//! A session's deadline is exactly its last sign of life plus its timeout (ZooKeeper's
//! `SessionTrackerImpl` rounds deadlines up to the next tick instead); the server looks for
//! expired sessions every half tick (`Keeper::expire_sessions`), so a session expires at most
//! half a tick after its deadline, never before it.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct SessionTracker {
    tick: Duration,
    deadlines: Mutex<HashMap<i64, (Instant, Duration)>>,
    next_id: Mutex<i64>,
    /// Sessions heard from since the last report to the leader; `None` on a standalone
    /// server, which has no one to report to.
    touched: Option<Mutex<HashSet<i64>>>,
}

impl SessionTracker {
    /// `server_id` goes in the top byte of every session id, as in ZooKeeper, so ids from
    /// different servers never collide. `report_touches`: remember which sessions were heard
    /// from, for a server that reports them to its leader.
    pub fn new(tick: Duration, server_id: u64, report_touches: bool) -> Self {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let base = ((now_ms << 24) as u64 >> 8) as i64;
        Self {
            tick,
            deadlines: Mutex::new(HashMap::new()),
            next_id: Mutex::new(base | ((server_id as i64 & 0xff) << 56)),
            touched: report_touches.then(Mutex::default),
        }
    }

    fn note_touched(&self, session: i64) {
        if let Some(touched) = &self.touched {
            touched
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(session);
        }
    }

    /// The sessions heard from since the last call.
    pub fn take_touched(&self) -> Vec<i64> {
        self.touched.as_ref().map_or_else(Vec::new, |touched| {
            std::mem::take(&mut *touched.lock().unwrap_or_else(|p| p.into_inner()))
                .into_iter()
                .collect()
        })
    }

    /// Puts back sessions whose report did not reach the leader.
    pub fn retouch(&self, sessions: Vec<i64>) {
        for session in sessions {
            self.note_touched(session);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, (Instant, Duration)>> {
        self.deadlines.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A fresh session id.
    pub fn next_session_id(&self) -> i64 {
        let mut next = self.next_id.lock().unwrap_or_else(|p| p.into_inner());
        *next += 1;
        *next
    }

    /// Starts (or restarts) tracking a session with the given timeout.
    pub fn track(&self, session: i64, timeout_ms: i32) {
        let timeout = Duration::from_millis(timeout_ms.max(0) as u64);
        self.note_touched(session);
        self.lock()
            .insert(session, (Instant::now() + timeout, timeout));
    }

    /// The session was heard from; says whether it is still tracked.
    pub fn touch(&self, session: i64) -> bool {
        self.note_touched(session);
        let mut deadlines = self.lock();
        match deadlines.get_mut(&session) {
            Some((deadline, timeout)) => {
                *deadline = Instant::now() + *timeout;
                true
            }
            None => false,
        }
    }

    pub fn forget(&self, session: i64) {
        self.lock().remove(&session);
    }

    /// Sessions whose deadline has passed, no longer tracked from here on (so each expiry is
    /// submitted once).
    pub fn expired(&self, now: Instant) -> Vec<i64> {
        let mut deadlines = self.lock();
        let expired: Vec<i64> = deadlines
            .iter()
            .filter(|(_, (deadline, _))| *deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in &expired {
            deadlines.remove(id);
        }
        expired
    }

    pub fn tick(&self) -> Duration {
        self.tick
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_the_server_id_and_are_unique() {
        let tracker = SessionTracker::new(Duration::from_millis(10), 3, false);
        let a = tracker.next_session_id();
        let b = tracker.next_session_id();
        assert_ne!(a, b);
        assert_eq!(a >> 56, 3);
    }

    #[test]
    fn quiet_sessions_expire_touched_ones_do_not() {
        let tracker = SessionTracker::new(Duration::from_millis(1), 0, false);
        tracker.track(1, 0);
        tracker.track(2, 60_000);
        let expired = tracker.expired(Instant::now() + Duration::from_millis(1));
        assert_eq!(expired, vec![1]);
        assert!(tracker.touch(2));
        assert!(!tracker.touch(1));
        assert!(
            tracker.take_touched().is_empty(),
            "a standalone server reports nothing"
        );
    }

    #[test]
    fn touches_are_collected_for_the_leader_until_taken() {
        let tracker = SessionTracker::new(Duration::from_millis(1), 2, true);
        tracker.track(5, 1000);
        tracker.touch(6);
        let mut touched = tracker.take_touched();
        touched.sort();
        assert_eq!(touched, [5, 6]);
        assert!(tracker.take_touched().is_empty());
        tracker.retouch(vec![6]);
        assert_eq!(tracker.take_touched(), [6]);
    }
}
