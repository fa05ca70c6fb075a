//! Closing: server-initiated closes, the token check, and what the server
//! records about a client's close handshake (unit 01's checks rely on it).

mod common;

use std::time::Duration;

use common::*;
use futures_util::{SinkExt, StreamExt};
use testkit::{CloseRecord, Ending, TestServer, UNAUTHORIZED_CLOSE_CODE, UNAUTHORIZED_REASON};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

async fn wait_for_ending(server: &TestServer, index: usize) -> testkit::ConnectionRecord {
    server
        .wait_until(STEP, |s| {
            s.connections()
                .get(index)
                .is_some_and(|c| c.ending.is_some())
        })
        .await
        .expect("the connection ends");
    server.connections()[index].clone()
}

#[tokio::test]
async fn ws_close_closes_with_the_given_code_and_reason() {
    let server = TestServer::start().await.expect("server starts");
    let mut client = connect(&server.ws_url("/ws/close?code=4001&reason=go%20away")).await;
    assert_eq!(
        expect_close(&mut client).await,
        (4001, "go away".to_owned())
    );
    // Reading on flushes tokio-tungstenite's queued Close reply.
    while let Some(Ok(_)) = within("read", client.next()).await {}
    drop(client);
    let record = wait_for_ending(&server, 0).await;
    assert_eq!(record.ending, Some(Ending::Clean));
    assert_eq!(
        record.close_received.map(|c| c.code),
        Some(4001),
        "the client echoes the code"
    );
}

#[tokio::test]
async fn ws_close_after_ms_waits_first() {
    let server = TestServer::start().await.expect("server starts");
    let started = std::time::Instant::now();
    let mut client = connect(&server.ws_url("/ws/close?after_ms=150")).await;
    assert_eq!(expect_close(&mut client).await, (1000, String::new()));
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn auth_accepts_a_valid_token_by_query_or_header() {
    let server = TestServer::start().await.expect("server starts");
    let mut client = connect(&server.ws_url("/ws/auth?token=let-me-in&delay_ms=1")).await;
    send_text(&mut client, "hi").await;
    assert_eq!(next_message(&mut client).await, Some(Message::text("hi")));

    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = server
        .ws_url("/ws/auth")
        .into_client_request()
        .expect("a valid request");
    request.headers_mut().insert(
        "authorization",
        "Bearer let-me-in".parse().expect("a valid header"),
    );
    let (mut client, _) = within("connect", tokio_tungstenite::connect_async(request))
        .await
        .expect("handshake");
    send_text(&mut client, "hey").await;
    assert_eq!(next_message(&mut client).await, Some(Message::text("hey")));
}

#[tokio::test]
async fn auth_refuses_a_missing_or_wrong_token_with_4401() {
    let server = TestServer::start().await.expect("server starts");
    for path in ["/ws/auth", "/ws/auth?token=nope"] {
        let mut client = connect(&server.ws_url(path)).await;
        let (code, reason) = expect_close(&mut client).await;
        assert_eq!(
            (code, reason.as_str()),
            (UNAUTHORIZED_CLOSE_CODE, UNAUTHORIZED_REASON)
        );
    }
}

#[tokio::test]
async fn a_correct_client_close_is_clean_and_sends_1000() {
    let server = TestServer::start().await.expect("server starts");
    let client = connect(&server.ws_url("/ws?close_reply_delay_ms=200")).await;
    close_properly(client).await;
    let record = wait_for_ending(&server, 0).await;
    assert_eq!(record.ending, Some(Ending::Clean));
    assert_eq!(
        record.close_received,
        Some(CloseRecord {
            code: 1000,
            reason: "bye".into()
        })
    );
    assert_eq!(record.close_sent.map(|c| c.code), Some(1000));
    assert!(record.close_reply_sent);
    assert_eq!(record.close_frames_received, 1);
}

#[tokio::test]
async fn dropping_the_socket_before_the_delayed_reply_is_reset() {
    let server = TestServer::start().await.expect("server starts");
    let mut client = connect(&server.ws_url("/ws?close_reply_delay_ms=200")).await;
    let frame = CloseFrame {
        code: 1000.into(),
        reason: "".into(),
    };
    within("send Close", client.send(Message::Close(Some(frame))))
        .await
        .expect("send");
    drop(client);
    let record = wait_for_ending(&server, 0).await;
    assert_eq!(record.ending, Some(Ending::Reset));
    assert_eq!(record.close_received.map(|c| c.code), Some(1000));
}

#[tokio::test]
async fn an_empty_close_is_recorded_as_1005() {
    let server = TestServer::start().await.expect("server starts");
    let mut client = connect(&server.ws_url("/ws")).await;
    // `SinkExt::close` sends a Close without a status code: the lesson of unit 01.
    within("close", SinkExt::close(&mut client))
        .await
        .expect("close");
    while let Some(Ok(_)) = within("read", client.next()).await {}
    drop(client);
    let record = wait_for_ending(&server, 0).await;
    assert_eq!(record.close_received.map(|c| c.code), Some(1005));
    assert_eq!(record.close_sent.map(|c| c.code), Some(1005));
}

#[tokio::test]
async fn disappearing_without_close_is_no_close_frame() {
    let server = TestServer::start().await.expect("server starts");
    let mut client = connect(&server.ws_url("/ws")).await;
    send_text(&mut client, "x").await;
    next_message(&mut client).await;
    drop(client);
    let record = wait_for_ending(&server, 0).await;
    assert!(
        matches!(record.ending, Some(Ending::NoCloseFrame | Ending::Reset)),
        "{:?}",
        record.ending
    );
    assert_eq!(record.close_received, None);
}

#[tokio::test]
async fn a_second_close_and_data_after_close_are_counted() {
    let server = TestServer::start().await.expect("server starts");
    let addr = server.addr();
    let mut stream = within("connect", tokio::net::TcpStream::connect(addr))
        .await
        .expect("tcp");
    use tokio::io::AsyncWriteExt;
    let request = upgrade_request(addr, "/ws?close_reply_delay_ms=100");
    within("write", stream.write_all(request.as_bytes()))
        .await
        .expect("write");
    let response = within("handshake", read_response(&mut stream)).await;
    assert_eq!(response.status, 101);
    // Masked frames (all-zero mask): Close(1000), Close(1000), Text "late".
    let mut frames = Vec::new();
    frames.extend([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]);
    frames.extend([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]);
    frames.extend([0x81, 0x84, 0, 0, 0, 0, b'l', b'a', b't', b'e']);
    within("write frames", stream.write_all(&frames))
        .await
        .expect("write");
    let record = wait_for_ending(&server, 0).await;
    drop(stream);
    assert_eq!(record.close_frames_received, 2);
    assert_eq!(record.data_after_close, 1);
}
