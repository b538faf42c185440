//! Tagged fields (KIP-482): the optional trailer of every struct in a
//! flexible version.
//!
//! Wire form: unsigned-varint count, then per field an unsigned-varint tag,
//! an unsigned-varint size and `size` bytes, tags ascending. Known tags are
//! decoded into their struct fields; unknown ones are kept verbatim in
//! [`TaggedFields`] so a message re-encodes to the same bytes.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{ProtocolError, Result};
use crate::primitives::{put_unsigned_varint, Reader};

/// A tagged field this crate does not know, kept as raw bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawTaggedField {
    /// The field's tag.
    pub tag: u32,
    /// The field's encoded value.
    pub data: Bytes,
}

/// The unknown tagged fields of one struct, in the order read.
pub type TaggedFields = Vec<RawTaggedField>;

/// Reads a tagged-field section as raw `(tag, bytes)` pairs, sorted by tag.
pub fn read_tagged(r: &mut Reader) -> Result<Vec<RawTaggedField>> {
    let count = r.unsigned_varint("tagged field count")?;
    // Every tagged field takes at least two bytes (tag and size).
    let count = r
        .checked_len(i64::from(count), "tagged field count")?
        .unwrap_or_default();
    let mut out = Vec::with_capacity(count / 2);
    for _ in 0..count {
        let tag = r.unsigned_varint("tag")?;
        let size = r.unsigned_varint("tagged field size")?;
        let size = r.checked_len(i64::from(size), "tagged field size")?.ok_or(
            ProtocolError::InvalidLength {
                what: "tagged field size",
                len: -1,
                remaining: r.remaining(),
            },
        )?;
        out.push(RawTaggedField {
            tag,
            data: r.take(size, "tagged field")?,
        });
    }
    // The protocol wants ascending tags; accept any order but normalize
    // (stably), so what we keep re-encodes as it decodes.
    out.sort_by_key(|f| f.tag);
    Ok(out)
}

/// Writes a tagged-field section from encoded fields (known and unknown),
/// sorting them by tag as the protocol requires.
pub fn write_tagged(buf: &mut BytesMut, mut fields: Vec<RawTaggedField>) {
    fields.sort_by_key(|f| f.tag);
    put_unsigned_varint(buf, fields.len() as u64);
    for f in fields {
        put_unsigned_varint(buf, u64::from(f.tag));
        put_unsigned_varint(buf, f.data.len() as u64);
        buf.put_slice(&f.data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_sorted() {
        let mut b = BytesMut::new();
        let f = |tag, d: &'static [u8]| RawTaggedField {
            tag,
            data: Bytes::from_static(d),
        };
        write_tagged(&mut b, vec![f(5, b"xy"), f(1, b"")]);
        assert_eq!(&b[..], &[2, 1, 0, 5, 2, b'x', b'y']);
        let got = read_tagged(&mut Reader::new(b.freeze())).unwrap();
        assert_eq!(got, vec![f(1, b""), f(5, b"xy")]);
    }

    #[test]
    fn oversized_count_is_rejected() {
        let mut r = Reader::new(Bytes::from_static(&[0x7f, 0]));
        assert!(read_tagged(&mut r).is_err());
    }
}
