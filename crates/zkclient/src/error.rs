//! The client's error type. Every error maps to a ZooKeeper [`ErrorCode`] through
//! [`Error::code`], so callers can branch on the code the way Java callers branch on
//! `KeeperException` subclasses.

use ferry_jute::{DecodeError, ErrorCode};

/// What a call on [`crate::Client`] can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with an error code, or the session could not carry the request
    /// (`ConnectionLoss`, `SessionExpired`, `AuthFailed`). `path` is the path the caller passed,
    /// without the chroot. Displays as Java's `KeeperException.getMessage()` does.
    #[error("{}", java_message(*code, path.as_deref()))]
    Keeper {
        code: ErrorCode,
        path: Option<String>,
    },
    /// A `multi` failed as a whole: operation `index` (on `path`) failed with `code`, and no
    /// operation was applied.
    #[error("{} (operation {index} of the multi)", java_message(*code, Some(path)))]
    Multi {
        code: ErrorCode,
        index: usize,
        path: String,
    },
    /// The path was refused before it was sent, by the rules of ZooKeeper's `PathUtils`.
    /// Displays as the Java client's `IllegalArgumentException` message.
    #[error("{message}")]
    InvalidPath { path: String, message: String },
    /// A connect string that names no usable host.
    #[error("invalid connect string \"{input}\": {reason}")]
    InvalidConnectString { input: String, reason: String },
    /// An argument the server would refuse anyway (e.g. a TTL out of range).
    #[error("{0}")]
    BadArguments(String),
    /// The server sent bytes that are not the record it owed us.
    #[error("malformed {what} from the server")]
    Decode {
        what: &'static str,
        #[source]
        source: DecodeError,
    },
    /// No server in the connect string accepted a session in time.
    #[error("could not connect to any of {hosts} within {timeout_ms} ms")]
    ConnectTimeout { hosts: String, timeout_ms: u64 },
}

/// Result alias for the client's calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn keeper(code: ErrorCode, path: impl Into<Option<String>>) -> Self {
        Self::Keeper {
            code,
            path: path.into().filter(|p| !p.is_empty()),
        }
    }

    /// The ZooKeeper error code this error stands for, as a Java client would report it.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Keeper { code, .. } | Self::Multi { code, .. } => *code,
            Self::InvalidPath { .. }
            | Self::InvalidConnectString { .. }
            | Self::BadArguments(_) => ErrorCode::BadArguments,
            Self::Decode { .. } => ErrorCode::MarshallingError,
            Self::ConnectTimeout { .. } => ErrorCode::ConnectionLoss,
        }
    }

    /// The path the failed call named, if any.
    pub fn path(&self) -> Option<&str> {
        match self {
            Self::Keeper { path, .. } => path.as_deref(),
            Self::Multi { path, .. } | Self::InvalidPath { path, .. } => Some(path),
            _ => None,
        }
    }

    /// Whether the failure was a lost connection: the request may or may not have been applied,
    /// and the session is still alive (the client is reconnecting).
    pub fn is_connection_loss(&self) -> bool {
        self.code() == ErrorCode::ConnectionLoss
    }

    /// Whether the session is gone for good: expired, closed, or refused authentication.
    pub fn is_session_gone(&self) -> bool {
        matches!(
            self.code(),
            ErrorCode::SessionExpired | ErrorCode::AuthFailed
        )
    }
}

/// `KeeperException.getMessage()`: `KeeperErrorCode = NoNode for /a`.
pub fn java_message(code: ErrorCode, path: Option<&str>) -> String {
    match path {
        Some(path) if !path.is_empty() => {
            format!("KeeperErrorCode = {} for {path}", java_code_name(code))
        }
        _ => format!("KeeperErrorCode = {}", java_code_name(code)),
    }
}

/// `KeeperException.getCodeMessage()`, the name Java prints for each code.
pub fn java_code_name(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::Ok => "ok",
        ErrorCode::SystemError => "SystemError",
        ErrorCode::RuntimeInconsistency => "RuntimeInconsistency",
        ErrorCode::DataInconsistency => "DataInconsistency",
        ErrorCode::ConnectionLoss => "ConnectionLoss",
        ErrorCode::MarshallingError => "MarshallingError",
        ErrorCode::Unimplemented => "Unimplemented",
        ErrorCode::OperationTimeout => "OperationTimeout",
        ErrorCode::BadArguments => "BadArguments",
        ErrorCode::UnknownSession => "Unknown session",
        ErrorCode::NewConfigNoQuorum => "NewConfigNoQuorum",
        ErrorCode::ReconfigInProgress => "ReconfigInProgress",
        ErrorCode::ApiError => "APIError",
        ErrorCode::NoNode => "NoNode",
        ErrorCode::NoAuth => "NoAuth",
        ErrorCode::BadVersion => "BadVersion",
        ErrorCode::NoChildrenForEphemerals => "NoChildrenForEphemerals",
        ErrorCode::NodeExists => "NodeExists",
        ErrorCode::NotEmpty => "Directory not empty",
        ErrorCode::SessionExpired => "Session expired",
        ErrorCode::InvalidCallback => "Invalid callback",
        ErrorCode::InvalidAcl => "InvalidACL",
        ErrorCode::AuthFailed => "AuthFailed",
        ErrorCode::SessionMoved => "Session moved",
        ErrorCode::NotReadOnly => "Not a read-only call",
        ErrorCode::EphemeralOnLocalSession => "Ephemeral node on local session",
        ErrorCode::NoWatcher => "No such watcher",
        ErrorCode::RequestTimeout => "Request timeout",
        ErrorCode::ReconfigDisabled => "Reconfig is disabled",
        ErrorCode::SessionClosedRequireSaslAuth => {
            "Session closed because client failed to authenticate"
        }
        ErrorCode::QuotaExceeded => "Quota has exceeded",
        ErrorCode::ThrottledOp => "Op throttled due to high load",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_like_keeper_exception() {
        let error = Error::keeper(ErrorCode::NoNode, Some("/a".to_string()));
        assert_eq!(error.to_string(), "KeeperErrorCode = NoNode for /a");
        let error = Error::keeper(ErrorCode::ConnectionLoss, None);
        assert_eq!(error.to_string(), "KeeperErrorCode = ConnectionLoss");
        assert!(error.is_connection_loss());
        assert_eq!(
            java_message(ErrorCode::NotEmpty, Some("/x")),
            "KeeperErrorCode = Directory not empty for /x"
        );
    }
}
