//! The echo endpoint and its options.

mod common;

use std::time::{Duration, Instant};

use common::*;
use futures_util::SinkExt;
use testkit::{Ending, Frame, TestServer};
use tokio_tungstenite::tungstenite::{Bytes, Message};

#[tokio::test]
async fn echoes_text_and_binary_and_records_them() {
    let server = TestServer::start().await.expect("server starts");
    let mut client = connect(&server.ws_url("/ws")).await;
    send_text(&mut client, "hello").await;
    assert_eq!(
        next_message(&mut client).await,
        Some(Message::text("hello"))
    );
    let binary = Message::Binary(Bytes::from_static(&[0, 1, 2, 255]));
    within("send", client.send(binary.clone()))
        .await
        .expect("send");
    assert_eq!(next_message(&mut client).await, Some(binary));
    close_properly(client).await;
    server
        .wait_until(STEP, |s| {
            s.connections().first().is_some_and(|c| c.ending.is_some())
        })
        .await
        .expect("the connection ends");
    let record = &server.connections()[0];
    assert_eq!(record.path, "/ws");
    assert_eq!(record.query, "");
    assert_eq!(
        record.received,
        vec![
            Frame::Text("hello".into()),
            Frame::Binary(vec![0, 1, 2, 255])
        ]
    );
    assert_eq!(record.frames_out, 2);
    let stats = server.stats();
    assert_eq!((stats.frames_in, stats.frames_out), (2, 2));
}

#[tokio::test]
async fn two_connections_are_counted() {
    let server = TestServer::start().await.expect("server starts");
    let mut a = connect(&server.ws_url("/ws")).await;
    let mut b = connect(&server.ws_url("/ws?delay_ms=1")).await;
    send_text(&mut a, "a").await;
    send_text(&mut b, "b").await;
    next_message(&mut a).await;
    next_message(&mut b).await;
    let stats = server.stats();
    assert_eq!((stats.connections_open, stats.connections_total), (2, 2));
    close_properly(a).await;
    server
        .wait_until(STEP, |s| s.stats().connections_open == 1)
        .await
        .expect("one connection left");
    assert_eq!(server.stats().connections_total, 2);
    let records = server.connections();
    assert_eq!(records.len(), 2);
    assert_eq!(records[1].query, "delay_ms=1");
    drop(b);
}

#[tokio::test]
async fn delay_ms_delays_each_echo() {
    let server = TestServer::start().await.expect("server starts");
    let mut client = connect(&server.ws_url("/ws?delay_ms=150")).await;
    let started = Instant::now();
    send_text(&mut client, "slow").await;
    assert_eq!(next_message(&mut client).await, Some(Message::text("slow")));
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "echo came too early"
    );
}

#[tokio::test]
async fn close_after_echoes_then_closes_with_code_and_reason() {
    let server = TestServer::start().await.expect("server starts");
    let mut client = connect(&server.ws_url("/ws?close_after=2&code=4000&reason=enough")).await;
    send_text(&mut client, "1").await;
    send_text(&mut client, "2").await;
    assert_eq!(next_message(&mut client).await, Some(Message::text("1")));
    assert_eq!(next_message(&mut client).await, Some(Message::text("2")));
    assert_eq!(expect_close(&mut client).await, (4000, "enough".to_owned()));
    let end = within("end", futures_util::StreamExt::next(&mut client)).await;
    assert!(
        end.is_none(),
        "the stream ends after the close handshake, got {end:?}"
    );
    drop(client);
    server
        .wait_until(STEP, |s| s.connections()[0].ending.is_some())
        .await
        .expect("the connection ends");
    let record = &server.connections()[0];
    assert_eq!(record.ending, Some(Ending::Clean));
    assert_eq!(record.close_sent.as_ref().map(|c| c.code), Some(4000));
    assert_eq!(record.close_frames_received, 1);
    assert_eq!(record.data_after_close, 0);
}

#[tokio::test]
async fn drop_every_skips_every_nth_echo_but_records_it() {
    let server = TestServer::start().await.expect("server starts");
    let mut client = connect(&server.ws_url("/ws?drop_every=2")).await;
    for text in ["1", "2", "3", "4", "5"] {
        send_text(&mut client, text).await;
    }
    for expected in ["1", "3", "5"] {
        assert_eq!(
            next_message(&mut client).await,
            Some(Message::text(expected))
        );
    }
    server
        .wait_until(STEP, |s| s.stats().frames_in == 5)
        .await
        .expect("all five recorded");
    assert_eq!(server.stats().frames_out, 3);
}

#[tokio::test]
async fn echo_false_swallows_data() {
    let server = TestServer::start().await.expect("server starts");
    let mut client = connect(&server.ws_url("/ws?echo=false")).await;
    send_text(&mut client, "gone").await;
    server
        .wait_until(STEP, |s| s.stats().frames_in == 1)
        .await
        .expect("received");
    // A ping is answered in order, so its pong proves no echo was queued before it.
    within("ping", client.send(Message::Ping(Bytes::from_static(b"p"))))
        .await
        .expect("ping");
    let reply = within("pong", futures_util::StreamExt::next(&mut client)).await;
    assert!(matches!(reply, Some(Ok(Message::Pong(_)))), "got {reply:?}");
    assert_eq!(server.stats().frames_out, 0);
    assert_eq!(server.connections()[0].client_pings, 1);
}

#[tokio::test]
async fn ping_ms_pings_and_matches_pongs() {
    let server = TestServer::start().await.expect("server starts");
    let mut client = connect(&server.ws_url("/ws?ping_ms=20&echo=false")).await;
    // Reading lets tokio-tungstenite answer the pings.
    let reader =
        async { while let Some(Ok(_)) = futures_util::StreamExt::next(&mut client).await {} };
    tokio::select! {
        () = reader => panic!("the connection ended"),
        waited = server.wait_until(STEP, |s| s.connections()[0].pongs_received >= 3) => {
            waited.expect("three pongs arrive");
        }
    }
    let record = &server.connections()[0];
    assert!(record.pings_sent >= 3);
    assert!(
        record
            .max_pong_delay
            .is_some_and(|d| d < Duration::from_secs(1))
    );
    assert_eq!(record.late_pongs, 0);
}

#[tokio::test]
async fn silent_after_goes_half_open() {
    let server = TestServer::start().await.expect("server starts");
    let mut client = connect(&server.ws_url("/ws?silent_after=1&ping_ms=20")).await;
    send_text(&mut client, "last").await;
    assert_eq!(next_message(&mut client).await, Some(Message::text("last")));
    send_text(&mut client, "ignored").await;
    within("ping", client.send(Message::Ping(Bytes::from_static(b"?"))))
        .await
        .expect("ping");
    let silence = tokio::time::timeout(
        Duration::from_millis(300),
        futures_util::StreamExt::next(&mut client),
    )
    .await;
    assert!(
        silence.is_err(),
        "the server must stay silent, got {silence:?}"
    );
    assert_eq!(server.stats().connections_open, 1, "TCP stays open");
    assert_eq!(server.stats().frames_in, 1, "the server stopped reading");
}

#[tokio::test]
async fn bad_options_are_400_naming_the_option() {
    let server = TestServer::start().await.expect("server starts");
    let addr = server.addr();
    let response = http_raw(addr, upgrade_request(addr, "/ws?delay_ms=soon").as_bytes()).await;
    assert_eq!(response.status, 400);
    assert!(response.text().contains("delay_ms"), "{}", response.text());
    let response = http_raw(addr, upgrade_request(addr, "/ws?colour=red").as_bytes()).await;
    assert_eq!(response.status, 400);
    assert!(response.text().contains("colour"), "{}", response.text());
    assert_eq!(server.stats().rejected, 2);
    assert_eq!(server.stats().connections_total, 0);
}

#[tokio::test]
async fn plain_get_on_a_websocket_path_is_426() {
    let server = TestServer::start().await.expect("server starts");
    let response = http_get(server.addr(), "/ws").await;
    assert_eq!(response.status, 426);
    assert!(
        response.text().contains("WebSocket client"),
        "{}",
        response.text()
    );
}

#[tokio::test]
async fn wait_until_times_out_with_err() {
    let server = TestServer::start().await.expect("server starts");
    let result = server
        .wait_until(Duration::from_millis(50), |s| s.stats().frames_in > 0)
        .await;
    assert!(result.is_err());
    assert!(
        result
            .err()
            .is_some_and(|e| e.to_string().contains("not met"))
    );
}
