//! The small value types of the operations API: znode data, create options, ACL presets.

use bytes::Bytes;
use ferry_jute::{ephemeral_owner, Acl, CreateMode, Id};

use crate::error::Error;

/// Znode data as sent on the wire; `None` is jute's null buffer (what Java sends for a
/// `null` byte array, and what reads back as `dataLength = 0` and data `null`).
pub trait IntoData {
    fn into_data(self) -> Option<Bytes>;
}

impl IntoData for Option<Bytes> {
    fn into_data(self) -> Option<Bytes> {
        self
    }
}

impl IntoData for Bytes {
    fn into_data(self) -> Option<Bytes> {
        Some(self)
    }
}

impl IntoData for Vec<u8> {
    fn into_data(self) -> Option<Bytes> {
        Some(Bytes::from(self))
    }
}

impl IntoData for &[u8] {
    fn into_data(self) -> Option<Bytes> {
        Some(Bytes::copy_from_slice(self))
    }
}

impl<const N: usize> IntoData for &[u8; N] {
    fn into_data(self) -> Option<Bytes> {
        Some(Bytes::copy_from_slice(self))
    }
}

impl IntoData for &str {
    fn into_data(self) -> Option<Bytes> {
        Some(Bytes::copy_from_slice(self.as_bytes()))
    }
}

impl IntoData for String {
    fn into_data(self) -> Option<Bytes> {
        Some(Bytes::from(self))
    }
}

/// How to create a znode: its mode, its ACL (open by default) and, for the TTL modes, its TTL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOptions {
    pub mode: CreateMode,
    pub acl: Vec<Acl>,
    /// Milliseconds; required by the TTL modes and refused by the others.
    pub ttl_ms: Option<i64>,
}

impl CreateOptions {
    pub fn new(mode: CreateMode) -> Self {
        Self {
            mode,
            acl: acl::open_unsafe(),
            ttl_ms: None,
        }
    }

    pub fn persistent() -> Self {
        Self::new(CreateMode::Persistent)
    }

    pub fn ephemeral() -> Self {
        Self::new(CreateMode::Ephemeral)
    }

    pub fn with_acl(mut self, acl: Vec<Acl>) -> Self {
        self.acl = acl;
        self
    }

    pub fn with_ttl(mut self, ttl_ms: i64) -> Self {
        self.ttl_ms = Some(ttl_ms);
        self
    }

    /// The client-side checks Java makes before sending (`EphemeralType.validateTTL`,
    /// `validateACL`), with its messages.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        match (self.mode.is_ttl(), self.ttl_ms) {
            (true, Some(ttl)) if ttl > 0 && ttl <= ephemeral_owner::MAX_TTL => {}
            (true, _) => {
                return Err(Error::BadArguments(format!(
                    "ttl must be positive and cannot be larger than: {}",
                    ephemeral_owner::MAX_TTL
                )))
            }
            (false, Some(_)) => {
                return Err(Error::BadArguments(format!(
                    "ttl not valid for mode: {:?}",
                    self.mode
                )))
            }
            (false, None) => {}
        }
        if self.acl.is_empty() {
            return Err(Error::keeper(ferry_jute::ErrorCode::InvalidAcl, None));
        }
        Ok(())
    }
}

/// ACL presets (Java's `ZooDefs.Ids`).
pub mod acl {
    use super::*;
    use ferry_jute::perms;

    fn single(perms: i32, scheme: &str, id: &str) -> Vec<Acl> {
        vec![Acl {
            perms,
            id: Id {
                scheme: scheme.to_string(),
                id: id.to_string(),
            },
        }]
    }

    /// `world:anyone` may do everything.
    pub fn open_unsafe() -> Vec<Acl> {
        single(perms::ALL, "world", "anyone")
    }

    /// `world:anyone` may read.
    pub fn read_unsafe() -> Vec<Acl> {
        single(perms::READ, "world", "anyone")
    }

    /// Whoever created the node (every identity of the session, via `auth:`) may do everything.
    pub fn creator_all() -> Vec<Acl> {
        single(perms::ALL, "auth", "")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_is_checked_as_java_checks_it() {
        assert!(CreateOptions::persistent().validate().is_ok());
        let ttl = CreateOptions::new(CreateMode::PersistentWithTtl);
        assert_eq!(
            ttl.validate().unwrap_err().to_string(),
            "ttl must be positive and cannot be larger than: 1099511627775"
        );
        assert!(ttl.clone().with_ttl(1000).validate().is_ok());
        assert!(CreateOptions::persistent().with_ttl(5).validate().is_err());
        let no_acl = CreateOptions::persistent().with_acl(Vec::new());
        assert_eq!(
            no_acl.validate().unwrap_err().code(),
            ferry_jute::ErrorCode::InvalidAcl
        );
    }

    #[test]
    fn data_conversions_keep_null_apart() {
        assert_eq!("a".into_data(), Some(Bytes::from_static(b"a")));
        assert_eq!(Option::<Bytes>::None.into_data(), None);
        assert_eq!(b"xy".into_data(), Some(Bytes::from_static(b"xy")));
    }
}
