//! The "consumer" embedded protocol: what members put in JoinGroup metadata (their
//! subscription) and what the leader hands out in SyncGroup (assignments), version 0 of
//! Kafka's `ConsumerProtocolSubscription`/`ConsumerProtocolAssignment`, and the range assignor.

use std::collections::BTreeMap;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::error::{ClientError, Result};

/// Topic -> partitions.
pub type Assignment = BTreeMap<String, Vec<i32>>;

pub fn encode_subscription(topics: &[String]) -> Bytes {
    let mut b = BytesMut::new();
    b.put_i16(0);
    b.put_i32(topics.len() as i32);
    for t in topics {
        put_string(&mut b, t);
    }
    b.put_i32(-1); // user data: null
    b.freeze()
}

pub fn decode_subscription(data: &[u8]) -> Result<Vec<String>> {
    let mut b = data;
    need(&b, 6)?;
    let _version = b.get_i16();
    let n = b.get_i32();
    let mut topics = Vec::new();
    for _ in 0..n.max(0) {
        topics.push(get_string(&mut b)?);
    }
    Ok(topics)
}

pub fn encode_assignment(assignment: &Assignment) -> Bytes {
    let mut b = BytesMut::new();
    b.put_i16(0);
    b.put_i32(assignment.len() as i32);
    for (topic, partitions) in assignment {
        put_string(&mut b, topic);
        b.put_i32(partitions.len() as i32);
        for p in partitions {
            b.put_i32(*p);
        }
    }
    b.put_i32(-1);
    b.freeze()
}

pub fn decode_assignment(data: &[u8]) -> Result<Assignment> {
    let mut out = Assignment::new();
    if data.is_empty() {
        return Ok(out);
    }
    let mut b = data;
    need(&b, 6)?;
    let _version = b.get_i16();
    let n = b.get_i32();
    for _ in 0..n.max(0) {
        let topic = get_string(&mut b)?;
        need(&b, 4)?;
        let count = b.get_i32();
        let mut partitions = Vec::new();
        for _ in 0..count.max(0) {
            need(&b, 4)?;
            partitions.push(b.get_i32());
        }
        out.insert(topic, partitions);
    }
    Ok(out)
}

/// Kafka's RangeAssignor: per topic, members subscribed to it sorted by id; each gets a
/// contiguous range, the first `partitions % members` one extra.
pub fn range_assign(
    subscriptions: &BTreeMap<String, Vec<String>>,
    partitions_per_topic: &BTreeMap<String, i32>,
) -> BTreeMap<String, Assignment> {
    let mut out: BTreeMap<String, Assignment> = subscriptions
        .keys()
        .map(|m| (m.clone(), Assignment::new()))
        .collect();
    for (topic, &count) in partitions_per_topic {
        let members: Vec<&String> = subscriptions
            .iter()
            .filter(|(_, topics)| topics.contains(topic))
            .map(|(m, _)| m)
            .collect();
        if members.is_empty() {
            continue;
        }
        let per = count / members.len() as i32;
        let extra = count % members.len() as i32;
        let mut next = 0;
        for (i, member) in members.iter().enumerate() {
            let n = per + i32::from((i as i32) < extra);
            let partitions: Vec<i32> = (next..next + n).collect();
            next += n;
            if let Some(a) = out.get_mut(*member) {
                a.insert(topic.clone(), partitions);
            }
        }
    }
    out
}

fn need(b: &&[u8], n: usize) -> Result<()> {
    if b.len() < n {
        return Err(ClientError::Invalid(
            "truncated consumer protocol data".into(),
        ));
    }
    Ok(())
}

fn put_string(b: &mut BytesMut, s: &str) {
    b.put_i16(s.len() as i16);
    b.put_slice(s.as_bytes());
}

fn get_string(b: &mut &[u8]) -> Result<String> {
    need(b, 2)?;
    let n = b.get_i16().max(0) as usize;
    need(b, n)?;
    let s = String::from_utf8_lossy(&b[..n]).into_owned();
    b.advance(n);
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscription_and_assignment_round_trip() {
        let topics = vec!["a".to_string(), "bb".to_string()];
        assert_eq!(
            decode_subscription(&encode_subscription(&topics)).unwrap(),
            topics
        );
        let a: Assignment = [("a".to_string(), vec![0, 2]), ("bb".to_string(), vec![1])]
            .into_iter()
            .collect();
        assert_eq!(decode_assignment(&encode_assignment(&a)).unwrap(), a);
        assert!(decode_assignment(&[0, 0, 0]).is_err());
    }

    #[test]
    fn range_assignor_splits_like_kafka() {
        let subs: BTreeMap<String, Vec<String>> = ["m1", "m2"]
            .iter()
            .map(|m| (m.to_string(), vec!["t".to_string()]))
            .collect();
        let counts = [("t".to_string(), 5)].into_iter().collect();
        let out = range_assign(&subs, &counts);
        assert_eq!(out["m1"]["t"], vec![0, 1, 2]);
        assert_eq!(out["m2"]["t"], vec![3, 4]);
    }
}
