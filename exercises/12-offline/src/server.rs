//! The relay server: clients send to each other by name through it.
//!
//! * Every `send` is acknowledged (`ack` with its outbox sequence number),
//!   also a duplicate: the client must learn it can forget the entry.
//! * Duplicates are recognised by **message id**, not by sequence number: a
//!   client that lost its outbox's acked records resends with the same ids.
//! * Each recipient has a mailbox, numbered 1, 2, 3, …. A connected
//!   recipient gets new entries at once; a reconnecting one says in its
//!   `hello` the last number it saw and gets everything after it.
//! * A message for a recipient who is not connected is kept in the mailbox
//!   *and* leaves a [`PushRecord`], what a real server would hand to a push
//!   service (APNs, FCM) to wake the phone.
//! * [`RelayServer::shutdown`] closes every connection with 1001 (going
//!   away) and waits for the connection tasks: nobody is left with a silent
//!   socket.
//!
//! One lock guards the mailboxes and the table of connected clients, and is
//! never held across an `.await`: storing, forwarding and replaying happen
//! under it, so a message can be neither missed nor doubled between the
//! replay and the live stream.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::protocol::{ClientFrame, Delivery, ServerFrame};

/// Frames queued for one connected client. A client this far behind is
/// disconnected; it resumes from its mailbox when it comes back.
const OUTGOING_BUFFER: usize = 1024;
/// How long a new connection may take to say `hello`.
const HELLO_TIMEOUT: Duration = Duration::from_secs(5);
/// How long shutdown waits for the connection tasks (the Close handshakes).
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(2);

/// One entry of a recipient's mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// The position in the mailbox.
    pub seq: u64,
    /// The sender's message id.
    pub id: String,
    /// The sender.
    pub from: String,
    /// The text.
    pub body: String,
}

/// What a push service would be asked to deliver: the recipient was not
/// connected when a message arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushRecord {
    /// The recipient.
    pub to: String,
    /// The sender.
    pub from: String,
    /// The message id.
    pub id: String,
    /// The mailbox position, so that the woken app can resume from it.
    pub seq: u64,
}

#[derive(Default)]
struct State {
    /// Message ids already stored, per sender.
    seen: HashMap<String, HashSet<String>>,
    mailboxes: HashMap<String, Vec<StoredMessage>>,
    /// Connected clients, by name: where their outgoing frames go, and the
    /// connection number (a client may reconnect before its old connection
    /// ended).
    online: HashMap<String, (u64, mpsc::Sender<ServerFrame>)>,
    push: Vec<PushRecord>,
    next_connection: u64,
}

struct Shared {
    state: Mutex<State>,
    /// `send` frames handled (stored or dropped as a duplicate),
    /// all connections together.
    received: watch::Sender<u64>,
    /// Fault injection: the connection that receives this `send` frame
    /// (counted like `received`) stalls after storing it. 0: never.
    stall_at: AtomicU64,
}

impl Shared {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The relay server, listening on loopback.
pub struct RelayServer {
    address: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RelayServer {
    /// Starts the server on `127.0.0.1` on a free port.
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            received: watch::channel(0).0,
            stall_at: AtomicU64::new(0),
        });
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&shared), stopped));
        Ok(Self {
            address,
            shared,
            stop,
            task: Some(task),
        })
    }

    /// `ws://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("ws://{}/", self.address)
    }

    /// The mailbox of `recipient`, in order.
    pub fn mailbox(&self, recipient: &str) -> Vec<StoredMessage> {
        self.shared
            .state()
            .mailboxes
            .get(recipient)
            .cloned()
            .unwrap_or_default()
    }

    /// The push records written so far, in order.
    pub fn push_records(&self) -> Vec<PushRecord> {
        self.shared.state().push.clone()
    }

    /// How many `send` frames were handled (stored or dropped as a
    /// duplicate), all connections together.
    pub fn received(&self) -> u64 {
        *self.shared.received.borrow()
    }

    /// Waits until at least `count` `send` frames were handled (no timeout:
    /// wrap it in one).
    pub async fn wait_received(&self, count: u64) {
        let mut received = self.shared.received.subscribe();
        let _ = received.wait_for(|received| *received >= count).await;
    }

    /// Fault injection for tests: the connection that receives the
    /// `count`-th `send` frame (duplicates included, all connections
    /// together) stores and acknowledges it and then stops reading, like a
    /// server stuck in the middle of a stream. Whatever the client sends
    /// after it is never processed; the crash check kills the client there.
    pub fn stall_after(&self, count: u64) {
        self.shared.stall_at.store(count, Ordering::SeqCst);
    }

    /// Whether `client` is connected (said hello and has not left).
    pub fn is_online(&self, client: &str) -> bool {
        self.shared.state().online.contains_key(client)
    }

    /// Closes every connection with 1001 (going away), waits for the
    /// connection tasks (at most [`SHUTDOWN_TIMEOUT`]) and stops listening.
    pub async fn shutdown(mut self) {
        self.stop.send_replace(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RelayServer {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<bool>,
) {
    // A JoinSet: dropping it (when this task is aborted) aborts every
    // connection task, so none outlives the server.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = until_stopped(&mut stopped) => break,
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    connections.spawn(serve(stream, Arc::clone(&shared), stopped.clone()));
                }
            }
            Some(_) = connections.join_next() => {}
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(SHUTDOWN_TIMEOUT, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
}

/// One connection: the handshake, `hello`, then frames until it ends.
async fn serve(stream: TcpStream, shared: Arc<Shared>, mut stopped: watch::Receiver<bool>) {
    let Ok(mut socket) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let Ok(Some(client)) = tokio::time::timeout(HELLO_TIMEOUT, read_hello(&mut socket)).await
    else {
        let _ = socket.close(None).await;
        return;
    };
    let (name, resume_from) = client;
    let (outgoing, mut queued) = mpsc::channel(OUTGOING_BUFFER);
    let connection = register(&shared, &name, resume_from, outgoing);
    loop {
        tokio::select! {
            () = until_stopped(&mut stopped) => {
                let frame = CloseFrame { code: CloseCode::Away, reason: "server shutting down".into() };
                if socket.close(Some(frame)).await.is_ok() {
                    while let Some(Ok(_)) = socket.next().await {}
                }
                break;
            }
            frame = queued.recv() => {
                let Some(frame) = frame else {
                    // Dropped from the table: too far behind, or replaced.
                    let _ = socket.close(Some(CloseFrame { code: CloseCode::Again, reason: "too far behind, or connected again elsewhere".into() })).await;
                    break;
                };
                if socket.send(Message::text(frame.to_json())).await.is_err() {
                    break;
                }
            }
            message = socket.next() => {
                let Some(Ok(message)) = message else { break };
                match message {
                    Message::Text(text) => match serde_json::from_str::<ClientFrame>(text.as_str()) {
                        Ok(ClientFrame::Send { seq, id, to, body }) => {
                            accept_send(&shared, &name, &id, &to, &body);
                            let mut count = 0;
                            shared.received.send_modify(|received| {
                                *received += 1;
                                count = *received;
                            });
                            if shared.stall_at.load(Ordering::SeqCst) == count {
                                // Stored, never acknowledged: the client
                                // must send it again, and we must drop it.
                                until_stopped(&mut stopped).await;
                                break;
                            }
                            let ack = ServerFrame::Ack { seq };
                            if socket.send(Message::text(ack.to_json())).await.is_err() {
                                break;
                            }
                        }
                        Ok(ClientFrame::Hello { .. }) | Err(_) => {
                            let frame = CloseFrame { code: CloseCode::Protocol, reason: "expected a send frame".into() };
                            let _ = socket.close(Some(frame)).await;
                            break;
                        }
                    },
                    Message::Close(_) => {
                        // tungstenite answers the Close; flush it.
                        while let Some(Ok(_)) = socket.next().await {}
                        break;
                    }
                    _ => {}
                }
            }
        }
    }
    let mut state = shared.state();
    if state
        .online
        .get(&name)
        .is_some_and(|(number, _)| *number == connection)
    {
        state.online.remove(&name);
    }
}

/// Resolves once the server is told to stop (or is gone).
async fn until_stopped(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await.map(|_| ());
}

/// Reads the first frame, which must be a `hello`.
async fn read_hello(socket: &mut WebSocketStream<TcpStream>) -> Option<(String, u64)> {
    while let Some(Ok(message)) = socket.next().await {
        match message {
            Message::Text(text) => {
                return match serde_json::from_str::<ClientFrame>(text.as_str()) {
                    Ok(ClientFrame::Hello {
                        client,
                        resume_from,
                    }) => Some((client, resume_from)),
                    _ => None,
                };
            }
            Message::Close(_) => return None,
            _ => {}
        }
    }
    None
}

// ANCHOR: server
/// Marks `client` connected and queues the replay: every mailbox entry after
/// `resume_from`. Returns the connection's number. Replay and registration
/// happen under one lock, so no message falls between them.
fn register(
    shared: &Shared,
    client: &str,
    resume_from: u64,
    outgoing: mpsc::Sender<ServerFrame>,
) -> u64 {
    todo!(
        "Task 4: replay what the client missed, then register (chapter 12, section \"Task 4: The relay server\")"
    )
}

/// Stores a `send` from `from` unless its id was seen before: into the
/// recipient's mailbox, forwarded if the recipient is connected, else a
/// push record.
fn accept_send(shared: &Shared, from: &str, id: &str, to: &str, body: &str) {
    let mut state = shared.state();
    todo!(
        "Task 4: dedup by id, store, forward or push (chapter 12, section \"Task 4: The relay server\")"
    )
}
// ANCHOR_END: server
