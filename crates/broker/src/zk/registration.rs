//! Registering a broker: the ephemeral `/brokers/ids/<id>`, its re-registration on a new
//! session, the list of live brokers, and automatic broker ids from `/brokers/seqid`.

use std::time::{SystemTime, UNIX_EPOCH};

use ferry_zkclient::{CreateOptions, ErrorCode};

use super::error::{on, Result, ZkError};
use super::{paths, BrokerInfo, KafkaZk};

/// Kafka's default `reserved.broker.max.id`: configured ids are at most this, generated ones
/// are above it.
pub const DEFAULT_RESERVED_BROKER_MAX_ID: i32 = 1000;

/// How many times a registration is tried when the node changes under it.
const REGISTER_ATTEMPTS: usize = 5;

/// A registration this broker holds: the session that owns the ephemeral, and its czxid (Kafka
/// logs it as the broker epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Registration {
    pub broker_id: i32,
    pub session_id: i64,
    pub czxid: i64,
}

impl KafkaZk {
    /// Registers the broker: creates its ephemeral node. If the node exists and belongs to this
    /// session (a create whose reply was lost), that is the registration; if it belongs to
    /// another session, the id is in use ([`ZkError::BrokerIdInUse`]).
    pub async fn register_broker(&self, info: &BrokerInfo) -> Result<Registration> {
        self.register(info, None).await
    }

    /// Registers the broker on a new session after `previous` (the registration of its old
    /// session) was lost. If the old session's node is still there (the server has not expired
    /// that session yet), it is deleted, conditionally on its version, and the node created
    /// anew for this session.
    pub async fn re_register_broker(
        &self,
        info: &BrokerInfo,
        previous: &Registration,
    ) -> Result<Registration> {
        self.register(info, Some(previous.session_id)).await
    }

    async fn register(&self, info: &BrokerInfo, stale_owner: Option<i64>) -> Result<Registration> {
        let path = paths::broker(info.id);
        let data = info.encode(&path, now_ms())?;
        let session_id = self.session_id();
        let mut owner = 0;
        for _ in 0..REGISTER_ATTEMPTS {
            match self
                .client()
                .create(&path, data.clone(), &CreateOptions::ephemeral())
                .await
            {
                Ok((_, stat)) => {
                    return Ok(Registration {
                        broker_id: info.id,
                        session_id,
                        czxid: stat.czxid,
                    })
                }
                Err(error) if error.code() == ErrorCode::NodeExists => {}
                Err(error) => return Err(ZkError::keeper(&path, error)),
            }
            let Some((_, stat)) = self.get(&path).await? else {
                continue; // gone in between: create again
            };
            if stat.ephemeral_owner == session_id {
                return Ok(Registration {
                    broker_id: info.id,
                    session_id,
                    czxid: stat.czxid,
                });
            }
            owner = stat.ephemeral_owner;
            if Some(owner) != stale_owner {
                break;
            }
            tracing::info!(%path, owner = stat.ephemeral_owner, "removing the registration of our previous session");
            match self.client().delete(&path, Some(stat.version)).await {
                Ok(()) => {}
                Err(error) if matches!(error.code(), ErrorCode::NoNode | ErrorCode::BadVersion) => {
                }
                Err(error) => return Err(ZkError::keeper(&path, error)),
            }
        }
        Err(ZkError::BrokerIdInUse {
            broker_id: info.id,
            path,
            owner,
        })
    }

    /// A live broker's registration.
    pub async fn get_broker(&self, id: i32) -> Result<Option<BrokerInfo>> {
        Ok(self.get_broker_with_epoch(id).await?.map(|(info, _)| info))
    }

    /// A live broker's registration and its epoch (the node's czxid: a broker that restarted
    /// has a new one even when the controller never saw its id missing).
    pub async fn get_broker_with_epoch(&self, id: i32) -> Result<Option<(BrokerInfo, i64)>> {
        let path = paths::broker(id);
        match self.get(&path).await? {
            Some((data, stat)) => {
                BrokerInfo::decode(id, &path, data.as_deref()).map(|info| Some((info, stat.czxid)))
            }
            None => Ok(None),
        }
    }

    /// The ids of the live brokers, ascending (names that are not numbers are skipped).
    pub async fn broker_ids(&self) -> Result<Vec<i32>> {
        let children = self.children(paths::BROKER_IDS).await?;
        Ok(parse_broker_ids(&children))
    }

    /// A fresh broker id for `broker.id.generation.enable`, as Kafka makes one: bump the
    /// version of `/brokers/seqid` with a write of empty data, and add `reserved_max_id` to
    /// the new version. The server bumps the version once per write, so concurrent brokers get
    /// distinct ids without a version check.
    pub async fn generate_broker_id(&self, reserved_max_id: i32) -> Result<i32> {
        let path = paths::BROKER_SEQID;
        let stat = match self.client().set_data(path, &b""[..], None).await {
            Ok(stat) => stat,
            Err(error) if error.code() == ErrorCode::NoNode => {
                match self.create_recursive(path, &b""[..]).await {
                    Ok(()) | Err(ZkError::NodeExists { .. }) => {}
                    Err(error) => return Err(error),
                }
                self.client()
                    .set_data(path, &b""[..], None)
                    .await
                    .map_err(on(path))?
            }
            Err(error) => return Err(ZkError::keeper(path, error)),
        };
        Ok(stat.version + reserved_max_id)
    }
}

/// The broker ids among the children of `/brokers/ids`, ascending.
pub(crate) fn parse_broker_ids(children: &[String]) -> Vec<i32> {
    let mut ids: Vec<i32> = children.iter().filter_map(|c| c.parse().ok()).collect();
    ids.sort_unstable();
    ids
}

/// Milliseconds since the epoch, for the registration's timestamp.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
