//! The single-path writes: delete, setData, setACL, check, and the cleaner's reaping of expired
//! container and TTL nodes.

use ferry_jute::{
    ephemeral_owner, perms, Bytes, ErrorCode, GetDataResponse, MultiResult, OpCode, PathAndVersion,
    Record, Request, SetAclRequest, SetDataRequest, StatResponse,
};

use super::{create::create, OpContext, OpEffect};
use crate::database::Database;
use crate::path;
use crate::tree::{DataTree, Node, CONFIG_PATH};
use crate::watches::Trigger;

/// Applies one write request, or says why it cannot be applied (and then nothing changed).
pub fn apply_one(
    db: &mut Database,
    ctx: &OpContext<'_>,
    request: Request,
) -> Result<OpEffect, ErrorCode> {
    match request {
        Request::Create(r) => create(db, ctx, OpCode::Create, &r, None),
        Request::Create2(r) => create(db, ctx, OpCode::Create2, &r, None),
        Request::CreateContainer(r) => create(db, ctx, OpCode::CreateContainer, &r, None),
        Request::CreateTtl(r) => {
            let plain = ferry_jute::CreateRequest {
                path: r.path,
                data: r.data,
                acl: r.acl,
                flags: r.flags,
            };
            create(db, ctx, OpCode::CreateTtl, &plain, Some(r.ttl))
        }
        Request::Delete(r) => delete(db, ctx, &r),
        Request::DeleteContainer(r) => {
            reap_checked(db, ctx, &r.path).map_err(|e| e.unwrap_or(ErrorCode::BadArguments))
        }
        Request::SetData(r) => set_data(db, ctx, &r),
        Request::SetAcl(r) => set_acl(db, ctx, &r),
        Request::Check(r) => check(db, ctx, &r),
        Request::Reconfig(_) => Err(ErrorCode::ReconfigDisabled),
        _ => Err(ErrorCode::Unimplemented),
    }
}

fn existing<'a>(db: &'a Database, path: &str) -> Result<&'a Node, ErrorCode> {
    path::validate(path, false).map_err(|_bad| ErrorCode::BadArguments)?;
    db.tree.get(path).ok_or(ErrorCode::NoNode)
}

fn require(db: &Database, node: &Node, perm: i32, ctx: &OpContext<'_>) -> Result<(), ErrorCode> {
    if crate::acl::allows(&db.tree.acl(node), perm, &ctx.auth) {
        Ok(())
    } else {
        Err(ErrorCode::NoAuth)
    }
}

/// ZooKeeper's `checkAndIncVersion`: -1 matches any version.
fn next_version(current: i32, expected: i32) -> Result<i32, ErrorCode> {
    if expected != -1 && expected != current {
        return Err(ErrorCode::BadVersion);
    }
    Ok(current.wrapping_add(1))
}

fn delete(
    db: &mut Database,
    ctx: &OpContext<'_>,
    r: &PathAndVersion,
) -> Result<OpEffect, ErrorCode> {
    // ZooKeeper's getParentPathAndValidate: a path without '/', with NUL, or one of the
    // system nodes is refused; anything else is simply looked up.
    if !r.path.contains('/') || r.path.contains('\0') || DataTree::is_special(&r.path) {
        return Err(ErrorCode::BadArguments);
    }
    let parent = db
        .tree
        .get(path::parent(&r.path))
        .ok_or(ErrorCode::NoNode)?;
    let node = db.tree.get(&r.path).ok_or(ErrorCode::NoNode)?;
    require(db, parent, perms::DELETE, ctx)?;
    next_version(node.stat.version, r.version)?;
    if !node.children.is_empty() {
        return Err(ErrorCode::NotEmpty);
    }
    Ok(remove(db, &r.path, ctx.zxid, MultiResult::Delete))
}

fn remove(db: &mut Database, path: &str, zxid: i64, reply: MultiResult) -> OpEffect {
    let undo = db.tree.delete(path, zxid);
    OpEffect {
        undo: undo.into_iter().collect(),
        triggers: vec![
            Trigger::Deleted(path.to_string()),
            Trigger::ChildrenChanged(path::parent(path).to_string()),
        ],
        reply,
    }
}

fn set_data(
    db: &mut Database,
    ctx: &OpContext<'_>,
    r: &SetDataRequest,
) -> Result<OpEffect, ErrorCode> {
    let node = existing(db, &r.path)?;
    require(db, node, perms::WRITE, ctx)?;
    let version = next_version(node.stat.version, r.version)?;
    let undo = db
        .tree
        .set_data(&r.path, r.data.clone(), version, ctx.zxid, ctx.txn.time);
    let stat = db.tree.stat(&r.path).unwrap_or_default();
    Ok(OpEffect {
        undo: undo.into_iter().collect(),
        triggers: vec![Trigger::DataChanged(r.path.clone())],
        reply: MultiResult::SetData(StatResponse { stat }),
    })
}

/// A reconfiguration's new ensemble: `/zookeeper/config` holds its `server.N` lines and the
/// `version` line (a zxid, in hex, as ZooKeeper writes it). Answers the node's data and stat
/// (a `reconfig` answer).
pub fn set_config(
    db: &mut Database,
    ctx: &OpContext<'_>,
    servers: &str,
    version: i64,
    triggers: &mut Vec<Trigger>,
) -> Bytes {
    let data = Bytes::from(format!("{servers}version={version:x}"));
    let version = db.tree.stat(CONFIG_PATH).map_or(0, |s| s.version + 1);
    db.tree.set_data(
        CONFIG_PATH,
        Some(data.clone()),
        version,
        ctx.zxid,
        ctx.txn.time,
    );
    triggers.push(Trigger::DataChanged(CONFIG_PATH.to_string()));
    let stat = db.tree.stat(CONFIG_PATH).unwrap_or_default();
    GetDataResponse {
        data: Some(data),
        stat,
    }
    .to_bytes()
    .into()
}

fn set_acl(
    db: &mut Database,
    ctx: &OpContext<'_>,
    r: &SetAclRequest,
) -> Result<OpEffect, ErrorCode> {
    path::validate(&r.path, false).map_err(|_bad| ErrorCode::BadArguments)?;
    let acl = crate::acl::fixup(&r.acl, &ctx.auth)?;
    let node = db.tree.get(&r.path).ok_or(ErrorCode::NoNode)?;
    require(db, node, perms::ADMIN, ctx)?;
    let aversion = next_version(node.stat.aversion, r.version)?;
    let undo = db.tree.set_acl(&r.path, &acl, aversion);
    let stat = db.tree.stat(&r.path).unwrap_or_default();
    Ok(OpEffect {
        undo: undo.into_iter().collect(),
        triggers: Vec::new(),
        reply: MultiResult::SetData(StatResponse { stat }),
    })
}

fn check(
    db: &mut Database,
    ctx: &OpContext<'_>,
    r: &PathAndVersion,
) -> Result<OpEffect, ErrorCode> {
    let node = existing(db, &r.path)?;
    require(db, node, perms::READ, ctx)?;
    next_version(node.stat.version, r.version)?;
    Ok(OpEffect {
        undo: Vec::new(),
        triggers: Vec::new(),
        reply: MultiResult::Check,
    })
}

/// The cleaner's delete: only if the node is still an expired container or TTL node.
pub fn reap(db: &mut Database, ctx: &OpContext<'_>, path: &str, triggers: &mut Vec<Trigger>) {
    if let Ok(effect) = reap_checked(db, ctx, path) {
        triggers.extend(effect.triggers);
    }
}

/// `Err(None)` when the node exists but is not (or no longer) reapable.
fn reap_checked(
    db: &mut Database,
    ctx: &OpContext<'_>,
    path: &str,
) -> Result<OpEffect, Option<ErrorCode>> {
    let node = existing(db, path).map_err(Some)?;
    if !node.children.is_empty() {
        return Err(Some(ErrorCode::NotEmpty));
    }
    let owner = node.stat.ephemeral_owner;
    let expired = if owner == ephemeral_owner::CONTAINER {
        node.stat.cversion > 0
    } else if let Some(ttl) = ephemeral_owner::ttl(owner) {
        ctx.txn.time > node.stat.mtime.saturating_add(ttl)
    } else {
        false
    };
    if !expired {
        return Err(None);
    }
    Ok(remove(db, path, ctx.zxid, MultiResult::Delete))
}
