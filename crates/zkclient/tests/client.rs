//! ferry-zkclient against a real server: Apache ZooKeeper 3.8 by default, ferry keeper with
//! `FERRY_TEST_SERVER=ferry`, or any server named by `FERRY_TEST_ZK` (see `support`).
//!
//! Most tests share one server and each works under its own chroot; the tests that restart or
//! kill the server start their own.

mod support;

use std::sync::OnceLock;
use std::time::Duration;

use ferry_zkclient::{
    acl, perms, Acl, AddWatchMode, Bytes, Client, CreateMode, CreateOptions, ErrorCode, EventType,
    Events, Id, KeeperState, Op, OpResult, ReadOp, State, Watch, WatchedEvent, WatcherType,
};
use support::{Proxy, TestServer};
use tokio::sync::mpsc::UnboundedReceiver;

fn server() -> &'static TestServer {
    static SERVER: OnceLock<TestServer> = OnceLock::new();
    SERVER.get_or_init(TestServer::start)
}

/// A session chrooted at `/<name>` (created if missing) on the shared server.
async fn session(name: &str) -> (Client, Events) {
    let hosts = &server().hosts;
    let (root, _) = Client::connect(hosts).await.expect("connect");
    match root
        .create(&format!("/{name}"), "", &CreateOptions::persistent())
        .await
    {
        Ok(_) => {}
        Err(error) if error.code() == ErrorCode::NodeExists => {}
        Err(error) => panic!("create the test root: {error}"),
    }
    root.close().await;
    let (zk, mut events) = Client::builder(&format!("{hosts}/{name}"))
        .session_timeout(Duration::from_secs(20))
        .connect()
        .await
        .expect("connect with chroot");
    let connected = next_event(&mut events).await;
    assert_eq!(
        connected,
        WatchedEvent {
            event_type: EventType::None,
            state: KeeperState::SyncConnected,
            path: None
        }
    );
    (zk, events)
}

async fn next_event(events: &mut UnboundedReceiver<WatchedEvent>) -> WatchedEvent {
    tokio::time::timeout(Duration::from_secs(30), events.recv())
        .await
        .expect("an event within 30 s")
        .expect("the event channel is open")
}

/// The next event about a node (state changes skipped).
async fn next_node_event(events: &mut UnboundedReceiver<WatchedEvent>) -> (EventType, String) {
    loop {
        let event = next_event(events).await;
        if let Some(path) = event.path {
            return (event.event_type, path);
        }
    }
}

fn assert_no_event(events: &mut UnboundedReceiver<WatchedEvent>) {
    let pending = events.try_recv();
    assert!(pending.is_err(), "unexpected event {pending:?}");
}

#[tokio::test]
async fn reads_and_writes_behave_as_zookeeper() {
    let (zk, _events) = session("crud").await;
    let (path, stat) = zk
        .create("/a", "hello", &CreateOptions::persistent())
        .await
        .unwrap();
    assert_eq!(path, "/a");
    assert_eq!(
        (stat.version, stat.data_length, stat.num_children),
        (0, 5, 0)
    );
    assert_eq!(stat.czxid, stat.mzxid);

    let error = zk
        .create("/a", "again", &CreateOptions::persistent())
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::NodeExists);
    assert_eq!(error.to_string(), "KeeperErrorCode = NodeExists for /a");

    let (data, read) = zk.get_data("/a", false).await.unwrap();
    assert_eq!(data.as_deref(), Some(&b"hello"[..]));
    assert_eq!(read, stat);

    let set = zk.set_data("/a", "world", Some(0)).await.unwrap();
    assert_eq!(set.version, 1);
    let stale = zk.set_data("/a", "x", Some(0)).await.unwrap_err();
    assert_eq!(stale.code(), ErrorCode::BadVersion);

    // Null data is not empty data.
    zk.create("/null", None, &CreateOptions::persistent())
        .await
        .unwrap();
    assert_eq!(zk.get_data("/null", false).await.unwrap().0, None);
    zk.create("/empty", "", &CreateOptions::persistent())
        .await
        .unwrap();
    assert_eq!(
        zk.get_data("/empty", false).await.unwrap().0,
        Some(Bytes::new())
    );

    zk.create("/a/b", "", &CreateOptions::persistent())
        .await
        .unwrap();
    assert_eq!(
        zk.delete("/a", None).await.unwrap_err().code(),
        ErrorCode::NotEmpty
    );
    let (children, parent) = zk.get_children2("/a", false).await.unwrap();
    assert_eq!(children, ["b"]);
    assert_eq!(parent.num_children, 1);
    assert_eq!(parent.cversion, 1);
    assert_eq!(zk.get_all_children_number("/").await.unwrap(), 4);

    assert_eq!(
        zk.delete("/a/b", Some(7)).await.unwrap_err().code(),
        ErrorCode::BadVersion
    );
    zk.delete("/a/b", Some(0)).await.unwrap();
    assert_eq!(zk.exists("/a/b", false).await.unwrap(), None);
    let missing = zk.get_data("/a/b", false).await.unwrap_err();
    assert_eq!(missing.code(), ErrorCode::NoNode);
    assert_eq!(missing.path(), Some("/a/b"));

    let mut sorted = zk.get_children("/", false).await.unwrap();
    sorted.sort();
    assert_eq!(sorted, ["a", "empty", "null"]);
    assert_eq!(zk.sync("/a").await.unwrap(), "/a");
}

#[tokio::test]
async fn node_types_sequence_ephemerals_containers_and_ttl() {
    let (zk, _events) = session("modes").await;
    let sequential = CreateOptions::new(CreateMode::PersistentSequential);
    let (first, _) = zk.create("/q-", "", &sequential).await.unwrap();
    let (second, _) = zk.create("/q-", "", &sequential).await.unwrap();
    assert_eq!(first, "/q-0000000000");
    assert_eq!(second, "/q-0000000001");

    let (eph, stat) = zk
        .create("/eph", "", &CreateOptions::ephemeral())
        .await
        .unwrap();
    assert_eq!(stat.ephemeral_owner, zk.session_id());
    let (eph_seq, _) = zk
        .create(
            "/es-",
            "",
            &CreateOptions::new(CreateMode::EphemeralSequential),
        )
        .await
        .unwrap();
    let mut ephemerals = zk.get_ephemerals("/").await.unwrap();
    ephemerals.sort();
    assert_eq!(ephemerals, [eph.clone(), eph_seq]);
    assert_eq!(
        zk.create("/eph/child", "", &CreateOptions::persistent())
            .await
            .unwrap_err()
            .code(),
        ErrorCode::NoChildrenForEphemerals
    );

    let (_, container) = zk
        .create("/box", "", &CreateOptions::new(CreateMode::Container))
        .await
        .unwrap();
    // ZooKeeper 3.8 keeps the container marker out of the stat it shows.
    assert_eq!(container.ephemeral_owner, 0);

    let ttl = CreateOptions::new(CreateMode::PersistentWithTtl).with_ttl(60_000);
    let (_, stat) = zk.create("/ttl", "", &ttl).await.unwrap();
    // Nor the TTL: the stat shows no owner.
    assert_eq!(stat.ephemeral_owner, 0);
    assert!(zk.exists("/ttl", false).await.unwrap().is_some());
    let no_ttl = CreateOptions::new(CreateMode::PersistentWithTtl);
    assert_eq!(
        zk.create("/ttl2", "", &no_ttl).await.unwrap_err().code(),
        ErrorCode::BadArguments
    );

    // The other session sees the ephemeral go when this one closes.
    let (other, _) = session("modes").await;
    zk.close().await;
    assert_eq!(zk.state(), State::Closed);
    assert_eq!(other.exists(&eph, false).await.unwrap(), None);
    let after = zk.get_data("/box", false).await.unwrap_err();
    assert_eq!(after.code(), ErrorCode::SessionExpired);
}

#[tokio::test]
async fn one_shot_watches_fire_once_in_order() {
    let (zk, mut events) = session("watches").await;
    let (writer, _) = session("watches").await;

    assert_eq!(zk.exists("/w", true).await.unwrap(), None);
    writer
        .create("/w", "1", &CreateOptions::persistent())
        .await
        .unwrap();
    assert_eq!(
        next_node_event(&mut events).await,
        (EventType::NodeCreated, "/w".to_string())
    );

    zk.get_data("/w", true).await.unwrap();
    zk.get_children("/w", true).await.unwrap();
    writer.set_data("/w", "2", None).await.unwrap();
    writer.set_data("/w", "3", None).await.unwrap();
    writer
        .create("/w/c", "", &CreateOptions::persistent())
        .await
        .unwrap();
    assert_eq!(
        next_node_event(&mut events).await,
        (EventType::NodeDataChanged, "/w".to_string())
    );
    assert_eq!(
        next_node_event(&mut events).await,
        (EventType::NodeChildrenChanged, "/w".to_string())
    );
    // The second setData found no watch: one-shot.
    writer.sync("/").await.unwrap();
    zk.sync("/").await.unwrap();
    assert_no_event(&mut events);

    // A per-call watcher gets its own events; the default channel stays quiet.
    let (watch, mut mine) = Watch::channel();
    zk.get_data("/w", watch).await.unwrap();
    writer.delete("/w/c", None).await.unwrap();
    writer.delete("/w", None).await.unwrap();
    assert_eq!(
        next_node_event(&mut mine).await,
        (EventType::NodeDeleted, "/w".to_string())
    );
    zk.sync("/").await.unwrap();
    assert_no_event(&mut events);
}

#[tokio::test]
async fn persistent_watches_stay_until_removed() {
    let (zk, mut events) = session("persistent").await;
    let (writer, _) = session("persistent").await;
    writer
        .create("/p", "", &CreateOptions::persistent())
        .await
        .unwrap();

    zk.add_watch("/p", AddWatchMode::PersistentRecursive, true)
        .await
        .unwrap();
    writer
        .create("/p/x", "", &CreateOptions::persistent())
        .await
        .unwrap();
    writer.set_data("/p/x", "1", None).await.unwrap();
    writer.set_data("/p/x", "2", None).await.unwrap();
    assert_eq!(
        next_node_event(&mut events).await,
        (EventType::NodeCreated, "/p/x".to_string())
    );
    for _ in 0..2 {
        assert_eq!(
            next_node_event(&mut events).await,
            (EventType::NodeDataChanged, "/p/x".to_string())
        );
    }

    zk.check_watches("/p", WatcherType::Any).await.unwrap();
    zk.remove_watches("/p", WatcherType::Any, false)
        .await
        .unwrap();
    assert_eq!(
        next_node_event(&mut events).await,
        (EventType::PersistentWatchRemoved, "/p".to_string())
    );
    let none = zk
        .remove_watches("/p", WatcherType::Any, false)
        .await
        .unwrap_err();
    assert_eq!(none.code(), ErrorCode::NoWatcher);
    assert_eq!(none.to_string(), "KeeperErrorCode = No such watcher for /p");
    writer.set_data("/p/x", "3", None).await.unwrap();
    zk.sync("/").await.unwrap();
    assert_no_event(&mut events);

    // Removing a data watch tells its watcher.
    zk.get_data("/p", true).await.unwrap();
    zk.remove_watches("/p", WatcherType::Data, false)
        .await
        .unwrap();
    assert_eq!(
        next_node_event(&mut events).await,
        (EventType::DataWatchRemoved, "/p".to_string())
    );
}

#[tokio::test]
async fn multi_is_atomic_and_names_the_failed_op() {
    let (zk, _events) = session("multi").await;
    let results = zk
        .multi(&[
            Op::create("/m", "a", CreateOptions::persistent()),
            Op::create(
                "/m/s-",
                "",
                CreateOptions::new(CreateMode::PersistentSequential),
            ),
            Op::set_data("/m", "b", Some(0)),
            Op::check("/m", 1),
        ])
        .await
        .unwrap();
    assert!(matches!(&results[0], OpResult::Create { path, .. } if path == "/m"));
    assert!(matches!(&results[1], OpResult::Create { path, .. } if path == "/m/s-0000000000"));
    assert!(matches!(&results[2], OpResult::SetData(stat) if stat.version == 1));
    assert_eq!(results[3], OpResult::Check);

    let error = zk
        .multi(&[
            Op::delete("/m/s-0000000000", None),
            Op::check("/m", 5),
            Op::create("/never", "", CreateOptions::persistent()),
        ])
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::BadVersion);
    assert!(
        matches!(&error, ferry_zkclient::Error::Multi { index: 1, path, .. } if path == "/m"),
        "{error:?}"
    );
    assert!(zk.exists("/m/s-0000000000", false).await.unwrap().is_some());
    assert_eq!(zk.exists("/never", false).await.unwrap(), None);
    assert_eq!(
        zk.check("/m", 0).await.unwrap_err().code(),
        ErrorCode::BadVersion
    );
    zk.check("/m", 1).await.unwrap();

    let reads = zk
        .multi_read(&[
            ReadOp::GetData("/m".into()),
            ReadOp::GetChildren("/m".into()),
            ReadOp::GetData("/absent".into()),
        ])
        .await
        .unwrap();
    assert!(matches!(&reads[0], OpResult::GetData { data: Some(d), .. } if d == "b"));
    assert_eq!(reads[1], OpResult::GetChildren(vec!["s-0000000000".into()]));
    assert_eq!(reads[2], OpResult::Error(ErrorCode::NoNode));
}

#[tokio::test]
async fn acls_auth_and_identity() {
    let (zk, _events) = session("acl").await;
    let digest = Acl {
        perms: perms::ALL,
        id: Id {
            // "user:secret" -> base64(sha1("user:secret"))
            scheme: "digest".into(),
            id: "user:5w9W4eL3797Y4Wq8AcKUPPk8ha4=".into(),
        },
    };
    zk.create(
        "/locked",
        "s",
        &CreateOptions::persistent().with_acl(vec![digest.clone()]),
    )
    .await
    .unwrap();
    let denied = zk.get_data("/locked", false).await.unwrap_err();
    assert_eq!(denied.code(), ErrorCode::NoAuth);
    // Since 3.6 reading an ACL takes READ or ADMIN.
    assert_eq!(
        zk.get_acl("/locked").await.unwrap_err().code(),
        ErrorCode::NoAuth
    );

    zk.add_auth("digest", b"user:secret").await.unwrap();
    let (got, _) = zk.get_acl("/locked").await.unwrap();
    assert_eq!(got, [digest]);
    assert_eq!(zk.get_data("/locked", false).await.unwrap().0.unwrap(), "s");
    let identities = zk.who_am_i().await.unwrap();
    assert!(identities
        .iter()
        .any(|c| c.auth_scheme == "digest" && c.user == "user"));
    assert!(identities.iter().any(|c| c.auth_scheme == "ip"));

    let stat = zk
        .set_acl("/locked", &acl::read_unsafe(), Some(0))
        .await
        .unwrap();
    assert_eq!(stat.aversion, 1);
    assert_eq!(
        zk.set_acl("/locked", &acl::open_unsafe(), Some(0))
            .await
            .unwrap_err()
            .code(),
        ErrorCode::NoAuth
    );
    let empty = zk
        .create("/x", "", &CreateOptions::persistent().with_acl(Vec::new()))
        .await
        .unwrap_err();
    assert_eq!(empty.code(), ErrorCode::InvalidAcl);
    let (config, _) = zk.get_config(false).await.unwrap();
    assert!(config.is_some());
}

#[tokio::test]
async fn bad_input_fails_before_it_is_sent() {
    let (zk, _events) = session("paths").await;
    let error = zk.get_data("relative", false).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::BadArguments);
    assert_eq!(error.to_string(), "Path must start with / character");
    assert!(zk
        .create("/a//b", "", &CreateOptions::persistent())
        .await
        .is_err());
    // A sequential path may end in '/': the server appends the counter.
    zk.create("/dir", "", &CreateOptions::persistent())
        .await
        .unwrap();
    let sequential = CreateOptions::new(CreateMode::PersistentSequential);
    let (path, _) = zk.create("/dir/", "", &sequential).await.unwrap();
    assert_eq!(path, "/dir/0000000000");
    assert!(Client::connect("no-port:abc").await.is_err());
}

#[tokio::test]
async fn pipelined_requests_all_complete() {
    let (zk, _events) = session("pipeline").await;
    zk.create("/n", "v", &CreateOptions::persistent())
        .await
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..400 {
        let zk = zk.clone();
        tasks.spawn(async move {
            if i % 4 == 0 {
                zk.set_data("/n", format!("{i}"), None).await.map(drop)
            } else {
                zk.get_data("/n", false).await.map(drop)
            }
        });
    }
    let mut done = 0;
    while let Some(result) = tasks.join_next().await {
        result.unwrap().unwrap();
        done += 1;
    }
    assert_eq!(done, 400);
    assert_eq!(zk.get_data("/n", false).await.unwrap().1.version, 100);
}

#[tokio::test]
async fn unknown_auth_scheme_ends_the_session() {
    let (zk, mut events) = session("authfail").await;
    let error = zk.add_auth("no-such-scheme", b"x").await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::AuthFailed);
    assert_eq!(next_event(&mut events).await.state, KeeperState::AuthFailed);
    assert_eq!(zk.state(), State::AuthFailed);
    assert_eq!(
        zk.exists("/", false).await.unwrap_err().code(),
        ErrorCode::AuthFailed
    );
}

#[tokio::test]
async fn expiry_is_an_event_a_state_and_an_error() {
    session("expiry").await;
    let proxy = Proxy::start(&server().hosts).await;
    let (zk, mut events) = Client::connect(&format!("{}/expiry", proxy.hosts))
        .await
        .unwrap();
    assert_eq!(
        next_event(&mut events).await.state,
        KeeperState::SyncConnected
    );
    zk.create("/e", "", &CreateOptions::ephemeral())
        .await
        .unwrap();
    let (watch, mut watcher) = Watch::channel();
    zk.exists("/e", watch).await.unwrap();

    // Cut the client off; meanwhile another client takes its session over and closes it.
    proxy.cut();
    assert_eq!(
        next_event(&mut events).await.state,
        KeeperState::Disconnected
    );
    let status = zk.status();
    assert_eq!(status.state, State::Connecting);
    let (thief, _) = Client::builder(&format!("{}/expiry", server().hosts))
        .resume_session(status.session_id, status.password)
        .connect()
        .await
        .unwrap();
    assert_eq!(thief.session_id(), zk.session_id());
    thief.close().await;

    // Back in touch, the client hears that its session is gone.
    proxy.restore();
    assert_eq!(next_event(&mut events).await.state, KeeperState::Expired);
    assert_eq!(zk.state(), State::Expired);
    // Every watcher hears it, the per-call ones too.
    let mut states = Vec::new();
    while let Ok(event) = watcher.try_recv() {
        states.push(event.state);
    }
    assert_eq!(states, [KeeperState::Disconnected, KeeperState::Expired]);
    let error = zk.get_data("/", false).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::SessionExpired);
    assert!(error.is_session_gone());
    let (other, _) = session("expiry").await;
    assert_eq!(other.exists("/e", false).await.unwrap(), None);
}

#[tokio::test]
async fn the_session_survives_a_server_restart() {
    let Some(mut own) = TestServer::start_owned() else {
        return;
    };
    // The first host is dead: the client must move on to the next.
    let hosts = format!("{},{}", TestServer::dead_hosts(), own.hosts);
    let (zk, mut events) = Client::builder(&hosts)
        .session_timeout(Duration::from_secs(30))
        .connect()
        .await
        .unwrap();
    assert_eq!(
        next_event(&mut events).await.state,
        KeeperState::SyncConnected
    );
    zk.create("/app", "", &CreateOptions::persistent())
        .await
        .unwrap();
    zk.create("/app/eph", "", &CreateOptions::ephemeral())
        .await
        .unwrap();
    zk.add_auth("digest", b"user:secret").await.unwrap();
    zk.get_data("/app", true).await.unwrap();
    let (persistent, mut persistent_events) = Watch::channel();
    zk.add_watch("/app", AddWatchMode::Persistent, persistent)
        .await
        .unwrap();
    let session_id = zk.session_id();

    own.restart();
    assert_eq!(
        next_event(&mut events).await.state,
        KeeperState::Disconnected
    );
    assert_eq!(
        next_event(&mut events).await.state,
        KeeperState::SyncConnected
    );
    assert_eq!(zk.session_id(), session_id);
    assert!(zk.exists("/app/eph", false).await.unwrap().is_some());
    assert!(zk
        .who_am_i()
        .await
        .unwrap()
        .iter()
        .any(|c| c.auth_scheme == "digest"));

    // The watches were re-registered on the new connection.
    let (writer, _) = Client::connect(&own.hosts).await.unwrap();
    writer.set_data("/app", "changed", None).await.unwrap();
    assert_eq!(
        next_node_event(&mut events).await,
        (EventType::NodeDataChanged, "/app".to_string())
    );
    assert_eq!(
        next_node_event(&mut persistent_events).await,
        (EventType::NodeDataChanged, "/app".to_string())
    );

    // A request in flight when the server dies fails with ConnectionLoss or succeeds; later
    // requests wait for the reconnect.
    own.kill();
    let lost = zk.get_data("/app", false).await;
    if let Err(error) = lost {
        assert!(error.is_connection_loss(), "{error}");
    }
    own.restart();
    tokio::time::timeout(Duration::from_secs(30), async {
        while zk.exists("/app", false).await.is_err() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the client reconnects");
    zk.close().await;
    writer.close().await;
}

#[tokio::test]
async fn with_retry_a_call_outlives_a_lost_connection() {
    let Some(mut own) = TestServer::start_owned() else {
        return;
    };
    let (zk, _events) = Client::builder(&own.hosts)
        .session_timeout(Duration::from_secs(30))
        .retry_connection_loss(true)
        .connect()
        .await
        .unwrap();
    zk.create("/kept", "v", &CreateOptions::persistent())
        .await
        .unwrap();
    own.kill();
    // Without the retry this fails with ConnectionLoss at the first failed reconnect; with it
    // the call waits for the session to come back and is answered.
    let call = tokio::spawn({
        let zk = zk.clone();
        async move { zk.get_data("/kept", false).await }
    });
    tokio::time::sleep(Duration::from_millis(1500)).await; // a few reconnects fail meanwhile
    assert!(
        !call.is_finished(),
        "the call gave up while the server was down"
    );
    own.restart();
    let (data, _) = tokio::time::timeout(Duration::from_secs(30), call)
        .await
        .expect("answered after the reconnect")
        .unwrap()
        .expect("no ConnectionLoss reaches the caller");
    assert_eq!(data.as_deref(), Some(&b"v"[..]));
    zk.close().await;
}
