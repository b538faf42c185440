//! Requests answered from the local database without going through the log: reads, watch
//! management and `whoAmI`. They run in the connection's request order, after every earlier
//! write of the session has been applied.

use ferry_jute::{
    perms, Acl, AddWatchMode, ClientInfo, ErrorCode, ErrorResponse, EventType, GetAclResponse,
    GetAllChildrenNumberResponse, GetChildren2Response, GetDataResponse, Id, MultiOp,
    MultiResponse, MultiResult, PathAndWatch, PathAndWatcherType, PathList, Record, Request,
    SetWatches2, StatResponse, WatcherType, WhoAmIResponse,
};

use crate::shared::{Replicated, Shared};
use crate::tree::Node;
use crate::watches::{Table, WatchManager, WatchMode, WatcherId};

/// Who is reading.
pub struct Reader<'a> {
    pub shared: &'a Shared,
    pub watcher: WatcherId,
    pub session: i64,
    pub auth: &'a [Id],
}

type Answer = Result<Vec<u8>, ErrorCode>;

fn encode(record: &impl Record) -> Answer {
    Ok(record.to_bytes())
}

impl Reader<'_> {
    /// Answers `request`, or `None` if it is not a local request.
    pub fn answer(&self, request: &Request) -> Option<Answer> {
        let state = self.shared.read();
        Some(match request {
            Request::Exists(r) => self.exists(&state, r),
            Request::GetData(r) => self.get_data(&state, r).and_then(|d| encode(&d)),
            Request::GetChildren(r) => self
                .get_children(&state, r)
                .and_then(|(children, _)| encode(&PathList { paths: children })),
            Request::GetChildren2(r) => self
                .get_children(&state, r)
                .and_then(|(children, stat)| encode(&GetChildren2Response { children, stat })),
            Request::GetAcl(r) => self.get_acl(&state, &r.path),
            Request::GetAllChildrenNumber(r) => self.readable(&state, &r.path).map(|_| {
                // ZooKeeper counts keys starting with `path + "/"`; for the empty path that
                // is every node including the root itself.
                let below = state.db.tree.descendant_count(&r.path);
                let total_number = (below + usize::from(r.path.is_empty())) as i32;
                GetAllChildrenNumberResponse { total_number }.to_bytes()
            }),
            Request::GetEphemerals(r) => {
                let prefix = r.path.as_str();
                let paths = state
                    .db
                    .tree
                    .ephemerals_of(self.session)
                    .filter(|p| prefix == "/" || p.starts_with(prefix))
                    .cloned()
                    .collect();
                encode(&PathList { paths })
            }
            Request::MultiRead(multi) => {
                let results = multi
                    .ops
                    .iter()
                    .map(|op| self.multi_read_op(&state, op))
                    .collect();
                encode(&MultiResponse { results })
            }
            Request::AddWatch(r) => self.add_watch(&r.path, r.mode),
            Request::CheckWatches(r) => self.check_watches(r, false),
            Request::RemoveWatches(r) => self.check_watches(r, true),
            Request::SetWatches(r) => {
                let all = SetWatches2 {
                    relative_zxid: r.relative_zxid,
                    data_watches: r.data_watches.clone(),
                    exist_watches: r.exist_watches.clone(),
                    child_watches: r.child_watches.clone(),
                    ..SetWatches2::default()
                };
                self.set_watches(&state, &all)
            }
            Request::SetWatches2(r) => self.set_watches(&state, r),
            Request::WhoAmI => encode(&WhoAmIResponse {
                client_info: self.auth.iter().map(client_info).collect(),
            }),
            _ => return None,
        })
    }

    fn watches(&self) -> std::sync::MutexGuard<'_, WatchManager> {
        self.shared.watches()
    }

    /// The node, if it exists and the reader may READ it.
    fn readable<'s>(&self, state: &'s Replicated, path: &str) -> Result<&'s Node, ErrorCode> {
        let node = state.db.tree.get(path).ok_or(ErrorCode::NoNode)?;
        if !crate::acl::allows(&state.db.tree.acl(node), perms::READ, self.auth) {
            return Err(ErrorCode::NoAuth);
        }
        Ok(node)
    }

    fn exists(&self, state: &Replicated, r: &PathAndWatch) -> Answer {
        if r.path.contains('\0') {
            return Err(ErrorCode::BadArguments);
        }
        if r.watch {
            self.watches()
                .add(Table::Data, &r.path, self.watcher, WatchMode::Standard);
        }
        let node = state.db.tree.get(&r.path).ok_or(ErrorCode::NoNode)?;
        encode(&StatResponse { stat: node.stat() })
    }

    fn get_data(&self, state: &Replicated, r: &PathAndWatch) -> Result<GetDataResponse, ErrorCode> {
        let node = self.readable(state, &r.path)?;
        if r.watch {
            self.watches()
                .add(Table::Data, &r.path, self.watcher, WatchMode::Standard);
        }
        Ok(GetDataResponse {
            data: node.data.clone(),
            stat: node.stat(),
        })
    }

    fn get_children(
        &self,
        state: &Replicated,
        r: &PathAndWatch,
    ) -> Result<(Vec<String>, ferry_jute::Stat), ErrorCode> {
        let node = self.readable(state, &r.path)?;
        if r.watch {
            self.watches()
                .add(Table::Child, &r.path, self.watcher, WatchMode::Standard);
        }
        let children = node.children.iter().map(|c| c.to_string()).collect();
        Ok((children, node.stat()))
    }

    /// getACL needs READ or ADMIN; without ADMIN, digest hashes are masked, as ZooKeeper
    /// 3.8 does, so that readers cannot brute-force passwords offline.
    fn get_acl(&self, state: &Replicated, path: &str) -> Answer {
        let node = state.db.tree.get(path).ok_or(ErrorCode::NoNode)?;
        let acl = state.db.tree.acl(node);
        if !crate::acl::allows(&acl, perms::READ | perms::ADMIN, self.auth) {
            return Err(ErrorCode::NoAuth);
        }
        let admin = crate::acl::allows(&acl, perms::ADMIN, self.auth);
        let acl: Vec<Acl> = acl
            .iter()
            .map(|entry| {
                let mut entry = entry.clone();
                if !admin && entry.id.scheme == "digest" {
                    let user = entry
                        .id
                        .id
                        .split(':')
                        .next()
                        .unwrap_or_default()
                        .to_string();
                    entry.id.id = format!("{user}:x");
                }
                entry
            })
            .collect();
        encode(&GetAclResponse {
            acl,
            stat: node.stat(),
        })
    }

    fn multi_read_op(&self, state: &Replicated, op: &MultiOp) -> MultiResult {
        let result = match op {
            MultiOp::GetChildren(r) => self
                .get_children(state, r)
                .map(|(paths, _)| MultiResult::GetChildren(PathList { paths })),
            MultiOp::GetData(r) => self.get_data(state, r).map(MultiResult::GetData),
            _ => Err(ErrorCode::BadArguments),
        };
        result.unwrap_or_else(MultiResult::Error)
    }

    fn add_watch(&self, path: &str, mode: i32) -> Answer {
        let mode = AddWatchMode::try_from(mode).map_err(|_bad| ErrorCode::BadArguments)?;
        let mut watches = self.watches();
        match mode {
            AddWatchMode::Persistent => {
                watches.add(Table::Data, path, self.watcher, WatchMode::Persistent);
                watches.add(Table::Child, path, self.watcher, WatchMode::Persistent);
            }
            AddWatchMode::PersistentRecursive => {
                watches.add(
                    Table::Data,
                    path,
                    self.watcher,
                    WatchMode::PersistentRecursive,
                );
            }
        }
        encode(&ErrorResponse { err: 0 })
    }

    /// checkWatches (`remove == false`) and removeWatches, as ZooKeeper 3.8 answers them:
    /// types are Children (the child table), Data (the data table) or Any, whatever the watch's
    /// mode, so a persistent watch counts as both; other types do not deserialize
    /// (MARSHALLINGERROR). checkWatches asks whether the path is watched at all, by anyone
    /// (ZooKeeper does not compare the watcher); removeWatches removes this connection's
    /// watches. Nothing matching is NOWATCHER.
    fn check_watches(&self, r: &PathAndWatcherType, remove: bool) -> Answer {
        let tables: &[Table] = match WatcherType::try_from(r.watcher_type) {
            Ok(WatcherType::Children) => &[Table::Child],
            Ok(WatcherType::Data) => &[Table::Data],
            Ok(WatcherType::Any) => &[Table::Data, Table::Child],
            _ => return Err(ErrorCode::MarshallingError),
        };
        let mut watches = self.watches();
        let mut found = false;
        for table in tables {
            found |= if remove {
                watches.remove(*table, &r.path, self.watcher)
            } else {
                watches.is_watched(*table, &r.path)
            };
        }
        if found {
            Ok(Vec::new())
        } else {
            Err(ErrorCode::NoWatcher)
        }
    }

    /// Re-registers a reconnecting client's watches; any that would have fired while it was
    /// away (judged against the last zxid it saw) fire now instead.
    fn set_watches(&self, state: &Replicated, r: &SetWatches2) -> Answer {
        let tree = &state.db.tree;
        let zxid = r.relative_zxid;
        let mut watches = self.watches();
        let mut pending: Vec<(EventType, String)> = Vec::new();
        let mut register: Vec<(Table, String, WatchMode)> = Vec::new();
        for path in &r.data_watches {
            match tree.get(path) {
                None => pending.push((EventType::NodeDeleted, path.clone())),
                Some(n) if n.stat.mzxid > zxid => {
                    pending.push((EventType::NodeDataChanged, path.clone()))
                }
                Some(_) => register.push((Table::Data, path.clone(), WatchMode::Standard)),
            }
        }
        for path in &r.exist_watches {
            match tree.get(path) {
                Some(_) => pending.push((EventType::NodeCreated, path.clone())),
                None => register.push((Table::Data, path.clone(), WatchMode::Standard)),
            }
        }
        for path in &r.child_watches {
            match tree.get(path) {
                None => pending.push((EventType::NodeDeleted, path.clone())),
                Some(n) if n.stat.pzxid > zxid => {
                    pending.push((EventType::NodeChildrenChanged, path.clone()))
                }
                Some(_) => register.push((Table::Child, path.clone(), WatchMode::Standard)),
            }
        }
        for path in &r.persistent_watches {
            register.push((Table::Data, path.clone(), WatchMode::Persistent));
            register.push((Table::Child, path.clone(), WatchMode::Persistent));
        }
        for path in &r.persistent_recursive_watches {
            register.push((Table::Data, path.clone(), WatchMode::PersistentRecursive));
        }
        for (table, path, mode) in register {
            watches.add(table, &path, self.watcher, mode);
        }
        for (event, path) in pending {
            watches.send(self.watcher, event, &path);
        }
        Ok(Vec::new())
    }
}

/// whoAmI reports the user name for digest identities, the id itself otherwise.
fn client_info(id: &Id) -> ClientInfo {
    let user = match id.scheme.as_str() {
        "digest" => id.id.split(':').next().unwrap_or_default().to_string(),
        _ => id.id.clone(),
    };
    ClientInfo {
        auth_scheme: id.scheme.clone(),
        user,
    }
}
