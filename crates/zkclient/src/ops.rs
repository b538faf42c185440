//! The operations of ZooKeeper 3.8's client API, one method each. Paths are client paths: each
//! is validated, the chroot is put in front on the way out and taken off on the way back.

use bytes::Bytes;
use ferry_jute::{
    Acl, AddWatchMode, AddWatchRequest, AuthPacket, ClientInfo, Create2Response, DeleteRequest,
    ErrorCode, ExistsResponse, GetAclResponse, GetAllChildrenNumberResponse, GetChildren2Response,
    GetChildrenResponse, GetDataResponse, MultiOp, MultiRequest, MultiResponse, MultiResult,
    OpCode, PathAndWatch, PathAndWatcherType, PathList, PathRequest, Record, SetAclRequest,
    SetDataRequest, Stat, StatResponse, WatcherType, WhoAmIResponse,
};
use tokio::sync::oneshot;

use crate::call::{Command, Removal, Reply};
use crate::client::{check, decode, Client};
use crate::error::{Error, Result};
use crate::multi::{create_request, Op, OpResult, ReadOp};
use crate::path::validate;
use crate::state::State;
use crate::types::{CreateOptions, IntoData};
use crate::watch::{Registration, Watch, WatchKind};

/// Where the ensemble's dynamic configuration lives; outside any chroot.
pub const CONFIG_NODE: &str = "/zookeeper/config";

fn registration(
    path: &str,
    watch: Watch,
    on_ok: WatchKind,
    on_no_node: Option<WatchKind>,
) -> Option<Registration> {
    watch.watcher().map(|watcher| Registration {
        path: path.to_string(),
        watcher,
        on_ok,
        on_no_node,
    })
}

impl Client {
    /// Validates a client path and returns the server's path for it.
    fn server_path(&self, path: &str) -> Result<String> {
        validate(path, false)?;
        Ok(self.shared().chroot.apply(path))
    }

    /// A read that may leave a watch: `PathAndWatch` out, the reply body back.
    async fn watched_read(
        &self,
        op: OpCode,
        path: &str,
        server_path: String,
        registration: Option<Registration>,
    ) -> Result<Reply> {
        let request = PathAndWatch {
            path: server_path,
            watch: registration.is_some(),
        };
        self.submit(
            op,
            ferry_jute::Record::to_bytes(&request),
            path,
            registration,
            None,
        )
        .await
    }

    /// A read that may leave a watch of `kind` on `path`, its answer decoded as `T`.
    async fn read<T: ferry_jute::Record>(
        &self,
        op: OpCode,
        path: &str,
        server_path: String,
        watch: Watch,
        kind: WatchKind,
    ) -> Result<T> {
        let registration = registration(path, watch, kind, None);
        let reply = self
            .watched_read(op, path, server_path, registration)
            .await?;
        check(reply.err, path)?;
        decode(&reply.body, "read response")
    }

    /// Creates a node and returns its path (with the sequence number, for sequential modes)
    /// and its stat (`create2`).
    pub async fn create(
        &self,
        path: &str,
        data: impl IntoData,
        options: &CreateOptions,
    ) -> Result<(String, Stat)> {
        validate(path, options.mode.is_sequential())?;
        options.validate()?;
        let chroot = &self.shared().chroot;
        let (op, body) =
            create_request(chroot.apply(path), data.into_data(), options).op_and_body();
        let reply = self.submit(op, body, path, None, None).await?;
        check(reply.err, path)?;
        let response: Create2Response = decode(&reply.body, "create response")?;
        Ok((chroot.strip(&response.path), response.stat))
    }

    /// Deletes a node; `version: None` matches any version.
    pub async fn delete(&self, path: &str, version: Option<i32>) -> Result<()> {
        validate(path, false)?;
        // As Java: `/` is sent as is even under a chroot.
        let server_path = match path {
            "/" => path.to_string(),
            _ => self.shared().chroot.apply(path),
        };
        let request = DeleteRequest {
            path: server_path,
            version: version.unwrap_or(-1),
        };
        self.request(OpCode::Delete, &request, path, None).await?;
        Ok(())
    }

    /// The node's stat, or `None` when it does not exist. A watch is left either way: on the
    /// node's data if it exists, on its creation if not.
    pub async fn exists(&self, path: &str, watch: impl Into<Watch>) -> Result<Option<Stat>> {
        let server_path = self.server_path(path)?;
        let registration =
            registration(path, watch.into(), WatchKind::Data, Some(WatchKind::Exist));
        let reply = self
            .watched_read(OpCode::Exists, path, server_path, registration)
            .await?;
        if reply.err == ErrorCode::NoNode.code() {
            return Ok(None);
        }
        check(reply.err, path)?;
        let response: ExistsResponse = decode(&reply.body, "exists response")?;
        Ok(Some(response.stat))
    }

    /// The node's data (`None` when it was set to null) and stat.
    pub async fn get_data(
        &self,
        path: &str,
        watch: impl Into<Watch>,
    ) -> Result<(Option<Bytes>, Stat)> {
        let server_path = self.server_path(path)?;
        let response: GetDataResponse = self
            .read(
                OpCode::GetData,
                path,
                server_path,
                watch.into(),
                WatchKind::Data,
            )
            .await?;
        Ok((response.data, response.stat))
    }

    /// Reads `/zookeeper/config`, the ensemble's configuration (`getConfig`).
    pub async fn get_config(&self, watch: impl Into<Watch>) -> Result<(Option<Bytes>, Stat)> {
        let server_path = CONFIG_NODE.to_string();
        let response: GetDataResponse = self
            .read(
                OpCode::GetData,
                CONFIG_NODE,
                server_path,
                watch.into(),
                WatchKind::Data,
            )
            .await?;
        Ok((response.data, response.stat))
    }

    /// `reconfig`: changes the ensemble, incrementally (`joining` server specs, `leaving`
    /// server ids, comma-separated) or as a whole (`new_members`), based on the config at
    /// version `from_config` (-1: whichever is current). Needs a server with
    /// `reconfigEnabled=true` and a user allowed to write `/zookeeper/config`. Returns the new
    /// configuration and its stat.
    pub async fn reconfig(
        &self,
        joining: Option<&str>,
        leaving: Option<&str>,
        new_members: Option<&str>,
        from_config: i64,
    ) -> Result<(Option<Bytes>, Stat)> {
        // Absent parts go as jute's null string, as the Java client sends them.
        let mut body = Vec::new();
        for part in [joining, leaving, new_members] {
            part.map(|text| Bytes::copy_from_slice(text.as_bytes()))
                .encode(&mut body);
        }
        from_config.encode(&mut body);
        let reply = self
            .submit(OpCode::Reconfig, body, CONFIG_NODE, None, None)
            .await?;
        // Java's reconfig errors name the empty path; so do these.
        if let Err(Error::Keeper { code, .. }) = check(reply.err, CONFIG_NODE) {
            return Err(Error::Keeper {
                code,
                path: Some(String::new()),
            });
        }
        let response: GetDataResponse = decode(&reply.body, "ReconfigResponse")?;
        Ok((response.data, response.stat))
    }

    /// Sets the node's data if its version is `version` (`None`: any) and returns the new stat.
    pub async fn set_data(
        &self,
        path: &str,
        data: impl IntoData,
        version: Option<i32>,
    ) -> Result<Stat> {
        let request = SetDataRequest {
            path: self.server_path(path)?,
            data: data.into_data(),
            version: version.unwrap_or(-1),
        };
        let body = self.request(OpCode::SetData, &request, path, None).await?;
        Ok(decode::<StatResponse>(&body, "setData response")?.stat)
    }

    /// The node's children, unsorted, as the server keeps them.
    pub async fn get_children(&self, path: &str, watch: impl Into<Watch>) -> Result<Vec<String>> {
        let server_path = self.server_path(path)?;
        let response: GetChildrenResponse = self
            .read(
                OpCode::GetChildren,
                path,
                server_path,
                watch.into(),
                WatchKind::Child,
            )
            .await?;
        Ok(response.paths)
    }

    /// The node's children and its stat (`getChildren2`).
    pub async fn get_children2(
        &self,
        path: &str,
        watch: impl Into<Watch>,
    ) -> Result<(Vec<String>, Stat)> {
        let server_path = self.server_path(path)?;
        let response: GetChildren2Response = self
            .read(
                OpCode::GetChildren2,
                path,
                server_path,
                watch.into(),
                WatchKind::Child,
            )
            .await?;
        Ok((response.children, response.stat))
    }

    /// How many nodes lie below `path`, at any depth.
    pub async fn get_all_children_number(&self, path: &str) -> Result<i32> {
        let request = PathRequest {
            path: self.server_path(path)?,
        };
        let body = self
            .request(OpCode::GetAllChildrenNumber, &request, path, None)
            .await?;
        let response: GetAllChildrenNumberResponse =
            decode(&body, "getAllChildrenNumber response")?;
        Ok(response.total_number)
    }

    /// The session's ephemeral nodes whose paths start with `prefix` (`/` for all).
    pub async fn get_ephemerals(&self, prefix: &str) -> Result<Vec<String>> {
        let request = PathRequest {
            path: self.server_path(prefix)?,
        };
        let body = self
            .request(OpCode::GetEphemerals, &request, prefix, None)
            .await?;
        let response: PathList = decode(&body, "getEphemerals response")?;
        let chroot = &self.shared().chroot;
        Ok(response.paths.iter().map(|p| chroot.strip(p)).collect())
    }

    pub async fn get_acl(&self, path: &str) -> Result<(Vec<Acl>, Stat)> {
        let request = PathRequest {
            path: self.server_path(path)?,
        };
        let body = self.request(OpCode::GetAcl, &request, path, None).await?;
        let response: GetAclResponse = decode(&body, "getACL response")?;
        Ok((response.acl, response.stat))
    }

    /// Sets the node's ACL if its ACL version is `version` (`None`: any).
    pub async fn set_acl(&self, path: &str, acl: &[Acl], version: Option<i32>) -> Result<Stat> {
        if acl.is_empty() {
            return Err(Error::keeper(ErrorCode::InvalidAcl, None));
        }
        let request = SetAclRequest {
            path: self.server_path(path)?,
            acl: acl.to_vec(),
            version: version.unwrap_or(-1),
        };
        let body = self.request(OpCode::SetAcl, &request, path, None).await?;
        Ok(decode::<StatResponse>(&body, "setACL response")?.stat)
    }

    /// Adds credentials to the session (e.g. `digest`, `user:password`). They are re-sent on
    /// every reconnect. A scheme the server does not know ends the session (`AuthFailed`).
    pub async fn add_auth(&self, scheme: &str, auth: &[u8]) -> Result<()> {
        let packet = AuthPacket {
            auth_type: 0,
            scheme: scheme.to_string(),
            auth: Bytes::copy_from_slice(auth),
        };
        let (reply, rx) = oneshot::channel();
        if self.send(Command::Auth { packet, reply }).await.is_err() {
            return Err(self.gone_error(None));
        }
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(code)) => Err(Error::keeper(code, None)),
            Err(_task_gone) => Err(self.gone_error(None)),
        }
    }

    /// Makes the connected server catch up with the leader; returns the path.
    pub async fn sync(&self, path: &str) -> Result<String> {
        let request = PathRequest {
            path: self.server_path(path)?,
        };
        let body = self.request(OpCode::Sync, &request, path, None).await?;
        let response: PathRequest = decode(&body, "sync response")?;
        Ok(self.shared().chroot.strip(&response.path))
    }

    /// Applies every op or none. When one fails the error is [`Error::Multi`], naming it.
    pub async fn multi(&self, ops: &[Op]) -> Result<Vec<OpResult>> {
        let chroot = &self.shared().chroot;
        let wire = ops.iter().map(|op| op.to_wire(chroot)).collect();
        let (err, results) = self.send_multi(OpCode::Multi, wire).await?;
        let failed = results
            .iter()
            .enumerate()
            .find_map(|(index, result)| match result {
                MultiResult::Error(code) if *code != ErrorCode::Ok => Some((index, *code)),
                _ => None,
            });
        if let Some((index, code)) = failed {
            let path = ops.get(index).map(Op::path).unwrap_or_default().to_string();
            return Err(Error::Multi { code, index, path });
        }
        check(err, "")?;
        Ok(self.op_results(results))
    }

    /// Runs reads as one request; each read succeeds or fails ([`OpResult::Error`]) alone.
    pub async fn multi_read(&self, ops: &[ReadOp]) -> Result<Vec<OpResult>> {
        let chroot = &self.shared().chroot;
        let wire = ops.iter().map(|op| op.to_wire(chroot)).collect();
        let (err, results) = self.send_multi(OpCode::MultiRead, wire).await?;
        check(err, "")?;
        Ok(self.op_results(results))
    }

    /// Sends a multi and returns the reply's error code with the per-op results (a failed
    /// multi carries both).
    async fn send_multi(
        &self,
        op: OpCode,
        wire: Result<Vec<MultiOp>>,
    ) -> Result<(i32, Vec<MultiResult>)> {
        let request = MultiRequest { ops: wire? };
        let body = ferry_jute::Record::to_bytes(&request);
        let reply = self.submit(op, body, "", None, None).await?;
        if reply.body.is_empty() {
            return Ok((reply.err, Vec::new()));
        }
        let response: MultiResponse = decode(&reply.body, "multi response")?;
        Ok((reply.err, response.results))
    }

    fn op_results(&self, results: Vec<MultiResult>) -> Vec<OpResult> {
        let chroot = &self.shared().chroot;
        results
            .into_iter()
            .map(|r| OpResult::from_wire(r, chroot))
            .collect()
    }

    /// Fails with `BadVersion` unless the node's data version is `version` (a one-op multi).
    pub async fn check(&self, path: &str, version: i32) -> Result<()> {
        match self.multi(&[Op::check(path, version)]).await {
            Ok(_) => Ok(()),
            Err(Error::Multi { code, path, .. }) => Err(Error::keeper(code, Some(path))),
            Err(error) => Err(error),
        }
    }

    /// Leaves a persistent (or persistent-recursive) watch on `path`; it fires on every change
    /// until removed. `Watch::No` means the default watcher.
    pub async fn add_watch(
        &self,
        path: &str,
        mode: AddWatchMode,
        watch: impl Into<Watch>,
    ) -> Result<()> {
        let watch = match watch.into() {
            Watch::No => Watch::Default,
            watch => watch,
        };
        let kind = match mode {
            AddWatchMode::Persistent => WatchKind::Persistent,
            AddWatchMode::PersistentRecursive => WatchKind::PersistentRecursive,
        };
        let request = AddWatchRequest {
            path: self.server_path(path)?,
            mode: mode.code(),
        };
        let registration = registration(path, watch, kind, None);
        self.request(OpCode::AddWatch, &request, path, registration)
            .await?;
        Ok(())
    }

    /// Removes every watch of `watcher_type` this session holds on `path` (Java's
    /// `removeAllWatches`); each removed watcher gets a `*WatchRemoved` event. `NoWatcher` when
    /// there is none. With `local`, the watches are dropped here even if the server cannot be
    /// told (no connection, or it answers with an error).
    pub async fn remove_watches(
        &self,
        path: &str,
        watcher_type: WatcherType,
        local: bool,
    ) -> Result<()> {
        let server_path = self.server_path(path)?;
        if !self.shared().registry().contains(path, watcher_type) {
            return Err(Error::keeper(ErrorCode::NoWatcher, Some(path.to_string())));
        }
        let removal = Removal {
            path: path.to_string(),
            watcher_type,
            local,
        };
        if local && self.state() != State::Connected {
            self.shared().remove_watches(&removal);
            return Ok(());
        }
        let request = PathAndWatcherType {
            path: server_path,
            watcher_type: watcher_type.code(),
        };
        let body = ferry_jute::Record::to_bytes(&request);
        match self
            .submit(
                OpCode::RemoveWatches,
                body,
                path,
                None,
                Some(removal.clone()),
            )
            .await
        {
            Ok(reply) => check(reply.err, path),
            Err(error) if local && error.is_connection_loss() => {
                self.shared().remove_watches(&removal);
                Ok(())
            }
            Err(error) => Err(error),
        }
    }

    /// Asks the server whether it holds a watch of `watcher_type` on `path` for this session
    /// (`NoWatcher` if not). Nothing is removed.
    pub async fn check_watches(&self, path: &str, watcher_type: WatcherType) -> Result<()> {
        let request = PathAndWatcherType {
            path: self.server_path(path)?,
            watcher_type: watcher_type.code(),
        };
        self.request(OpCode::CheckWatches, &request, path, None)
            .await?;
        Ok(())
    }

    /// The identities the server has for this session (`ip`, `digest`, ...).
    pub async fn who_am_i(&self) -> Result<Vec<ClientInfo>> {
        let reply = self
            .submit(OpCode::WhoAmI, Vec::new(), "", None, None)
            .await?;
        check(reply.err, "")?;
        Ok(decode::<WhoAmIResponse>(&reply.body, "whoAmI response")?.client_info)
    }
}
