//! The shell: the session it drives, its history, the printing of watch events, and the two
//! ways of running: one command from the command line, or an interactive loop.
//!
//! The shell is synchronous (read a line, run it); the session and the event printer run on a
//! one-worker tokio runtime beside it, so events print while the shell waits for input. After
//! each interactive command the shell waits until the printer has printed every event already
//! received, so an event a command caused is printed before the next prompt.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ferry_zkclient::{Client, Events};
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{Editor, ExternalPrinter};
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, oneshot};

use super::commands::{complain, find, parse_words, print_usage, say, CliError};
use super::complete::{CompletionSession, ZkHelper};
use super::format;
use super::parse::{tokenize, Parsed};

type Outcome = Result<(), CliError>;

/// Where watch events are printed: stdout, or through the line editor so the prompt being
/// typed is redrawn below the event.
#[derive(Clone)]
enum Sink {
    Stdout,
    Editor(Arc<Mutex<Box<dyn ExternalPrinter + Send>>>),
}

impl Sink {
    fn print(&self, text: String) {
        match self {
            Self::Stdout => {
                use std::io::Write;
                let mut out = std::io::stdout().lock();
                let _closed = out.write_all(text.as_bytes()).and_then(|()| out.flush());
            }
            Self::Editor(printer) => {
                let mut printer = printer.lock().unwrap_or_else(PoisonError::into_inner);
                let _gone = printer.print(text);
            }
        }
    }
}

/// The task printing one session's events, and a way to wait until it has caught up.
struct Printer {
    barriers: mpsc::UnboundedSender<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Printer {
    fn spawn(runtime: &Runtime, mut events: Events, enabled: Arc<AtomicBool>, sink: Sink) -> Self {
        let (barriers, mut waiting) = mpsc::unbounded_channel::<oneshot::Sender<()>>();
        let task = runtime.spawn(async move {
            loop {
                tokio::select! {
                    // Events first: a barrier is answered only once every event received
                    // before it has been printed.
                    biased;
                    event = events.recv() => match event {
                        Some(event) if enabled.load(Ordering::Relaxed) => {
                            sink.print(format::event_block(&event));
                        }
                        Some(_) => {}
                        None => break,
                    },
                    Some(done) = waiting.recv() => {
                        let _ = done.send(());
                    }
                }
            }
            while let Some(done) = waiting.recv().await {
                let _ = done.send(());
            }
        });
        Self { barriers, task }
    }

    fn flush(&self, runtime: &Runtime) {
        let (done, wait) = oneshot::channel();
        if self.barriers.send(done).is_ok() {
            let _ = runtime.block_on(wait);
        }
    }
}

impl Drop for Printer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Line editing as jline's: Tab lists the candidates when there are several.
fn editor_config() -> rustyline::Config {
    rustyline::Config::builder()
        .completion_type(rustyline::CompletionType::List)
        .auto_add_history(true)
        .build()
}

pub struct Shell {
    runtime: Runtime,
    /// The connect string of the current (or last) session.
    pub host: String,
    timeout: Duration,
    client: Option<Client>,
    printer: Option<Printer>,
    print_watches: Arc<AtomicBool>,
    sink: Sink,
    history: BTreeMap<usize, String>,
    count: usize,
    exit_code: u8,
    quitting: bool,
    /// Interactive shells print the events a command caused before the next prompt.
    flush_after_command: bool,
    /// The session tab completion lists znodes with.
    completion: CompletionSession,
}

impl Shell {
    pub fn new(host: String, timeout: Duration) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        Ok(Self {
            runtime,
            host,
            timeout,
            client: None,
            printer: None,
            print_watches: Arc::new(AtomicBool::new(true)),
            sink: Sink::Stdout,
            history: BTreeMap::new(),
            count: 0,
            exit_code: 0,
            quitting: false,
            flush_after_command: false,
            completion: CompletionSession::default(),
        })
    }

    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// The session, for commands that need one.
    pub fn zk(&self) -> Result<Client, CliError> {
        self.client
            .clone()
            .ok_or_else(|| CliError::Failed("Not connected".into()))
    }

    fn alive(&self) -> bool {
        self.client.as_ref().is_some_and(|c| c.state().is_alive())
    }

    /// Closes the current session (its `Closed` event is printed) and opens one to `host`.
    pub fn connect(&mut self, host: &str) -> Outcome {
        if let Some(old) = self.client.take().filter(|c| c.state().is_alive()) {
            self.block_on(old.close());
            self.flush_events();
        }
        self.printer = None;
        self.host = host.to_string();
        let connecting = Client::builder(host)
            .session_timeout(self.timeout)
            .connect_timeout(self.timeout)
            .connect();
        let (client, events) = self
            .block_on(connecting)
            .map_err(|error| CliError::Failed(error.to_string()))?;
        let enabled = self.print_watches.clone();
        self.printer = Some(Printer::spawn(
            &self.runtime,
            events,
            enabled,
            self.sink.clone(),
        ));
        *self
            .completion
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(client.clone());
        self.client = Some(client);
        Ok(())
    }

    fn flush_events(&self) {
        if let Some(printer) = &self.printer {
            printer.flush(&self.runtime);
        }
    }

    /// Ends the session without printing its last events, as a shell that exits does.
    fn close_quietly(&mut self) {
        self.printer = None;
        if let Some(client) = self.client.take() {
            let timeout = self.timeout;
            self.block_on(async move {
                let _slow_server = tokio::time::timeout(timeout, client.close()).await;
            });
        }
    }

    pub fn quit(&mut self) {
        if let Some(client) = &self.client {
            let client = client.clone();
            self.block_on(client.close());
        }
        self.flush_events();
        self.quitting = true;
    }

    pub fn command_count(&self) -> usize {
        self.count
    }

    pub fn history_line(&self, index: usize) -> Option<&str> {
        self.history.get(&index).map(String::as_str)
    }

    pub fn replace_current_history(&mut self, line: &str) {
        self.history.insert(self.count, line.to_string());
    }

    pub fn printing_watches(&self) -> bool {
        self.print_watches.load(Ordering::Relaxed)
    }

    pub fn set_printing_watches(&self, on: bool) {
        self.print_watches.store(on, Ordering::Relaxed);
    }

    fn prompt(&self) -> String {
        let state = self
            .client
            .as_ref()
            .map_or("CLOSED", |c| c.state().java_name());
        format!("[zk: {}({state}) {}] ", self.host, self.count)
    }

    /// Runs one command, prints its error if any, and returns (and keeps) its exit code.
    pub fn execute(&mut self, words: &[String]) -> u8 {
        let outcome = self.dispatch(words);
        if self.flush_after_command {
            self.flush_events();
        }
        self.exit_code = match outcome {
            Ok(()) => 0,
            Err(error) => {
                complain(error.message());
                error.exit_code()
            }
        };
        self.exit_code
    }

    fn dispatch(&mut self, words: &[String]) -> Outcome {
        let Some(name) = words.first() else {
            print_usage();
            return Err(CliError::Failed("No command entered".into()));
        };
        let Some(spec) = find(name) else {
            print_usage();
            return Err(CliError::NotFound(format!(
                "Command not found: Command not found {name}"
            )));
        };
        if !spec.needs_session() {
            return (spec.run)(self, &Parsed::plain(words));
        }
        if !self.alive() {
            say("Not connected");
            return Ok(());
        }
        let parsed = parse_words(spec, words)?;
        (spec.run)(self, &parsed)
    }

    /// Runs a line as `redo` does: its errors are printed, and `redo` itself succeeds.
    pub fn execute_line_now(&mut self, line: &str) -> Outcome {
        self.execute(&tokenize(line));
        Ok(())
    }

    /// A line typed at the prompt: remembered in the history, run, counted.
    fn execute_line(&mut self, line: &str) {
        let words = tokenize(line);
        if words.is_empty() {
            return;
        }
        self.history.insert(self.count, line.to_string());
        self.execute(&words);
        self.count += 1;
    }

    /// `zkCli.sh -server host cmd args`: connect, run, exit with the command's code.
    pub fn one_shot(mut self, words: &[String]) -> ExitCode {
        // An unknown command fails at once, connection or not.
        if words.first().and_then(|w| find(w)).is_some() {
            let host = self.host.clone();
            if let Err(error) = self.connect(&host) {
                complain(error.message());
                return ExitCode::from(error.exit_code());
            }
            self.flush_events();
        }
        let code = self.execute(words);
        self.close_quietly();
        ExitCode::from(code)
    }

    /// The interactive shell: line editing and history on a terminal, plain lines otherwise.
    pub fn interactive(mut self) -> ExitCode {
        self.flush_after_command = true;
        say("Welcome to ZooKeeper!");
        let mut editor = match std::io::stdin().is_terminal() {
            true => Editor::<ZkHelper, DefaultHistory>::with_config(editor_config()).ok(),
            false => None,
        };
        if let Some(editor) = editor.as_mut() {
            editor.set_helper(Some(ZkHelper {
                runtime: self.runtime.handle().clone(),
                session: self.completion.clone(),
            }));
        }
        say(match editor {
            Some(_) => "JLine support is enabled",
            None => "JLine support is disabled",
        });
        if let Some(editor) = editor.as_mut() {
            if let Ok(printer) = editor.create_external_printer() {
                self.sink = Sink::Editor(Arc::new(Mutex::new(Box::new(printer))));
            }
        }
        let host = self.host.clone();
        if let Err(error) = self.connect(&host) {
            complain(error.message());
        }
        self.flush_events();
        let stdin = std::io::stdin();
        while !self.quitting {
            let line = match editor.as_mut() {
                Some(editor) => match editor.readline(&self.prompt()) {
                    Ok(line) => line,
                    Err(ReadlineError::Interrupted) => continue,
                    Err(_) => break,
                },
                None => {
                    let mut line = String::new();
                    match stdin.lock().read_line(&mut line) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => line.trim_end_matches(['\n', '\r']).to_string(),
                    }
                }
            };
            self.execute_line(&line);
        }
        self.close_quietly();
        ExitCode::from(self.exit_code)
    }
}
