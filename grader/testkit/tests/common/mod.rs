//! Helpers shared by the testkit's own tests: a WebSocket client, a raw
//! HTTP client, and a timeout around every wait.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The longest any single step of a test may take.
pub const STEP: Duration = Duration::from_secs(5);

pub type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Awaits `future`, panicking with `what` if it takes longer than [`STEP`].
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(STEP, future)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

pub async fn connect(url: &str) -> Client {
    let (client, _response) = within("connect", tokio_tungstenite::connect_async(url))
        .await
        .expect("the WebSocket handshake succeeds");
    client
}

/// A client that reads slowly or not at all, slow by construction: its
/// socket's receive buffer is made small before it connects, so whatever
/// the machine's `tcp_rmem` allows, what the server writes piles up on the
/// server's side. Returns the receive buffer the kernel granted.
pub async fn connect_slow(url: &str, addr: std::net::SocketAddr) -> (Client, u64) {
    let (tcp, granted) = within(
        "connect",
        checkkit::net::connect_with_small_receive_buffer(addr),
    )
    .await
    .expect("the TCP connection succeeds");
    let (client, _response) = within(
        "the handshake",
        tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(tcp)),
    )
    .await
    .expect("the WebSocket handshake succeeds");
    (client, granted)
}

/// A client that accepts big messages and frames (for the size tests).
pub async fn connect_big(url: &str) -> Client {
    let config = WebSocketConfig::default()
        .max_message_size(Some(64 << 20))
        .max_frame_size(Some(64 << 20));
    let (client, _response) = within(
        "connect",
        tokio_tungstenite::connect_async_with_config(url, Some(config), true),
    )
    .await
    .expect("the WebSocket handshake succeeds");
    client
}

/// The next data or close message, skipping pings and pongs.
pub async fn next_message(client: &mut Client) -> Option<Message> {
    loop {
        let message = within("next message", client.next()).await?;
        match message.expect("reading succeeds") {
            Message::Ping(_) | Message::Pong(_) => continue,
            other => return Some(other),
        }
    }
}

pub async fn send_text(client: &mut Client, text: &str) {
    within("send", client.send(Message::text(text)))
        .await
        .expect("sending succeeds");
}

/// Expects a Close frame next and returns (code, reason).
pub async fn expect_close(client: &mut Client) -> (u16, String) {
    match next_message(client).await {
        Some(Message::Close(Some(frame))) => (frame.code.into(), frame.reason.as_str().to_owned()),
        other => panic!("expected a Close frame, got {other:?}"),
    }
}

/// The correct client close: Close(1000), then read until the stream ends.
pub async fn close_properly(mut client: Client) {
    let frame = CloseFrame {
        code: 1000.into(),
        reason: "bye".into(),
    };
    within("send Close", client.send(Message::Close(Some(frame))))
        .await
        .expect("sending Close succeeds");
    while let Some(message) = within("read to the end", client.next()).await {
        if message.is_err() {
            break;
        }
    }
}

/// A raw HTTP/1.1 response.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    }
}

/// Sends `raw` (a whole request) and reads one response: its head, then
/// `Content-Length` bytes of body (none for 101), or up to EOF without one.
pub async fn http_raw(addr: std::net::SocketAddr, raw: &[u8]) -> HttpResponse {
    let mut stream = within("connect", TcpStream::connect(addr))
        .await
        .expect("TCP connect succeeds");
    within("write request", stream.write_all(raw))
        .await
        .expect("writing the request succeeds");
    within("read response", read_response(&mut stream)).await
}

pub async fn read_response(stream: &mut TcpStream) -> HttpResponse {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(split) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            let response = parse_response(&bytes);
            let wanted = match response.header("content-length") {
                Some(length) => Some(length.parse::<usize>().expect("a numeric length")),
                None if response.status == 101 => Some(0),
                None => None,
            };
            if wanted.is_some_and(|wanted| bytes.len() >= split + 4 + wanted) {
                return response;
            }
        }
        let n = stream
            .read(&mut chunk)
            .await
            .expect("reading the response succeeds");
        if n == 0 {
            return parse_response(&bytes);
        }
        bytes.extend_from_slice(&chunk[..n]);
    }
}

pub fn parse_response(bytes: &[u8]) -> HttpResponse {
    let split = bytes
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .expect("a complete response head");
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status code");
    HttpResponse {
        status,
        head,
        body: bytes[split + 4..].to_vec(),
    }
}

pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> HttpResponse {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    http_raw(addr, request.as_bytes()).await
}

pub async fn http_post(addr: std::net::SocketAddr, path: &str, body: &[u8]) -> HttpResponse {
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    http_raw(addr, &request).await
}

/// The request head of a WebSocket upgrade to `path`.
pub fn upgrade_request(addr: std::net::SocketAddr, path: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
}
