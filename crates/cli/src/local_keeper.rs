//! `ferry standalone`'s broker reaches its own keeper through an in-process pipe instead of a
//! TCP socket: the protocol and the request path are exactly a TCP client's, but the client
//! limits (`maxClientCnxns`) do not count it, so clients filling their share cannot lock the
//! embedded broker out of its own metadata.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Weak};

use ferry_keeper::server::Keeper;
use ferry_zkclient::{DialFuture, Dialer, Transport};

/// Bytes buffered in each direction of a pipe.
const PIPE_BYTES: usize = 256 * 1024;

/// A [`Dialer`] whose connections go to one keeper, whatever the connect string names.
pub struct LocalDialer {
    keeper: Weak<Keeper>,
}

impl LocalDialer {
    pub fn to(keeper: &Arc<Keeper>) -> Arc<dyn Dialer> {
        Arc::new(LocalDialer {
            keeper: Arc::downgrade(keeper),
        })
    }
}

impl Dialer for LocalDialer {
    fn dial<'a>(&'a self, _host: &'a str, _port: u16) -> DialFuture<'a> {
        Box::pin(async move {
            let keeper = self.keeper.upgrade().ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "the keeper stopped")
            })?;
            let (client, server) = tokio::io::duplex(PIPE_BYTES);
            // `ip` ACLs see a local client, as they would over loopback.
            let peer = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
            tokio::spawn(keeper.serve_local(server, peer));
            Ok(Box::new(client) as Box<dyn Transport>)
        })
    }
}
