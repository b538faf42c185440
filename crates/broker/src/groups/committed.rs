//! Committed offsets: OffsetCommit, OffsetFetch, OffsetDelete, DeleteGroups and offset expiry,
//! on the groups this coordinator serves.
//!
//! A commit is answered once its batch is replicated (the high watermark passed it, within
//! `offsets.commit.timeout.ms`), and only then enters the cache OffsetFetch reads, so a
//! fetched offset is never one a new coordinator could lack. Tombstones (deleted groups and
//! offsets, expiry) are appended and applied at once without waiting, as Kafka's
//! `cleanupGroupMetadata` does: forgetting early loses nothing acknowledged.

use std::collections::BTreeMap;

use ferry_kafka_protocol::ErrorCode;

use super::coordinator::{wall_clock_ms, GroupCoordinator};
use super::group::Group;
use super::records::{self, OffsetValue};
use super::replication::{self, WriteFailed};
use super::slot::{Slot, TopicPartition};
use super::state::GroupState;
use crate::broker::Broker;

/// What a commit of one partition asks for.
pub struct OffsetCommit {
    pub topic: String,
    pub partition: i32,
    pub value: OffsetValue,
}

type Record = (Vec<u8>, Option<Vec<u8>>);

/// Tombstones for a group's offsets of `partitions`.
fn offset_tombstones<'a>(
    group_id: &str,
    partitions: impl IntoIterator<Item = &'a TopicPartition>,
) -> Vec<Record> {
    partitions
        .into_iter()
        .map(|(topic, partition)| (records::offset_key(group_id, topic, *partition), None))
        .collect()
}

impl GroupCoordinator {
    /// Commits offsets: checks the member, appends the records, waits until the ISR has them,
    /// then updates the cache. The error is for the whole request; `Ok` carries nothing because
    /// every partition given was committed.
    pub async fn commit(
        &self,
        broker: &Broker,
        group_id: &str,
        member_id: &str,
        instance: Option<&str>,
        generation: i32,
        commits: Vec<OffsetCommit>,
    ) -> Result<(), ErrorCode> {
        if let Err(error) = self.ensure_offsets_topic(broker).await {
            tracing::warn!(%error, "offsets topic unavailable");
            return Err(ErrorCode::CoordinatorNotAvailable);
        }
        let now = self.now();
        let records: Vec<Record> = commits
            .iter()
            .map(|c| {
                let key = records::offset_key(group_id, &c.topic, c.partition);
                (key, Some(records::offset_value(&c.value)))
            })
            .collect();
        // Not managed by the coordinator (a simple consumer): the commit creates the group. A
        // member of a generation this broker does not know (e.g. from before a restart) does
        // not.
        let make = || Group::new(group_id);
        let create = (generation < 0).then_some(&make as &dyn Fn() -> Group);
        let partitions: Vec<TopicPartition> = commits
            .iter()
            .map(|c| (c.topic.clone(), c.partition))
            .collect();
        let appended = self
            .with_group(broker, group_id, create, |cell, slot| {
                slot.group
                    .check_commit(member_id, instance, generation, now)?;
                let appended = self
                    .write(broker, slot.partition, &records)
                    .map_err(|error| {
                        tracing::warn!(group = group_id, %error, "appending offsets failed");
                        WriteFailed::from(&error).for_commit()
                    })?;
                slot.commits_started(&partitions);
                Ok((cell.clone(), appended))
            })?
            .unwrap_or(Err(ErrorCode::IllegalGeneration));
        let (cell, appended) = appended?;
        let at = appended.base_offset;
        let replicated =
            replication::replicated(appended, self.config.offsets_commit_timeout).await;
        {
            let mut slot = cell.lock();
            slot.commits_settled(&partitions);
            // Deleted or unloaded meanwhile: the commit is in the log all the same.
            if replicated.is_ok() && !cell.is_removed() {
                for c in commits {
                    slot.offset_written((c.topic, c.partition), Some(c.value), at);
                }
            }
        }
        cell.announce_settled();
        replicated.map_err(|failed| {
            tracing::warn!(group = group_id, %failed, "offsets not replicated");
            failed.for_commit()
        })
    }

    /// Committed offsets of a group: the partitions asked for (`None`: all of them), or the
    /// coordinator's error. Waits (within `offsets.commit.timeout.ms`) for commits of those
    /// partitions still being replicated, so that what it answers includes every commit
    /// already acknowledged or about to be.
    pub async fn fetch(
        &self,
        broker: &Broker,
        group_id: &str,
        wanted: Option<&[(String, i32)]>,
    ) -> Result<Vec<(TopicPartition, Option<OffsetValue>)>, ErrorCode> {
        let answer = |offsets: Option<&BTreeMap<TopicPartition, OffsetValue>>| match wanted {
            Some(wanted) => wanted
                .iter()
                .map(|tp| (tp.clone(), offsets.and_then(|o| o.get(tp)).cloned()))
                .collect(),
            None => offsets
                .into_iter()
                .flatten()
                .map(|(tp, v)| (tp.clone(), Some(v.clone())))
                .collect(),
        };
        let deadline = tokio::time::Instant::now() + self.config.offsets_commit_timeout;
        loop {
            let found = self.with_group(broker, group_id, None, |cell, slot| {
                let settled = cell.watch_settled();
                if slot.commit_pending(wanted) && tokio::time::Instant::now() < deadline {
                    Err(settled)
                } else {
                    Ok(answer(Some(&slot.group.offsets)))
                }
            })?;
            match found {
                None => return Ok(answer(None)),
                Some(Ok(offsets)) => return Ok(offsets),
                Some(Err(mut settled)) => {
                    let _ = tokio::time::timeout_at(deadline, settled.changed()).await;
                }
            }
        }
    }

    /// Deletes an empty group: tombstones for its offsets and its metadata, then forgets it.
    pub fn delete_group(&self, broker: &Broker, group_id: &str) -> ErrorCode {
        let deleted = self.with_group(broker, group_id, None, |cell, slot| {
            match slot.group.state() {
                GroupState::Empty | GroupState::Dead => {}
                _ => return Err(ErrorCode::NonEmptyGroup),
            }
            let mut tombstones = offset_tombstones(group_id, slot.group.offsets.keys());
            tombstones.push((records::group_key(group_id), None));
            if let Err(error) = self.write(broker, slot.partition, &tombstones) {
                tracing::warn!(group = group_id, %error, "writing group tombstones failed");
                return Err(WriteFailed::from(&error).for_commit());
            }
            slot.group.mark_dead();
            cell.mark_removed();
            Ok(cell.clone())
        });
        match deleted {
            Err(error) | Ok(Some(Err(error))) => error,
            Ok(None) => ErrorCode::GroupIdNotFound,
            Ok(Some(Ok(cell))) => {
                self.forget(&[(group_id.to_string(), cell)]);
                ErrorCode::None
            }
        }
    }

    /// Removes the offsets that outlived `offsets.retention.minutes` (tombstones first), and
    /// the groups left empty with nothing committed (their metadata tombstoned too), as
    /// Kafka's offset expiration does; only in the partitions served here.
    pub fn expire_offsets(&self, broker: &Broker) {
        let (now, wall_now) = (self.now(), wall_clock_ms());
        let retention = self.config.offsets_retention_ms;
        let mut vacated = Vec::new();
        for cell in self.cells(broker) {
            let mut slot = cell.lock();
            if cell.is_removed() {
                continue;
            }
            let group_id = slot.group.id.clone();
            let expired = slot.group.expired_offsets(now, wall_now, retention);
            if expired.is_empty() {
                continue;
            }
            let mut tombstones = offset_tombstones(&group_id, &expired);
            // Expiry only touches empty groups: with every offset gone there is nothing left.
            let vacant = expired.len() == slot.group.offsets.len();
            if vacant {
                tombstones.push((records::group_key(&group_id), None));
            }
            let at = match self.write(broker, slot.partition, &tombstones) {
                Ok(appended) => appended.base_offset,
                Err(error) => {
                    tracing::warn!(group = %group_id, %error,
                        "writing expired offsets' tombstones failed");
                    continue;
                }
            };
            let count = expired.len();
            for tp in expired {
                slot.offset_written(tp, None, at);
            }
            tracing::info!(group = %group_id, offsets = count, "expired committed offsets");
            if vacant {
                slot.group.mark_dead();
                cell.mark_removed();
                drop(slot);
                vacated.push((group_id, cell));
            }
        }
        self.forget(&vacated);
    }

    /// Deletes committed offsets of topics the group does not consume (OffsetDelete). The
    /// group-level error, else one error per partition.
    pub fn delete_offsets(
        &self,
        broker: &Broker,
        group_id: &str,
        partitions: &[(String, i32)],
    ) -> Result<Vec<ErrorCode>, ErrorCode> {
        self.with_group(broker, group_id, None, |_, slot| {
            self.delete_offsets_of(broker, slot, partitions)
        })?
        .unwrap_or(Err(ErrorCode::GroupIdNotFound))
    }

    fn delete_offsets_of(
        &self,
        broker: &Broker,
        slot: &mut Slot,
        partitions: &[(String, i32)],
    ) -> Result<Vec<ErrorCode>, ErrorCode> {
        let group = &slot.group;
        let consumer = group.protocol_type() == Some("consumer");
        match group.state() {
            GroupState::Dead => return Err(ErrorCode::CoordinatorNotAvailable),
            GroupState::Empty => {}
            _ if !consumer => return Err(ErrorCode::NonEmptyGroup),
            _ => {}
        }
        let errors: Vec<ErrorCode> = partitions
            .iter()
            .map(|(topic, _)| {
                if group.state() != GroupState::Empty && group.is_subscribed_to(topic) {
                    ErrorCode::GroupSubscribedToTopic
                } else {
                    ErrorCode::None
                }
            })
            .collect();
        let doomed: Vec<TopicPartition> = partitions
            .iter()
            .zip(&errors)
            .filter(|(tp, e)| **e == ErrorCode::None && group.offsets.contains_key(*tp))
            .map(|(tp, _)| tp.clone())
            .collect();
        if doomed.is_empty() {
            return Ok(errors);
        }
        let tombstones = offset_tombstones(&group.id, &doomed);
        let at = match self.write(broker, slot.partition, &tombstones) {
            Ok(appended) => appended.base_offset,
            Err(error) => {
                tracing::warn!(group = %group.id, %error, "writing offset tombstones failed");
                return Err(WriteFailed::from(&error).for_commit());
            }
        };
        for tp in doomed {
            slot.offset_written(tp, None, at);
        }
        Ok(errors)
    }
}
