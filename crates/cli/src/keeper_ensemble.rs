//! `ferry keeper ensemble`: a local ensemble in one command, for trying one out and for tests.
//! It writes an ordinary zoo.cfg and myid per server (`DIR/serverN/zoo.cfg`,
//! `DIR/serverN/data/myid`), which `ferry keeper start --config` (or Apache ZooKeeper) would
//! run as they are, and runs every server in this process until interrupted. Run again on the
//! same directory, it keeps each server's data. `ferry cluster` writes its keepers' files with
//! the same code ([`EnsembleFiles`], [`write_configs`]).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use ferry_keeper::config::KeeperConfig;

/// Where a local ensemble's files go, and who wrote them (for the files' first line):
/// `dir/<name><id>/zoo.cfg` and `dir/<name><id>/data/myid`.
pub(crate) struct EnsembleFiles<'a> {
    pub dir: &'a Path,
    pub name: &'a str,
    pub writer: &'a str,
}

impl EnsembleFiles<'_> {
    fn home(&self, id: u16) -> PathBuf {
        self.dir.join(format!("{}{id}", self.name))
    }

    /// Server `id`'s zoo.cfg.
    pub fn config_path(&self, id: u16) -> PathBuf {
        self.home(id).join("zoo.cfg")
    }
}

/// `ferry keeper ensemble`'s files: `DIR/serverN`.
fn ensemble_files(dir: &Path) -> EnsembleFiles<'_> {
    EnsembleFiles {
        dir,
        name: "server",
        writer: "ferry keeper ensemble",
    }
}

/// Ports of server `id` (from 1): client `base + id - 1`, and quorum and election ports
/// moved by as much from ZooKeeper's documented 2888 and 3888 as `base` is from 2181 (so the
/// default base gives server 1 ZooKeeper's usual 2181, 2888 and 3888).
pub(crate) fn ports(base: u16, id: u16) -> anyhow::Result<(u16, u16, u16)> {
    let shift = i32::from(base) - 2181 + i32::from(id) - 1;
    let port = |first: i32| {
        u16::try_from(first + shift)
            .ok()
            .filter(|p| *p > 0)
            .context("--base-port leaves no room for this many servers' ports")
    };
    Ok((port(2181)?, port(2888)?, port(3888)?))
}

/// The zoo.cfg of server `id` among `servers`.
fn zoo_cfg(files: &EnsembleFiles<'_>, servers: u16, id: u16, base: u16) -> anyhow::Result<String> {
    let data = files.home(id).join("data");
    let (client, _, _) = ports(base, id)?;
    let mut text = format!(
        "# Written by `{}`: server {id} of {servers}.\n\
         tickTime=2000\ninitLimit=10\nsyncLimit=5\n\
         dataDir={}\nclientPort={client}\nclientPortAddress=127.0.0.1\n\
         4lw.commands.whitelist=*\nadmin.enableServer=false\n",
        files.writer,
        data.display()
    );
    for other in 1..=servers {
        let (_, quorum, election) = ports(base, other)?;
        text.push_str(&format!("server.{other}=127.0.0.1:{quorum}:{election}\n"));
    }
    Ok(text)
}

/// Writes the files of every server and returns their configurations.
pub(crate) fn write_configs(
    files: &EnsembleFiles<'_>,
    servers: u16,
    base: u16,
) -> anyhow::Result<Vec<KeeperConfig>> {
    let mut configs = Vec::new();
    for id in 1..=servers {
        let data = files.home(id).join("data");
        std::fs::create_dir_all(&data)
            .with_context(|| format!("cannot create {}", data.display()))?;
        std::fs::write(data.join("myid"), format!("{id}\n"))
            .with_context(|| format!("cannot write {}/myid", data.display()))?;
        let path = files.config_path(id);
        std::fs::write(&path, zoo_cfg(files, servers, id, base)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        configs.push(
            KeeperConfig::load(&path)
                .with_context(|| format!("invalid configuration {}", path.display()))?,
        );
    }
    Ok(configs)
}

pub fn run(servers: u16, dir: PathBuf, base_port: u16) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        (1..=15).contains(&servers),
        "--servers must be between 1 and 15 (an ensemble of 3 or 5 is usual), not {servers}"
    );
    for id in 1..=servers {
        ports(base_port, id)?;
    }
    let configs = write_configs(&ensemble_files(&dir), servers, base_port)?;
    let hosts: Vec<String> = configs
        .iter()
        .map(|c| format!("127.0.0.1:{}", c.client_port))
        .collect();
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let mut keepers = Vec::new();
        for config in configs {
            let keeper = ferry_keeper::server::Keeper::start(config).await?;
            tokio::spawn(keeper.clone().serve());
            keepers.push(keeper);
        }
        println!(
            "ensemble of {servers} servers (configuration in {}): {}",
            dir.display(),
            hosts.join(",")
        );
        crate::keeper_cmd::shutdown_signal().await;
        tracing::info!("shutting down");
        for keeper in keepers {
            keeper.shutdown().await;
        }
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_ports_are_zookeepers_documented_ones() {
        assert_eq!(ports(2181, 1).unwrap(), (2181, 2888, 3888));
        assert_eq!(ports(2181, 3).unwrap(), (2183, 2890, 3890));
        let cfg = zoo_cfg(&ensemble_files(Path::new("/e")), 3, 2, 2181).unwrap();
        assert!(cfg.contains("clientPort=2182\n"), "{cfg}");
        assert!(cfg.contains("server.3=127.0.0.1:2890:3890\n"), "{cfg}");
        assert!(cfg.contains("dataDir=/e/server2/data\n"), "{cfg}");
    }

    #[test]
    fn another_base_port_moves_every_port() {
        let cfg = zoo_cfg(&ensemble_files(Path::new("/e")), 3, 1, 12181).unwrap();
        assert!(cfg.contains("clientPort=12181\n"), "{cfg}");
        assert!(cfg.contains("server.1=127.0.0.1:12888:13888\n"), "{cfg}");
        assert!(ports(65000, 3).is_err());
    }
}
