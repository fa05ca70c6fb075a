//! The driver: one task that owns the socket, feeds what happens to the
//! state machine, and carries out the effects it returns. [`Client`] is the
//! handle the user holds.
//!
//! The driver is generic over a [`Connector`], the thing that opens a
//! socket. Programs use [`WsConnector`] (tokio-tungstenite over TCP); the
//! tests plug in connectors that fail on purpose or hand out in-memory
//! sockets, so that the backoff can be tested with tokio's paused clock, in
//! no real time at all.
//!
//! Messages are sent through an *outbox*. A message leaves it when the
//! server's echo confirms it, not when it was written: a message written
//! just before the server closed the connection was never processed, and is
//! sent again on the next connection (at-least-once delivery; the chapter,
//! "Delivered is not written").

use std::collections::VecDeque;
use std::future::Future;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite;

use crate::backoff::{BackoffPolicy, RandomSource, SplitMix64};
use crate::state::{ConnectionState, Event, IllegalTransition};

// ANCHOR: constants
/// How long one connection attempt (TCP and the opening handshake) may
/// take before it counts as failed. Same reasoning as unit 01.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The most messages the outbox holds (queued or sent but not yet
/// confirmed). While the client reconnects, messages wait here; without a
/// limit a program that keeps sending during a four-minute outage would
/// grow without bound. 1024 messages is far more than any course exercise
/// sends in that time.
pub const MAX_OUTBOX: usize = 1024;

/// How many received messages may wait for [`Client::next_message`].
/// Bounded, as in unit 01: a client that stops reading slows the server.
pub const MESSAGE_BUFFER: usize = 64;

/// How many commands may wait for the driver.
pub const COMMAND_BUFFER: usize = 16;

/// How long closing (or answering the server's Close) waits for the rest of
/// the close handshake.
const LINGER: Duration = Duration::from_secs(1);
// ANCHOR_END: constants

// ANCHOR: connector
/// Opens a WebSocket; the driver calls it for every attempt.
pub trait Connector: Send + 'static {
    /// The byte stream under the WebSocket (TCP for [`WsConnector`], an
    /// in-memory pipe in tests).
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// One connection attempt.
    fn connect(
        &mut self,
    ) -> impl Future<Output = Result<WebSocketStream<Self::Stream>, tungstenite::Error>> + Send;
}

/// Connects to a `ws://` URL with tokio-tungstenite, giving up after a
/// timeout.
#[derive(Debug, Clone)]
pub struct WsConnector {
    /// Where to connect.
    pub url: String,
    /// The limit for one attempt, [`CONNECT_TIMEOUT`] by default.
    pub timeout: Duration,
}

impl WsConnector {
    /// A connector for `url` with [`CONNECT_TIMEOUT`].
    pub fn new(url: impl Into<String>) -> WsConnector {
        WsConnector {
            url: url.into(),
            timeout: CONNECT_TIMEOUT,
        }
    }
}

impl Connector for WsConnector {
    type Stream = tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>;

    fn connect(
        &mut self,
    ) -> impl Future<Output = Result<WebSocketStream<Self::Stream>, tungstenite::Error>> + Send
    {
        let url = self.url.clone();
        let limit = self.timeout;
        async move {
            match tokio::time::timeout(limit, tokio_tungstenite::connect_async(url)).await {
                Ok(result) => result.map(|(socket, _response)| socket),
                Err(_elapsed) => Err(tungstenite::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no WebSocket handshake within {limit:?}"),
                ))),
            }
        }
    }
}
// ANCHOR_END: connector

// ANCHOR: options
/// How the client reconnects.
pub struct ClientOptions {
    /// The delays between attempts.
    pub policy: BackoffPolicy,
    /// The jitter's randomness.
    pub random: Box<dyn RandomSource + Send>,
}

impl ClientOptions {
    /// The default policy with a generator seeded by `seed`: what tests use.
    pub fn seeded(seed: u64) -> ClientOptions {
        ClientOptions {
            policy: BackoffPolicy::default(),
            random: Box::new(SplitMix64::new(seed)),
        }
    }
}

impl Default for ClientOptions {
    /// The default policy with a randomly seeded generator, so that two
    /// programs never wait in step.
    fn default() -> Self {
        ClientOptions {
            policy: BackoffPolicy::default(),
            random: Box::new(SplitMix64::from_entropy()),
        }
    }
}

impl std::fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}
// ANCHOR_END: options

// ANCHOR: client_error
/// Why a command to the client failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The state machine refused the action, e.g. `reconnect` while
    /// connected.
    #[error(transparent)]
    Illegal(#[from] IllegalTransition),
    /// The outbox holds [`MAX_OUTBOX`] messages already.
    #[error("{MAX_OUTBOX} messages are waiting to be delivered; try again later")]
    OutboxFull,
    /// The driver task has ended.
    #[error("the client has stopped")]
    Stopped,
}
// ANCHOR_END: client_error

/// What the handle asks the driver; each command carries its answer.
#[derive(Debug)]
enum Command {
    Send {
        text: String,
        reply: oneshot::Sender<Result<(), ClientError>>,
    },
    Reconnect {
        reply: oneshot::Sender<Result<(), ClientError>>,
    },
    Disconnect {
        reply: oneshot::Sender<Result<(), ClientError>>,
    },
}

// ANCHOR: client
/// A self-reconnecting WebSocket client for an echo-style server. Dropping
/// it stops the driver and closes the connection.
#[derive(Debug)]
pub struct Client {
    commands: mpsc::Sender<Command>,
    state: watch::Receiver<ConnectionState>,
    messages: mpsc::Receiver<String>,
}
// ANCHOR_END: client

impl Client {
    /// Starts a client that connects to `url` (a `ws://` URL).
    pub fn connect(url: &str, options: ClientOptions) -> Client {
        Client::start(WsConnector::new(url), options)
    }

    /// Starts the driver with any connector: it connects at once
    /// ([`Event::Connect`]) and keeps reconnecting.
    pub fn start<C: Connector>(connector: C, options: ClientOptions) -> Client {
        let (commands, command_receiver) = mpsc::channel(COMMAND_BUFFER);
        let (message_sender, messages) = mpsc::channel(MESSAGE_BUFFER);
        let (published, state) = watch::channel(ConnectionState::new());
        let driver = Driver {
            connector,
            options,
            state: ConnectionState::new(),
            published,
            commands: command_receiver,
            messages: message_sender,
            outbox: VecDeque::new(),
            next: Next::Idle,
        };
        tokio::spawn(driver.run());
        Client {
            commands,
            state,
            messages,
        }
    }

    /// The current state.
    pub fn state(&self) -> ConnectionState {
        self.state.borrow().clone()
    }

    /// A receiver that sees every state the client goes through (the
    /// latest one, when it changes faster than it is read).
    pub fn watch(&self) -> watch::Receiver<ConnectionState> {
        self.state.clone()
    }

    /// Queues `text` for delivery. It is sent now if connected, or after the
    /// next successful reconnection, and again after a reconnection if the
    /// server's echo did not confirm it.
    pub async fn send(&self, text: impl Into<String>) -> Result<(), ClientError> {
        let text = text.into();
        self.ask(|reply| Command::Send { text, reply }).await
    }

    /// The next message from the server (the echoes, in order); `None`
    /// once the client has stopped.
    pub async fn next_message(&mut self) -> Option<String> {
        self.messages.recv().await
    }

    /// The manual reconnect (the course's "reconnect" and "refresh"
    /// buttons): connect now, with the attempt count back at zero. Allowed
    /// while disconnected, reconnecting or on error.
    pub async fn reconnect(&self) -> Result<(), ClientError> {
        self.ask(|reply| Command::Reconnect { reply }).await
    }

    /// Closes the connection (Close 1000) or stops reconnecting.
    pub async fn disconnect(&self) -> Result<(), ClientError> {
        self.ask(|reply| Command::Disconnect { reply }).await
    }

    async fn ask(
        &self,
        command: impl FnOnce(oneshot::Sender<Result<(), ClientError>>) -> Command,
    ) -> Result<(), ClientError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(command(reply))
            .await
            .map_err(|_| ClientError::Stopped)?;
        answer.await.unwrap_or(Err(ClientError::Stopped))
    }
}

// ANCHOR: driver
/// What the driver does next, as the last transition's effects decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// Make a connection attempt now.
    Open,
    /// Wait until then, then feed `RetryDue`.
    RetryAt(Instant),
    /// Nothing to do but wait for a command (disconnected, error).
    Idle,
}

/// Whether the driver goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    Stop,
}

/// The task behind a [`Client`].
struct Driver<C: Connector> {
    connector: C,
    options: ClientOptions,
    /// The state machine's current state; every change is published.
    state: ConnectionState,
    published: watch::Sender<ConnectionState>,
    commands: mpsc::Receiver<Command>,
    messages: mpsc::Sender<String>,
    /// Messages not yet confirmed by their echo, oldest first.
    outbox: VecDeque<String>,
    next: Next,
}
// ANCHOR_END: driver

impl<C: Connector> Driver<C> {
    /// Connects, then loops: do what the state machine asked for last.
    async fn run(mut self) {
        self.feed(Event::Connect);
        loop {
            let flow = match self.next {
                Next::Open => self.attempt().await,
                Next::RetryAt(at) => self.wait_for_retry(at).await,
                Next::Idle => {
                    let command = self.commands.recv().await;
                    self.on_command(command)
                }
            };
            if flow == Flow::Stop {
                break;
            }
        }
        tracing::debug!("reconnecting client stopped");
    }

    // ANCHOR: apply_effects
    /// Feeds `event` to the state machine, publishes the new state and
    /// carries out the effects: an `OpenSocket` makes the next step an
    /// attempt, a `ScheduleRetry` draws the jittered delay and makes it a
    /// wait, `CancelRetry` and `CloseSocket` make it idle, and so does a
    /// transition without effects (an open session notices that the status
    /// left `Connected` and closes its socket). A refused event changes
    /// nothing.
    fn apply(&mut self, event: Event) -> Result<(), IllegalTransition> {
        // ANCHOR_END: apply_effects
        todo!("Task 4: carry out the effects (chapter 04, section \"Task 4: The driver\")")
    }

    /// [`Driver::apply`] for events the driver itself produces: the table
    /// accepts them in the state they arrive in, so a refusal is a bug,
    /// logged rather than panicking.
    fn feed(&mut self, event: Event) {
        if let Err(error) = self.apply(event) {
            tracing::error!(%error, "the state machine refused the driver's own event");
        }
    }

    // ANCHOR: attempt
    /// One connection attempt: `Opened` and the session on success,
    /// `ConnectFailed` (and with it the next backoff) on failure.
    async fn attempt(&mut self) -> Flow {
        // ANCHOR_END: attempt
        todo!("Task 4: one attempt (chapter 04, section \"Task 4: The driver\")")
    }

    /// Waits for the retry time, serving commands meanwhile (a `send` is
    /// queued and the wait goes on; `reconnect` and `disconnect` change the
    /// plan through the state machine).
    async fn wait_for_retry(&mut self, at: Instant) -> Flow {
        tokio::select! {
            () = tokio::time::sleep_until(at) => {
                self.feed(Event::RetryDue);
                Flow::Continue
            }
            command = self.commands.recv() => self.on_command(command),
        }
    }

    /// A command while no socket is open. `None`: the handle was dropped.
    fn on_command(&mut self, command: Option<Command>) -> Flow {
        match command {
            None => Flow::Stop,
            Some(Command::Send { text, reply }) => {
                let _ = reply.send(self.queue(text));
                Flow::Continue
            }
            Some(Command::Reconnect { reply }) => {
                let _ = reply.send(self.apply(Event::Reconnect).map_err(ClientError::from));
                Flow::Continue
            }
            Some(Command::Disconnect { reply }) => {
                let _ = reply.send(self.apply(Event::Disconnect).map_err(ClientError::from));
                Flow::Continue
            }
        }
    }

    /// Puts a message in the outbox, unless it is full.
    fn queue(&mut self, text: String) -> Result<(), ClientError> {
        if self.outbox.len() >= MAX_OUTBOX {
            return Err(ClientError::OutboxFull);
        }
        self.outbox.push_back(text);
        Ok(())
    }

    // ANCHOR: session
    /// An open connection: send every unconfirmed message again, then read
    /// and serve commands until the connection ends (`Lost`) or the user
    /// disconnects.
    async fn session(&mut self, mut socket: WebSocketStream<C::Stream>) -> Flow {
        // ANCHOR_END: session
        todo!("Task 4: the open connection (chapter 04, section \"Task 4: The driver\")")
    }
}
