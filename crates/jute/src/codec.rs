//! The jute binary encoding: big-endian integers, `i32`-length-prefixed strings, buffers and
//! vectors (length -1 meaning null), and a one-byte boolean.

use bytes::{BufMut, Bytes};

/// Why a record could not be decoded. Every variant means "the peer sent bytes that are not a
/// valid record"; the server answers with a closed connection, never a panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("record truncated: needed {needed} more bytes at offset {offset}")]
    Truncated { offset: usize, needed: usize },
    #[error("negative length {len} at offset {offset}")]
    NegativeLength { offset: usize, len: i32 },
    #[error("string at offset {offset} is not valid UTF-8")]
    InvalidUtf8 { offset: usize },
    #[error("unknown {what} value {value}")]
    UnknownValue { what: &'static str, value: i32 },
}

/// A cursor over one received frame. Lengths read from the wire are checked against what is
/// left, so a hostile length can never make us allocate more than the frame itself.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::Truncated {
                offset: self.pos,
                needed: n - self.remaining(),
            });
        }
        let slice = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(slice)
    }

    fn take_array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// Reads a length prefix; `None` is jute's null (-1, or any negative value as Java reads it).
    fn read_len(&mut self) -> Result<Option<usize>, DecodeError> {
        let offset = self.pos;
        let len = i32::decode(self)?;
        if len < 0 {
            return Ok(None);
        }
        let len = len as usize;
        if len > self.remaining() {
            return Err(DecodeError::Truncated {
                offset,
                needed: len - self.remaining(),
            });
        }
        Ok(Some(len))
    }

    /// Like `read_len` but for vectors, whose elements are at least one byte each.
    fn read_count(&mut self) -> Result<Option<usize>, DecodeError> {
        self.read_len()
    }
}

/// A jute record: something with a fixed field order on the wire.
pub trait Record: Sized {
    fn encode(&self, out: &mut Vec<u8>);
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Encodes into a fresh buffer.
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// Decodes a whole buffer; trailing bytes are tolerated, as ZooKeeper does.
    fn from_bytes(buf: &[u8]) -> Result<Self, DecodeError> {
        Self::decode(&mut Reader::new(buf))
    }
}

impl Record for i32 {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_i32(*self);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(i32::from_be_bytes(r.take_array()?))
    }
}

impl Record for i64 {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_i64(*self);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(i64::from_be_bytes(r.take_array()?))
    }
}

impl Record for bool {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_u8(u8::from(*self));
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(r.take_array::<1>()?[0] != 0)
    }
}

/// `ustring`. A null string decodes as empty: no ZooKeeper request gives null a meaning of its own.
impl Record for String {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_i32(self.len() as i32);
        out.put_slice(self.as_bytes());
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let Some(len) = r.read_len()? else {
            return Ok(String::new());
        };
        let offset = r.position();
        let bytes = r.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_utf8_error| DecodeError::InvalidUtf8 { offset })
    }
}

/// `buffer` where null and empty mean the same.
impl Record for Bytes {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_i32(self.len() as i32);
        out.put_slice(self);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Option::<Bytes>::decode(r)?.unwrap_or_default())
    }
}

/// `buffer` where null is kept apart from empty: znode data created as null reads back with
/// length -1, and clients can tell.
impl Record for Option<Bytes> {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Some(bytes) => bytes.encode(out),
            None => out.put_i32(-1),
        }
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.read_len()? {
            None => Ok(None),
            Some(len) => Ok(Some(Bytes::copy_from_slice(r.take(len)?))),
        }
    }
}

/// `vector<T>`; null decodes as empty.
impl<T: Record> Record for Vec<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_i32(self.len() as i32);
        for item in self {
            item.encode(out);
        }
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let Some(count) = r.read_count()? else {
            return Ok(Vec::new());
        };
        let mut items = Vec::with_capacity(count.min(r.remaining()));
        for _ in 0..count {
            items.push(T::decode(r)?);
        }
        Ok(items)
    }
}

/// Declares a jute record: a struct whose fields are encoded in declaration order.
#[macro_export]
macro_rules! record {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$fmeta:meta])* pub $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
        pub struct $name { $($(#[$fmeta])* pub $field: $ty),* }

        impl $crate::Record for $name {
            #[allow(unused_variables)]
            fn encode(&self, out: &mut Vec<u8>) {
                $($crate::Record::encode(&self.$field, out);)*
            }
            #[allow(unused_variables)]
            fn decode(r: &mut $crate::Reader<'_>) -> Result<Self, $crate::DecodeError> {
                Ok(Self { $($field: $crate::Record::decode(r)?),* })
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_and_empty_buffers_are_kept_apart() {
        let null: Option<Bytes> = None;
        assert_eq!(null.to_bytes(), vec![0xff, 0xff, 0xff, 0xff]);
        let empty = Some(Bytes::new());
        assert_eq!(empty.to_bytes(), vec![0, 0, 0, 0]);
        assert_eq!(Option::<Bytes>::from_bytes(&[0xff; 4]), Ok(None));
    }

    #[test]
    fn hostile_lengths_are_truncation_errors_not_allocations() {
        let frame = [0x7f, 0xff, 0xff, 0xff, b'a'];
        assert!(matches!(
            String::from_bytes(&frame),
            Err(DecodeError::Truncated { .. })
        ));
        assert!(matches!(
            Vec::<i64>::from_bytes(&frame),
            Err(DecodeError::Truncated { .. })
        ));
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        let frame = [0, 0, 0, 1, 0xff];
        assert_eq!(
            String::from_bytes(&frame),
            Err(DecodeError::InvalidUtf8 { offset: 4 })
        );
    }
}
