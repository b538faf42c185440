//! The [`Wire`] trait: how one field type is read and written at a version.
//!
//! Every field of every message is a `Wire` type. Classic (non-flexible)
//! versions use int16/int32 length prefixes; flexible versions use compact
//! (unsigned varint length+1) forms. `Option<String>`, `Option<Bytes>` and
//! `Option<Vec<T>>` are the nullable forms; record sets are `Option<Bytes>`
//! (passed through untouched).

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{ProtocolError, Result};
use crate::out::Out;
use crate::primitives::{put_length, Reader};
use crate::records::Records;

/// What the encoding of a field depends on: the message version and
/// whether that version is flexible (compact lengths, tagged fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ctx {
    /// The API version of the message being read or written.
    pub version: i16,
    /// Whether `version` is a flexible version of its API.
    pub flexible: bool,
}

/// A type with a Kafka wire encoding.
pub trait Wire: Sized {
    /// Appends the encoding of `self` to `buf`.
    fn write(&self, buf: &mut Out, ctx: Ctx) -> Result<()>;
    /// Reads a value; never panics, never allocates beyond the input.
    fn read(r: &mut Reader, ctx: Ctx) -> Result<Self>;
    /// Whether this value is the null form (only nullable types say yes).
    fn is_null(&self) -> bool {
        false
    }
}

macro_rules! fixed_wire {
    ($($ty:ty => $get:ident, $put:ident;)*) => {$(
        impl Wire for $ty {
            fn write(&self, buf: &mut Out, _ctx: Ctx) -> Result<()> {
                buf.$put(*self);
                Ok(())
            }
            fn read(r: &mut Reader, _ctx: Ctx) -> Result<Self> {
                r.$get(stringify!($ty))
            }
        }
    )*};
}

fixed_wire! {
    i8 => i8, put_i8;
    i16 => i16, put_i16;
    i32 => i32, put_i32;
    i64 => i64, put_i64;
    u16 => u16, put_u16;
    u32 => u32, put_u32;
    f64 => f64, put_f64;
}

impl Wire for bool {
    fn write(&self, buf: &mut Out, _ctx: Ctx) -> Result<()> {
        buf.put_u8(u8::from(*self));
        Ok(())
    }
    fn read(r: &mut Reader, _ctx: Ctx) -> Result<Self> {
        Ok(r.i8("bool")? != 0)
    }
}

/// A 128-bit UUID (topic ids), stored big-endian as on the wire.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uuid(pub [u8; 16]);

impl Wire for Uuid {
    fn write(&self, buf: &mut Out, _ctx: Ctx) -> Result<()> {
        buf.put_slice(&self.0);
        Ok(())
    }
    fn read(r: &mut Reader, _ctx: Ctx) -> Result<Self> {
        let b = r.take(16, "uuid")?;
        let mut out = [0u8; 16];
        out.copy_from_slice(&b);
        Ok(Uuid(out))
    }
}

fn read_opt_bytes(
    r: &mut Reader,
    ctx: Ctx,
    wide: bool,
    what: &'static str,
) -> Result<Option<Bytes>> {
    match r.length(ctx.flexible, wide, what)? {
        None => Ok(None),
        Some(n) => r.take(n, what).map(Some),
    }
}

fn write_opt_bytes(
    buf: &mut BytesMut,
    ctx: Ctx,
    v: Option<&[u8]>,
    wide: bool,
    what: &'static str,
) -> Result<()> {
    put_length(buf, v.map(<[u8]>::len), ctx.flexible, wide, what)?;
    if let Some(v) = v {
        buf.put_slice(v);
    }
    Ok(())
}

fn read_opt_string(r: &mut Reader, ctx: Ctx) -> Result<Option<String>> {
    read_opt_bytes(r, ctx, false, "string")?
        .map(|b| {
            String::from_utf8(b.to_vec()).map_err(|_| ProtocolError::InvalidUtf8 { what: "string" })
        })
        .transpose()
}

fn non_null<T>(v: Option<T>, what: &'static str) -> Result<T> {
    v.ok_or(ProtocolError::InvalidLength {
        what,
        len: -1,
        remaining: 0,
    })
}

impl Wire for Option<String> {
    fn write(&self, buf: &mut Out, ctx: Ctx) -> Result<()> {
        write_opt_bytes(
            buf,
            ctx,
            self.as_deref().map(str::as_bytes),
            false,
            "string",
        )
    }
    fn read(r: &mut Reader, ctx: Ctx) -> Result<Self> {
        read_opt_string(r, ctx)
    }
    fn is_null(&self) -> bool {
        self.is_none()
    }
}

impl Wire for String {
    fn write(&self, buf: &mut Out, ctx: Ctx) -> Result<()> {
        write_opt_bytes(buf, ctx, Some(self.as_bytes()), false, "string")
    }
    fn read(r: &mut Reader, ctx: Ctx) -> Result<Self> {
        non_null(read_opt_string(r, ctx)?, "string")
    }
}

/// A (nullable) bytes field, its content spliced when large (see [`Out::put_bytes`]).
fn write_opt_spliced(buf: &mut Out, ctx: Ctx, v: Option<&Bytes>) -> Result<()> {
    put_length(buf, v.map(Bytes::len), ctx.flexible, true, "bytes")?;
    if let Some(bytes) = v {
        buf.put_bytes(bytes);
    }
    Ok(())
}

impl Wire for Option<Bytes> {
    fn write(&self, buf: &mut Out, ctx: Ctx) -> Result<()> {
        write_opt_spliced(buf, ctx, self.as_ref())
    }
    fn read(r: &mut Reader, ctx: Ctx) -> Result<Self> {
        read_opt_bytes(r, ctx, true, "bytes")
    }
    fn is_null(&self) -> bool {
        self.is_none()
    }
}

/// A record set: a nullable bytes field whose content may be spliced rather than copied
/// (see [`Out`]).
impl Wire for Option<Records> {
    fn write(&self, buf: &mut Out, ctx: Ctx) -> Result<()> {
        put_length(
            buf,
            self.as_ref().map(Records::len),
            ctx.flexible,
            true,
            "records",
        )?;
        match self {
            Some(records) => buf.put_records(records),
            None => Ok(()),
        }
    }
    fn read(r: &mut Reader, ctx: Ctx) -> Result<Self> {
        Ok(read_opt_bytes(r, ctx, true, "records")?.map(Records::Memory))
    }
    fn is_null(&self) -> bool {
        self.is_none()
    }
}

impl Wire for Bytes {
    fn write(&self, buf: &mut Out, ctx: Ctx) -> Result<()> {
        write_opt_spliced(buf, ctx, Some(self))
    }
    fn read(r: &mut Reader, ctx: Ctx) -> Result<Self> {
        non_null(read_opt_bytes(r, ctx, true, "bytes")?, "bytes")
    }
}

impl<T: Wire> Wire for Option<Vec<T>> {
    fn write(&self, buf: &mut Out, ctx: Ctx) -> Result<()> {
        put_length(
            buf,
            self.as_ref().map(Vec::len),
            ctx.flexible,
            true,
            "array",
        )?;
        for item in self.iter().flatten() {
            item.write(buf, ctx)?;
        }
        Ok(())
    }
    fn read(r: &mut Reader, ctx: Ctx) -> Result<Self> {
        // Each element takes at least one byte, so a count is bounded by
        // the bytes left (checked by `length`): no oversized allocation.
        let Some(n) = r.length(ctx.flexible, true, "array")? else {
            return Ok(None);
        };
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(T::read(r, ctx)?);
        }
        Ok(Some(out))
    }
    fn is_null(&self) -> bool {
        self.is_none()
    }
}

impl<T: Wire> Wire for Vec<T> {
    fn write(&self, buf: &mut Out, ctx: Ctx) -> Result<()> {
        put_length(buf, Some(self.len()), ctx.flexible, true, "array")?;
        for item in self {
            item.write(buf, ctx)?;
        }
        Ok(())
    }
    fn read(r: &mut Reader, ctx: Ctx) -> Result<Self> {
        non_null(Option::<Vec<T>>::read(r, ctx)?, "array")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLASSIC: Ctx = Ctx {
        version: 0,
        flexible: false,
    };
    const FLEX: Ctx = Ctx {
        version: 9,
        flexible: true,
    };

    fn enc<T: Wire>(v: &T, ctx: Ctx) -> Vec<u8> {
        let mut b = Out::contiguous();
        v.write(&mut b, ctx).unwrap();
        b.into_contiguous().to_vec()
    }

    #[test]
    fn string_forms() {
        let s = "ab".to_string();
        assert_eq!(enc(&s, CLASSIC), [0, 2, b'a', b'b']);
        assert_eq!(enc(&s, FLEX), [3, b'a', b'b']);
        assert_eq!(enc(&None::<String>, CLASSIC), [0xff, 0xff]);
        assert_eq!(enc(&None::<String>, FLEX), [0]);
        assert_eq!(enc(&None::<Bytes>, CLASSIC), [0xff, 0xff, 0xff, 0xff]);
    }

    #[test]
    fn null_where_not_nullable_is_an_error() {
        let mut r = Reader::new(Bytes::from_static(&[0xff, 0xff]));
        assert!(String::read(&mut r, CLASSIC).is_err());
        let mut r = Reader::new(Bytes::from_static(&[0]));
        assert!(Vec::<i32>::read(&mut r, FLEX).is_err());
    }

    #[test]
    fn huge_array_count_is_rejected_before_allocating() {
        let mut r = Reader::new(Bytes::from_static(&[0x7f, 0xff, 0xff, 0xff, 0, 0]));
        assert!(Vec::<i8>::read(&mut r, CLASSIC).is_err());
    }

    #[test]
    fn bad_utf8_is_an_error() {
        let mut r = Reader::new(Bytes::from_static(&[0, 1, 0xff]));
        assert!(String::read(&mut r, CLASSIC).is_err());
    }
}
