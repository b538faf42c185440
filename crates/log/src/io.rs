//! Positional file I/O with errors that name the operation and path, and with fault injection.
//!
//! Positional reads and writes (`pread`/`pwrite` through `FileExt`) let many readers share one
//! file handle with the writer without a seek position to fight over, and need no `unsafe`
//! (unlike mmap).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::error::{io_err, LogError, Result};
use crate::fault::FaultInjector;

/// Writes all of `buf` at `pos`, or fails (possibly after writing a prefix, as a full disk does).
pub(crate) fn write_all_at(
    faults: &FaultInjector,
    file: &File,
    path: &Path,
    buf: &[u8],
    pos: u64,
) -> Result<()> {
    let allowed = faults
        .admit_write(buf.len())
        .map_err(io_err("write", path))?;
    file.write_all_at(&buf[..allowed], pos)
        .map_err(io_err("write", path))?;
    if allowed < buf.len() {
        return Err(LogError::io(
            "write",
            path,
            io::Error::from_raw_os_error(28),
        ));
    }
    Ok(())
}

/// Reads as many bytes as are available into `buf` starting at `pos`; returns how many.
pub(crate) fn read_at_most(file: &File, path: &Path, buf: &mut [u8], pos: u64) -> Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], pos + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(LogError::io("read", path, e)),
        }
    }
    Ok(done)
}

/// fsyncs a file's data and metadata.
pub(crate) fn sync(faults: &FaultInjector, file: &File, path: &Path) -> Result<()> {
    faults.admit_sync().map_err(io_err("fsync", path))?;
    file.sync_all().map_err(io_err("fsync", path))
}

/// fsyncs a directory so that file creations, renames and deletions in it are durable.
pub(crate) fn sync_dir(faults: &FaultInjector, dir: &Path) -> Result<()> {
    faults
        .admit_sync()
        .map_err(io_err("fsync directory", dir))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("fsync directory", dir))
}

/// Truncates or extends a file to `len`.
pub(crate) fn set_len(file: &File, path: &Path, len: u64) -> Result<()> {
    file.set_len(len).map_err(io_err("truncate", path))
}

/// Removes a file, treating "already gone" as success.
pub(crate) fn remove_file_if_exists(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(LogError::io("delete", path, e)),
    }
}

/// Reads a whole (small) file; `Ok(None)` if it does not exist.
pub(crate) fn read_file_if_exists(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(LogError::io("read", path, e)),
    }
}

/// Writes a small file atomically: write `path.tmp`, fsync it, rename over `path`, fsync the
/// directory. A crash leaves either the old or the new content, never a mix (this is how Kafka
/// writes its checkpoint files too).
pub(crate) fn write_file_atomically(
    faults: &FaultInjector,
    path: &Path,
    content: &[u8],
) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let file = File::create(&tmp).map_err(io_err("create", &tmp))?;
    write_all_at(faults, &file, &tmp, content, 0)?;
    sync(faults, &file, &tmp)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(io_err("rename", path))?;
    if let Some(dir) = path.parent() {
        sync_dir(faults, dir)?;
    }
    Ok(())
}
