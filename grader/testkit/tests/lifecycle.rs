//! Starting, stopping, and the helper listeners.

mod common;

use std::time::Duration;

use common::*;
use futures_util::StreamExt;
use testkit::{Ending, SilentListener, TestServer, refused_addr};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

#[tokio::test]
async fn shutdown_sends_1001_to_every_client_and_leaves_nothing() {
    let server = TestServer::start().await.expect("server starts");
    let probe = server.probe();
    let mut clients = Vec::new();
    for path in ["/ws", "/ws?ping_ms=50", "/ws/room/a", "/ws?silent_after=0"] {
        clients.push(connect(&server.ws_url(path)).await);
    }
    // An idle HTTP connection must not hold the shutdown up either.
    let _idle_http = TcpStream::connect(server.addr()).await.expect("tcp");
    server
        .wait_until(STEP, |s| s.stats().connections_open == 4)
        .await
        .expect("all open");
    let readers = clients.into_iter().take(3).map(|mut client| {
        tokio::spawn(async move {
            let close = expect_close(&mut client).await;
            while let Some(Ok(_)) = within("read", client.next()).await {}
            close
        })
    });
    let readers: Vec<_> = readers.collect();
    within("shutdown", server.shutdown()).await;
    assert_eq!(probe.live_tasks(), 0);
    for reader in readers {
        let (code, reason) = within("client", reader).await.expect("reader task");
        assert_eq!((code, reason.as_str()), (1001, "server shutting down"));
    }
    assert_eq!(probe.stats().connections_open, 0);
    let endings: Vec<_> = probe.connections().into_iter().map(|c| c.ending).collect();
    assert_eq!(endings, vec![Some(Ending::ServerShutdown); 4]);
}

#[tokio::test]
async fn drop_stops_everything() {
    let server = TestServer::start().await.expect("server starts");
    let probe = server.probe();
    let addr = server.addr();
    let mut client = connect(&server.ws_url("/ws")).await;
    send_text(&mut client, "x").await;
    next_message(&mut client).await;
    drop(server);
    assert!(probe.wait_stopped(STEP).await, "tasks left after drop");
    assert_eq!(probe.live_tasks(), 0);
    let end = within("client sees the end", client.next()).await;
    assert!(!matches!(end, Some(Ok(_))), "got {end:?}");
    assert!(TcpStream::connect(addr).await.is_err(), "still accepting");
}

#[tokio::test]
async fn refused_addr_refuses() {
    let addr = refused_addr().await;
    let error = TcpStream::connect(addr).await.expect_err("nothing listens");
    assert_eq!(error.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[tokio::test]
async fn silent_listener_accepts_and_never_answers() {
    let listener = SilentListener::start().await.expect("listener starts");
    assert!(listener.ws_url().starts_with("ws://127.0.0.1:"));
    let mut stream = TcpStream::connect(listener.addr()).await.expect("accepted");
    let connect = tokio::time::timeout(
        Duration::from_millis(200),
        tokio_tungstenite::connect_async(listener.ws_url()),
    )
    .await;
    assert!(connect.is_err(), "the handshake must hang");
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_millis(50), stream.read(&mut byte)).await;
    assert!(read.is_err(), "no byte ever comes");
    assert_eq!(listener.accepted(), 2);
}
