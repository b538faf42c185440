//! addWatch and removewatches.

use ferry_zkclient::{AddWatchMode, Watch, WatcherType};

use super::{find, CliError};
use crate::zk_cli::parse::Parsed;
use crate::zk_cli::shell::Shell;

type Outcome = Result<(), CliError>;

pub fn add_watch(shell: &mut Shell, parsed: &Parsed) -> Outcome {
    let mode = match parsed.value('m').map(str::to_uppercase).as_deref() {
        None | Some("PERSISTENT_RECURSIVE") => AddWatchMode::PersistentRecursive,
        Some("PERSISTENT") => AddWatchMode::Persistent,
        Some(_) => {
            let usage = find("addWatch").map(|spec| spec.usage_line());
            return Err(CliError::Failed(usage.unwrap_or_default()));
        }
    };
    let zk = shell.zk()?;
    Ok(shell.block_on(zk.add_watch(&parsed.args[1], mode, Watch::Default))?)
}

pub fn remove_watches(shell: &mut Shell, parsed: &Parsed) -> Outcome {
    let watcher_type = if parsed.has('c') {
        WatcherType::Children
    } else if parsed.has('d') {
        WatcherType::Data
    } else {
        WatcherType::Any
    };
    let zk = shell.zk()?;
    let removal = zk.remove_watches(&parsed.args[1], watcher_type, parsed.has('l'));
    Ok(shell.block_on(removal)?)
}
