//! Running this same executable again as a server process (`ferry keeper|broker start
//! --foreground ...`), as `ferry keeper start`'s daemon and `ferry cluster` do: in its own
//! process group, so that a terminal's Ctrl-C reaches only the parent, which stops its
//! children in order (brokers before the keepers they need) rather than all at once; with its
//! output appended to a log file.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

const POLL: Duration = Duration::from_millis(50);

/// Starts `ferry <args>` with stdin closed and stdout and stderr appended to `log_file`
/// (whose directory is created).
pub fn spawn(args: &[OsString], log_file: &Path) -> anyhow::Result<Child> {
    use std::os::unix::process::CommandExt;
    if let Some(dir) = log_file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_file)
        .with_context(|| format!("cannot open {}", log_file.display()))?;
    Command::new(std::env::current_exe()?)
        .args(args)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .context("cannot start a ferry process")
}

/// Sends SIGTERM to `pid` (through kill(1): this crate has no unsafe code for libc). kill(1)
/// runs in its own process group, so that a second Ctrl-C (which the terminal sends to the
/// whole foreground group) cannot kill it before it has signalled.
pub fn terminate(pid: u32) -> anyhow::Result<()> {
    use std::os::unix::process::CommandExt;
    let status = Command::new("kill")
        .arg(pid.to_string())
        .process_group(0)
        .status()?;
    if !status.success() {
        bail!("could not signal process {pid}");
    }
    Ok(())
}

/// Stops a child: SIGTERM, then SIGKILL if it has not exited within `grace`. Returns whether
/// it exited on SIGTERM.
pub fn stop(child: &mut Child, grace: Duration) -> anyhow::Result<bool> {
    if child.try_wait()?.is_some() {
        return Ok(true);
    }
    if let Err(error) = terminate(child.id()) {
        // Exited meanwhile, or cannot be asked: it must not outlive its parent either way.
        if child.try_wait()?.is_none() {
            child.kill()?;
            child.wait()?;
            return Err(error);
        }
        return Ok(true);
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if child.try_wait()?.is_some() {
            return Ok(true);
        }
        std::thread::sleep(POLL);
    }
    child.kill()?;
    child.wait()?;
    Ok(false)
}
