//! An in-process fake broker: decodes each request with ferry-kafka-protocol and answers what
//! the test's handler says, so the client can be tested without a real broker.

#![allow(dead_code)]

use std::sync::Arc;

use bytes::{BufMut, BytesMut};
use ferry_kafka_protocol::messages::api_versions::ApiVersion;
use ferry_kafka_protocol::messages::ApiVersionsResponse;
use ferry_kafka_protocol::{
    decode_request, encode_response, ApiKey, RequestBody, RequestHeader, ResponseBody,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the fake does with one request.
pub enum Reply {
    /// Answer now (and then every held answer, last held first).
    Now(ResponseBody),
    /// Answer later, after the next `Now`: responses arrive out of order.
    Hold(ResponseBody),
    /// Never answer.
    Never,
    /// Close the connection.
    Close,
}

pub type Handler = dyn Fn(&RequestHeader, RequestBody) -> Reply + Send + Sync;

pub struct Fake {
    pub addr: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// ApiVersions listing `apis` at their versions in this crate, except `max` overrides.
pub fn api_versions(apis: &[ApiKey], max: &[(ApiKey, i16)]) -> ResponseBody {
    ApiVersionsResponse {
        api_keys: apis
            .iter()
            .map(|k| ApiVersion {
                api_key: k.key(),
                min_version: k.min_version(),
                max_version: max
                    .iter()
                    .find(|(m, _)| m == k)
                    .map_or(k.max_version(), |(_, v)| *v),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
    .into()
}

pub async fn start(
    handler: impl Fn(&RequestHeader, RequestBody) -> Reply + Send + Sync + 'static,
) -> Fake {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let handler: Arc<Handler> = Arc::new(handler);
    let task = tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(serve(socket, handler.clone()));
        }
    });
    Fake { addr, task }
}

async fn serve(mut socket: tokio::net::TcpStream, handler: Arc<Handler>) {
    let mut held: Vec<BytesMut> = Vec::new();
    loop {
        let Ok(size) = socket.read_u32().await else {
            return;
        };
        let mut frame = vec![0u8; size as usize];
        if socket.read_exact(&mut frame).await.is_err() {
            return;
        }
        let (header, body) = decode_request(&frame).expect("the client sends valid requests");
        let encode = |body: ResponseBody| {
            let out =
                encode_response(header.correlation_id, header.api_version, &body).expect("encodes");
            let mut framed = BytesMut::new();
            framed.put_u32(out.len() as u32);
            framed.extend_from_slice(&out.to_vec().expect("in memory"));
            framed
        };
        match handler(&header, body) {
            Reply::Now(body) => {
                held.push(encode(body));
                while let Some(out) = held.pop() {
                    if socket.write_all(&out).await.is_err() {
                        return;
                    }
                }
            }
            Reply::Hold(body) => held.push(encode(body)),
            Reply::Never => {}
            Reply::Close => return,
        }
    }
}
