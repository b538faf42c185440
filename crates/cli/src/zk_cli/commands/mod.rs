//! The command table: each zkCli.sh command with its usage string, its options and the function
//! that runs it. `help` prints the table as zkCli.sh's `usage()` does.

mod read;
mod reconfig;
mod session;
mod tree;
mod watches;
mod write;

use super::parse::{flag, valued, OptSpec, Parsed};
use super::shell::Shell;

/// Why a command failed, and so what exit code the shell reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliError {
    /// zkCli.sh's `CliException`: the message goes to stderr, exit code 1.
    Failed(String),
    /// `CommandNotFoundException`: exit code 127.
    NotFound(String),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Failed(_) => 1,
            Self::NotFound(_) => 127,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Self::Failed(message) | Self::NotFound(message) => message,
        }
    }
}

impl From<ferry_zkclient::Error> for CliError {
    fn from(error: ferry_zkclient::Error) -> Self {
        Self::Failed(super::format::error_message(&error))
    }
}

pub type Run = fn(&mut Shell, &Parsed) -> Result<(), CliError>;

/// How the old positional forms are still accepted (with a warning), as zkCli.sh 3.8 does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compat {
    None,
    /// `ls path watch`: the third word is read as `-w`.
    WatchWord(&'static str),
    /// `delete path version`: read as `delete -v version path`.
    VersionWord,
}

pub struct Spec {
    pub name: &'static str,
    /// What `usage()` prints after the name.
    pub usage: &'static str,
    /// `None`: the shell's own commands, which take their words as they are.
    pub options: Option<&'static [OptSpec]>,
    /// Words needed, the command included; fewer is a usage error.
    pub min_words: usize,
    /// Words allowed, the command included.
    pub max_words: Option<usize>,
    pub compat: Compat,
    pub run: Run,
}

impl Spec {
    pub fn usage_line(&self) -> String {
        format!("{} {}", self.name, self.usage)
    }

    pub fn needs_session(&self) -> bool {
        self.options.is_some()
    }
}

const fn spec(
    name: &'static str,
    usage: &'static str,
    options: &'static [OptSpec],
    min_words: usize,
    run: Run,
) -> Spec {
    Spec {
        name,
        usage,
        options: Some(options),
        min_words,
        max_words: None,
        compat: Compat::None,
        run,
    }
}

const fn shell_spec(name: &'static str, usage: &'static str, run: Run) -> Spec {
    Spec {
        name,
        usage,
        options: None,
        min_words: 1,
        max_words: None,
        compat: Compat::None,
        run,
    }
}

pub const ADD_WATCH_USAGE: &str = "[-m mode] path # optional mode is one of [PERSISTENT, \
                                   PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE";

/// Every command of zkCli.sh 3.8, sorted as `usage()` prints them.
pub static COMMANDS: &[Spec] = &[
    Spec {
        max_words: Some(2),
        ..spec(
            "addWatch",
            ADD_WATCH_USAGE,
            &[valued('m')],
            2,
            watches::add_watch,
        )
    },
    spec("addauth", "scheme auth", &[], 2, session::add_auth),
    spec("close", "", &[], 1, session::close),
    spec(
        "config",
        "[-c] [-w] [-s]",
        &[flag('c'), flag('w'), flag('s')],
        1,
        read::config,
    ),
    shell_spec("connect", "host:port", session::connect),
    spec(
        "create",
        "[-s] [-e] [-c] [-t ttl] path [data] [acl]",
        &[flag('s'), flag('e'), flag('c'), valued('t')],
        2,
        write::create,
    ),
    Spec {
        compat: Compat::VersionWord,
        ..spec(
            "delete",
            "[-v version] path",
            &[valued('v')],
            2,
            write::delete,
        )
    },
    spec(
        "deleteall",
        "path [-b batch size]",
        &[valued('b')],
        2,
        write::delete_all,
    ),
    spec("delquota", "[-n|-b|-N|-B] path", &[], 1, unsupported),
    Spec {
        compat: Compat::WatchWord(
            "'get path [watch]' has been deprecated. Please use 'get [-s] [-w] path' instead.",
        ),
        ..spec(
            "get",
            "[-s] [-w] path",
            &[flag('s'), flag('w')],
            2,
            read::get,
        )
    },
    spec("getAcl", "[-s] path", &[flag('s')], 2, read::get_acl),
    spec(
        "getAllChildrenNumber",
        "path",
        &[],
        2,
        read::all_children_number,
    ),
    spec("getEphemerals", "path", &[], 1, read::ephemerals),
    shell_spec("history", "", session::history),
    spec("listquota", "path", &[], 1, unsupported),
    Spec {
        compat: Compat::WatchWord(
            "'ls path [watch]' has been deprecated. Please use 'ls [-w] path' instead.",
        ),
        ..spec(
            "ls",
            "[-s] [-w] [-R] path",
            &[flag('s'), flag('w'), flag('R')],
            2,
            read::ls,
        )
    },
    shell_spec("printwatches", "on|off", session::print_watches),
    shell_spec("quit", "", session::quit),
    shell_spec(
        "reconfig",
        "[-s] [-v version] [[-file path] | [-members serverID=host:port1:port2;port3[,...]*]] | \
         [-add serverId=host:port1:port2;port3[,...]]* [-remove serverId[,...]*]",
        reconfig::reconfig,
    ),
    shell_spec("redo", "cmdno", session::redo),
    spec(
        "removewatches",
        "path [-c|-d|-a] [-l]",
        &[flag('c'), flag('d'), flag('a'), flag('l')],
        2,
        watches::remove_watches,
    ),
    spec(
        "set",
        "[-s] [-v version] path data",
        &[flag('s'), valued('v')],
        3,
        write::set,
    ),
    spec(
        "setAcl",
        "[-s] [-v version] [-R] path acl",
        &[flag('s'), valued('v'), flag('R')],
        3,
        write::set_acl,
    ),
    spec("setquota", "-n|-b|-N|-B val path", &[], 1, unsupported),
    Spec {
        compat: Compat::WatchWord(
            "'stat path [watch]' has been deprecated. Please use 'stat [-w] path' instead.",
        ),
        ..spec("stat", "[-w] path", &[flag('w')], 2, read::stat)
    },
    spec("sync", "path", &[], 2, session::sync),
    Spec {
        max_words: Some(1),
        ..spec("version", "", &[], 1, session::version)
    },
    spec("whoami", "", &[], 1, session::who_am_i),
];

pub fn find(name: &str) -> Option<&'static Spec> {
    COMMANDS.iter().find(|spec| spec.name == name)
}

/// zkCli.sh's `usage()`, on stderr.
pub fn print_usage() {
    let mut text = String::from(
        "ZooKeeper -server host:port -client-configuration properties-file cmd args\n",
    );
    for spec in COMMANDS {
        text.push_str(&format!("\t{}\n", spec.usage_line()));
    }
    complain(text.trim_end_matches('\n'));
}

fn unsupported(_: &mut Shell, parsed: &Parsed) -> Result<(), CliError> {
    Err(CliError::Failed(format!(
        "{} is not supported by ferry zk-cli",
        parsed.args[0]
    )))
}

/// Parses a command's words against its spec, applying the old positional forms.
pub fn parse_words(spec: &Spec, words: &[String]) -> Result<Parsed, CliError> {
    let options = spec.options.unwrap_or(&[]);
    let mut parsed = super::parse::parse(words, options).map_err(CliError::Failed)?;
    if parsed.args.len() > 2 {
        let reparse =
            |words: &[String]| super::parse::parse(words, options).map_err(CliError::Failed);
        match spec.compat {
            Compat::None => {}
            Compat::WatchWord(warning) => {
                complain(warning);
                let mut words = words.to_vec();
                words[2] = "-w".to_string();
                parsed = reparse(&words)?;
            }
            Compat::VersionWord => {
                complain(
                    "'delete path [version]' has been deprecated. Please use 'delete [-v version] path' instead.",
                );
                let words = [
                    words[0].clone(),
                    "-v".to_string(),
                    words[2].clone(),
                    words[1].clone(),
                ];
                parsed = reparse(&words)?;
            }
        }
    }
    let too_few = parsed.args.len() < spec.min_words;
    let too_many = spec.max_words.is_some_and(|max| parsed.args.len() > max);
    if too_few || too_many {
        return Err(CliError::Failed(spec.usage_line()));
    }
    Ok(parsed)
}

/// A line on stdout; a closed pipe is not worth a panic.
pub fn say(text: &str) {
    use std::io::Write;
    let _closed = writeln!(std::io::stdout().lock(), "{text}");
}

/// A line on stderr.
pub fn complain(text: &str) {
    use std::io::Write;
    let _closed = writeln!(std::io::stderr().lock(), "{text}");
}

/// Java's `Integer.parseInt` failing, as the uncaught exception zkCli.sh dies of.
pub fn parse_int(text: &str) -> Result<i32, CliError> {
    text.parse().map_err(|_not_a_number| {
        CliError::Failed(format!(
            "java.lang.NumberFormatException: For input string: \"{text}\""
        ))
    })
}
