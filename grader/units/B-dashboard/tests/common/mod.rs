//! What the dashboard's tests share: a server, a small HTTP client, and a
//! WebSocket client that speaks the dashboard's protocol.

#![allow(dead_code)] // each test file uses its own part

use std::net::SocketAddr;
use std::time::Duration;

use dashboard::protocol::{ClientMessage, Policy, ServerMessage};
use dashboard::{Config, Selector, Server};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// Generous for anything on loopback.
pub const WAIT: Duration = Duration::from_secs(5);

/// A time the manual clocks start at: 2001-09-09, far from today, so code
/// that reads the wall clock behind the clock's back shows.
pub const EPOCH: i64 = 1_000_000_020_000;

pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(WAIT, future)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// A server with a manual clock at [`EPOCH`], configured further by
/// `configure`.
pub async fn start_with(configure: impl FnOnce(&mut Config)) -> Server {
    let mut config = Config {
        clock: dashboard::Clock::manual(EPOCH),
        ..Config::default()
    };
    configure(&mut config);
    let address: SocketAddr = "127.0.0.1:0".parse().expect("an address");
    within("the server to start", Server::start(address, config))
        .await
        .expect("the server starts")
}

pub async fn start() -> Server {
    start_with(|_| {}).await
}

/// `METHOD path` with a body of `content_type`: the status and the body
/// (JSON, or a string).
pub async fn http(
    address: SocketAddr,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
) -> (u16, Value) {
    within(&format!("{method} {path}"), async {
        let mut stream = TcpStream::connect(address).await.expect("connects");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
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

pub async fn get(address: SocketAddr, path: &str) -> (u16, Value) {
    http(address, "GET", path, "application/json", "").await
}

/// Moves the server's manual clock to `now`; answers once the tick at
/// `now` (collection, evaluation, the rollups' save when due) is done.
pub async fn advance_to(address: SocketAddr, now: i64) {
    let (status, answer) = http(
        address,
        "POST",
        "/api/test/clock",
        "application/json",
        &format!(r#"{{"now":{now}}}"#),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
}

/// The reference binary, run by a test; killed with SIGKILL when dropped,
/// so that a failed assertion leaves no server behind.
pub struct Process {
    child: std::process::Child,
    pub address: SocketAddr,
}

impl Process {
    /// Starts `dashboard-server --listen 127.0.0.1:0 --no-host
    /// --test-clock EPOCH` with `args`, and waits for its `listening on`.
    pub fn spawn(args: &[&std::ffi::OsStr]) -> Process {
        use std::io::{BufRead, BufReader};
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dashboard-server"))
            .args(["--listen", "127.0.0.1:0", "--no-host", "--test-clock"])
            .arg(EPOCH.to_string())
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the server starts");
        let stdout = child.stdout.take().expect("its output");
        let line = BufReader::new(stdout)
            .lines()
            .next()
            .and_then(Result::ok)
            .unwrap_or_default();
        let address = line
            .strip_prefix("listening on http://")
            .and_then(|address| address.parse().ok());
        let Some(address) = address else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("expected `listening on http://ADDRESS`, got {line:?}");
        };
        Process { child, address }
    }

    /// `kill -9`: the process dies at once, with no chance to save
    /// anything.
    pub fn kill_9(mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One sample to post: `(name, labels, t, v)`.
pub type Line<'a> = (&'a str, &'a [(&'a str, &'a str)], i64, f64);

/// Posts JSON lines, one per sample.
pub async fn ingest(address: SocketAddr, lines: &[Line<'_>]) -> Value {
    let body: String = lines
        .iter()
        .map(|(name, labels, t, v)| {
            let labels: serde_json::Map<String, Value> = labels
                .iter()
                .map(|(key, value)| ((*key).to_owned(), Value::from(*value)))
                .collect();
            format!(
                "{}\n",
                serde_json::json!({"name": name, "labels": labels, "t": t, "v": v})
            )
        })
        .collect();
    let (status, answer) = http(address, "POST", "/api/ingest", "application/json", &body).await;
    assert_eq!(status, 200, "ingest answered {answer}");
    answer
}

/// Percent-encodes a query-string value.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            byte => format!("%{byte:02X}"),
        })
        .collect()
}

pub type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// A WebSocket client of the dashboard.
pub struct Client {
    pub socket: Socket,
}

impl Client {
    pub async fn connect(server: &Server) -> Client {
        let (socket, _) = within(
            "the WebSocket handshake",
            tokio_tungstenite::connect_async(server.ws_url()),
        )
        .await
        .expect("the handshake succeeds");
        Client { socket }
    }

    pub async fn send(&mut self, message: &ClientMessage) {
        let text = serde_json::to_string(message).expect("a message encodes");
        within("a send", self.socket.send(Message::Text(text.into())))
            .await
            .expect("the message is sent");
    }

    pub async fn subscribe(
        &mut self,
        id: &str,
        selector: &str,
        since: Option<i64>,
        policy: Policy,
    ) {
        self.send(&ClientMessage::Subscribe {
            id: id.to_owned(),
            selector: Selector::parse(selector).expect("a selector"),
            since,
            policy,
        })
        .await;
        self.until(|message| matches!(message, ServerMessage::Subscribed { id: got } if got == id))
            .await;
    }

    /// The next message of the protocol (pings and pongs skipped).
    pub async fn next(&mut self) -> ServerMessage {
        loop {
            let message = within("a message from the server", self.socket.next())
                .await
                .expect("the connection is open")
                .expect("a frame");
            match message {
                Message::Text(text) => {
                    return serde_json::from_str(text.as_str())
                        .unwrap_or_else(|error| panic!("not a server message ({error}): {text}"));
                }
                Message::Ping(_) | Message::Pong(_) => {}
                other => panic!("expected a text message, got {other:?}"),
            }
        }
    }

    pub async fn until(&mut self, wanted: impl Fn(&ServerMessage) -> bool) -> ServerMessage {
        loop {
            let message = self.next().await;
            if wanted(&message) {
                return message;
            }
        }
    }

    /// Reads until the server closes: its close code.
    pub async fn close_code(&mut self) -> Option<u16> {
        within("the server to close the connection", async {
            while let Some(frame) = self.socket.next().await {
                match frame {
                    Ok(Message::Close(frame)) => return frame.map(|frame| u16::from(frame.code)),
                    Ok(_) => {}
                    Err(_) => return None,
                }
            }
            None
        })
        .await
    }
}

/// A webhook receiver on loopback: its URL, and every body posted to it,
/// as JSON, in the order they arrive.
pub async fn receiver() -> (String, mpsc::UnboundedReceiver<Value>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let url = format!("http://{}/hook", listener.local_addr().expect("an address"));
    let (bodies, received) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let bodies = bodies.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0; 8192];
                while let Ok(Ok(read)) = tokio::time::timeout(WAIT, stream.read(&mut buffer)).await
                {
                    if read == 0 {
                        return;
                    }
                    request.extend_from_slice(&buffer[..read]);
                    let text = String::from_utf8_lossy(&request).into_owned();
                    let Some((head, body)) = text.split_once("\r\n\r\n") else {
                        continue;
                    };
                    let length = head
                        .lines()
                        .find_map(|line| {
                            line.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .and_then(|n| n.trim().parse::<usize>().ok())
                        })
                        .unwrap_or(0);
                    if body.len() >= length {
                        let _ = bodies.send(serde_json::from_str(body).unwrap_or(Value::Null));
                        let _ = stream
                            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                            .await;
                        return;
                    }
                }
            });
        }
    });
    (url, received)
}
