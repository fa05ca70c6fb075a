//! # testkit — the WebSocket server every test of the workbook talks to
//!
//! Tests start it in-process on `127.0.0.1:0` ([`TestServer::start`]) and get
//! a handle with its URLs, its counters and a record of every connection;
//! `cargo grade serve` runs it on `127.0.0.1:8000` beside the book.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let server = testkit::TestServer::start().await?;
//! let url = server.ws_url("/ws?delay_ms=5");
//! // … connect a client to `url`, then:
//! server
//!     .wait_until(std::time::Duration::from_secs(2), |s| s.stats().frames_in == 1)
//!     .await
//!     .expect("the server received the message");
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Layout
//!
//! * `config` — [`Config`] and every limit as a named constant with the
//!   reason for its number.
//! * `server` — [`TestServer`]: start, URLs, snapshots, `wait_until`,
//!   graceful `shutdown` and the abrupt `Drop`.
//! * `accept` — our own accept loop (connection cap, handshake timeout via
//!   hyper's `header_read_timeout`, `with_upgrades()`), instead of
//!   `axum::serve`, which would hide all three.
//! * `tasks` — every spawned task is tracked, so shutdown and `Drop` leave
//!   none running (a dropped `JoinHandle` only detaches).
//! * `http` — the routes: error reports, stats, health, index page.
//! * `static_files` — serves the built book, refusing path traversal.
//! * `upgrade` — the WebSocket endpoints' HTTP side: options, handshake
//!   checks, 426/400/503, and the hand-made upgrade that keeps the raw TCP
//!   stream.
//! * `options` — the fault-injection query options, parsed with serde;
//!   errors name the option.
//! * `ws` — one task per WebSocket connection: echo with faults, close on
//!   demand, rooms, pings, and the close-handshake forensics that tell
//!   Clean from Reset.
//! * `records` / `state` — what the server saw ([`Stats`],
//!   [`ConnectionRecord`]) and the shared state behind it: atomics and
//!   per-connection locks, so recording stays off the echo path's critical
//!   section; every change wakes `wait_until`.
//! * `util` — [`refused_addr`] and [`SilentListener`] for client failure tests.
//! * `relay` — [`IdleCutRelay`], a TCP relay that cuts connections after a
//!   stretch of silence (keepalive tests).
//! * `tls` — [`TlsEndpoint`], a `wss://` front with a certificate made at
//!   start-up; its root goes to the test.

mod accept;
mod config;
mod http;
mod options;
mod records;
mod relay;
mod server;
mod state;
mod static_files;
mod tasks;
mod tls;
mod upgrade;
mod util;
mod ws;

pub use config::{
    ACCEPT_BACKOFF_MAX, ACCEPT_BACKOFF_START, CLOSE_REPLY_TIMEOUT, CLOSE_TAIL_TIMEOUT, Config,
    DEFAULT_TOKEN, HANDSHAKE_TIMEOUT, LATE_PONG, MAX_CONNECTION_RECORDS, MAX_CONNECTIONS,
    MAX_ERROR_REPORT_BYTES, MAX_ERROR_REPORTS, MAX_HTTP_CONNECTIONS, MAX_MESSAGE_SIZE,
    MAX_OPTION_MS, MAX_PENDING_ECHOES, MAX_RECORDED_FRAMES, MAX_ROOM_NAME_BYTES, MIN_PING_MS,
    READ_BUFFER_SIZE, RECORD_BUDGET_BYTES, ROOM_CAPACITY, ROOM_WRITE_TIMEOUT, SHUTDOWN_GRACE,
    TAIL_MAX_BYTES, UNAUTHORIZED_CLOSE_CODE, UNAUTHORIZED_REASON,
};
pub use records::{CloseRecord, ConnectionRecord, Ending, Frame, Stats};
pub use relay::IdleCutRelay;
pub use server::{ServerProbe, TestServer, WaitTimeout};
pub use tls::{TlsEndpoint, TlsError};
pub use util::{SilentListener, refused_addr};
