//! ferry keeper in process on a free loopback port, for the whole test process. It runs on a
//! runtime of its own (each test has its own runtime, which ends with the test).

use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::Duration;

use ferry_keeper::config::KeeperConfig;
use ferry_keeper::server::Keeper;

struct Ferry {
    hosts: String,
    /// Removes the keeper's data directory when this process exits (its stdin closes).
    _cleaner: Child,
}

static SERVER: OnceLock<Ferry> = OnceLock::new();

/// `127.0.0.1:port` of the shared ferry keeper, started on first use.
pub fn ferry_hosts() -> &'static str {
    &SERVER.get_or_init(start).hosts
}

fn start() -> Ferry {
    let dir = tempfile::tempdir()
        .expect("a temp dir for the keeper")
        .keep();
    let cleaner = Command::new("sh")
        .args(["-c", "cat >/dev/null; rm -rf \"$1\"", "sh"])
        .arg(&dir)
        .stdin(Stdio::piped())
        .spawn()
        .expect("sh runs");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("the keeper's runtime");
        runtime.block_on(async move {
            let text = format!(
                "tickTime=2000\ndataDir={}\nclientPort=0\nadmin.enableServer=false\n",
                dir.display()
            );
            let config = KeeperConfig::parse(&text).expect("keeper config");
            let keeper = Keeper::start(config).await.expect("keeper starts");
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let hosts = listener.local_addr().expect("address").to_string();
            tx.send(hosts).expect("the test waits for the address");
            keeper.accept_loop(listener).await;
        });
    });
    let hosts = rx.recv().expect("the keeper started");
    super::wait_for_session(&hosts, Duration::from_secs(30));
    Ferry {
        hosts,
        _cleaner: cleaner,
    }
}
