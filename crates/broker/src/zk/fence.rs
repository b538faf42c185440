//! Fencing writes with the controller epoch, as Kafka 2.x's controller does: each write is a
//! `multi` that first checks `/controller_epoch` is still at the znode version the controller
//! saw when it was elected, so a deposed controller's writes fail instead of landing.

use ferry_zkclient::{Error as ClientError, ErrorCode, Op, OpResult};

use super::error::{Result, ZkError};
use super::{paths, KafkaZk};

/// The controller epoch a broker won, with the znode version of `/controller_epoch` that fences
/// its writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControllerEpoch {
    pub epoch: i32,
    pub zk_version: i32,
}

impl KafkaZk {
    /// Applies `ops` atomically, behind a check of the controller epoch when `fence` is given.
    /// Returns the results of `ops` (without the check's). A failed op becomes
    /// [`ZkError::StaleVersion`] for a version mismatch, else the op's own error; a failed
    /// fence becomes [`ZkError::ControllerMoved`].
    pub(crate) async fn write_fenced(
        &self,
        fence: Option<&ControllerEpoch>,
        ops: Vec<Op>,
    ) -> Result<Vec<OpResult>> {
        let fenced = fence.is_some();
        let mut all = Vec::with_capacity(ops.len() + 1);
        if let Some(fence) = fence {
            all.push(Op::check(paths::CONTROLLER_EPOCH, fence.zk_version));
        }
        all.extend(ops);
        match self.client().multi(&all).await {
            Ok(mut results) => {
                if fenced {
                    results.remove(0);
                }
                Ok(results)
            }
            Err(ClientError::Multi { code, index, path }) => {
                if let (Some(fence), 0) = (fence, index) {
                    return Err(ZkError::ControllerMoved {
                        path: path.clone(),
                        expected: fence.zk_version,
                    });
                }
                Err(op_error(all.get(index), code, path))
            }
            Err(error) => Err(ZkError::keeper(
                all.first().map(Op::path).unwrap_or_default(),
                error,
            )),
        }
    }
}

/// The error for one failed op of a multi.
fn op_error(op: Option<&Op>, code: ErrorCode, path: String) -> ZkError {
    let expected = match op {
        Some(Op::SetData {
            version: Some(v), ..
        })
        | Some(Op::Delete {
            version: Some(v), ..
        })
        | Some(Op::Check { version: v, .. }) => Some(*v),
        _ => None,
    };
    match (code, expected) {
        (ErrorCode::BadVersion, Some(expected)) => ZkError::StaleVersion { path, expected },
        (ErrorCode::NodeExists, _) => ZkError::NodeExists { path },
        (ErrorCode::NoNode, _) => ZkError::NoNode { path },
        _ => ZkError::Keeper {
            source: ClientError::Multi {
                code,
                index: 0,
                path: path.clone(),
            },
            path,
        },
    }
}
