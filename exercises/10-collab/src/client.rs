//! The client side: the state machine that keeps one operation in flight
//! ([`Client`]), and a connected editing [`Session`] built on it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{Mutex, mpsc, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::operation::{OpError, Operation, Selection};
use crate::protocol::{ClientId, ClientMessage, Peer, ServerMessage};

/// How long [`Session::connect`] waits for the server's `Welcome`.
pub const WELCOME_TIMEOUT: Duration = Duration::from_secs(10);
/// How long closing waits for the server's Close.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// What went wrong on the client side.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server acknowledged an operation when none was in flight.
    #[error(
        "an Ack arrived while no operation was awaiting one (chapter 10, \"Task 6: The client state machine\")"
    )]
    UnexpectedAck,
    /// An operation did not fit.
    #[error("{0}")]
    Op(#[from] OpError),
    /// The socket failed.
    #[error("WebSocket error: {0}")]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
    /// The server said something unexpected (or nothing in time).
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The session has ended.
    #[error("the session is closed")]
    Closed,
}

// ANCHOR: state
/// Where the client stands with the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientState {
    /// Nothing in flight: the local text is the server's at `revision`.
    Synchronized,
    /// One operation sent, its `Ack` not yet received.
    AwaitingAck {
        /// The operation in flight (transformed by what arrived since).
        outstanding: Operation,
    },
    /// One operation in flight, and local edits made since, composed
    /// into one, to be sent when the `Ack` comes.
    AwaitingWithBuffer {
        /// The operation in flight.
        outstanding: Operation,
        /// Everything typed since, as one operation.
        buffer: Operation,
    },
}

/// The client's half of the protocol: at most one operation in flight.
#[derive(Clone, Debug)]
pub struct Client {
    revision: usize,
    state: ClientState,
}
// ANCHOR_END: state

impl Client {
    /// A client that has the server's document at `revision`.
    pub fn new(revision: usize) -> Self {
        Self {
            revision,
            state: ClientState::Synchronized,
        }
    }

    /// How many of the server's operations it has seen (its own
    /// acknowledged ones included).
    pub fn revision(&self) -> usize {
        self.revision
    }

    /// The current state.
    pub fn state(&self) -> &ClientState {
        &self.state
    }

    /// Whether nothing is in flight or buffered.
    pub fn is_synchronized(&self) -> bool {
        self.state == ClientState::Synchronized
    }

    // ANCHOR: apply_local
    /// The user made `op` (already applied to the local text). Returns the
    /// message to send now, if any.
    pub fn apply_local(&mut self, op: Operation) -> Result<Option<ClientMessage>, OpError> {
        // ANCHOR_END: apply_local
        todo!("Task 6: a local edit (chapter 10, section \"Task 6: The client state machine\")")
    }

    // ANCHOR: apply_remote
    /// The server sent another client's `op` (the next revision). Returns
    /// it transformed to apply to the local text, which may hold edits the
    /// server has not seen yet.
    pub fn apply_remote(&mut self, op: &Operation) -> Result<Operation, OpError> {
        // ANCHOR_END: apply_remote
        todo!(
            "Task 6: a remote operation (chapter 10, section \"Task 6: The client state machine\")"
        )
    }

    // ANCHOR: acknowledge
    /// The server accepted the operation in flight. Returns the buffered
    /// edits to send next, if any.
    pub fn acknowledge(&mut self) -> Result<Option<ClientMessage>, ClientError> {
        // ANCHOR_END: acknowledge
        todo!(
            "Task 6: an acknowledgement (chapter 10, section \"Task 6: The client state machine\")"
        )
    }

    // ANCHOR: transform_selection
    /// A selection the server sent (at this client's revision), moved
    /// through the local edits the server has not seen yet.
    pub fn transform_selection(&self, selection: Selection) -> Selection {
        // ANCHOR_END: transform_selection
        todo!(
            "Task 6: a remote selection (chapter 10, section \"Task 6: The client state machine\")"
        )
    }
}

/// What a [`Session`] knows at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// This client's id.
    pub client: ClientId,
    /// The local text (with edits the server may not have seen yet).
    pub text: String,
    /// How many server operations the client has seen.
    pub revision: usize,
    /// Whether nothing is in flight.
    pub synchronized: bool,
    /// Everybody else, with their selections in the local text.
    pub peers: Vec<Peer>,
    /// Whether the connection has ended.
    pub closed: bool,
}

/// The shared state of a session.
#[derive(Debug)]
struct Shared {
    client_id: ClientId,
    text: String,
    client: Client,
    peers: BTreeMap<ClientId, Peer>,
    /// Our own selection in the local text, and whether the server has it.
    selection: Option<Selection>,
    selection_sent: bool,
    closed: bool,
}

impl Shared {
    fn snapshot(&self) -> Snapshot {
        Snapshot {
            client: self.client_id,
            text: self.text.clone(),
            revision: self.client.revision(),
            synchronized: self.client.is_synchronized(),
            peers: self.peers.values().cloned().collect(),
            closed: self.closed,
        }
    }

    /// Moves every selection we keep through `op`, applied to the local text.
    fn move_selections(&mut self, op: &Operation) {
        for peer in self.peers.values_mut() {
            peer.selection = peer.selection.map(|selection| selection.transform(op));
        }
        self.selection = self.selection.map(|selection| selection.transform(op));
    }

    /// Our selection, when it is due to be sent: only while synchronized
    /// (its positions then mean the same on the server).
    fn selection_to_send(&mut self) -> Option<ClientMessage> {
        if self.selection_sent || !self.client.is_synchronized() {
            return None;
        }
        let selection = self.selection?;
        self.selection_sent = true;
        Some(ClientMessage::Select {
            revision: self.client.revision(),
            selection,
        })
    }

    /// Handles one message from the server; returns what to send back.
    fn receive(&mut self, message: ServerMessage) -> Result<Vec<ClientMessage>, ClientError> {
        let mut replies = Vec::new();
        match message {
            ServerMessage::Ack { .. } => {
                replies.extend(self.client.acknowledge()?);
                replies.extend(self.selection_to_send());
            }
            ServerMessage::Op { op, .. } => {
                let local = self.client.apply_remote(&op)?;
                self.text = local.apply(&self.text)?;
                self.move_selections(&local);
            }
            ServerMessage::Joined { peer } => {
                self.peers.insert(peer.client, peer);
            }
            ServerMessage::Left { client } => {
                self.peers.remove(&client);
            }
            ServerMessage::Selection { client, selection } => {
                let selection = self.client.transform_selection(selection);
                if let Some(peer) = self.peers.get_mut(&client) {
                    peer.selection = Some(selection);
                }
            }
            ServerMessage::Error { message } => return Err(ClientError::Protocol(message)),
            ServerMessage::Welcome { .. } => {
                return Err(ClientError::Protocol("a second Welcome".into()));
            }
        }
        Ok(replies)
    }
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A connected editing session: a local copy of the document that stays
/// in step with the server and the other clients.
///
/// Dropping it closes the connection too; [`Session::close`] also waits
/// for the close handshake.
#[derive(Debug)]
pub struct Session {
    shared: Arc<Mutex<Shared>>,
    outgoing: Option<mpsc::Sender<ClientMessage>>,
    changes: watch::Receiver<u64>,
    task: Option<JoinHandle<Result<(), ClientError>>>,
}

impl Session {
    /// Connects to the server at `url` as `name` and waits for `Welcome`.
    pub async fn connect(url: &str, name: &str) -> Result<Session, ClientError> {
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
        send(&mut ws, &ClientMessage::Join { name: name.into() }).await?;
        let welcome = tokio::time::timeout(WELCOME_TIMEOUT, ws.next())
            .await
            .map_err(|_| ClientError::Protocol("no Welcome within 10 s".into()))?;
        let Some(Ok(Message::Text(json))) = welcome else {
            return Err(ClientError::Protocol(format!(
                "expected Welcome, got {welcome:?}"
            )));
        };
        let Ok(ServerMessage::Welcome {
            client,
            revision,
            text,
            peers,
        }) = serde_json::from_str(&json)
        else {
            return Err(ClientError::Protocol(format!(
                "expected Welcome, got {json}"
            )));
        };
        let shared = Arc::new(Mutex::new(Shared {
            client_id: client,
            text,
            client: Client::new(revision),
            peers: peers.into_iter().map(|peer| (peer.client, peer)).collect(),
            selection: None,
            selection_sent: true,
            closed: false,
        }));
        let (outgoing, commands) = mpsc::channel(64);
        let (changed, changes) = watch::channel(0);
        let task = tokio::spawn(run(ws, Arc::clone(&shared), commands, changed));
        Ok(Session {
            shared,
            outgoing: Some(outgoing),
            changes,
            task: Some(task),
        })
    }

    /// What the session knows now.
    pub async fn snapshot(&self) -> Snapshot {
        self.shared.lock().await.snapshot()
    }

    /// The local text now.
    pub async fn text(&self) -> String {
        self.shared.lock().await.text.clone()
    }

    /// Makes an edit: `make` gets the current local text and returns the
    /// operation, which is applied at once and sent when the protocol
    /// allows. The text cannot change between `make` and the apply.
    pub async fn edit(&self, make: impl FnOnce(&str) -> Operation) -> Result<(), ClientError> {
        let message = {
            let mut shared = self.shared.lock().await;
            if shared.closed {
                return Err(ClientError::Closed);
            }
            let op = make(&shared.text);
            shared.text = op.apply(&shared.text)?;
            shared.move_selections(&op);
            shared.client.apply_local(op)?
        };
        if let Some(message) = message {
            self.send(message).await?;
        }
        Ok(())
    }

    /// Inserts `text` at character `position`.
    pub async fn insert(&self, position: usize, text: &str) -> Result<(), ClientError> {
        self.edit(|doc| {
            Operation::new()
                .retain(position)
                .insert(text)
                .retain(crate::operation::char_len(doc).saturating_sub(position))
        })
        .await
    }

    /// Sets this client's selection (in the local text); the others see it
    /// once the server has it.
    pub async fn select(&self, selection: Selection) -> Result<(), ClientError> {
        let message = {
            let mut shared = self.shared.lock().await;
            if shared.closed {
                return Err(ClientError::Closed);
            }
            shared.selection = Some(selection);
            shared.selection_sent = false;
            shared.selection_to_send()
        };
        if let Some(message) = message {
            self.send(message).await?;
        }
        Ok(())
    }

    async fn send(&self, message: ClientMessage) -> Result<(), ClientError> {
        let outgoing = self.outgoing.as_ref().ok_or(ClientError::Closed)?;
        outgoing
            .send(message)
            .await
            .map_err(|_| ClientError::Closed)
    }

    /// Waits until `done` holds for the session's state (checked now and
    /// after every change). Wrap it in a timeout.
    pub async fn wait_until(&mut self, mut done: impl FnMut(&Snapshot) -> bool) -> Snapshot {
        loop {
            let snapshot = self.snapshot().await;
            if done(&snapshot) || snapshot.closed {
                return snapshot;
            }
            // Marks the current value seen; a change after `snapshot` was
            // taken is still reported by `changed`.
            if self.changes.changed().await.is_err() {
                return self.snapshot().await;
            }
        }
    }

    /// Closes the connection (code 1000) and waits for the task to end.
    pub async fn close(mut self) -> Result<(), ClientError> {
        self.outgoing = None;
        match self.task.take() {
            Some(task) => task.await.map_err(|error| {
                ClientError::Protocol(format!("the session task failed: {error}"))
            })?,
            None => Ok(()),
        }
    }
}

async fn send(ws: &mut Socket, message: &ClientMessage) -> Result<(), ClientError> {
    let json = serde_json::to_string(message)
        .map_err(|error| ClientError::Protocol(format!("cannot encode: {error}")))?;
    ws.send(Message::text(json)).await?;
    Ok(())
}

/// The session's task: the only reader and writer of the socket.
async fn run(
    mut ws: Socket,
    shared: Arc<Mutex<Shared>>,
    mut commands: mpsc::Receiver<ClientMessage>,
    changed: watch::Sender<u64>,
) -> Result<(), ClientError> {
    let result = loop {
        tokio::select! {
            command = commands.recv() => match command {
                Some(message) => {
                    if let Err(error) = send(&mut ws, &message).await {
                        break Err(error);
                    }
                }
                // The session was closed or dropped.
                None => {
                    let handshake = async {
                        ws.close(None).await?;
                        while let Some(Ok(_)) = ws.next().await {}
                        Ok::<(), ClientError>(())
                    };
                    let _ = tokio::time::timeout(CLOSE_TIMEOUT, handshake).await;
                    break Ok(());
                }
            },
            frame = ws.next() => match frame {
                Some(Ok(Message::Text(json))) => {
                    let replies = match serde_json::from_str::<ServerMessage>(&json) {
                        Ok(message) => shared.lock().await.receive(message),
                        Err(error) => Err(ClientError::Protocol(format!("not a server message: {error}"))),
                    };
                    changed.send_modify(|n| *n += 1);
                    match replies {
                        Ok(replies) => {
                            let mut failed = None;
                            for reply in replies {
                                if let Err(error) = send(&mut ws, &reply).await {
                                    failed = Some(error);
                                    break;
                                }
                            }
                            if let Some(error) = failed {
                                break Err(error);
                            }
                        }
                        Err(error) => {
                            let _ = tokio::time::timeout(CLOSE_TIMEOUT, ws.close(None)).await;
                            break Err(error);
                        }
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => break Err(error.into()),
                None => break Ok(()),
            },
        }
    };
    shared.lock().await.closed = true;
    changed.send_modify(|n| *n += 1);
    result
}
