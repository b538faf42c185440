//! The group coordinator: Kafka's classic consumer-group protocol and committed offsets.
//!
//! | module | concept |
//! |---|---|
//! | `state` | the group states and their names |
//! | `member` | a member, and a JoinGroup as the state machine sees it |
//! | `group` | one group's rebalance state machine (pure: no I/O, no clock) |
//! | `subscription` | the topics of a consumer protocol subscription |
//! | `records` | `__consumer_offsets` keys and values in Kafka's binary formats |
//! | `offsets_topic` | creating `__consumer_offsets`, appending to it as leader, scanning it |
//! | `replication` | a write counts once the ISR has it; its errors as each request answers them |
//! | `ownership` | which offsets partitions are served here: loading, owned |
//! | `loader` | rebuilding one partition's groups from its log |
//! | `loading` | following the offsets partitions' leadership: load, unload |
//! | `slot` | one group in the registry, its waiting members, its offsets' log positions |
//! | `coordinator` | the registry of groups, the rebalance requests, the timer task |
//! | `committed` | committing, fetching, deleting and expiring offsets |
//!
//! Invariants: only the leader of a group's partition (`abs(javaHashCode(group)) %
//! partitions`) serves the group, and only once it has loaded the partition's log; a commit or
//! a generation's metadata is acknowledged only once the partition's ISR has it (the high
//! watermark passed it), so the next leader has everything acknowledged; a group's records are
//! written in the order the group changed (under the group's lock); a load reads the state
//! last written, tombstones included.

mod committed;
mod coordinator;
mod group;
mod loader;
mod loading;
mod member;
mod offsets_topic;
mod ownership;
mod records;
mod replication;
mod slot;
mod state;
mod subscription;

#[cfg(test)]
mod group_tests;

pub use committed::OffsetCommit;
pub use coordinator::{run_timers, wall_clock_ms, CoordinatorConfig, GroupCoordinator, Listed};
pub use group::{Group, GroupLimits, JoinResult, SyncRequest, SyncResult};
pub use member::JoinRequest;
pub use offsets_topic::{StoreError, OFFSETS_TOPIC};
pub use records::{partition_for, OffsetValue};
pub use state::GroupState;
