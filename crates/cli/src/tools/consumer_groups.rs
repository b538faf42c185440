//! `ferry consumer-groups`: kafka-consumer-groups.sh: `--list`, `--describe --group G` (the
//! offsets table), `--reset-offsets` (dry run unless `--execute`), `--delete`.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::bail;
use clap::Args;
use ferry_kafka_client::{Client, GroupPartition, Offsets, EARLIEST, LATEST};

use super::common::{run_async, Bootstrap};

#[derive(Args, Debug)]
pub struct ConsumerGroupsArgs {
    #[command(flatten)]
    pub bootstrap: Bootstrap,
    #[arg(long)]
    pub list: bool,
    #[arg(long)]
    pub describe: bool,
    #[arg(long = "reset-offsets")]
    pub reset_offsets: bool,
    #[arg(long)]
    pub delete: bool,
    #[arg(long)]
    pub group: Vec<String>,
    #[arg(long = "all-groups")]
    pub all_groups: bool,
    /// topic or topic:p1,p2 (repeatable).
    #[arg(long)]
    pub topic: Vec<String>,
    #[arg(long = "all-topics")]
    pub all_topics: bool,
    #[arg(long = "to-earliest")]
    pub to_earliest: bool,
    #[arg(long = "to-latest")]
    pub to_latest: bool,
    #[arg(long = "to-current")]
    pub to_current: bool,
    #[arg(long = "to-offset")]
    pub to_offset: Option<i64>,
    #[arg(long = "shift-by", allow_hyphen_values = true)]
    pub shift_by: Option<i64>,
    #[arg(long)]
    pub execute: bool,
    #[arg(long = "dry-run")]
    pub dry_run: bool,
}

pub fn run(args: ConsumerGroupsArgs) -> anyhow::Result<ExitCode> {
    let actions = [args.list, args.describe, args.reset_offsets, args.delete];
    if actions.iter().filter(|a| **a).count() != 1 {
        bail!("Command must include exactly one action: --list, --describe, --delete, --reset-offsets");
    }
    if args.bootstrap.bootstrap_server.is_none() {
        bail!("Missing required argument \"[bootstrap-server]\"");
    }
    if !args.list && args.group.is_empty() && !args.all_groups {
        bail!("Option [group] is required (or --all-groups)");
    }
    run_async(async move {
        let client = args.bootstrap.connect("ferry-consumer-groups").await?;
        if args.list {
            for g in client.list_groups().await? {
                println!("{}", g.group_id);
            }
            return Ok(ExitCode::SUCCESS);
        }
        let groups = if args.all_groups {
            client
                .list_groups()
                .await?
                .into_iter()
                .map(|g| g.group_id)
                .collect()
        } else {
            args.group.clone()
        };
        for group in &groups {
            if args.describe {
                describe(&client, group).await?;
            } else if args.reset_offsets {
                reset(&client, group, &args).await?;
            }
        }
        if args.delete {
            for group in &groups {
                client.delete_group(group).await?;
            }
            let quoted: Vec<String> = groups.iter().map(|g| format!("'{g}'")).collect();
            println!(
                "Deletion of requested consumer groups ({}) was successful.",
                quoted.join(", ")
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}

async fn describe(client: &Client, group: &str) -> anyhow::Result<()> {
    let described = client.describe_group(group).await?;
    if described.group_state == "Dead" {
        bail!("Consumer group '{group}' does not exist.");
    }
    let rows = client.group_partitions(group, &described).await?;
    if described.members.is_empty() {
        println!("\nConsumer group '{group}' has no active members.");
    }
    print_table(group, &rows);
    Ok(())
}

fn print_table(group: &str, rows: &[GroupPartition]) {
    let dash = || "-".to_string();
    let width = |header: &str, values: &mut dyn Iterator<Item = usize>| {
        values.fold(header.len().max(15), usize::max)
    };
    let group_w = width("GROUP", &mut std::iter::once(group.len()));
    let topic_w = width("TOPIC", &mut rows.iter().map(|r| r.topic.len()));
    let consumer_w = width(
        "CONSUMER-ID",
        &mut rows
            .iter()
            .map(|r| r.owner.as_ref().map_or(1, |c| c.member_id.len())),
    );
    let host_w = width(
        "HOST",
        &mut rows
            .iter()
            .map(|r| r.owner.as_ref().map_or(1, |c| c.client_host.len())),
    );
    let line = |cols: [String; 9]| {
        let [g, t, p, c, e, l, id, h, cl] = cols;
        println!("{g:<group_w$} {t:<topic_w$} {p:<10} {c:<15} {e:<15} {l:<15} {id:<consumer_w$} {h:<host_w$} {cl}");
    };
    println!();
    line(
        [
            "GROUP",
            "TOPIC",
            "PARTITION",
            "CURRENT-OFFSET",
            "LOG-END-OFFSET",
            "LAG",
            "CONSUMER-ID",
            "HOST",
            "CLIENT-ID",
        ]
        .map(String::from),
    );
    for r in rows {
        let lag = r.lag().map_or_else(dash, |l| l.to_string());
        let (id, host, client) = r.owner.clone().map_or_else(
            || (dash(), dash(), dash()),
            |o| (o.member_id, o.client_host, o.client_id),
        );
        line([
            group.to_string(),
            r.topic.clone(),
            r.partition.to_string(),
            r.committed.map_or_else(dash, |o| o.to_string()),
            r.end.map_or_else(dash, |o| o.to_string()),
            lag,
            id,
            host,
            client,
        ]);
    }
}

async fn reset(client: &Client, group: &str, args: &ConsumerGroupsArgs) -> anyhow::Result<()> {
    let targets = [
        args.to_earliest,
        args.to_latest,
        args.to_current,
        args.to_offset.is_some(),
        args.shift_by.is_some(),
    ];
    if targets.iter().filter(|t| **t).count() != 1 {
        bail!("Option --reset-offsets needs exactly one of --to-earliest, --to-latest, --to-current, --to-offset, --shift-by");
    }
    if args.topic.is_empty() && !args.all_topics {
        bail!("Option --reset-offsets needs --topic or --all-topics");
    }
    let described = client.describe_group(group).await?;
    if !matches!(described.group_state.as_str(), "Empty" | "Dead") {
        bail!(
            "Assignments can only be reset if the group '{group}' is inactive, but the current state is {}.",
            described.group_state
        );
    }
    let committed = client.committed_offsets(group).await?;
    let mut wanted: BTreeMap<String, Option<Vec<i32>>> = BTreeMap::new();
    for spec in &args.topic {
        match spec.split_once(':') {
            Some((t, ps)) => {
                let parsed: Result<Vec<i32>, _> = ps.split(',').map(str::parse).collect();
                let Ok(parsed) = parsed else {
                    bail!("invalid partitions in --topic {spec}")
                };
                wanted.insert(t.to_string(), Some(parsed));
            }
            None => {
                wanted.insert(spec.clone(), None);
            }
        }
    }
    if args.all_topics {
        for (t, _) in committed.keys() {
            wanted.entry(t.clone()).or_insert(None);
        }
    }
    let mut new_offsets = Offsets::new();
    for (topic, partitions) in wanted {
        let info = client.topic(&topic, false).await?;
        let partitions =
            partitions.unwrap_or_else(|| info.partitions.iter().map(|p| p.partition).collect());
        let earliest = client.list_offsets(&info, &partitions, EARLIEST).await?;
        let latest = client.list_offsets(&info, &partitions, LATEST).await?;
        for p in partitions {
            let (lo, hi) = (earliest[&p], latest[&p]);
            let current = committed
                .get(&(topic.clone(), p))
                .copied()
                .filter(|o| *o >= 0)
                .unwrap_or(hi);
            let target = if args.to_earliest {
                lo
            } else if args.to_latest {
                hi
            } else if args.to_current {
                current
            } else if let Some(o) = args.to_offset {
                o
            } else {
                current + args.shift_by.unwrap_or(0)
            };
            new_offsets.insert((topic.clone(), p), target.clamp(lo, hi));
        }
    }
    if args.execute {
        client.commit_offsets(group, &new_offsets, -1, "").await?;
    } else if !args.dry_run {
        eprintln!("WARN: No action will be performed as the --execute option is missing. Add --dry-run to keep this behavior without the warning.");
    }
    println!(
        "\n{:<30} {:<30} {:<10} {:<15}",
        "GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"
    );
    for ((topic, p), o) in &new_offsets {
        println!("{group:<30} {topic:<30} {p:<10} {o:<15}");
    }
    Ok(())
}
