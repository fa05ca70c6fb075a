//! What the server tells a test: counters ([`Stats`]) and, per WebSocket
//! connection, a [`ConnectionRecord`] of everything it saw.

use std::time::Duration;

use serde::Serialize;

/// A snapshot of the server's counters (also served as `GET /api/v1/stats`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// WebSocket connections currently open.
    pub connections_open: usize,
    /// WebSocket connections ever accepted (upgraded).
    pub connections_total: usize,
    /// Data frames (text and binary messages) received from clients.
    pub frames_in: u64,
    /// Data frames sent to clients.
    pub frames_out: u64,
    /// Upgrades refused: over `max_connections`, bad handshakes, timeouts,
    /// unparsable requests.
    pub rejected: u64,
    /// Error reports recorded by `POST /api/v1/errors`.
    pub error_reports: usize,
}

/// A Close frame as the server saw or sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseRecord {
    /// The status code; 1005 when the Close frame carried none.
    pub code: u16,
    /// The reason text ("" when none).
    pub reason: String,
}

/// A data frame (a whole message) received from a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
}

/// How a WebSocket connection ended, as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The close handshake completed, then TCP ended without error.
    Clean,
    /// TCP ended (EOF) without a Close frame: what a browser reports as 1006.
    NoCloseFrame,
    /// Connection reset or broken pipe, e.g. the client dropped its socket
    /// before the server's Close reply.
    Reset,
    /// A message exceeded `max_message_size`; the server sent Close 1009.
    TooBig,
    /// Malformed frames and the like; the server sent Close 1002 (1007 for
    /// invalid UTF-8) if it could. Carries the library's description.
    ProtocolError(String),
    /// Ended by `TestServer::shutdown` (Close 1001 sent).
    ServerShutdown,
    /// A broadcast-room member fell behind (lagged the room's buffer or did not
    /// take a message within `ROOM_WRITE_TIMEOUT`); the server sent Close 1008
    /// "too slow" and dropped the connection.
    TooSlow,
}

/// Everything the server recorded about one WebSocket connection.
#[derive(Debug, Clone)]
pub struct ConnectionRecord {
    /// Sequential id, from 1, in order of opening.
    pub id: u64,
    /// The request path, e.g. "/ws" or "/ws/room/lobby".
    pub path: String,
    /// The raw query string, "" if none.
    pub query: String,
    /// Data frames from the client, in order (at most `MAX_RECORDED_FRAMES`).
    pub received: Vec<Frame>,
    /// Data frames the server sent on this connection.
    pub frames_out: u64,
    /// Pings the server sent (the `ping_ms` option).
    pub pings_sent: u64,
    /// Pongs that matched those pings.
    pub pongs_received: u64,
    /// The longest time a matched Pong took.
    pub max_pong_delay: Option<Duration>,
    /// Pings whose Pong took longer than `LATE_PONG` or never came (counted
    /// once the ping is older than `LATE_PONG`).
    pub late_pongs: u64,
    /// Pings the client sent (the server's library answers them).
    pub client_pings: u64,
    /// The client's first Close frame.
    pub close_received: Option<CloseRecord>,
    /// How many Close frames the client sent (a correct client sends 1),
    /// counted on the wire, also after the close handshake.
    pub close_frames_received: u32,
    /// The Close the server sent (initiated or as a reply).
    pub close_sent: Option<CloseRecord>,
    /// Set just before the server writes its reply to a client-initiated Close.
    pub close_reply_sent: bool,
    /// Data frames the client sent after the server had sent Close, or after
    /// its own Close frame.
    pub data_after_close: u64,
    /// `None` while the connection is open. Set once TCP has ended too: after
    /// the close handshake the server waits up to `CLOSE_TAIL_TIMEOUT` for the
    /// client to end its side (a client that drops its stream ends it at once).
    pub ending: Option<Ending>,
}

impl ConnectionRecord {
    pub(crate) fn new(id: u64, path: String, query: String) -> Self {
        ConnectionRecord {
            id,
            path,
            query,
            received: Vec::new(),
            frames_out: 0,
            pings_sent: 0,
            pongs_received: 0,
            max_pong_delay: None,
            late_pongs: 0,
            client_pings: 0,
            close_received: None,
            close_frames_received: 0,
            close_sent: None,
            close_reply_sent: false,
            data_after_close: 0,
            ending: None,
        }
    }
}
