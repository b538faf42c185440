//! `multi` and `multiRead`: a sequence of `MultiHeader`-prefixed operations closed by a header
//! with `done = true`, answered by results in the same framing.

use crate::codec::{DecodeError, Reader, Record};
use crate::consts::{ErrorCode, OpCode};
use crate::records::*;

/// One operation inside a multi request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultiOp {
    /// `create`, `create2` or `createContainer`; `op` says which answer shape is wanted.
    Create {
        op: OpCode,
        request: CreateRequest,
    },
    CreateTtl(CreateTtlRequest),
    Delete(DeleteRequest),
    SetData(SetDataRequest),
    Check(CheckVersionRequest),
    GetChildren(GetChildrenRequest),
    GetData(GetDataRequest),
}

impl MultiOp {
    pub fn op_code(&self) -> OpCode {
        match self {
            Self::Create { op, .. } => *op,
            Self::CreateTtl(_) => OpCode::CreateTtl,
            Self::Delete(_) => OpCode::Delete,
            Self::SetData(_) => OpCode::SetData,
            Self::Check(_) => OpCode::Check,
            Self::GetChildren(_) => OpCode::GetChildren,
            Self::GetData(_) => OpCode::GetData,
        }
    }

    pub fn is_write(&self) -> bool {
        !matches!(self, Self::GetChildren(_) | Self::GetData(_))
    }

    pub fn path(&self) -> &str {
        match self {
            Self::Create { request, .. } => &request.path,
            Self::CreateTtl(r) => &r.path,
            Self::Delete(r) | Self::Check(r) => &r.path,
            Self::SetData(r) => &r.path,
            Self::GetChildren(r) | Self::GetData(r) => &r.path,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MultiRequest {
    pub ops: Vec<MultiOp>,
}

const END: MultiHeader = MultiHeader {
    op: -1,
    done: true,
    err: -1,
};

impl Record for MultiRequest {
    fn encode(&self, out: &mut Vec<u8>) {
        for op in &self.ops {
            MultiHeader {
                op: op.op_code().code(),
                done: false,
                err: -1,
            }
            .encode(out);
            match op {
                MultiOp::Create { request, .. } => request.encode(out),
                MultiOp::CreateTtl(r) => r.encode(out),
                MultiOp::Delete(r) | MultiOp::Check(r) => r.encode(out),
                MultiOp::SetData(r) => r.encode(out),
                MultiOp::GetChildren(r) | MultiOp::GetData(r) => r.encode(out),
            }
        }
        END.encode(out);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut ops = Vec::new();
        loop {
            let header = MultiHeader::decode(r)?;
            if header.done {
                return Ok(Self { ops });
            }
            let op = OpCode::try_from(header.op)?;
            ops.push(match op {
                OpCode::Create | OpCode::Create2 | OpCode::CreateContainer => MultiOp::Create {
                    op,
                    request: Record::decode(r)?,
                },
                OpCode::CreateTtl => MultiOp::CreateTtl(Record::decode(r)?),
                OpCode::Delete => MultiOp::Delete(Record::decode(r)?),
                OpCode::SetData => MultiOp::SetData(Record::decode(r)?),
                OpCode::Check => MultiOp::Check(Record::decode(r)?),
                OpCode::GetChildren => MultiOp::GetChildren(Record::decode(r)?),
                OpCode::GetData => MultiOp::GetData(Record::decode(r)?),
                _ => {
                    return Err(DecodeError::UnknownValue {
                        what: "multi OpCode",
                        value: header.op,
                    })
                }
            });
        }
    }
}

/// One result inside a multi response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultiResult {
    Create(CreateResponse),
    Create2(Create2Response),
    Delete,
    SetData(SetDataResponse),
    Check,
    GetChildren(GetChildrenResponse),
    GetData(GetDataResponse),
    Error(ErrorCode),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MultiResponse {
    pub results: Vec<MultiResult>,
}

impl Record for MultiResponse {
    fn encode(&self, out: &mut Vec<u8>) {
        for result in &self.results {
            let (op, err) = match result {
                MultiResult::Create(_) => (OpCode::Create, 0),
                MultiResult::Create2(_) => (OpCode::Create2, 0),
                MultiResult::Delete => (OpCode::Delete, 0),
                MultiResult::SetData(_) => (OpCode::SetData, 0),
                MultiResult::Check => (OpCode::Check, 0),
                MultiResult::GetChildren(_) => (OpCode::GetChildren, 0),
                MultiResult::GetData(_) => (OpCode::GetData, 0),
                MultiResult::Error(code) => (OpCode::Error, code.code()),
            };
            MultiHeader {
                op: op.code(),
                done: false,
                err,
            }
            .encode(out);
            match result {
                MultiResult::Create(r) => r.encode(out),
                MultiResult::Create2(r) => r.encode(out),
                MultiResult::SetData(r) => r.encode(out),
                MultiResult::GetChildren(r) => r.encode(out),
                MultiResult::GetData(r) => r.encode(out),
                MultiResult::Error(code) => ErrorResponse { err: code.code() }.encode(out),
                MultiResult::Delete | MultiResult::Check => {}
            }
        }
        END.encode(out);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut results = Vec::new();
        loop {
            let header = MultiHeader::decode(r)?;
            if header.done {
                return Ok(Self { results });
            }
            results.push(match OpCode::try_from(header.op)? {
                OpCode::Create => MultiResult::Create(Record::decode(r)?),
                OpCode::Create2 | OpCode::CreateContainer | OpCode::CreateTtl => {
                    MultiResult::Create2(Record::decode(r)?)
                }
                OpCode::Delete => MultiResult::Delete,
                OpCode::SetData => MultiResult::SetData(Record::decode(r)?),
                OpCode::Check => MultiResult::Check,
                OpCode::GetChildren => MultiResult::GetChildren(Record::decode(r)?),
                OpCode::GetData => MultiResult::GetData(Record::decode(r)?),
                OpCode::Error => {
                    let ErrorResponse { err } = Record::decode(r)?;
                    MultiResult::Error(ErrorCode::try_from(err)?)
                }
                _ => {
                    return Err(DecodeError::UnknownValue {
                        what: "multi result OpCode",
                        value: header.op,
                    })
                }
            });
        }
    }
}
