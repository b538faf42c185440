//! Compatibility with the `zookeeper-client` crate, a client we did not write.

use std::time::Duration;

use zookeeper_client as zk;

use crate::support::{eventually, TestKeeper};

fn open() -> zk::CreateOptions<'static> {
    zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all())
}

/// A session (2 s timeout) on the servers `address` names.
pub(crate) async fn connect(address: &str) -> zk::Client {
    zk::Client::connector()
        .with_session_timeout(Duration::from_secs(2))
        .connect(address)
        .await
        .expect("client connects")
}

#[tokio::test]
async fn crud_stats_and_sequential_names() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestKeeper::start(dir.path()).await;
    let client = connect(&server.address).await;

    let (stat, _) = client.create("/app", b"v1", &open()).await.unwrap();
    assert_eq!(
        (stat.version, stat.num_children, stat.data_length),
        (0, 0, 2)
    );
    assert_eq!(stat.czxid, stat.mzxid);
    assert!(matches!(
        client.create("/app", b"", &open()).await,
        Err(zk::Error::NodeExists)
    ));
    assert!(matches!(
        client.create("/missing/child", b"", &open()).await,
        Err(zk::Error::NoNode)
    ));

    let stat = client.set_data("/app", b"v2", Some(0)).await.unwrap();
    assert_eq!(stat.version, 1);
    assert!(matches!(
        client.set_data("/app", b"v3", Some(0)).await,
        Err(zk::Error::BadVersion)
    ));
    let (data, stat) = client.get_data("/app").await.unwrap();
    assert_eq!((data.as_slice(), stat.version), (&b"v2"[..], 1));

    let sequential = zk::CreateMode::PersistentSequential.with_acls(zk::Acls::anyone_all());
    let (_, first) = client.create("/app/job-", b"", &sequential).await.unwrap();
    let (_, second) = client.create("/app/job-", b"", &sequential).await.unwrap();
    assert_eq!((first.into_i64(), second.into_i64()), (0, 1));
    let mut children = client.list_children("/app").await.unwrap();
    children.sort();
    assert_eq!(children, ["job-0000000000", "job-0000000001"]);
    assert_eq!(client.count_descendants_number("/app").await.unwrap(), 2);

    assert!(matches!(
        client.delete("/app", None).await,
        Err(zk::Error::NotEmpty)
    ));
    client.delete("/app/job-0000000000", None).await.unwrap();
    let (_, parent) = client.get_data("/app").await.unwrap();
    assert_eq!(parent.num_children, 1);
    server.stop().await;
}

#[tokio::test]
async fn ephemerals_vanish_with_their_session_and_fire_watches() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestKeeper::start(dir.path()).await;
    let owner = connect(&server.address).await;
    let observer = connect(&server.address).await;

    let ephemeral = zk::CreateMode::Ephemeral.with_acls(zk::Acls::anyone_all());
    let (stat, _) = owner.create("/lease", b"", &ephemeral).await.unwrap();
    assert_eq!(stat.ephemeral_owner, owner.session_id().0);
    assert_eq!(owner.list_ephemerals("/").await.unwrap(), ["/lease"]);
    assert!(matches!(
        owner.create("/lease/child", b"", &open()).await,
        Err(zk::Error::NoChildrenForEphemerals)
    ));

    let (_, _, watcher) = observer.get_and_watch_data("/lease").await.unwrap();
    drop(owner);
    let event = tokio::time::timeout(Duration::from_secs(5), watcher.changed())
        .await
        .expect("deletion is notified");
    assert_eq!(event.event_type, zk::EventType::NodeDeleted);
    assert!(observer.check_stat("/lease").await.unwrap().is_none());
    server.stop().await;
}

#[tokio::test]
async fn one_shot_and_persistent_recursive_watches() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestKeeper::start(dir.path()).await;
    let client = connect(&server.address).await;
    let writer = connect(&server.address).await;

    client.create("/w", b"", &open()).await.unwrap();
    let (_, _, data_watch) = client.get_and_watch_data("/w").await.unwrap();
    let (_, _, child_watch) = client.get_and_watch_children("/w").await.unwrap();
    let mut recursive = client
        .watch("/w", zk::AddWatchMode::PersistentRecursive)
        .await
        .unwrap();

    writer.create("/w/a", b"", &open()).await.unwrap();
    writer.set_data("/w", b"x", None).await.unwrap();
    writer.create("/w/a/b", b"", &open()).await.unwrap();

    let child_event = child_watch.changed().await;
    assert_eq!(child_event.event_type, zk::EventType::NodeChildrenChanged);
    let data_event = data_watch.changed().await;
    assert_eq!(data_event.event_type, zk::EventType::NodeDataChanged);
    let mut seen = Vec::new();
    for _ in 0..3 {
        let event = tokio::time::timeout(Duration::from_secs(5), recursive.changed())
            .await
            .expect("recursive watch fires");
        seen.push((event.event_type, event.path));
    }
    assert_eq!(
        seen,
        [
            (zk::EventType::NodeCreated, "/w/a".to_string()),
            (zk::EventType::NodeDataChanged, "/w".to_string()),
            (zk::EventType::NodeCreated, "/w/a/b".to_string()),
        ]
    );
    server.stop().await;
}

#[tokio::test]
async fn multi_is_atomic() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestKeeper::start(dir.path()).await;
    let client = connect(&server.address).await;

    let mut writer = client.new_multi_writer();
    writer.add_create("/m1", b"", &open()).unwrap();
    writer.add_create("/m2", b"", &open()).unwrap();
    writer.add_set_data("/m1", b"set", None).unwrap();
    let results = writer.commit().await.unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(client.get_data("/m1").await.unwrap().0, b"set");

    let mut writer = client.new_multi_writer();
    writer.add_create("/m3", b"", &open()).unwrap();
    writer.add_delete("/does-not-exist", None).unwrap();
    match writer.commit().await {
        Err(zk::MultiWriteError::OperationFailed { index, source }) => {
            assert_eq!(index, 1);
            assert_eq!(source, zk::Error::NoNode);
        }
        other => panic!("expected the second op to fail, got {other:?}"),
    }
    assert!(client.check_stat("/m3").await.unwrap().is_none());
    server.stop().await;
}

#[tokio::test]
async fn digest_acls_are_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestKeeper::start(dir.path()).await;
    let alice = connect(&server.address).await;
    let stranger = connect(&server.address).await;
    alice.auth("digest", b"alice:secret").await.unwrap();

    let private = zk::CreateMode::Persistent.with_acls(zk::Acls::creator_all());
    alice.create("/private", b"mine", &private).await.unwrap();
    assert_eq!(alice.get_data("/private").await.unwrap().0, b"mine");
    assert!(matches!(
        stranger.get_data("/private").await,
        Err(zk::Error::NoAuth)
    ));
    assert!(matches!(
        stranger.set_data("/private", b"x", None).await,
        Err(zk::Error::NoAuth)
    ));
    let (acl, _) = alice.get_acl("/private").await.unwrap();
    assert_eq!(acl.len(), 1);
    assert_eq!(acl[0].scheme(), "digest");
    assert!(acl[0].id().starts_with("alice:"));
    let users = alice.list_auth_users().await.unwrap();
    assert!(users
        .iter()
        .any(|u| u.scheme() == "digest" && u.user() == "alice"));
    server.stop().await;
}

#[tokio::test]
async fn containers_and_ttl_nodes_are_reaped() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestKeeper::start(dir.path()).await;
    let client = connect(&server.address).await;

    let container = zk::CreateMode::Container.with_acls(zk::Acls::anyone_all());
    client.create("/box", b"", &container).await.unwrap();
    client.create("/box/item", b"", &open()).await.unwrap();
    client.delete("/box/item", None).await.unwrap();
    let ttl = zk::CreateMode::Persistent
        .with_acls(zk::Acls::anyone_all())
        .with_ttl(Duration::from_millis(200));
    client.create("/short-lived", b"", &ttl).await.unwrap();
    let (_, stat) = client.get_data("/short-lived").await.unwrap();
    assert_eq!(
        stat.ephemeral_owner, 0,
        "the TTL marker stays internal, as in ZooKeeper"
    );

    let gone = eventually(Duration::from_secs(10), || async {
        client.check_stat("/box").await.unwrap().is_none()
            && client.check_stat("/short-lived").await.unwrap().is_none()
    })
    .await;
    assert!(gone, "empty container and expired TTL node are deleted");
    server.stop().await;
}

#[tokio::test]
async fn data_and_sessions_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestKeeper::start(dir.path()).await;
    let client = connect(&server.address).await;
    client.create("/durable", b"kept", &open()).await.unwrap();
    let ephemeral = zk::CreateMode::Ephemeral.with_acls(zk::Acls::anyone_all());
    client.create("/mine", b"", &ephemeral).await.unwrap();
    let session = client.session().clone();
    server.stop().await;

    let server = TestKeeper::start(dir.path()).await;
    let resumed = zk::Client::connector()
        .with_session(session)
        .connect(&server.address)
        .await
        .expect("the session is still alive after a restart");
    assert_eq!(resumed.get_data("/durable").await.unwrap().0, b"kept");
    assert!(resumed.check_stat("/mine").await.unwrap().is_some());
    server.stop().await;
}

#[tokio::test]
async fn restart_restores_from_snapshot_plus_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::support::test_config(dir.path());
    config.snap_count = 20;
    let server = TestKeeper::start_with(config.clone()).await;
    let client = connect(&server.address).await;
    for i in 0..60 {
        client
            .create(&format!("/n{i:02}"), format!("{i}").as_bytes(), &open())
            .await
            .unwrap();
    }
    let snapshots = dir.path().join("snapshots");
    let written = eventually(Duration::from_secs(10), || async {
        std::fs::read_dir(&snapshots).is_ok_and(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("snapshot."))
        })
    })
    .await;
    assert!(written, "a snapshot is taken after snapCount transactions");
    client.set_data("/n07", b"after", None).await.unwrap();
    drop(client);
    server.stop().await;

    let server = TestKeeper::start_with(config).await;
    let client = connect(&server.address).await;
    let mut children = client.list_children("/").await.unwrap();
    children.retain(|c| c.starts_with('n'));
    assert_eq!(children.len(), 60);
    assert_eq!(client.get_data("/n07").await.unwrap().0, b"after");
    assert_eq!(client.get_data("/n59").await.unwrap().0, b"59");
    server.stop().await;
}

#[tokio::test]
async fn the_super_user_passes_every_acl() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::support::test_config(dir.path());
    config.super_digest = Some(ferry_keeper::acl::digest("super:letmein"));
    let server = TestKeeper::start_with(config).await;
    let owner = connect(&server.address).await;
    owner.auth("digest", b"owner:pw").await.unwrap();
    let private = zk::CreateMode::Persistent.with_acls(zk::Acls::creator_all());
    owner.create("/locked", b"secret", &private).await.unwrap();

    let admin = connect(&server.address).await;
    assert!(matches!(
        admin.get_data("/locked").await,
        Err(zk::Error::NoAuth)
    ));
    admin.auth("digest", b"super:wrong").await.unwrap();
    assert!(matches!(
        admin.get_data("/locked").await,
        Err(zk::Error::NoAuth)
    ));
    admin.auth("digest", b"super:letmein").await.unwrap();
    assert_eq!(admin.get_data("/locked").await.unwrap().0, b"secret");
    admin.delete("/locked", None).await.unwrap();
    server.stop().await;
}
