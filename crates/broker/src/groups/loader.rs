//! Rebuilding every group from `__consumer_offsets` when the broker starts: each partition is
//! read from its start in log order, so the latest record for a key wins and a tombstone (null
//! value) deletes what came before, exactly the state compaction converges to.

use std::collections::HashMap;

use super::group::Group;
use super::offsets_topic::{self, StoreError};
use super::records::{decode_group_value, decode_key, decode_offset_value, Key};
use crate::broker::Broker;

/// The groups found in every partition (none if the topic does not exist yet).
pub fn load(broker: &Broker, now: u64) -> Result<HashMap<String, Group>, StoreError> {
    let mut groups: HashMap<String, Group> = HashMap::new();
    let Some(partitions) = offsets_topic::partitions(broker) else {
        return Ok(groups);
    };
    let mut skipped = 0usize;
    for partition in 0..partitions {
        offsets_topic::scan(broker, partition, |key, value| {
            if apply(&mut groups, key, value, now).is_err() {
                skipped += 1;
            }
        })?;
    }
    groups.retain(|_, g| !g.is_vacant() || g.generation() > 0);
    if skipped > 0 {
        tracing::warn!(skipped, "undecodable __consumer_offsets records skipped");
    }
    let offsets: usize = groups.values().map(|g| g.offsets.len()).sum();
    tracing::info!(groups = groups.len(), offsets, "group coordinator loaded");
    Ok(groups)
}

fn apply(
    groups: &mut HashMap<String, Group>,
    key: &[u8],
    value: Option<&[u8]>,
    now: u64,
) -> Result<(), super::records::RecordError> {
    match decode_key(key)? {
        Key::Offset {
            group,
            topic,
            partition,
        } => match value {
            Some(value) => {
                let value = decode_offset_value(value)?;
                let g = groups
                    .entry(group.clone())
                    .or_insert_with(|| Group::new(&group));
                g.offsets.insert((topic, partition), value);
            }
            None => {
                if let Some(g) = groups.get_mut(&group) {
                    g.offsets.remove(&(topic, partition));
                }
            }
        },
        Key::Group { group } => match value {
            Some(value) => {
                let value = decode_group_value(value)?;
                let g = groups
                    .entry(group.clone())
                    .or_insert_with(|| Group::new(&group));
                g.restore(value, now);
            }
            // The group was deleted; its offsets were tombstoned in the same batch.
            None => {
                groups.remove(&group);
            }
        },
    }
    Ok(())
}
