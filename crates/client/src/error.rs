//! The client's error type: transport failures, timeouts, protocol errors and Kafka error codes
//! returned by the broker, each with enough context to print as the tools' one-line message.

use std::time::Duration;

use ferry_kafka_protocol::{ErrorCode, ProtocolError};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ClientError {
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("no broker reachable among {bootstrap}: {last}")]
    NoBroker { bootstrap: String, last: String },
    #[error("timed out after {timeout:?} waiting for {what}")]
    Timeout { what: String, timeout: Duration },
    #[error("connection to {addr} closed")]
    Disconnected { addr: String },
    #[error("I/O error on the connection to {addr}: {source}")]
    Io {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("protocol error: {0}")]
    Protocol(#[from] ProtocolError),
    #[error("the broker at {addr} does not support {api} (this client speaks v{min}-v{max})")]
    Unsupported {
        addr: String,
        api: &'static str,
        min: i16,
        max: i16,
    },
    /// An error code in a response.
    #[error("{context}: {}{}", code_name(*.code), .message.as_deref().map(|m| format!(" ({m})")).unwrap_or_default())]
    Kafka {
        code: i16,
        context: String,
        message: Option<String>,
    },
    #[error("unexpected response: {0}")]
    UnexpectedResponse(String),
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T> = std::result::Result<T, ClientError>;

fn code_name(code: i16) -> String {
    match ErrorCode::from_code(code) {
        Some(e) => e.name().to_string(),
        None => format!("error code {code}"),
    }
}

impl ClientError {
    /// The Kafka error code, if this is a broker-reported error.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Kafka { code, .. } => ErrorCode::from_code(*code),
            _ => None,
        }
    }
}

/// `Ok(())` for error code 0, else a [`ClientError::Kafka`] naming `context`.
pub fn check(code: i16, context: impl Into<String>, message: Option<&str>) -> Result<()> {
    if code == ErrorCode::None.code() {
        return Ok(());
    }
    Err(ClientError::Kafka {
        code,
        context: context.into(),
        message: message.filter(|m| !m.is_empty()).map(str::to_string),
    })
}
