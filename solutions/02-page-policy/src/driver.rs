//! The driver: applies the policy's actions to a real connection.
//!
//! It owns the [`Policy`], at most one open connection (a *link*), and the
//! map from connection types to URLs. Each link's socket belongs to one task
//! that always reads (so the server's Pings get their Pongs, and its Close is
//! noticed at once) and that closes the socket properly when the driver asks.
//! What the server does on its own (closing with 4401 because the token is
//! bad, closing for another reason, the network failing) comes back as a
//! [`DriverEvent`].

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite;
// region: solution
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode, header};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
// endregion

use crate::policy::{Action, Auth, Policy};
use crate::table::ConnectionType;

/// The socket type of a link.
type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

// ANCHOR: constants
/// How long opening a connection may take, TCP and handshake together; the
/// same limit as unit 01's `CONNECT_TIMEOUT`, for the same reasons.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long leaving a page waits for the server's Close reply before the
/// socket is dropped anyway (RFC 6455 sets no number; see unit 01).
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// The close code with which a server rejects a token after the handshake:
/// the testkit's 4401. Codes 4000–4999 are for applications (RFC 6455
/// §7.4.2); 4401 echoes HTTP's 401 Unauthorized, a common convention.
pub const UNAUTHORIZED_CLOSE_CODE: u16 = 4401;

/// The close reason the driver sends when a page no longer wants the
/// connection (with code 1000, a normal close).
pub const LEAVE_REASON: &str = "page left";

/// How many events may wait for [`Driver::next_event`]. Links send few
/// events (one each, when they end), so a small bound never blocks one.
pub const EVENT_BUFFER: usize = 16;
// ANCHOR_END: constants

// ANCHOR: endpoints
/// Where each connection type connects: `chat` → `ws://host/ws/chat`.
#[derive(Debug, Clone, Default)]
pub struct Endpoints(BTreeMap<ConnectionType, String>);

impl Endpoints {
    /// No endpoints.
    pub fn new() -> Endpoints {
        Endpoints::default()
    }

    /// Adds (or replaces) the URL of `connection_type`.
    pub fn with(mut self, connection_type: &str, url: impl Into<String>) -> Endpoints {
        self.0
            .insert(ConnectionType::new(connection_type), url.into());
        self
    }

    /// The URL of `connection_type`.
    pub fn url(&self, connection_type: &ConnectionType) -> Option<&str> {
        self.0.get(connection_type).map(String::as_str)
    }
}
// ANCHOR_END: endpoints

// ANCHOR: events
/// Something that happened to the connection without the driver asking.
#[derive(Debug)]
pub enum DriverEvent {
    /// The connection of this type ended. The driver has forgotten it: the
    /// next route change connects again if the page wants it.
    Ended {
        /// The connection's type.
        connection_type: ConnectionType,
        /// Why.
        reason: EndReason,
    },
}

/// Why a connection ended on its own.
#[derive(Debug)]
pub enum EndReason {
    /// The server rejected the token: it closed with
    /// [`UNAUTHORIZED_CLOSE_CODE`]. Not a network problem; signing in again
    /// helps, retrying does not.
    Unauthorized,
    /// The server closed with another code.
    Closed {
        /// The close code (1005 if the frame had none).
        code: u16,
        /// The close reason.
        reason: String,
    },
    /// The connection broke without a Close frame: a network failure.
    Lost(Option<tungstenite::Error>),
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndReason::Unauthorized => write!(
                f,
                "unauthorized: the server rejected the token (close {UNAUTHORIZED_CLOSE_CODE})"
            ),
            EndReason::Closed { code, reason } => {
                write!(f, "closed by the server with {code} {reason:?}")
            }
            EndReason::Lost(None) => f.write_str("connection lost (no Close frame)"),
            EndReason::Lost(Some(error)) => write!(f, "connection lost: {error}"),
        }
    }
}
// ANCHOR_END: events

// ANCHOR: driver_error
/// Why [`Driver::navigate`] could not open the connection the page wants.
/// The policy then forgets it, so the next change tries again.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The table names a connection type the [`Endpoints`] do not have.
    #[error("no endpoint for connection type `{0}`")]
    NoEndpoint(ConnectionType),
    /// The endpoint's URL is not a WebSocket URL.
    #[error("invalid endpoint URL {url:?}")]
    InvalidUrl {
        /// The URL.
        url: String,
        /// What tungstenite says.
        #[source]
        source: tungstenite::Error,
    },
    /// The token cannot travel in an HTTP header (a newline, say).
    #[error("the token is not a valid HTTP header value")]
    BadToken,
    /// The server refused the token in the handshake (HTTP 401). The
    /// testkit accepts the handshake and closes with 4401 instead, which
    /// arrives as [`EndReason::Unauthorized`].
    #[error("unauthorized: {url} answered the handshake with 401")]
    Unauthorized {
        /// The URL.
        url: String,
    },
    /// The network failed: refused, reset, unreachable, not a WebSocket.
    #[error("network failure: could not connect to {url}")]
    Network {
        /// The URL.
        url: String,
        /// The cause.
        #[source]
        source: tungstenite::Error,
    },
    /// No handshake within [`CONNECT_TIMEOUT`].
    #[error("network failure: no handshake from {url} within {after:?}")]
    Timeout {
        /// The URL.
        url: String,
        /// The limit.
        after: Duration,
    },
}
// ANCHOR_END: driver_error

// ANCHOR: driver
/// The policy, applied to a real connection.
#[derive(Debug)]
pub struct Driver {
    /// Decides.
    policy: Policy,
    /// Where each connection type connects.
    endpoints: Endpoints,
    /// The open connection, if any.
    link: Option<Link>,
    /// Numbers the links, so that an event of an old link is recognised.
    next_generation: u64,
    /// Every link task's copy of this sends its events here.
    event_sender: mpsc::Sender<(u64, DriverEvent)>,
    /// Events for [`Driver::next_event`].
    events: mpsc::Receiver<(u64, DriverEvent)>,
    /// Events taken off the channel by `navigate`, not yet returned.
    pending: VecDeque<DriverEvent>,
}

/// One open connection: its type and the task that owns its socket.
#[derive(Debug)]
struct Link {
    /// Its type.
    connection_type: ConnectionType,
    /// Its number; its task tags its events with it.
    generation: u64,
    /// Tells the task to close the socket (dropping it does too).
    leave: oneshot::Sender<()>,
    /// The task, awaited when the driver closes the link.
    task: JoinHandle<()>,
}
// ANCHOR_END: driver

impl Driver {
    /// A driver with no connection.
    pub fn new(policy: Policy, endpoints: Endpoints) -> Driver {
        let (event_sender, events) = mpsc::channel(EVENT_BUFFER);
        Driver {
            policy,
            endpoints,
            link: None,
            next_generation: 0,
            event_sender,
            events,
            pending: VecDeque::new(),
        }
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The type of the open connection, if any.
    pub fn connected(&self) -> Option<&ConnectionType> {
        self.link.as_ref().map(|link| &link.connection_type)
    }

    // ANCHOR: navigate
    /// The user is now on `route` with `auth`: asks the policy and carries
    /// out its action. Returns the action once it is done: after `Connect`
    /// the handshake has completed, after `Disconnect` the close handshake
    /// has (or [`CLOSE_TIMEOUT`] passed), after `Reconnect` both.
    pub async fn navigate(&mut self, route: &str, auth: &Auth) -> Result<Action, DriverError> {
        // ANCHOR_END: navigate
        self.take_ready_events();
        // region: solution
        let action = self.policy.on_change(route, auth);
        match &action {
            Action::Keep => {}
            Action::Disconnect => self.close_link().await,
            Action::Connect(connection_type) => self.open_link(connection_type, auth).await?,
            Action::Reconnect(connection_type) => {
                self.close_link().await;
                self.open_link(connection_type, auth).await?;
            }
        }
        Ok(action)
        // region: stub
        // todo!("Task 5: apply the action (chapter 02, section \"Task 5: Driving a real connection\")")
        // endregion
    }

    /// The next thing that happened to the connection on its own. Waits
    /// until there is one; use it in a `select!` or with a timeout.
    pub async fn next_event(&mut self) -> DriverEvent {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return event;
            }
            // The driver holds a sender itself, so the channel never closes.
            if let Some((generation, event)) = self.events.recv().await {
                self.absorb(generation, event);
            }
        }
    }

    /// Closes the connection, if any, politely.
    pub async fn shutdown(mut self) {
        self.close_link().await;
        self.policy.forget_connection();
    }

    /// Moves the events already waiting into `pending`, so that `navigate`
    /// decides knowing which connection has ended.
    fn take_ready_events(&mut self) {
        while let Ok((generation, event)) = self.events.try_recv() {
            self.absorb(generation, event);
        }
    }

    /// Takes an event of link `generation`: if it is the open link's, the
    /// link is gone and the policy forgets it; an old link's is dropped.
    fn absorb(&mut self, generation: u64, event: DriverEvent) {
        let current = self.link.as_ref().map(|link| link.generation);
        if current == Some(generation) {
            self.link = None;
            self.policy.forget_connection();
            self.pending.push_back(event);
        }
    }

    /// Asks the link's task to close and waits for it to end.
    async fn close_link(&mut self) {
        if let Some(link) = self.link.take() {
            // Fails only if the task has already ended: nothing to close.
            let _ = link.leave.send(());
            if tokio::time::timeout(CLOSE_TIMEOUT + Duration::from_secs(1), link.task)
                .await
                .is_err()
            {
                tracing::warn!("a link task did not end after its close timeout");
            }
        }
    }

    // ANCHOR: open_link
    /// Opens a connection of `connection_type`, sending the token of `auth`
    /// (if signed in) as `Authorization: Bearer …`, and starts its task.
    /// On failure the policy forgets the connection.
    async fn open_link(
        &mut self,
        connection_type: &ConnectionType,
        auth: &Auth,
    ) -> Result<(), DriverError> {
        // ANCHOR_END: open_link
        // region: solution
        let opened = self.connect(connection_type, auth).await;
        let socket = match opened {
            Ok(socket) => socket,
            Err(error) => {
                self.policy.forget_connection();
                return Err(error);
            }
        };
        let generation = self.next_generation;
        self.next_generation += 1;
        let (leave, leave_signal) = oneshot::channel();
        let task = tokio::spawn(run_link(
            socket,
            connection_type.clone(),
            generation,
            leave_signal,
            self.event_sender.clone(),
        ));
        self.link = Some(Link {
            connection_type: connection_type.clone(),
            generation,
            leave,
            task,
        });
        Ok(())
        // region: stub
        // todo!("Task 6: connect with the token (chapter 02, section \"Task 6: The token and unauthorized\")")
        // endregion
    }

    // region: solution
    /// The handshake, with the token and the timeout, and the errors sorted.
    async fn connect(
        &self,
        connection_type: &ConnectionType,
        auth: &Auth,
    ) -> Result<Socket, DriverError> {
        let url = self
            .endpoints
            .url(connection_type)
            .ok_or_else(|| DriverError::NoEndpoint(connection_type.clone()))?;
        let mut request = url
            .into_client_request()
            .map_err(|source| DriverError::InvalidUrl {
                url: url.to_owned(),
                source,
            })?;
        if let Some(token) = auth.token() {
            // A header, not `?token=` in the URL: URLs end up in logs.
            let value = HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|_| DriverError::BadToken)?;
            request.headers_mut().insert(header::AUTHORIZATION, value);
        }
        let connecting = tokio_tungstenite::connect_async(request);
        match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
            Err(_elapsed) => Err(DriverError::Timeout {
                url: url.to_owned(),
                after: CONNECT_TIMEOUT,
            }),
            Ok(Ok((socket, _response))) => Ok(socket),
            Ok(Err(WsError::Http(response))) if response.status() == StatusCode::UNAUTHORIZED => {
                Err(DriverError::Unauthorized {
                    url: url.to_owned(),
                })
            }
            Ok(Err(source)) => Err(DriverError::Network {
                url: url.to_owned(),
                source,
            }),
        }
    }
    // endregion
}

// ANCHOR: run_link
/// The task that owns one link's socket: reads until the server closes or
/// the network fails (and reports why), or until `leave` fires (or its
/// sender is dropped with the driver), then closes with 1000.
async fn run_link(
    socket: Socket,
    connection_type: ConnectionType,
    generation: u64,
    leave: oneshot::Receiver<()>,
    events: mpsc::Sender<(u64, DriverEvent)>,
) {
    // ANCHOR_END: run_link
    // region: solution
    let mut socket = socket;
    let mut leave = leave;
    let reason = loop {
        tokio::select! {
            _ = &mut leave => {
                leave_page(&mut socket).await;
                return;
            }
            incoming = socket.next() => match incoming {
                Some(Ok(Message::Close(frame))) => {
                    // Keep reading so tungstenite writes its queued Close
                    // reply and the server can end TCP.
                    let drain = async { while let Some(Ok(_)) = socket.next().await {} };
                    let _ = tokio::time::timeout(CLOSE_TIMEOUT, drain).await;
                    break end_reason(frame);
                }
                // This unit's connections carry no application messages
                // (unit 03 adds them); Pings are answered by tungstenite
                // because we keep reading.
                Some(Ok(_)) => {}
                Some(Err(error)) => break EndReason::Lost(Some(error)),
                None => break EndReason::Lost(None),
            }
        }
    };
    let event = DriverEvent::Ended {
        connection_type,
        reason,
    };
    // Fails only when the driver is gone; nobody is left to tell.
    let _ = events.send((generation, event)).await;
    // region: stub
    // todo!("Task 6: own the socket, report why it ended (chapter 02, section \"Task 6: The token and unauthorized\")")
    // endregion
}

// region: solution
/// Why the server closed, from its Close frame.
fn end_reason(frame: Option<CloseFrame>) -> EndReason {
    match frame {
        Some(frame) if u16::from(frame.code) == UNAUTHORIZED_CLOSE_CODE => EndReason::Unauthorized,
        Some(frame) => EndReason::Closed {
            code: frame.code.into(),
            reason: frame.reason.to_string(),
        },
        None => EndReason::Closed {
            code: 1005,
            reason: String::new(),
        },
    }
}

/// Closes the socket with 1000 and waits (at most [`CLOSE_TIMEOUT`]) for
/// the server's Close, so the server sees a clean close, not a reset.
async fn leave_page(socket: &mut Socket) {
    let frame = CloseFrame {
        code: CloseCode::Normal,
        reason: LEAVE_REASON.into(),
    };
    if socket.send(Message::Close(Some(frame))).await.is_err() {
        return;
    }
    let reply = async { while let Some(Ok(_)) = socket.next().await {} };
    if tokio::time::timeout(CLOSE_TIMEOUT, reply).await.is_err() {
        tracing::warn!("no Close reply within {CLOSE_TIMEOUT:?}; dropping the socket");
    }
}
// endregion
