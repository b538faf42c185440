//! One member of a classic consumer group, and what a JoinGroup says about it.

use bytes::Bytes;

/// A member as the coordinator tracks it.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub id: String,
    /// Static membership (`group.instance.id`): a rejoin with the same instance id takes over
    /// this member instead of adding a new one.
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    pub protocol_type: String,
    /// (name, metadata) in the member's order of preference.
    pub protocols: Vec<(String, Bytes)>,
    /// What the leader assigned it in the current generation.
    pub assignment: Bytes,
    /// It sent a JoinGroup that has not been answered yet.
    pub awaiting_join: bool,
    /// It sent a SyncGroup that has not been answered yet.
    pub awaiting_sync: bool,
    /// When its session ends unless it heartbeats (ms on the coordinator's clock).
    pub session_deadline: u64,
}

impl Member {
    /// The metadata it sent for `protocol` (empty if it does not support it).
    pub fn metadata(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|(name, _)| name == protocol)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }

    pub fn supports(&self, protocol: &str) -> bool {
        self.protocols.iter().any(|(name, _)| name == protocol)
    }

    /// Restarts the session timer (a heartbeat, a join, a sync or a commit).
    pub fn touch(&mut self, now: u64) {
        self.session_deadline = now + timeout_ms(self.session_timeout_ms);
    }
}

/// A JoinGroup request, as the state machine needs it.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    /// Empty for a member joining for the first time.
    pub member_id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    pub protocol_type: String,
    pub protocols: Vec<(String, Bytes)>,
    /// JoinGroup v4+: a member without id gets MEMBER_ID_REQUIRED and must join again with the
    /// id it was given, so an id is never handed out to a client that does not know it.
    pub require_known_member_id: bool,
    /// The id a new member gets (`clientId-uuid`), made by the caller so the state machine
    /// stays deterministic.
    pub fresh_member_id: String,
}

/// A non-negative timeout in ms (negative values from the wire count as 0).
pub fn timeout_ms(ms: i32) -> u64 {
    u64::try_from(ms).unwrap_or(0)
}
