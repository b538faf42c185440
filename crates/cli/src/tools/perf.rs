//! `ferry perf produce|consume`: the two perf-test scripts under one command.

use std::process::ExitCode;

use clap::Subcommand;

use super::common::run_async;
use super::{perf_consume, perf_produce};

#[derive(Subcommand, Debug)]
pub enum PerfCommand {
    /// kafka-producer-perf-test.sh
    Produce(perf_produce::PerfProduceArgs),
    /// kafka-consumer-perf-test.sh
    Consume(perf_consume::PerfConsumeArgs),
}

pub fn run(command: PerfCommand) -> anyhow::Result<ExitCode> {
    match command {
        PerfCommand::Produce(args) => run_async(perf_produce::run(args)),
        PerfCommand::Consume(args) => run_async(perf_consume::run(args)),
    }
}
