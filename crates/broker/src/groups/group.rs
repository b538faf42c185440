//! The classic rebalance protocol for one group, as a pure state machine.
//!
//! No sockets, no clock, no channels: every call takes the time (`now`, ms on a monotonic
//! clock) and returns what to answer now, or says the answer comes later; answers that a call
//! releases for *other* members (the responses to their pending JoinGroup or SyncGroup) are
//! collected in [`Effects`]. The coordinator owns the waiting connections and the persistence;
//! this file owns the rules, which follow Kafka 2.x's `GroupCoordinator`:
//! - a join moves the group to PreparingRebalance; the join phase ends when every known member
//!   has rejoined (and, for a new group, `group.initial.rebalance.delay.ms` has passed), or at
//!   the rebalance timeout, when members that did not rejoin are dropped;
//! - the generation then increases, a protocol is chosen by vote among the ones every member
//!   supports, and the leader alone gets the member list; followers wait in SyncGroup for the
//!   leader's assignment;
//! - members that neither heartbeat nor commit within their session timeout are removed, which
//!   starts a rebalance;
//! - static members (`group.instance.id`) are replaced, not added, when they join again, and
//!   the replaced member id is fenced (FENCED_INSTANCE_ID).

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use ferry_kafka_protocol::ErrorCode;

use super::member::{timeout_ms, JoinRequest, Member};
use super::records::{GroupValue, OffsetValue, StoredMember};
use super::state::GroupState;

/// Broker settings that bound what members may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupLimits {
    /// `group.min.session.timeout.ms`
    pub min_session_timeout_ms: i32,
    /// `group.max.session.timeout.ms`
    pub max_session_timeout_ms: i32,
    /// `group.initial.rebalance.delay.ms`: how long the first rebalance of an empty group waits
    /// for more members, so that a fleet starting together does not rebalance once per member.
    pub initial_rebalance_delay_ms: i32,
}

impl Default for GroupLimits {
    fn default() -> Self {
        GroupLimits {
            min_session_timeout_ms: 6_000,
            max_session_timeout_ms: 1_800_000,
            initial_rebalance_delay_ms: 3_000,
        }
    }
}

/// The answer to a JoinGroup.
#[derive(Debug, Clone, PartialEq)]
pub struct JoinResult {
    pub error: ErrorCode,
    pub generation: i32,
    pub protocol_type: Option<String>,
    pub protocol: Option<String>,
    pub leader: String,
    pub member_id: String,
    /// (member id, instance id, metadata): the leader's only.
    pub members: Vec<(String, Option<String>, Bytes)>,
}

impl JoinResult {
    pub fn error(error: ErrorCode, member_id: &str) -> Self {
        JoinResult {
            error,
            generation: -1,
            protocol_type: None,
            protocol: None,
            leader: String::new(),
            member_id: member_id.to_string(),
            members: Vec::new(),
        }
    }
}

/// The answer to a SyncGroup: this member's assignment, or why not.
pub type SyncResult = Result<Bytes, ErrorCode>;

/// Now, or later through [`Effects`] (the caller must wait for `member_id`'s answer).
#[derive(Debug, Clone, PartialEq)]
pub enum Reply<T> {
    Now(T),
    Wait { member_id: String },
}

/// Answers released by a call for members waiting elsewhere, and whether the group's metadata
/// changed in a way that must be persisted.
#[derive(Debug, Default)]
pub struct Effects {
    pub joins: Vec<(String, JoinResult)>,
    pub syncs: Vec<(String, SyncResult)>,
    pub persist: bool,
}

/// A SyncGroup request.
#[derive(Debug, Clone, Default)]
pub struct SyncRequest {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub generation: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    /// The leader's assignment: member id -> assignment.
    pub assignments: Vec<(String, Bytes)>,
}

/// One consumer group: membership, rebalance state and committed offsets.
#[derive(Debug, Clone)]
pub struct Group {
    pub id: String,
    state: GroupState,
    generation: i32,
    protocol_type: Option<String>,
    protocol: Option<String>,
    leader: Option<String>,
    /// In join order (the first member to join leads when there is no leader).
    members: Vec<Member>,
    /// Instance id -> member id of the static members.
    static_members: HashMap<String, String>,
    /// Ids handed out with MEMBER_ID_REQUIRED, with the time they lapse if not used.
    pending: HashMap<String, u64>,
    /// PreparingRebalance: the join phase ends at the latest then.
    rebalance_deadline: u64,
    /// PreparingRebalance of a new group: the join phase does not end before this.
    initial_delay_until: u64,
    /// ...which rejoins may push back, but not past this.
    initial_delay_limit: u64,
    /// Committed offsets by (topic, partition).
    pub offsets: BTreeMap<(String, i32), OffsetValue>,
    /// When the group last became Empty (0: it has been since the coordinator started or the
    /// group was created), for offset expiry.
    emptied_at: u64,
}

impl Group {
    pub fn new(id: &str) -> Self {
        Group {
            id: id.to_string(),
            state: GroupState::Empty,
            generation: 0,
            protocol_type: None,
            protocol: None,
            leader: None,
            members: Vec::new(),
            static_members: HashMap::new(),
            pending: HashMap::new(),
            rebalance_deadline: 0,
            initial_delay_until: 0,
            initial_delay_limit: 0,
            offsets: BTreeMap::new(),
            emptied_at: 0,
        }
    }

    pub fn state(&self) -> GroupState {
        self.state
    }

    pub fn generation(&self) -> i32 {
        self.generation
    }

    pub fn protocol_type(&self) -> Option<&str> {
        self.protocol_type.as_deref()
    }

    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    pub fn leader(&self) -> Option<&str> {
        self.leader.as_deref()
    }

    pub fn members(&self) -> &[Member] {
        &self.members
    }

    pub fn member(&self, id: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.id == id)
    }

    fn member_mut(&mut self, id: &str) -> Option<&mut Member> {
        self.members.iter_mut().find(|m| m.id == id)
    }

    /// Empty with nothing committed: nothing worth keeping.
    pub fn is_vacant(&self) -> bool {
        self.state == GroupState::Empty && self.members.is_empty() && self.offsets.is_empty()
    }

    /// The committed offsets that have outlived the retention period (`offsets.retention.
    /// minutes`, Kafka 2.1+'s rule from KIP-211): a group with members keeps all of them; an
    /// empty consumer group loses all of them once it has been empty that long; offsets
    /// committed outside any membership (no protocol type: "simple" commits) each expire that
    /// long after their commit. `now` is the coordinator's clock, `wall_now_ms` the wall clock
    /// commit timestamps are in.
    pub fn expired_offsets(
        &self,
        now: u64,
        wall_now_ms: i64,
        retention_ms: u64,
    ) -> Vec<(String, i32)> {
        if self.state != GroupState::Empty {
            return Vec::new();
        }
        if self.protocol_type.is_some() {
            if now.saturating_sub(self.emptied_at) < retention_ms {
                return Vec::new();
            }
            return self.offsets.keys().cloned().collect();
        }
        let cutoff = wall_now_ms.saturating_sub(i64::try_from(retention_ms).unwrap_or(i64::MAX));
        self.offsets
            .iter()
            .filter(|(_, v)| v.commit_timestamp <= cutoff)
            .map(|(tp, _)| tp.clone())
            .collect()
    }

    /// The group is being deleted, or unloaded (this broker stopped coordinating it).
    pub fn mark_dead(&mut self) {
        self.state = GroupState::Dead;
    }

    /// The metadata of `generation` could not be stored: if that generation is still the
    /// current one, the members rebalance, as Kafka's coordinator does when `storeGroup`
    /// fails (the assignment is not durable, and the members were answered with an error).
    pub fn store_failed(
        &mut self,
        generation: i32,
        now: u64,
        limits: &GroupLimits,
        fx: &mut Effects,
    ) {
        let settled = matches!(
            self.state,
            GroupState::Stable | GroupState::CompletingRebalance
        );
        if settled && self.generation == generation {
            self.prepare_rebalance(now, limits, fx);
        }
    }

    // ---------------------------------------------------------------- JoinGroup

    pub fn join(
        &mut self,
        req: JoinRequest,
        now: u64,
        limits: &GroupLimits,
        fx: &mut Effects,
    ) -> Reply<JoinResult> {
        let me = req.member_id.clone();
        if self.state == GroupState::Dead {
            // Deleted under our feet: the client looks the coordinator up again.
            return Reply::Now(JoinResult::error(ErrorCode::CoordinatorNotAvailable, &me));
        }
        let session = req.session_timeout_ms;
        if session < limits.min_session_timeout_ms || session > limits.max_session_timeout_ms {
            return Reply::Now(JoinResult::error(ErrorCode::InvalidSessionTimeout, &me));
        }
        if !self.accepts_protocols(&req.protocol_type, &req.protocols) {
            return Reply::Now(JoinResult::error(ErrorCode::InconsistentGroupProtocol, &me));
        }
        if me.is_empty() {
            self.join_new_member(req, now, limits, fx)
        } else {
            self.join_known_member(req, now, limits, fx)
        }
    }

    /// A group without members takes any non-empty protocol list; otherwise the protocol type
    /// must match and one protocol must be common to everyone.
    fn accepts_protocols(&self, protocol_type: &str, protocols: &[(String, Bytes)]) -> bool {
        if protocol_type.is_empty() || protocols.is_empty() {
            return false;
        }
        if self.members.is_empty() {
            return true;
        }
        self.protocol_type.as_deref() == Some(protocol_type)
            && protocols
                .iter()
                .any(|(name, _)| self.members.iter().all(|m| m.supports(name)))
    }

    fn join_new_member(
        &mut self,
        req: JoinRequest,
        now: u64,
        limits: &GroupLimits,
        fx: &mut Effects,
    ) -> Reply<JoinResult> {
        let id = req.fresh_member_id.clone();
        if let Some(instance) = &req.instance_id {
            if let Some(old) = self.static_members.get(instance).cloned() {
                return self.replace_static_member(&old, req, now, limits, fx);
            }
        } else if req.require_known_member_id {
            let expiry = now + timeout_ms(req.session_timeout_ms);
            self.pending.insert(id.clone(), expiry);
            return Reply::Now(JoinResult::error(ErrorCode::MemberIdRequired, &id));
        }
        self.add_member(id, req, now, limits, fx)
    }

    fn join_known_member(
        &mut self,
        req: JoinRequest,
        now: u64,
        limits: &GroupLimits,
        fx: &mut Effects,
    ) -> Reply<JoinResult> {
        let id = req.member_id.clone();
        if self.pending.remove(&id).is_some() {
            return self.add_member(id, req, now, limits, fx);
        }
        if self.is_fenced(&id, req.instance_id.as_deref()) {
            return Reply::Now(JoinResult::error(ErrorCode::FencedInstanceId, &id));
        }
        let Some(member) = self.member(&id) else {
            return Reply::Now(JoinResult::error(ErrorCode::UnknownMemberId, &id));
        };
        let same_protocols = member.protocols == req.protocols;
        let is_leader = self.leader.as_deref() == Some(id.as_str());
        match self.state {
            GroupState::Empty | GroupState::Dead => {
                Reply::Now(JoinResult::error(ErrorCode::UnknownMemberId, &id))
            }
            GroupState::PreparingRebalance => {
                self.update_member(&req, now);
                self.maybe_complete_join(now, fx);
                Reply::Wait { member_id: id }
            }
            // The member lost our answer and asks again with what it sent before: same answer.
            GroupState::CompletingRebalance if same_protocols => {
                Reply::Now(self.join_result_for(&id))
            }
            GroupState::Stable if same_protocols && !is_leader => {
                if let Some(m) = self.member_mut(&id) {
                    m.touch(now);
                }
                Reply::Now(self.join_result_for(&id))
            }
            // A changed subscription, or the leader asking for a new assignment: rebalance.
            GroupState::CompletingRebalance | GroupState::Stable => {
                self.update_member(&req, now);
                self.prepare_rebalance(now, limits, fx);
                Reply::Wait { member_id: id }
            }
        }
    }

    fn add_member(
        &mut self,
        id: String,
        req: JoinRequest,
        now: u64,
        limits: &GroupLimits,
        fx: &mut Effects,
    ) -> Reply<JoinResult> {
        let mut member = Member {
            id: id.clone(),
            instance_id: req.instance_id.clone(),
            client_id: req.client_id,
            client_host: req.client_host,
            session_timeout_ms: req.session_timeout_ms,
            rebalance_timeout_ms: req.rebalance_timeout_ms,
            protocol_type: req.protocol_type,
            protocols: req.protocols,
            assignment: Bytes::new(),
            awaiting_join: true,
            awaiting_sync: false,
            session_deadline: 0,
        };
        member.touch(now);
        if let Some(instance) = &member.instance_id {
            self.static_members.insert(instance.clone(), id.clone());
        }
        if self.members.is_empty() {
            self.protocol_type = Some(member.protocol_type.clone());
        }
        self.members.push(member);
        if self.state == GroupState::PreparingRebalance && now < self.initial_delay_until {
            let delay = timeout_ms(limits.initial_rebalance_delay_ms);
            self.initial_delay_until = (now + delay).min(self.initial_delay_limit);
        }
        if self.state == GroupState::PreparingRebalance {
            self.rebalance_deadline = self.rebalance_deadline.max(now + self.rebalance_timeout());
            self.maybe_complete_join(now, fx);
        } else {
            self.prepare_rebalance(now, limits, fx);
        }
        Reply::Wait { member_id: id }
    }

    /// A known member rejoining: new protocols and timeouts, and it now awaits the join.
    fn update_member(&mut self, req: &JoinRequest, now: u64) {
        if let Some(m) = self.member_mut(&req.member_id) {
            m.protocols = req.protocols.clone();
            m.session_timeout_ms = req.session_timeout_ms;
            m.rebalance_timeout_ms = req.rebalance_timeout_ms;
            m.awaiting_join = true;
            m.touch(now);
        }
    }

    /// A static member joined without its member id (a restarted instance): the old member id
    /// is fenced and the new one takes its place, keeping its assignment. A stable group whose
    /// protocol would not change goes on without a rebalance.
    fn replace_static_member(
        &mut self,
        old_id: &str,
        req: JoinRequest,
        now: u64,
        limits: &GroupLimits,
        fx: &mut Effects,
    ) -> Reply<JoinResult> {
        let new_id = req.fresh_member_id.clone();
        let Some(member) = self.member_mut(old_id) else {
            return self.add_member(new_id, req, now, limits, fx);
        };
        let was_awaiting_join = std::mem::replace(&mut member.awaiting_join, false);
        let was_awaiting_sync = std::mem::replace(&mut member.awaiting_sync, false);
        member.id = new_id.clone();
        member.client_id = req.client_id.clone();
        member.client_host = req.client_host.clone();
        member.protocols = req.protocols.clone();
        member.session_timeout_ms = req.session_timeout_ms;
        member.rebalance_timeout_ms = req.rebalance_timeout_ms;
        member.touch(now);
        if was_awaiting_join {
            let fenced = JoinResult::error(ErrorCode::FencedInstanceId, old_id);
            fx.joins.push((old_id.to_string(), fenced));
        }
        if was_awaiting_sync {
            fx.syncs
                .push((old_id.to_string(), Err(ErrorCode::FencedInstanceId)));
        }
        if let Some(instance) = &req.instance_id {
            self.static_members.insert(instance.clone(), new_id.clone());
        }
        if self.leader.as_deref() == Some(old_id) {
            self.leader = Some(new_id.clone());
        }
        let unchanged = self.select_protocol() == self.protocol;
        match self.state {
            GroupState::Stable if unchanged => {
                fx.persist = true;
                // Not the member list: a replaced leader must not reassign on its own.
                let mut result = self.join_result_for(&new_id);
                result.members.clear();
                Reply::Now(result)
            }
            GroupState::PreparingRebalance => {
                self.set_awaiting_join(&new_id);
                self.maybe_complete_join(now, fx);
                Reply::Wait { member_id: new_id }
            }
            _ => {
                self.set_awaiting_join(&new_id);
                self.prepare_rebalance(now, limits, fx);
                Reply::Wait { member_id: new_id }
            }
        }
    }

    fn set_awaiting_join(&mut self, id: &str) {
        if let Some(m) = self.member_mut(id) {
            m.awaiting_join = true;
        }
    }

    /// What a member of the current generation is told (the leader also gets the members).
    fn join_result_for(&self, id: &str) -> JoinResult {
        let protocol = self.protocol.clone().unwrap_or_default();
        let is_leader = self.leader.as_deref() == Some(id);
        JoinResult {
            error: ErrorCode::None,
            generation: self.generation,
            protocol_type: self.protocol_type.clone(),
            protocol: self.protocol.clone(),
            leader: self.leader.clone().unwrap_or_default(),
            member_id: id.to_string(),
            members: if is_leader {
                self.members
                    .iter()
                    .map(|m| (m.id.clone(), m.instance_id.clone(), m.metadata(&protocol)))
                    .collect()
            } else {
                Vec::new()
            },
        }
    }

    /// The protocol every member supports that most members prefer (ties: the earliest
    /// member's preference), as Kafka's vote.
    fn select_protocol(&self) -> Option<String> {
        let first = self.members.first()?;
        let candidates: Vec<&str> = first
            .protocols
            .iter()
            .map(|(name, _)| name.as_str())
            .filter(|name| self.members.iter().all(|m| m.supports(name)))
            .collect();
        let mut votes: Vec<(&str, usize)> = candidates.iter().map(|c| (*c, 0)).collect();
        for m in &self.members {
            let choice = m
                .protocols
                .iter()
                .find(|(name, _)| candidates.contains(&name.as_str()));
            if let Some((name, _)) = choice {
                if let Some(v) = votes.iter_mut().find(|(c, _)| c == name) {
                    v.1 += 1;
                }
            }
        }
        let best = votes.iter().map(|(_, n)| *n).max()?;
        votes
            .into_iter()
            .find(|(_, n)| *n == best)
            .map(|(c, _)| c.to_string())
    }

    fn rebalance_timeout(&self) -> u64 {
        self.members
            .iter()
            .map(|m| timeout_ms(m.rebalance_timeout_ms))
            .max()
            .unwrap_or(0)
    }

    /// Starts a rebalance: pending syncs are told REBALANCE_IN_PROGRESS and every member must
    /// join again.
    fn prepare_rebalance(&mut self, now: u64, limits: &GroupLimits, fx: &mut Effects) {
        if self.state == GroupState::CompletingRebalance {
            for m in &mut self.members {
                m.assignment = Bytes::new();
                if std::mem::replace(&mut m.awaiting_sync, false) {
                    fx.syncs
                        .push((m.id.clone(), Err(ErrorCode::RebalanceInProgress)));
                }
            }
        }
        let new_group = self.state == GroupState::Empty;
        self.state = GroupState::PreparingRebalance;
        let timeout = self.rebalance_timeout();
        self.rebalance_deadline = now + timeout;
        if new_group {
            let delay = timeout_ms(limits.initial_rebalance_delay_ms).min(timeout);
            self.initial_delay_until = now + delay;
            self.initial_delay_limit = now + timeout;
        } else {
            self.initial_delay_until = now;
        }
        self.maybe_complete_join(now, fx);
    }

    /// Ends the join phase if everyone known has rejoined and no initial delay holds it.
    fn maybe_complete_join(&mut self, now: u64, fx: &mut Effects) {
        let everyone = self.members.iter().all(|m| m.awaiting_join) && self.pending.is_empty();
        if self.state == GroupState::PreparingRebalance
            && everyone
            && now >= self.initial_delay_until
        {
            self.complete_join(now, fx);
        }
    }

    /// The new generation: members that did not rejoin are dropped, a protocol and a leader
    /// are chosen and every waiting member is answered.
    fn complete_join(&mut self, now: u64, fx: &mut Effects) {
        let (joined, gone): (Vec<Member>, Vec<Member>) = std::mem::take(&mut self.members)
            .into_iter()
            .partition(|m| m.awaiting_join);
        for m in gone {
            if let Some(instance) = &m.instance_id {
                self.static_members.remove(instance);
            }
        }
        self.members = joined;
        self.pending.clear();
        self.generation += 1;
        if self.members.is_empty() {
            self.state = GroupState::Empty;
            self.emptied_at = now;
            self.protocol = None;
            self.leader = None;
            fx.persist = true;
            return;
        }
        self.protocol = self.select_protocol();
        let leader_present = self
            .leader
            .as_deref()
            .is_some_and(|l| self.member(l).is_some());
        if !leader_present {
            self.leader = self.members.first().map(|m| m.id.clone());
        }
        self.state = GroupState::CompletingRebalance;
        let ids: Vec<String> = self.members.iter().map(|m| m.id.clone()).collect();
        for id in ids {
            let result = self.join_result_for(&id);
            if let Some(m) = self.member_mut(&id) {
                m.awaiting_join = false;
                m.touch(now);
            }
            fx.joins.push((id, result));
        }
    }

    // ---------------------------------------------------------------- SyncGroup

    pub fn sync(&mut self, req: SyncRequest, now: u64, fx: &mut Effects) -> Reply<SyncResult> {
        let id = req.member_id.clone();
        if let Err(error) = self.check_member(&id, req.instance_id.as_deref(), req.generation) {
            return Reply::Now(Err(error));
        }
        let type_ok = req.protocol_type.is_none() || req.protocol_type == self.protocol_type;
        let name_ok = req.protocol_name.is_none() || req.protocol_name == self.protocol;
        if !type_ok || !name_ok {
            return Reply::Now(Err(ErrorCode::InconsistentGroupProtocol));
        }
        match self.state {
            GroupState::Empty | GroupState::Dead => Reply::Now(Err(ErrorCode::UnknownMemberId)),
            GroupState::PreparingRebalance => Reply::Now(Err(ErrorCode::RebalanceInProgress)),
            GroupState::Stable => match self.member_mut(&id) {
                Some(member) => {
                    member.touch(now);
                    Reply::Now(Ok(member.assignment.clone()))
                }
                None => Reply::Now(Err(ErrorCode::UnknownMemberId)),
            },
            GroupState::CompletingRebalance => {
                if let Some(m) = self.member_mut(&id) {
                    m.awaiting_sync = true;
                    m.touch(now);
                }
                if self.leader.as_deref() == Some(id.as_str()) {
                    let assigned: HashMap<String, Bytes> = req.assignments.into_iter().collect();
                    for m in &mut self.members {
                        m.assignment = assigned.get(&m.id).cloned().unwrap_or_default();
                    }
                    self.state = GroupState::Stable;
                    fx.persist = true;
                    for m in &mut self.members {
                        if std::mem::replace(&mut m.awaiting_sync, false) {
                            fx.syncs.push((m.id.clone(), Ok(m.assignment.clone())));
                        }
                    }
                }
                Reply::Wait { member_id: id }
            }
        }
    }

    /// The checks shared by SyncGroup and Heartbeat: the group is alive, the member is not a
    /// fenced static member, is known, and speaks of the current generation.
    fn check_member(
        &self,
        id: &str,
        instance: Option<&str>,
        generation: i32,
    ) -> Result<(), ErrorCode> {
        if self.state == GroupState::Dead {
            return Err(ErrorCode::CoordinatorNotAvailable);
        }
        if self.is_fenced(id, instance) {
            return Err(ErrorCode::FencedInstanceId);
        }
        if self.member(id).is_none() {
            return Err(ErrorCode::UnknownMemberId);
        }
        if generation != self.generation {
            return Err(ErrorCode::IllegalGeneration);
        }
        Ok(())
    }

    /// A static member's instance id now belongs to another member id.
    fn is_fenced(&self, id: &str, instance: Option<&str>) -> bool {
        instance
            .and_then(|i| self.static_members.get(i))
            .is_some_and(|owner| owner != id)
    }

    // ---------------------------------------------------------------- Heartbeat

    pub fn heartbeat(
        &mut self,
        id: &str,
        instance: Option<&str>,
        generation: i32,
        now: u64,
    ) -> ErrorCode {
        if let Err(error) = self.check_member(id, instance, generation) {
            return error;
        }
        let state = self.state;
        if let Some(m) = self.member_mut(id) {
            m.touch(now);
        }
        match state {
            GroupState::Empty | GroupState::Dead => ErrorCode::UnknownMemberId,
            GroupState::PreparingRebalance => ErrorCode::RebalanceInProgress,
            GroupState::CompletingRebalance | GroupState::Stable => ErrorCode::None,
        }
    }

    // ---------------------------------------------------------------- LeaveGroup

    /// Removes each (member id, instance id); one error code per entry.
    pub fn leave(
        &mut self,
        leaving: &[(String, Option<String>)],
        now: u64,
        limits: &GroupLimits,
        fx: &mut Effects,
    ) -> Vec<ErrorCode> {
        leaving
            .iter()
            .map(|(id, instance)| self.leave_one(id, instance.as_deref(), now, limits, fx))
            .collect()
    }

    fn leave_one(
        &mut self,
        id: &str,
        instance: Option<&str>,
        now: u64,
        limits: &GroupLimits,
        fx: &mut Effects,
    ) -> ErrorCode {
        if self.state == GroupState::Dead {
            return ErrorCode::CoordinatorNotAvailable;
        }
        let target = match instance {
            Some(instance) => match self.static_members.get(instance) {
                None => return ErrorCode::UnknownMemberId,
                Some(owner) if !id.is_empty() && owner != id => return ErrorCode::FencedInstanceId,
                Some(owner) => owner.clone(),
            },
            None => id.to_string(),
        };
        if self.pending.remove(&target).is_some() {
            self.maybe_complete_join(now, fx);
            return ErrorCode::None;
        }
        if self.member(&target).is_none() {
            return ErrorCode::UnknownMemberId;
        }
        self.remove_member(&target, now, limits, fx);
        ErrorCode::None
    }

    /// A member leaves or expires: its pending requests are answered UNKNOWN_MEMBER_ID and the
    /// others rebalance.
    fn remove_member(&mut self, id: &str, now: u64, limits: &GroupLimits, fx: &mut Effects) {
        let Some(pos) = self.members.iter().position(|m| m.id == id) else {
            return;
        };
        let member = self.members.remove(pos);
        if member.awaiting_join {
            let result = JoinResult::error(ErrorCode::UnknownMemberId, id);
            fx.joins.push((id.to_string(), result));
        }
        if member.awaiting_sync {
            fx.syncs
                .push((id.to_string(), Err(ErrorCode::UnknownMemberId)));
        }
        if let Some(instance) = &member.instance_id {
            self.static_members.remove(instance);
        }
        if self.leader.as_deref() == Some(id) {
            self.leader = self.members.first().map(|m| m.id.clone());
        }
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.prepare_rebalance(now, limits, fx)
            }
            GroupState::PreparingRebalance => self.maybe_complete_join(now, fx),
            GroupState::Empty | GroupState::Dead => {}
        }
    }

    // ---------------------------------------------------------------- timers

    /// Expires sessions and pending member ids, and ends join phases whose time is up.
    pub fn tick(&mut self, now: u64, limits: &GroupLimits, fx: &mut Effects) {
        self.pending.retain(|_, expiry| *expiry > now);
        let expired: Vec<String> = self
            .members
            .iter()
            .filter(|m| !m.awaiting_join && m.session_deadline <= now)
            .map(|m| m.id.clone())
            .collect();
        for id in expired {
            tracing::info!(group = %self.id, member = %id, "member session expired");
            self.remove_member(&id, now, limits, fx);
        }
        if self.state == GroupState::PreparingRebalance && now >= self.rebalance_deadline {
            self.complete_join(now, fx);
        } else {
            self.maybe_complete_join(now, fx);
        }
    }

    // ---------------------------------------------------------------- offsets

    /// Whether a member may commit offsets (Kafka's rules): simple commits (generation < 0)
    /// into a group without members; otherwise a known member of the current generation, and
    /// not while the generation's assignment is being synced.
    pub fn check_commit(
        &mut self,
        id: &str,
        instance: Option<&str>,
        generation: i32,
        now: u64,
    ) -> Result<(), ErrorCode> {
        if self.state == GroupState::Dead {
            return Err(ErrorCode::CoordinatorNotAvailable);
        }
        if self.is_fenced(id, instance) {
            return Err(ErrorCode::FencedInstanceId);
        }
        if generation < 0 && self.state == GroupState::Empty {
            return Ok(());
        }
        if self.state == GroupState::CompletingRebalance {
            return Err(ErrorCode::RebalanceInProgress);
        }
        let current = self.generation;
        let Some(member) = self.member_mut(id) else {
            return Err(ErrorCode::UnknownMemberId);
        };
        if generation != current {
            return Err(ErrorCode::IllegalGeneration);
        }
        member.touch(now);
        Ok(())
    }

    /// Whether a member's subscription names `topic` (OffsetDelete refuses those). Consumer
    /// subscriptions are parsed from the selected protocol's metadata.
    pub fn is_subscribed_to(&self, topic: &str) -> bool {
        if self.protocol_type.as_deref() != Some("consumer") || self.members.is_empty() {
            return false;
        }
        let protocol = self.protocol.clone().unwrap_or_default();
        self.members.iter().any(|m| {
            super::subscription::topics(&m.metadata(&protocol))
                .is_some_and(|topics| topics.iter().any(|t| t == topic))
        })
    }

    // ---------------------------------------------------------------- persistence

    /// The metadata record of the group as it is now.
    pub fn to_stored(&self, now_ms: i64) -> GroupValue {
        let protocol = self.protocol.clone().unwrap_or_default();
        GroupValue {
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            generation: self.generation,
            protocol: self.protocol.clone(),
            leader: self.leader.clone(),
            current_state_timestamp: now_ms,
            members: self
                .members
                .iter()
                .map(|m| StoredMember {
                    member_id: m.id.clone(),
                    group_instance_id: m.instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    rebalance_timeout_ms: m.rebalance_timeout_ms,
                    session_timeout_ms: m.session_timeout_ms,
                    subscription: m.metadata(&protocol),
                    assignment: m.assignment.clone(),
                })
                .collect(),
        }
    }

    /// Restores a group from its metadata record (after a restart): Stable with its members
    /// if it had any, each given a fresh session to heartbeat in, as Kafka does on load.
    pub fn restore(&mut self, stored: GroupValue, now: u64) {
        let protocol = stored.protocol.clone().unwrap_or_default();
        self.generation = stored.generation;
        self.protocol_type = Some(stored.protocol_type).filter(|t| !t.is_empty());
        self.protocol = stored.protocol;
        self.leader = stored.leader;
        self.static_members.clear();
        self.members = stored
            .members
            .into_iter()
            .map(|s| {
                let mut m = Member {
                    id: s.member_id,
                    instance_id: s.group_instance_id,
                    client_id: s.client_id,
                    client_host: s.client_host,
                    session_timeout_ms: s.session_timeout_ms,
                    rebalance_timeout_ms: s.rebalance_timeout_ms,
                    protocol_type: self.protocol_type.clone().unwrap_or_default(),
                    protocols: vec![(protocol.clone(), s.subscription)],
                    assignment: s.assignment,
                    awaiting_join: false,
                    awaiting_sync: false,
                    session_deadline: 0,
                };
                m.touch(now);
                m
            })
            .collect();
        for m in &self.members {
            if let Some(i) = &m.instance_id {
                self.static_members.insert(i.clone(), m.id.clone());
            }
        }
        self.state = if self.members.is_empty() {
            GroupState::Empty
        } else {
            GroupState::Stable
        };
    }
}
