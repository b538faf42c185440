//! Load from the bench's own pipelining client: closed-loop throughput, open-loop latency,
//! and bulk creates.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::report::Sample;
use crate::session::Session;
use crate::workload::{Operation, Workload, VALUE_BYTES};

/// Keeps `depth` requests in flight until `stop` is set; returns operations and errors.
pub async fn closed_loop(
    port: u16,
    run: &'static str,
    session_id: usize,
    workload: Workload,
    depth: usize,
    stop: Arc<AtomicBool>,
) -> (u64, u64) {
    let Session {
        mut reader,
        mut writer,
    } = Session::open(port).await;
    let (mut sent, mut answered, mut errors) = (0u64, 0u64, 0u64);
    loop {
        let stopping = stop.load(Ordering::Relaxed);
        while !stopping && sent - answered < depth as u64 {
            writer.push(workload.operation(run, session_id, sent));
            sent += 1;
        }
        writer.flush().await;
        if answered == sent {
            return (answered, errors);
        }
        if reader.next().await != 0 {
            errors += 1;
        }
        answered += 1;
    }
}

/// Sends requests at a fixed `rate` (per second) for `duration`, whether or not earlier ones
/// were answered, and measures each one's latency from the time it was due to be sent: a
/// server that falls behind is charged for the whole wait.
pub async fn open_loop(
    port: u16,
    run: &'static str,
    session_id: usize,
    workload: Workload,
    rate: f64,
    duration: Duration,
) -> Sample {
    let Session {
        mut reader,
        mut writer,
    } = Session::open(port).await;
    let (due, mut due_times) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    let sender = tokio::spawn(async move {
        let interval = Duration::from_secs_f64(1.0 / rate);
        let start = tokio::time::Instant::now();
        for n in 0u64.. {
            let intended = start + interval.mul_f64(n as f64);
            if intended.duration_since(start) >= duration {
                break;
            }
            tokio::time::sleep_until(intended).await;
            writer.push(workload.operation(run, session_id, n));
            let _ = due.send(intended.into_std());
            writer.flush().await;
        }
        writer
    });
    let mut sample = Sample::default();
    while let Some(intended) = due_times.recv().await {
        let error = reader.next().await != 0;
        sample.record(intended.elapsed(), error);
    }
    // Keep the connection open until every answer is in.
    drop(sender.await);
    sample
}

/// Creates `paths` through one session, `depth` at a time.
pub async fn create_all(port: u16, paths: impl Iterator<Item = String>, depth: usize) {
    let Session {
        mut reader,
        mut writer,
    } = Session::open(port).await;
    let mut in_flight = 0;
    for path in paths {
        writer.push(Operation::Create(path, vec![b'x'; VALUE_BYTES]));
        in_flight += 1;
        if in_flight >= depth {
            writer.flush().await;
            reader.next().await;
            in_flight -= 1;
        }
    }
    writer.flush().await;
    for _ in 0..in_flight {
        reader.next().await;
    }
}
