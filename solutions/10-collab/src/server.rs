//! The editing server: one document, its history of operations, and who is
//! connected.
//!
//! * [`Document`] orders operations by revision and transforms late ones
//!   (pure, no I/O).
//! * [`Hub`] adds the people: it forwards every accepted operation, keeps
//!   everyone's selection and tells who joins and leaves (pure as well: it
//!   only puts messages into each client's outbox).
//! * [`Server`] is the WebSocket front: one task per connection, reading
//!   [`ClientMessage`]s and writing what lands in that client's outbox.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::operation::{OpError, Operation, Selection};
use crate::protocol::{ClientId, ClientMessage, Peer, ServerMessage};

/// How many messages may wait for a client that does not read. One more
/// and it is disconnected (code 1013): an editing session cannot skip
/// operations, so a client that falls this far behind must reload.
pub const OUTBOX: usize = 1024;
/// How long a new connection may take to say `Join`.
pub const JOIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the server waits for the peer's Close after sending its own.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);
/// How long one write may take. A peer that stops reading fills its TCP
/// window and would block the write (and with it the server's shutdown)
/// for ever; after this it is dropped.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the server refused a client's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerError {
    /// The client claims to have seen revisions the server never made.
    #[error(
        "the operation is based on revision {revision}, but the server is only at {current} (chapter 10, \"Task 4: The server\")"
    )]
    FutureRevision {
        /// What the client said.
        revision: usize,
        /// The server's revision.
        current: usize,
    },
    /// The operation does not fit the document at its revision.
    #[error("{0}")]
    Op(#[from] OpError),
    /// A message out of place (a second `Join`, a binary frame, bad JSON).
    #[error("{0}")]
    Protocol(String),
}

// ANCHOR: document
/// The server's document: its text and every operation it accepted, in
/// order. Operation `n` of the history turns revision `n` into `n + 1`.
#[derive(Clone, Debug, Default)]
pub struct Document {
    text: String,
    history: Vec<Operation>,
}
// ANCHOR_END: document

impl Document {
    /// A document that starts as `text`, at revision 0.
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            history: Vec::new(),
        }
    }

    /// The current text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// How many operations it has accepted.
    pub fn revision(&self) -> usize {
        self.history.len()
    }

    /// The accepted operations, in order.
    pub fn history(&self) -> &[Operation] {
        &self.history
    }

    // ANCHOR: receive
    /// Accepts `op`, made by a client that had seen the first `revision`
    /// operations: transforms it against every operation accepted since
    /// (those it did not know about), applies it, appends it to the history
    /// and returns it as applied. On an error nothing changes.
    pub fn receive(&mut self, revision: usize, op: Operation) -> Result<Operation, ServerError> {
        // ANCHOR_END: receive
        // region: solution
        let current = self.history.len();
        if revision > current {
            return Err(ServerError::FutureRevision { revision, current });
        }
        let mut op = op;
        for past in &self.history[revision..] {
            op = op.transform(past)?.0;
        }
        self.text = op.apply(&self.text)?;
        self.history.push(op.clone());
        Ok(op)
        // region: stub
        // todo!("Task 4: order and transform operations (chapter 10, section \"Task 4: The server\")")
        // endregion
    }

    // ANCHOR: transform_selection
    /// A selection made at `revision`, moved to the current revision.
    pub fn transform_selection(
        &self,
        revision: usize,
        selection: Selection,
    ) -> Result<Selection, ServerError> {
        // ANCHOR_END: transform_selection
        // region: solution
        let current = self.history.len();
        if revision > current {
            return Err(ServerError::FutureRevision { revision, current });
        }
        Ok(self.history[revision..]
            .iter()
            .fold(selection, |selection, op| selection.transform(op)))
        // region: stub
        // todo!("Task 4: move a selection to the current revision (chapter 10, section \"Task 4: The server\")")
        // endregion
    }
}

/// One connected client, as the hub sees it.
#[derive(Debug)]
struct Member {
    name: String,
    selection: Option<Selection>,
    outbox: mpsc::Sender<ServerMessage>,
}

// ANCHOR: hub
/// The document and the people editing it.
#[derive(Debug, Default)]
pub struct Hub {
    document: Document,
    members: BTreeMap<ClientId, Member>,
    next_id: ClientId,
}
// ANCHOR_END: hub

impl Hub {
    /// A hub around `document`, with nobody connected.
    pub fn new(document: Document) -> Self {
        Self {
            document,
            members: BTreeMap::new(),
            next_id: 1,
        }
    }

    /// The document.
    pub fn document(&self) -> &Document {
        &self.document
    }

    /// Everybody connected, by id, with their selection at the current revision.
    pub fn peers(&self) -> Vec<Peer> {
        self.members
            .iter()
            .map(|(&client, member)| Peer {
                client,
                name: member.name.clone(),
                selection: member.selection,
            })
            .collect()
    }

    /// Puts `message` into `client`'s outbox. A client whose outbox is
    /// full (or gone) is removed, and the others are told it left.
    fn send(&mut self, client: ClientId, message: ServerMessage) {
        let Some(member) = self.members.get(&client) else {
            return;
        };
        if member.outbox.try_send(message).is_err() {
            tracing::warn!(client, "outbox full or closed: disconnecting the client");
            self.leave(client);
        }
    }

    /// Sends `message` to everybody but `except`.
    fn broadcast(&mut self, except: ClientId, message: &ServerMessage) {
        let others: Vec<ClientId> = self
            .members
            .keys()
            .copied()
            .filter(|&id| id != except)
            .collect();
        for client in others {
            self.send(client, message.clone());
        }
    }

    // ANCHOR: join
    /// A new client called `name`, whose messages go to `outbox`: gives it
    /// an id, sends it `Welcome` (the text, the revision and everybody
    /// else), tells the others `Joined`, and returns the id.
    pub fn join(&mut self, name: &str, outbox: mpsc::Sender<ServerMessage>) -> ClientId {
        // ANCHOR_END: join
        // region: solution
        let client = self.next_id;
        self.next_id += 1;
        let welcome = ServerMessage::Welcome {
            client,
            revision: self.document.revision(),
            text: self.document.text().to_owned(),
            peers: self.peers(),
        };
        self.members.insert(
            client,
            Member {
                name: name.to_owned(),
                selection: None,
                outbox,
            },
        );
        self.send(client, welcome);
        let joined = ServerMessage::Joined {
            peer: Peer {
                client,
                name: name.to_owned(),
                selection: None,
            },
        };
        self.broadcast(client, &joined);
        client
        // region: stub
        // todo!("Task 5: presence, joining (chapter 10, section \"Task 5: Presence\")")
        // endregion
    }

    // ANCHOR: leave
    /// `client` is gone: forget it and tell the others `Left` (nothing when
    /// it had already left).
    pub fn leave(&mut self, client: ClientId) {
        // ANCHOR_END: leave
        // region: solution
        if self.members.remove(&client).is_some() {
            self.broadcast(client, &ServerMessage::Left { client });
        }
        // region: stub
        // todo!("Task 5: presence, leaving (chapter 10, section \"Task 5: Presence\")")
        // endregion
    }

    // ANCHOR: edit
    /// `client` sent `op` based on `revision`: has the document accept it,
    /// moves every stored selection through it, answers the author `Ack`
    /// and sends the others the operation as applied.
    pub fn edit(
        &mut self,
        client: ClientId,
        revision: usize,
        op: Operation,
    ) -> Result<(), ServerError> {
        // ANCHOR_END: edit
        // region: solution
        let applied = self.document.receive(revision, op)?;
        for member in self.members.values_mut() {
            member.selection = member
                .selection
                .map(|selection| selection.transform(&applied));
        }
        let revision = self.document.revision();
        self.send(client, ServerMessage::Ack { revision });
        self.broadcast(
            client,
            &ServerMessage::Op {
                client,
                revision,
                op: applied,
            },
        );
        Ok(())
        // region: stub
        // todo!("Task 4: accept an edit and forward it (chapter 10, section \"Task 4: The server\")")
        // endregion
    }

    // ANCHOR: select
    /// `client`'s selection at `revision`: moves it to the current
    /// revision, stores it and sends it to the others.
    pub fn select(
        &mut self,
        client: ClientId,
        revision: usize,
        selection: Selection,
    ) -> Result<(), ServerError> {
        // ANCHOR_END: select
        // region: solution
        let selection = self.document.transform_selection(revision, selection)?;
        if let Some(member) = self.members.get_mut(&client) {
            member.selection = Some(selection);
        }
        self.broadcast(client, &ServerMessage::Selection { client, selection });
        Ok(())
        // region: stub
        // todo!("Task 5: presence, selections (chapter 10, section \"Task 5: Presence\")")
        // endregion
    }
}

/// The running server; [`Server::shutdown`] stops it.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    hub: Arc<Mutex<Hub>>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Server {
    /// Listens on `addr` (e.g. `"127.0.0.1:0"`) with a document that
    /// starts as `text`.
    pub async fn bind(addr: &str, text: &str) -> std::io::Result<Server> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let hub = Arc::new(Mutex::new(Hub::new(Document::new(text))));
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&hub), stopped));
        Ok(Server {
            addr,
            hub,
            stop,
            task,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ws://` and the address.
    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// The document's text now.
    pub fn text(&self) -> String {
        lock(&self.hub).document().text().to_owned()
    }

    /// The document's revision now.
    pub fn revision(&self) -> usize {
        lock(&self.hub).document().revision()
    }

    /// Who is connected now.
    pub fn peers(&self) -> Vec<Peer> {
        lock(&self.hub).peers()
    }

    /// Closes every connection with 1001 (going away) and waits until
    /// every task has ended.
    pub async fn shutdown(self) {
        self.stop.send_replace(true);
        if let Err(error) = self.task.await {
            tracing::error!(%error, "the accept loop panicked");
        }
    }
}

/// The hub's lock. A panic while holding it leaves the hub as it was
/// before the panicking call's first change; carrying on is better than
/// taking every connection down.
fn lock(hub: &Mutex<Hub>) -> MutexGuard<'_, Hub> {
    hub.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn accept_loop(
    listener: TcpListener,
    hub: Arc<Mutex<Hub>>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = stopping(&mut stopped) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(connection(stream, Arc::clone(&hub), stopped.clone()));
                }
                Err(error) => {
                    // Out of file descriptors, say: wait a little rather than spin.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// Resolves when the server is told to stop (or the [`Server`] was dropped).
async fn stopping(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// How a connection ends, from the server's side.
enum Ending {
    /// The peer closed, or the socket died: nothing more to send.
    Peer,
    /// The server closes with this code and reason.
    Close(CloseCode, String),
}

async fn connection(stream: TcpStream, hub: Arc<Mutex<Hub>>, mut stopped: watch::Receiver<bool>) {
    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    // The first message must be `Join`.
    let name = tokio::select! {
        () = stopping(&mut stopped) => None,
        first = tokio::time::timeout(JOIN_TIMEOUT, ws.next()) => match first {
            Ok(Some(Ok(Message::Text(text)))) => match serde_json::from_str(&text) {
                Ok(ClientMessage::Join { name }) => Some(name),
                _ => None,
            },
            _ => None,
        },
    };
    let Some(name) = name else {
        let reason = "the first message must be {\"type\":\"join\",\"name\":...}".to_owned();
        finish(&mut ws, Ending::Close(CloseCode::Policy, reason)).await;
        return;
    };
    let (outbox, mut inbox) = mpsc::channel(OUTBOX);
    let client = lock(&hub).join(&name, outbox);
    let ending = loop {
        tokio::select! {
            () = stopping(&mut stopped) => {
                break Ending::Close(CloseCode::Away, "server shutting down".into());
            }
            message = inbox.recv() => match message {
                Some(message) => {
                    let Ok(json) = serde_json::to_string(&message) else { continue };
                    if !matches!(tokio::time::timeout(SEND_TIMEOUT, ws.send(Message::text(json))).await, Ok(Ok(()))) {
                        break Ending::Peer;
                    }
                }
                // The hub dropped this client: its outbox overflowed.
                None => break Ending::Close(CloseCode::Again, "too far behind, reload".into()),
            },
            frame = ws.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    if let Err(error) = handle(&hub, client, &text) {
                        let message = ServerMessage::Error { message: error.to_string() };
                        if let Ok(json) = serde_json::to_string(&message) {
                            let _ = tokio::time::timeout(SEND_TIMEOUT, ws.send(Message::text(json))).await;
                        }
                        break Ending::Close(CloseCode::Policy, "refused message".into());
                    }
                }
                Some(Ok(Message::Binary(_))) => {
                    break Ending::Close(CloseCode::Unsupported, "text frames only".into());
                }
                // Pings are answered by tungstenite; a Close is answered
                // too, and the stream then ends.
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break Ending::Peer,
            },
        }
    };
    lock(&hub).leave(client);
    finish(&mut ws, ending).await;
}

/// Parses one client message and hands it to the hub.
fn handle(hub: &Mutex<Hub>, client: ClientId, text: &str) -> Result<(), ServerError> {
    let message: ClientMessage = serde_json::from_str(text)
        .map_err(|error| ServerError::Protocol(format!("not a client message: {error}")))?;
    let mut hub = lock(hub);
    match message {
        ClientMessage::Op { revision, op } => hub.edit(client, revision, op),
        ClientMessage::Select {
            revision,
            selection,
        } => hub.select(client, revision, selection),
        ClientMessage::Join { .. } => Err(ServerError::Protocol("joined twice".into())),
    }
}

/// Closes with `ending`'s code (when the server closes) and waits, for a
/// bounded time, for the close handshake to finish.
async fn finish(ws: &mut WebSocketStream<TcpStream>, ending: Ending) {
    if let Ending::Close(code, reason) = ending {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let sent = tokio::time::timeout(CLOSE_TIMEOUT, ws.send(Message::Close(Some(frame)))).await;
        if !matches!(sent, Ok(Ok(()))) {
            return;
        }
    }
    let drain = async { while let Some(Ok(_)) = ws.next().await {} };
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, drain).await;
}
