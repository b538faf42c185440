//! One connection to one server: dialling, the session handshake, and cutting the byte
//! stream into frames. The session task owns at most one `Conn` at a time.
//!
//! The byte stream comes from a [`Dialer`]: TCP by default ([`TcpDialer`]); an embedding
//! program may supply another (`ferry standalone` connects its broker to its own keeper
//! through an in-process pipe, which no client connection limit counts).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferry_jute::{
    body_len, write_frame, ConnectRequest, ConnectResponse, Record, FRAME_HEADER_LEN,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// A byte stream to a server.
pub trait Transport: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Transport for T {}

/// What a dial yields.
pub type DialFuture<'a> = Pin<Box<dyn Future<Output = io::Result<Box<dyn Transport>>> + Send + 'a>>;

/// Opens byte streams to servers named by the connect string.
pub trait Dialer: Send + Sync + 'static {
    fn dial<'a>(&'a self, host: &'a str, port: u16) -> DialFuture<'a>;
}

/// Dials TCP: every address `host` resolves to, in turn.
pub struct TcpDialer;

impl Dialer for TcpDialer {
    fn dial<'a>(&'a self, host: &'a str, port: u16) -> DialFuture<'a> {
        Box::pin(async move {
            let mut last_error = io::Error::new(io::ErrorKind::NotFound, "no address resolved");
            for addr in tokio::net::lookup_host((host, port)).await? {
                match TcpStream::connect(addr).await {
                    Ok(stream) => {
                        stream.set_nodelay(true)?;
                        return Ok(Box::new(stream) as Box<dyn Transport>);
                    }
                    Err(error) => last_error = error,
                }
            }
            Err(last_error)
        })
    }
}

pub(crate) struct Conn {
    pub stream: Box<dyn Transport>,
    /// Bytes read but not yet cut into frames.
    pub rbuf: BytesMut,
    /// `host:port` as dialled.
    pub server: String,
    pub max_frame: usize,
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

impl Conn {
    /// Dials `host:port` and runs the handshake. The caller bounds the whole with its connect
    /// timeout.
    pub async fn open(
        dialer: &Arc<dyn Dialer>,
        host: &str,
        port: u16,
        request: &ConnectRequest,
        max_frame: usize,
    ) -> io::Result<(Self, ConnectResponse)> {
        let stream = dialer.dial(host, port).await?;
        let server = match host.contains(':') {
            true => format!("[{host}]:{port}"),
            false => format!("{host}:{port}"),
        };
        let mut conn = Self {
            stream,
            rbuf: BytesMut::with_capacity(16 * 1024),
            server,
            max_frame,
        };
        let response = conn.handshake(request).await?;
        Ok((conn, response))
    }

    async fn handshake(&mut self, request: &ConnectRequest) -> io::Result<ConnectResponse> {
        let mut out = Vec::new();
        write_frame(&mut out, &request.to_bytes());
        self.stream.write_all(&out).await?;
        loop {
            if let Some(frame) = self.next_frame()? {
                return ConnectResponse::from_bytes(&frame)
                    .map_err(|e| invalid(format!("bad connect response: {e}")));
            }
            if self.stream.read_buf(&mut self.rbuf).await? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "server closed the connection during the handshake",
                ));
            }
        }
    }

    fn next_frame(&mut self) -> io::Result<Option<Bytes>> {
        cut_frame(&mut self.rbuf, self.max_frame)
    }
}

/// Cuts the next whole frame (its body) off `buf`, if one has arrived. A length over
/// `max_frame` is an error: the connection cannot be trusted to stay in step after it.
pub(crate) fn cut_frame(buf: &mut BytesMut, max_frame: usize) -> io::Result<Option<Bytes>> {
    let len = body_len(buf, max_frame).map_err(|e| invalid(e.to_string()))?;
    match len {
        Some(len) if buf.len() >= FRAME_HEADER_LEN + len => {
            let mut frame = buf.split_to(FRAME_HEADER_LEN + len);
            Ok(Some(frame.split_off(FRAME_HEADER_LEN).freeze()))
        }
        _ => Ok(None),
    }
}

/// Java's `jute.maxbuffer` default for clients: frames longer than this end the connection.
pub const DEFAULT_MAX_FRAME: usize = 0xfffff;

/// How long to wait for one server, as Java computes it: the session timeout shared among the
/// hosts, but never less than a second.
pub(crate) fn connect_timeout(session_timeout_ms: i32, hosts: usize) -> Duration {
    let per_host = session_timeout_ms.max(0) as u64 / hosts.max(1) as u64;
    Duration::from_millis(per_host.max(1000))
}
