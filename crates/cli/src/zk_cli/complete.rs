//! Tab completion for the interactive shell, as zkCli.sh's `JLineZNodeCompleter`: the first
//! word completes to a command name, a word starting with `/` to a znode path (by listing the
//! children of its parent).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ferry_zkclient::Client;
use rustyline::completion::Completer;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};
use tokio::runtime::Handle;

use super::commands::COMMANDS;

/// The session completion lists znodes with; the shell swaps it on `connect`.
pub type CompletionSession = Arc<Mutex<Option<Client>>>;

pub struct ZkHelper {
    pub runtime: Handle,
    pub session: CompletionSession,
}

impl ZkHelper {
    fn children(&self, parent: &str) -> Vec<String> {
        let client = self
            .session
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let Some(client) = client else {
            return Vec::new();
        };
        // The timer must be made inside the runtime.
        let listing = async {
            let children = client.get_children(parent, false);
            tokio::time::timeout(Duration::from_secs(2), children).await
        };
        match self.runtime.block_on(listing) {
            Ok(Ok(children)) => children,
            _ => Vec::new(),
        }
    }
}

impl Completer for ZkHelper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let before = &line[..pos];
        let start = before.rfind(char::is_whitespace).map_or(0, |i| i + 1);
        let word = &before[start..];
        if start == 0 {
            let names = COMMANDS
                .iter()
                .filter(|spec| spec.name.starts_with(word))
                .map(|spec| format!("{} ", spec.name))
                .collect();
            return Ok((0, names));
        }
        let Some(slash) = word.rfind('/').filter(|_| word.starts_with('/')) else {
            return Ok((pos, Vec::new()));
        };
        let (dir, prefix) = (&word[..slash], &word[slash + 1..]);
        let mut children: Vec<String> = self
            .children(if dir.is_empty() { "/" } else { dir })
            .into_iter()
            .filter(|child| child.starts_with(prefix))
            .map(|child| format!("{dir}/{child}"))
            .collect();
        children.sort();
        Ok((start, children))
    }
}

impl Hinter for ZkHelper {
    type Hint = String;
}

impl Highlighter for ZkHelper {}

impl Validator for ZkHelper {}

impl Helper for ZkHelper {}
