//! Limits and bad input: message size (also fragmented), the connection
//! limit, the handshake timeout, garbage.

mod common;

use std::time::{Duration, Instant};

use common::*;
use futures_util::SinkExt;
use testkit::{Config, Ending, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::Frame as WireFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::{Bytes, Message};

const KIB: usize = 1024;

/// Sends `total` bytes as one binary message in `pieces` fragments.
async fn send_fragmented(client: &mut Client, total: usize, pieces: usize) {
    let size = total / pieces;
    for index in 0..pieces {
        let opcode = if index == 0 {
            OpCode::Data(Data::Binary)
        } else {
            OpCode::Data(Data::Continue)
        };
        let last = index + 1 == pieces;
        let frame = WireFrame::message(Bytes::from(vec![7u8; size]), opcode, last);
        within("send fragment", client.send(Message::Frame(frame)))
            .await
            .expect("sending a fragment succeeds");
    }
}

async fn expect_binary_len(client: &mut Client, len: usize) {
    match next_message(client).await {
        Some(Message::Binary(bytes)) => assert_eq!(bytes.len(), len),
        other => panic!("expected a binary echo, got {other:?}"),
    }
}

async fn expect_too_big(server: &TestServer, client: &mut Client) {
    assert_eq!(expect_close(client).await.0, 1009);
    server
        .wait_until(STEP, |s| s.connections()[0].ending.is_some())
        .await
        .expect("the connection ends");
    assert_eq!(server.connections()[0].ending, Some(Ending::TooBig));
}

#[tokio::test]
async fn a_message_under_the_limit_is_echoed_whole_also_in_fragments() {
    let server = TestServer::start().await.expect("server starts");
    let mut client = connect_big(&server.ws_url("/ws")).await;
    let whole = Message::Binary(Bytes::from(vec![1u8; 900 * KIB]));
    within("send", client.send(whole)).await.expect("send");
    expect_binary_len(&mut client, 900 * KIB).await;
    send_fragmented(&mut client, 900 * KIB, 30).await;
    expect_binary_len(&mut client, 900 * KIB).await;
}

#[tokio::test]
async fn a_message_over_the_limit_in_one_frame_gets_1009() {
    let server = TestServer::start().await.expect("server starts");
    let mut client = connect_big(&server.ws_url("/ws")).await;
    let big = Message::Binary(Bytes::from(vec![1u8; 2 * 1024 * KIB]));
    within("send", client.send(big)).await.expect("send");
    expect_too_big(&server, &mut client).await;
}

#[tokio::test]
async fn a_message_over_the_limit_in_64_fragments_gets_1009() {
    let server = TestServer::start().await.expect("server starts");
    let mut client = connect_big(&server.ws_url("/ws")).await;
    send_fragmented(&mut client, 2 * 1024 * KIB, 64).await;
    expect_too_big(&server, &mut client).await;
}

#[tokio::test]
async fn over_max_connections_gets_503_and_others_keep_working() {
    let config = Config {
        max_connections: 2,
        ..Config::default()
    };
    let server = TestServer::start_with(config).await.expect("server starts");
    let mut a = connect(&server.ws_url("/ws")).await;
    let mut b = connect(&server.ws_url("/ws")).await;
    let third = within(
        "connect",
        tokio_tungstenite::connect_async(server.ws_url("/ws")),
    )
    .await;
    match third {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503);
        }
        other => panic!("expected HTTP 503, got {:?}", other.map(|_| "a connection")),
    }
    assert_eq!(server.stats().rejected, 1);
    for client in [&mut a, &mut b] {
        send_text(client, "still here").await;
        assert_eq!(
            next_message(client).await,
            Some(Message::text("still here"))
        );
    }
    close_properly(a).await;
    server
        .wait_until(STEP, |s| s.stats().connections_open == 1)
        .await
        .expect("a slot frees up");
    let mut c = connect(&server.ws_url("/ws")).await;
    send_text(&mut c, "in").await;
    assert_eq!(next_message(&mut c).await, Some(Message::text("in")));
}

#[tokio::test]
async fn a_silent_or_half_request_is_dropped_after_the_handshake_timeout() {
    let config = Config {
        handshake_timeout: Duration::from_millis(200),
        ..Config::default()
    };
    let server = TestServer::start_with(config).await.expect("server starts");
    for sent in [&b""[..], b"GET /ws HTTP/1.1\r\nHost: x\r\n"] {
        let started = Instant::now();
        let mut stream = within("connect", TcpStream::connect(server.addr()))
            .await
            .expect("tcp");
        within("write", stream.write_all(sent))
            .await
            .expect("write");
        let mut rest = Vec::new();
        // Ends with EOF (or a reset): either way the server let go.
        let _ = within("server drops us", stream.read_to_end(&mut rest)).await;
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(150),
            "dropped too early: {waited:?}"
        );
        assert!(
            waited < Duration::from_secs(2),
            "dropped too late: {waited:?}"
        );
    }
    server
        .wait_until(STEP, |s| s.stats().rejected == 2)
        .await
        .expect("both counted as rejected");
}

#[tokio::test]
async fn garbage_gets_400_and_does_not_disturb_others() {
    let server = TestServer::start().await.expect("server starts");
    let mut client = connect(&server.ws_url("/ws")).await;
    let response = http_raw(server.addr(), b"\x16\x03\x01garbage\r\n\r\n").await;
    assert_eq!(response.status, 400);
    send_text(&mut client, "fine").await;
    assert_eq!(next_message(&mut client).await, Some(Message::text("fine")));
    let mut other = connect(&server.ws_url("/ws")).await;
    send_text(&mut other, "also fine").await;
    assert_eq!(
        next_message(&mut other).await,
        Some(Message::text("also fine"))
    );
}

#[tokio::test]
async fn a_bad_handshake_is_400() {
    let server = TestServer::start().await.expect("server starts");
    let addr = server.addr();
    let request = upgrade_request(addr, "/ws")
        .replace("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8");
    let response = http_raw(addr, request.as_bytes()).await;
    assert_eq!(response.status, 400);
    assert!(response.text().contains("Version"), "{}", response.text());
    assert_eq!(server.stats().rejected, 1);
}

#[tokio::test]
async fn malformed_frames_get_1002_and_a_protocol_error() {
    let server = TestServer::start().await.expect("server starts");
    let addr = server.addr();
    let mut stream = within("connect", TcpStream::connect(addr))
        .await
        .expect("tcp");
    within(
        "write",
        stream.write_all(upgrade_request(addr, "/ws").as_bytes()),
    )
    .await
    .expect("write");
    assert_eq!(
        within("handshake", read_response(&mut stream)).await.status,
        101
    );
    // An unmasked frame from a client is a protocol error (RFC 6455 §5.1).
    within("write", stream.write_all(&[0x81, 0x02, b'h', b'i']))
        .await
        .expect("write");
    let mut reply = [0u8; 4];
    within("read Close", stream.read_exact(&mut reply))
        .await
        .expect("a Close frame");
    assert_eq!(reply[0], 0x88);
    assert_eq!(u16::from_be_bytes([reply[2], reply[3]]), 1002);
    drop(stream);
    server
        .wait_until(STEP, |s| s.connections()[0].ending.is_some())
        .await
        .expect("the connection ends");
    assert!(matches!(
        server.connections()[0].ending,
        Some(Ending::ProtocolError(_))
    ));
    let mut client = connect(&server.ws_url("/ws")).await;
    send_text(&mut client, "ok").await;
    assert_eq!(next_message(&mut client).await, Some(Message::text("ok")));
}
