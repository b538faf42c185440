//! A minimal HTTP/1.1 server for the admin endpoints (the keeper's AdminServer commands, the
//! Prometheus pages): one request per connection, no keep-alive, which every HTTP client
//! handles. Requests are bounded: the head to [`MAX_HEAD`] bytes, a body to [`MAX_BODY`], the
//! whole read to [`READ_TIMEOUT`], the handler's answer to [`ANSWER_TIMEOUT`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const MAX_HEAD: usize = 16 * 1024;
pub const MAX_BODY: usize = 1 << 20;
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// What a handler sees of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The target's path, without the query.
    pub path: String,
    /// The target's query, without the `?`.
    pub query: String,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A handler's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status line text after the version, e.g. `200 OK`.
    pub status: &'static str,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Response {
    pub fn ok(content_type: &'static str, body: impl Into<Vec<u8>>) -> Self {
        Response {
            status: "200 OK",
            content_type,
            body: body.into(),
        }
    }

    pub fn not_found() -> Self {
        Response {
            status: "404 Not Found",
            content_type: "text/plain",
            body: b"not found\n".to_vec(),
        }
    }

    /// Prometheus' text exposition format.
    pub fn prometheus(text: String) -> Self {
        Self::ok("text/plain; version=0.0.4", text)
    }
}

/// Serves `listener` until the task is dropped, each connection on its own task.
pub async fn serve<H>(listener: TcpListener, handler: H)
where
    H: Fn(Request) -> Response + Send + Sync + 'static,
{
    serve_async(listener, move |request| {
        std::future::ready(handler(request))
    })
    .await
}

/// As [`serve`], for handlers that wait on something (the console asks other servers). Each
/// answer is bounded by [`ANSWER_TIMEOUT`]: a handler that waits longer gets a 504.
pub async fn serve_async<H, F>(listener: TcpListener, handler: H)
where
    H: Fn(Request) -> F + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    let handler = Arc::new(handler);
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let handler = handler.clone();
                tokio::spawn(async move { answer(stream, &*handler).await });
            }
            Err(error) => {
                tracing::warn!(%error, "admin accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn answer<H, F>(mut stream: TcpStream, handler: &H)
where
    H: Fn(Request) -> F,
    F: Future<Output = Response>,
{
    let request = match tokio::time::timeout(READ_TIMEOUT, read_request(&mut stream)).await {
        Ok(Some(request)) => request,
        _ => return,
    };
    let response = tokio::time::timeout(ANSWER_TIMEOUT, handler(request))
        .await
        .unwrap_or_else(|_| Response {
            status: "504 Gateway Timeout",
            content_type: "text/plain",
            body: b"the answer took too long\n".to_vec(),
        });
    let head = format!(
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        response.status,
        response.content_type,
        response.body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(&response.body).await;
    let _ = stream.shutdown().await;
}

async fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        if buf.len() > MAX_HEAD {
            return None;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let mut request = parse_head(&String::from_utf8_lossy(&buf[..head_end]))?;
    let length: usize = request
        .header("content-length")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    if length > MAX_BODY {
        return None;
    }
    let mut body = buf.split_off(head_end + 4);
    while body.len() < length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    body.truncate(length);
    request.body = body;
    Some(request)
}

fn parse_head(head: &str) -> Option<Request> {
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split_whitespace();
    let method = first.next()?.to_string();
    let target = first.next().unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Some(Request {
        method,
        path: path.to_string(),
        query: query.to_string(),
        headers,
        body: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_request_line_and_headers() {
        let r = parse_head("GET /metrics?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3").unwrap();
        assert_eq!(r.method, "GET");
        assert_eq!(r.path, "/metrics");
        assert_eq!(r.query, "x=1");
        assert_eq!(r.header("host"), Some("h"));
        assert_eq!(r.header("Content-Length"), Some("3"));
    }

    #[tokio::test]
    async fn answers_over_tcp() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(serve(listener, |r: Request| {
            Response::ok(
                "text/plain",
                format!("{} {} {}", r.method, r.path, r.body.len()),
            )
        }));
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello")
            .await
            .unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.ends_with("POST /x 5"), "{answer}");
    }
}
