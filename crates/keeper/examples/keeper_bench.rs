//! Benchmark: the same loads against ferry keeper and Apache ZooKeeper 3.8, in one run.
//!
//! ```text
//! cargo build --release -p ferry
//! cargo run --release -p ferry-keeper --example keeper_bench -- [--seconds 5] [--sessions 32]
//!     [--depth 16] [--znodes 1000000] [--ferry target/release/ferry] [--only ferry|zookeeper]
//! ```
//!
//! For each server: time from process start to the first answered `ruok`; then, per workload
//! (create, setData, getData, 90% read mix; 100-byte values), `--sessions` sessions each keep
//! `--depth` requests in flight for `--seconds`; ops/s and p50/p99 latency are printed. Last,
//! a fresh server is started, `--znodes` znodes are created and its resident memory is read
//! from /proc.
//! It prints figures; it never judges them.

use std::io::{Read, Write as _};
use std::net::TcpStream as StdTcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_jute::{
    perms, write_frame, Acl, Bytes, ConnectRequest, ConnectResponse, CreateRequest, Id, OpCode,
    PathAndWatch, Record, ReplyHeader, RequestHeader, SetDataRequest,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

struct Options {
    seconds: u64,
    sessions: usize,
    depth: usize,
    znodes: usize,
    ferry: PathBuf,
    zk_classpath: String,
    only: Option<String>,
}

fn options() -> Options {
    let mut o = Options {
        seconds: 5,
        sessions: 32,
        depth: 16,
        znodes: 1_000_000,
        ferry: PathBuf::from("target/release/ferry"),
        zk_classpath: "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar".into(),
        only: None,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).cloned().unwrap_or_default();
        match pair[0].as_str() {
            "--seconds" => o.seconds = value.parse().unwrap_or(o.seconds),
            "--sessions" => o.sessions = value.parse().unwrap_or(o.sessions),
            "--depth" => o.depth = value.parse().unwrap_or(o.depth),
            "--znodes" => o.znodes = value.parse().unwrap_or(o.znodes),
            "--ferry" => o.ferry = PathBuf::from(value),
            "--zk-classpath" => o.zk_classpath = value,
            "--only" => o.only = Some(value),
            other => eprintln!("ignoring unknown option {other}"),
        }
    }
    o
}

struct Server {
    name: &'static str,
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn ruok(port: u16) -> bool {
    let Ok(mut stream) = StdTcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut answer = String::new();
    stream.write_all(b"ruok").is_ok()
        && stream.read_to_string(&mut answer).is_ok()
        && answer == "imok"
}

/// Starts a server and returns it with the time it took to answer `ruok`.
fn start(name: &'static str, o: &Options) -> (Server, Duration) {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let cfg = dir.path().join("zoo.cfg");
    std::fs::write(
        &cfg,
        format!(
            "tickTime=2000\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n\
             maxClientCnxns=0\n4lw.commands.whitelist=*\nadmin.enableServer=false\n{}\n",
            dir.path().display(),
            std::env::var("BENCH_EXTRA_CONFIG")
                .unwrap_or_default()
                .replace(';', "\n")
        ),
    )
    .expect("write zoo.cfg");
    let started = Instant::now();
    let child = match name {
        "ferry" => Command::new(&o.ferry)
            .args(["keeper", "start", "--foreground", "--config"])
            .arg(&cfg)
            .env("FERRY_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ferry (build it with cargo build --release -p ferry)"),
        _ => Command::new("java")
            .args([
                "-cp",
                &o.zk_classpath,
                "-Dzookeeper.root.logger=WARN,CONSOLE",
            ])
            .arg("org.apache.zookeeper.server.ZooKeeperServerMain")
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Apache ZooKeeper (apt-get install zookeeper)"),
    };
    while !ruok(port) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{name} did not start"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let ready = started.elapsed();
    (
        Server {
            name,
            child,
            port,
            _dir: dir,
        },
        ready,
    )
}

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

#[derive(Clone, Copy, PartialEq)]
enum Workload {
    Create,
    SetData,
    GetData,
    Mixed,
}

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::SetData => "setData",
            Self::GetData => "getData",
            Self::Mixed => "90% read",
        }
    }
}

struct Session {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
    xid: i32,
}

async fn read_frame(reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Vec<u8> {
    let len = reader.read_i32().await.expect("frame length") as usize;
    let mut body = vec![0; len];
    reader.read_exact(&mut body).await.expect("frame body");
    body
}

impl Session {
    /// Opens a session, retrying for a while: a server may answer `ruok` a little before it
    /// accepts sessions (Apache ZooKeeper does while it loads its database).
    async fn open(port: u16) -> Self {
        for _ in 0..100 {
            match Self::try_open(port).await {
                Ok(session) => return session,
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        panic!("no session from the server on port {port} within 10 s");
    }

    async fn try_open(port: u16) -> std::io::Result<Self> {
        let stream = TcpStream::connect(("127.0.0.1", port)).await?;
        stream.set_nodelay(true)?;
        let (read, mut writer) = stream.into_split();
        let mut frame = Vec::new();
        let connect = ConnectRequest {
            time_out: 30_000,
            passwd: Bytes::from_static(&[0; 16]),
            ..ConnectRequest::default()
        };
        write_frame(&mut frame, &connect.to_bytes());
        writer.write_all(&frame).await?;
        let mut reader = BufReader::new(read);
        let len = reader.read_i32().await? as usize;
        let mut body = vec![0; len];
        reader.read_exact(&mut body).await?;
        let response = ConnectResponse::from_bytes(&body)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        if response.session_id == 0 {
            return Err(std::io::Error::other("session refused"));
        }
        Ok(Self {
            reader,
            writer,
            xid: 0,
        })
    }

    fn encode(&mut self, op: OpCode, body: &impl Record, out: &mut Vec<u8>) {
        self.xid += 1;
        let mut payload = RequestHeader {
            xid: self.xid,
            op: op.code(),
        }
        .to_bytes();
        body.encode(&mut payload);
        write_frame(out, &payload);
    }

    /// Reads one answer and says whether it was an error.
    async fn answer(&mut self) -> i32 {
        let frame = read_frame(&mut self.reader).await;
        ReplyHeader::from_bytes(&frame).map_or(-1, |h| h.err)
    }
}

fn open_acl() -> Vec<Acl> {
    vec![Acl {
        perms: perms::ALL,
        id: Id {
            scheme: "world".into(),
            id: "anyone".into(),
        },
    }]
}

/// One request of the workload for this session's `n`th operation.
fn request(session: &mut Session, workload: Workload, id: usize, n: u64, out: &mut Vec<u8>) {
    let value = Some(Bytes::from(vec![b'x'; 100]));
    let path = format!("/bench/s{id}-{}", n % 1000);
    let read = match workload {
        Workload::GetData => true,
        Workload::Mixed => !n.is_multiple_of(10),
        _ => false,
    };
    match workload {
        Workload::Create => session.encode(
            OpCode::Create,
            &CreateRequest {
                path: format!("/bench/c{id}-{n}"),
                data: value,
                acl: open_acl(),
                flags: 0,
            },
            out,
        ),
        _ if read => session.encode(OpCode::GetData, &PathAndWatch { path, watch: false }, out),
        _ => session.encode(
            OpCode::SetData,
            &SetDataRequest {
                path,
                data: value,
                version: -1,
            },
            out,
        ),
    }
}

/// Keeps `depth` requests in flight until `stop`; returns each request's latency in µs.
async fn drive(
    port: u16,
    id: usize,
    workload: Workload,
    depth: usize,
    stop: Arc<AtomicBool>,
) -> (Vec<u32>, u64) {
    let mut session = Session::open(port).await;
    let mut sent = std::collections::VecDeque::new();
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut n = 0u64;
    let mut out = Vec::new();
    loop {
        let stopping = stop.load(Ordering::Relaxed);
        while !stopping && sent.len() < depth {
            request(&mut session, workload, id, n, &mut out);
            n += 1;
            sent.push_back(Instant::now());
        }
        if !out.is_empty() {
            session.writer.write_all(&out).await.expect("send");
            out.clear();
        }
        let Some(at) = sent.pop_front() else { break };
        if session.answer().await != 0 {
            errors += 1;
        }
        latencies.push(at.elapsed().as_micros() as u32);
    }
    (latencies, errors)
}

/// Creates /bench and the 1000 nodes per session that setData/getData use.
async fn prepare(port: u16, sessions: usize, depth: usize) {
    let mut session = Session::open(port).await;
    let mut out = Vec::new();
    let create = |path: String| CreateRequest {
        path,
        data: Some(Bytes::from(vec![b'x'; 100])),
        acl: open_acl(),
        flags: 0,
    };
    session.encode(OpCode::Create, &create("/bench".into()), &mut out);
    session.writer.write_all(&out).await.expect("send");
    out.clear();
    session.answer().await;
    let paths: Vec<String> = (0..sessions)
        .flat_map(|s| (0..1000).map(move |i| format!("/bench/s{s}-{i}")))
        .collect();
    load(&mut session, paths.into_iter().map(create), depth * 4).await;
}

/// Pipelines creates through one session.
async fn load(session: &mut Session, creates: impl Iterator<Item = CreateRequest>, depth: usize) {
    let mut in_flight = 0;
    let mut out = Vec::new();
    for create in creates {
        session.encode(OpCode::Create, &create, &mut out);
        in_flight += 1;
        if in_flight >= depth {
            session.writer.write_all(&out).await.expect("send");
            out.clear();
            session.answer().await;
            in_flight -= 1;
        }
    }
    session.writer.write_all(&out).await.expect("send");
    for _ in 0..in_flight {
        session.answer().await;
    }
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[index]) / 1000.0
}

async fn run_workload(server: &Server, workload: Workload, o: &Options) -> (f64, f64, f64, u64) {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let tasks: Vec<_> = (0..o.sessions)
        .map(|id| tokio::spawn(drive(server.port, id, workload, o.depth, stop.clone())))
        .collect();
    tokio::time::sleep(Duration::from_secs(o.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (latencies, failed) = task.await.expect("session task");
        all.extend(latencies);
        errors += failed;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    (
        all.len() as f64 / elapsed,
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        errors,
    )
}

async fn memory_with_znodes(server: &Server, o: &Options) -> f64 {
    let sessions = 8;
    let per_session = o.znodes / sessions;
    let tasks: Vec<_> = (0..sessions)
        .map(|s| {
            let port = server.port;
            let depth = o.depth * 4;
            tokio::spawn(async move {
                let mut session = Session::open(port).await;
                let creates = (0..per_session).map(move |i| CreateRequest {
                    path: format!("/bench/m{s}-{i:07}"),
                    data: Some(Bytes::from(vec![b'm'; 100])),
                    acl: open_acl(),
                    flags: 0,
                });
                load(&mut session, creates, depth).await;
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("load task");
    }
    // Let background work the load set off (snapshots, JVM collections) settle first.
    tokio::time::sleep(Duration::from_secs(3)).await;
    rss_mib(server.child.id())
}

fn main() {
    let o = options();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    println!(
        "keeper benchmark: {} sessions x {} in flight, {} s per workload, 100-byte values, {} znodes for memory",
        o.sessions, o.depth, o.seconds, o.znodes
    );
    let workloads = [
        Workload::Create,
        Workload::SetData,
        Workload::GetData,
        Workload::Mixed,
    ];
    let mut rows = Vec::new();
    for name in ["ferry", "zookeeper"] {
        if o.only.as_deref().is_some_and(|only| only != name) {
            continue;
        }
        let (server, ready) = start(name, &o);
        let idle = rss_mib(server.child.id());
        runtime.block_on(prepare(server.port, o.sessions, o.depth));
        let mut results = Vec::new();
        for workload in workloads {
            let result = runtime.block_on(run_workload(&server, workload, &o));
            println!(
                "{:>9} {:>9}: {:>9.0} ops/s  p50 {:>7.2} ms  p99 {:>7.2} ms  errors {}",
                server.name,
                workload.name(),
                result.0,
                result.1,
                result.2,
                result.3
            );
            results.push(result);
        }
        drop(server);
        // Memory is measured on a fresh server holding exactly the same tree for both.
        let loaded = if o.znodes > 0 {
            let (server, _) = start(name, &o);
            runtime.block_on(prepare(server.port, 1, o.depth));
            runtime.block_on(memory_with_znodes(&server, &o))
        } else {
            0.0
        };
        println!(
            "{:>9}: ready in {:.0} ms, RSS idle {:.0} MiB, RSS of a fresh server after {} creates {:.0} MiB",
            name,
            ready.as_secs_f64() * 1000.0,
            idle,
            o.znodes,
            loaded
        );
        rows.push((name, ready, idle, loaded, results));
    }
    println!("\nsummary (ferry / zookeeper):");
    if let [(_, f_ready, _, f_mem, f), (_, z_ready, _, z_mem, z)] = &rows[..] {
        for (i, workload) in workloads.iter().enumerate() {
            println!(
                "  {:>9}: throughput x{:.2}, p99 {:.2} ms vs {:.2} ms",
                workload.name(),
                f[i].0 / z[i].0.max(1.0),
                f[i].2,
                z[i].2
            );
        }
        println!(
            "  memory with znodes: {:.0} MiB vs {:.0} MiB ({:.0}%), ready in {:.0} ms vs {:.0} ms",
            f_mem,
            z_mem,
            100.0 * f_mem / z_mem.max(1.0),
            f_ready.as_secs_f64() * 1000.0,
            z_ready.as_secs_f64() * 1000.0
        );
    }
}
