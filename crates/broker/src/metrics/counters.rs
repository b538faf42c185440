//! Counters the request paths bump (Kafka's `BrokerTopicMetrics` and the ISR change meters of
//! `ReplicaManager`), read by the Prometheus page.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// One topic's traffic.
#[derive(Default)]
struct TopicTraffic {
    bytes_in: AtomicU64,
    messages_in: AtomicU64,
    bytes_out: AtomicU64,
    replication_bytes_out: AtomicU64,
}

/// Which counter of a topic's traffic a series shows.
type TrafficField = fn(&TopicTraffic) -> &AtomicU64;

/// The broker's counters; see the module docs.
#[derive(Default)]
pub struct BrokerCounters {
    topics: Mutex<BTreeMap<String, Arc<TopicTraffic>>>,
    isr_shrinks: AtomicU64,
    isr_expands: AtomicU64,
}

impl BrokerCounters {
    fn topic(&self, topic: &str) -> Arc<TopicTraffic> {
        let mut topics = self.topics.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(traffic) = topics.get(topic) {
            return Arc::clone(traffic);
        }
        let traffic = Arc::new(TopicTraffic::default());
        topics.insert(topic.to_string(), Arc::clone(&traffic));
        traffic
    }

    /// A produce appended `messages` records in `bytes` to `topic`.
    pub fn produced(&self, topic: &str, bytes: usize, messages: i64) {
        let traffic = self.topic(topic);
        traffic.bytes_in.fetch_add(bytes as u64, Ordering::Relaxed);
        traffic
            .messages_in
            .fetch_add(u64::try_from(messages).unwrap_or(0), Ordering::Relaxed);
    }

    /// A fetch answered `bytes` of `topic`'s records, to a follower (`replication`) or a
    /// consumer.
    pub fn fetched(&self, topic: &str, bytes: usize, replication: bool) {
        let traffic = self.topic(topic);
        let counter = if replication {
            &traffic.replication_bytes_out
        } else {
            &traffic.bytes_out
        };
        counter.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// A deleted topic's counters go (as Kafka removes its topic meters).
    pub fn forget_topic(&self, topic: &str) {
        self.topics
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(topic);
    }

    /// An ISR change this broker (as leader) wrote: smaller or larger than before.
    pub fn isr_changed(&self, shrunk: bool) {
        let counter = if shrunk {
            &self.isr_shrinks
        } else {
            &self.isr_expands
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters in Prometheus text, named as the JMX exporter's Kafka rules name
    /// `kafka.server:type=BrokerTopicMetrics,name=BytesInPerSec,topic=T` (`..._bytesin_total`,
    /// with the topic label, and without it for all topics) and the ReplicaManager's
    /// `IsrShrinksPerSec`/`IsrExpandsPerSec`.
    pub fn write_prometheus(&self, out: &mut String) {
        let topics: Vec<(String, Arc<TopicTraffic>)> = self
            .topics
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(t, c)| (t.clone(), Arc::clone(c)))
            .collect();
        let series: [(&str, TrafficField); 4] = [
            ("bytesin", |t| &t.bytes_in),
            ("messagesin", |t| &t.messages_in),
            ("bytesout", |t| &t.bytes_out),
            ("replicationbytesout", |t| &t.replication_bytes_out),
        ];
        for (name, field) in series {
            let name = format!("kafka_server_brokertopicmetrics_{name}_total");
            let _ = writeln!(out, "# TYPE {name} counter");
            let mut all = 0;
            for (topic, traffic) in &topics {
                let value = field(traffic).load(Ordering::Relaxed);
                all += value;
                let _ = writeln!(out, "{name}{{topic=\"{}\"}} {value}", escape(topic));
            }
            let _ = writeln!(out, "{name} {all}");
        }
        for (name, counter) in [
            ("isrshrinks", &self.isr_shrinks),
            ("isrexpands", &self.isr_expands),
        ] {
            let name = format!("kafka_server_replicamanager_{name}_total");
            let _ = writeln!(
                out,
                "# TYPE {name} counter\n{name} {}",
                counter.load(Ordering::Relaxed)
            );
        }
    }
}

/// A label value as Prometheus text wants it.
pub fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traffic_is_counted_per_topic_and_for_all_topics() {
        let counters = BrokerCounters::default();
        counters.produced("a", 100, 3);
        counters.produced("b", 50, 1);
        counters.fetched("a", 70, false);
        counters.fetched("a", 100, true);
        counters.isr_changed(true);
        let mut out = String::new();
        counters.write_prometheus(&mut out);
        for line in [
            "kafka_server_brokertopicmetrics_bytesin_total{topic=\"a\"} 100",
            "kafka_server_brokertopicmetrics_bytesin_total 150",
            "kafka_server_brokertopicmetrics_messagesin_total{topic=\"a\"} 3",
            "kafka_server_brokertopicmetrics_bytesout_total{topic=\"a\"} 70",
            "kafka_server_brokertopicmetrics_replicationbytesout_total 100",
            "kafka_server_replicamanager_isrshrinks_total 1",
            "kafka_server_replicamanager_isrexpands_total 0",
        ] {
            assert!(out.lines().any(|l| l == line), "{line} missing in\n{out}");
        }
        counters.forget_topic("a");
        let mut out = String::new();
        counters.write_prometheus(&mut out);
        assert!(!out.contains("topic=\"a\""));
    }
}
