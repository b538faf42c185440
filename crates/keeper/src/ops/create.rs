//! create, create2, createContainer and createTTL (ZooKeeper's `pRequest2TxnCreate` followed by
//! `DataTree.createNode`).

use ferry_jute::{
    ephemeral_owner, perms, Create2Response, CreateMode, CreateRequest, CreateResponse, ErrorCode,
    MultiResult, OpCode,
};

use super::{OpContext, OpEffect};
use crate::database::Database;
use crate::path;
use crate::watches::Trigger;

/// `ttl` is `None` for every create but createTTL.
pub fn create(
    db: &mut Database,
    ctx: &OpContext<'_>,
    op: OpCode,
    request: &CreateRequest,
    ttl: Option<i64>,
) -> Result<OpEffect, ErrorCode> {
    let mode = CreateMode::try_from(request.flags).map_err(|_bad| ErrorCode::BadArguments)?;
    validate_mode(db, op, mode, ttl)?;
    // ZooKeeper's order: the parent is looked up before the full path is checked, so a bad
    // path under a missing parent is NONODE, and "/" itself is NODEEXISTS.
    if !request.path.contains('/') || request.path.contains('\0') {
        return Err(ErrorCode::BadArguments);
    }
    let parent_path = path::parent(&request.path);
    let acl = crate::acl::fixup(&request.acl, &ctx.auth)?;
    let parent = db.tree.get(parent_path).ok_or(ErrorCode::NoNode)?;
    if !crate::acl::allows(&db.tree.acl(parent), perms::CREATE, &ctx.auth) {
        return Err(ErrorCode::NoAuth);
    }
    let parent_cversion = parent.stat.cversion;
    let parent_owner = parent.stat.ephemeral_owner;
    let path = if mode.is_sequential() {
        format!("{}{:010}", request.path, parent_cversion)
    } else {
        request.path.clone()
    };
    path::validate(&path, false).map_err(|_bad| ErrorCode::BadArguments)?;
    if db.tree.get(&path).is_some() {
        return Err(ErrorCode::NodeExists);
    }
    if is_plain_ephemeral(parent_owner) {
        return Err(ErrorCode::NoChildrenForEphemerals);
    }
    let owner = if mode.is_ephemeral() {
        ctx.txn.session_id
    } else if mode.is_container() {
        ephemeral_owner::CONTAINER
    } else if let Some(ttl) = ttl.filter(|_| mode.is_ttl()) {
        ephemeral_owner::for_ttl(ttl)
    } else {
        0
    };
    let undo = db.tree.create(
        &path,
        request.data.clone(),
        &acl,
        owner,
        parent_cversion + 1,
        ctx.zxid,
        ctx.txn.time,
    );
    let stat = db.tree.stat(&path).unwrap_or_default();
    // create, and create2 inside a multi, answer with the path alone (as ZooKeeper does);
    // the others with path and stat.
    let reply = if matches!(op, OpCode::Create) || (ctx.in_multi && op == OpCode::Create2) {
        MultiResult::Create(CreateResponse { path: path.clone() })
    } else {
        MultiResult::Create2(Create2Response {
            path: path.clone(),
            stat,
        })
    };
    Ok(OpEffect {
        undo: vec![undo],
        triggers: vec![
            Trigger::Created(path.clone()),
            Trigger::ChildrenChanged(parent_path.to_string()),
        ],
        reply,
    })
}

/// An owner that is a session (not a container or TTL marker) makes a node ephemeral.
fn is_plain_ephemeral(owner: i64) -> bool {
    owner != 0 && owner != ephemeral_owner::CONTAINER && ephemeral_owner::ttl(owner).is_none()
}

/// ZooKeeper's `validateCreateRequest` and `EphemeralType.validateTTL`.
fn validate_mode(
    db: &Database,
    op: OpCode,
    mode: CreateMode,
    ttl: Option<i64>,
) -> Result<(), ErrorCode> {
    if mode.is_ttl() && !db.extended_types {
        return Err(ErrorCode::Unimplemented);
    }
    match ttl {
        Some(ttl) if mode.is_ttl() && (ttl <= 0 || ttl > ephemeral_owner::MAX_TTL) => {
            return Err(ErrorCode::BadArguments)
        }
        Some(_) if mode.is_ttl() => {}
        Some(ttl) if ttl >= 0 => return Err(ErrorCode::BadArguments),
        None if mode.is_ttl() => return Err(ErrorCode::BadArguments),
        _ => {}
    }
    if op == OpCode::CreateContainer && !mode.is_container() {
        return Err(ErrorCode::BadArguments);
    }
    Ok(())
}
