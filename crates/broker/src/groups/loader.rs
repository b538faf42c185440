//! Rebuilding the groups of one `__consumer_offsets` partition when this broker becomes its
//! leader (Kafka's `GroupMetadataManager.loadGroupsAndOffsets`): the partition is read from its
//! start in log order, so the latest record for a key wins and a tombstone (null value)
//! deletes what came before, exactly the state compaction converges to.

use std::collections::HashMap;

use super::group::Group;
use super::offsets_topic::{self, StoreError};
use super::records::{decode_group_value, decode_key, decode_offset_value, Key, RecordError};
use crate::broker::Broker;

/// The groups found in `partition`'s log.
pub fn load(
    broker: &Broker,
    partition: i32,
    now: u64,
) -> Result<HashMap<String, Group>, StoreError> {
    let mut replay = Replay::new(now);
    offsets_topic::scan(broker, partition, |key, value| replay.apply(key, value))?;
    if replay.skipped > 0 {
        tracing::warn!(
            partition,
            skipped = replay.skipped,
            "undecodable __consumer_offsets records skipped"
        );
    }
    Ok(replay.finish())
}

/// Groups rebuilt from records given in log order. `now` is the coordinator's clock: members
/// of a restored group get a fresh session from then.
pub struct Replay {
    groups: HashMap<String, Group>,
    skipped: usize,
    now: u64,
}

impl Replay {
    pub fn new(now: u64) -> Self {
        Replay {
            groups: HashMap::new(),
            skipped: 0,
            now,
        }
    }

    /// Applies the next record; one that does not decode is counted and skipped.
    pub fn apply(&mut self, key: &[u8], value: Option<&[u8]>) {
        if self.try_apply(key, value).is_err() {
            self.skipped += 1;
        }
    }

    /// The groups worth keeping: those with members, offsets or a generation.
    pub fn finish(mut self) -> HashMap<String, Group> {
        self.groups
            .retain(|_, g| !g.is_vacant() || g.generation() > 0);
        self.groups
    }

    fn try_apply(&mut self, key: &[u8], value: Option<&[u8]>) -> Result<(), RecordError> {
        match decode_key(key)? {
            Key::Offset {
                group,
                topic,
                partition,
            } => match value {
                Some(value) => {
                    let value = decode_offset_value(value)?;
                    self.group(group).offsets.insert((topic, partition), value);
                }
                None => {
                    if let Some(g) = self.groups.get_mut(&group) {
                        g.offsets.remove(&(topic, partition));
                    }
                }
            },
            Key::Group { group } => match value {
                Some(value) => {
                    let value = decode_group_value(value)?;
                    let now = self.now;
                    self.group(group).restore(value, now);
                }
                // The group was deleted; its offsets were tombstoned in the same batch.
                None => {
                    self.groups.remove(&group);
                }
            },
        }
        Ok(())
    }

    fn group(&mut self, id: String) -> &mut Group {
        self.groups
            .entry(id)
            .or_insert_with_key(|id| Group::new(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::groups::records::{group_key, group_value, offset_key, offset_value, GroupValue};
    use crate::groups::{GroupState, OffsetValue};

    fn committed(offset: i64) -> Vec<u8> {
        offset_value(&OffsetValue {
            offset,
            leader_epoch: 0,
            metadata: String::new(),
            commit_timestamp: 1,
        })
    }

    fn generation(n: i32) -> Vec<u8> {
        group_value(&GroupValue {
            protocol_type: "consumer".to_string(),
            generation: n,
            protocol: Some("range".to_string()),
            leader: None,
            current_state_timestamp: 1,
            members: Vec::new(),
        })
    }

    #[test]
    fn the_last_record_of_a_key_wins_and_tombstones_delete() {
        let mut replay = Replay::new(0);
        replay.apply(&offset_key("g", "t", 0), Some(&committed(5)));
        replay.apply(&offset_key("g", "t", 0), Some(&committed(9)));
        replay.apply(&offset_key("g", "t", 1), Some(&committed(3)));
        replay.apply(&offset_key("g", "t", 1), None);
        replay.apply(&group_key("g"), Some(&generation(4)));
        replay.apply(&offset_key("gone", "t", 0), Some(&committed(1)));
        replay.apply(&group_key("gone"), None);
        replay.apply(b"not a key", Some(b"x"));
        assert_eq!(replay.skipped, 1);
        let groups = replay.finish();
        assert_eq!(groups.len(), 1, "the deleted group is not loaded");
        let g = &groups["g"];
        assert_eq!(g.generation(), 4);
        assert_eq!(g.state(), GroupState::Empty);
        let offsets: Vec<_> = g
            .offsets
            .iter()
            .map(|(tp, v)| (tp.clone(), v.offset))
            .collect();
        assert_eq!(offsets, vec![(("t".to_string(), 0), 9)]);
    }

    #[test]
    fn a_group_with_nothing_left_is_not_loaded() {
        let mut replay = Replay::new(0);
        replay.apply(&offset_key("g", "t", 0), Some(&committed(5)));
        replay.apply(&offset_key("g", "t", 0), None);
        assert!(replay.finish().is_empty());
    }
}
