//! `ferry zk-cli`: zkCli.sh rebuilt on ferry-zkclient, with its commands, flags, output formats,
//! messages and exit codes (0, 1 for a failed command, 127 for an unknown one).
//!
//! `ferry zk-cli [-server host:port[/chroot]] [-timeout ms] [command args...]`: with a command,
//! run it and exit; without, an interactive shell.

mod acl;
mod commands;
mod complete;
mod format;
mod parse;
mod shell;

use std::process::ExitCode;
use std::time::Duration;

use commands::{complain, say};
use shell::Shell;

/// zkCli.sh's options before the command (`-server`, `-timeout`; `-r`,
/// `-client-configuration` and `-waitforconnection` are accepted and have no effect), then
/// the command's words.
struct Invocation {
    server: String,
    timeout_ms: u64,
    command: Vec<String>,
}

fn parse_invocation(args: Vec<String>) -> anyhow::Result<Invocation> {
    let mut invocation = Invocation {
        server: "localhost:2181".to_string(),
        timeout_ms: 30_000,
        command: Vec::new(),
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = || {
            let value = args.next();
            if value.is_none() {
                complain(&format!("Error: no argument found for option {arg}"));
            }
            value
        };
        match arg.as_str() {
            "-server" => {
                if let Some(server) = value() {
                    invocation.server = server;
                }
            }
            "-timeout" => {
                if let Some(ms) = value() {
                    invocation.timeout_ms = ms
                        .parse()
                        .map_err(|e| anyhow::anyhow!("-timeout {ms}: {e}"))?;
                }
            }
            "-client-configuration" => {
                value();
            }
            _ if !arg.starts_with('-') => {
                invocation.command.push(arg);
                invocation.command.extend(args);
                break;
            }
            _ => {}
        }
    }
    Ok(invocation)
}

pub fn run(args: Vec<String>) -> anyhow::Result<ExitCode> {
    let invocation = parse_invocation(args)?;
    say(&format!("Connecting to {}", invocation.server));
    let shell = Shell::new(
        invocation.server,
        Duration::from_millis(invocation.timeout_ms),
    )?;
    Ok(match invocation.command.is_empty() {
        true => shell.interactive(),
        false => shell.one_shot(&invocation.command),
    })
}
