//! The errors of the client, one enum per operation.
//!
//! The original course's `onerror` handler printed `[object Event]`: the user
//! learned *that* something failed and nothing about *what*. Here every error
//! is a variant you can match on (a refused connection is not a bad URL, and
//! neither is a timeout), and every variant that wraps a lower-level failure
//! keeps it as its [`source`](std::error::Error::source), so
//! [`error_chain`] can print the whole story:
//! `connection refused by ws://127.0.0.1:1/ws: IO error: Connection refused (os error 111)`.
//!
//! The `Display` text of a variant does not repeat its source (that would
//! print the cause twice in a chain); it says what we were doing.

use std::time::Duration;

use tokio_tungstenite::tungstenite;

// ANCHOR: connect_error
/// Why [`connect`](crate::connect) failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The text is not a `ws://` URL we can connect to (it does not parse,
    /// has no host, or uses another scheme). Nothing was sent on the network.
    #[error("invalid WebSocket URL {url:?}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it, as tungstenite reports it.
        #[source]
        source: tungstenite::Error,
    },
    /// Nobody listens at that address: the operating system answered the TCP
    /// connect with a refusal (RST). The most common error while learning:
    /// the server is not running.
    #[error("connection refused by {url} (is the server running?)")]
    Refused {
        /// The URL we tried.
        url: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// TCP and the opening handshake together took longer than the limit;
    /// typically the server accepted the TCP connection but never answered
    /// the HTTP upgrade.
    #[error("no WebSocket handshake from {url} within {after:?}")]
    Timeout {
        /// The URL we tried.
        url: String,
        /// The limit that passed.
        after: Duration,
    },
    /// The server answered, but not with a WebSocket upgrade: a plain HTTP
    /// response such as `404 Not Found` or `401 Unauthorized`, or a response
    /// that breaks the protocol.
    #[error("the WebSocket handshake with {url} failed")]
    Handshake {
        /// The URL we tried.
        url: String,
        /// The handshake failure; for an HTTP error it holds the response.
        #[source]
        source: tungstenite::Error,
    },
    /// Any other I/O failure while connecting: the host name does not
    /// resolve, the network is unreachable, the connection was reset during
    /// the handshake.
    #[error("could not connect to {url}")]
    Io {
        /// The URL we tried.
        url: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}
// ANCHOR_END: connect_error

// ANCHOR: send_error
/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The connection is closed (by us, by the peer, or because it broke).
    /// Sending after close is a mistake the caller can make, so it is an
    /// error value, never a panic.
    #[error("the connection is closed; nothing can be sent on it")]
    Closed,
    /// There is no connection at all: what the terminal client says when a
    /// line is typed while disconnected (the browser sketch only sent
    /// "when the socket is open").
    #[error("not connected; type /connect first")]
    NotConnected,
    /// Writing to the socket failed; the connection is broken and its event
    /// stream will end with `Closed { code: 1006, .. }`.
    #[error("the message could not be written to the socket")]
    Failed(#[source] tungstenite::Error),
}
// ANCHOR_END: send_error

// ANCHOR: close_error
/// Why [`Connection::close`](crate::Connection::close) did not finish the
/// close handshake cleanly.
#[derive(Debug, thiserror::Error)]
pub enum CloseError {
    /// The connection had already ended (either side closed it, or it broke).
    #[error("the connection is already closed")]
    AlreadyClosed,
    /// RFC 6455 §7.4 reserves some codes: 1005, 1006 and 1015 only *report*
    /// what happened and must never be sent; codes below 1000, 1004, 1014,
    /// 1016–2999 and 5000 and up are not for applications.
    #[error(
        "{0} is not a close code an application may send (use 1000–1003, 1007–1013 or 3000–4999)"
    )]
    InvalidCode(u16),
    /// A Close frame is a control frame: its payload holds at most 125 bytes,
    /// two of which are the code.
    #[error("the close reason is {len} bytes long; a Close frame has room for {max}")]
    ReasonTooLong {
        /// The reason's length in bytes (UTF-8).
        len: usize,
        /// The most that fits, [`MAX_CLOSE_REASON`](crate::MAX_CLOSE_REASON).
        max: usize,
    },
    /// Our Close was sent but the peer's Close did not arrive in time; the
    /// socket was then dropped without a clean handshake.
    #[error("the peer did not answer our Close frame within {after:?}")]
    Timeout {
        /// The limit that passed.
        after: Duration,
    },
    /// The peer ended the TCP connection without sending its Close frame.
    #[error("the peer ended the connection without answering our Close frame")]
    NoReply,
    /// The socket failed while closing.
    #[error("the connection failed during the close handshake")]
    Failed(#[source] tungstenite::Error),
}
// ANCHOR_END: close_error

// ANCHOR: error_chain
/// Formats an error followed by its causes, `outer: inner: innermost`.
///
/// This is the fix for `[object Event]`: a log line that shows the whole
/// chain tells the user what to do ("connection refused … is the server
/// running?"). A cause whose text the line already ends with is skipped,
/// because some wrappers (like tungstenite's `IO error: {0}`) repeat their
/// source in their own message.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let inner_text = inner.to_string();
        if !text.ends_with(&inner_text) {
            text.push_str(": ");
            text.push_str(&inner_text);
        }
        cause = inner.source();
    }
    text
}
// ANCHOR_END: error_chain
