//! The client's watch registry: which watcher waits for which event on which path.
//!
//! It mirrors Java's `ZKWatchManager`: one-shot data, exist and child watches are removed when
//! they fire; persistent and persistent-recursive watches (from `addWatch`) stay until removed.
//! Watches are registered only when the server has accepted them (a successful read, or `NoNode`
//! for `exists`), in the order replies arrive, so an event is never matched against a watch the
//! server does not hold. After a reconnect the registry is replayed to the server with
//! `SetWatches`/`SetWatches2`.

use std::collections::HashMap;

use ferry_jute::{EventType, KeeperState, OpCode, Record, SetWatches, SetWatches2, WatcherType};
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};

use crate::path::Chroot;

/// A watch event, or a change of the session's state (`event_type` `None`, `path` `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedEvent {
    pub event_type: EventType,
    pub state: KeeperState,
    /// The client path (chroot stripped); `None` for state changes.
    pub path: Option<String>,
}

impl WatchedEvent {
    pub(crate) fn state(state: KeeperState) -> Self {
        Self {
            event_type: EventType::None,
            state,
            path: None,
        }
    }
}

/// As Java's `WatchedEvent.toString()`: `WatchedEvent state:SyncConnected type:None path:null`.
impl std::fmt::Display for WatchedEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "WatchedEvent state:{:?} type:{:?} path:{}",
            self.state,
            self.event_type,
            self.path.as_deref().unwrap_or("null")
        )
    }
}

/// Whether, and where, a read leaves a watch.
#[derive(Debug, Clone, Default)]
pub enum Watch {
    /// No watch.
    #[default]
    No,
    /// The session's event channel (Java's default watcher).
    Default,
    /// A channel of the caller's. Like every Java watcher it also receives the session's state
    /// changes (`Disconnected`, `SyncConnected`, `Expired`, `Closed`) while it is registered.
    Channel(UnboundedSender<WatchedEvent>),
}

impl Watch {
    /// A fresh channel watcher and the receiver its events arrive on.
    pub fn channel() -> (Self, UnboundedReceiver<WatchedEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self::Channel(tx), rx)
    }

    pub(crate) fn watcher(self) -> Option<Watcher> {
        match self {
            Self::No => None,
            Self::Default => Some(Watcher::Default),
            Self::Channel(tx) => Some(Watcher::Channel(tx)),
        }
    }
}

/// `true` is the default watcher, as in Java's `getData(path, true)`.
impl From<bool> for Watch {
    fn from(watch: bool) -> Self {
        if watch {
            Self::Default
        } else {
            Self::No
        }
    }
}

impl From<UnboundedSender<WatchedEvent>> for Watch {
    fn from(tx: UnboundedSender<WatchedEvent>) -> Self {
        Self::Channel(tx)
    }
}

/// A registered watcher. Two registrations of the same watcher on one path fire once.
#[derive(Debug, Clone)]
pub(crate) enum Watcher {
    Default,
    Channel(UnboundedSender<WatchedEvent>),
}

impl Watcher {
    fn same(&self, other: &Watcher) -> bool {
        match (self, other) {
            (Self::Default, Self::Default) => true,
            (Self::Channel(a), Self::Channel(b)) => a.same_channel(b),
            _ => false,
        }
    }

    /// Sends the event; a receiver that is gone is not an error.
    pub(crate) fn deliver(&self, default: &UnboundedSender<WatchedEvent>, event: &WatchedEvent) {
        let tx = match self {
            Self::Default => default,
            Self::Channel(tx) => tx,
        };
        let _receiver_gone = tx.send(event.clone());
    }
}

/// The five kinds of watch the client keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WatchKind {
    Data,
    Exist,
    Child,
    Persistent,
    PersistentRecursive,
}

const KINDS: [WatchKind; 5] = [
    WatchKind::Data,
    WatchKind::Exist,
    WatchKind::Child,
    WatchKind::Persistent,
    WatchKind::PersistentRecursive,
];

/// A watch to register when a request's reply comes back.
#[derive(Debug, Clone)]
pub(crate) struct Registration {
    pub path: String,
    pub watcher: Watcher,
    /// The kind registered on success.
    pub on_ok: WatchKind,
    /// `exists` also watches a node that does not exist yet.
    pub on_no_node: Option<WatchKind>,
}

impl Registration {
    pub(crate) fn kind_for(&self, err: i32) -> Option<WatchKind> {
        if err == 0 {
            Some(self.on_ok)
        } else if err == ferry_jute::ErrorCode::NoNode.code() {
            self.on_no_node
        } else {
            None
        }
    }
}

/// One `SetWatches`/`SetWatches2` frame body to send after a reconnect.
pub(crate) struct SetWatchesBatch {
    pub op: OpCode,
    pub body: Vec<u8>,
}

/// Java's `SET_WATCHES_MAX_LENGTH`: the path bytes one `SetWatches` frame may carry.
const SET_WATCHES_MAX_LENGTH: usize = 128 * 1024;

#[derive(Debug, Default)]
pub(crate) struct WatchRegistry {
    maps: [HashMap<String, Vec<Watcher>>; 5],
}

impl WatchRegistry {
    fn map(&mut self, kind: WatchKind) -> &mut HashMap<String, Vec<Watcher>> {
        &mut self.maps[kind as usize]
    }

    pub(crate) fn register(&mut self, kind: WatchKind, path: &str, watcher: Watcher) {
        let watchers = self.map(kind).entry(path.to_string()).or_default();
        if !watchers.iter().any(|w| w.same(&watcher)) {
            watchers.push(watcher);
        }
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.maps.iter().all(HashMap::is_empty)
    }

    /// The watchers a node event triggers; one-shot watches among them are removed.
    pub(crate) fn materialize(&mut self, event_type: EventType, path: &str) -> Vec<Watcher> {
        let mut out = Vec::new();
        let mut take = |registry: &mut Self, kind: WatchKind| {
            if let Some(watchers) = registry.map(kind).remove(path) {
                add_unique(&mut out, watchers.iter());
            }
        };
        match event_type {
            EventType::NodeCreated | EventType::NodeDataChanged => {
                take(self, WatchKind::Data);
                take(self, WatchKind::Exist);
            }
            EventType::NodeChildrenChanged => take(self, WatchKind::Child),
            EventType::NodeDeleted => {
                take(self, WatchKind::Data);
                take(self, WatchKind::Exist);
                take(self, WatchKind::Child);
            }
            _ => return out,
        }
        if let Some(watchers) = self.map(WatchKind::Persistent).get(path) {
            add_unique(&mut out, watchers.iter());
        }
        // The server sends recursive watchers no child events: their subtree's own events say it.
        if event_type != EventType::NodeChildrenChanged {
            let recursive = &self.maps[WatchKind::PersistentRecursive as usize];
            for ancestor in ancestors(path) {
                if let Some(watchers) = recursive.get(ancestor) {
                    add_unique(&mut out, watchers.iter());
                }
            }
        }
        out
    }

    /// Every registered watcher, once: a state change goes to all of them.
    pub(crate) fn all_watchers(&self) -> Vec<Watcher> {
        let mut out = Vec::new();
        for map in &self.maps {
            add_unique(&mut out, map.values().flatten());
        }
        out
    }

    pub(crate) fn clear(&mut self) {
        self.maps.iter_mut().for_each(HashMap::clear);
    }

    fn kinds_of(watcher_type: WatcherType) -> &'static [WatchKind] {
        match watcher_type {
            WatcherType::Children => &[WatchKind::Child],
            WatcherType::Data => &[WatchKind::Data, WatchKind::Exist],
            WatcherType::Any => &KINDS,
            WatcherType::Persistent => &[WatchKind::Persistent],
            WatcherType::PersistentRecursive => &[WatchKind::PersistentRecursive],
        }
    }

    /// Whether any watch of `watcher_type` is registered on `path`.
    pub(crate) fn contains(&self, path: &str, watcher_type: WatcherType) -> bool {
        Self::kinds_of(watcher_type)
            .iter()
            .any(|kind| self.maps[*kind as usize].contains_key(path))
    }

    /// Removes every watch of `watcher_type` on `path`, returning each removed watcher with the
    /// `*WatchRemoved` event it is owed.
    pub(crate) fn remove(
        &mut self,
        path: &str,
        watcher_type: WatcherType,
    ) -> Vec<(Watcher, EventType)> {
        let mut removed = Vec::new();
        for kind in Self::kinds_of(watcher_type) {
            let event = match kind {
                WatchKind::Child => EventType::ChildWatchRemoved,
                WatchKind::Data | WatchKind::Exist => EventType::DataWatchRemoved,
                WatchKind::Persistent | WatchKind::PersistentRecursive => {
                    EventType::PersistentWatchRemoved
                }
            };
            for watcher in self.map(*kind).remove(path).unwrap_or_default() {
                let known = removed
                    .iter()
                    .any(|(w, e): &(Watcher, EventType)| *e == event && w.same(&watcher));
                if !known {
                    removed.push((watcher, event));
                }
            }
        }
        removed
    }

    /// The frames that re-register every watch on a new connection, split as Java splits them.
    pub(crate) fn set_watches(&self, chroot: &Chroot, relative_zxid: i64) -> Vec<SetWatchesBatch> {
        let mut batches = Vec::new();
        let mut lists: [Vec<String>; 5] = Default::default();
        let mut size = 0;
        for (i, map) in self.maps.iter().enumerate() {
            for path in map.keys() {
                let server_path = chroot.apply(path);
                size += server_path.len();
                lists[i].push(server_path);
                if size > SET_WATCHES_MAX_LENGTH {
                    batches.push(batch(relative_zxid, std::mem::take(&mut lists)));
                    size = 0;
                }
            }
        }
        if lists.iter().any(|list| !list.is_empty()) {
            batches.push(batch(relative_zxid, lists));
        }
        batches
    }
}

fn batch(relative_zxid: i64, lists: [Vec<String>; 5]) -> SetWatchesBatch {
    let [data, exist, child, persistent, recursive] = lists;
    if persistent.is_empty() && recursive.is_empty() {
        let record = SetWatches {
            relative_zxid,
            data_watches: data,
            exist_watches: exist,
            child_watches: child,
        };
        return SetWatchesBatch {
            op: OpCode::SetWatches,
            body: record.to_bytes(),
        };
    }
    let record = SetWatches2 {
        relative_zxid,
        data_watches: data,
        exist_watches: exist,
        child_watches: child,
        persistent_watches: persistent,
        persistent_recursive_watches: recursive,
    };
    SetWatchesBatch {
        op: OpCode::SetWatches2,
        body: record.to_bytes(),
    }
}

fn add_unique<'a>(out: &mut Vec<Watcher>, watchers: impl Iterator<Item = &'a Watcher>) {
    for watcher in watchers {
        if !out.iter().any(|w| w.same(watcher)) {
            out.push(watcher.clone());
        }
    }
}

/// `path` and each of its ancestors up to `/`.
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    let mut next = Some(path);
    std::iter::from_fn(move || {
        let current = next?;
        next = match current.rfind('/') {
            _ if current == "/" => None,
            Some(0) => Some("/"),
            Some(at) => Some(&current[..at]),
            None => None,
        };
        Some(current)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel() -> (Watcher, UnboundedReceiver<WatchedEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Watcher::Channel(tx), rx)
    }

    #[test]
    fn ancestors_walk_to_the_root() {
        assert_eq!(
            ancestors("/a/b/c").collect::<Vec<_>>(),
            ["/a/b/c", "/a/b", "/a", "/"]
        );
        assert_eq!(ancestors("/").collect::<Vec<_>>(), ["/"]);
    }

    #[test]
    fn one_shot_watches_fire_once_and_deduplicate() {
        let mut registry = WatchRegistry::default();
        registry.register(WatchKind::Data, "/a", Watcher::Default);
        registry.register(WatchKind::Data, "/a", Watcher::Default);
        registry.register(WatchKind::Exist, "/a", Watcher::Default);
        registry.register(WatchKind::Child, "/a", Watcher::Default);
        assert_eq!(
            registry.materialize(EventType::NodeDataChanged, "/a").len(),
            1
        );
        assert!(registry
            .materialize(EventType::NodeDataChanged, "/a")
            .is_empty());
        assert_eq!(registry.materialize(EventType::NodeDeleted, "/a").len(), 1);
        assert!(registry.is_empty());
    }

    #[test]
    fn persistent_watches_stay_and_recursive_ones_skip_child_events() {
        let mut registry = WatchRegistry::default();
        let (persistent, _rx1) = channel();
        let (recursive, _rx2) = channel();
        registry.register(WatchKind::Persistent, "/a", persistent);
        registry.register(WatchKind::PersistentRecursive, "/", recursive);
        assert_eq!(
            registry.materialize(EventType::NodeDataChanged, "/a").len(),
            2
        );
        assert_eq!(
            registry
                .materialize(EventType::NodeChildrenChanged, "/a")
                .len(),
            1
        );
        assert_eq!(
            registry.materialize(EventType::NodeCreated, "/a/b/c").len(),
            1
        );
        assert_eq!(registry.all_watchers().len(), 2);
    }

    #[test]
    fn removal_names_the_removed_kind() {
        let mut registry = WatchRegistry::default();
        registry.register(WatchKind::Data, "/a", Watcher::Default);
        registry.register(WatchKind::Child, "/a", Watcher::Default);
        assert!(registry.contains("/a", WatcherType::Children));
        assert!(!registry.contains("/a", WatcherType::Persistent));
        let removed: Vec<EventType> = registry
            .remove("/a", WatcherType::Any)
            .into_iter()
            .map(|(_, event)| event)
            .collect();
        assert_eq!(
            removed,
            [EventType::DataWatchRemoved, EventType::ChildWatchRemoved]
        );
    }

    #[test]
    fn set_watches_uses_the_old_record_without_persistent_watches() {
        let mut registry = WatchRegistry::default();
        let chroot = Chroot::new(Some("/app")).unwrap();
        registry.register(WatchKind::Data, "/a", Watcher::Default);
        let batches = registry.set_watches(&chroot, 7);
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].op, OpCode::SetWatches);
        let record = SetWatches::from_bytes(&batches[0].body).unwrap();
        assert_eq!(record.data_watches, ["/app/a"]);
        assert_eq!(record.relative_zxid, 7);
        registry.register(WatchKind::PersistentRecursive, "/", Watcher::Default);
        assert_eq!(registry.set_watches(&chroot, 7)[0].op, OpCode::SetWatches2);
    }

    #[test]
    fn set_watches_splits_large_registries() {
        let mut registry = WatchRegistry::default();
        let long = "x".repeat(1000);
        for i in 0..300 {
            registry.register(WatchKind::Child, &format!("/{long}{i}"), Watcher::Default);
        }
        let batches = registry.set_watches(&Chroot::default(), 0);
        assert_eq!(batches.len(), 3);
        let total: usize = batches
            .iter()
            .map(|b| SetWatches::from_bytes(&b.body).unwrap().child_watches.len())
            .sum();
        assert_eq!(total, 300);
    }

    #[test]
    fn display_matches_java() {
        let event = WatchedEvent::state(KeeperState::SyncConnected);
        assert_eq!(
            event.to_string(),
            "WatchedEvent state:SyncConnected type:None path:null"
        );
    }
}
