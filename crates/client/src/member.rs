//! Membership of a consumer group: join (with the "consumer" protocol and the range assignor
//! when this member leads), sync, heartbeat, leave, and commits in the current generation.

use std::collections::BTreeMap;

use ferry_kafka_protocol::messages::join_group::JoinGroupRequestProtocol;
use ferry_kafka_protocol::messages::leave_group::MemberIdentity;
use ferry_kafka_protocol::messages::sync_group::SyncGroupRequestAssignment;
use ferry_kafka_protocol::messages::*;
use ferry_kafka_protocol::{ApiKey, ErrorCode};

use crate::client::Client;
use crate::connection::Connection;
use crate::consumer_protocol::{
    decode_assignment, decode_subscription, encode_assignment, encode_subscription, range_assign,
    Assignment,
};
use crate::error::{check, ClientError, Result};
use crate::group::{commit_offsets, fetch_offsets, Offsets};

const PROTOCOL_TYPE: &str = "consumer";
const ASSIGNOR: &str = "range";
/// Rejoin attempts before giving up (each rebalance round is bounded by the broker).
const JOIN_ATTEMPTS: usize = 10;

/// Timeouts of a membership.
#[derive(Debug, Clone, Copy)]
pub struct GroupTimeouts {
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
}

impl Default for GroupTimeouts {
    fn default() -> Self {
        Self {
            session_timeout_ms: 10_000,
            rebalance_timeout_ms: 10_000,
        }
    }
}

/// A joined member.
pub struct GroupMember {
    conn: Connection,
    group: String,
    topics: Vec<String>,
    timeouts: GroupTimeouts,
    member_id: String,
    generation: i32,
    assignment: Assignment,
}

impl GroupMember {
    /// Joins `group` subscribed to `topics` and waits for an assignment.
    pub async fn join(
        client: &Client,
        group: &str,
        topics: Vec<String>,
        timeouts: GroupTimeouts,
    ) -> Result<Self> {
        let conn = client.coordinator(group).await?;
        let mut member = GroupMember {
            conn,
            group: group.to_string(),
            topics,
            timeouts,
            member_id: String::new(),
            generation: -1,
            assignment: Assignment::new(),
        };
        member.rejoin(client).await?;
        Ok(member)
    }

    pub fn member_id(&self) -> &str {
        &self.member_id
    }

    pub fn generation(&self) -> i32 {
        self.generation
    }

    /// This member's partitions in the current generation.
    pub fn assignment(&self) -> &Assignment {
        &self.assignment
    }

    /// Join and sync until a generation is complete.
    pub async fn rejoin(&mut self, client: &Client) -> Result<()> {
        let mut last = None;
        for _ in 0..JOIN_ATTEMPTS {
            match self.join_once(client).await {
                Ok(()) => return Ok(()),
                Err(e)
                    if matches!(
                        e.code(),
                        Some(
                            ErrorCode::MemberIdRequired
                                | ErrorCode::RebalanceInProgress
                                | ErrorCode::UnknownMemberId
                                | ErrorCode::IllegalGeneration
                        )
                    ) =>
                {
                    // An unknown member joins again as a new one; otherwise the id is kept.
                    if e.code() == Some(ErrorCode::UnknownMemberId) {
                        self.member_id.clear();
                    }
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| ClientError::Invalid("could not join".into())))
    }

    async fn join_once(&mut self, client: &Client) -> Result<()> {
        let request = JoinGroupRequest {
            group_id: self.group.clone(),
            session_timeout_ms: self.timeouts.session_timeout_ms,
            rebalance_timeout_ms: self.timeouts.rebalance_timeout_ms,
            member_id: self.member_id.clone(),
            protocol_type: PROTOCOL_TYPE.to_string(),
            protocols: vec![JoinGroupRequestProtocol {
                name: ASSIGNOR.to_string(),
                metadata: encode_subscription(&self.topics),
                ..Default::default()
            }],
            ..Default::default()
        };
        let joined = self.conn.call(request).await?;
        if !joined.member_id.is_empty() {
            // Also on MEMBER_ID_REQUIRED: the id to join with next.
            self.member_id = joined.member_id.clone();
        }
        check(
            joined.error_code,
            format!("joining group {}", self.group),
            None,
        )?;
        self.generation = joined.generation_id;
        let assignments = if joined.leader == self.member_id {
            self.assign(client, &joined.members).await?
        } else {
            Vec::new()
        };
        let synced = self
            .conn
            .call(SyncGroupRequest {
                group_id: self.group.clone(),
                generation_id: self.generation,
                member_id: self.member_id.clone(),
                protocol_type: Some(PROTOCOL_TYPE.to_string()),
                protocol_name: joined.protocol_name.clone(),
                assignments,
                ..Default::default()
            })
            .await?;
        check(
            synced.error_code,
            format!("syncing group {}", self.group),
            None,
        )?;
        self.assignment = decode_assignment(&synced.assignment)?;
        Ok(())
    }

    /// The leader's job: the range assignment of every member's subscription.
    async fn assign(
        &self,
        client: &Client,
        members: &[join_group::JoinGroupResponseMember],
    ) -> Result<Vec<SyncGroupRequestAssignment>> {
        let mut subscriptions = BTreeMap::new();
        for m in members {
            subscriptions.insert(m.member_id.clone(), decode_subscription(&m.metadata)?);
        }
        let mut wanted: Vec<String> = subscriptions.values().flatten().cloned().collect();
        wanted.sort();
        wanted.dedup();
        let counts: BTreeMap<String, i32> = client
            .topics(Some(&wanted))
            .await?
            .into_iter()
            .map(|t| (t.name, t.partitions.len() as i32))
            .collect();
        Ok(range_assign(&subscriptions, &counts)
            .into_iter()
            .map(|(member_id, a)| SyncGroupRequestAssignment {
                member_id,
                assignment: encode_assignment(&a),
                ..Default::default()
            })
            .collect())
    }

    /// One heartbeat; `Ok(false)` when the group is rebalancing and this member must rejoin.
    pub async fn heartbeat(&self) -> Result<bool> {
        let response = self
            .conn
            .call(HeartbeatRequest {
                group_id: self.group.clone(),
                generation_id: self.generation,
                member_id: self.member_id.clone(),
                ..Default::default()
            })
            .await?;
        match ErrorCode::from_code(response.error_code) {
            Some(ErrorCode::RebalanceInProgress) => Ok(false),
            _ => check(
                response.error_code,
                format!("heartbeat in group {}", self.group),
                None,
            )
            .map(|()| true),
        }
    }

    /// Commits offsets in the current generation.
    pub async fn commit(&self, offsets: &Offsets) -> Result<()> {
        commit_offsets(
            &self.conn,
            &self.group,
            offsets,
            self.generation,
            &self.member_id,
        )
        .await
    }

    /// The group's committed offsets for this member's partitions.
    pub async fn committed(&self) -> Result<Offsets> {
        fetch_offsets(&self.conn, &self.group, Some(&self.assignment)).await
    }

    /// Leaves the group so that it rebalances at once rather than after the session timeout.
    pub async fn leave(self) -> Result<()> {
        let version = self.conn.version(ApiKey::LeaveGroup)?;
        let mut request = LeaveGroupRequest {
            group_id: self.group.clone(),
            ..Default::default()
        };
        if version >= 3 {
            request.members = vec![MemberIdentity {
                member_id: self.member_id.clone(),
                ..Default::default()
            }];
        } else {
            request.member_id = self.member_id.clone();
        }
        let response = self.conn.send_at(request, version)?.wait().await?;
        check(
            response.error_code,
            format!("leaving group {}", self.group),
            None,
        )
    }
}
