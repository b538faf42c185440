//! `multi`: all ops apply, or none does.

use ferry_jute::{ErrorCode, MultiOp, MultiResponse, MultiResult, OpCode, Request};

use super::{write::apply_one, OpContext};
use crate::database::Database;
use crate::watches::Trigger;

/// Applies `ops` in order. If one fails, everything done so far is undone and the answer is,
/// as in ZooKeeper: OK for the ops before it, its error, RUNTIMEINCONSISTENCY after it.
pub fn apply(
    db: &mut Database,
    ctx: &OpContext<'_>,
    ops: &[MultiOp],
    triggers: &mut Vec<Trigger>,
) -> MultiResponse {
    let mut undo = Vec::new();
    let mut fired = Vec::new();
    let mut results = Vec::with_capacity(ops.len());
    for (index, op) in ops.iter().enumerate() {
        match apply_one(db, ctx, as_request(op)) {
            Ok(effect) => {
                undo.extend(effect.undo);
                fired.extend(effect.triggers);
                results.push(effect.reply);
            }
            Err(code) => {
                for step in undo.into_iter().rev() {
                    db.tree.undo(step);
                }
                let mut failed = vec![MultiResult::Error(ErrorCode::Ok); index];
                failed.push(MultiResult::Error(code));
                failed.resize(
                    ops.len(),
                    MultiResult::Error(ErrorCode::RuntimeInconsistency),
                );
                return MultiResponse { results: failed };
            }
        }
    }
    triggers.extend(fired);
    MultiResponse { results }
}

fn as_request(op: &MultiOp) -> Request {
    match op.clone() {
        MultiOp::Create { op, request } => match op {
            OpCode::Create2 => Request::Create2(request),
            OpCode::CreateContainer => Request::CreateContainer(request),
            _ => Request::Create(request),
        },
        MultiOp::CreateTtl(r) => Request::CreateTtl(r),
        MultiOp::Delete(r) => Request::Delete(r),
        MultiOp::SetData(r) => Request::SetData(r),
        MultiOp::Check(r) => Request::Check(r),
        // Reads inside a write multi are refused, as ZooKeeper does.
        MultiOp::GetChildren(_) | MultiOp::GetData(_) => Request::Ping,
    }
}
