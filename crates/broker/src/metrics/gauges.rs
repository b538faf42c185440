//! Figures read off the broker's state when the page is asked for: the partitions it hosts and
//! leads (Kafka's `ReplicaManager` gauges), the controller's (`KafkaController`), each hosted
//! log's size and offsets (`kafka.log:type=Log`), and the consumer lag of the groups this
//! broker coordinates (as kafka_exporter names it, the broker itself having no such figure).

use std::collections::BTreeMap;
use std::fmt::Write;

use super::counters::escape;
use crate::broker::Broker;

/// Writes `# TYPE name gauge` and `name value`.
fn gauge(out: &mut String, name: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "# TYPE {name} gauge\n{name} {value}");
}

/// ReplicaManager and KafkaController gauges.
pub fn write_replication(out: &mut String, broker: &Broker) {
    let hosted = broker.replica_manager.all();
    let (mut leading, mut under_replicated, mut under_min_isr) = (0, 0, 0);
    for partition in &hosted {
        if !partition.is_leader() {
            continue;
        }
        leading += 1;
        let assigned = partition.assigned();
        if assigned.isr.len() < assigned.replicas.len() {
            under_replicated += 1;
        }
        let min_isr = usize::try_from(broker.min_insync_replicas(&partition.tp.topic)).unwrap_or(1);
        if assigned.isr.len() < min_isr {
            under_min_isr += 1;
        }
    }
    gauge(
        out,
        "kafka_server_replicamanager_partitioncount",
        hosted.len(),
    );
    gauge(out, "kafka_server_replicamanager_leadercount", leading);
    gauge(
        out,
        "kafka_server_replicamanager_underreplicatedpartitions",
        under_replicated,
    );
    gauge(
        out,
        "kafka_server_replicamanager_underminisrpartitioncount",
        under_min_isr,
    );
    let active = broker.is_controller();
    // As in Kafka, only the active controller counts offline partitions.
    let offline = if active {
        broker
            .metadata
            .topic_names()
            .iter()
            .filter_map(|topic| broker.metadata.topic(topic))
            .flat_map(|partitions| partitions.into_values())
            .filter(|p| p.leader < 0)
            .count()
    } else {
        0
    };
    gauge(
        out,
        "kafka_controller_kafkacontroller_activecontrollercount",
        u8::from(active),
    );
    gauge(
        out,
        "kafka_controller_kafkacontroller_offlinepartitionscount",
        offline,
    );
}

/// A hosted log's size in bytes, end offset and start offset.
type LogFigures = (u64, i64, i64);
/// One of a log's figures, for a series.
type LogFigure = fn(&LogFigures) -> i128;

/// `kafka.log:type=Log,name=Size|LogEndOffset|LogStartOffset,topic=T,partition=P`.
pub fn write_logs(out: &mut String, broker: &Broker) {
    let mut logs: Vec<_> = broker
        .replica_manager
        .all()
        .into_iter()
        .map(|p| {
            (
                (p.tp.topic.clone(), p.tp.partition),
                (
                    p.log.size_bytes(),
                    p.log.log_end_offset(),
                    p.log.log_start_offset(),
                ),
            )
        })
        .collect();
    logs.sort_by(|a, b| a.0.cmp(&b.0));
    let series: [(&str, LogFigure); 3] = [
        ("size", |v| i128::from(v.0)),
        ("logendoffset", |v| i128::from(v.1)),
        ("logstartoffset", |v| i128::from(v.2)),
    ];
    for (name, value) in series {
        let name = format!("kafka_log_log_{name}");
        let _ = writeln!(out, "# TYPE {name} gauge");
        for ((topic, partition), figures) in &logs {
            let _ = writeln!(
                out,
                "{name}{{topic=\"{}\",partition=\"{partition}\"}} {}",
                escape(topic),
                value(figures)
            );
        }
    }
}

/// Consumer lag of the groups coordinated here, for the partitions this broker hosts (their
/// high watermark minus the committed offset): kafka_exporter's `kafka_consumergroup_lag`
/// and `kafka_consumergroup_current_offset`.
pub fn write_group_lag(out: &mut String, broker: &Broker) {
    let high_watermarks: BTreeMap<(String, i32), i64> = broker
        .replica_manager
        .all()
        .into_iter()
        .map(|p| ((p.tp.topic.clone(), p.tp.partition), p.high_watermark()))
        .collect();
    let committed = broker.groups.committed_offsets(broker);
    let _ = writeln!(out, "# TYPE kafka_consumergroup_current_offset gauge");
    let _ = writeln!(out, "# TYPE kafka_consumergroup_lag gauge");
    for (group, topic, partition, offset) in committed {
        let labels = format!(
            "consumergroup=\"{}\",topic=\"{}\",partition=\"{partition}\"",
            escape(&group),
            escape(&topic)
        );
        let _ = writeln!(
            out,
            "kafka_consumergroup_current_offset{{{labels}}} {offset}"
        );
        if let Some(hw) = high_watermarks.get(&(topic, partition)) {
            let _ = writeln!(
                out,
                "kafka_consumergroup_lag{{{labels}}} {}",
                (hw - offset).max(0)
            );
        }
    }
}
