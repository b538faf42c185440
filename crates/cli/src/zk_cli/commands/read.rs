//! The reading commands: ls, get, stat, getAcl, getEphemerals, getAllChildrenNumber, config.

use super::tree::visit_dfs;
use super::{say, CliError};
use crate::zk_cli::format;
use crate::zk_cli::parse::Parsed;
use crate::zk_cli::shell::Shell;

type Outcome = Result<(), CliError>;

pub fn ls(shell: &mut Shell, parsed: &Parsed) -> Outcome {
    let (zk, path, watch) = (shell.zk()?, &parsed.args[1], parsed.has('w'));
    if parsed.has('R') {
        let walk = visit_dfs(&zk, path, watch, |node| async move { say(&node) });
        return Ok(shell.block_on(walk)?);
    }
    let (mut children, stat) = match parsed.has('s') {
        true => {
            let (children, stat) = shell.block_on(zk.get_children2(path, watch))?;
            (children, Some(stat))
        }
        false => (shell.block_on(zk.get_children(path, watch))?, None),
    };
    children.sort();
    say(&format!("[{}]", children.join(", ")));
    if let Some(stat) = stat {
        say(&format::stat(&stat));
    }
    Ok(())
}

/// Data as Java's `new String(data, UTF_8)` prints it; `null` for null data.
pub(super) fn data_text(data: Option<&[u8]>) -> String {
    String::from_utf8_lossy(data.unwrap_or(b"null")).into_owned()
}

pub fn get(shell: &mut Shell, parsed: &Parsed) -> Outcome {
    let zk = shell.zk()?;
    let (data, stat) = shell.block_on(zk.get_data(&parsed.args[1], parsed.has('w')))?;
    say(&data_text(data.as_deref()));
    if parsed.has('s') {
        say(&format::stat(&stat));
    }
    Ok(())
}

pub fn stat(shell: &mut Shell, parsed: &Parsed) -> Outcome {
    let (zk, path) = (shell.zk()?, &parsed.args[1]);
    match shell.block_on(zk.exists(path, parsed.has('w')))? {
        Some(stat) => {
            say(&format::stat(&stat));
            Ok(())
        }
        None => Err(CliError::Failed(format!("Node does not exist: {path}"))),
    }
}

pub fn get_acl(shell: &mut Shell, parsed: &Parsed) -> Outcome {
    let zk = shell.zk()?;
    let (acl, stat) = shell.block_on(zk.get_acl(&parsed.args[1]))?;
    for entry in &acl {
        say(&format::acl(entry));
    }
    if parsed.has('s') {
        say(&format::stat(&stat));
    }
    Ok(())
}

pub fn ephemerals(shell: &mut Shell, parsed: &Parsed) -> Outcome {
    let zk = shell.zk()?;
    let prefix = parsed.arg(1).unwrap_or("/");
    let ephemerals = shell.block_on(zk.get_ephemerals(prefix))?;
    say(&format!("[{}]", ephemerals.join(", ")));
    Ok(())
}

pub fn all_children_number(shell: &mut Shell, parsed: &Parsed) -> Outcome {
    let zk = shell.zk()?;
    let count = shell.block_on(zk.get_all_children_number(&parsed.args[1]))?;
    say(&count.to_string());
    Ok(())
}

pub fn config(shell: &mut Shell, parsed: &Parsed) -> Outcome {
    let zk = shell.zk()?;
    let (data, stat) = shell.block_on(zk.get_config(parsed.has('w')))?;
    let text = data_text(data.as_deref());
    match parsed.has('c') {
        true => say(&client_config(&text)),
        false => say(&text),
    }
    if parsed.has('s') {
        say(&format::stat(&stat));
    }
    Ok(())
}

/// `ConfigUtils.getClientConfigStr`: the config's version, a space, then the client address of
/// each `server.N` line (`host:port`, `0.0.0.0:port` when only the port is given).
fn client_config(config: &str) -> String {
    let mut version = "";
    let mut servers: Vec<(u64, String)> = Vec::new();
    for line in config.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if key == "version" {
            version = value;
        }
        let Some(id) = key.strip_prefix("server.").and_then(|id| id.parse().ok()) else {
            continue;
        };
        let Some((_, client)) = value.split_once(';') else {
            continue;
        };
        let address = match client.rsplit_once(':') {
            Some((host, port)) => format!("{host}:{port}"),
            None => format!("0.0.0.0:{client}"),
        };
        servers.push((id, address));
    }
    servers.sort();
    let addresses: Vec<String> = servers.into_iter().map(|(_, a)| a).collect();
    format!("{version} {}", addresses.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_config_lists_client_addresses() {
        assert_eq!(client_config(""), " ");
        let config = "server.2=b:2888:3888:participant;0.0.0.0:2182\n\
                      server.1=a:2888:3888:participant;2181\nversion=100000000";
        assert_eq!(client_config(config), "100000000 0.0.0.0:2181,0.0.0.0:2182");
    }
}
