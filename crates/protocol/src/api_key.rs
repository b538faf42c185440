//! The APIs this crate implements, with the versions it supports.
//!
//! Version ranges are those a Kafka 2.8/3.x broker serves; current
//! librdkafka, kafka-python and the Java client negotiate within them.
//! The inter-broker APIs (LeaderAndIsr, StopReplica, UpdateMetadata,
//! ControlledShutdown) have Kafka 2.8's ranges: the ZooKeeper-mode
//! protocol, without the KRaft-migration versions 3.4+ added.

macro_rules! api_keys {
    ($($name:ident = $key:literal, $min:literal..=$max:literal, flexible $flex:expr;)*) => {
        /// A Kafka API (request type).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(i16)]
        pub enum ApiKey {
            $(
                #[allow(missing_docs)]
                $name = $key,
            )*
        }

        impl ApiKey {
            /// Every API this crate implements, by key.
            pub const ALL: &'static [ApiKey] = &[$(ApiKey::$name),*];

            /// The API for a wire key, if implemented.
            pub fn from_key(key: i16) -> Option<Self> {
                match key {
                    $($key => Some(Self::$name),)*
                    _ => None,
                }
            }

            /// Lowest supported version.
            pub fn min_version(self) -> i16 {
                match self { $(Self::$name => $min,)* }
            }

            /// Highest supported version.
            pub fn max_version(self) -> i16 {
                match self { $(Self::$name => $max,)* }
            }

            /// First flexible version (compact encodings, tagged fields), if any.
            pub fn first_flexible(self) -> Option<i16> {
                match self { $(Self::$name => $flex,)* }
            }

            /// The API's name as Kafka spells it.
            pub fn name(self) -> &'static str {
                match self { $(Self::$name => stringify!($name),)* }
            }
        }
    };
}

api_keys! {
    Produce = 0, 0..=9, flexible Some(9);
    Fetch = 1, 0..=12, flexible Some(12);
    ListOffsets = 2, 0..=7, flexible Some(6);
    Metadata = 3, 0..=12, flexible Some(9);
    LeaderAndIsr = 4, 0..=5, flexible Some(4);
    StopReplica = 5, 0..=3, flexible Some(2);
    UpdateMetadata = 6, 0..=7, flexible Some(6);
    // v0 has a header without client id; not supported.
    ControlledShutdown = 7, 1..=3, flexible Some(3);
    OffsetCommit = 8, 0..=8, flexible Some(8);
    OffsetFetch = 9, 0..=8, flexible Some(6);
    FindCoordinator = 10, 0..=4, flexible Some(3);
    JoinGroup = 11, 0..=9, flexible Some(6);
    Heartbeat = 12, 0..=4, flexible Some(4);
    LeaveGroup = 13, 0..=5, flexible Some(4);
    SyncGroup = 14, 0..=5, flexible Some(4);
    DescribeGroups = 15, 0..=5, flexible Some(5);
    ListGroups = 16, 0..=4, flexible Some(3);
    SaslHandshake = 17, 0..=1, flexible None;
    ApiVersions = 18, 0..=3, flexible Some(3);
    CreateTopics = 19, 0..=7, flexible Some(5);
    DeleteTopics = 20, 0..=6, flexible Some(4);
    DeleteRecords = 21, 0..=2, flexible Some(2);
    InitProducerId = 22, 0..=4, flexible Some(2);
    OffsetForLeaderEpoch = 23, 0..=4, flexible Some(4);
    DescribeConfigs = 32, 0..=4, flexible Some(4);
    AlterConfigs = 33, 0..=2, flexible Some(2);
    DescribeLogDirs = 35, 0..=4, flexible Some(2);
    CreatePartitions = 37, 0..=3, flexible Some(2);
    DeleteGroups = 42, 0..=2, flexible Some(2);
    ElectLeaders = 43, 0..=2, flexible Some(2);
    IncrementalAlterConfigs = 44, 0..=1, flexible Some(1);
    AlterPartitionReassignments = 45, 0..=0, flexible Some(0);
    ListPartitionReassignments = 46, 0..=0, flexible Some(0);
    OffsetDelete = 47, 0..=0, flexible None;
    DescribeCluster = 60, 0..=0, flexible Some(0);
}

impl ApiKey {
    /// The wire key.
    pub fn key(self) -> i16 {
        self as i16
    }

    /// Whether `version` is within the supported range.
    pub fn supports(self, version: i16) -> bool {
        (self.min_version()..=self.max_version()).contains(&version)
    }

    /// Whether `version` is a flexible version of this API.
    pub fn is_flexible(self, version: i16) -> bool {
        self.first_flexible().is_some_and(|f| version >= f)
    }

    /// Request header version for `version`: 2 if flexible, else 1
    /// (v0, without client id, is only used by ControlledShutdown v0,
    /// which this crate does not support).
    pub fn request_header_version(self, version: i16) -> i16 {
        if self.is_flexible(version) {
            2
        } else {
            1
        }
    }

    /// Response header version for `version`: 1 if flexible, else 0;
    /// ApiVersions responses always use v0 so that a client can parse
    /// them before it knows what the broker supports.
    pub fn response_header_version(self, version: i16) -> i16 {
        if self != ApiKey::ApiVersions && self.is_flexible(version) {
            1
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_and_headers() {
        assert_eq!(ApiKey::from_key(18), Some(ApiKey::ApiVersions));
        assert_eq!(ApiKey::from_key(4), Some(ApiKey::LeaderAndIsr));
        assert_eq!(ApiKey::from_key(24), None);
        // ControlledShutdown v0 (header without client id) is not supported.
        assert_eq!(ApiKey::ControlledShutdown.min_version(), 1);
        assert!(!ApiKey::ControlledShutdown.supports(0));
        assert_eq!(ApiKey::ControlledShutdown.request_header_version(1), 1);
        assert_eq!(ApiKey::ControlledShutdown.request_header_version(3), 2);
        assert_eq!(ApiKey::LeaderAndIsr.request_header_version(3), 1);
        assert_eq!(ApiKey::LeaderAndIsr.response_header_version(4), 1);
        assert!(ApiKey::StopReplica.is_flexible(2) && !ApiKey::StopReplica.is_flexible(1));
        assert!(ApiKey::UpdateMetadata.is_flexible(6) && !ApiKey::UpdateMetadata.is_flexible(5));
        assert_eq!(ApiKey::ApiVersions.response_header_version(3), 0);
        assert_eq!(ApiKey::ApiVersions.request_header_version(3), 2);
        assert_eq!(ApiKey::Metadata.response_header_version(9), 1);
        assert_eq!(ApiKey::Metadata.request_header_version(8), 1);
        assert!(!ApiKey::SaslHandshake.is_flexible(1));
        for k in ApiKey::ALL {
            assert_eq!(ApiKey::from_key(k.key()), Some(*k));
        }
    }
}
