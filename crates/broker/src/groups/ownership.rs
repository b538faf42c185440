//! Which `__consumer_offsets` partitions this coordinator serves (Kafka's `ownedPartitions` and
//! `loadingPartitions`).
//!
//! A group belongs to one partition (`partition_for`), and only the leader of that partition
//! coordinates it: its groups are read from the partition's log when this broker becomes the
//! leader (loading), served while it leads (owned), and dropped when it stops (no entry). A
//! request for a group of a partition being loaded gets COORDINATOR_LOAD_IN_PROGRESS; of a
//! partition not served here, NOT_COORDINATOR (the client then looks the coordinator up
//! again).
//!
//! Each load has its own ticket: a load that finishes after its partition was lost, or lost
//! and gained again (a newer load under way), is thrown away instead of installing groups
//! read from a log this broker no longer leads.

use std::collections::HashMap;

use ferry_kafka_protocol::ErrorCode;

/// One load of one partition: hand it back to [`Ownership::loaded`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadTicket {
    pub partition: i32,
    id: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    /// Its groups are being read; the ticket of the load that will finish it.
    Loading(u64),
    Owned,
}

/// The served partitions; see the module docs.
#[derive(Debug, Default)]
pub struct Ownership {
    partitions: HashMap<i32, Entry>,
    next_load: u64,
}

impl Ownership {
    /// Whether requests for groups of `partition` may be served here now.
    pub fn check(&self, partition: i32) -> Result<(), ErrorCode> {
        match self.partitions.get(&partition) {
            Some(Entry::Owned) => Ok(()),
            Some(Entry::Loading(_)) => Err(ErrorCode::CoordinatorLoadInProgress),
            None => Err(ErrorCode::NotCoordinator),
        }
    }

    /// Whether `partition`'s groups are served (loaded and not lost since).
    pub fn owns(&self, partition: i32) -> bool {
        self.partitions.get(&partition) == Some(&Entry::Owned)
    }

    /// Whether any partition is being loaded (ListGroups then says so, as Kafka does).
    pub fn is_loading(&self) -> bool {
        self.partitions
            .values()
            .any(|e| matches!(e, Entry::Loading(_)))
    }

    /// This broker became `partition`'s leader. A ticket to load its groups with, or `None`
    /// when it is already served or being loaded: a new leader epoch of the same leader
    /// changes nothing the coordinator holds (every record since it loaded was written by it),
    /// as Kafka keeps its cached groups when re-elected.
    pub fn gained(&mut self, partition: i32) -> Option<LoadTicket> {
        if self.partitions.contains_key(&partition) {
            return None;
        }
        self.next_load += 1;
        let id = self.next_load;
        self.partitions.insert(partition, Entry::Loading(id));
        Some(LoadTicket { partition, id })
    }

    /// A load finished: the partition is served if the load is still the current one (true:
    /// install its groups), else it was lost meanwhile (false: drop them).
    pub fn loaded(&mut self, ticket: LoadTicket) -> bool {
        match self.partitions.get_mut(&ticket.partition) {
            Some(entry) if *entry == Entry::Loading(ticket.id) => {
                *entry = Entry::Owned;
                true
            }
            _ => false,
        }
    }

    /// A load failed: the partition is not served (NOT_COORDINATOR rather than groups read in
    /// part), unless a newer load replaced this one.
    pub fn load_failed(&mut self, ticket: LoadTicket) {
        if self.partitions.get(&ticket.partition) == Some(&Entry::Loading(ticket.id)) {
            self.partitions.remove(&ticket.partition);
        }
    }

    /// This broker no longer leads `partition`. True if it was served or being loaded (its
    /// groups are to be unloaded).
    pub fn lost(&mut self, partition: i32) -> bool {
        self.partitions.remove(&partition).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_is_loading_then_owned_then_not_served() {
        let mut o = Ownership::default();
        assert_eq!(o.check(3), Err(ErrorCode::NotCoordinator));
        let ticket = o.gained(3).expect("a load");
        assert_eq!(o.check(3), Err(ErrorCode::CoordinatorLoadInProgress));
        assert!(o.is_loading());
        assert!(!o.owns(3));
        assert!(o.loaded(ticket));
        assert_eq!(o.check(3), Ok(()));
        assert!(o.owns(3));
        assert!(!o.is_loading());
        assert_eq!(o.check(4), Err(ErrorCode::NotCoordinator));
        assert!(o.lost(3));
        assert_eq!(o.check(3), Err(ErrorCode::NotCoordinator));
        assert!(!o.lost(3), "nothing left to unload");
    }

    #[test]
    fn a_new_epoch_of_the_same_leader_keeps_what_is_served() {
        let mut o = Ownership::default();
        let ticket = o.gained(0).unwrap();
        assert_eq!(o.gained(0), None, "already loading");
        assert!(o.loaded(ticket));
        assert_eq!(o.gained(0), None, "already owned");
        assert_eq!(o.check(0), Ok(()));
    }

    #[test]
    fn a_load_overtaken_by_a_leadership_change_is_thrown_away() {
        let mut o = Ownership::default();
        let first = o.gained(1).unwrap();
        assert!(o.lost(1));
        assert!(!o.loaded(first), "lost while loading");
        assert_eq!(o.check(1), Err(ErrorCode::NotCoordinator));

        let stale = o.gained(1).unwrap();
        o.lost(1);
        let current = o.gained(1).unwrap();
        assert!(
            !o.loaded(stale),
            "an older load must not finish the newer one"
        );
        o.load_failed(stale);
        assert_eq!(o.check(1), Err(ErrorCode::CoordinatorLoadInProgress));
        assert!(o.loaded(current));
        assert_eq!(o.check(1), Ok(()));
    }

    #[test]
    fn a_failed_load_leaves_the_partition_unserved() {
        let mut o = Ownership::default();
        let ticket = o.gained(2).unwrap();
        o.load_failed(ticket);
        assert_eq!(o.check(2), Err(ErrorCode::NotCoordinator));
        assert!(o.gained(2).is_some(), "the next leadership loads again");
    }
}
