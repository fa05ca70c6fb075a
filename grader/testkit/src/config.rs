//! The server's configuration and every limit it enforces.
//!
//! Each limit is a named constant with the reason for its number, so a test
//! (or a chapter of the book) can refer to it by name instead of repeating it.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// Largest message (not frame) a client may send: 1 MiB. The course's
/// "message size limits" lesson uses this number; it also bounds a message that
/// arrives in many fragments, and the server answers anything bigger with
/// Close 1009 (RFC 6455 §7.4.1, "message too big").
pub const MAX_MESSAGE_SIZE: usize = 1 << 20;

/// Bytes read from a WebSocket connection at a time (its read buffer).
/// tungstenite zeroes the free part of its buffer before every read: with
/// its default of 128 KiB, that was half the CPU time of echoing a small
/// message (issue 11). 8 KiB, the read size of tokio's and hyper's buffers,
/// holds hundreds of test messages; a bigger message takes several reads.
pub const READ_BUFFER_SIZE: usize = 8 * 1024;

/// Most WebSocket connections open at once; the next upgrade gets HTTP 503.
/// mini-redis caps its connections at 250; 256 keeps a test server's file
/// descriptors well under the common default limit of 1024.
pub const MAX_CONNECTIONS: usize = 256;

/// How long a client may take to send its HTTP request head (the opening
/// handshake). Browsers send it immediately; 5 s is generous for a loaded CI
/// machine and short enough that a silent TCP client is gone quickly.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// The token `/ws/auth` accepts unless [`Config::tokens`] says otherwise.
pub const DEFAULT_TOKEN: &str = "let-me-in";

/// Close code for a refused token: in the private-use range 4000–4999
/// (RFC 6455 §7.4.2) and mirrors HTTP 401, so a client can tell "unauthorized"
/// from a network failure.
pub const UNAUTHORIZED_CLOSE_CODE: u16 = 4401;

/// Close reason sent with [`UNAUTHORIZED_CLOSE_CODE`].
pub const UNAUTHORIZED_REASON: &str = "unauthorized";

/// Messages a broadcast room buffers for its slowest member before that member
/// is closed with 1008 "too slow". 1024 small chat messages is several seconds
/// of a busy room; a member further behind than that is not reading.
pub const ROOM_CAPACITY: usize = 1024;

/// How long the graceful shutdown waits for open WebSockets to finish their
/// close handshake (the syllabus: "every client gets Close(1001) within 2 s").
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// A Pong that takes longer than this counts as late (the syllabus: "every
/// Ping gets its Pong within 1 s").
pub const LATE_PONG: Duration = Duration::from_secs(1);

/// After the close handshake the server waits this long for the client to end
/// the TCP connection, to tell a clean end from a reset (unit 01).
pub const CLOSE_TAIL_TIMEOUT: Duration = Duration::from_secs(1);

/// How long the server waits for the client's Close reply after sending its
/// own Close (outside shutdown). RFC 6455 sets no number; 5 s is far above any
/// loopback round trip.
pub const CLOSE_REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// A room member whose socket does not take one message within this time is
/// closed as too slow (the syllabus: "the slow client is closed within 5 s").
pub const ROOM_WRITE_TIMEOUT: Duration = Duration::from_secs(2);

/// Largest body `POST /api/v1/errors` accepts (HTTP 413 above it): an error
/// report with a stack trace is a few KiB; 64 KiB leaves plenty of room.
pub const MAX_ERROR_REPORT_BYTES: usize = 64 * 1024;

/// Error reports kept; further reports get HTTP 507. With
/// [`MAX_ERROR_REPORT_BYTES`] this bounds the store to 64 MiB.
pub const MAX_ERROR_REPORTS: usize = 1000;

/// Data frames recorded per connection (`ConnectionRecord::received`); later
/// frames are counted but not stored. Tests send at most a few hundred.
pub const MAX_RECORDED_FRAMES: usize = 10_000;

/// Bytes of recorded frames kept over all connections, so a long standalone
/// run cannot grow without bound: 64 × the default message size.
pub const RECORD_BUDGET_BYTES: usize = 64 * MAX_MESSAGE_SIZE;

/// Connection records kept; the oldest finished ones are forgotten first.
pub const MAX_CONNECTION_RECORDS: usize = 4096;

/// TCP connections still speaking HTTP (not yet upgraded) at once. Together
/// with [`MAX_CONNECTIONS`] this stays under a default 1024 descriptor limit.
pub const MAX_HTTP_CONNECTIONS: usize = 512;

/// Largest value of a `*_ms` option: one minute, longer than any test waits.
pub const MAX_OPTION_MS: u64 = 60_000;

/// Smallest `ping_ms`: pinging more often than every 10 ms only floods.
pub const MIN_PING_MS: u64 = 10;

/// Delayed echoes queued per connection before the server stops reading
/// (backpressure instead of unbounded memory).
pub const MAX_PENDING_ECHOES: usize = 1024;

/// Longest room name in `/ws/room/{name}`, in bytes.
pub const MAX_ROOM_NAME_BYTES: usize = 64;

/// Bytes the server reads (and discards) after the close handshake while
/// waiting for the client to end TCP: a 2 MiB message in flight must fit.
pub const TAIL_MAX_BYTES: usize = 16 * MAX_MESSAGE_SIZE;

/// First and longest pause after a failed `accept` (e.g. out of file
/// descriptors), doubling in between, as in mini-redis (which starts at 1 s;
/// a test server should recover faster).
pub const ACCEPT_BACKOFF_START: Duration = Duration::from_millis(10);
/// See [`ACCEPT_BACKOFF_START`].
pub const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// How the server is started; `Config::default()` is what tests want.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen; default `127.0.0.1:0` (a free port).
    pub addr: SocketAddr,
    /// Largest message a client may send; default [`MAX_MESSAGE_SIZE`].
    pub max_message_size: usize,
    /// Most WebSocket connections at once; default [`MAX_CONNECTIONS`].
    pub max_connections: usize,
    /// Time allowed for the HTTP request head; default [`HANDSHAKE_TIMEOUT`].
    pub handshake_timeout: Duration,
    /// Tokens accepted by `/ws/auth`; default `[DEFAULT_TOKEN]`.
    pub tokens: Vec<String>,
    /// When set, `GET /` and other unknown GET paths serve files from this
    /// directory (the built book).
    pub static_dir: Option<PathBuf>,
    /// Messages buffered per broadcast room; default [`ROOM_CAPACITY`].
    pub room_capacity: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            max_message_size: MAX_MESSAGE_SIZE,
            max_connections: MAX_CONNECTIONS,
            handshake_timeout: HANDSHAKE_TIMEOUT,
            tokens: vec![DEFAULT_TOKEN.to_owned()],
            static_dir: None,
            room_capacity: ROOM_CAPACITY,
        }
    }
}
