//! The chat server: accept loop, shared state, graceful shutdown.
//!
//! [`Server::start`] binds, opens the store and spawns the accept loop;
//! every connection is a task in a `JoinSet` the accept loop owns, so none
//! is ever detached. [`Server::shutdown`] stops accepting, has every
//! connection send Close(1001), waits for them (at most
//! [`SHUTDOWN_GRACE`]) and only then returns — unlike axum's graceful
//! shutdown, which does not wait for upgraded WebSocket tasks.

mod config;
mod connection;
mod rooms;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

pub use config::{
    ATTACHMENT_LIMIT, CLIENT_QUEUE, CLOSE_TIMEOUT, CLOSE_WRITE_TIMEOUT, Config, HANDSHAKE_TIMEOUT,
    MAX_CONNECTIONS, MAX_MESSAGE_SIZE, MAX_USER_NAME, SHUTDOWN_GRACE, WRITE_TIMEOUT,
};
use rooms::Rooms;

use crate::store::{Store, StoreError};

/// What the connection tasks share.
struct Shared {
    config: Config,
    store: Store,
    rooms: Rooms,
    /// Open WebSocket connections.
    live: AtomicUsize,
    next_connection: AtomicU64,
}

/// Why the server did not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The address could not be bound.
    #[error("could not listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The database could not be opened.
    #[error("could not open the history: {0}")]
    Store(#[from] StoreError),
}

/// A running chat server. Drop it only after [`Server::shutdown`]: a
/// dropped server's tasks end with the runtime.
pub struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    accept: JoinHandle<()>,
}

/// After a failed `accept` (out of file descriptors, say) the loop waits
/// this long, doubling up to [`ACCEPT_BACKOFF_MAX`], instead of spinning.
const ACCEPT_BACKOFF_START: Duration = Duration::from_millis(10);
/// The longest wait between failed accepts.
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

impl Server {
    // ANCHOR: start
    /// Opens the history, binds `config.addr` and starts accepting.
    pub async fn start(config: Config) -> Result<Self, ServerError> {
        todo!("Task 7: start the server (chapter 09, section \"Task 7: Start and shut down\")")
    }
    // ANCHOR_END: start

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ws://127.0.0.1:PORT/`: add `?user=NAME` to connect.
    pub fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// How many WebSocket connections are open.
    pub fn connections(&self) -> usize {
        self.shared.live.load(Ordering::SeqCst)
    }

    /// How many connections are in `room`.
    pub async fn members(&self, room: &str) -> usize {
        self.shared.rooms.member_count(room).await
    }

    // ANCHOR: shutdown
    /// Stops accepting, sends every client Close(1001), waits for the
    /// connections to end (at most [`SHUTDOWN_GRACE`]) and returns when no
    /// task of the server is left.
    pub async fn shutdown(self) {
        todo!("Task 7: shut down (chapter 09, section \"Task 7: Start and shut down\")")
    }
    // ANCHOR_END: shutdown
}
