//! A client request body, typed by the opcode of its `RequestHeader`.

use crate::codec::{DecodeError, Reader, Record};
use crate::consts::OpCode;
use crate::multi::MultiRequest;
use crate::records::*;

/// Every request a client can send after the handshake. Opcodes that share a body keep their
/// own variant, because the answer's shape depends on which one was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Create(CreateRequest),
    Create2(CreateRequest),
    CreateContainer(CreateRequest),
    CreateTtl(CreateTtlRequest),
    Delete(DeleteRequest),
    DeleteContainer(PathRequest),
    Exists(ExistsRequest),
    GetData(GetDataRequest),
    SetData(SetDataRequest),
    GetAcl(GetAclRequest),
    SetAcl(SetAclRequest),
    GetChildren(GetChildrenRequest),
    GetChildren2(GetChildren2Request),
    Sync(SyncRequest),
    Ping,
    Check(CheckVersionRequest),
    Multi(MultiRequest),
    MultiRead(MultiRequest),
    Reconfig(ReconfigRequest),
    CheckWatches(CheckWatchesRequest),
    RemoveWatches(RemoveWatchesRequest),
    Auth(AuthPacket),
    SetWatches(SetWatches),
    SetWatches2(SetWatches2),
    GetEphemerals(GetEphemeralsRequest),
    GetAllChildrenNumber(GetAllChildrenNumberRequest),
    AddWatch(AddWatchRequest),
    WhoAmI,
    CloseSession,
    /// SASL is not offered; the opcode is recognised so the answer can say so.
    Sasl,
}

impl Request {
    /// Decodes the body that follows a `RequestHeader` with opcode `op`.
    pub fn decode(op: OpCode, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match op {
            OpCode::Create => Self::Create(Record::decode(r)?),
            OpCode::Create2 => Self::Create2(Record::decode(r)?),
            OpCode::CreateContainer => Self::CreateContainer(Record::decode(r)?),
            OpCode::CreateTtl => Self::CreateTtl(Record::decode(r)?),
            OpCode::Delete => Self::Delete(Record::decode(r)?),
            OpCode::DeleteContainer => Self::DeleteContainer(Record::decode(r)?),
            OpCode::Exists => Self::Exists(Record::decode(r)?),
            OpCode::GetData => Self::GetData(Record::decode(r)?),
            OpCode::SetData => Self::SetData(Record::decode(r)?),
            OpCode::GetAcl => Self::GetAcl(Record::decode(r)?),
            OpCode::SetAcl => Self::SetAcl(Record::decode(r)?),
            OpCode::GetChildren => Self::GetChildren(Record::decode(r)?),
            OpCode::GetChildren2 => Self::GetChildren2(Record::decode(r)?),
            OpCode::Sync => Self::Sync(Record::decode(r)?),
            OpCode::Ping => Self::Ping,
            OpCode::Check => Self::Check(Record::decode(r)?),
            OpCode::Multi => Self::Multi(Record::decode(r)?),
            OpCode::MultiRead => Self::MultiRead(Record::decode(r)?),
            OpCode::Reconfig => Self::Reconfig(Record::decode(r)?),
            OpCode::CheckWatches => Self::CheckWatches(Record::decode(r)?),
            OpCode::RemoveWatches => Self::RemoveWatches(Record::decode(r)?),
            OpCode::Auth => Self::Auth(Record::decode(r)?),
            OpCode::SetWatches => Self::SetWatches(Record::decode(r)?),
            OpCode::SetWatches2 => Self::SetWatches2(Record::decode(r)?),
            OpCode::GetEphemerals => Self::GetEphemerals(Record::decode(r)?),
            OpCode::GetAllChildrenNumber => Self::GetAllChildrenNumber(Record::decode(r)?),
            OpCode::AddWatch => Self::AddWatch(Record::decode(r)?),
            OpCode::WhoAmI => Self::WhoAmI,
            OpCode::CloseSession => Self::CloseSession,
            OpCode::Sasl => Self::Sasl,
            OpCode::Notification | OpCode::CreateSession | OpCode::Error => {
                return Err(DecodeError::UnknownValue {
                    what: "client OpCode",
                    value: op.code(),
                })
            }
        })
    }

    /// Encodes the body (not the header); what a client sends after `RequestHeader`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Create(r) | Self::Create2(r) | Self::CreateContainer(r) => r.encode(out),
            Self::CreateTtl(r) => r.encode(out),
            Self::Delete(r) | Self::Check(r) => r.encode(out),
            Self::DeleteContainer(r)
            | Self::Sync(r)
            | Self::GetAcl(r)
            | Self::GetEphemerals(r)
            | Self::GetAllChildrenNumber(r) => r.encode(out),
            Self::Exists(r) | Self::GetData(r) | Self::GetChildren(r) | Self::GetChildren2(r) => {
                r.encode(out)
            }
            Self::SetData(r) => r.encode(out),
            Self::SetAcl(r) => r.encode(out),
            Self::Multi(r) | Self::MultiRead(r) => r.encode(out),
            Self::Reconfig(r) => r.encode(out),
            Self::CheckWatches(r) | Self::RemoveWatches(r) => r.encode(out),
            Self::Auth(r) => r.encode(out),
            Self::SetWatches(r) => r.encode(out),
            Self::SetWatches2(r) => r.encode(out),
            Self::AddWatch(r) => r.encode(out),
            Self::Ping | Self::WhoAmI | Self::CloseSession | Self::Sasl => {}
        }
    }

    pub fn op_code(&self) -> OpCode {
        match self {
            Self::Create(_) => OpCode::Create,
            Self::Create2(_) => OpCode::Create2,
            Self::CreateContainer(_) => OpCode::CreateContainer,
            Self::CreateTtl(_) => OpCode::CreateTtl,
            Self::Delete(_) => OpCode::Delete,
            Self::DeleteContainer(_) => OpCode::DeleteContainer,
            Self::Exists(_) => OpCode::Exists,
            Self::GetData(_) => OpCode::GetData,
            Self::SetData(_) => OpCode::SetData,
            Self::GetAcl(_) => OpCode::GetAcl,
            Self::SetAcl(_) => OpCode::SetAcl,
            Self::GetChildren(_) => OpCode::GetChildren,
            Self::GetChildren2(_) => OpCode::GetChildren2,
            Self::Sync(_) => OpCode::Sync,
            Self::Ping => OpCode::Ping,
            Self::Check(_) => OpCode::Check,
            Self::Multi(_) => OpCode::Multi,
            Self::MultiRead(_) => OpCode::MultiRead,
            Self::Reconfig(_) => OpCode::Reconfig,
            Self::CheckWatches(_) => OpCode::CheckWatches,
            Self::RemoveWatches(_) => OpCode::RemoveWatches,
            Self::Auth(_) => OpCode::Auth,
            Self::SetWatches(_) => OpCode::SetWatches,
            Self::SetWatches2(_) => OpCode::SetWatches2,
            Self::GetEphemerals(_) => OpCode::GetEphemerals,
            Self::GetAllChildrenNumber(_) => OpCode::GetAllChildrenNumber,
            Self::AddWatch(_) => OpCode::AddWatch,
            Self::WhoAmI => OpCode::WhoAmI,
            Self::CloseSession => OpCode::CloseSession,
            Self::Sasl => OpCode::Sasl,
        }
    }

    /// Whether the request changes the tree (and so goes through the replicated log).
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            Self::Create(_)
                | Self::Create2(_)
                | Self::CreateContainer(_)
                | Self::CreateTtl(_)
                | Self::Delete(_)
                | Self::DeleteContainer(_)
                | Self::SetData(_)
                | Self::SetAcl(_)
                | Self::Check(_)
                | Self::Reconfig(_)
                | Self::Multi(_)
                | Self::CloseSession
        )
    }
}
