//! Visible stages of capstone A: the server boots, one writer's edits are
//! acknowledged and kept, and they reach the other pages. Run them with
//! `cargo test -p editor`; `cargo grade A` runs these and the hidden
//! stages, in order, and names the first one that fails.

use std::net::SocketAddr;
use std::time::Duration;

use checkkit::within;
use editor::protocol::{ClientMessage, ServerMessage};
use editor::{Config, Edit, Operation, Role, Server};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

checkkit::checks! {
    the_server_boots_and_serves_the_page,
    a_single_writer_is_acknowledged_and_kept,
    edits_reach_the_other_pages,
}

async fn the_server_boots_and_serves_the_page() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = start(&dir).await;
    let address = server.local_addr();
    let (status, body) = http(address, "GET", "/health", None, None).await;
    assert_eq!(
        (status, body.as_str()),
        (200, Some("ok")),
        "GET /health answers 200 ok {}",
        chapter("Stage 1: Boot")
    );
    let (status, page) = http_bytes(address, "GET", "/", None, None).await;
    assert!(
        status == 200 && String::from_utf8_lossy(&page).contains("<html"),
        "GET / serves the page, got {status} {}",
        chapter("Stage 1: Boot")
    );
    let (status, wasm) = http_bytes(
        address,
        "GET",
        "/static/pkg/editor_wasm_bg.wasm",
        None,
        None,
    )
    .await;
    assert!(
        status == 200 && wasm.starts_with(b"\0asm"),
        "the page's WebAssembly is served, got {status} and {} bytes {}",
        wasm.len(),
        chapter("Stage 1: Boot")
    );
    let (_, ada) = user(address, "Ada").await;
    document(address, &ada, "notes").await;
    let (_, welcome) = Page::open(address, "notes", &ada, "pa").await;
    assert!(
        matches!(
            welcome,
            ServerMessage::Welcome {
                revision: 0,
                role: Role::Owner,
                ..
            }
        ),
        "the owner's page is welcomed at revision 0, got {welcome:?} {}",
        chapter("Stage 1: Boot")
    );
    within(WAIT, "Server::shutdown", server.shutdown()).await;
}

async fn a_single_writer_is_acknowledged_and_kept() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = start(&dir).await;
    let address = server.local_addr();
    let (_, ada) = user(address, "Ada").await;
    document(address, &ada, "notes").await;
    let (mut a, _) = Page::open(address, "notes", &ada, "pa").await;
    let mut text = String::new();
    for (i, word) in ["hello", " wörld", " 👋"].into_iter().enumerate() {
        let revision = i as u64;
        let seq = a
            .edit(
                revision,
                insert(text.chars().count(), text.chars().count(), word),
            )
            .await;
        let ack = a.ack().await;
        assert_eq!(
            ack,
            (seq, revision + 1),
            "edit {seq}, on revision {revision}, is acknowledged as revision {} {}",
            revision + 1,
            chapter("Stage 2: One writer")
        );
        text.push_str(word);
    }
    let (_, welcome) = Page::open(address, "notes", &ada, "pb").await;
    assert!(
        matches!(welcome, ServerMessage::Welcome { revision: 3, ref doc, .. } if doc.to_string() == text),
        "a new page gets revision 3 with {text:?}, got {welcome:?} {}",
        chapter("Stage 2: One writer")
    );
    drop(a);
    within(WAIT, "Server::shutdown", server.shutdown()).await;
    // Stored: a restarted server has it all.
    let server = start(&dir).await;
    let (_, welcome) = Page::open(server.local_addr(), "notes", &ada, "pc").await;
    assert!(
        matches!(welcome, ServerMessage::Welcome { revision: 3, ref doc, .. } if doc.to_string() == text),
        "after a restart the document is still {text:?} at revision 3 (Store::append), got {welcome:?} {}",
        chapter("Stage 2: One writer")
    );
    within(WAIT, "Server::shutdown", server.shutdown()).await;
}

async fn edits_reach_the_other_pages() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = start(&dir).await;
    let address = server.local_addr();
    let (_, ada) = user(address, "Ada").await;
    let (_, bob) = user(address, "Bob").await;
    document(address, &ada, "notes").await;
    invite(address, &ada, "notes", &bob, "editor").await;
    let (mut a, _) = Page::open(address, "notes", &ada, "pa").await;
    let (mut b, _) = Page::open(address, "notes", &bob, "pb").await;
    a.edit(0, insert(0, 0, "abc")).await;
    assert_eq!(
        a.ack().await,
        (1, 1),
        "ada's edit is revision 1 {}",
        chapter("Stage 3: Broadcast")
    );
    let remote = b.until(|m| matches!(m, ServerMessage::Remote { .. })).await;
    assert_eq!(
        remote,
        ServerMessage::Remote {
            revision: 1,
            client: "pa".into(),
            edit: insert(0, 0, "abc")
        },
        "bob's page gets ada's edit {}",
        chapter("Stage 3: Broadcast")
    );
    b.edit(1, insert(3, 3, "!")).await;
    assert_eq!(
        b.ack().await,
        (1, 2),
        "bob's edit is revision 2 {}",
        chapter("Stage 3: Broadcast")
    );
    let remote = a.until(|m| matches!(m, ServerMessage::Remote { .. })).await;
    assert_eq!(
        remote,
        ServerMessage::Remote {
            revision: 2,
            client: "pb".into(),
            edit: insert(3, 3, "!")
        },
        "ada's page gets bob's edit, and never her own back {}",
        chapter("Stage 3: Broadcast")
    );
    within(WAIT, "Server::shutdown", server.shutdown()).await;
}

// ----------------------------------------------------------------- the kit
// A server on a fresh database, a small HTTP client, and a page that speaks
// the editor's protocol (the same in the visible and the hidden checks).

/// Generous for anything on loopback.
const WAIT: Duration = Duration::from_secs(5);

/// Where a failing stage is explained.
fn chapter(section: &str) -> String {
    format!("(chapter A-editor, \"{section}\")")
}

/// A server on a database in `dir`, configured by `configure`.
async fn start_with(dir: &tempfile::TempDir, configure: impl FnOnce(&mut Config)) -> Server {
    let mut config = Config::new(dir.path().join("editor.sqlite"));
    configure(&mut config);
    let address: SocketAddr = "127.0.0.1:0".parse().expect("an address");
    within(WAIT, "Server::start", Server::start(address, config))
        .await
        .unwrap_or_else(|error| {
            panic!(
                "the server must start: {error} {}",
                chapter("Stage 1: Boot")
            )
        })
}

async fn start(dir: &tempfile::TempDir) -> Server {
    start_with(dir, |_| {}).await
}

/// `METHOD path` with an optional bearer token and JSON body: the status
/// and the body (JSON, or a string).
async fn http(
    address: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let (status, body) = http_bytes(address, method, path, token, body).await;
    let text = String::from_utf8_lossy(&body).into_owned();
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

async fn http_bytes(
    address: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Vec<u8>) {
    within(WAIT, &format!("the answer to {method} {path}"), async {
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
        let head_end = response
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(response.len(), |at| at + 4);
        let head = String::from_utf8_lossy(&response[..head_end]).into_owned();
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        (status, response[head_end..].to_vec())
    })
    .await
}

/// A new user: `(id, token)`.
async fn user(address: SocketAddr, name: &str) -> (String, String) {
    let (status, body) = http(
        address,
        "POST",
        "/api/users",
        None,
        Some(json!({"name": name})),
    )
    .await;
    assert_eq!(status, 201, "POST /api/users: {body}");
    (
        body["id"].as_str().expect("an id").to_owned(),
        body["token"].as_str().expect("a token").to_owned(),
    )
}

/// A new document `id` owned by `token`'s user.
async fn document(address: SocketAddr, token: &str, id: &str) {
    let (status, body) = http(
        address,
        "POST",
        "/api/docs",
        Some(token),
        Some(json!({"id": id})),
    )
    .await;
    assert_eq!(status, 201, "POST /api/docs: {body}");
}

/// `member` joins `id` through a share link of `role` made by `owner`.
async fn invite(address: SocketAddr, owner: &str, id: &str, member: &str, role: &str) {
    let (status, body) = http(
        address,
        "POST",
        &format!("/api/docs/{id}/links"),
        Some(owner),
        Some(json!({"role": role})),
    )
    .await;
    assert_eq!(
        status,
        201,
        "the owner makes a share link: {body} {}",
        chapter("Stage 11: Permissions")
    );
    let code = body["code"].as_str().expect("a code").to_owned();
    let (status, body) = http(
        address,
        "POST",
        &format!("/api/docs/{id}/join"),
        Some(member),
        Some(json!({"code": code})),
    )
    .await;
    assert_eq!(
        status,
        200,
        "a share link lets one join: {body} {}",
        chapter("Stage 11: Permissions")
    );
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A page: its socket and its edits' numbers.
struct Page {
    socket: Socket,
    seq: u64,
}

impl Page {
    /// Connects `client` to document `id` with `token`; the first message.
    async fn open(
        address: SocketAddr,
        id: &str,
        token: &str,
        client: &str,
    ) -> (Page, ServerMessage) {
        Self::open_since(address, id, token, client, None).await
    }

    async fn open_since(
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
            WAIT,
            "the WebSocket handshake",
            tokio_tungstenite::connect_async(url),
        )
        .await
        .expect("the handshake succeeds");
        let mut page = Page { socket, seq: 0 };
        let first = page.next().await;
        (page, first)
    }

    async fn send(&mut self, message: &ClientMessage) {
        let text = serde_json::to_string(message).expect("serialises");
        within(WAIT, "sending", self.socket.send(Message::text(text)))
            .await
            .expect("sent");
    }

    /// Sends `edit` on revision `base`; returns its seq.
    async fn edit(&mut self, base: u64, edit: Edit) -> u64 {
        self.seq += 1;
        let seq = self.seq;
        self.send(&ClientMessage::Edit { seq, base, edit }).await;
        seq
    }

    /// The next protocol message (pings and pongs skipped).
    async fn next(&mut self) -> ServerMessage {
        within(WAIT, "a message from the server", async {
            loop {
                match self.socket.next().await {
                    Some(Ok(Message::Text(text))) => {
                        return serde_json::from_str(text.as_str())
                            .unwrap_or_else(|error| panic!("{text}: {error}"));
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    other => panic!("expected a message from the server, got {other:?}"),
                }
            }
        })
        .await
    }

    /// The next message that `wanted` accepts (others skipped).
    async fn until(&mut self, wanted: impl Fn(&ServerMessage) -> bool) -> ServerMessage {
        loop {
            let message = self.next().await;
            if wanted(&message) {
                return message;
            }
        }
    }

    /// The next acknowledgement (others skipped).
    async fn ack(&mut self) -> (u64, u64) {
        match self
            .until(|m| matches!(m, ServerMessage::Ack { .. } | ServerMessage::Error { .. }))
            .await
        {
            ServerMessage::Ack { seq, revision } => (seq, revision),
            other => panic!("expected an ack, got {other:?}"),
        }
    }
}

/// `Edit` inserting `text` at `at` into a document of `len` characters.
fn insert(len: usize, at: usize, text: &str) -> Edit {
    Edit::text(Operation::new().retain(at).insert(text).retain(len - at))
}
