//! Bounds-checked reading and writing of Kafka's primitive types.
//!
//! [`Reader`] is a cursor over a [`Bytes`] frame. Every read checks the
//! remaining length first and returns [`ProtocolError`] instead of
//! panicking; lengths and counts read from the wire are checked against
//! the bytes left before anything is allocated, so a hostile frame can
//! never make us allocate more than its own size. Byte slices are split
//! off the frame without copying (record sets stay zero-copy).
//!
//! Writing appends to a [`BytesMut`]; the only failure is a value too long
//! for its length prefix.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::error::{ProtocolError, Result};

/// A bounds-checked cursor over a frame.
#[derive(Debug, Clone)]
pub struct Reader {
    buf: Bytes,
}

macro_rules! fixed_readers {
    ($($name:ident -> $ty:ty = $get:ident;)*) => {$(
        #[doc = concat!("Reads a big-endian `", stringify!($ty), "`.")]
        pub fn $name(&mut self, what: &'static str) -> Result<$ty> {
            self.need(std::mem::size_of::<$ty>(), what)?;
            Ok(self.buf.$get())
        }
    )*};
}

impl Reader {
    /// A reader over `buf`.
    pub fn new(buf: Bytes) -> Self {
        Self { buf }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// The unread bytes, consuming the reader.
    pub fn into_rest(self) -> Bytes {
        self.buf
    }

    fn need(&self, n: usize, what: &'static str) -> Result<()> {
        if self.buf.len() < n {
            return Err(ProtocolError::Truncated {
                what,
                needed: n,
                remaining: self.buf.len(),
            });
        }
        Ok(())
    }

    /// Splits off the next `n` bytes without copying.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<Bytes> {
        self.need(n, what)?;
        Ok(self.buf.split_to(n))
    }

    fixed_readers! {
        i8 -> i8 = get_i8;
        i16 -> i16 = get_i16;
        i32 -> i32 = get_i32;
        i64 -> i64 = get_i64;
        u16 -> u16 = get_u16;
        u32 -> u32 = get_u32;
        f64 -> f64 = get_f64;
    }

    /// Reads an unsigned LEB128 varint of at most `max_bits` bits.
    fn uvar(&mut self, max_bits: u32, what: &'static str) -> Result<u64> {
        let mut value: u64 = 0;
        let mut shift = 0u32;
        loop {
            self.need(1, what)?;
            let b = self.buf.get_u8();
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
            shift += 7;
            if shift >= max_bits {
                return Err(ProtocolError::VarintOverflow { what });
            }
        }
    }

    /// Reads an unsigned varint (up to 32 bits).
    pub fn unsigned_varint(&mut self, what: &'static str) -> Result<u32> {
        let v = self.uvar(35, what)?;
        u32::try_from(v).map_err(|_| ProtocolError::VarintOverflow { what })
    }

    /// Reads a zigzag-encoded signed varint.
    pub fn varint(&mut self, what: &'static str) -> Result<i32> {
        let v = self.unsigned_varint(what)?;
        Ok(((v >> 1) as i32) ^ -((v & 1) as i32))
    }

    /// Reads a zigzag-encoded signed varlong.
    pub fn varlong(&mut self, what: &'static str) -> Result<i64> {
        let v = self.uvar(70, what)?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    /// Checks a length or count read from the wire: `None` for the null
    /// marker -1, the length if it fits in what is left, an error otherwise.
    pub fn checked_len(&self, len: i64, what: &'static str) -> Result<Option<usize>> {
        if len == -1 {
            return Ok(None);
        }
        match usize::try_from(len) {
            Ok(n) if n <= self.buf.len() => Ok(Some(n)),
            _ => Err(ProtocolError::InvalidLength {
                what,
                len,
                remaining: self.buf.len(),
            }),
        }
    }

    /// Reads a length prefix: int16/int32 (classic) or unsigned varint
    /// holding length+1 (compact, flexible versions). `None` means null.
    pub fn length(
        &mut self,
        compact: bool,
        wide: bool,
        what: &'static str,
    ) -> Result<Option<usize>> {
        let len = if compact {
            i64::from(self.unsigned_varint(what)?) - 1
        } else if wide {
            i64::from(self.i32(what)?)
        } else {
            i64::from(self.i16(what)?)
        };
        self.checked_len(len, what)
    }
}

/// Writes an unsigned varint.
pub fn put_unsigned_varint(buf: &mut BytesMut, mut v: u64) {
    while v >= 0x80 {
        buf.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    buf.put_u8(v as u8);
}

/// Writes a zigzag-encoded varint.
pub fn put_varint(buf: &mut BytesMut, v: i32) {
    put_unsigned_varint(buf, u64::from(((v << 1) ^ (v >> 31)) as u32));
}

/// Writes a zigzag-encoded varlong.
pub fn put_varlong(buf: &mut BytesMut, v: i64) {
    put_unsigned_varint(buf, ((v << 1) ^ (v >> 63)) as u64);
}

/// Writes a length prefix in the form [`Reader::length`] reads; `None` is null.
pub fn put_length(
    buf: &mut BytesMut,
    len: Option<usize>,
    compact: bool,
    wide: bool,
    what: &'static str,
) -> Result<()> {
    let too_long = |len| ProtocolError::TooLong { what, len };
    match (len, compact) {
        (None, true) => put_unsigned_varint(buf, 0),
        (Some(n), true) => {
            let n1 = u32::try_from(n)
                .ok()
                .and_then(|n| n.checked_add(1))
                .ok_or(too_long(n))?;
            put_unsigned_varint(buf, u64::from(n1));
        }
        (None, false) if wide => buf.put_i32(-1),
        (None, false) => buf.put_i16(-1),
        (Some(n), false) if wide => buf.put_i32(i32::try_from(n).map_err(|_| too_long(n))?),
        (Some(n), false) => buf.put_i16(i16::try_from(n).map_err(|_| too_long(n))?),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(b: &[u8]) -> Reader {
        Reader::new(Bytes::copy_from_slice(b))
    }

    #[test]
    fn varint_vectors() {
        for (v, enc) in [
            (0i32, vec![0u8]),
            (-1, vec![1]),
            (1, vec![2]),
            (300, vec![0xd8, 0x04]),
        ] {
            let mut b = BytesMut::new();
            put_varint(&mut b, v);
            assert_eq!(&b[..], &enc[..]);
            assert_eq!(reader(&enc).varint("t").unwrap(), v);
        }
        let mut b = BytesMut::new();
        put_varlong(&mut b, i64::MIN);
        assert_eq!(reader(&b).varlong("t").unwrap(), i64::MIN);
    }

    #[test]
    fn varint_overflow_and_truncation() {
        assert!(reader(&[0xff; 6]).unsigned_varint("t").is_err());
        assert!(reader(&[0x80]).unsigned_varint("t").is_err());
        assert!(reader(&[0xff, 0xff, 0xff, 0xff, 0x7f])
            .unsigned_varint("t")
            .is_err());
        assert_eq!(
            reader(&[0xff, 0xff, 0xff, 0xff, 0x0f])
                .unsigned_varint("t")
                .unwrap(),
            u32::MAX
        );
    }

    proptest::proptest! {
        #[test]
        fn varints_round_trip(a: u32, b: i32, c: i64) {
            let mut buf = BytesMut::new();
            put_unsigned_varint(&mut buf, u64::from(a));
            put_varint(&mut buf, b);
            put_varlong(&mut buf, c);
            let mut r = Reader::new(buf.freeze());
            proptest::prop_assert_eq!(r.unsigned_varint("a").unwrap(), a);
            proptest::prop_assert_eq!(r.varint("b").unwrap(), b);
            proptest::prop_assert_eq!(r.varlong("c").unwrap(), c);
            proptest::prop_assert_eq!(r.remaining(), 0);
        }
    }

    #[test]
    fn lengths_are_checked_against_input() {
        assert!(reader(&[0x7f, 0xff, 0xff, 0xff])
            .length(false, true, "t")
            .is_err());
        assert_eq!(
            reader(&[0xff, 0xff]).length(false, false, "t").unwrap(),
            None
        );
        assert!(reader(&[0xff, 0xfe]).length(false, false, "t").is_err());
        assert_eq!(reader(&[0]).length(true, false, "t").unwrap(), None);
        assert_eq!(reader(&[1]).length(true, false, "t").unwrap(), Some(0));
    }
}
