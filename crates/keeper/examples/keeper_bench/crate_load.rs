//! The same loads from the zookeeper-client crate, a client we did not write: it reproduces
//! the bench client's figures, so they are not an artefact of that client.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use zookeeper_client as zk;

use crate::report::Sample;
use crate::workload::{Operation, Workload};

async fn connect(port: u16) -> zk::Client {
    let address = format!("127.0.0.1:{port}");
    for _ in 0..100 {
        let connected = zk::Client::connector()
            .with_session_timeout(Duration::from_secs(30))
            .connect(&address)
            .await;
        if let Ok(client) = connected {
            return client;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the zookeeper-client crate got no session from {address} within 10 s");
}

/// Runs one operation; true when the server answered with an error.
async fn execute(client: &zk::Client, operation: Operation) -> bool {
    let options = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    match operation {
        Operation::Create(path, value) => client.create(&path, &value, &options).await.is_err(),
        Operation::SetData(path, value) => client.set_data(&path, &value, None).await.is_err(),
        Operation::GetData(path) => client.get_data(&path).await.is_err(),
    }
}

/// `depth` tasks share one session, each sending its next request when its last is
/// answered, until `stop`; returns operations and errors.
pub async fn closed_loop(
    port: u16,
    run: &'static str,
    session_id: usize,
    workload: Workload,
    depth: usize,
    stop: Arc<AtomicBool>,
) -> (u64, u64) {
    let client = connect(port).await;
    let tasks: Vec<_> = (0..depth as u64)
        .map(|lane| {
            let (client, stop) = (client.clone(), stop.clone());
            tokio::spawn(async move {
                let (mut done, mut errors) = (0u64, 0u64);
                while !stop.load(Ordering::Relaxed) {
                    let n = lane + done * depth as u64;
                    errors +=
                        u64::from(execute(&client, workload.operation(run, session_id, n)).await);
                    done += 1;
                }
                (done, errors)
            })
        })
        .collect();
    let (mut done, mut errors) = (0, 0);
    for task in tasks {
        let (d, e) = task.await.expect("load task");
        done += d;
        errors += e;
    }
    (done, errors)
}

/// Sends one request every 1/`rate` s on one session for `duration`, each in its own task so
/// that none waits for another, and measures latency from each request's intended send time.
pub async fn open_loop(
    port: u16,
    run: &'static str,
    session_id: usize,
    workload: Workload,
    rate: f64,
    duration: Duration,
) -> Sample {
    let client = connect(port).await;
    let (done, mut results) = tokio::sync::mpsc::unbounded_channel::<(Duration, bool)>();
    let interval = Duration::from_secs_f64(1.0 / rate);
    let start = tokio::time::Instant::now();
    for n in 0u64.. {
        let intended = start + interval.mul_f64(n as f64);
        if intended.duration_since(start) >= duration {
            break;
        }
        tokio::time::sleep_until(intended).await;
        let (client, done) = (client.clone(), done.clone());
        let operation = workload.operation(run, session_id, n);
        tokio::spawn(async move {
            let error = execute(&client, operation).await;
            let _ = done.send((Instant::now() - intended.into_std(), error));
        });
    }
    drop(done);
    let mut sample = Sample::default();
    while let Some((latency, error)) = results.recv().await {
        sample.record(latency, error);
    }
    sample
}
