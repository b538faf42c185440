//! The operator-facing surface and hostile input: four-letter words, the HTTP admin endpoint,
//! and clients that send garbage, too much, or nothing.

use std::time::Duration;

use ferry_jute::{write_frame, Bytes, ConnectRequest, Record};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::TestKeeper;

/// Sends `bytes` and returns everything the server answers before it closes.
async fn exchange(address: &str, bytes: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
        .await
        .expect("the server closes the connection")
        .unwrap_or_default();
    answer
}

fn handshake() -> Vec<u8> {
    let mut frame = Vec::new();
    let connect = ConnectRequest {
        time_out: 4000,
        passwd: Bytes::from_static(&[0; 16]),
        ..ConnectRequest::default()
    };
    write_frame(&mut frame, &connect.to_bytes());
    frame
}

async fn four_letter(address: &str, word: &str) -> String {
    String::from_utf8(exchange(address, word.as_bytes()).await).unwrap()
}

#[tokio::test]
async fn four_letter_words_answer_as_zookeeper_does() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestKeeper::start(dir.path()).await;
    let address = &server.address;
    assert_eq!(four_letter(address, "ruok").await, "imok");
    let srvr = four_letter(address, "srvr").await;
    assert!(srvr.contains("Mode: standalone"), "{srvr}");
    assert!(srvr.contains("Node count: 4"), "{srvr}");
    let mntr = four_letter(address, "mntr").await;
    assert!(mntr.contains("zk_server_state\tstandalone"), "{mntr}");
    assert!(mntr.contains("zk_znode_count\t4"), "{mntr}");
    assert!(four_letter(address, "conf").await.contains("tickTime=200"));
    assert_eq!(four_letter(address, "isro").await, "rw");
    assert!(four_letter(address, "envi")
        .await
        .starts_with("Environment:"));
    assert!(four_letter(address, "wchs").await.contains("watching"));
    assert!(four_letter(address, "dump")
        .await
        .contains("SessionTracker dump"));
    assert!(four_letter(address, "stat").await.contains("Clients:"));
    assert_eq!(four_letter(address, "srst").await, "Server stats reset.\n");
    assert_eq!(
        four_letter(address, "crst").await,
        "Connection stats reset.\n"
    );
    server.stop().await;
}

#[tokio::test]
async fn four_letter_words_honour_the_whitelist() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::support::test_config(dir.path());
    config.four_letter_words = ferry_keeper::config::Whitelist::Only(["ruok".into()].into());
    let server = TestKeeper::start_with(config).await;
    assert_eq!(four_letter(&server.address, "ruok").await, "imok");
    assert_eq!(
        four_letter(&server.address, "mntr").await,
        "mntr is not executed because it is not in the whitelist.\n"
    );
    server.stop().await;
}

#[tokio::test]
async fn admin_http_serves_commands_and_prometheus_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::support::test_config(dir.path());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    config.admin_enabled = true;
    config.admin_address = std::net::IpAddr::from([127, 0, 0, 1]);
    config.admin_port = port;
    let server = TestKeeper::start_with(config).await;
    ferry_keeper::server::admin_http::spawn(&server.keeper).await;
    let admin = format!("127.0.0.1:{port}");
    let get = |path: &str| format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
    let monitor =
        String::from_utf8(exchange(&admin, get("/commands/monitor").as_bytes()).await).unwrap();
    assert!(monitor.starts_with("HTTP/1.1 200 OK"), "{monitor}");
    let body = monitor.split("\r\n\r\n").nth(1).unwrap();
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(json["command"], "monitor");
    assert_eq!(json["znode_count"], 4.0);
    assert_eq!(json["server_state"], "standalone");
    let metrics = String::from_utf8(exchange(&admin, get("/metrics").as_bytes()).await).unwrap();
    assert!(metrics.contains("\nznode_count 4\n"), "{metrics}");
    let missing =
        String::from_utf8(exchange(&admin, get("/commands/nope").as_bytes()).await).unwrap();
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
    server.stop().await;
}

#[tokio::test]
async fn hostile_clients_are_closed_and_others_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::support::test_config(dir.path());
    config.max_client_cnxns = 3;
    let server = TestKeeper::start_with(config).await;
    let address = &server.address;

    // A frame longer than jute.maxbuffer: closed without an answer.
    let oversized = (2 * 1024 * 1024i32).to_be_bytes();
    assert!(exchange(address, &oversized).await.is_empty());
    // A negative length: closed.
    assert!(exchange(address, &(-5i32).to_be_bytes()).await.is_empty());
    // A malformed handshake (a frame too short to be a ConnectRequest): closed.
    let mut garbage = Vec::new();
    write_frame(&mut garbage, &[1, 2, 3]);
    assert!(exchange(address, &garbage).await.is_empty());
    // A session whose next request is malformed: the handshake is answered, then closed.
    let mut bad_request = handshake();
    write_frame(&mut bad_request, &[0, 0, 0, 1, 0, 0, 0, 1, 0xff, 0xff]);
    let answer = exchange(address, &bad_request).await;
    assert_eq!(answer.len(), 4 + 37, "only the handshake's answer");

    // A client that connects and says nothing is closed after the sessionless timeout.
    let mut silent = TcpStream::connect(address).await.unwrap();
    let mut nothing = Vec::new();
    let closed =
        tokio::time::timeout(Duration::from_secs(5), silent.read_to_end(&mut nothing)).await;
    assert!(
        closed.is_ok() && nothing.is_empty(),
        "a silent client is closed"
    );

    // Too many connections from one address: the fourth is closed at once.
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream.write_all(&handshake()).await.unwrap();
        let mut prefix = [0u8; 4];
        stream.read_exact(&mut prefix).await.unwrap();
        held.push(stream);
    }
    assert!(exchange(address, &handshake()).await.is_empty());
    drop(held);

    // The server still serves everyone else.
    let client = zookeeper_client::Client::connector()
        .with_session_timeout(Duration::from_secs(2))
        .connect(address)
        .await
        .unwrap();
    let open =
        zookeeper_client::CreateMode::Persistent.with_acls(zookeeper_client::Acls::anyone_all());
    client.create("/alive", b"", &open).await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn cons_and_srvr_count_packets() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestKeeper::start(dir.path()).await;
    let client = zookeeper_client::Client::connector()
        .with_session_timeout(Duration::from_secs(2))
        .connect(&server.address)
        .await
        .unwrap();
    for _ in 0..3 {
        client.check_stat("/").await.unwrap();
    }
    let cons = four_letter(&server.address, "cons").await;
    let line = cons
        .lines()
        .find(|l| l.contains(&format!("sid=0x{:x}", client.session_id().0)))
        .unwrap_or_else(|| panic!("the client's connection is listed: {cons}"));
    let received: u64 = line
        .split("recved=")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(received >= 3, "{line}");
    let srvr = four_letter(&server.address, "srvr").await;
    let sent: u64 = srvr
        .lines()
        .find_map(|l| l.strip_prefix("Sent: "))
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(sent >= 3, "{srvr}");
    assert!(srvr.contains("Outstanding: 0"), "{srvr}");
    server.stop().await;
}
