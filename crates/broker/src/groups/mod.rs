//! The group coordinator: Kafka's classic consumer-group protocol and committed offsets.
//!
//! | module | concept |
//! |---|---|
//! | `state` | the group states and their names |
//! | `member` | a member, and a JoinGroup as the state machine sees it |
//! | `group` | one group's rebalance state machine (pure: no I/O, no clock) |
//! | `subscription` | the topics of a consumer protocol subscription |
//! | `records` | `__consumer_offsets` keys and values in Kafka's binary formats |
//! | `offsets_topic` | creating `__consumer_offsets`, appending to it, scanning it |
//! | `loader` | rebuilding the groups from `__consumer_offsets` at startup |
//! | `coordinator` | the registry of groups, waiting members, persistence, the timer task |
//!
//! Invariants: a commit is in the log before it is acknowledged; a group's records all go to
//! the partition `abs(javaHashCode(group)) % partitions`, written in the order the group
//! changed (under the registry lock); after a restart the state read back is the state last
//! written, tombstones included.

mod coordinator;
mod group;
mod loader;
mod member;
mod offsets_topic;
mod records;
mod state;
mod subscription;

#[cfg(test)]
mod group_tests;

pub use coordinator::{
    run_timers, wall_clock_ms, CoordinatorConfig, GroupCoordinator, Listed, OffsetCommit,
};
pub use group::{Group, GroupLimits, JoinResult, SyncRequest, SyncResult};
pub use member::JoinRequest;
pub use offsets_topic::{StoreError, OFFSETS_TOPIC};
pub use records::{partition_for, OffsetValue};
pub use state::GroupState;
