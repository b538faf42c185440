//! Dynamic reconfiguration (`reconfig`, ZooKeeper 3.5+): servers added, removed or the whole
//! ensemble replaced while it runs, with `reconfigEnabled=true` and by a client allowed to
//! write `/zookeeper/config` (the super user: the node is read-only to everyone else).
//!
//! The leader carries it out on the same raft group that holds the data: new servers are
//! added as learners and caught up first, then the voters are changed by openraft's joint
//! consensus, then a `SetConfig` transaction writes the new ensemble to `/zookeeper/config`
//! (its `server.N` lines and `version=<zxid>`), where every server and client reads it. Until
//! the first reconfiguration the ensemble is zoo.cfg's (published there by the first leader).
//! A follower passes the request to the leader and answers once it has applied the change.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ferry_jute::{perms, Bytes, ErrorCode, Id, ReconfigRequest};
use openraft::error::{ChangeMembershipError, ClientWriteError, RaftError};
use openraft::{BasicNode, ChangeMembers};

use super::wire::{PeerRequest, PeerResponse, ReconfigCall};
use super::Ensemble;
use crate::config::{parse_server, ServerSpec};
use crate::server::Keeper;
use crate::tree::CONFIG_PATH;
use crate::txn::TxnKind;

/// The servers of an ensemble by id.
pub type Members = BTreeMap<u64, ServerSpec>;

/// `/zookeeper/config`'s `server.N` lines for `members` (the `version` line follows).
pub fn config_lines(members: &Members) -> String {
    let mut text = String::new();
    for (id, spec) in members {
        let role = if spec.observer {
            "observer"
        } else {
            "participant"
        };
        text.push_str(&format!(
            "server.{id}={}:{}:{}:{role}",
            spec.host, spec.quorum_port, spec.election_port
        ));
        if let Some(client) = &spec.client {
            text.push_str(&format!(";{client}"));
        }
        text.push('\n');
    }
    text
}

/// The members and version `/zookeeper/config` holds; `None` before any reconfiguration.
pub fn parse_config(text: &str) -> Option<(Members, i64)> {
    let mut members = Members::new();
    let mut version = None;
    for line in text.lines() {
        if let Some(hex) = line.strip_prefix("version=") {
            version = i64::from_str_radix(hex.trim(), 16).ok();
        } else if let Some((key, value)) = line.split_once('=') {
            let id = key.strip_prefix("server.")?.parse().ok()?;
            members.insert(id, parse_server(key, value).ok()?);
        }
    }
    Some((members, version?)).filter(|(members, _)| !members.is_empty())
}

/// `server.N=spec` items, separated by commas or newlines.
fn parse_specs(list: &str) -> Result<Members, ErrorCode> {
    let mut members = Members::new();
    for item in list
        .split([',', '\n'])
        .map(str::trim)
        .filter(|i| !i.is_empty())
    {
        let (key, value) = item.split_once('=').ok_or(ErrorCode::BadArguments)?;
        let id = key
            .trim()
            .strip_prefix("server.")
            .and_then(|id| id.parse().ok())
            .ok_or(ErrorCode::BadArguments)?;
        let spec = parse_server(key, value.trim()).map_err(|_bad| ErrorCode::BadArguments)?;
        if spec.client.is_none() {
            // A dynamic configuration names every server's client address, as ZooKeeper's must.
            return Err(ErrorCode::BadArguments);
        }
        members.insert(id, spec);
    }
    Ok(members)
}

impl ReconfigCall {
    pub fn of(request: ReconfigRequest) -> Self {
        Self {
            joining: request.joining_servers,
            leaving: request.leaving_servers,
            new_members: request.new_members,
            from_config: request.cur_config_id,
        }
    }

    /// The ensemble after this change to `current`.
    pub fn apply(&self, current: &Members) -> Result<Members, ErrorCode> {
        let incremental = !self.joining.trim().is_empty() || !self.leaving.trim().is_empty();
        let whole = !self.new_members.trim().is_empty();
        if incremental == whole {
            // Both forms at once, or neither: ZooKeeper refuses these too.
            return Err(ErrorCode::BadArguments);
        }
        let next = if incremental {
            let mut next = current.clone();
            for id in self
                .leaving
                .split(',')
                .map(str::trim)
                .filter(|i| !i.is_empty())
            {
                let id: u64 = id.parse().map_err(|_bad| ErrorCode::BadArguments)?;
                next.remove(&id);
            }
            next.extend(parse_specs(&self.joining)?);
            next
        } else {
            parse_specs(&self.new_members)?
        };
        if next.values().all(|spec| spec.observer) {
            return Err(ErrorCode::BadArguments);
        }
        Ok(next)
    }
}

impl Keeper {
    /// Writes zoo.cfg's ensemble to an empty `/zookeeper/config`, as a ZooKeeper ensemble
    /// shows its static configuration there (called by a new leader).
    pub(crate) async fn publish_static_config(&self) {
        let empty = {
            let state = self.shared.read();
            let node = state.db.tree.get(CONFIG_PATH);
            node.is_none_or(|node| node.data.as_ref().is_none_or(|data| data.is_empty()))
        };
        let Some(ensemble) = self.ensemble.as_ref().filter(|_| empty) else {
            return;
        };
        // Versioned as ZooKeeper versions it: the zxid at which this leader's epoch began.
        let epoch = self.raft.metrics().borrow().current_term as i64;
        let kind = TxnKind::SetConfig {
            servers: config_lines(&ensemble.servers),
            version: Some(epoch << 32),
        };
        if let Err(error) = self.submit(0, 0, Vec::new(), kind).await {
            tracing::warn!(%error, "cannot publish the ensemble in /zookeeper/config");
        }
    }

    /// The ensemble as of now, and its config version: `/zookeeper/config` once reconfigured,
    /// zoo.cfg's before (version 0).
    pub fn current_members(&self) -> Members {
        self.current_config().0
    }

    fn current_config(&self) -> (Members, i64) {
        let data = self
            .shared
            .read()
            .db
            .tree
            .get(CONFIG_PATH)
            .and_then(|node| node.data.clone())
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&data);
        parse_config(&text).unwrap_or_else(|| {
            let servers = self.ensemble.as_ref().map(|e| e.servers.clone());
            (servers.unwrap_or_default(), 0)
        })
    }

    /// A client's `reconfig`, on any server: the new `/zookeeper/config` (a GetDataResponse
    /// body) once this server has applied it, or ZooKeeper's error for it.
    pub async fn reconfig(
        &self,
        request: ReconfigRequest,
        auth: &[Id],
    ) -> Result<Bytes, ErrorCode> {
        if !self.config.reconfig_enabled {
            return Err(ErrorCode::ReconfigDisabled);
        }
        if self.ensemble.is_none() {
            return Err(ErrorCode::Unimplemented);
        }
        let allowed = {
            let state = self.shared.read();
            let tree = &state.db.tree;
            let node = tree.get(CONFIG_PATH).ok_or(ErrorCode::NoNode)?;
            crate::acl::allows(&tree.acl(node), perms::WRITE, auth)
        };
        if !allowed {
            return Err(ErrorCode::NoAuth);
        }
        let call = ReconfigCall::of(request);
        let body = if self.is_leader() {
            self.reconfigure(&call).await?
        } else {
            self.reconfigure_on_leader(&call).await?
        };
        // Read your write: answer once this server has applied the change too.
        if !self.catch_up().await {
            return Err(ErrorCode::ConnectionLoss);
        }
        Ok(body.into())
    }

    async fn reconfigure_on_leader(&self, call: &ReconfigCall) -> Result<Vec<u8>, ErrorCode> {
        let addr = self.leader_addr().ok_or(ErrorCode::ConnectionLoss)?;
        let request = PeerRequest::Reconfig(call.clone());
        match self
            .peers
            .call(&addr, &request, self.reconfig_timeout() * 3)
            .await
        {
            Ok(PeerResponse::Reconfigured(Ok(answer))) => {
                answer.map_err(|code| ErrorCode::try_from(code).unwrap_or(ErrorCode::SystemError))
            }
            Ok(other) => {
                tracing::warn!(?other, "the leader did not carry out the reconfig");
                Err(ErrorCode::ConnectionLoss)
            }
            Err(error) => {
                tracing::warn!(%error, "cannot pass the reconfig to the leader");
                Err(ErrorCode::ConnectionLoss)
            }
        }
    }

    /// How long a new server has to catch up, and a membership change to commit (syncLimit,
    /// well within a client's read timeout).
    fn reconfig_timeout(&self) -> Duration {
        Ensemble::sync_timeout(&self.config)
    }

    /// Carries a reconfiguration out, on the leader.
    pub(crate) async fn reconfigure(&self, call: &ReconfigCall) -> Result<Vec<u8>, ErrorCode> {
        let (current, version) = self.current_config();
        if call.from_config != -1 && call.from_config != version {
            return Err(ErrorCode::BadVersion);
        }
        let next = call.apply(&current)?;
        let timeout = self.reconfig_timeout();
        let known = self.member_ids();
        // New servers catch up as learners before any of them can count in a quorum; one
        // that is not up (or does not catch up within syncLimit) fails the reconfig, as
        // ZooKeeper's leader refuses a new config whose servers are not synced with it.
        for (id, spec) in next.iter().filter(|(id, _)| !known.contains(id)) {
            let addr = Ensemble::peer_addr(spec);
            let tick = Duration::from_millis(u64::from(self.config.tick_time_ms));
            let reachable = tokio::time::timeout(tick, tokio::net::TcpStream::connect(&addr));
            if !matches!(reachable.await, Ok(Ok(_))) {
                tracing::warn!(server = id, %addr, "reconfig: the new server is not up");
                return Err(ErrorCode::NewConfigNoQuorum);
            }
            let node = BasicNode::new(addr);
            let added = tokio::time::timeout(timeout, self.raft.add_learner(*id, node, true));
            if !matches!(added.await, Ok(Ok(_))) {
                tracing::warn!(server = id, "reconfig: the new server did not catch up");
                let dropped = ChangeMembers::RemoveNodes(BTreeSet::from([*id]));
                let _ = self.change_members(dropped, timeout).await;
                return Err(ErrorCode::NewConfigNoQuorum);
            }
        }
        let voters: BTreeSet<u64> = next
            .iter()
            .filter(|(_, spec)| !spec.observer)
            .map(|(id, _)| *id)
            .collect();
        self.change_members(ChangeMembers::ReplaceAllVoters(voters), timeout)
            .await?;
        let gone: BTreeSet<u64> = known
            .iter()
            .filter(|id| !next.contains_key(id))
            .copied()
            .collect();
        let stale: BTreeSet<u64> = gone.intersection(&self.member_ids()).copied().collect();
        if !stale.is_empty() {
            self.change_members(ChangeMembers::RemoveNodes(stale), timeout)
                .await?;
        }
        // Participants that became observers left the voters; they stay as learners.
        for (id, spec) in next.iter().filter(|(_, spec)| spec.observer) {
            let node = BasicNode::new(Ensemble::peer_addr(spec));
            let _ = self.raft.add_learner(*id, node, false).await;
        }
        let servers = config_lines(&next);
        let kind = TxnKind::SetConfig {
            servers,
            version: None,
        };
        let applied = self
            .submit(0, 0, Vec::new(), kind)
            .await
            .map_err(|_lost| ErrorCode::ConnectionLoss)?;
        tracing::info!(members = ?next.keys().collect::<Vec<_>>(), "reconfigured the ensemble");
        if applied.err != 0 {
            return Err(ErrorCode::try_from(applied.err).unwrap_or(ErrorCode::SystemError));
        }
        Ok(applied.body.to_vec())
    }

    /// Every server in the raft membership, voter or learner.
    fn member_ids(&self) -> BTreeSet<u64> {
        let membership = self.raft.metrics().borrow().membership_config.clone();
        membership.nodes().map(|(id, _)| *id).collect()
    }

    async fn change_members(
        &self,
        change: ChangeMembers<u64, BasicNode>,
        timeout: Duration,
    ) -> Result<(), ErrorCode> {
        let changed = tokio::time::timeout(timeout, self.raft.change_membership(change, false));
        match changed.await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => {
                tracing::warn!(%error, "reconfig: the membership change failed");
                let in_progress = matches!(
                    error,
                    RaftError::APIError(ClientWriteError::ChangeMembershipError(
                        ChangeMembershipError::InProgress(_)
                    ))
                );
                Err(if in_progress {
                    ErrorCode::ReconfigInProgress
                } else {
                    ErrorCode::NewConfigNoQuorum
                })
            }
            Err(_elapsed) => Err(ErrorCode::NewConfigNoQuorum),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(text: &str) -> Members {
        parse_specs(text).unwrap()
    }

    fn call(joining: &str, leaving: &str, new_members: &str) -> ReconfigCall {
        ReconfigCall {
            joining: joining.into(),
            leaving: leaving.into(),
            new_members: new_members.into(),
            from_config: -1,
        }
    }

    #[test]
    fn incremental_and_whole_changes() {
        let three = members(
            "server.1=h:1:2;2181,server.2=h:3:4:participant;2182,server.3=h:5:6:observer;2183",
        );
        let next = call("server.4=h:7:8;127.0.0.1:2184", "1", "")
            .apply(&three)
            .unwrap();
        assert_eq!(next.keys().copied().collect::<Vec<_>>(), [2, 3, 4]);
        assert_eq!(next[&4].client.as_deref(), Some("127.0.0.1:2184"));
        let whole = call("", "", "server.5=h:9:10;2185").apply(&three).unwrap();
        assert_eq!(whole.keys().copied().collect::<Vec<_>>(), [5]);
        for bad in [
            call("", "", ""),
            call("server.4=h:7:8;2184", "", "server.5=h:9:10;2185"),
            call("", "1,2", ""), // only an observer left
            call("server.x=h:1:2;2184", "", ""),
            call("server.4=h:7:8", "", ""), // no client address
            call("", "one", ""),
        ] {
            assert_eq!(bad.apply(&three), Err(ErrorCode::BadArguments));
        }
    }

    #[test]
    fn config_text_round_trips() {
        let three = members("server.1=h:1:2;2181,server.3=h:5:6:observer;2183");
        let text = format!("{}version=100000003", config_lines(&three));
        assert_eq!(
            text,
            "server.1=h:1:2:participant;2181\nserver.3=h:5:6:observer;2183\nversion=100000003"
        );
        assert_eq!(parse_config(&text), Some((three, 0x1_0000_0003)));
        assert_eq!(parse_config(""), None);
    }
}
