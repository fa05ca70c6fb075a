//! The server's settings, and every limit as a named constant with the
//! reason for its number.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

// ANCHOR: limits
/// The largest attachment accepted, in bytes: 1 MiB, the limit of the
/// lessons' size check. Counted on the whole message, after its fragments
/// were put together. A larger one is refused with an error message and
/// the connection stays open.
pub const ATTACHMENT_LIMIT: usize = 1024 * 1024;

/// The largest WebSocket message (and frame) the server reads at all:
/// 4 MiB, room for the largest attachment and its header with margin. It
/// bounds the memory one message can take; past it the connection is
/// closed with 1009, because the rest of the message cannot be skipped.
pub const MAX_MESSAGE_SIZE: usize = 4 * 1024 * 1024;

/// Frames a connection may have waiting to be written. A client that falls
/// this far behind is closed with 1013; at ~200 bytes a chat message that
/// is some 50 KB, while a healthy client on a slow link drains it quickly.
pub const CLIENT_QUEUE: usize = 256;

/// A single write that takes longer than this means the client has
/// stopped reading (its TCP window is shut): it is closed as too slow.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(2);

/// How long the server waits for a client's Close reply.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// How long the server tries to write its own Close frame. A client closed
/// for being slow may have megabytes in flight ahead of it: if it reads
/// again within this time, it learns why (1013) instead of seeing a reset.
/// Only one such socket and its kernel buffers are held meanwhile.
pub const CLOSE_WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a client has to complete the WebSocket handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long shutdown waits for the connections to close before it ends
/// the rest: every client gets Close(1001) well within it.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// Open connections at most. The bench holds 1 000 clients; past this the
/// server stops accepting until some leave.
pub const MAX_CONNECTIONS: usize = 4096;

/// The longest user or room name, in bytes.
pub const MAX_USER_NAME: usize = 32;
// ANCHOR_END: limits

/// How to run a server.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen; port 0 picks a free one.
    pub addr: SocketAddr,
    /// The SQLite file that keeps the history.
    pub database: PathBuf,
    /// See [`ATTACHMENT_LIMIT`].
    pub attachment_limit: usize,
    /// See [`MAX_MESSAGE_SIZE`].
    pub max_message_size: usize,
    /// See [`CLIENT_QUEUE`].
    pub client_queue: usize,
    /// See [`WRITE_TIMEOUT`]. The lag check raises it, so that only the
    /// queue decides when a client that reads late is too slow.
    pub write_timeout: Duration,
    /// Extra time every search takes. Zero; the checks raise it to prove
    /// that a slow query does not stall the other connections.
    pub search_cost: Duration,
}

impl Config {
    /// The defaults, listening on a free loopback port, keeping history
    /// in `database`.
    pub fn new(database: impl Into<PathBuf>) -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            database: database.into(),
            attachment_limit: ATTACHMENT_LIMIT,
            max_message_size: MAX_MESSAGE_SIZE,
            client_queue: CLIENT_QUEUE,
            write_timeout: WRITE_TIMEOUT,
            search_cost: Duration::ZERO,
        }
    }
}
