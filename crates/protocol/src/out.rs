//! [`Out`], where messages are encoded: a buffer for the fields, with large record sets spliced
//! in by reference instead of copied, and [`Encoded`], the frame that results as a list of
//! parts for a vectored write (and `sendfile` for file slices).
//!
//! A Fetch response or a Produce request is mostly record sets; copying them into the frame
//! buffer was one of the largest costs of the broker and of the producers. Only bytes fields
//! are spliced (record sets, and the rare other large one), and no length is ever computed
//! across a splice (a tagged field, whose length prefix is computed, is encoded contiguously),
//! so the frame's size is simply the sum of its parts.

use std::ops::{Deref, DerefMut};

use bytes::{Bytes, BytesMut};

use crate::error::{ProtocolError, Result};
use crate::records::{FileSlice, Records};

/// Record sets shorter than this are copied: a part of their own would cost more than the copy.
const SPLICE_MIN: usize = 4096;

/// The bytes of `records` a splicing [`Out`] copies into its buffer.
pub(crate) fn copied_len(records: &Records) -> usize {
    match records {
        Records::Memory(bytes) if bytes.len() < SPLICE_MIN => bytes.len(),
        _ => 0,
    }
}

/// One part of an encoded frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Bytes(Bytes),
    File(FileSlice),
}

impl Part {
    pub fn len(&self) -> usize {
        match self {
            Part::Bytes(bytes) => bytes.len(),
            Part::File(slice) => slice.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An encoding in progress; derefs to the buffer the fields are written to.
pub struct Out {
    buf: BytesMut,
    parts: Vec<Part>,
    /// Whether record sets may be spliced (false: a frame that must come out contiguous).
    splicing: bool,
}

impl Out {
    /// An output that splices large record sets, with room for `capacity` bytes of fields.
    pub fn spliced(capacity: usize) -> Self {
        Out {
            buf: BytesMut::with_capacity(capacity),
            parts: Vec::new(),
            splicing: true,
        }
    }

    /// An output that copies every record set into one buffer.
    pub fn contiguous() -> Self {
        Out {
            buf: BytesMut::new(),
            parts: Vec::new(),
            splicing: false,
        }
    }

    /// Appends a record set's bytes (its length prefix already written).
    pub fn put_records(&mut self, records: &Records) -> Result<()> {
        match records {
            Records::Memory(bytes) => self.put_bytes(bytes),
            Records::File(slice) if self.splicing => self.splice(Part::File(slice.clone())),
            Records::File(_) => return Err(ProtocolError::FileRecordsInContiguousFrame),
        }
        Ok(())
    }

    /// Appends a bytes field's content (its length prefix already written): spliced when
    /// large (a produce request's records), copied otherwise.
    pub fn put_bytes(&mut self, bytes: &Bytes) {
        if self.splicing && bytes.len() >= SPLICE_MIN {
            self.splice(Part::Bytes(bytes.clone()));
        } else {
            self.buf.extend_from_slice(bytes);
        }
    }

    fn splice(&mut self, part: Part) {
        if !self.buf.is_empty() {
            self.parts.push(Part::Bytes(self.buf.split().freeze()));
        }
        self.parts.push(part);
    }

    /// The frame as parts.
    pub fn finish(mut self) -> Encoded {
        if !self.buf.is_empty() || self.parts.is_empty() {
            self.parts.push(Part::Bytes(self.buf.freeze()));
        }
        Encoded { parts: self.parts }
    }

    /// The frame as one buffer; only for an output made [`Out::contiguous`].
    pub fn into_contiguous(self) -> BytesMut {
        debug_assert!(self.parts.is_empty(), "a contiguous output never splices");
        self.buf
    }
}

impl Deref for Out {
    type Target = BytesMut;
    fn deref(&self) -> &BytesMut {
        &self.buf
    }
}

impl DerefMut for Out {
    fn deref_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }
}

/// An encoded frame (without its size prefix), as the parts to write in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    parts: Vec<Part>,
}

impl Encoded {
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// The frame's parts behind its 4-byte size prefix, as it goes on the wire.
    pub fn framed(self) -> Vec<Part> {
        let size = u32::try_from(self.len()).unwrap_or(u32::MAX);
        let mut parts = Vec::with_capacity(self.parts.len() + 1);
        parts.push(Part::Bytes(Bytes::copy_from_slice(&size.to_be_bytes())));
        parts.extend(self.parts);
        parts
    }

    /// The frame's length.
    pub fn len(&self) -> usize {
        self.parts.iter().map(Part::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The frame in one buffer (copied; file slices read), for tests and tools.
    pub fn to_vec(&self) -> std::io::Result<Vec<u8>> {
        use std::os::unix::fs::FileExt;
        let mut out = Vec::with_capacity(self.len());
        for part in &self.parts {
            match part {
                Part::Bytes(bytes) => out.extend_from_slice(bytes),
                Part::File(slice) => {
                    let start = out.len();
                    out.resize(start + slice.len, 0);
                    slice
                        .file
                        .read_exact_at(&mut out[start..], slice.position)?;
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BufMut;

    #[test]
    fn large_record_sets_are_spliced_small_ones_copied() {
        let big = Bytes::from(vec![7u8; SPLICE_MIN]);
        let mut out = Out::spliced(16);
        out.put_i32(1);
        out.put_records(&Records::Memory(Bytes::from_static(b"small")))
            .unwrap();
        out.put_records(&Records::Memory(big.clone())).unwrap();
        out.put_i16(2);
        let encoded = out.finish();
        let parts = encoded.parts();
        assert_eq!(parts.len(), 3);
        assert_eq!(
            parts[0],
            Part::Bytes(Bytes::from_static(b"\0\0\0\x01small"))
        );
        assert_eq!(parts[1], Part::Bytes(big.clone()));
        assert_eq!(parts[2], Part::Bytes(Bytes::from_static(b"\0\x02")));
        assert_eq!(encoded.len(), 9 + SPLICE_MIN + 2);

        let mut whole = Out::contiguous();
        whole.put_i32(1);
        whole.put_records(&Records::Memory(big)).unwrap();
        assert_eq!(whole.into_contiguous().len(), 4 + SPLICE_MIN);
    }

    #[test]
    fn file_slices_are_read_back_and_refused_in_a_contiguous_frame() {
        let path = std::env::temp_dir().join(format!("ferry-out-{}", std::process::id()));
        std::fs::write(&path, b"0123456789").unwrap();
        let slice = FileSlice {
            file: std::sync::Arc::new(std::fs::File::open(&path).unwrap()),
            position: 2,
            len: 5,
        };
        std::fs::remove_file(&path).unwrap();
        let mut out = Out::spliced(0);
        out.put_u8(b'<');
        out.put_records(&Records::File(slice.clone())).unwrap();
        out.put_u8(b'>');
        assert_eq!(out.finish().to_vec().unwrap(), b"<23456>");
        assert!(matches!(
            Out::contiguous().put_records(&Records::File(slice)),
            Err(ProtocolError::FileRecordsInContiguousFrame)
        ));
    }

    #[test]
    fn an_empty_frame_has_one_empty_part() {
        assert_eq!(Out::spliced(0).finish().parts().len(), 1);
    }
}
