//! Helpers shared by ferry's integration tests. A dev-dependency only.

// Test support: a failure to bind or connect should stop the test with its message.
#![allow(clippy::expect_used)]

/// A TCP proxy in front of a server, which a test can cut (every connection through it drops
/// and new ones are refused) and restore: a network partition between one client and the
/// server, while other clients still reach it.
pub struct Proxy {
    /// `127.0.0.1:port` of the proxy, for connect strings.
    pub hosts: String,
    open: tokio::sync::watch::Sender<bool>,
}

impl Proxy {
    pub async fn start(target: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let hosts = listener.local_addr().expect("proxy addr").to_string();
        let (open, is_open) = tokio::sync::watch::channel(true);
        let target = target.to_string();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut is_open = is_open.clone();
                if !*is_open.borrow() {
                    continue;
                }
                let target = target.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = is_open.wait_for(|open| !open) => {}
                    }
                });
            }
        });
        Self { hosts, open }
    }

    pub fn cut(&self) {
        self.open.send_replace(false);
    }

    pub fn restore(&self) {
        self.open.send_replace(true);
    }
}
