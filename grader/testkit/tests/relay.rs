//! The idle-cutting relay: forwards a WebSocket conversation unchanged, cuts
//! a silent connection after its limit, and keeps a busy one.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use testkit::{IdleCutRelay, TestServer};
use tokio_tungstenite::tungstenite::Message;

const LIMIT: Duration = Duration::from_secs(5);

async fn echo_once(
    socket: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    text: &str,
) {
    socket
        .send(Message::text(text))
        .await
        .expect("send through the relay");
    let reply = tokio::time::timeout(LIMIT, socket.next())
        .await
        .expect("an echo within the limit")
        .expect("the stream is open")
        .expect("a message");
    assert_eq!(reply, Message::text(text));
}

#[tokio::test]
async fn relays_and_cuts_a_silent_connection() {
    let server = TestServer::start().await.expect("server");
    let relay = IdleCutRelay::start(server.addr(), Duration::from_millis(300))
        .await
        .expect("relay");
    let (mut socket, _) = tokio_tungstenite::connect_async(relay.ws_url("/ws"))
        .await
        .expect("the handshake passes through the relay");
    echo_once(&mut socket, "through").await;
    assert_eq!(relay.accepted(), 1);
    // Silence: the relay cuts, the client sees the stream end without Close.
    let end = tokio::time::timeout(LIMIT, socket.next())
        .await
        .expect("the relay cuts within the limit");
    assert!(
        !matches!(end, Some(Ok(Message::Close(_)))),
        "a cut is not a Close frame: {end:?}"
    );
    assert_eq!(relay.cuts(), 1);
}

#[tokio::test]
async fn traffic_keeps_a_connection() {
    let server = TestServer::start().await.expect("server");
    // Real time: traffic every 100 ms against a 500 ms cut leaves 400 ms for
    // a busy machine's scheduling, and the ten ticks (1 s) outlast the cut
    // twice, so a relay that ignored traffic would have cut.
    let idle_cut = Duration::from_millis(500);
    let relay = IdleCutRelay::start(server.addr(), idle_cut)
        .await
        .expect("relay");
    let (mut socket, _) = tokio_tungstenite::connect_async(relay.ws_url("ws"))
        .await
        .expect("handshake");
    for n in 0..10 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        echo_once(&mut socket, &format!("tick {n}")).await;
    }
    assert_eq!(
        relay.cuts(),
        0,
        "a connection with traffic every 100 ms is not cut after {idle_cut:?} of silence"
    );
    assert_eq!(server.stats().connections_total, 1);
}
