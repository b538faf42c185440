//! `reconfig`, as zkCli.sh 3.8's `ReconfigCommand` takes it: incremental (`-add` server specs,
//! `-remove` server ids) or whole (`-members` specs, or `-file` with a dynamic config), `-v`
//! the config version (hex) the change is based on, `-s` to print the new config's stat.

use super::read::data_text;
use super::{say, CliError, COMMANDS};
use crate::zk_cli::format;
use crate::zk_cli::parse::Parsed;
use crate::zk_cli::shell::Shell;

type Outcome = Result<(), CliError>;

#[derive(Debug, Default, PartialEq, Eq)]
struct Change {
    joining: Vec<String>,
    leaving: Vec<String>,
    members: Vec<String>,
    version: Option<i64>,
    stat: bool,
}

fn failed(message: &str) -> CliError {
    CliError::Failed(message.to_string())
}

/// The `server.N=...` lines of a dynamic config file.
fn members_of_file(path: &str) -> Result<Vec<String>, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Failed(format!("cannot read {path}: {e}")))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with("server."))
        .map(str::to_string)
        .collect())
}

fn parse(words: &[String], usage: &str) -> Result<Change, CliError> {
    let mut change = Change::default();
    let mut words = words.iter().skip(1);
    while let Some(word) = words.next() {
        let mut value = || words.next().cloned().ok_or_else(|| failed(usage));
        match word.as_str() {
            "-s" => change.stat = true,
            "-v" => {
                let version = value()?;
                let parsed = i64::from_str_radix(version.trim_start_matches("0x"), 16);
                change.version = Some(parsed.map_err(|_bad| {
                    failed("-v must be followed by a long (configuration version)")
                })?);
            }
            "-add" => change.joining.push(value()?),
            "-remove" => change.leaving.push(value()?),
            "-members" => change.members.push(value()?),
            "-file" => change.members.extend(members_of_file(&value()?)?),
            _ => return Err(failed(usage)),
        }
    }
    let incremental = !change.joining.is_empty() || !change.leaving.is_empty();
    if incremental && !change.members.is_empty() {
        return Err(failed(
            "Can't use -file or -members together with -add or -remove (mixing incremental and \
             non-incremental modes is not allowed)",
        ));
    }
    if !incremental && change.members.is_empty() {
        return Err(failed(usage));
    }
    Ok(change)
}

pub fn reconfig(shell: &mut Shell, parsed: &Parsed) -> Outcome {
    let usage = COMMANDS
        .iter()
        .find(|spec| spec.name == "reconfig")
        .map(super::Spec::usage_line)
        .unwrap_or_default();
    let change = parse(&parsed.args, &usage)?;
    let joined = |parts: &[String]| (!parts.is_empty()).then(|| parts.join(","));
    let (joining, leaving, members) = (
        joined(&change.joining),
        joined(&change.leaving),
        joined(&change.members),
    );
    let zk = shell.zk()?;
    let (data, stat) = shell.block_on(zk.reconfig(
        joining.as_deref(),
        leaving.as_deref(),
        members.as_deref(),
        change.version.unwrap_or(-1),
    ))?;
    say("Committed new configuration:");
    say(&data_text(data.as_deref()));
    if change.stat {
        say(&format::stat(&stat));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn incremental_whole_and_mixed() {
        let change = parse(
            &words("reconfig -add server.4=h:1:2;3 -remove 1 -v 1a -s"),
            "u",
        )
        .unwrap();
        assert_eq!(change.joining, ["server.4=h:1:2;3"]);
        assert_eq!(
            (change.leaving.as_slice(), change.version, change.stat),
            (&["1".to_string()][..], Some(0x1a), true)
        );
        let whole = parse(
            &words("reconfig -members server.1=h:1:2;3,server.2=h:4:5;6"),
            "u",
        )
        .unwrap();
        assert_eq!(whole.members.len(), 1);
        assert!(parse(&words("reconfig -members a -add b"), "u")
            .unwrap_err()
            .message()
            .contains("mixing incremental"));
        assert_eq!(
            parse(&words("reconfig"), "usage").unwrap_err().message(),
            "usage"
        );
        assert_eq!(
            parse(&words("reconfig -add"), "usage")
                .unwrap_err()
                .message(),
            "usage"
        );
        assert!(parse(&words("reconfig -remove 1 -v zz"), "u").is_err());
    }
}
