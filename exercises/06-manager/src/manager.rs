//! The [`Manager`]: a cloneable handle to a pool of shared connections.
//!
//! The course made the manager a global singleton so that every component
//! found the same instance. In Rust the handle is an `Arc` inside: clone it
//! into every task that needs it, and they all share one pool. No global.
//!
//! The pool maps a URL to the connection's command channel, held **weakly**:
//! the pool must not keep a connection alive. Only subscriptions hold strong
//! senders, so the last one dropped is what ends the connection.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::connection::Command;
use crate::error::ManagerError;
use crate::subscription::next_subscriber_id;
use crate::subscription::{Status, Subscription};

// ANCHOR: constants
/// Default pool size: a client talks to a handful of endpoints; more than
/// this is likely a leak (a new URL per request, e.g. a token in the query).
pub const DEFAULT_MAX_CONNECTIONS: usize = 8;

/// Default ping interval: shorter than the 30–60 s after which proxies and
/// NAT boxes commonly cut an idle TCP connection, so traffic never stops.
pub const PING_INTERVAL: Duration = Duration::from_secs(15);

/// Default time allowed after a ping interval with nothing heard before the
/// peer is declared dead: a Pong crossing a slow link fits easily.
pub const PONG_TIMEOUT: Duration = Duration::from_secs(10);

/// Default queue length per subscriber: enough to ride out a burst, small
/// enough that a stuck subscriber costs little memory.
pub const SUBSCRIBER_BUFFER: usize = 64;

/// Commands (subscribe, send) waiting for the connection task.
pub const COMMAND_BUFFER: usize = 64;
// ANCHOR_END: constants

// ANCHOR: options
/// The manager's settings. `ManagerOptions::default()` uses the constants.
#[derive(Debug, Clone)]
pub struct ManagerOptions {
    /// How many URLs may have a connection at the same time.
    pub max_connections: usize,
    /// How often the connection pings the server.
    pub ping_interval: Duration,
    /// Silence allowed beyond `ping_interval`: a connection that hears
    /// nothing for `ping_interval + pong_timeout` is dead.
    pub pong_timeout: Duration,
    /// Queue length of each subscriber.
    pub subscriber_buffer: usize,
    /// Root certificates (DER) to trust for `wss://` URLs instead of the
    /// web's roots; empty (the default) trusts the web's roots.
    pub root_certificates: Vec<Vec<u8>>,
}
// ANCHOR_END: options

impl Default for ManagerOptions {
    fn default() -> Self {
        ManagerOptions {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            ping_interval: PING_INTERVAL,
            pong_timeout: PONG_TIMEOUT,
            subscriber_buffer: SUBSCRIBER_BUFFER,
            root_certificates: Vec::new(),
        }
    }
}

// ANCHOR: stats
/// The course's `getStats()`, for one URL.
#[derive(Debug, Clone)]
pub struct ConnectionStats {
    /// The URL (the course's `config`).
    pub url: String,
    /// The socket is open.
    pub is_connected: bool,
    /// The first attempt or a reconnection is in flight.
    pub is_connecting: bool,
    /// Live subscriptions (and connects waiting to become one).
    pub subscriber_count: usize,
}
// ANCHOR_END: stats

// ANCHOR: manager
/// A handle to the pool. Cheap to clone; all clones share the pool.
#[derive(Debug, Clone)]
pub struct Manager {
    options: ManagerOptions,
    pool: Arc<Mutex<HashMap<String, Entry>>>,
}

/// One URL's connection, as the pool sees it.
#[derive(Debug)]
struct Entry {
    /// Weak: the pool never keeps a connection alive by itself.
    commands: mpsc::WeakSender<Command>,
    /// The connection's status, for new subscribers and for `stats`.
    status: watch::Receiver<Status>,
}
// ANCHOR_END: manager

impl Entry {
    /// A strong sender if the connection task is still there.
    fn live(&self) -> Option<mpsc::Sender<Command>> {
        self.commands
            .upgrade()
            .filter(|commands| !commands.is_closed())
    }
}

impl Manager {
    /// A manager with an empty pool.
    pub fn new(options: ManagerOptions) -> Manager {
        Manager {
            options,
            pool: Arc::default(),
        }
    }

    // ANCHOR: connect
    /// Subscribes to the shared connection to `url`, opening it if there is
    /// none. Concurrent calls for the same URL share one attempt: they all
    /// wait for it (on the status channel) and all get its outcome.
    pub async fn connect(&self, url: &str) -> Result<Subscription, ManagerError> {
        // ANCHOR_END: connect
        todo!("Task 1: the pool (chapter 06, section \"Task 1: One connection per URL\")")
    }

    /// The course's `getStats()` for `url`; `None` when the pool has no
    /// live connection to it.
    pub fn stats(&self, url: &str) -> Option<ConnectionStats> {
        let pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = pool.get(url)?;
        entry.live()?;
        let status = entry.status.borrow().clone();
        Some(ConnectionStats {
            url: url.to_owned(),
            is_connected: matches!(status, Status::Connected),
            is_connecting: matches!(status, Status::Connecting | Status::Reconnecting),
            subscriber_count: entry.commands.strong_count(),
        })
    }

    /// URLs with a live connection in the pool.
    pub fn open_connections(&self) -> usize {
        let pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        pool.values().filter(|entry| entry.live().is_some()).count()
    }
}
