//! The operations of `multi` (atomic writes) and `multi_read`, and their results.

use bytes::Bytes;
use ferry_jute::{
    CheckVersionRequest, CreateMode, CreateRequest, CreateTtlRequest, DeleteRequest, ErrorCode,
    GetDataRequest, MultiOp, MultiResult, OpCode, Record, SetDataRequest, Stat,
};

use crate::error::Error;
use crate::path::{validate, Chroot};
use crate::types::{CreateOptions, IntoData};

/// One write in a [`crate::Client::multi`]. `version: None` matches any version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Create {
        path: String,
        data: Option<Bytes>,
        options: CreateOptions,
    },
    Delete {
        path: String,
        version: Option<i32>,
    },
    SetData {
        path: String,
        data: Option<Bytes>,
        version: Option<i32>,
    },
    /// Fails the multi unless the node's data version is `version`.
    Check {
        path: String,
        version: i32,
    },
}

impl Op {
    pub fn create(path: &str, data: impl IntoData, options: CreateOptions) -> Self {
        Self::Create {
            path: path.to_string(),
            data: data.into_data(),
            options,
        }
    }

    pub fn delete(path: &str, version: Option<i32>) -> Self {
        Self::Delete {
            path: path.to_string(),
            version,
        }
    }

    pub fn set_data(path: &str, data: impl IntoData, version: Option<i32>) -> Self {
        Self::SetData {
            path: path.to_string(),
            data: data.into_data(),
            version,
        }
    }

    pub fn check(path: &str, version: i32) -> Self {
        Self::Check {
            path: path.to_string(),
            version,
        }
    }

    pub fn path(&self) -> &str {
        match self {
            Self::Create { path, .. }
            | Self::Delete { path, .. }
            | Self::SetData { path, .. }
            | Self::Check { path, .. } => path,
        }
    }

    /// Validates the op and turns it into its wire form under `chroot`.
    pub(crate) fn to_wire(&self, chroot: &Chroot) -> Result<MultiOp, Error> {
        let sequential =
            matches!(self, Self::Create { options, .. } if options.mode.is_sequential());
        validate(self.path(), sequential)?;
        let path = chroot.apply(self.path());
        Ok(match self {
            Self::Create { data, options, .. } => {
                options.validate()?;
                create_request(path, data.clone(), options).into_multi()
            }
            Self::Delete { version, .. } => MultiOp::Delete(DeleteRequest {
                path,
                version: version.unwrap_or(-1),
            }),
            Self::SetData { data, version, .. } => MultiOp::SetData(SetDataRequest {
                path,
                data: data.clone(),
                version: version.unwrap_or(-1),
            }),
            Self::Check { version, .. } => MultiOp::Check(CheckVersionRequest {
                path,
                version: *version,
            }),
        })
    }
}

/// The wire request for a create: `createTTL` for the TTL modes, `createContainer` for
/// containers, `create2` (which answers with the stat) for the rest. All answer with a
/// `Create2Response`.
pub(crate) enum CreateWire {
    Plain(OpCode, CreateRequest),
    Ttl(CreateTtlRequest),
}

impl CreateWire {
    pub(crate) fn into_multi(self) -> MultiOp {
        match self {
            Self::Plain(op, request) => MultiOp::Create { op, request },
            Self::Ttl(request) => MultiOp::CreateTtl(request),
        }
    }

    pub(crate) fn op_and_body(&self) -> (OpCode, Vec<u8>) {
        match self {
            Self::Plain(op, request) => (*op, request.to_bytes()),
            Self::Ttl(request) => (OpCode::CreateTtl, request.to_bytes()),
        }
    }
}

pub(crate) fn create_request(
    path: String,
    data: Option<Bytes>,
    options: &CreateOptions,
) -> CreateWire {
    let flags = options.mode.code();
    let acl = options.acl.clone();
    if options.mode.is_ttl() {
        return CreateWire::Ttl(CreateTtlRequest {
            path,
            data,
            acl,
            flags,
            ttl: options.ttl_ms.unwrap_or(-1),
        });
    }
    let op = match options.mode {
        CreateMode::Container => OpCode::CreateContainer,
        _ => OpCode::Create2,
    };
    CreateWire::Plain(
        op,
        CreateRequest {
            path,
            data,
            acl,
            flags,
        },
    )
}

/// One read in a [`crate::Client::multi_read`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadOp {
    GetData(String),
    GetChildren(String),
}

impl ReadOp {
    pub(crate) fn to_wire(&self, chroot: &Chroot) -> Result<MultiOp, Error> {
        let (Self::GetData(path) | Self::GetChildren(path)) = self;
        validate(path, false)?;
        let request = GetDataRequest {
            path: chroot.apply(path),
            watch: false,
        };
        Ok(match self {
            Self::GetData(_) => MultiOp::GetData(request),
            Self::GetChildren(_) => MultiOp::GetChildren(request),
        })
    }
}

/// What one operation of a multi produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpResult {
    /// The created path (chroot stripped), with its stat when the server sent one.
    Create {
        path: String,
        stat: Option<Stat>,
    },
    Delete,
    SetData(Stat),
    Check,
    GetData {
        data: Option<Bytes>,
        stat: Stat,
    },
    GetChildren(Vec<String>),
    /// In `multi_read` only: this read failed, the others stand.
    Error(ErrorCode),
}

impl OpResult {
    pub(crate) fn from_wire(result: MultiResult, chroot: &Chroot) -> Self {
        match result {
            MultiResult::Create(r) => Self::Create {
                path: chroot.strip(&r.path),
                stat: None,
            },
            MultiResult::Create2(r) => Self::Create {
                path: chroot.strip(&r.path),
                stat: Some(r.stat),
            },
            MultiResult::Delete => Self::Delete,
            MultiResult::SetData(r) => Self::SetData(r.stat),
            MultiResult::Check => Self::Check,
            MultiResult::GetData(r) => Self::GetData {
                data: r.data,
                stat: r.stat,
            },
            MultiResult::GetChildren(r) => Self::GetChildren(r.paths),
            MultiResult::Error(code) => Self::Error(code),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_pick_the_create_opcode_by_mode() {
        let chroot = Chroot::new(Some("/r")).unwrap();
        let op = Op::create("/a", "x", CreateOptions::persistent());
        let MultiOp::Create { op, request } = op.to_wire(&chroot).unwrap() else {
            panic!("not a create")
        };
        assert_eq!(op, OpCode::Create2);
        assert_eq!(request.path, "/r/a");
        let ttl = Op::create(
            "/a",
            "x",
            CreateOptions::new(CreateMode::PersistentWithTtl).with_ttl(10),
        );
        assert!(matches!(
            ttl.to_wire(&chroot).unwrap(),
            MultiOp::CreateTtl(_)
        ));
        let container = Op::create("/c", "x", CreateOptions::new(CreateMode::Container));
        assert!(matches!(
            container.to_wire(&chroot).unwrap(),
            MultiOp::Create {
                op: OpCode::CreateContainer,
                ..
            }
        ));
        assert!(Op::delete("bad", None).to_wire(&chroot).is_err());
    }
}
