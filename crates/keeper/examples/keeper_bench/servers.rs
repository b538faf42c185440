//! Starting the servers under test: one or an ensemble of ferry keepers or Apache ZooKeeper
//! 3.8 servers, from the same zoo.cfg and myid files, and reading their resident memory.

use std::io::{Read, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum System {
    Ferry,
    ZooKeeper,
}

impl System {
    pub fn name(self) -> &'static str {
        match self {
            Self::Ferry => "ferry",
            Self::ZooKeeper => "zookeeper",
        }
    }
}

/// How to launch each system's server.
pub struct Launch {
    pub ferry: PathBuf,
    pub zk_classpath: String,
    /// Extra zoo.cfg lines (`key=value`, `;`-separated) for both systems.
    pub extra_config: String,
}

pub struct Server {
    child: Child,
    config: PathBuf,
    pub port: u16,
    /// From the process's start to its first `srvr` answer with a `Mode:` line (serving
    /// clients, which for an ensemble member means it has a leader).
    pub ready: Duration,
}

/// The servers of one system: a single server or every member of an ensemble.
pub struct Cluster {
    pub servers: Vec<Server>,
    _dir: tempfile::TempDir,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for server in &mut self.servers {
            let _ = server.child.kill();
            let _ = server.child.wait();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Sends a four-letter word and returns the answer ("" when the server is not there yet).
fn four_letter(port: u16, word: &str) -> String {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut answer = String::new();
    if stream.write_all(word.as_bytes()).is_ok() {
        let _ = stream.read_to_string(&mut answer);
    }
    answer
}

/// The zoo.cfg of one server: ZooKeeper's documented ensemble settings, the same file for
/// both systems.
fn zoo_cfg(data: &Path, client_port: u16, members: &str, extra: &str) -> String {
    format!(
        "tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir={}\nclientPort={client_port}\n\
         clientPortAddress=127.0.0.1\nmaxClientCnxns=0\n4lw.commands.whitelist=*\n\
         admin.enableServer=false\n{members}{}\n",
        data.display(),
        extra.replace(';', "\n")
    )
}

fn spawn(system: System, config: &Path, launch: &Launch) -> Child {
    let mut command = match system {
        System::Ferry => {
            let mut command = Command::new(&launch.ferry);
            command
                .args(["keeper", "start", "--foreground", "--config"])
                .arg(config)
                .env("FERRY_LOG", "warn");
            command
        }
        System::ZooKeeper => {
            let mut command = Command::new("java");
            command
                .args([
                    "-cp",
                    &launch.zk_classpath,
                    "-Dzookeeper.root.logger=WARN,CONSOLE",
                    "org.apache.zookeeper.server.quorum.QuorumPeerMain",
                ])
                .arg(config);
            command
        }
    };
    command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start {} ({e}): build ferry with cargo build --release -p ferry, \
                 install ZooKeeper with apt-get install zookeeper",
                system.name()
            )
        })
}

impl Cluster {
    /// Starts `count` servers at once (one server when `count` is 1, an ensemble otherwise)
    /// and waits until each serves clients.
    pub fn start(system: System, count: usize, launch: &Launch) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let ports: Vec<(u16, u16, u16)> = (0..count)
            .map(|_| (free_port(), free_port(), free_port()))
            .collect();
        let members: String = if count == 1 {
            String::new()
        } else {
            ports
                .iter()
                .enumerate()
                .map(|(i, (_, quorum, election))| {
                    format!("server.{}=127.0.0.1:{quorum}:{election}\n", i + 1)
                })
                .collect()
        };
        let mut children = Vec::new();
        for (i, (client, _, _)) in ports.iter().enumerate() {
            let home = dir.path().join(format!("server{}", i + 1));
            let data = home.join("data");
            std::fs::create_dir_all(&data).expect("data dir");
            std::fs::write(data.join("myid"), format!("{}\n", i + 1)).expect("myid");
            let config = home.join("zoo.cfg");
            let text = zoo_cfg(&data, *client, &members, &launch.extra_config);
            std::fs::write(&config, text).expect("zoo.cfg");
            children.push((
                Instant::now(),
                spawn(system, &config, launch),
                *client,
                config,
            ));
        }
        let mut ready = vec![None; count];
        let deadline = Instant::now() + Duration::from_secs(60);
        while ready.iter().any(Option::is_none) {
            assert!(
                Instant::now() < deadline,
                "{} did not start serving within 60 s",
                system.name()
            );
            for (i, (started, _, port, _)) in children.iter().enumerate() {
                if ready[i].is_none() && four_letter(*port, "srvr").contains("Mode:") {
                    ready[i] = Some(started.elapsed());
                }
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let servers = children
            .into_iter()
            .zip(ready)
            .map(|((_, child, port, config), ready)| Server {
                child,
                config,
                port,
                ready: ready.unwrap_or_default(),
            })
            .collect();
        Self { servers, _dir: dir }
    }

    /// Kills server `i` (SIGKILL, as kill -9).
    pub fn kill(&mut self, i: usize) {
        let _ = self.servers[i].child.kill();
        let _ = self.servers[i].child.wait();
    }

    /// Starts server `i` again from its files.
    pub fn restart(&mut self, i: usize, system: System, launch: &Launch) {
        let server = &mut self.servers[i];
        server.child = spawn(system, &server.config, launch);
    }

    /// The last zxid server `i` has applied (`srvr`'s `Zxid:`), if it answers.
    pub fn zxid(&self, i: usize) -> Option<i64> {
        four_letter(self.servers[i].port, "srvr")
            .lines()
            .find_map(|l| l.strip_prefix("Zxid: 0x"))
            .and_then(|hex| i64::from_str_radix(hex.trim(), 16).ok())
    }

    pub fn ports(&self) -> Vec<u16> {
        self.servers.iter().map(|s| s.port).collect()
    }

    /// Each server's resident memory in MiB, as /proc reports it.
    pub fn rss_mib(&self) -> Vec<f64> {
        self.servers.iter().map(|s| rss_mib(s.child.id())).collect()
    }

    /// Each server's mode as `srvr` prints it (leader, follower, standalone).
    pub fn modes(&self) -> Vec<String> {
        self.servers
            .iter()
            .map(|s| {
                four_letter(s.port, "srvr")
                    .lines()
                    .find_map(|l| l.strip_prefix("Mode: "))
                    .unwrap_or("?")
                    .to_string()
            })
            .collect()
    }
}

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}
