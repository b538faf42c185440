//! Record sets as they travel in a Fetch response: bytes in memory, or a slice of a log segment
//! file (Kafka's `FileRecords`) that the broker's connection sends straight from the page cache
//! with `sendfile`, so a leader serving its followers never copies what it replicates.
//!
//! Decoding always gives [`Records::Memory`]: a [`Records::File`] is only ever built by the
//! broker for a response it is about to send.

use std::fmt;
use std::fs::File;
use std::sync::Arc;

use bytes::Bytes;

/// A record set; see the module docs.
#[derive(Clone, PartialEq)]
pub enum Records {
    Memory(Bytes),
    File(FileSlice),
}

impl Records {
    pub fn len(&self) -> usize {
        match self {
            Records::Memory(bytes) => bytes.len(),
            Records::File(slice) => slice.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes of a record set held in memory (every decoded one); `None` for a file slice.
    pub fn bytes(&self) -> Option<&Bytes> {
        match self {
            Records::Memory(bytes) => Some(bytes),
            Records::File(_) => None,
        }
    }
}

impl Default for Records {
    fn default() -> Self {
        Records::Memory(Bytes::new())
    }
}

impl From<Bytes> for Records {
    fn from(bytes: Bytes) -> Self {
        Records::Memory(bytes)
    }
}

impl From<Vec<u8>> for Records {
    fn from(bytes: Vec<u8>) -> Self {
        Records::Memory(bytes.into())
    }
}

impl fmt::Debug for Records {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Records::Memory(bytes) => write!(f, "Memory({} bytes)", bytes.len()),
            Records::File(slice) => slice.fmt(f),
        }
    }
}

/// `len` bytes of an open log segment file from `position`. The handle is shared, so the
/// bytes stay readable while the slice waits to be sent even if the segment is deleted
/// meanwhile; a file truncated under it sends short, which the sender detects.
#[derive(Clone)]
pub struct FileSlice {
    pub file: Arc<File>,
    pub position: u64,
    pub len: usize,
}

impl PartialEq for FileSlice {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.file, &other.file)
            && self.position == other.position
            && self.len == other.len
    }
}

impl fmt::Debug for FileSlice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "File({} bytes at {})", self.len, self.position)
    }
}
