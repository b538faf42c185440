//! `ferry topics --describe --under-replicated-partitions | --unavailable-partitions`: the
//! reports operators run during an incident, with kafka-topics.sh 2.8's rules
//! (`TopicCommand.DescribeOptions`): with either flag the topic lines are left out and only
//! the partitions that match one of the flags are printed; a partition is under-replicated
//! when its ISR is smaller than its replica list, and unavailable when it has no leader or its
//! leader is not a live broker. (2.8 prints no `Offline:` column, so neither does this.)

use anyhow::bail;

use super::topics::{Action, TopicsArgs};

/// Which partitions `--describe` prints.
#[derive(Debug, Clone, Copy, Default)]
pub struct PartitionFilter {
    under_replicated: bool,
    unavailable: bool,
}

impl PartitionFilter {
    /// The flags of `args`; refused, as kafka-topics.sh does, with any action but --describe.
    pub fn of(args: &TopicsArgs, action: &Action) -> anyhow::Result<Self> {
        let filter = Self {
            under_replicated: args.under_replicated_partitions,
            unavailable: args.unavailable_partitions,
        };
        let flag = if filter.under_replicated {
            "under-replicated-partitions"
        } else {
            "unavailable-partitions"
        };
        if !filter.describes_topics() && !matches!(action, Action::Describe) {
            bail!(
                "Option \"[{flag}]\" can't be used with option \"[{}]\"",
                action.flag()
            );
        }
        Ok(filter)
    }

    /// Whether the topic lines (with their configs) are printed: only without a filter.
    pub fn describes_topics(&self) -> bool {
        !self.under_replicated && !self.unavailable
    }

    /// Whether a partition with this leader (-1: none), replicas and ISR is printed, `live`
    /// being the brokers registered now.
    pub fn shows(&self, leader: i32, replicas: &[i32], isr: &[i32], live: &[i32]) -> bool {
        let under_replicated = replicas.len() > isr.len();
        let unavailable = leader < 0 || !live.contains(&leader);
        self.describes_topics()
            || (self.under_replicated && under_replicated)
            || (self.unavailable && unavailable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(under_replicated: bool, unavailable: bool) -> PartitionFilter {
        PartitionFilter {
            under_replicated,
            unavailable,
        }
    }

    #[test]
    fn no_flag_shows_everything_with_topic_lines() {
        let all = filter(false, false);
        assert!(all.describes_topics());
        assert!(all.shows(-1, &[1, 2], &[], &[]));
    }

    #[test]
    fn under_replicated_is_an_isr_smaller_than_the_replicas() {
        let f = filter(true, false);
        assert!(!f.describes_topics());
        assert!(f.shows(1, &[1, 2, 3], &[1, 2], &[1, 2, 3]));
        assert!(!f.shows(1, &[1, 2, 3], &[3, 1, 2], &[1, 2, 3]));
    }

    #[test]
    fn unavailable_is_no_leader_or_a_dead_one() {
        let f = filter(false, true);
        assert!(f.shows(-1, &[1], &[1], &[1, 2]));
        assert!(f.shows(3, &[3], &[3], &[1, 2]));
        assert!(!f.shows(1, &[1, 2], &[1], &[1, 2]));
        // Either flag matching is enough when both are given.
        assert!(filter(true, true).shows(1, &[1, 2], &[1], &[1, 2]));
    }
}
