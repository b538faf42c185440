//! A ZooKeeper server for the integration tests, on a free loopback port.
//!
//! - `FERRY_TEST_ZK=host:port`: use that running server (tests that restart the server skip).
//! - `FERRY_TEST_SERVER=ferry`: start `ferry keeper start --foreground --config zoo.cfg`
//!   (binary from `FERRY_BIN`, default `target/debug/ferry`).
//! - otherwise: start Apache ZooKeeper 3.8 from Debian's `zookeeper` package, the reference.
//!
//! The server runs under a small `sh` wrapper that kills it when the wrapper's stdin closes,
//! so no server outlives the test process, even one kept in a `static`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

const APACHE_JAR: &str = "/usr/share/java/zookeeper.jar";

pub struct TestServer {
    /// `127.0.0.1:port`, for connect strings.
    pub hosts: String,
    managed: Option<Managed>,
}

struct Managed {
    dir: tempfile::TempDir,
    child: Child,
    /// Closing it makes the wrapper kill the server.
    stdin: Option<ChildStdin>,
}

impl TestServer {
    pub fn start() -> Self {
        if let Ok(hosts) = std::env::var("FERRY_TEST_ZK") {
            return Self {
                hosts,
                managed: None,
            };
        }
        Self::start_managed()
    }

    /// A server this test controls, whatever `FERRY_TEST_ZK` says; `None` when the tests were
    /// pointed at an external server (and so cannot start their own).
    pub fn start_owned() -> Option<Self> {
        if std::env::var("FERRY_TEST_ZK").is_ok() {
            eprintln!("skipped: FERRY_TEST_ZK names an external server this test cannot restart");
            return None;
        }
        Some(Self::start_managed())
    }

    fn start_managed() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        std::fs::create_dir_all(dir.path().join("data")).expect("data dir");
        std::fs::write(
            dir.path().join("zoo.cfg"),
            format!(
                "tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir={}\nclientPort={port}\n\
                 clientPortAddress=127.0.0.1\nmaxClientCnxns=0\nextendedTypesEnabled=true\n\
                 4lw.commands.whitelist=*\nadmin.enableServer=false\n",
                dir.path().join("data").display()
            ),
        )
        .expect("zoo.cfg");
        let (child, stdin) = launch(dir.path());
        let mut server = Self {
            hosts: format!("127.0.0.1:{port}"),
            managed: Some(Managed {
                dir,
                child,
                stdin: Some(stdin),
            }),
        };
        server.wait_ready();
        server
    }

    /// A port nothing listens on, for connect strings with a dead host.
    pub fn dead_hosts() -> String {
        format!("127.0.0.1:{}", free_port())
    }

    /// Kills the server with SIGKILL and starts it again on the same port and data.
    pub fn restart(&mut self) {
        self.kill();
        let managed = self.managed.as_mut().expect("a managed server");
        let (child, stdin) = launch(managed.dir.path());
        managed.child = child;
        managed.stdin = Some(stdin);
        self.wait_ready();
    }

    /// Kills the server with SIGKILL and waits until it is gone.
    pub fn kill(&mut self) {
        if let Some(managed) = self.managed.as_mut() {
            drop(managed.stdin.take());
            let _ = managed.child.wait();
        }
    }

    /// Waits until the server on our port is this one: its `conf` names our data directory.
    /// (A free port can be handed out twice; a server that lost the race for it exits, and
    /// `ruok` alone would be answered by the other test's server.)
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let managed = self.managed.as_mut().expect("a managed server");
            let data_dir = managed.dir.path().join("data").display().to_string();
            if four_letter(&self.hosts, "conf").contains(&format!("dataDir={data_dir}")) {
                return;
            }
            if let Ok(Some(status)) = managed.child.try_wait() {
                panic!(
                    "the test ZooKeeper server exited ({status}) before serving:\n{}",
                    std::fs::read_to_string(managed.dir.path().join("server.log"))
                        .unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "the test ZooKeeper server did not answer conf within 90 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

/// The answer to a four-letter command, empty when the server does not answer.
fn four_letter(hosts: &str, command: &str) -> String {
    let Ok(mut stream) = TcpStream::connect(hosts) else {
        return String::new();
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream.write_all(command.as_bytes()).is_err() {
        return String::new();
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}

/// The server's command line: ferry keeper or Apache ZooKeeper.
fn server_command(dir: &Path) -> Vec<String> {
    let config = dir.join("zoo.cfg").display().to_string();
    if std::env::var("FERRY_TEST_SERVER").as_deref() == Ok("ferry") {
        let bin = std::env::var("FERRY_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|_| {
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/ferry")
            });
        return [
            bin.display().to_string(),
            "keeper".into(),
            "start".into(),
            "--foreground".into(),
            "--config".into(),
            config,
        ]
        .into();
    }
    assert!(
        Path::new(APACHE_JAR).exists(),
        "Apache ZooKeeper is not installed ({APACHE_JAR} missing): `apt-get install zookeeper`, \
         or point FERRY_TEST_ZK at a running server"
    );
    [
        "java",
        "-Xmx256m",
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        "-cp",
        "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar",
        &format!("-Dzookeeper.log.dir={}", dir.display()),
        "org.apache.zookeeper.server.ZooKeeperServerMain",
        &config,
    ]
    .map(String::from)
    .into()
}

fn launch(dir: &Path) -> (Child, ChildStdin) {
    let log = std::fs::File::create(dir.join("server.log")).expect("server.log");
    // The server runs in the background; the wrapper waits for it, and a watcher kills it with
    // SIGKILL as soon as the wrapper's stdin closes (the test dropped it, or exited).
    // (fd 3 carries stdin into the watcher: background jobs get /dev/null as stdin otherwise.)
    let script = r#"exec 3<&0; "$@" </dev/null 3<&- & server=$!
(cat <&3 >/dev/null; kill -9 $server 2>/dev/null) &
exec 3<&-; wait $server"#;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("sh")
        .args(server_command(dir))
        .stdin(Stdio::piped())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("start the test ZooKeeper server");
    let stdin = child.stdin.take().expect("piped stdin");
    (child, stdin)
}

pub use ferry_testkit::Proxy;
