//! `ferry keeper start|stop|status`: placeholder until the server lands.

#[derive(clap::Args)]
pub struct KeeperArgs {}

pub fn run(_args: KeeperArgs) -> anyhow::Result<std::process::ExitCode> {
    anyhow::bail!("keeper is not built yet")
}
