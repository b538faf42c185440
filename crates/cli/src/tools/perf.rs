//! `ferry perf produce|consume|end-to-end`: the perf-test scripts and Kafka's end-to-end
//! latency tool under one command.

use std::process::ExitCode;

use clap::Subcommand;

use super::common::run_async;
use super::{perf_consume, perf_end_to_end, perf_produce};

#[derive(Subcommand, Debug)]
pub enum PerfCommand {
    /// kafka-producer-perf-test.sh
    Produce(perf_produce::PerfProduceArgs),
    /// kafka-consumer-perf-test.sh
    Consume(perf_consume::PerfConsumeArgs),
    /// kafka.tools.EndToEndLatency, paced at a rate, latency from each record's intended send
    /// time
    EndToEnd(perf_end_to_end::PerfEndToEndArgs),
}

pub fn run(command: PerfCommand) -> anyhow::Result<ExitCode> {
    match command {
        PerfCommand::Produce(args) => run_async(perf_produce::run(args)),
        PerfCommand::Consume(args) => run_async(perf_consume::run(args)),
        PerfCommand::EndToEnd(args) => perf_end_to_end::run_on_one_thread(args),
    }
}
