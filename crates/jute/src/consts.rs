//! The numeric constants of the protocol: opcodes, error codes, watch event types and states,
//! create modes, permissions, watcher types, special xids.

use crate::codec::DecodeError;

/// Declares a `#[repr(i32)]` enum with `code()` and a `TryFrom<i32>` that names the enum in its
/// error.
macro_rules! wire_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:expr),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(i32)]
        pub enum $name { $($(#[$vmeta])* $variant = $value),* }

        impl $name {
            pub const fn code(self) -> i32 {
                self as i32
            }
        }

        impl TryFrom<i32> for $name {
            type Error = DecodeError;
            fn try_from(value: i32) -> Result<Self, DecodeError> {
                match value {
                    $($value => Ok(Self::$variant),)*
                    _ => Err(DecodeError::UnknownValue { what: stringify!($name), value }),
                }
            }
        }
    };
}

wire_enum! {
    /// `ZooDefs.OpCode`.
    pub enum OpCode {
        Notification = 0,
        Create = 1,
        Delete = 2,
        Exists = 3,
        GetData = 4,
        SetData = 5,
        GetAcl = 6,
        SetAcl = 7,
        GetChildren = 8,
        Sync = 9,
        Ping = 11,
        GetChildren2 = 12,
        Check = 13,
        Multi = 14,
        Create2 = 15,
        Reconfig = 16,
        CheckWatches = 17,
        RemoveWatches = 18,
        CreateContainer = 19,
        DeleteContainer = 20,
        CreateTtl = 21,
        MultiRead = 22,
        Auth = 100,
        SetWatches = 101,
        Sasl = 102,
        GetEphemerals = 103,
        GetAllChildrenNumber = 104,
        SetWatches2 = 105,
        AddWatch = 106,
        WhoAmI = 107,
        CreateSession = -10,
        CloseSession = -11,
        Error = -1,
    }
}

wire_enum! {
    /// `KeeperException.Code`.
    pub enum ErrorCode {
        Ok = 0,
        SystemError = -1,
        RuntimeInconsistency = -2,
        DataInconsistency = -3,
        ConnectionLoss = -4,
        MarshallingError = -5,
        Unimplemented = -6,
        OperationTimeout = -7,
        BadArguments = -8,
        UnknownSession = -12,
        NewConfigNoQuorum = -13,
        ReconfigInProgress = -14,
        ApiError = -100,
        NoNode = -101,
        NoAuth = -102,
        BadVersion = -103,
        NoChildrenForEphemerals = -108,
        NodeExists = -110,
        NotEmpty = -111,
        SessionExpired = -112,
        InvalidCallback = -113,
        InvalidAcl = -114,
        AuthFailed = -115,
        SessionMoved = -118,
        NotReadOnly = -119,
        EphemeralOnLocalSession = -120,
        NoWatcher = -121,
        RequestTimeout = -122,
        ReconfigDisabled = -123,
        SessionClosedRequireSaslAuth = -124,
        QuotaExceeded = -125,
        ThrottledOp = -127,
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?} ({})", self.code())
    }
}

impl std::error::Error for ErrorCode {}

wire_enum! {
    /// `Watcher.Event.EventType`.
    pub enum EventType {
        None = -1,
        NodeCreated = 1,
        NodeDeleted = 2,
        NodeDataChanged = 3,
        NodeChildrenChanged = 4,
        DataWatchRemoved = 5,
        ChildWatchRemoved = 6,
        PersistentWatchRemoved = 7,
    }
}

wire_enum! {
    /// `Watcher.Event.KeeperState`.
    pub enum KeeperState {
        Disconnected = 0,
        SyncConnected = 3,
        AuthFailed = 4,
        ConnectedReadOnly = 5,
        SaslAuthenticated = 6,
        Expired = -112,
        Closed = 7,
    }
}

wire_enum! {
    /// `CreateMode`, as sent in `CreateRequest.flags`.
    pub enum CreateMode {
        Persistent = 0,
        Ephemeral = 1,
        PersistentSequential = 2,
        EphemeralSequential = 3,
        Container = 4,
        PersistentWithTtl = 5,
        PersistentSequentialWithTtl = 6,
    }
}

impl CreateMode {
    pub fn is_ephemeral(self) -> bool {
        matches!(self, Self::Ephemeral | Self::EphemeralSequential)
    }
    pub fn is_sequential(self) -> bool {
        matches!(
            self,
            Self::PersistentSequential
                | Self::EphemeralSequential
                | Self::PersistentSequentialWithTtl
        )
    }
    pub fn is_container(self) -> bool {
        self == Self::Container
    }
    pub fn is_ttl(self) -> bool {
        matches!(
            self,
            Self::PersistentWithTtl | Self::PersistentSequentialWithTtl
        )
    }
}

wire_enum! {
    /// `Watcher.WatcherType`, used by checkWatches/removeWatches.
    pub enum WatcherType {
        Children = 1,
        Data = 2,
        Any = 3,
        Persistent = 4,
        PersistentRecursive = 5,
    }
}

wire_enum! {
    /// `AddWatchMode`.
    pub enum AddWatchMode {
        Persistent = 0,
        PersistentRecursive = 1,
    }
}

/// `ZooDefs.Perms` bits.
pub mod perms {
    pub const READ: i32 = 1;
    pub const WRITE: i32 = 2;
    pub const CREATE: i32 = 4;
    pub const DELETE: i32 = 8;
    pub const ADMIN: i32 = 16;
    pub const ALL: i32 = READ | WRITE | CREATE | DELETE | ADMIN;

    /// Permissions as zkCli.sh prints them: `cdrwa`, in that order.
    pub fn letters(bits: i32) -> String {
        [
            (CREATE, 'c'),
            (DELETE, 'd'),
            (READ, 'r'),
            (WRITE, 'w'),
            (ADMIN, 'a'),
        ]
        .iter()
        .filter(|(bit, _)| bits & bit != 0)
        .map(|(_, letter)| *letter)
        .collect()
    }
}

/// The xids the protocol reserves for frames that are not answers to a numbered request.
pub mod xid {
    pub const NOTIFICATION: i32 = -1;
    pub const PING: i32 = -2;
    pub const AUTH: i32 = -4;
    pub const SET_WATCHES: i32 = -8;
}

/// `ephemeralOwner` values that mark a node as a container or TTL node rather than an
/// ephemeral (ZooKeeper's `EphemeralType`).
pub mod ephemeral_owner {
    pub const CONTAINER: i64 = i64::MIN;
    /// High byte 0xff marks an extended type; the low 40 bits hold the TTL in milliseconds.
    pub const TTL_MARKER: i64 = 0xff00_0000_0000_0000_u64 as i64;
    pub const MAX_TTL: i64 = 0x00ff_ffff_ffff;

    pub fn for_ttl(ttl_ms: i64) -> i64 {
        TTL_MARKER | (ttl_ms & MAX_TTL)
    }

    /// The TTL of a TTL node, or `None` for any other owner value.
    pub fn ttl(owner: i64) -> Option<i64> {
        let is_ttl = owner & TTL_MARKER == TTL_MARKER && owner & 0x00ff_ff00_0000_0000 == 0;
        is_ttl.then_some(owner & MAX_TTL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_opcode_names_the_enum() {
        assert_eq!(
            OpCode::try_from(999),
            Err(DecodeError::UnknownValue {
                what: "OpCode",
                value: 999
            })
        );
    }

    #[test]
    fn ttl_owner_round_trips() {
        let owner = ephemeral_owner::for_ttl(5_000);
        assert_eq!(ephemeral_owner::ttl(owner), Some(5_000));
        assert_eq!(ephemeral_owner::ttl(ephemeral_owner::CONTAINER), None);
        assert_eq!(ephemeral_owner::ttl(0x1234), None);
    }
}
