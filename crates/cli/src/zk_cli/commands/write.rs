//! The writing commands: create, set, delete, deleteall, setAcl.

use ferry_zkclient::{acl as presets, Bytes, CreateMode, CreateOptions, ErrorCode, Op};

use super::tree::{list_bfs, visit_dfs};
use super::{complain, parse_int, say, CliError};
use crate::zk_cli::parse::Parsed;
use crate::zk_cli::shell::Shell;
use crate::zk_cli::{acl, format};

type Outcome = Result<(), CliError>;

fn failed(message: &str) -> CliError {
    CliError::Failed(message.to_string())
}

/// The create mode `create`'s flags ask for, checked as `CreateCommand` checks them.
fn create_options(parsed: &Parsed) -> Result<CreateOptions, CliError> {
    let (ephemeral, sequential, container) = (parsed.has('e'), parsed.has('s'), parsed.has('c'));
    if container && (ephemeral || sequential) {
        return Err(failed(
            "-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.",
        ));
    }
    let ttl = match parsed.value('t') {
        Some(text) => Some(
            text.parse::<i64>()
                .map_err(|_not_a_long| failed("-t argument must be a long value"))?,
        ),
        None => None,
    };
    if ttl.is_some() && ephemeral {
        return Err(failed("TTLs cannot be used with Ephemeral znodes"));
    }
    if ttl.is_some() && container {
        return Err(failed("TTLs cannot be used with Container znodes"));
    }
    let mode = match (ephemeral, sequential, container, ttl.is_some()) {
        (true, true, ..) => CreateMode::EphemeralSequential,
        (true, false, ..) => CreateMode::Ephemeral,
        (false, true, _, true) => CreateMode::PersistentSequentialWithTtl,
        (false, true, _, false) => CreateMode::PersistentSequential,
        (false, false, true, _) => CreateMode::Container,
        (false, false, false, true) => CreateMode::PersistentWithTtl,
        (false, false, false, false) => CreateMode::Persistent,
    };
    let max = ferry_jute::ephemeral_owner::MAX_TTL;
    if ttl.is_some_and(|ttl| ttl <= 0 || ttl > max) {
        return Err(CliError::Failed(format!(
            "ttl must be positive and cannot be larger than: {max}"
        )));
    }
    let acl = parsed.arg(3).map_or_else(presets::open_unsafe, acl::parse);
    let options = CreateOptions::new(mode).with_acl(acl);
    Ok(match ttl {
        Some(ttl) => options.with_ttl(ttl),
        None => options,
    })
}

/// A word as znode data, as Java's `String.getBytes()` makes it.
fn data(word: Option<&str>) -> Option<Bytes> {
    word.map(|w| Bytes::copy_from_slice(w.as_bytes()))
}

pub fn create(shell: &mut Shell, parsed: &Parsed) -> Outcome {
    let options = create_options(parsed)?;
    let zk = shell.zk()?;
    match shell.block_on(zk.create(&parsed.args[1], data(parsed.arg(2)), &options)) {
        Ok((created, _)) => {
            complain(&format!("Created {created}"));
            Ok(())
        }
        Err(error) => {
            if error.code() == ErrorCode::InvalidAcl {
                complain(&error.to_string());
            }
            Err(error.into())
        }
    }
}

fn version(parsed: &Parsed) -> Result<Option<i32>, CliError> {
    parsed.value('v').map(parse_int).transpose()
}

pub fn set(shell: &mut Shell, parsed: &Parsed) -> Outcome {
    let version = version(parsed)?;
    let zk = shell.zk()?;
    let stat = shell.block_on(zk.set_data(&parsed.args[1], data(parsed.arg(2)), version))?;
    if parsed.has('s') {
        say(&format::stat(&stat));
    }
    Ok(())
}

pub fn delete(shell: &mut Shell, parsed: &Parsed) -> Outcome {
    let version = version(parsed)?;
    let zk = shell.zk()?;
    Ok(shell.block_on(zk.delete(&parsed.args[1], version))?)
}

/// `ZKUtil.deleteRecursive`: the subtree, deepest last in breadth-first order, deleted from the
/// end in multis of `-b` nodes (1000 by default).
pub fn delete_all(shell: &mut Shell, parsed: &Parsed) -> Outcome {
    let batch = match parsed.value('b') {
        Some(text) => text
            .parse::<usize>()
            .map_err(|_not_an_int| failed("-b argument must be an int value"))?,
        None => 1000,
    };
    let zk = shell.zk()?;
    let tree = shell.block_on(list_bfs(&zk, &parsed.args[1]))?;
    let ops: Vec<Op> = tree
        .iter()
        .rev()
        .map(|path| Op::delete(path, None))
        .collect();
    let all_deleted = shell.block_on(async {
        for chunk in ops.chunks(batch.max(1)) {
            if zk.multi(chunk).await.is_err() {
                return false;
            }
        }
        true
    });
    if !all_deleted {
        complain("Failed to delete some node(s) in the subtree!");
    }
    Ok(())
}

pub fn set_acl(shell: &mut Shell, parsed: &Parsed) -> Outcome {
    let (path, acl) = (&parsed.args[1], acl::parse(&parsed.args[2]));
    let version = version(parsed)?;
    let zk = shell.zk()?;
    if parsed.has('R') {
        let walk = visit_dfs(&zk, path, false, |node| {
            let (zk, acl) = (zk.clone(), acl.clone());
            async move {
                // As zkCli.sh: the message, no newline, and the walk goes on.
                if let Err(error) = zk.set_acl(&node, &acl, version).await {
                    print!("{error}");
                }
            }
        });
        return Ok(shell.block_on(walk)?);
    }
    let stat = shell.block_on(zk.set_acl(path, &acl, version))?;
    if parsed.has('s') {
        say(&format::stat(&stat));
    }
    Ok(())
}
