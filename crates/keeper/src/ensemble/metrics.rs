//! The ensemble's figures in `mntr` and `/metrics`, under ZooKeeper's names.

use crate::server::Keeper;

/// `zk_peer_state` on every ensemble server; on the leader also `zk_followers` (the voters
/// and observers it replicates to), `zk_synced_followers` and `zk_synced_non_voting_followers`
/// (those whose replica holds everything this leader has applied) and `zk_pending_syncs`
/// (syncs waiting for a quorum's confirmation). None on a standalone
/// server, as in ZooKeeper.
pub fn ensemble_metrics(keeper: &Keeper) -> Vec<(&'static str, String)> {
    let Some(ensemble) = &keeper.ensemble else {
        return Vec::new();
    };
    let metrics = keeper.raft.metrics().borrow().clone();
    let peer_state = match metrics.current_leader {
        None => "looking",
        Some(leader) if leader == keeper.node_id => "leading - broadcast",
        Some(_) if ensemble.me().observer => "observing - broadcast",
        Some(_) => "following - broadcast",
    };
    let mut figures = vec![("zk_peer_state", peer_state.to_string())];
    if let Some(replication) = metrics.replication.filter(|_| keeper.is_leader()) {
        let applied = metrics.last_applied.map(|id| id.index);
        let is_observer = |id: &u64| ensemble.servers.get(id).is_some_and(|s| s.observer);
        let synced = |observers: bool| {
            replication
                .iter()
                .filter(|(id, matched)| {
                    **id != keeper.node_id
                        && is_observer(id) == observers
                        && matched.map(|m| m.index) >= applied
                })
                .count()
        };
        let followers = replication
            .keys()
            .filter(|id| **id != keeper.node_id)
            .count();
        figures.push(("zk_followers", followers.to_string()));
        figures.push(("zk_synced_followers", synced(false).to_string()));
        figures.push(("zk_synced_non_voting_followers", synced(true).to_string()));
        let pending = keeper
            .stats
            .pending_syncs
            .load(std::sync::atomic::Ordering::Relaxed);
        figures.push(("zk_pending_syncs", pending.max(0).to_string()));
    }
    figures
}
