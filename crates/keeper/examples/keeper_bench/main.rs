//! Benchmark: the same loads against ferry keeper and Apache ZooKeeper 3.8, in one run, on a
//! single server or on an ensemble of each.
//!
//! ```text
//! cargo build --release -p ferry
//! cargo run --release -p ferry-keeper --example keeper_bench -- [--servers 1|3|5]
//!     [--seconds 5] [--sessions 32] [--depth 16] [--rate 5000] [--znodes 1000000]
//!     [--ferry target/release/ferry] [--zk-classpath CP] [--only ferry|zookeeper]
//! ```
//!
//! For each system: `--servers` servers are started at once from the same zoo.cfg and myid
//! files (an ensemble when more than one; sessions are spread over every server), and each
//! one's time from process start to serving clients (`srvr` printing a mode) is printed.
//! Then, per workload (create, setData, getData, 90% read mix; 100-byte values; every
//! workload's latency phase first, so both systems have taken the same writes before each):
//! - throughput, closed loop: `--sessions` sessions each keep `--depth` requests in flight for
//!   `--seconds`, once from the bench's own pipelining client and once from the
//!   zookeeper-client crate (a client we did not write);
//! - latency, open loop: the same sessions send `--rate` requests per second in all, on a
//!   fixed schedule whether or not earlier requests were answered, for `--seconds`; p50/p99
//!   are measured from each request's intended send time, from both clients.
//!
//! Last, resident memory per server: after the workloads, and on fresh servers after
//! `--znodes` creates, during which (on an ensemble) a follower is down: restarted after them,
//! the time it takes to catch up is printed, with the latency of writes made meanwhile. It
//! prints figures; it never judges them.

mod crate_load;
mod raw_load;
mod report;
mod servers;
mod session;
mod workload;

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use report::{Figures, Sample};
use servers::{Cluster, Launch, System};
use workload::Workload;

struct Options {
    servers: usize,
    seconds: u64,
    sessions: usize,
    depth: usize,
    rate: f64,
    znodes: usize,
    only: Option<String>,
    launch: Launch,
}

fn options() -> Options {
    let mut o = Options {
        servers: 1,
        seconds: 5,
        sessions: 32,
        depth: 16,
        rate: 5000.0,
        znodes: 1_000_000,
        only: None,
        launch: Launch {
            ferry: PathBuf::from("target/release/ferry"),
            zk_classpath: "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar".into(),
            extra_config: std::env::var("BENCH_EXTRA_CONFIG").unwrap_or_default(),
        },
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).cloned().unwrap_or_default();
        let number = |current: usize| value.parse().unwrap_or(current);
        match pair[0].as_str() {
            "--servers" => o.servers = number(o.servers).max(1),
            "--seconds" => o.seconds = value.parse().unwrap_or(o.seconds),
            "--sessions" => o.sessions = number(o.sessions).max(1),
            "--depth" => o.depth = number(o.depth).max(1),
            "--rate" => o.rate = value.parse().unwrap_or(o.rate),
            "--znodes" => o.znodes = number(o.znodes),
            "--ferry" => o.launch.ferry = PathBuf::from(value),
            "--zk-classpath" => o.launch.zk_classpath = value,
            "--only" => o.only = Some(value),
            other => eprintln!("ignoring unknown option {other}"),
        }
    }
    o
}

/// The server session `id` uses: sessions are spread evenly over the servers.
fn port_of(ports: &[u16], id: usize) -> u16 {
    ports[id % ports.len()]
}

/// Runs one task per session, `--sessions` in all.
fn spawn_sessions<Fut>(o: &Options, session: impl Fn(usize) -> Fut) -> Vec<JoinHandle<Fut::Output>>
where
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    (0..o.sessions)
        .map(|id| tokio::spawn(session(id)))
        .collect()
}

/// Closed-loop throughput of one client over every session: operations per second, errors.
async fn throughput<F, Fut>(
    ports: &[u16],
    o: &Options,
    workload: Workload,
    run: &'static str,
    client: F,
) -> (f64, u64)
where
    F: Fn(u16, &'static str, usize, Workload, usize, Arc<AtomicBool>) -> Fut,
    Fut: Future<Output = (u64, u64)> + Send + 'static,
{
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let tasks = spawn_sessions(o, |id| {
        client(port_of(ports, id), run, id, workload, o.depth, stop.clone())
    });
    tokio::time::sleep(Duration::from_secs(o.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let (mut done, mut errors) = (0, 0);
    for task in tasks {
        let (d, e) = task.await.expect("load task");
        done += d;
        errors += e;
    }
    (done as f64 / started.elapsed().as_secs_f64(), errors)
}

/// Open-loop latency of one client at `--rate` requests per second over every session.
async fn latency<F, Fut>(
    ports: &[u16],
    o: &Options,
    workload: Workload,
    run: &'static str,
    client: F,
) -> Sample
where
    F: Fn(u16, &'static str, usize, Workload, f64, Duration) -> Fut,
    Fut: Future<Output = Sample> + Send + 'static,
{
    let per_session = o.rate / o.sessions as f64;
    let duration = Duration::from_secs(o.seconds);
    let tasks = spawn_sessions(o, |id| {
        client(port_of(ports, id), run, id, workload, per_session, duration)
    });
    let mut all = Sample::default();
    for task in tasks {
        all.merge(task.await.expect("load task"));
    }
    all
}

/// Every workload's latency phases first, then its throughput phases: each system has then
/// taken the same writes before each latency phase (the throughput phases write as much as
/// each can, and what a server does after many writes, such as snapshots, would otherwise
/// weigh on the faster one's latency).
async fn measure(ports: &[u16], o: &Options) -> Vec<Figures> {
    let mut all = Vec::new();
    for workload in workload::ALL {
        let mut raw = latency(ports, o, workload, "o", raw_load::open_loop).await;
        let mut by_crate = latency(ports, o, workload, "q", crate_load::open_loop).await;
        all.push(Figures {
            p50: raw.percentile_ms(0.5),
            p99: raw.percentile_ms(0.99),
            crate_p50: by_crate.percentile_ms(0.5),
            crate_p99: by_crate.percentile_ms(0.99),
            errors: raw.errors + by_crate.errors,
            ..Figures::default()
        });
    }
    for (workload, figures) in workload::ALL.into_iter().zip(&mut all) {
        let (ops, raw_errors) = throughput(ports, o, workload, "r", raw_load::closed_loop).await;
        let (crate_ops, crate_errors) =
            throughput(ports, o, workload, "k", crate_load::closed_loop).await;
        figures.ops = ops;
        figures.crate_ops = crate_ops;
        figures.errors += raw_errors + crate_errors;
    }
    all
}

/// Creates /bench and the znodes the setData and getData workloads address.
async fn prepare(ports: &[u16], sessions: usize, depth: usize) {
    raw_load::create_all(ports[0], std::iter::once("/bench".to_string()), 1).await;
    raw_load::create_all(ports[0], workload::prepared_nodes(sessions), depth * 4).await;
}

/// Resident memory per server of a fresh cluster after `--znodes` creates.
/// Creates `--znodes` znodes through `ports`, eight sessions at once.
async fn create_znodes(ports: &[u16], o: &Options) {
    prepare(ports, 1, o.depth).await;
    let sessions = 8;
    let per_session = o.znodes / sessions;
    let tasks: Vec<_> = (0..sessions)
        .map(|s| {
            let paths = (0..per_session).map(move |i| format!("/bench/m{s}-{i:07}"));
            tokio::spawn(raw_load::create_all(port_of(ports, s), paths, o.depth * 4))
        })
        .collect();
    for task in tasks {
        task.await.expect("load task");
    }
}

/// Resident memory per server of a fresh cluster after `--znodes` creates. On an ensemble a
/// follower is killed before the creates and started again after them: it catches up (from
/// the leader's snapshot once the log it missed is purged) while writes go on through another
/// server; the time it takes and those writes' latency are printed.
fn memory_with_znodes(system: System, o: &Options, runtime: &tokio::runtime::Runtime) -> Vec<f64> {
    let mut cluster = Cluster::start(system, o.servers, &o.launch);
    let behind = cluster.modes().iter().position(|mode| mode == "follower");
    if let Some(i) = behind {
        cluster.kill(i);
    }
    let up: Vec<u16> = (0..o.servers)
        .filter(|i| Some(*i) != behind)
        .map(|i| cluster.servers[i].port)
        .collect();
    runtime.block_on(create_znodes(&up, o));
    if let Some(i) = behind {
        let target = (0..o.servers)
            .filter_map(|j| cluster.zxid(j))
            .max()
            .unwrap_or(0);
        let started = Instant::now();
        cluster.restart(i, system, &o.launch);
        let writes = runtime.spawn(raw_load::open_loop(
            up[0],
            "u",
            0,
            Workload::SetData,
            1000.0,
            Duration::from_secs(10),
        ));
        while cluster.zxid(i).is_none_or(|zxid| zxid < target) {
            assert!(
                started.elapsed() < Duration::from_secs(300),
                "{} follower did not catch up within 300 s",
                system.name()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let caught_up = started.elapsed();
        let mut writes = runtime.block_on(writes).expect("write task");
        println!(
            "{:>9}: a follower down during the {} creates caught up {:.2} s after its restart; \
             setData at 1000/s through another server meanwhile: p99 {:.2} ms, max {:.2} ms, \
             errors {}",
            system.name(),
            o.znodes,
            caught_up.as_secs_f64(),
            writes.percentile_ms(0.99),
            writes.percentile_ms(1.0),
            writes.errors
        );
    }
    // Let background work the load set off (snapshots, JVM collections) settle first.
    std::thread::sleep(Duration::from_secs(3));
    cluster.rss_mib()
}

struct Row {
    system: System,
    ready: Vec<Duration>,
    figures: Vec<Figures>,
    rss_loaded: Vec<f64>,
}

fn mib(values: &[f64]) -> String {
    let each: Vec<String> = values.iter().map(|v| format!("{v:.0}")).collect();
    format!("{} MiB", each.join(" / "))
}

fn run_system(system: System, o: &Options, runtime: &tokio::runtime::Runtime) -> Row {
    let cluster = Cluster::start(system, o.servers, &o.launch);
    let ready: Vec<Duration> = cluster.servers.iter().map(|s| s.ready).collect();
    let ready_ms: Vec<String> = ready
        .iter()
        .map(|r| format!("{:.0}", r.as_secs_f64() * 1000.0))
        .collect();
    println!(
        "{:>9}: serving {} ms after start ({}), RSS idle {}",
        system.name(),
        ready_ms.join(" / "),
        cluster.modes().join(" / "),
        mib(&cluster.rss_mib())
    );
    let ports = cluster.ports();
    runtime.block_on(prepare(&ports, o.sessions, o.depth));
    let figures = runtime.block_on(measure(&ports, o));
    for (workload, f) in workload::ALL.into_iter().zip(&figures) {
        println!(
            "{:>9} {:>9}: {:>8.0} ops/s (crate {:>8.0})  at {:.0}/s: p50 {:>6.2} ms p99 {:>7.2} ms \
             (crate p50 {:>6.2} p99 {:>7.2})  errors {}",
            system.name(),
            workload.name(),
            f.ops,
            f.crate_ops,
            o.rate,
            f.p50,
            f.p99,
            f.crate_p50,
            f.crate_p99,
            f.errors
        );
    }
    println!(
        "{:>9}: RSS after the workloads {}",
        system.name(),
        mib(&cluster.rss_mib())
    );
    drop(cluster);
    // Memory is compared on fresh servers holding exactly the same tree for both systems.
    let rss_loaded = if o.znodes > 0 {
        let rss = memory_with_znodes(system, o, runtime);
        println!(
            "{:>9}: RSS after {} creates {}",
            system.name(),
            o.znodes,
            mib(&rss)
        );
        rss
    } else {
        Vec::new()
    };
    Row {
        system,
        ready,
        figures,
        rss_loaded,
    }
}

fn summary(ferry: &Row, zookeeper: &Row) {
    println!(
        "\nsummary ({} / {}):",
        ferry.system.name(),
        zookeeper.system.name()
    );
    for (i, workload) in workload::ALL.iter().enumerate() {
        let (f, z) = (ferry.figures[i], zookeeper.figures[i]);
        println!(
            "  {:>9}: throughput x{:.2} (crate x{:.2}), p99 {:.2} ms vs {:.2} ms (crate {:.2} vs {:.2})",
            workload.name(),
            f.ops / z.ops.max(1.0),
            f.crate_ops / z.crate_ops.max(1.0),
            f.p99,
            z.p99,
            f.crate_p99,
            z.crate_p99
        );
    }
    let slowest = |row: &Row| {
        row.ready
            .iter()
            .max()
            .copied()
            .unwrap_or_default()
            .as_secs_f64()
            * 1000.0
    };
    let total = |row: &Row| row.rss_loaded.iter().sum::<f64>();
    println!(
        "  slowest server serving after {:.0} ms vs {:.0} ms; memory with znodes {:.0} MiB vs {:.0} MiB in all",
        slowest(ferry),
        slowest(zookeeper),
        total(ferry),
        total(zookeeper)
    );
}

fn main() {
    let o = options();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    println!(
        "keeper benchmark: {} server(s) per system; {} sessions spread over them; per workload \
         {} s closed loop with {} in flight per session, then {} s open loop at {:.0} requests/s \
         (latency from each request's intended send time); 100-byte values; {} znodes for memory",
        o.servers, o.sessions, o.seconds, o.depth, o.seconds, o.rate, o.znodes
    );
    let mut rows = Vec::new();
    for system in [System::Ferry, System::ZooKeeper] {
        if o.only.as_deref().is_some_and(|only| only != system.name()) {
            continue;
        }
        rows.push(run_system(system, &o, &runtime));
    }
    if let [ferry, zookeeper] = &rows[..] {
        summary(ferry, zookeeper);
    }
}
