//! One partition replica on this broker: its log, its role (leader or follower) in a leader
//! epoch, and, as leader, the ISR, each follower's progress and the high watermark (Kafka's
//! `Partition`).
//!
//! Invariants:
//! - The high watermark never moves backwards while this broker leads an epoch, and never
//!   passes the log end; as leader it is the least log end offset over the ISR (a follower
//!   whose log end is not known yet, just after an election, holds it where it is).
//! - The leader is always in its own ISR; a follower enters the ISR only once its log end has
//!   reached the high watermark, and the ISR this broker acts on is the one written to
//!   ZooKeeper (changes are proposed here, written by the caller, then applied).
//! - Every change of high watermark or role is published on [`Partition::progress`], which
//!   produce requests waiting for acks=all watch (the purgatory).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ferry_log::{Log, TopicPartition};
use tokio::sync::watch;

/// What produce requests waiting on this partition look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub high_watermark: i64,
    pub leader_epoch: i32,
    pub is_leader: bool,
}

/// A partition's state as the controller sent it in LeaderAndIsr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assigned {
    pub leader: i32,
    pub leader_epoch: i32,
    pub isr: Vec<i32>,
    pub replicas: Vec<i32>,
    /// The state znode's version, for the leader's conditional ISR writes.
    pub zk_version: i32,
    pub controller_epoch: i32,
}

/// A follower's progress as its leader sees it.
#[derive(Debug, Clone, Copy)]
struct Follower {
    /// -1 until its first fetch in this epoch.
    log_end_offset: i64,
    last_caught_up_ms: i64,
    /// The leader's log end and the time at the follower's previous fetch.
    previous_fetch_leader_leo: i64,
    previous_fetch_ms: i64,
}

struct State {
    assigned: Assigned,
    followers: HashMap<i32, Follower>,
    high_watermark: i64,
    /// An ISR change is being written to ZooKeeper: no second one meanwhile.
    isr_change_in_flight: bool,
}

/// Why a request cannot be served by this replica as leader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RoleError {
    #[error("not the leader (leader is {leader} in epoch {leader_epoch})")]
    NotLeader { leader: i32, leader_epoch: i32 },
    #[error("leader epoch {sent} is older than the current {current}")]
    FencedLeaderEpoch { sent: i32, current: i32 },
    #[error("leader epoch {sent} is newer than the current {current}")]
    UnknownLeaderEpoch { sent: i32, current: i32 },
    #[error("replica {0} is not assigned this partition")]
    NotAReplica(i32),
}

/// An ISR change the leader wants written to ZooKeeper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsrChange {
    pub new_isr: Vec<i32>,
    pub leader_epoch: i32,
    pub zk_version: i32,
    pub controller_epoch: i32,
}

/// What a follower's fetch changed on its leader.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FollowerFetch {
    /// An ISR expansion to write (the follower caught up).
    pub isr_change: Option<IsrChange>,
    /// The high watermark moved: waiting consumers can read more.
    pub high_watermark_moved: bool,
}

/// One replica of a partition on this broker.
pub struct Partition {
    pub tp: TopicPartition,
    pub log: Arc<Log>,
    me: i32,
    state: Mutex<State>,
    progress: watch::Sender<Progress>,
}

impl Partition {
    /// A replica with no role yet (until its first LeaderAndIsr is applied), its high
    /// watermark from the last checkpoint.
    pub fn new(tp: TopicPartition, log: Arc<Log>, me: i32, checkpointed_hw: i64) -> Self {
        let hw = checkpointed_hw.clamp(log.log_start_offset(), log.log_end_offset());
        Partition {
            tp,
            log,
            me,
            state: Mutex::new(State {
                assigned: Assigned {
                    leader: -1,
                    leader_epoch: -1,
                    isr: Vec::new(),
                    replicas: Vec::new(),
                    zk_version: -1,
                    controller_epoch: -1,
                },
                followers: HashMap::new(),
                high_watermark: hw,
                isr_change_in_flight: false,
            }),
            progress: watch::Sender::new(Progress {
                high_watermark: hw,
                leader_epoch: -1,
                is_leader: false,
            }),
        }
    }

    /// The leader epoch this replica is in (-1 before its first LeaderAndIsr).
    pub fn leader_epoch(&self) -> i32 {
        self.lock().assigned.leader_epoch
    }

    /// The state last applied.
    pub fn assigned(&self) -> Assigned {
        self.lock().assigned.clone()
    }

    pub fn is_leader(&self) -> bool {
        self.lock().assigned.leader == self.me
    }

    pub fn high_watermark(&self) -> i64 {
        self.lock().high_watermark
    }

    /// Watches the high watermark and the role (see [`Progress`]).
    pub fn progress(&self) -> watch::Receiver<Progress> {
        self.progress.subscribe()
    }

    /// Applies a LeaderAndIsr naming this broker the leader. Followers' progress starts
    /// unknown, so the high watermark waits for their first fetches.
    pub fn make_leader(&self, assigned: Assigned, now_ms: i64) {
        // Under the state lock, so no follower append of the previous epoch lands after it.
        let mut s = self.lock();
        if let Err(error) = self.log.assign_leader_epoch(assigned.leader_epoch) {
            tracing::warn!(partition = %self.tp.dir_name(), %error,
                "recording the new leader epoch failed; it is recorded at the first append");
        }
        s.followers = assigned
            .replicas
            .iter()
            .filter(|r| **r != self.me)
            .map(|r| {
                let follower = Follower {
                    log_end_offset: -1,
                    // A follower gets a whole lag period to fetch before it is dropped.
                    last_caught_up_ms: now_ms,
                    previous_fetch_leader_leo: -1,
                    previous_fetch_ms: now_ms,
                };
                (*r, follower)
            })
            .collect();
        s.assigned = assigned;
        s.isr_change_in_flight = false;
        self.advance_high_watermark(&mut s);
        self.publish(&s);
    }

    /// Applies a LeaderAndIsr naming another broker the leader.
    pub fn make_follower(&self, assigned: Assigned) {
        let mut s = self.lock();
        s.followers.clear();
        s.assigned = assigned;
        s.isr_change_in_flight = false;
        // As a follower the high watermark comes from the leader; never above our log end.
        s.high_watermark = s.high_watermark.min(self.log.log_end_offset());
        self.publish(&s);
    }

    /// The leader epoch if this broker leads, checked against the one a client or follower
    /// names (-1: none named).
    pub fn check_leader(&self, named_epoch: i32) -> Result<i32, RoleError> {
        let s = self.lock();
        let current = s.assigned.leader_epoch;
        if s.assigned.leader != self.me {
            return Err(RoleError::NotLeader {
                leader: s.assigned.leader,
                leader_epoch: current,
            });
        }
        check_epoch(named_epoch, current)?;
        Ok(current)
    }

    /// The epoch check of a follower or client that names the leader epoch it believes in.
    pub fn check_epoch(&self, named_epoch: i32) -> Result<(), RoleError> {
        check_epoch(named_epoch, self.lock().assigned.leader_epoch)
    }

    /// The ISR size, for `min.insync.replicas`.
    pub fn isr_len(&self) -> usize {
        self.lock().assigned.isr.len()
    }

    /// After an append as leader: the high watermark may move (an ISR of one).
    pub fn appended_as_leader(&self) {
        let mut s = self.lock();
        if self.advance_high_watermark(&mut s) {
            self.publish(&s);
        }
    }

    /// A follower fetched from `fetch_offset`: its progress is recorded, the high watermark
    /// may move, and an ISR expansion is proposed when it has caught up.
    pub fn follower_fetched(
        &self,
        replica: i32,
        fetch_offset: i64,
        now_ms: i64,
    ) -> Result<FollowerFetch, RoleError> {
        let leo = self.log.log_end_offset();
        let mut s = self.lock();
        if s.assigned.leader != self.me {
            return Err(RoleError::NotLeader {
                leader: s.assigned.leader,
                leader_epoch: s.assigned.leader_epoch,
            });
        }
        let Some(f) = s.followers.get_mut(&replica) else {
            return Err(RoleError::NotAReplica(replica));
        };
        // Kafka's rule: caught up now if it has all we had, or caught up at the time of its
        // previous fetch if it has all we had then.
        if fetch_offset >= leo {
            f.last_caught_up_ms = now_ms;
        } else if fetch_offset >= f.previous_fetch_leader_leo && f.previous_fetch_leader_leo >= 0 {
            f.last_caught_up_ms = f.last_caught_up_ms.max(f.previous_fetch_ms);
        }
        f.log_end_offset = fetch_offset.min(leo);
        f.previous_fetch_leader_leo = leo;
        f.previous_fetch_ms = now_ms;
        let high_watermark_moved = self.advance_high_watermark(&mut s);
        if high_watermark_moved {
            self.publish(&s);
        }
        let joins = !s.assigned.isr.contains(&replica)
            && fetch_offset >= s.high_watermark
            && !s.isr_change_in_flight;
        let isr_change = joins.then(|| {
            let mut new_isr = s.assigned.isr.clone();
            new_isr.push(replica);
            self.propose(&mut s, new_isr)
        });
        Ok(FollowerFetch {
            isr_change,
            high_watermark_moved,
        })
    }

    /// As leader: the ISR without the followers that have not caught up for `max_lag`, if any
    /// must go.
    pub fn shrink_proposal(&self, now_ms: i64, max_lag: Duration) -> Option<IsrChange> {
        let mut s = self.lock();
        if s.assigned.leader != self.me || s.isr_change_in_flight {
            return None;
        }
        let max_lag_ms = i64::try_from(max_lag.as_millis()).unwrap_or(i64::MAX);
        let lagging: Vec<i32> = s
            .assigned
            .isr
            .iter()
            .copied()
            .filter(|r| *r != self.me)
            .filter(|r| {
                s.followers
                    .get(r)
                    .is_none_or(|f| now_ms - f.last_caught_up_ms > max_lag_ms)
            })
            .collect();
        if lagging.is_empty() {
            return None;
        }
        let new_isr = s
            .assigned
            .isr
            .iter()
            .copied()
            .filter(|r| !lagging.contains(r))
            .collect();
        Some(self.propose(&mut s, new_isr))
    }

    fn propose(&self, s: &mut State, new_isr: Vec<i32>) -> IsrChange {
        s.isr_change_in_flight = true;
        IsrChange {
            new_isr,
            leader_epoch: s.assigned.leader_epoch,
            zk_version: s.assigned.zk_version,
            controller_epoch: s.assigned.controller_epoch,
        }
    }

    /// The outcome of writing a proposed ISR change: applied with the znode's new version,
    /// or (`None`) dropped. A change made for an older epoch is ignored.
    pub fn isr_change_done(&self, change: &IsrChange, written: Option<i32>) {
        let mut s = self.lock();
        if s.assigned.leader_epoch != change.leader_epoch {
            return;
        }
        s.isr_change_in_flight = false;
        if let Some(version) = written {
            s.assigned.isr = change.new_isr.clone();
            s.assigned.zk_version = version;
            if self.advance_high_watermark(&mut s) {
                self.publish(&s);
            }
        }
    }

    /// As follower in `leader_epoch`: appends batches fetched from the leader, unless the role
    /// or epoch changed since the fetch was sent (then nothing is appended and `false` is
    /// returned). Holds the state lock, so a LeaderAndIsr cannot switch the role midway.
    pub fn append_as_follower(
        &self,
        records: &[u8],
        leader_epoch: i32,
    ) -> Result<bool, ferry_log::LogError> {
        let s = self.lock();
        if s.assigned.leader == self.me || s.assigned.leader_epoch != leader_epoch {
            return Ok(false);
        }
        match self.log.append_as_follower(records) {
            Ok(_) => Ok(true),
            // An empty set (all batches below our end) is nothing to append.
            Err(ferry_log::LogError::InvalidBatch(ferry_log::BatchError::Empty)) => Ok(true),
            Err(error) => Err(error),
        }
    }

    /// As follower: the leader's high watermark, capped at our own log end.
    pub fn follower_high_watermark(&self, leader_hw: i64) {
        let mut s = self.lock();
        let hw = leader_hw.min(self.log.log_end_offset());
        if hw != s.high_watermark {
            s.high_watermark = hw;
            self.publish(&s);
        }
    }

    /// After a follower's truncation: the high watermark is not above the new log end.
    /// As follower in `leader_epoch`: cuts the log to `offset` (everything at or after it
    /// goes) or, with `restart`, empties it and starts it at `offset`; the high watermark
    /// follows the log end down. Nothing happens if the role or epoch changed meanwhile (a
    /// new leader's log must never be cut by a stale follower step).
    pub fn truncate_as_follower(
        &self,
        offset: i64,
        restart: bool,
        leader_epoch: i32,
    ) -> Result<(), ferry_log::LogError> {
        let mut s = self.lock();
        if s.assigned.leader == self.me || s.assigned.leader_epoch != leader_epoch {
            return Ok(());
        }
        let leo = self.log.log_end_offset();
        let result = if restart {
            self.log.truncate_fully_and_start_at(offset)
        } else if offset < leo {
            tracing::info!(partition = %self.tp.dir_name(), from = leo, to = offset,
                "truncating to the leader's epoch boundary");
            self.log.truncate_to(offset)
        } else {
            Ok(())
        };
        s.high_watermark = s.high_watermark.min(self.log.log_end_offset());
        self.publish(&s);
        result
    }

    /// Leader: the least log end over the ISR, if it moves the high watermark forward.
    fn advance_high_watermark(&self, s: &mut State) -> bool {
        if s.assigned.leader != self.me {
            return false;
        }
        let mut hw = self.log.log_end_offset();
        for r in &s.assigned.isr {
            if *r == self.me {
                continue;
            }
            match s.followers.get(r) {
                Some(f) if f.log_end_offset >= 0 => hw = hw.min(f.log_end_offset),
                _ => return false,
            }
        }
        if hw > s.high_watermark {
            s.high_watermark = hw;
            return true;
        }
        false
    }

    fn publish(&self, s: &State) {
        let progress = Progress {
            high_watermark: s.high_watermark,
            leader_epoch: s.assigned.leader_epoch,
            is_leader: s.assigned.leader == self.me,
        };
        self.progress.send_if_modified(|p| {
            let changed = *p != progress;
            *p = progress;
            changed
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn check_epoch(named: i32, current: i32) -> Result<(), RoleError> {
    // -1 is Kafka's "no epoch named".
    if named == -1 || named == current {
        Ok(())
    } else if named < current {
        Err(RoleError::FencedLeaderEpoch {
            sent: named,
            current,
        })
    } else {
        Err(RoleError::UnknownLeaderEpoch {
            sent: named,
            current,
        })
    }
}

#[cfg(test)]
#[path = "partition_tests.rs"]
mod tests;
