//! A slice of a file sent to a socket with `sendfile(2)`: the kernel moves the bytes from the
//! page cache to the socket, so a broker serving a follower or a consumer from its log never
//! copies them through its own memory (as Kafka does with `FileChannel.transferTo`).

use std::fs::File;
use std::io;

use tokio::io::Interest;
use tokio::net::TcpStream;

/// Sends `len` bytes of `file` from `position` to `stream`, waiting whenever the socket's
/// buffer is full. A file that ends before the slice (truncated meanwhile) is an error: the
/// frame the slice belongs to can no longer be completed, so the connection must close.
pub async fn send_file(
    stream: &TcpStream,
    file: &File,
    mut position: u64,
    len: usize,
) -> io::Result<()> {
    let mut left = len;
    while left > 0 {
        stream.writable().await?;
        let sent = stream.try_io(Interest::WRITABLE, || {
            let mut offset = position;
            rustix::fs::sendfile(stream, file, Some(&mut offset), left).map_err(io::Error::from)
        });
        match sent {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("the file ended {left} bytes before the slice being sent"),
                ))
            }
            Ok(n) => {
                position += n as u64;
                left -= n;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    /// A file holding `bytes`, already unlinked (it goes when the handle does).
    fn file_of(bytes: &[u8]) -> File {
        let path = std::env::temp_dir().join(format!(
            "ferry-sendfile-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        let mut file = file;
        file.write_all(bytes).unwrap();
        file
    }

    async fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (client, accepted) = tokio::join!(client, listener.accept());
        (client.unwrap(), accepted.unwrap().0)
    }

    #[tokio::test]
    async fn sends_the_slice_even_when_larger_than_the_socket_buffer() {
        let data: Vec<u8> = (0..8 << 20).map(|i: u32| (i % 251) as u8).collect();
        let file = file_of(&data);
        let (sender, mut receiver) = pair().await;
        let reading = tokio::spawn(async move {
            let mut got = vec![0u8; (8 << 20) - 10];
            receiver.read_exact(&mut got).await.unwrap();
            got
        });
        send_file(&sender, &file, 10, data.len() - 10)
            .await
            .unwrap();
        assert!(reading.await.unwrap() == data[10..]);
    }

    #[tokio::test]
    async fn a_file_shorter_than_the_slice_is_an_error() {
        let file = file_of(b"short");
        let (sender, _receiver) = pair().await;
        let error = send_file(&sender, &file, 2, 10).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
    }
}
