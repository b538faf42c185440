//! Watches: the one-shot data/exist/child watches, persistent and persistent-recursive watches
//! (`addWatch`), and their delivery to the connections that set them.
//!
//! Like ZooKeeper's server, there are two tables: *data* watches (set by getData and exists,
//! fired by NodeCreated, NodeDeleted and NodeDataChanged) and *child* watches (set by
//! getChildren, fired by NodeChildrenChanged and NodeDeleted). Watches are local to the server
//! a client is connected to; they are not replicated.
//!
//! Ordering: triggers are delivered while the tree is still locked for the write that caused
//! them, into the same FIFO the connection writes responses from, so a client always sees the
//! event before any answer that reflects the change.

use std::collections::{HashMap, HashSet};

use ferry_jute::{EventType, KeeperState, WatcherEvent};

use crate::path;

/// Identifies a watcher: one client connection.
pub type WatcherId = u64;

/// What a write did to the tree, as far as watches care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    Created(String),
    Deleted(String),
    DataChanged(String),
    ChildrenChanged(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchMode {
    Standard,
    Persistent,
    PersistentRecursive,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    Data,
    Child,
}

/// Where a connection wants its events: called with the tree locked, so it must not block.
pub type EventSink = Box<dyn Fn(WatcherEvent) + Send + Sync>;

#[derive(Default)]
pub struct WatchManager {
    data: HashMap<String, HashMap<WatcherId, WatchMode>>,
    child: HashMap<String, HashMap<WatcherId, WatchMode>>,
    /// How many persistent-recursive watches exist; while zero, triggers skip the ancestor walk.
    recursive: usize,
    sinks: HashMap<WatcherId, EventSink>,
}

impl WatchManager {
    pub fn connect(&mut self, watcher: WatcherId, sink: EventSink) {
        self.sinks.insert(watcher, sink);
    }

    /// Forgets a connection and all its watches.
    pub fn disconnect(&mut self, watcher: WatcherId) {
        self.sinks.remove(&watcher);
        for table in [Table::Data, Table::Child] {
            let paths: Vec<String> = self
                .table(table)
                .iter()
                .filter(|(_, w)| w.contains_key(&watcher))
                .map(|(p, _)| p.clone())
                .collect();
            for path in paths {
                self.remove(table, &path, watcher);
            }
        }
    }

    pub fn add(&mut self, table: Table, path: &str, watcher: WatcherId, mode: WatchMode) {
        let watchers = self.table_mut(table).entry(path.to_string()).or_default();
        let previous = watchers.get(&watcher).copied();
        // A one-shot watch never downgrades a persistent one on the same path.
        if mode == WatchMode::Standard && previous.is_some() {
            return;
        }
        watchers.insert(watcher, mode);
        self.count_recursive(previous, -1);
        self.count_recursive(Some(mode), 1);
    }

    /// Removes one watcher's watch; says whether there was one.
    pub fn remove(&mut self, table: Table, path: &str, watcher: WatcherId) -> bool {
        let map = self.table_mut(table);
        let Some(watchers) = map.get_mut(path) else {
            return false;
        };
        let removed = watchers.remove(&watcher);
        if watchers.is_empty() {
            map.remove(path);
        }
        self.count_recursive(removed, -1);
        removed.is_some()
    }

    /// Whether anyone watches `path` in `table`.
    pub fn is_watched(&self, table: Table, path: &str) -> bool {
        self.table(table).get(path).is_some_and(|w| !w.is_empty())
    }

    /// Fires the watches `trigger` concerns.
    pub fn fire(&mut self, trigger: &Trigger) {
        match trigger {
            Trigger::Created(p) => {
                self.fire_table(Table::Data, p, EventType::NodeCreated, &HashSet::new());
            }
            Trigger::DataChanged(p) => {
                self.fire_table(Table::Data, p, EventType::NodeDataChanged, &HashSet::new());
            }
            Trigger::ChildrenChanged(p) => {
                self.fire_table(
                    Table::Child,
                    p,
                    EventType::NodeChildrenChanged,
                    &HashSet::new(),
                );
            }
            Trigger::Deleted(p) => {
                let done = self.fire_table(Table::Data, p, EventType::NodeDeleted, &HashSet::new());
                self.fire_table(Table::Child, p, EventType::NodeDeleted, &done);
            }
        }
    }

    /// Sends `event` for `path` to the watchers in `table`, except those in `skip`; one-shot
    /// watches are removed. Returns who was notified.
    fn fire_table(
        &mut self,
        table: Table,
        path: &str,
        event: EventType,
        skip: &HashSet<WatcherId>,
    ) -> HashSet<WatcherId> {
        let mut notify: HashSet<WatcherId> = HashSet::new();
        if let Some(watchers) = self.table_mut(table).get_mut(path) {
            watchers.retain(|watcher, mode| {
                notify.insert(*watcher);
                *mode != WatchMode::Standard
            });
            if watchers.is_empty() {
                self.table_mut(table).remove(path);
            }
        }
        // Persistent-recursive watches see every change below them but children changes.
        if self.recursive > 0 && event != EventType::NodeChildrenChanged && table == Table::Data {
            let mut ancestor = path;
            while ancestor != "/" {
                ancestor = path::parent(ancestor);
                if let Some(watchers) = self.data.get(ancestor) {
                    notify.extend(
                        watchers
                            .iter()
                            .filter(|(_, m)| **m == WatchMode::PersistentRecursive)
                            .map(|(w, _)| *w),
                    );
                }
            }
        }
        notify.retain(|w| !skip.contains(w));
        for watcher in &notify {
            self.send(*watcher, event, path);
        }
        notify
    }

    pub fn send(&self, watcher: WatcherId, event: EventType, path: &str) {
        if let Some(sink) = self.sinks.get(&watcher) {
            sink(WatcherEvent {
                event_type: event.code(),
                state: KeeperState::SyncConnected.code(),
                path: path.to_string(),
            });
        }
    }

    /// Every watched path in `table` with its watchers, for `wchc`/`wchp`/`wchs`.
    pub fn table(&self, table: Table) -> &HashMap<String, HashMap<WatcherId, WatchMode>> {
        match table {
            Table::Data => &self.data,
            Table::Child => &self.child,
        }
    }

    fn table_mut(&mut self, table: Table) -> &mut HashMap<String, HashMap<WatcherId, WatchMode>> {
        match table {
            Table::Data => &mut self.data,
            Table::Child => &mut self.child,
        }
    }

    fn count_recursive(&mut self, mode: Option<WatchMode>, delta: isize) {
        if mode == Some(WatchMode::PersistentRecursive) {
            self.recursive = self.recursive.saturating_add_signed(delta);
        }
    }

    pub fn watch_count(&self) -> usize {
        self.data.values().map(HashMap::len).sum::<usize>()
            + self.child.values().map(HashMap::len).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc::unbounded_channel;

    #[test]
    fn one_shot_fires_once_persistent_stays_recursive_sees_descendants() {
        let mut watches = WatchManager::default();
        let (tx, mut rx) = unbounded_channel();
        watches.connect(1, Box::new(move |e| drop(tx.send(e))));
        watches.add(Table::Data, "/a", 1, WatchMode::Standard);
        watches.add(Table::Data, "/p", 1, WatchMode::Persistent);
        watches.add(Table::Data, "/r", 1, WatchMode::PersistentRecursive);
        watches.fire(&Trigger::DataChanged("/a".into()));
        watches.fire(&Trigger::DataChanged("/a".into()));
        watches.fire(&Trigger::DataChanged("/p".into()));
        watches.fire(&Trigger::DataChanged("/p".into()));
        watches.fire(&Trigger::Created("/r/x/y".into()));
        watches.fire(&Trigger::ChildrenChanged("/r".into()));
        let paths: Vec<String> = std::iter::from_fn(|| rx.try_recv().ok())
            .map(|e| e.path)
            .collect();
        assert_eq!(paths, ["/a", "/p", "/p", "/r/x/y"]);
    }

    #[test]
    fn delete_notifies_a_watcher_once_even_with_data_and_child_watches() {
        let mut watches = WatchManager::default();
        let (tx, mut rx) = unbounded_channel();
        watches.connect(1, Box::new(move |e| drop(tx.send(e))));
        watches.add(Table::Data, "/a", 1, WatchMode::Standard);
        watches.add(Table::Child, "/a", 1, WatchMode::Standard);
        watches.fire(&Trigger::Deleted("/a".into()));
        assert_eq!(std::iter::from_fn(|| rx.try_recv().ok()).count(), 1);
        assert_eq!(watches.watch_count(), 0);
    }
}
