//! Controller election: the ephemeral `/controller` names the controller, `/controller_epoch`
//! counts elections.
//!
//! JSON of `/controller`: `{"version":1,"brokerid":N,"timestamp":"<ms>"}`. `/controller_epoch`
//! holds the epoch as a decimal string. As in Kafka's
//! `registerControllerAndIncrementControllerEpoch`, a broker wins by creating `/controller` and
//! setting `/controller_epoch` to the next epoch, conditionally on the epoch's znode version,
//! in one `multi`; the new znode version then fences its writes ([`ControllerEpoch`]).

use ferry_zkclient::{CreateOptions, Op, OpResult, Watch};
use serde::{Deserialize, Serialize};

use super::error::{Result, ZkError};
use super::registration::now_ms;
use super::{json, paths, ControllerEpoch, KafkaZk, ZnodeWatch};

/// The epoch `/controller_epoch` starts at before the first election (Kafka's
/// `InitialControllerEpoch`).
const INITIAL_CONTROLLER_EPOCH: i32 = 0;

/// How many times an election is tried when the controller vanishes while it runs.
const ELECTION_ATTEMPTS: usize = 5;

#[derive(Serialize)]
struct ControllerOut {
    version: i32,
    brokerid: i32,
    timestamp: String,
}

/// The data of `/controller`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ControllerInfo {
    #[serde(rename = "brokerid")]
    pub broker_id: i32,
    #[serde(default)]
    pub timestamp: Option<String>,
}

/// The outcome of [`KafkaZk::elect_controller`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Election {
    /// This broker is the controller, in this epoch.
    Won(ControllerEpoch),
    /// Another broker is (`None`: was, and has gone already; elect again).
    Lost { controller: Option<i32> },
}

/// A watch on `/controller` and who was controller when it was set.
pub type ControllerWatch = ZnodeWatch<Option<i32>>;

impl KafkaZk {
    /// Who is controller, if anyone.
    pub async fn get_controller(&self) -> Result<Option<ControllerInfo>> {
        match self.get(paths::CONTROLLER).await? {
            Some((data, _)) => json::decode(paths::CONTROLLER, data.as_deref()).map(Some),
            None => Ok(None),
        }
    }

    /// The current controller epoch and its znode version, if there was an election.
    pub async fn get_controller_epoch(&self) -> Result<Option<ControllerEpoch>> {
        let Some((data, stat)) = self.get(paths::CONTROLLER_EPOCH).await? else {
            return Ok(None);
        };
        let epoch = parse_epoch(data.as_deref()).ok_or_else(|| ZkError::Malformed {
            path: paths::CONTROLLER_EPOCH.to_string(),
            reason: "not a decimal epoch".to_string(),
        })?;
        Ok(Some(ControllerEpoch {
            epoch,
            zk_version: stat.version,
        }))
    }

    /// Leaves a watch on `/controller` (its creation if there is none, its deletion if there
    /// is) and says who is controller now.
    pub async fn watch_controller(&self) -> Result<ControllerWatch> {
        let (watch, events) = Watch::channel();
        let exists = self
            .client()
            .exists(paths::CONTROLLER, watch)
            .await
            .map_err(|e| ZkError::keeper(paths::CONTROLLER, e))?;
        let controller = match exists {
            Some(_) => self.get_controller().await?.map(|c| c.broker_id),
            None => None,
        };
        Ok(ZnodeWatch::new(controller, paths::CONTROLLER, events))
    }

    /// Deletes `/controller`, held by a broker whose process is gone, unless a controller was
    /// elected since `seen` (the epoch read when that broker was seen holding it): its session
    /// would keep the node until it expires. True if this call deleted it.
    pub async fn depose_controller(&self, seen: &ControllerEpoch) -> Result<bool> {
        let ops = vec![Op::delete(paths::CONTROLLER, None)];
        match self.write_fenced(Some(seen), ops).await {
            Ok(_) => Ok(true),
            Err(
                ZkError::ControllerMoved { .. }
                | ZkError::StaleVersion { .. }
                | ZkError::NoNode { .. },
            ) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Tries to become controller: creates `/controller` and increments `/controller_epoch`
    /// atomically. Losing is not an error: the winner is named in [`Election::Lost`]. A session
    /// that is controller already gets its epoch back.
    pub async fn elect_controller(&self, broker_id: i32) -> Result<Election> {
        for _ in 0..ELECTION_ATTEMPTS {
            let current = match self.get_controller_epoch().await? {
                Some(current) => current,
                None => self.create_controller_epoch().await?,
            };
            let next = current.epoch + 1;
            let data = json::encode(
                paths::CONTROLLER,
                &ControllerOut {
                    version: 1,
                    brokerid: broker_id,
                    timestamp: now_ms().to_string(),
                },
            )?;
            let ops = vec![
                Op::create(paths::CONTROLLER, data, CreateOptions::ephemeral()),
                Op::set_data(
                    paths::CONTROLLER_EPOCH,
                    next.to_string(),
                    Some(current.zk_version),
                ),
            ];
            match self.write_fenced(None, ops).await {
                Ok(results) => {
                    let zk_version = match results.get(1) {
                        Some(OpResult::SetData(stat)) => stat.version,
                        _ => current.zk_version + 1,
                    };
                    return Ok(Election::Won(ControllerEpoch {
                        epoch: next,
                        zk_version,
                    }));
                }
                Err(ZkError::NodeExists { .. } | ZkError::StaleVersion { .. }) => {}
                Err(error) => return Err(error),
            }
            if let Some(outcome) = self.check_election(broker_id).await? {
                return Ok(outcome);
            }
        }
        Ok(Election::Lost { controller: None })
    }

    /// After a failed election: is this session controller after all (a lost reply, or it
    /// was already), or who is? `None` when nobody holds `/controller` now.
    async fn check_election(&self, broker_id: i32) -> Result<Option<Election>> {
        let Some((data, stat)) = self.get(paths::CONTROLLER).await? else {
            return Ok(None);
        };
        let info: ControllerInfo = json::decode(paths::CONTROLLER, data.as_deref())?;
        if info.broker_id == broker_id && stat.ephemeral_owner == self.session_id() {
            // Ours: only the holder of /controller moves the epoch, so the current one is ours.
            if let Some(current) = self.get_controller_epoch().await? {
                return Ok(Some(Election::Won(current)));
            }
        }
        Ok(Some(Election::Lost {
            controller: Some(info.broker_id),
        }))
    }

    /// Creates `/controller_epoch` at the initial epoch, or reads the one a racer created.
    async fn create_controller_epoch(&self) -> Result<ControllerEpoch> {
        let data = INITIAL_CONTROLLER_EPOCH.to_string();
        match self.create_recursive(paths::CONTROLLER_EPOCH, data).await {
            Ok(()) => Ok(ControllerEpoch {
                epoch: INITIAL_CONTROLLER_EPOCH,
                zk_version: 0,
            }),
            Err(ZkError::NodeExists { path }) => self
                .get_controller_epoch()
                .await?
                .ok_or(ZkError::NoNode { path }),
            Err(error) => Err(error),
        }
    }

    /// Gives up the controllership of `epoch`: deletes `/controller` behind the epoch fence.
    pub async fn resign_controller(&self, epoch: &ControllerEpoch) -> Result<()> {
        self.write_fenced(Some(epoch), vec![Op::delete(paths::CONTROLLER, None)])
            .await
            .map(drop)
    }
}

fn parse_epoch(data: Option<&[u8]>) -> Option<i32> {
    std::str::from_utf8(data?).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_kafkas() {
        let out = ControllerOut {
            version: 1,
            brokerid: 2,
            timestamp: "1636000000000".to_string(),
        };
        let text = serde_json::to_string(&out).unwrap();
        assert_eq!(
            text,
            r#"{"version":1,"brokerid":2,"timestamp":"1636000000000"}"#
        );
        let info: ControllerInfo = serde_json::from_str(&text).unwrap();
        assert_eq!(info.broker_id, 2);
        assert_eq!(parse_epoch(Some(b"17")), Some(17));
        assert_eq!(parse_epoch(Some(b"x")), None);
    }
}
