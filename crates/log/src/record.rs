//! Records inside a v2 batch: zig-zag varints and the per-record layout.
//!
//! The append path never looks at records. Only two features need them: compaction (keys and
//! null values) and ListOffsets by time (per-record timestamps). Layout of one record:
//!
//! ```text
//! length          varint   bytes that follow
//! attributes      int8     unused, 0
//! timestampDelta  varlong  relative to the batch's baseTimestamp
//! offsetDelta     varint   relative to the batch's baseOffset
//! keyLength       varint   -1 for a null key
//! key             bytes
//! valueLength     varint   -1 for a null value (a tombstone)
//! value           bytes
//! headerCount     varint
//! headers         [keyLength varint, key, valueLength varint, value] * headerCount
//! ```

use crate::error::BatchError;

fn malformed(what: &'static str) -> BatchError {
    BatchError::MalformedRecord(what)
}

/// Reads an unsigned LEB128 value of at most `max_bytes` bytes.
fn read_unsigned(buf: &[u8], pos: &mut usize, max_bytes: usize) -> Result<u64, BatchError> {
    let mut value = 0u64;
    for i in 0..max_bytes {
        let byte = *buf
            .get(*pos)
            .ok_or_else(|| malformed("varint runs past the end"))?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(malformed("varint too long"))
}

/// Reads a zig-zag encoded 32-bit varint.
pub fn read_varint(buf: &[u8], pos: &mut usize) -> Result<i32, BatchError> {
    let raw = read_unsigned(buf, pos, 5)? as u32;
    Ok(((raw >> 1) as i32) ^ -((raw & 1) as i32))
}

/// Reads a zig-zag encoded 64-bit varint.
pub fn read_varlong(buf: &[u8], pos: &mut usize) -> Result<i64, BatchError> {
    let raw = read_unsigned(buf, pos, 10)?;
    Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64))
}

/// Appends a zig-zag encoded 32-bit varint.
pub fn write_varint(out: &mut Vec<u8>, value: i32) {
    write_varlong(out, i64::from(value));
}

/// Appends a zig-zag encoded 64-bit varint.
pub fn write_varlong(out: &mut Vec<u8>, value: i64) {
    let mut v = ((value << 1) ^ (value >> 63)) as u64;
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn read_bytes<'a>(buf: &'a [u8], pos: &mut usize) -> Result<Option<&'a [u8]>, BatchError> {
    let len = read_varint(buf, pos)?;
    if len < 0 {
        return Ok(None);
    }
    let end = pos
        .checked_add(len as usize)
        .filter(|&e| e <= buf.len())
        .ok_or_else(|| malformed("field runs past the end of the record"))?;
    let bytes = &buf[*pos..end];
    *pos = end;
    Ok(Some(bytes))
}

/// One decoded record, borrowing from the (decompressed) records section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    pub timestamp_delta: i64,
    pub offset_delta: i32,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub header_count: i32,
    /// The headers' bytes (after their count), read by [`Record::headers`].
    pub headers_raw: &'a [u8],
    /// The whole record including its length prefix, for copying it unchanged.
    pub raw: &'a [u8],
}

impl<'a> Record<'a> {
    fn parse(buf: &'a [u8], pos: &mut usize) -> Result<Self, BatchError> {
        let start = *pos;
        let len = read_varint(buf, pos)?;
        if len < 0 {
            return Err(malformed("negative record length"));
        }
        let end = pos
            .checked_add(len as usize)
            .filter(|&e| e <= buf.len())
            .ok_or_else(|| malformed("record runs past the end of the batch"))?;
        let body = &buf[..end];
        let mut p = *pos;
        p += 1; // attributes
        if p > end {
            return Err(malformed("record too short"));
        }
        let timestamp_delta = read_varlong(body, &mut p)?;
        let offset_delta = read_varint(body, &mut p)?;
        let key = read_bytes(body, &mut p)?;
        let value = read_bytes(body, &mut p)?;
        let header_count = read_varint(body, &mut p)?;
        if header_count < 0 {
            return Err(malformed("negative header count"));
        }
        let headers_start = p;
        for _ in 0..header_count {
            if read_bytes(body, &mut p)?.is_none() {
                return Err(malformed("null header key"));
            }
            read_bytes(body, &mut p)?;
        }
        if p != end {
            return Err(malformed("record length disagrees with its fields"));
        }
        *pos = end;
        Ok(Record {
            timestamp_delta,
            offset_delta,
            key,
            value,
            header_count,
            headers_raw: &buf[headers_start..end],
            raw: &buf[start..end],
        })
    }

    /// The headers as (key, value) pairs. Parsing already checked them, so this cannot fail;
    /// a record made by hand with inconsistent fields yields the headers up to the fault.
    pub fn headers(&self) -> Vec<(&'a [u8], Option<&'a [u8]>)> {
        let mut out = Vec::with_capacity(self.header_count.max(0) as usize);
        let mut p = 0;
        for _ in 0..self.header_count {
            match (
                read_bytes(self.headers_raw, &mut p),
                read_bytes(self.headers_raw, &mut p),
            ) {
                (Ok(Some(key)), Ok(value)) => out.push((key, value)),
                _ => break,
            }
        }
        out
    }
}

/// Iterates the records of an uncompressed (or already decompressed) records section.
pub struct RecordIter<'a> {
    buf: &'a [u8],
    pos: usize,
    remaining: i32,
}

impl<'a> RecordIter<'a> {
    /// `count` is the batch header's `recordsCount`.
    pub fn new(records: &'a [u8], count: i32) -> Self {
        RecordIter {
            buf: records,
            pos: 0,
            remaining: count,
        }
    }
}

impl<'a> Iterator for RecordIter<'a> {
    type Item = Result<Record<'a>, BatchError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining <= 0 {
            return None;
        }
        self.remaining -= 1;
        match Record::parse(self.buf, &mut self.pos) {
            Ok(r) => Some(Ok(r)),
            Err(e) => {
                self.remaining = 0;
                Some(Err(e))
            }
        }
    }
}

/// Encodes one record (used by [`crate::BatchBuilder`]).
pub fn encode_record(
    out: &mut Vec<u8>,
    timestamp_delta: i64,
    offset_delta: i32,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[(&[u8], Option<&[u8]>)],
) {
    let mut body =
        Vec::with_capacity(16 + key.map_or(0, <[u8]>::len) + value.map_or(0, <[u8]>::len));
    body.push(0); // attributes
    write_varlong(&mut body, timestamp_delta);
    write_varint(&mut body, offset_delta);
    let put = |body: &mut Vec<u8>, b: Option<&[u8]>| match b {
        None => write_varint(body, -1),
        Some(b) => {
            write_varint(body, b.len() as i32);
            body.extend_from_slice(b);
        }
    };
    put(&mut body, key);
    put(&mut body, value);
    write_varint(&mut body, headers.len() as i32);
    for (k, v) in headers {
        put(&mut body, Some(k));
        put(&mut body, *v);
    }
    write_varint(out, body.len() as i32);
    out.extend_from_slice(&body);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn varint_known_values() {
        for (v, enc) in [
            (0i64, vec![0u8]),
            (-1, vec![1]),
            (1, vec![2]),
            (63, vec![126]),
            (64, vec![128, 1]),
            (-65, vec![129, 1]),
        ] {
            let mut out = Vec::new();
            write_varlong(&mut out, v);
            assert_eq!(out, enc, "{v}");
            let mut pos = 0;
            assert_eq!(read_varlong(&out, &mut pos).unwrap(), v);
        }
    }

    #[test]
    fn overlong_varint_is_an_error() {
        let mut pos = 0;
        assert!(read_varint(&[0xff; 6], &mut pos).is_err());
        let mut pos = 0;
        assert!(read_varint(&[0x80], &mut pos).is_err());
    }

    proptest! {
        #[test]
        fn varints_round_trip(v in any::<i64>(), w in any::<i32>()) {
            let mut out = Vec::new();
            write_varlong(&mut out, v);
            write_varint(&mut out, w);
            let mut pos = 0;
            prop_assert_eq!(read_varlong(&out, &mut pos).unwrap(), v);
            prop_assert_eq!(read_varint(&out, &mut pos).unwrap(), w);
            prop_assert_eq!(pos, out.len());
        }

        #[test]
        fn records_round_trip(recs in proptest::collection::vec((any::<i64>(), proptest::option::of(proptest::collection::vec(any::<u8>(), 0..20)), proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40))), 0..10)) {
            let mut out = Vec::new();
            for (i, (ts, k, v)) in recs.iter().enumerate() {
                encode_record(&mut out, *ts, i as i32, k.as_deref(), v.as_deref(), &[(b"h", Some(b"x"))]);
            }
            let decoded: Vec<_> = RecordIter::new(&out, recs.len() as i32).collect::<Result<_, _>>().unwrap();
            prop_assert_eq!(decoded.len(), recs.len());
            for (i, (r, (ts, k, v))) in decoded.iter().zip(&recs).enumerate() {
                prop_assert_eq!(r.timestamp_delta, *ts);
                prop_assert_eq!(r.offset_delta, i as i32);
                prop_assert_eq!(r.key, k.as_deref());
                prop_assert_eq!(r.value, v.as_deref());
                prop_assert_eq!(r.header_count, 1);
                prop_assert_eq!(r.headers(), vec![(&b"h"[..], Some(&b"x"[..]))]);
            }
        }

        #[test]
        fn garbage_records_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200), count in 0i32..10) {
            for r in RecordIter::new(&bytes, count) {
                let _ = r;
            }
        }
    }
}
