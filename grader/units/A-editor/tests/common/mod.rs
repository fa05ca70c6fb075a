//! What the server tests share: a server on a fresh database, a small HTTP
//! client, and a WebSocket page that speaks the editor's protocol.

#![allow(dead_code)] // each test file uses its own part

use std::net::SocketAddr;
use std::time::Duration;

use editor::protocol::{ClientMessage, ServerMessage};
use editor::{Config, Edit, Server};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

/// Generous for anything on loopback.
pub const WAIT: Duration = Duration::from_secs(5);

pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(WAIT, future)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// A server on a database in `dir`.
pub async fn start(dir: &tempfile::TempDir) -> Server {
    start_with(dir, |_| {}).await
}

pub async fn start_with(dir: &tempfile::TempDir, configure: impl FnOnce(&mut Config)) -> Server {
    let mut config = Config::new(dir.path().join("editor.sqlite"));
    configure(&mut config);
    let address: SocketAddr = "127.0.0.1:0".parse().expect("an address");
    within("the server to start", Server::start(address, config))
        .await
        .expect("the server starts")
}

/// `METHOD path` with an optional bearer token and JSON body: the status
/// and the body (JSON, or a string).
pub async fn http(
    address: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    within(&format!("{method} {path}"), async {
        let mut stream = TcpStream::connect(address).await.expect("connects");
        let body = body.map(|body| body.to_string()).unwrap_or_default();
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        );
        if let Some(token) = token {
            request.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(&body);
        stream.write_all(request.as_bytes()).await.expect("sends");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.expect("reads");
        let response = String::from_utf8_lossy(&response).into_owned();
        let status = response
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
        let value = serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_owned()));
        (status, value)
    })
    .await
}

/// A new user: `(id, token)`.
pub async fn user(address: SocketAddr, name: &str) -> (String, String) {
    let (status, body) = http(
        address,
        "POST",
        "/api/users",
        None,
        Some(json!({"name": name})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    (
        body["id"].as_str().expect("an id").to_owned(),
        body["token"].as_str().expect("a token").to_owned(),
    )
}

/// A new document `id` owned by `token`'s user.
pub async fn document(address: SocketAddr, token: &str, id: &str) {
    let (status, body) = http(
        address,
        "POST",
        "/api/docs",
        Some(token),
        Some(json!({"id": id})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

/// `member` (by token) joins `id` through a new share link of `role`
/// made by the owner.
pub async fn invite(address: SocketAddr, owner: &str, id: &str, member: &str, role: &str) {
    let (status, body) = http(
        address,
        "POST",
        &format!("/api/docs/{id}/links"),
        Some(owner),
        Some(json!({"role": role})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let code = body["code"].as_str().expect("a code").to_owned();
    let (status, body) = http(
        address,
        "POST",
        &format!("/api/docs/{id}/join"),
        Some(member),
        Some(json!({"code": code})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

pub type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// A page: its socket and the protocol's sequence numbers.
pub struct Page {
    pub socket: Socket,
    pub client: String,
    pub seq: u64,
}

impl Page {
    /// Connects `client` to document `id` with `token`.
    pub async fn open(
        address: SocketAddr,
        id: &str,
        token: &str,
        client: &str,
    ) -> (Page, ServerMessage) {
        Self::open_since(address, id, token, client, None).await
    }

    pub async fn open_since(
        address: SocketAddr,
        id: &str,
        token: &str,
        client: &str,
        since: Option<u64>,
    ) -> (Page, ServerMessage) {
        let since = since
            .map(|since| format!("&since={since}"))
            .unwrap_or_default();
        let url = format!("ws://{address}/ws/{id}?token={token}&client={client}{since}");
        let (socket, _) = within(
            "the WebSocket handshake",
            tokio_tungstenite::connect_async(url),
        )
        .await
        .expect("the handshake succeeds");
        let mut page = Page {
            socket,
            client: client.to_owned(),
            seq: 0,
        };
        let first = page.next().await;
        (page, first)
    }

    pub async fn send(&mut self, message: &ClientMessage) {
        let text = serde_json::to_string(message).expect("serialises");
        within("sending", self.socket.send(Message::text(text)))
            .await
            .expect("sent");
    }

    /// Sends `edit` on revision `base`; returns its seq.
    pub async fn edit(&mut self, base: u64, edit: Edit) -> u64 {
        self.seq += 1;
        let seq = self.seq;
        self.send(&ClientMessage::Edit { seq, base, edit }).await;
        seq
    }

    /// The next protocol message (pings and pongs skipped).
    pub async fn next(&mut self) -> ServerMessage {
        within("a message from the server", async {
            loop {
                match self.socket.next().await {
                    Some(Ok(Message::Text(text))) => {
                        return serde_json::from_str(text.as_str())
                            .unwrap_or_else(|error| panic!("{text}: {error}"));
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    other => panic!("expected a message, got {other:?}"),
                }
            }
        })
        .await
    }

    /// The next message that `wanted` accepts (others skipped).
    pub async fn until(&mut self, wanted: impl Fn(&ServerMessage) -> bool) -> ServerMessage {
        loop {
            let message = self.next().await;
            if wanted(&message) {
                return message;
            }
        }
    }

    /// The close code the server ends the connection with.
    pub async fn close_code(&mut self) -> Option<u16> {
        within("the server's Close", async {
            loop {
                match self.socket.next().await {
                    Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                    Some(Ok(_)) => {}
                    _ => return None,
                }
            }
        })
        .await
    }
}
