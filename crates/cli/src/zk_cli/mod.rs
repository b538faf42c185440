//! `ferry zk-cli`: placeholder until the shell lands.

pub fn run(_args: Vec<String>) -> anyhow::Result<std::process::ExitCode> {
    anyhow::bail!("zk-cli is not built yet")
}
