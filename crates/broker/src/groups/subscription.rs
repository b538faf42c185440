//! The consumer protocol's subscription (`ConsumerProtocolSubscription`), read only for the
//! topic names: OffsetDelete must not delete offsets of a topic the group still consumes.
//!
//! Layout: `version:int16 topics:[string]` then user data and (v1+) owned partitions, which are
//! not needed here.

/// The subscribed topics, or `None` if the metadata is not a consumer subscription.
pub fn topics(metadata: &[u8]) -> Option<Vec<String>> {
    let mut rest = metadata.get(2..)?;
    let count = i32::from_be_bytes(take(&mut rest, 4)?.try_into().ok()?);
    let mut topics = Vec::new();
    for _ in 0..count.max(0) {
        let len = i16::from_be_bytes(take(&mut rest, 2)?.try_into().ok()?);
        let name = take(&mut rest, usize::try_from(len).ok()?)?;
        topics.push(String::from_utf8(name.to_vec()).ok()?);
    }
    Some(topics)
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if rest.len() < n {
        return None;
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Some(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_topics_and_rejects_garbage() {
        let mut m = vec![0, 1, 0, 0, 0, 2, 0, 1, b'a', 0, 2, b'b', b'c'];
        m.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(topics(&m), Some(vec!["a".to_string(), "bc".to_string()]));
        assert_eq!(topics(&m[..9]), None);
        assert_eq!(topics(&[]), None);
    }
}
