//! The client: a handle ([`Client`]) and one connection task behind it.
//!
//! [`Client::send`] never touches the network: it *accepts* the message
//! into the [`Outbox`] (on disk, synced) and wakes the task. The task
//! connects when the [`Strategy`] says so, introduces itself with the last
//! mailbox sequence number it received (`resume_from`), sends every pending
//! outbox entry, and removes entries as the server acknowledges them. After
//! a lost connection it sends them all again: the server drops the ones it
//! already has by id. That is *at least once* on the wire, and *exactly
//! once* in the recipient's mailbox.
//!
//! The task is the only writer of the socket; the handle talks to it
//! through a watch channel (conditions), a [`Notify`] (new outbox entries)
//! and a oneshot (shutdown), and receives deliveries and acknowledgements
//! through an mpsc and a watch channel.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::outbox::{Outbox, OutboxEntry, OutboxError};
use crate::protocol::{ClientFrame, Delivery, ServerFrame};
use crate::strategy::{Conditions, Reaction, Strategy};

/// How long one connection attempt may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long after a heartbeat ping the server may stay silent before the
/// connection counts as lost (a half-open link on a mobile network).
pub const PONG_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait for the server's reply to our Close.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// Deliveries buffered for a reader that is slow to call
/// [`Client::next_delivery`]; past it the connection task waits.
const DELIVERY_BUFFER: usize = 256;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What a [`Client`] starts from.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The relay server's URL, e.g. `ws://127.0.0.1:9000/`.
    pub url: String,
    /// This client's name (and the name others send to).
    pub client: String,
    /// Where the outbox lives.
    pub outbox_dir: PathBuf,
    /// The device's conditions at start.
    pub conditions: Conditions,
    /// The last mailbox sequence number received in an earlier run (0 for
    /// none); the first `hello` resumes from it.
    pub resume_from: u64,
}

/// What can go wrong with a [`Client`].
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The outbox could not be opened or written: the message was *not*
    /// accepted.
    #[error("the outbox failed: {0}")]
    Outbox(#[from] OutboxError),
    /// The client was shut down.
    #[error("the client was shut down")]
    Stopped,
}

/// A handle to the client and its connection task.
#[derive(Debug)]
pub struct Client {
    outbox: Arc<Mutex<Outbox>>,
    conditions: watch::Sender<Conditions>,
    wake: Arc<Notify>,
    deliveries: mpsc::Receiver<Delivery>,
    acked: watch::Receiver<u64>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

// ANCHOR: client
impl Client {
    /// Opens the outbox and starts the connection task.
    pub async fn start(options: ClientOptions) -> Result<Self, ClientError> {
        let ClientOptions {
            url,
            client,
            outbox_dir,
            conditions,
            resume_from,
        } = options;
        let name = client.clone();
        // Opening reads and syncs files: not on the runtime's threads.
        let outbox = blocking(move || Outbox::open(&outbox_dir, &name)).await?;
        let (acked_sender, acked) = watch::channel(outbox.last_acked());
        let outbox = Arc::new(Mutex::new(outbox));
        let strategy = Strategy::new(conditions);
        let (conditions, conditions_receiver) = watch::channel(conditions);
        let wake = Arc::new(Notify::new());
        let (deliveries_sender, deliveries) = mpsc::channel(DELIVERY_BUFFER);
        let (shutdown, shutdown_receiver) = oneshot::channel();
        let task = Task {
            url,
            client,
            strategy,
            outbox: Arc::clone(&outbox),
            conditions: conditions_receiver,
            wake: Arc::clone(&wake),
            deliveries: deliveries_sender,
            acked: acked_sender,
            shutdown: shutdown_receiver,
            last_received: resume_from,
        };
        Ok(Self {
            outbox,
            conditions,
            wake,
            deliveries,
            acked,
            shutdown: Some(shutdown),
            task: Some(tokio::spawn(task.run())),
        })
    }

    /// Accepts a message for `to`. When this returns `Ok`, the message is
    /// on disk and will be delivered exactly once, whatever happens to the
    /// network or to this process; the entry tells its sequence number and
    /// id.
    pub async fn send(&self, to: &str, body: &str) -> Result<OutboxEntry, ClientError> {
        todo!(
            "Task 3: accept into the outbox, then wake the task (chapter 12, section \"Task 3: The client\")"
        )
    }

    /// The device's conditions changed (a network change, the app went to
    /// the background or came back).
    pub fn set_conditions(&self, conditions: Conditions) {
        self.conditions.send_replace(conditions);
    }

    /// The next message delivered to this client; `None` once the client
    /// was shut down.
    pub async fn next_delivery(&mut self) -> Option<Delivery> {
        self.deliveries.recv().await
    }

    /// How many accepted messages the server has not acknowledged yet.
    pub fn pending_count(&self) -> usize {
        self.outbox
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pending()
            .count()
    }

    /// Waits until the outbox is empty: everything accepted so far was
    /// acknowledged by the server.
    pub async fn wait_until_drained(&mut self) {
        loop {
            if self.pending_count() == 0 {
                return;
            }
            if self.acked.changed().await.is_err() {
                return;
            }
        }
    }

    /// Shuts down: closes the connection with 1001 (going away), waits for
    /// the server's Close (up to [`CLOSE_TIMEOUT`]) and ends the task. The
    /// outbox keeps what was not acknowledged for the next start.
    pub async fn shutdown(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}
// ANCHOR_END: client

/// Runs outbox work (file I/O, fsync) on tokio's blocking threads. A panic
/// there is a bug, and is passed on as a panic, not as an error.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, OutboxError> + Send + 'static,
) -> Result<T, ClientError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => Ok(result?),
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        Err(_) => Err(ClientError::Stopped),
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // Dropped without `shutdown`: no task may outlive the handle.
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// How a session (one open connection) ended.
enum Ended {
    /// `shutdown` was called; the task ends.
    Shutdown,
    /// The policy says not to hold a socket now.
    Disconnected,
    /// A new network: connect again at once.
    ReconnectNow,
    /// The connection broke or went silent: back off, then reconnect.
    Lost,
}

struct Task {
    url: String,
    client: String,
    strategy: Strategy,
    outbox: Arc<Mutex<Outbox>>,
    conditions: watch::Receiver<Conditions>,
    wake: Arc<Notify>,
    deliveries: mpsc::Sender<Delivery>,
    acked: watch::Sender<u64>,
    shutdown: oneshot::Receiver<()>,
    last_received: u64,
}

impl Task {
    async fn run(mut self) {
        loop {
            // Offline, or in the background on cellular: no socket, and no
            // attempts either, until the conditions change.
            while !self.strategy.policy().connect {
                tokio::select! {
                    _ = &mut self.shutdown => return,
                    changed = self.conditions.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        let conditions = *self.conditions.borrow_and_update();
                        self.strategy.on_conditions(conditions);
                    }
                }
            }
            let attempt = tokio::select! {
                _ = &mut self.shutdown => return,
                attempt = tokio::time::timeout(
                    CONNECT_TIMEOUT,
                    tokio_tungstenite::connect_async(self.url.as_str()),
                ) => attempt,
            };
            match attempt {
                Ok(Ok((socket, _response))) => {
                    self.strategy.on_connected();
                    match self.session(socket).await {
                        Ended::Shutdown => return,
                        Ended::Disconnected | Ended::ReconnectNow => continue,
                        Ended::Lost => {}
                    }
                }
                Ok(Err(error)) => tracing::debug!(%error, "connect failed"),
                Err(_) => tracing::debug!("connect timed out"),
            }
            if !self.back_off().await {
                return;
            }
        }
    }

    /// Waits the strategy's next delay; a network change cuts it short.
    /// `false` when the client was shut down meanwhile.
    async fn back_off(&mut self) -> bool {
        let Some(delay) = self.strategy.on_failure() else {
            return true;
        };
        let deadline = Instant::now() + delay;
        loop {
            tokio::select! {
                _ = &mut self.shutdown => return false,
                () = tokio::time::sleep_until(deadline) => return true,
                changed = self.conditions.changed() => {
                    if changed.is_err() {
                        return false;
                    }
                    let conditions = *self.conditions.borrow_and_update();
                    match self.strategy.on_conditions(conditions) {
                        Reaction::ReconnectNow | Reaction::Disconnect => return true,
                        Reaction::Keep | Reaction::Retune => {}
                    }
                }
            }
        }
    }

    /// One open connection: hello, the pending outbox, then acks,
    /// deliveries, heartbeats and condition changes until it ends.
    async fn session(&mut self, mut socket: Socket) -> Ended {
        todo!(
            "Task 3: hello, resend, then the session loop (chapter 12, section \"Task 3: The client\")"
        )
    }
}
