//! Request and response headers.
//!
//! Request header v0: api_key i16, api_version i16, correlation_id i32;
//! v1 adds client_id (a *classic* nullable string, int16 length, even in
//! v2); v2 (flexible APIs) adds a tagged-field section.
//! Response header v0: correlation_id i32; v1 (flexible APIs, except
//! ApiVersions) adds a tagged-field section.

use bytes::{BufMut, BytesMut};

use crate::error::Result;
use crate::out::Out;
use crate::primitives::Reader;
use crate::tagged::{read_tagged, write_tagged, TaggedFields};
use crate::wire::{Ctx, Wire};

const CLASSIC: Ctx = Ctx {
    version: 0,
    flexible: false,
};

/// The header of every request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestHeader {
    /// The API key (kept raw so unknown keys can still be answered).
    pub api_key: i16,
    /// The API version.
    pub api_version: i16,
    /// Echoed in the response.
    pub correlation_id: i32,
    /// Client id (header v1+).
    pub client_id: Option<String>,
    /// Tagged fields (header v2), all unknown to this crate.
    pub unknown_tagged_fields: TaggedFields,
}

impl RequestHeader {
    /// Reads the header at `header_version` (0, 1 or 2).
    pub fn read(r: &mut Reader, header_version: i16) -> Result<Self> {
        let mut h = Self::read_prefix(r)?;
        if header_version >= 1 {
            h.client_id = Option::<String>::read(r, CLASSIC)?;
        }
        if header_version >= 2 {
            h.unknown_tagged_fields = read_tagged(r)?;
        }
        Ok(h)
    }

    /// Reads the fixed prefix common to all versions (key, version, id).
    pub fn read_prefix(r: &mut Reader) -> Result<Self> {
        Ok(Self {
            api_key: r.i16("api_key")?,
            api_version: r.i16("api_version")?,
            correlation_id: r.i32("correlation_id")?,
            ..Self::default()
        })
    }

    /// Writes the header at `header_version`.
    pub fn write(&self, buf: &mut Out, header_version: i16) -> Result<()> {
        buf.put_i16(self.api_key);
        buf.put_i16(self.api_version);
        buf.put_i32(self.correlation_id);
        if header_version >= 1 {
            self.client_id.write(buf, CLASSIC)?;
        }
        if header_version >= 2 {
            write_tagged(buf, self.unknown_tagged_fields.clone());
        }
        Ok(())
    }
}

/// The header of every response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseHeader {
    /// The request's correlation id.
    pub correlation_id: i32,
    /// Tagged fields (header v1), all unknown to this crate.
    pub unknown_tagged_fields: TaggedFields,
}

impl ResponseHeader {
    /// Reads the header at `header_version` (0 or 1).
    pub fn read(r: &mut Reader, header_version: i16) -> Result<Self> {
        let correlation_id = r.i32("correlation_id")?;
        let unknown_tagged_fields = if header_version >= 1 {
            read_tagged(r)?
        } else {
            Vec::new()
        };
        Ok(Self {
            correlation_id,
            unknown_tagged_fields,
        })
    }

    /// Writes the header at `header_version`.
    pub fn write(&self, buf: &mut BytesMut, header_version: i16) {
        buf.put_i32(self.correlation_id);
        if header_version >= 1 {
            write_tagged(buf, self.unknown_tagged_fields.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn produce_v3_header_bytes() {
        // Produce v3, correlation id 7, client id "rdkafka".
        let bytes: &[u8] = &[
            0, 0, 0, 3, 0, 0, 0, 7, 0, 7, b'r', b'd', b'k', b'a', b'f', b'k', b'a',
        ];
        let h = RequestHeader::read(&mut Reader::new(Bytes::from_static(bytes)), 1).unwrap();
        assert_eq!((h.api_key, h.api_version, h.correlation_id), (0, 3, 7));
        assert_eq!(h.client_id.as_deref(), Some("rdkafka"));
        let mut out = Out::contiguous();
        h.write(&mut out, 1).unwrap();
        assert_eq!(&out.into_contiguous()[..], bytes);
    }

    #[test]
    fn response_header_v1_has_tag_section() {
        let mut out = BytesMut::new();
        ResponseHeader {
            correlation_id: 1,
            ..Default::default()
        }
        .write(&mut out, 1);
        assert_eq!(&out[..], &[0, 0, 0, 1, 0]);
    }
}
