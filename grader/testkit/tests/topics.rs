//! `/ws/topics`: subscriptions belong to a connection, and a new connection
//! starts with none (what unit 06's resubscription check relies on).

mod common;

use std::time::Duration;

use common::*;
use testkit::TestServer;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn only_subscribers_of_a_topic_receive_it() {
    let server = TestServer::start().await.expect("server starts");
    let mut news = connect(&server.ws_url("/ws/topics")).await;
    let mut other = connect(&server.ws_url("/ws/topics")).await;
    send_text(&mut news, "subscribe news").await;
    send_text(&mut other, "subscribe weather").await;
    server
        .wait_until(STEP, |s| s.stats().frames_in == 2)
        .await
        .expect("both subscriptions arrive");
    send_text(&mut other, "publish news from a client").await;
    server
        .wait_until(STEP, |s| s.stats().frames_in == 3)
        .await
        .expect("the client's publish arrives");
    server.publish("weather", "sunny");
    server.publish("news", "from the server");
    assert_eq!(
        next_message(&mut news).await,
        Some(Message::text("news from a client"))
    );
    assert_eq!(
        next_message(&mut news).await,
        Some(Message::text("news from the server"))
    );
    assert_eq!(
        next_message(&mut other).await,
        Some(Message::text("weather sunny"))
    );
    send_text(&mut news, "unsubscribe news").await;
    send_text(&mut news, "subscribe sports").await;
    server
        .wait_until(STEP, |s| s.stats().frames_in == 5)
        .await
        .expect("the requests arrive");
    server.publish("news", "missed");
    server.publish("sports", "goal");
    assert_eq!(
        next_message(&mut news).await,
        Some(Message::text("sports goal")),
        "an unsubscribed topic is not delivered"
    );
}

#[tokio::test]
async fn a_new_connection_starts_without_subscriptions_and_close_after_closes() {
    let server = TestServer::start().await.expect("server starts");
    let url = server.ws_url("/ws/topics?close_after=2");
    let mut first = connect(&url).await;
    send_text(&mut first, "subscribe news").await;
    send_text(&mut first, "hello").await;
    assert_eq!(expect_close(&mut first).await, (1000, String::new()));
    // Reading on sends tungstenite's queued Close reply, then the stream ends.
    assert_eq!(next_message(&mut first).await, None);
    let mut second = connect(&url).await;
    server
        .wait_until(STEP, |s| s.stats().connections_open == 1)
        .await
        .expect("the first connection has ended");
    server.publish("news", "forgotten");
    let heard = tokio::time::timeout(Duration::from_millis(200), next_message(&mut second)).await;
    assert!(
        heard.is_err(),
        "a new connection is subscribed to nothing, got {heard:?}"
    );
    let error = http_raw(
        server.addr(),
        b"GET /ws/topics?bogus=1 HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await;
    assert!(error.text().contains("bogus"), "{}", error.text());
}
