//! Framing: every message is a big-endian `i32` length followed by that many bytes.

/// Bytes of the length prefix.
pub const FRAME_HEADER_LEN: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// ZooKeeper closes the connection on such a frame ("Len error"); so do we.
    #[error("frame length {len} outside 0..={max} (jute.maxbuffer)")]
    BadLength { len: i64, max: usize },
}

/// Reads the length prefix at the start of `buf` and returns the body length, `Ok(None)` if
/// fewer than four bytes have arrived.
pub fn body_len(buf: &[u8], max: usize) -> Result<Option<usize>, FrameError> {
    let Some(prefix) = buf.get(..FRAME_HEADER_LEN) else {
        return Ok(None);
    };
    let mut len = [0u8; FRAME_HEADER_LEN];
    len.copy_from_slice(prefix);
    let len = i32::from_be_bytes(len);
    if len < 0 || len as usize > max {
        return Err(FrameError::BadLength {
            len: i64::from(len),
            max,
        });
    }
    Ok(Some(len as usize))
}

/// Appends `body` to `out` as one frame.
pub fn write_frame(out: &mut Vec<u8>, body: &[u8]) {
    out.extend_from_slice(&(body.len() as i32).to_be_bytes());
    out.extend_from_slice(body);
}
