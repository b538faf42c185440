//! Applying committed transactions to the database: ZooKeeper's "prep" checks (paths,
//! versions, ACLs) and its final processing, fused, because a replicated log entry carries
//! everything needed to decide deterministically.
//!
//! Each write either changes the tree and answers with a response body, or changes nothing and
//! answers with an error code; either way it consumes its zxid. A `multi` applies its ops in
//! order and undoes them all if one fails.

mod create;
mod multi;
mod session;
mod write;

use ferry_jute::{Bytes, ErrorCode, OpCode, Reader, Record, Request};

use crate::database::Database;
use crate::tree::Undo;
use crate::txn::{Applied, Txn, TxnKind};
use crate::watches::Trigger;

/// The context every op needs: who asks, when, at which zxid.
pub struct OpContext<'a> {
    pub txn: &'a Txn,
    pub auth: Vec<ferry_jute::Id>,
    pub zxid: i64,
    /// Whether the op is one of a multi's (some answers are shaped differently there).
    pub in_multi: bool,
}

/// What a successful op did: how to reverse it, which watches it fires, what it answers.
pub struct OpEffect {
    pub undo: Vec<Undo>,
    pub triggers: Vec<Trigger>,
    pub reply: ferry_jute::MultiResult,
}

/// Applies `txn` as the transaction with zxid `zxid` (the caller numbers transactions),
/// collecting the watches it fires.
pub fn apply(db: &mut Database, txn: &Txn, zxid: i64, triggers: &mut Vec<Trigger>) -> Applied {
    db.last_zxid = zxid;
    let ctx = OpContext {
        txn,
        auth: txn.auth_ids(),
        zxid,
        in_multi: false,
    };
    let result = match &txn.kind {
        TxnKind::CreateSession {
            timeout_ms,
            password,
        } => {
            session::create(db, txn.session_id, *timeout_ms, password.clone());
            Ok(Bytes::new())
        }
        TxnKind::CloseSession => {
            session::close(db, txn.session_id, zxid, triggers);
            Ok(Bytes::new())
        }
        TxnKind::Reap { path } => {
            write::reap(db, &ctx, path, triggers);
            Ok(Bytes::new())
        }
        TxnKind::Request { op, body } => apply_request(db, &ctx, *op, body, triggers),
        TxnKind::SetConfig { servers, version } => {
            let version = version.unwrap_or(zxid);
            Ok(write::set_config(db, &ctx, servers, version, triggers))
        }
    };
    match result {
        Ok(body) => Applied { zxid, err: 0, body },
        Err(code) => Applied {
            zxid,
            err: code.code(),
            body: Bytes::new(),
        },
    }
}

fn apply_request(
    db: &mut Database,
    ctx: &OpContext<'_>,
    op: i32,
    body: &[u8],
    triggers: &mut Vec<Trigger>,
) -> Result<Bytes, ErrorCode> {
    let op = OpCode::try_from(op).map_err(|_unknown| ErrorCode::Unimplemented)?;
    let request =
        Request::decode(op, &mut Reader::new(body)).map_err(|_bad| ErrorCode::MarshallingError)?;
    if !db.sessions.contains_key(&ctx.txn.session_id) {
        return Err(ErrorCode::SessionExpired);
    }
    if let Request::Multi(multi) = request {
        let ctx = OpContext {
            txn: ctx.txn,
            auth: ctx.auth.clone(),
            zxid: ctx.zxid,
            in_multi: true,
        };
        let results = multi::apply(db, &ctx, &multi.ops, triggers);
        return Ok(results.to_bytes().into());
    }
    let effect = write::apply_one(db, ctx, request)?;
    triggers.extend(effect.triggers);
    Ok(encode_result(&effect.reply))
}

/// The body of a single-op answer: a `MultiResult` without its multi header.
fn encode_result(result: &ferry_jute::MultiResult) -> Bytes {
    use ferry_jute::MultiResult as R;
    let mut out = Vec::new();
    match result {
        R::Create(r) => r.encode(&mut out),
        R::Create2(r) => r.encode(&mut out),
        R::SetData(r) => r.encode(&mut out),
        R::GetChildren(r) => r.encode(&mut out),
        R::GetData(r) => r.encode(&mut out),
        R::Delete | R::Check | R::Error(_) => {}
    }
    out.into()
}
