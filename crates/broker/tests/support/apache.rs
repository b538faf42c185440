//! Apache ZooKeeper 3.8 (Debian's package) on a free loopback port, for the whole test process.
//!
//! The JVM runs under `sh`, which kills it (and removes its data) when its stdin (a pipe this
//! process holds for ever) closes: when the test process exits, however it exits, the server
//! goes with it.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

const CLASSPATH: &str = "/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar";

struct Apache {
    hosts: String,
    _dir: tempfile::TempDir,
    _child: Child,
}

static SERVER: OnceLock<Apache> = OnceLock::new();

/// `127.0.0.1:port` of the shared Apache ZooKeeper, started on first use.
pub fn apache_hosts() -> &'static str {
    &SERVER.get_or_init(start).hosts
}

fn start() -> Apache {
    let dir = tempfile::tempdir().expect("a temp dir for ZooKeeper");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let config = dir.path().join("zoo.cfg");
    std::fs::write(
        &config,
        format!(
            "tickTime=2000\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n\
             maxClientCnxns=0\nadmin.enableServer=false\n",
            dir.path().display()
        ),
    )
    .expect("zoo.cfg");
    let log = std::fs::File::create(dir.path().join("server.log")).expect("server.log");
    let script = "java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp \"$1\" \
                  org.apache.zookeeper.server.ZooKeeperServerMain \"$2\" </dev/null & \
                  jvm=$!; cat >/dev/null; kill -9 $jvm; wait $jvm; rm -rf \"$3\"";
    let child = Command::new("sh")
        .args(["-c", script, "sh", CLASSPATH])
        .arg(&config)
        .arg(dir.path())
        .stdin(Stdio::piped())
        .stdout(log.try_clone().expect("log handle"))
        .stderr(log)
        .spawn()
        .expect("java runs (apt-get install zookeeper default-jre-headless)");
    let hosts = format!("127.0.0.1:{port}");
    super::wait_for_session(&hosts, Duration::from_secs(90));
    Apache {
        hosts,
        _dir: dir,
        _child: child,
    }
}
