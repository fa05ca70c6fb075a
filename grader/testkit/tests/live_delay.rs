//! `TestServer::set_delay`: changing the echo delay of open connections.

mod common;

use std::time::{Duration, Instant};

use common::*;
use testkit::TestServer;
use tokio_tungstenite::tungstenite::Message;

/// Sends one text and measures how long its echo takes.
async fn round_trip(client: &mut Client, text: &str) -> Duration {
    let start = Instant::now();
    send_text(client, text).await;
    assert_eq!(next_message(client).await, Some(Message::text(text)));
    start.elapsed()
}

#[tokio::test]
async fn set_delay_changes_open_connections_and_none_restores_delay_ms() {
    let server = TestServer::start().await.expect("server starts");
    let mut client = connect(&server.ws_url("/ws?delay_ms=10")).await;
    assert!(round_trip(&mut client, "own option").await >= Duration::from_millis(10));

    server.set_delay(Some(Duration::from_millis(300)));
    let slow = round_trip(&mut client, "overridden").await;
    assert!(slow >= Duration::from_millis(300), "took {slow:?}");

    // A connection opened while the override holds gets it too.
    let mut late = connect(&server.ws_url("/ws")).await;
    let slow = round_trip(&mut late, "new connection").await;
    assert!(slow >= Duration::from_millis(300), "took {slow:?}");

    server.set_delay(None);
    let fast = round_trip(&mut client, "restored").await;
    assert!(
        (Duration::from_millis(10)..Duration::from_millis(300)).contains(&fast),
        "took {fast:?}"
    );
    close_properly(client).await;
    close_properly(late).await;
}

#[tokio::test]
async fn a_shorter_delay_never_reorders_echoes() {
    let server = TestServer::start().await.expect("server starts");
    let mut client = connect(&server.ws_url("/ws?delay_ms=200")).await;
    send_text(&mut client, "first").await;
    server.set_delay(Some(Duration::ZERO));
    send_text(&mut client, "second").await;
    assert_eq!(
        next_message(&mut client).await,
        Some(Message::text("first"))
    );
    assert_eq!(
        next_message(&mut client).await,
        Some(Message::text("second"))
    );
    close_properly(client).await;
}
