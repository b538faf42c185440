//! A pipelining ZooKeeper session on raw jute frames: the bench's own load client, which
//! keeps many requests in flight on one connection with no client-side overhead to speak of.

use std::time::Duration;

use ferry_jute::{
    perms, write_frame, Acl, Bytes, ConnectRequest, ConnectResponse, CreateRequest, Id, OpCode,
    PathAndWatch, Record, ReplyHeader, RequestHeader, SetDataRequest,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

use crate::workload::Operation;

pub struct Session {
    pub reader: Answers,
    pub writer: Requests,
}

/// The sending half: encodes requests into a buffer and writes them out in one go.
pub struct Requests {
    writer: OwnedWriteHalf,
    xid: i32,
    out: Vec<u8>,
}

/// The receiving half: reads answers in the order the requests were sent (ZooKeeper answers
/// a session's requests in order).
pub struct Answers {
    reader: BufReader<OwnedReadHalf>,
}

impl Session {
    /// Opens a session, retrying for a while: a server may answer `srvr` a little before it
    /// accepts sessions.
    pub async fn open(port: u16) -> Self {
        for _ in 0..100 {
            match Self::try_open(port).await {
                Ok(session) => return session,
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        panic!("no session from the server on port {port} within 10 s");
    }

    async fn try_open(port: u16) -> std::io::Result<Self> {
        let stream = TcpStream::connect(("127.0.0.1", port)).await?;
        stream.set_nodelay(true)?;
        let (read, mut writer) = stream.into_split();
        let mut frame = Vec::new();
        let connect = ConnectRequest {
            time_out: 30_000,
            passwd: Bytes::from_static(&[0; 16]),
            ..ConnectRequest::default()
        };
        write_frame(&mut frame, &connect.to_bytes());
        writer.write_all(&frame).await?;
        let mut reader = BufReader::new(read);
        let body = read_frame(&mut reader).await?;
        let response = ConnectResponse::from_bytes(&body)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        if response.session_id == 0 {
            return Err(std::io::Error::other("session refused"));
        }
        Ok(Self {
            reader: Answers { reader },
            writer: Requests {
                writer,
                xid: 0,
                out: Vec::new(),
            },
        })
    }
}

async fn read_frame(reader: &mut BufReader<OwnedReadHalf>) -> std::io::Result<Vec<u8>> {
    let len = reader.read_i32().await? as usize;
    let mut body = vec![0; len];
    reader.read_exact(&mut body).await?;
    Ok(body)
}

fn open_acl() -> Vec<Acl> {
    vec![Acl {
        perms: perms::ALL,
        id: Id {
            scheme: "world".into(),
            id: "anyone".into(),
        },
    }]
}

impl Requests {
    fn encode(&mut self, op: OpCode, body: &impl Record) {
        self.xid += 1;
        let mut payload = RequestHeader {
            xid: self.xid,
            op: op.code(),
        }
        .to_bytes();
        body.encode(&mut payload);
        write_frame(&mut self.out, &payload);
    }

    /// Queues one operation; `flush` sends what is queued.
    pub fn push(&mut self, operation: Operation) {
        match operation {
            Operation::Create(path, value) => self.encode(
                OpCode::Create,
                &CreateRequest {
                    path,
                    data: Some(Bytes::from(value)),
                    acl: open_acl(),
                    flags: 0,
                },
            ),
            Operation::SetData(path, value) => self.encode(
                OpCode::SetData,
                &SetDataRequest {
                    path,
                    data: Some(Bytes::from(value)),
                    version: -1,
                },
            ),
            Operation::GetData(path) => {
                self.encode(OpCode::GetData, &PathAndWatch { path, watch: false })
            }
        }
    }

    pub async fn flush(&mut self) {
        if !self.out.is_empty() {
            self.writer.write_all(&self.out).await.expect("send");
            self.out.clear();
        }
    }
}

impl Answers {
    /// Reads one answer and returns its error code (0 for success).
    pub async fn next(&mut self) -> i32 {
        let frame = read_frame(&mut self.reader).await.expect("answer");
        ReplyHeader::from_bytes(&frame).map_or(-1, |h| h.err)
    }
}
