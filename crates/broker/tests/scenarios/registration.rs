//! Broker registration: the ephemeral node, refusing a second owner, re-registering on a new
//! session over the old session's leftover, expiry with the session, generated ids.

use std::time::Duration;

use ferry_broker::zk::{BrokerInfo, EndPoint, ZkError, DEFAULT_RESERVED_BROKER_MAX_ID};

use tokio::time::timeout;

use super::session;
use crate::support::eventually;

pub async fn run(_hosts: &str, connect: &str) {
    let first = session(connect).await;
    let other = session(connect).await;
    let mut info = BrokerInfo::new(1, vec![EndPoint::plaintext("localhost", 9092)]);
    info.rack = Some("rack-a".to_string());

    let mut live = other.watch_broker_ids().await.unwrap();
    assert!(live.value.is_empty());
    let registration = first.register_broker(&info).await.unwrap();
    assert!(timeout(Duration::from_secs(10), live.changed())
        .await
        .unwrap());
    assert_eq!(registration.session_id, first.session_id());
    let read = other.get_broker(1).await.unwrap().unwrap();
    assert_eq!(read.endpoints, info.endpoints);
    assert_eq!(read.rack.as_deref(), Some("rack-a"));
    assert_eq!(read.version, 5);
    assert_eq!(other.broker_ids().await.unwrap(), vec![1]);
    let (_, stat) = other
        .client()
        .get_data("/brokers/ids/1", false)
        .await
        .unwrap();
    assert_eq!(stat.ephemeral_owner, first.session_id());

    // Registering again on the same session is the same registration.
    assert_eq!(first.register_broker(&info).await.unwrap(), registration);
    // Another live session cannot take the id.
    let taken = other.register_broker(&info).await.unwrap_err();
    assert!(
        matches!(taken, ZkError::BrokerIdInUse { broker_id: 1, owner, .. } if owner == first.session_id()),
        "{taken}"
    );

    // A new session of the same broker replaces the old session's leftover node (the server
    // has not expired the old session yet).
    let (renewed, _events) = first.reconnect().await.unwrap();
    let again = renewed
        .re_register_broker(&info, &registration)
        .await
        .unwrap();
    assert_eq!(again.session_id, renewed.session_id());
    assert_ne!(again.czxid, registration.czxid);
    let (_, stat) = other
        .client()
        .get_data("/brokers/ids/1", false)
        .await
        .unwrap();
    assert_eq!(stat.ephemeral_owner, renewed.session_id());

    // The ephemeral goes with its session.
    renewed.close().await;
    let gone = eventually(Duration::from_secs(10), || async {
        other.get_broker(1).await.unwrap().is_none()
    })
    .await;
    assert!(gone, "the registration expired with its session");
    assert!(other.broker_ids().await.unwrap().is_empty());

    // Generated ids are above reserved.broker.max.id and never repeat.
    let a = first
        .generate_broker_id(DEFAULT_RESERVED_BROKER_MAX_ID)
        .await
        .unwrap();
    let b = other
        .generate_broker_id(DEFAULT_RESERVED_BROKER_MAX_ID)
        .await
        .unwrap();
    assert_eq!((a, b), (1001, 1002));
    first.close().await;
    other.close().await;
}
