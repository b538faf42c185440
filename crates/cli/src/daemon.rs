//! What `ferry keeper` and `ferry broker` share to run as a daemon, after zkServer.sh and
//! kafka-server-start.sh -daemon: `start` runs this same executable again with `--foreground`
//! in its own process group, output appended to a log file, and waits until a readiness probe
//! succeeds; the foreground process writes its pid file; `stop` sends SIGTERM to that pid and
//! waits for the process to exit.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// How long `start` waits for the server to answer and `stop` waits for it to exit.
const WAIT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(50);

/// A server run in the background: `name` appears in the messages ("keeper", "broker").
pub struct Daemon<'a> {
    pub name: &'a str,
    pub pid_file: PathBuf,
    pub log_file: PathBuf,
}

impl Daemon<'_> {
    /// Runs this executable with `args` (which include `--foreground`) in the background and
    /// returns once `ready` answers true (STARTED), the child exits, or 30 s pass (an error).
    /// Prints "already running" and fails when the pid file names a live process.
    pub fn start(
        &self,
        args: &[OsString],
        mut ready: impl FnMut() -> bool,
    ) -> anyhow::Result<ExitCode> {
        let name = self.name;
        print!("Starting ferry {name} ... ");
        if let Some(pid) = running_pid(&self.pid_file) {
            println!("already running as process {pid}.");
            return Ok(ExitCode::FAILURE);
        }
        if let Some(dir) = self.pid_file.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let mut child = crate::children::spawn(args, &self.log_file)
            .with_context(|| format!("cannot start the {name} process"))?;
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait()? {
                println!("FAILED TO START");
                bail!(
                    "{name} exited with {status}; see {}",
                    self.log_file.display()
                );
            }
            if ready() {
                println!("STARTED");
                return Ok(ExitCode::SUCCESS);
            }
            std::thread::sleep(POLL);
        }
        println!("FAILED TO START");
        bail!(
            "{name} did not answer within 30 s; see {}",
            self.log_file.display()
        )
    }

    /// Sends SIGTERM to the process named by the pid file, waits for it to exit and removes
    /// the pid file (STOPPED); fails when no such process runs.
    pub fn stop(&self) -> anyhow::Result<ExitCode> {
        let name = self.name;
        print!("Stopping ferry {name} ... ");
        let Some(pid) = running_pid(&self.pid_file) else {
            println!(
                "no {name} to stop (could not find process from {})",
                self.pid_file.display()
            );
            return Ok(ExitCode::FAILURE);
        };
        crate::children::terminate(pid)?;
        let deadline = Instant::now() + WAIT;
        while alive(pid) && Instant::now() < deadline {
            std::thread::sleep(POLL);
        }
        let _ = std::fs::remove_file(&self.pid_file);
        println!("STOPPED");
        Ok(ExitCode::SUCCESS)
    }
}

/// The running process's pid file: written on creation, removed when dropped.
pub struct PidFile(PathBuf);

impl PidFile {
    pub fn create(path: PathBuf) -> anyhow::Result<Self> {
        std::fs::write(&path, format!("{}\n", std::process::id()))
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(PidFile(path))
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The pid in `pid_file`, if that process is alive.
pub fn running_pid(pid_file: &Path) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(pid_file)
        .ok()?
        .trim()
        .parse()
        .ok()?;
    alive(pid).then_some(pid)
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}
