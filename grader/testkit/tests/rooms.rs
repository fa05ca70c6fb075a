//! Broadcast rooms.

mod common;

use common::*;
use futures_util::SinkExt;
use testkit::{Config, Ending, ROOM_WRITE_TIMEOUT, TestServer};
use tokio_tungstenite::tungstenite::{Bytes, Message};

#[tokio::test]
async fn members_get_every_message_in_one_order() {
    let server = TestServer::start().await.expect("server starts");
    let mut a = connect(&server.ws_url("/ws/room/lobby")).await;
    let mut b = connect(&server.ws_url("/ws/room/lobby")).await;
    let mut elsewhere = connect(&server.ws_url("/ws/room/other")).await;
    for i in 0..5 {
        send_text(&mut a, &format!("a{i}")).await;
        send_text(&mut b, &format!("b{i}")).await;
    }
    let mut seen_a = Vec::new();
    let mut seen_b = Vec::new();
    for _ in 0..10 {
        seen_a.push(next_message(&mut a).await);
        seen_b.push(next_message(&mut b).await);
    }
    assert_eq!(seen_a, seen_b, "one order for all members");
    assert!(
        seen_a.contains(&Some(Message::text("a4"))),
        "the sender gets its own"
    );
    send_text(&mut elsewhere, "alone").await;
    assert_eq!(
        next_message(&mut elsewhere).await,
        Some(Message::text("alone"))
    );
    let record = &server.connections()[0];
    assert_eq!(record.path, "/ws/room/lobby");
    assert_eq!(record.frames_out, 10);
}

#[tokio::test]
async fn a_member_that_does_not_read_is_closed_as_too_slow() {
    let config = Config {
        room_capacity: 16,
        ..Config::default()
    };
    let server = TestServer::start_with(config).await.expect("server starts");
    let mut fast = connect(&server.ws_url("/ws/room/busy")).await;
    let (_slow, buffer) = connect_slow(&server.ws_url("/ws/room/busy"), server.addr()).await;
    server
        .wait_until(STEP, |s| s.stats().connections_open == 2)
        .await
        .expect("both joined");
    const SIZE: usize = 64 * 1024;
    let payload = Bytes::from(vec![9u8; SIZE]);
    // More than the kernel's buffers on the way and the room's queue hold
    // on this machine (`checkkit::net`): the member lags for certain.
    let most = checkkit::net::messages_to_overflow(buffer, 16, SIZE as u64);
    let mut sent = 0u64;
    // Send (paced by our own copy) until the server gives up on the slow
    // member, or `most` were sent.
    while server.connections()[1].close_sent.is_none() && sent < most {
        within("send", fast.send(Message::Binary(payload.clone())))
            .await
            .expect("send");
        match next_message(&mut fast).await {
            Some(Message::Binary(bytes)) => assert_eq!(bytes.len(), payload.len()),
            other => panic!("the fast member must get every message, got {other:?}"),
        }
        sent += 1;
    }
    // A member stuck in a write notices only when the write gives up
    // (ROOM_WRITE_TIMEOUT) or when it next reads the room and finds it has
    // lagged; either way within the write timeout of the overflow.
    server
        .wait_until(ROOM_WRITE_TIMEOUT + STEP, |s| {
            s.connections()[1].close_sent.is_some()
        })
        .await
        .unwrap_or_else(|_| panic!("the slow member was never closed after {sent} messages"));
    let slow = &server.connections()[1];
    assert_eq!(
        slow.close_sent
            .as_ref()
            .map(|c| (c.code, c.reason.as_str())),
        Some((1008, "too slow"))
    );
    server
        .wait_until(STEP, |s| s.connections()[1].ending.is_some())
        .await
        .expect("the slow member's connection ends");
    assert_eq!(server.connections()[1].ending, Some(Ending::TooSlow));
    // The fast member is unaffected.
    send_text(&mut fast, "after").await;
    assert_eq!(next_message(&mut fast).await, Some(Message::text("after")));
}

#[tokio::test]
async fn room_options_and_names_are_checked() {
    let server = TestServer::start().await.expect("server starts");
    let addr = server.addr();
    let response = http_raw(
        addr,
        upgrade_request(addr, "/ws/room/x?delay_ms=1").as_bytes(),
    )
    .await;
    assert_eq!(response.status, 400);
    let long = format!("/ws/room/{}", "n".repeat(65));
    let response = http_raw(addr, upgrade_request(addr, &long).as_bytes()).await;
    assert_eq!(response.status, 400);
}
