//! The states of a classic group (Kafka's `GroupState`), with the names clients see in
//! DescribeGroups and ListGroups.

/// ```text
/// Empty ──join──► PreparingRebalance ──all joined / timeout──► CompletingRebalance
///   ▲                    ▲   │ (no member left)                    │ leader's SyncGroup
///   └────────────────────┼───┘                                     ▼
///                        └──── join, leave, expiry ─────────── Stable
/// ```
/// Dead: the group was deleted; it is about to leave the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

impl GroupState {
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }

    /// ListGroups v4 filters by name, case-insensitively as Kafka does.
    pub fn matches(self, filter: &str) -> bool {
        self.name().eq_ignore_ascii_case(filter)
    }
}
