//! A three-server ensemble in this process, driven by the zookeeper-client crate (a client we
//! did not write): writes on one server are read on all, and a session that moves to another
//! server keeps its id, its ephemerals and its watches.

use std::time::Duration;

use ferry_keeper::config::KeeperConfig;
use zookeeper_client as zk;

use crate::support::{eventually, TestKeeper};
use crate::zookeeper_client::connect;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

/// Starts `count` servers from zoo.cfg text as users write it (server.N lines, myid files).
async fn start_ensemble(dir: &std::path::Path, count: usize) -> Vec<TestKeeper> {
    let members: String = (1..=count)
        .map(|id| format!("server.{id}=127.0.0.1:{}:{}\n", free_port(), free_port()))
        .collect();
    let mut servers = Vec::new();
    for id in 1..=count {
        let data = dir.join(format!("server{id}"));
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join("myid"), format!("{id}\n")).unwrap();
        let text = format!(
            "tickTime=200\ninitLimit=10\nsyncLimit=5\ndataDir={}\nclientPort=0\n\
             admin.enableServer=false\n4lw.commands.whitelist=*\nminSessionTimeout=400\n{members}",
            data.display()
        );
        let path = dir.join(format!("zoo{id}.cfg"));
        std::fs::write(&path, text).unwrap();
        let config = KeeperConfig::load(&path).expect("ensemble config loads");
        servers.push(TestKeeper::start_with(config).await);
    }
    let serving = eventually(Duration::from_secs(20), || async {
        servers.iter().all(|s| s.keeper.is_serving())
    })
    .await;
    assert!(serving, "the ensemble did not elect a leader within 20 s");
    servers
}

fn holds_session(server: &TestKeeper, session: i64) -> bool {
    server
        .keeper
        .registry
        .sessions()
        .values()
        .any(|s| *s == session)
}

#[tokio::test]
async fn writes_on_one_server_are_read_on_every_server() {
    let dir = tempfile::tempdir().unwrap();
    let servers = start_ensemble(dir.path(), 3).await;
    let writer = connect(&servers[0].address).await;
    let open = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    writer.create("/shared", b"v1", &open).await.unwrap();
    writer.set_data("/shared", b"v2", Some(0)).await.unwrap();
    for server in &servers {
        let reader = connect(&server.address).await;
        reader.sync("/shared").await.unwrap();
        let (data, stat) = reader.get_data("/shared").await.unwrap();
        assert_eq!((data.as_slice(), stat.version), (&b"v2"[..], 1));
    }
    for server in servers {
        server.stop().await;
    }
}

#[tokio::test]
async fn a_session_that_moves_keeps_its_ephemerals_and_watches() {
    let dir = tempfile::tempdir().unwrap();
    let mut servers = start_ensemble(dir.path(), 3).await;
    let both = format!("{},{}", servers[0].address, servers[1].address);
    let mover = connect(&both).await;
    let session = mover.session_id().0;
    let ephemeral = zk::CreateMode::Ephemeral.with_acls(zk::Acls::anyone_all());
    let open = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    mover.create("/lease", b"mine", &ephemeral).await.unwrap();
    mover.create("/watched", b"", &open).await.unwrap();
    let (_, _, watch) = mover.get_and_watch_data("/watched").await.unwrap();

    // Cut the server the session is on: stop accepting there and drop its connections.
    let on = servers
        .iter()
        .position(|s| holds_session(s, session))
        .expect("one server holds the session");
    let victim = servers.remove(on);
    victim.stop_accepting();
    victim.keeper.registry.close_all();
    let moved = eventually(Duration::from_secs(10), || async {
        servers.iter().any(|s| holds_session(s, session))
    })
    .await;
    assert!(moved, "the session did not move to the other server");
    assert_eq!(
        mover.session_id().0,
        session,
        "the session id survives the move"
    );

    let observer = connect(&servers[1].address).await;
    let (data, stat) = observer.get_data("/lease").await.unwrap();
    assert_eq!(
        (data.as_slice(), stat.ephemeral_owner),
        (&b"mine"[..], session)
    );
    observer
        .set_data("/watched", b"changed", None)
        .await
        .unwrap();
    let event = tokio::time::timeout(Duration::from_secs(5), watch.changed())
        .await
        .expect("the watch set before the move fires after it");
    assert_eq!(
        (event.event_type, event.path.as_str()),
        (zk::EventType::NodeDataChanged, "/watched")
    );
    // The moved session still writes, and its ephemeral still goes with it.
    mover.set_data("/lease", b"still mine", None).await.unwrap();
    drop(mover);
    observer.sync("/").await.unwrap();
    let gone = eventually(Duration::from_secs(10), || async {
        matches!(observer.check_stat("/lease").await, Ok(None))
    })
    .await;
    assert!(gone, "the ephemeral goes when its session is closed");
    victim.stop().await;
    for server in servers {
        server.stop().await;
    }
}
