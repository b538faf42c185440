//! Session creation and closing as replicated transactions.

use ferry_jute::Bytes;

use crate::database::{Database, SessionInfo};
use crate::watches::Trigger;

pub fn create(db: &mut Database, session_id: i64, timeout_ms: i32, password: Bytes) {
    db.sessions.insert(
        session_id,
        SessionInfo {
            timeout_ms,
            password,
        },
    );
}

/// Removes the session and deletes its ephemerals, firing their watches like deletes do.
pub fn close(db: &mut Database, session_id: i64, zxid: i64, triggers: &mut Vec<Trigger>) {
    db.sessions.remove(&session_id);
    let mut paths: Vec<String> = db.tree.ephemerals_of(session_id).cloned().collect();
    // Deepest first is not needed (ephemerals have no children), but a stable order keeps
    // every replica's watch events in the same order.
    paths.sort();
    for path in paths {
        if db.tree.delete(&path, zxid).is_some() {
            let parent = crate::path::parent(&path).to_string();
            triggers.push(Trigger::Deleted(path));
            triggers.push(Trigger::ChildrenChanged(parent));
        }
    }
}
