//! Visible checks of unit 06, for the first tasks: one shared connection per
//! URL, and every subscriber receiving what the server sends. Run them with
//! `cargo test`; `cargo grade 06` runs these and the hidden checks.

use std::time::Duration;

use checkkit::within;
use manager::{Event, Manager, ManagerOptions};
use testkit::TestServer;

checkkit::checks! {
    two_connects_share_one_socket,
    every_subscriber_receives_every_message,
}

/// Generous for anything on loopback.
const WAIT: Duration = Duration::from_secs(5);

async fn two_connects_share_one_socket() {
    let server = TestServer::start()
        .await
        .expect("the testkit server starts");
    let url = server.ws_url("/ws");
    let manager = Manager::new(ManagerOptions::default());
    let first = within(WAIT, "the first connect", manager.connect(&url))
        .await
        .expect("connect to the testkit server succeeds (chapter 06, \"Task 1: One connection per URL\")");
    let second = within(WAIT, "the second connect", manager.clone().connect(&url))
        .await
        .expect("a second connect to the same URL succeeds (chapter 06, \"Task 1: One connection per URL\")");
    assert_eq!(
        server.stats().connections_total,
        1,
        "two connects to the same URL must share one socket, but the server saw {} (chapter 06, \"Task 1: One connection per URL\")",
        server.stats().connections_total
    );
    let stats = manager.stats(&url).expect(
        "stats(url) of a connected URL is Some (chapter 06, \"Task 1: One connection per URL\")",
    );
    assert!(
        stats.is_connected && !stats.is_connecting,
        "after connect returned, stats must say connected and not connecting, got {stats:?} (chapter 06, \"Task 1: One connection per URL\")"
    );
    assert_eq!(
        stats.subscriber_count, 2,
        "two subscriptions are alive, stats said {} (chapter 06, \"Task 1: One connection per URL\")",
        stats.subscriber_count
    );
    drop((first, second));
}

async fn every_subscriber_receives_every_message() {
    let server = TestServer::start()
        .await
        .expect("the testkit server starts");
    let url = server.ws_url("/ws");
    let manager = Manager::new(ManagerOptions::default());
    let mut alice = within(WAIT, "connect", manager.connect(&url))
        .await
        .expect("connect succeeds (chapter 06, \"Task 1: One connection per URL\")");
    let mut bob = within(WAIT, "connect", manager.connect(&url))
        .await
        .expect("connect succeeds (chapter 06, \"Task 1: One connection per URL\")");
    for text in ["one", "two", "three"] {
        within(WAIT, "send_text", alice.send_text(text))
            .await
            .expect("send_text on an open connection succeeds (chapter 06, \"Task 4: Sending through the one writer\")");
    }
    for (name, subscriber) in [
        ("the sender", &mut alice),
        ("the other subscriber", &mut bob),
    ] {
        for text in ["one", "two", "three"] {
            let event = within(WAIT, "an echoed message", subscriber.next_event()).await;
            assert_eq!(
                event,
                Some(Event::Text(text.to_owned())),
                "{name} must receive every echo, in order (chapter 06, \"Task 2: Fan-out and slow subscribers\")"
            );
        }
    }
}
