//! Reading a frame's body into a buffer that grows with the bytes that arrive.
//!
//! The length prefix of a frame is a claim, not a fact: the buffer starts at
//! [`FIRST_CHUNK`] (or the whole body, when smaller) and grows fourfold at most each time it is
//! full, never past the announced length, so the memory a connection holds stays within four
//! times what it has actually sent (plus the first chunk). Spare capacity is read into without
//! being zeroed first, so untouched pages of a large buffer are not even resident.

use std::io;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt};

use crate::pool::{MemoryPool, Reservation};

/// The first allocation for a frame body.
pub const FIRST_CHUNK: usize = 16 * 1024;

/// A frame's body, with the pool memory it holds until dropped.
pub struct Frame {
    body: Vec<u8>,
    reservation: Reservation,
}

impl Frame {
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body and the reservation that accounts for it (drop it when the body is done).
    pub fn into_parts(self) -> (Vec<u8>, Reservation) {
        (self.body, self.reservation)
    }
}

/// Reads exactly `len` body bytes. Ends with `UnexpectedEof` if the peer closes first. The
/// caller bounds the time this takes (a deadline for the whole frame).
pub async fn read_body<R: AsyncRead + Unpin>(
    reader: &mut R,
    len: usize,
    pool: &MemoryPool,
) -> io::Result<Frame> {
    let mut reservation = pool.empty();
    let mut body = Vec::new();
    while body.len() < len {
        if body.len() == body.capacity() {
            let target = (body.capacity() * 4).max(FIRST_CHUNK).min(len);
            let extra = target - body.capacity();
            reservation.grow(extra).await;
            body.reserve_exact(extra);
        }
        // Never read past this frame: the rest of the stream belongs to the next one.
        let room = len - body.len();
        let read = (&mut *reader).take(room as u64).read_buf(&mut body).await?;
        if read == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "connection closed {} bytes into a {len}-byte frame",
                    body.len()
                ),
            ));
        }
    }
    Ok(Frame { body, reservation })
}

/// Waits until the peer has sent something (true) or closed the connection (false), without
/// consuming anything: the start of the next frame, so that its deadline can begin.
pub async fn wait_readable<R: AsyncBufRead + Unpin>(reader: &mut R) -> io::Result<bool> {
    Ok(!reader.fill_buf().await?.is_empty())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncWriteExt, BufReader};

    use super::*;

    #[tokio::test]
    async fn reads_exactly_one_frame() {
        let (mut client, server) = tokio::io::duplex(1 << 16);
        client.write_all(b"hello, world").await.unwrap();
        let mut reader = BufReader::new(server);
        let pool = MemoryPool::new(Some(1 << 20), "test");
        let frame = read_body(&mut reader, 5, &pool).await.unwrap();
        assert_eq!(frame.body(), b"hello");
        assert_eq!(pool.used(), 5);
        let rest = read_body(&mut reader, 7, &pool).await.unwrap();
        assert_eq!(rest.body(), b", world");
        drop((frame, rest));
        assert_eq!(pool.used(), 0);
    }

    #[tokio::test]
    async fn a_huge_announced_frame_holds_only_what_arrived() {
        let (mut client, server) = tokio::io::duplex(1 << 20);
        let pool = MemoryPool::new(Some(200 << 20), "test");
        client.write_all(&[7u8; 4096]).await.unwrap();
        let mut reader = BufReader::new(server);
        let pending = tokio::time::timeout(
            Duration::from_millis(100),
            read_body(&mut reader, 100 << 20, &pool),
        )
        .await;
        assert!(pending.is_err(), "the frame is not complete");
        // Only the first chunk was reserved (and it is released with the dropped read).
        assert_eq!(pool.used(), 0);
        let pool = MemoryPool::new(Some(200 << 20), "test");
        let mut reservation_seen = 0;
        let read = read_body(&mut reader, 100 << 20, &pool);
        tokio::pin!(read);
        for _ in 0..3 {
            client.write_all(&[1u8; 100_000]).await.unwrap();
            if tokio::time::timeout(Duration::from_millis(50), &mut read)
                .await
                .is_ok()
            {
                panic!("not complete yet");
            }
            reservation_seen = reservation_seen.max(pool.used());
        }
        assert!(
            reservation_seen <= 4 * 300_000 + FIRST_CHUNK,
            "reserved {reservation_seen} bytes for 300 kB received"
        );
    }

    #[tokio::test]
    async fn a_closed_connection_mid_frame_is_unexpected_eof() {
        let (mut client, server) = tokio::io::duplex(1024);
        client.write_all(b"abc").await.unwrap();
        drop(client);
        let pool = MemoryPool::new(None, "test");
        let error = read_body(&mut BufReader::new(server), 10, &pool)
            .await
            .err()
            .expect("cut frame");
        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
        assert!(error.to_string().contains("3 bytes into a 10-byte frame"));
    }

    #[tokio::test]
    async fn waits_for_the_first_byte_without_consuming_it() {
        let (mut client, server) = tokio::io::duplex(1024);
        let mut reader = BufReader::new(server);
        client.write_all(b"x").await.unwrap();
        assert!(wait_readable(&mut reader).await.unwrap());
        let frame = read_body(&mut reader, 1, &MemoryPool::new(None, "t"))
            .await
            .unwrap();
        assert_eq!(frame.body(), b"x");
        drop(client);
        assert!(!wait_readable(&mut reader).await.unwrap());
    }
}
