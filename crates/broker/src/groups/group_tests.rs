//! The rebalance state machine without sockets: joins, syncs, heartbeats, leaves, session
//! expiry and static membership, driven with an explicit clock.

use bytes::Bytes;
use ferry_kafka_protocol::ErrorCode;

use super::group::{Effects, Group, GroupLimits, JoinResult, Reply, SyncRequest};
use super::member::JoinRequest;
use super::state::GroupState;

const SESSION: i32 = 10_000;
const REBALANCE: i32 = 30_000;

fn limits() -> GroupLimits {
    GroupLimits {
        min_session_timeout_ms: 1_000,
        max_session_timeout_ms: 60_000,
        initial_rebalance_delay_ms: 0,
    }
}

fn join_req(member_id: &str, fresh: &str, protocols: &[&str]) -> JoinRequest {
    JoinRequest {
        member_id: member_id.to_string(),
        instance_id: None,
        client_id: "c".to_string(),
        client_host: "/127.0.0.1".to_string(),
        session_timeout_ms: SESSION,
        rebalance_timeout_ms: REBALANCE,
        protocol_type: "consumer".to_string(),
        protocols: protocols
            .iter()
            .map(|p| (p.to_string(), Bytes::from(format!("meta-{p}"))))
            .collect(),
        require_known_member_id: false,
        fresh_member_id: fresh.to_string(),
    }
}

/// The answer for `member` released in `fx`.
fn released(fx: &Effects, member: &str) -> Option<JoinResult> {
    fx.joins
        .iter()
        .find(|(m, _)| m == member)
        .map(|(_, r)| r.clone())
}

fn sync(g: &mut Group, member: &str, generation: i32, now: u64, fx: &mut Effects) {
    let assignments = if g.leader() == Some(member) {
        g.members()
            .iter()
            .map(|m| (m.id.clone(), Bytes::from(format!("for-{}", m.id))))
            .collect()
    } else {
        Vec::new()
    };
    let req = SyncRequest {
        member_id: member.to_string(),
        generation,
        assignments,
        ..Default::default()
    };
    assert!(matches!(g.sync(req, now, fx), Reply::Wait { .. }));
}

/// A group of `ids` formed and stable at generation 1.
fn stable_group(ids: &[&str]) -> Group {
    let mut g = Group::new("g");
    let mut fx = Effects::default();
    for id in ids {
        g.join(join_req("", id, &["range"]), 0, &limits(), &mut fx);
    }
    // Each later join restarts the rebalance; the members already in rejoin until the
    // generation has everyone.
    let mut fx = Effects::default();
    while g.state() != GroupState::CompletingRebalance {
        let waiting: Vec<String> = g
            .members()
            .iter()
            .filter(|m| !m.awaiting_join)
            .map(|m| m.id.clone())
            .collect();
        for id in waiting {
            g.join(join_req(&id, "unused", &["range"]), 0, &limits(), &mut fx);
        }
    }
    let generation = g.generation();
    let mut fx = Effects::default();
    // Followers first: the leader's sync completes the generation.
    let leader = g.leader().unwrap_or_default().to_string();
    for id in ids.iter().filter(|id| **id != leader) {
        sync(&mut g, id, generation, 0, &mut fx);
    }
    sync(&mut g, &leader, generation, 0, &mut fx);
    assert_eq!(g.state(), GroupState::Stable);
    g
}

#[test]
fn first_member_forms_a_group_and_leads() {
    let mut g = Group::new("g");
    let mut fx = Effects::default();
    let reply = g.join(join_req("", "a", &["range"]), 0, &limits(), &mut fx);
    assert_eq!(
        reply,
        Reply::Wait {
            member_id: "a".into()
        }
    );
    let result = released(&fx, "a").expect("join completes at once: everyone joined");
    assert_eq!(result.error, ErrorCode::None);
    assert_eq!(result.generation, 1);
    assert_eq!(result.leader, "a");
    assert_eq!(result.protocol.as_deref(), Some("range"));
    assert_eq!(result.members.len(), 1, "the leader gets the member list");
    assert_eq!(g.state(), GroupState::CompletingRebalance);

    let mut fx = Effects::default();
    sync(&mut g, "a", 1, 0, &mut fx);
    assert_eq!(fx.syncs, vec![("a".into(), Ok(Bytes::from("for-a")))]);
    assert!(fx.persist, "a settled generation is persisted");
    assert_eq!(g.state(), GroupState::Stable);
}

#[test]
fn a_second_member_makes_everyone_rejoin_and_the_join_waits_for_all() {
    let mut g = stable_group(&["a"]);
    let mut fx = Effects::default();
    let reply = g.join(join_req("", "b", &["range"]), 10, &limits(), &mut fx);
    assert_eq!(
        reply,
        Reply::Wait {
            member_id: "b".into()
        }
    );
    assert!(fx.joins.is_empty(), "a has not rejoined yet");
    assert_eq!(g.state(), GroupState::PreparingRebalance);
    assert_eq!(
        g.heartbeat("a", None, 1, 20),
        ErrorCode::RebalanceInProgress
    );

    let mut fx = Effects::default();
    g.join(join_req("a", "", &["range"]), 30, &limits(), &mut fx);
    let (a, b) = (released(&fx, "a").unwrap(), released(&fx, "b").unwrap());
    assert_eq!((a.generation, b.generation), (2, 2));
    assert_eq!(a.leader, "a", "the leader stays the leader");
    assert_eq!(a.members.len(), 2);
    assert!(b.members.is_empty(), "followers do not get the member list");

    // The follower's sync waits for the leader's.
    let mut fx = Effects::default();
    sync(&mut g, "b", 2, 40, &mut fx);
    assert!(fx.syncs.is_empty());
    sync(&mut g, "a", 2, 50, &mut fx);
    let mut got = fx.syncs.clone();
    got.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        got,
        vec![
            ("a".into(), Ok(Bytes::from("for-a"))),
            ("b".into(), Ok(Bytes::from("for-b")))
        ]
    );
    assert_eq!(g.heartbeat("b", None, 2, 60), ErrorCode::None);
}

#[test]
fn rebalance_timeout_drops_members_that_do_not_rejoin() {
    let mut g = stable_group(&["a", "b"]);
    let generation = g.generation();
    let mut fx = Effects::default();
    g.join(join_req("", "c", &["range"]), 100, &limits(), &mut fx);
    g.join(join_req("a", "", &["range"]), 100, &limits(), &mut fx);
    assert!(fx.joins.is_empty(), "b has not rejoined");
    // b keeps heartbeating (so its session lives) but never rejoins.
    for t in (5_000..=REBALANCE as u64).step_by(5_000) {
        assert_eq!(
            g.heartbeat("b", None, generation, t),
            ErrorCode::RebalanceInProgress
        );
        g.tick(t, &limits(), &mut fx);
    }
    g.tick(100 + REBALANCE as u64 - 1, &limits(), &mut fx);
    assert!(fx.joins.is_empty());
    g.tick(100 + REBALANCE as u64, &limits(), &mut fx);
    assert_eq!(fx.joins.len(), 2);
    let ids: Vec<&str> = g.members().iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["a", "c"]);
    assert_eq!(g.generation(), generation + 1);
}

#[test]
fn session_expiry_removes_a_silent_member_and_rebalances() {
    let mut g = stable_group(&["a", "b"]);
    let mut fx = Effects::default();
    // a heartbeats, b does not.
    assert_eq!(
        g.heartbeat("a", None, g.generation(), 9_000),
        ErrorCode::None
    );
    g.tick(SESSION as u64 - 1, &limits(), &mut fx);
    assert_eq!(g.members().len(), 2);
    g.tick(SESSION as u64, &limits(), &mut fx);
    assert!(g.member("b").is_none(), "b expired");
    assert_eq!(g.state(), GroupState::PreparingRebalance);
    assert_eq!(
        g.heartbeat("a", None, g.generation(), 10_001),
        ErrorCode::RebalanceInProgress
    );
    g.join(join_req("a", "", &["range"]), 10_002, &limits(), &mut fx);
    assert_eq!(released(&fx, "a").unwrap().members.len(), 1);
}

#[test]
fn the_last_member_leaving_empties_the_group() {
    let mut g = stable_group(&["a"]);
    let mut fx = Effects::default();
    let errors = g.leave(&[("a".into(), None)], 5, &limits(), &mut fx);
    assert_eq!(errors, [ErrorCode::None]);
    assert_eq!(g.state(), GroupState::Empty);
    assert_eq!(
        g.generation(),
        2,
        "the empty generation is a generation too"
    );
    assert!(fx.persist);
    let errors = g.leave(&[("a".into(), None)], 6, &limits(), &mut fx);
    assert_eq!(errors, [ErrorCode::UnknownMemberId]);
}

#[test]
fn errors_for_bad_members_generations_and_protocols() {
    let mut g = stable_group(&["a"]);
    let mut fx = Effects::default();
    assert_eq!(g.heartbeat("zz", None, 1, 0), ErrorCode::UnknownMemberId);
    assert_eq!(g.heartbeat("a", None, 7, 0), ErrorCode::IllegalGeneration);
    let other_type = JoinRequest {
        protocol_type: "connect".into(),
        ..join_req("", "b", &["range"])
    };
    let Reply::Now(r) = g.join(other_type, 0, &limits(), &mut fx) else {
        panic!("refused at once")
    };
    assert_eq!(r.error, ErrorCode::InconsistentGroupProtocol);
    let Reply::Now(r) = g.join(join_req("", "b", &["roundrobin"]), 0, &limits(), &mut fx) else {
        panic!("refused at once")
    };
    assert_eq!(r.error, ErrorCode::InconsistentGroupProtocol);
    let short = JoinRequest {
        session_timeout_ms: 10,
        ..join_req("", "b", &["range"])
    };
    let Reply::Now(r) = g.join(short, 0, &limits(), &mut fx) else {
        panic!("refused at once")
    };
    assert_eq!(r.error, ErrorCode::InvalidSessionTimeout);
    let Reply::Now(r) = g.join(join_req("nobody", "", &["range"]), 0, &limits(), &mut fx) else {
        panic!("refused at once")
    };
    assert_eq!(r.error, ErrorCode::UnknownMemberId);
    let stale = SyncRequest {
        member_id: "a".into(),
        generation: 0,
        ..Default::default()
    };
    assert_eq!(
        g.sync(stale, 0, &mut fx),
        Reply::Now(Err(ErrorCode::IllegalGeneration))
    );
}

#[test]
fn v4_joins_get_a_member_id_first() {
    let mut g = Group::new("g");
    let mut fx = Effects::default();
    let first = JoinRequest {
        require_known_member_id: true,
        ..join_req("", "c-1", &["range"])
    };
    let Reply::Now(r) = g.join(first.clone(), 0, &limits(), &mut fx) else {
        panic!("answered at once")
    };
    assert_eq!(r.error, ErrorCode::MemberIdRequired);
    assert_eq!(r.member_id, "c-1");
    assert!(g.members().is_empty());
    let again = JoinRequest {
        member_id: "c-1".into(),
        ..first
    };
    g.join(again, 1, &limits(), &mut fx);
    assert_eq!(released(&fx, "c-1").unwrap().generation, 1);
}

#[test]
fn protocol_is_chosen_by_vote_among_common_protocols() {
    let mut g = Group::new("g");
    let limits = GroupLimits {
        initial_rebalance_delay_ms: 1_000,
        ..limits()
    };
    let mut fx = Effects::default();
    g.join(
        join_req("", "a", &["range", "roundrobin"]),
        0,
        &limits,
        &mut fx,
    );
    g.join(
        join_req("", "b", &["roundrobin", "range"]),
        10,
        &limits,
        &mut fx,
    );
    g.join(
        join_req("", "c", &["roundrobin", "sticky", "range"]),
        20,
        &limits,
        &mut fx,
    );
    assert!(
        fx.joins.is_empty(),
        "the initial delay holds the first rebalance"
    );
    g.tick(1_019, &limits, &mut fx);
    assert!(fx.joins.is_empty(), "each new member pushed the delay back");
    g.tick(1_020, &limits, &mut fx);
    assert_eq!(fx.joins.len(), 3);
    assert_eq!(g.protocol(), Some("roundrobin"));
    assert_eq!(g.leader(), Some("a"));
    let leader = released(&fx, "a").unwrap();
    assert!(leader
        .members
        .iter()
        .all(|(_, _, meta)| meta == &Bytes::from("meta-roundrobin")));
}

#[test]
fn a_rejoining_static_member_replaces_its_old_id_which_is_fenced() {
    let mut g = Group::new("g");
    let mut fx = Effects::default();
    let static_join = |fresh: &str| JoinRequest {
        instance_id: Some("host-1".into()),
        require_known_member_id: true,
        ..join_req("", fresh, &["range"])
    };
    g.join(static_join("old"), 0, &limits(), &mut fx);
    assert_eq!(
        released(&fx, "old").map(|r| r.error),
        Some(ErrorCode::None),
        "static members skip MEMBER_ID_REQUIRED"
    );
    sync(&mut g, "old", 1, 0, &mut Effects::default());
    assert_eq!(g.state(), GroupState::Stable);

    // The instance restarts and joins without a member id: same generation, no rebalance.
    let mut fx = Effects::default();
    let Reply::Now(r) = g.join(static_join("new"), 100, &limits(), &mut fx) else {
        panic!("a stable group answers at once")
    };
    assert_eq!(
        (r.error, r.member_id.as_str(), r.generation),
        (ErrorCode::None, "new", 1)
    );
    assert!(fx.persist);
    assert_eq!(g.state(), GroupState::Stable);
    assert_eq!(g.leader(), Some("new"));
    let req = SyncRequest {
        member_id: "new".into(),
        instance_id: Some("host-1".into()),
        generation: 1,
        ..Default::default()
    };
    assert_eq!(
        g.sync(req, 110, &mut fx),
        Reply::Now(Ok(Bytes::from("for-old"))),
        "it keeps the assignment"
    );
    assert_eq!(
        g.heartbeat("old", Some("host-1"), 1, 120),
        ErrorCode::FencedInstanceId
    );
    assert_eq!(g.heartbeat("new", Some("host-1"), 1, 120), ErrorCode::None);
    let errors = g.leave(
        &[("old".into(), Some("host-1".into()))],
        130,
        &limits(),
        &mut fx,
    );
    assert_eq!(errors, [ErrorCode::FencedInstanceId]);
    let errors = g.leave(
        &[(String::new(), Some("host-1".into()))],
        140,
        &limits(),
        &mut fx,
    );
    assert_eq!(errors, [ErrorCode::None]);
    assert_eq!(g.state(), GroupState::Empty);
}

#[test]
fn commits_follow_kafkas_generation_rules() {
    let mut g = Group::new("g");
    assert_eq!(g.check_commit("", None, -1, 0), Ok(()), "simple commit");
    let mut g2 = stable_group(&["a"]);
    assert_eq!(g2.check_commit("a", None, 1, 0), Ok(()));
    assert_eq!(
        g2.check_commit("a", None, 0, 0),
        Err(ErrorCode::IllegalGeneration)
    );
    assert_eq!(
        g2.check_commit("", None, -1, 0),
        Err(ErrorCode::UnknownMemberId)
    );
    let mut fx = Effects::default();
    g2.join(join_req("", "b", &["range"]), 0, &limits(), &mut fx);
    g2.join(join_req("a", "", &["range"]), 0, &limits(), &mut fx);
    assert_eq!(g2.state(), GroupState::CompletingRebalance);
    assert_eq!(
        g2.check_commit("a", None, 2, 0),
        Err(ErrorCode::RebalanceInProgress)
    );
    g.mark_dead();
    assert_eq!(
        g.check_commit("", None, -1, 0),
        Err(ErrorCode::CoordinatorNotAvailable)
    );
}

#[test]
fn stored_metadata_restores_the_stable_group() {
    let g = stable_group(&["a", "b"]);
    let stored = g.to_stored(123);
    let mut back = Group::new("g");
    back.restore(stored, 1_000);
    assert_eq!(back.state(), GroupState::Stable);
    assert_eq!(back.generation(), g.generation());
    assert_eq!(back.leader(), g.leader());
    assert_eq!(back.members().len(), 2);
    assert_eq!(
        back.heartbeat("b", None, g.generation(), 1_001),
        ErrorCode::None
    );
    let mut fx = Effects::default();
    // Members that never come back expire after their session.
    back.tick(1_000 + SESSION as u64, &limits(), &mut fx);
    assert!(back.member("a").is_none());
}

#[test]
fn a_generation_whose_metadata_was_not_stored_rebalances() {
    let mut g = stable_group(&["a", "b"]);
    let generation = g.generation();
    let mut fx = Effects::default();
    g.store_failed(generation - 1, 10, &limits(), &mut fx);
    assert_eq!(
        g.state(),
        GroupState::Stable,
        "an older generation's failure is no news"
    );
    g.store_failed(generation, 10, &limits(), &mut fx);
    assert_eq!(g.state(), GroupState::PreparingRebalance);
    assert_eq!(
        g.heartbeat("a", None, generation, 11),
        ErrorCode::RebalanceInProgress
    );
    // Both rejoin: the next generation forms.
    let mut fx = Effects::default();
    g.join(join_req("a", "unused", &["range"]), 12, &limits(), &mut fx);
    g.join(join_req("b", "unused", &["range"]), 12, &limits(), &mut fx);
    assert_eq!(g.state(), GroupState::CompletingRebalance);
    assert_eq!(g.generation(), generation + 1);
}

fn offset_at(commit_timestamp: i64) -> super::records::OffsetValue {
    super::records::OffsetValue {
        offset: 7,
        leader_epoch: -1,
        metadata: String::new(),
        commit_timestamp,
    }
}

#[test]
fn offsets_expire_after_the_group_has_been_empty_for_the_retention() {
    const RETENTION: u64 = 60_000;
    let mut g = stable_group(&["a"]);
    g.offsets.insert(("t".into(), 0), offset_at(0));
    assert!(
        g.expired_offsets(1_000_000, 1_000_000, RETENTION)
            .is_empty(),
        "a group with members keeps its offsets however old"
    );
    let mut fx = Effects::default();
    g.leave(&[("a".into(), None)], 10_000, &limits(), &mut fx);
    assert_eq!(g.state(), GroupState::Empty);
    assert!(
        g.expired_offsets(10_000 + RETENTION - 1, 1_000_000, RETENTION)
            .is_empty(),
        "counted from when the group emptied, not from the commit"
    );
    assert_eq!(
        g.expired_offsets(10_000 + RETENTION, 1_000_000, RETENTION),
        [("t".to_string(), 0)]
    );
}

#[test]
fn simple_commits_expire_each_from_its_commit_time() {
    const RETENTION: u64 = 60_000;
    let mut g = Group::new("simple");
    g.offsets.insert(("t".into(), 0), offset_at(1_000));
    g.offsets.insert(("t".into(), 1), offset_at(50_000));
    assert_eq!(
        g.expired_offsets(0, 1_000 + 60_000, RETENTION),
        [("t".to_string(), 0)]
    );
    assert_eq!(g.expired_offsets(0, 110_000, RETENTION).len(), 2);
}
