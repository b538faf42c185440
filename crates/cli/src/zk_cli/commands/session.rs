//! The commands about the session and the shell itself: connect, close, addauth, sync, whoami,
//! version, history, redo, printwatches, quit.

use ferry_zkclient::Error;

use super::{parse_int, say, CliError};
use crate::zk_cli::parse::Parsed;
use crate::zk_cli::shell::Shell;

type Outcome = Result<(), CliError>;

pub fn connect(shell: &mut Shell, parsed: &Parsed) -> Outcome {
    let host = parsed.arg(1).unwrap_or(&shell.host).to_string();
    shell.connect(&host)
}

pub fn close(shell: &mut Shell, _: &Parsed) -> Outcome {
    let zk = shell.zk()?;
    shell.block_on(zk.close());
    Ok(())
}

pub fn quit(shell: &mut Shell, _: &Parsed) -> Outcome {
    shell.quit();
    Ok(())
}

/// Like Java's `addAuthInfo`, this does not report a refusal: the session ends and its watcher
/// hears `AuthFailed`.
pub fn add_auth(shell: &mut Shell, parsed: &Parsed) -> Outcome {
    let zk = shell.zk()?;
    let auth = parsed.arg(2).unwrap_or_default().as_bytes().to_vec();
    let _refusal_is_an_event = shell.block_on(zk.add_auth(&parsed.args[1], &auth));
    Ok(())
}

pub fn sync(shell: &mut Shell, parsed: &Parsed) -> Outcome {
    let zk = shell.zk()?;
    match shell.block_on(zk.sync(&parsed.args[1])) {
        Ok(_) => say("Sync is OK"),
        Err(error @ Error::InvalidPath { .. }) => return Err(error.into()),
        Err(error) => say(&format!("Sync has failed. rc={}", error.code().code())),
    }
    Ok(())
}

pub fn who_am_i(shell: &mut Shell, _: &Parsed) -> Outcome {
    let zk = shell.zk()?;
    let identities = shell.block_on(zk.who_am_i())?;
    say("Auth scheme: User");
    for identity in identities {
        say(&format!("{}: {}", identity.auth_scheme, identity.user));
    }
    Ok(())
}

pub fn version(_: &mut Shell, _: &Parsed) -> Outcome {
    say(&format!(
        "ZooKeeper CLI version: ferry {}",
        env!("CARGO_PKG_VERSION")
    ));
    Ok(())
}

pub fn history(shell: &mut Shell, _: &Parsed) -> Outcome {
    let count = shell.command_count();
    for index in count.saturating_sub(10)..=count {
        let line = shell.history_line(index).unwrap_or("null");
        say(&format!("{index} - {line}"));
    }
    Ok(())
}

pub fn print_watches(shell: &mut Shell, parsed: &Parsed) -> Outcome {
    match parsed.arg(1) {
        None => say(&format!(
            "printwatches is {}",
            if shell.printing_watches() {
                "on"
            } else {
                "off"
            }
        )),
        Some(word) => shell.set_printing_watches(word == "on"),
    }
    Ok(())
}

/// `redo N` runs history line N again, in place of itself.
pub fn redo(shell: &mut Shell, parsed: &Parsed) -> Outcome {
    let Some(word) = parsed.arg(1) else {
        return Ok(());
    };
    let index = parse_int(word)?;
    let count = shell.command_count();
    let line = usize::try_from(index)
        .ok()
        .filter(|i| *i < count)
        .and_then(|i| shell.history_line(i))
        .map(str::to_string)
        .ok_or_else(|| CliError::Failed("Command index out of range".into()))?;
    if line.split_whitespace().next() == Some("redo") {
        return Err(CliError::Failed("No redoing redos".into()));
    }
    shell.replace_current_history(&line);
    shell.execute_line_now(&line)
}
