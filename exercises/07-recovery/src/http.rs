//! A minimal HTTP/1.1 POST, written by hand over a TCP stream.
//!
//! The reporter needs to send one JSON document and learn the status code.
//! An HTTP client crate would do it, but HTTP/1.1 is a text protocol and the
//! request is six lines: writing it once shows what every client does, and
//! why a timeout around the whole exchange is not optional (a server that
//! accepts and never answers would otherwise hold the reporter forever).

use std::time::Duration;

// ANCHOR: consts
/// The longest a whole POST may take, connecting included. Error reporting
/// is best effort: two seconds is long enough for a healthy collector on any
/// network and short enough that a dead one never piles up work.
pub const POST_TIMEOUT: Duration = Duration::from_secs(2);
// ANCHOR_END: consts

// ANCHOR: error
/// Why a POST failed.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// The URL is not `http://host[:port]/path`.
    #[error("not an http:// URL: {0}")]
    InvalidUrl(String),
    /// Connecting, writing or reading failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The exchange took longer than the limit.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The answer did not start with an HTTP status line.
    #[error("not an HTTP response: {0:?}")]
    BadResponse(String),
    /// The server answered with a status outside 200–299.
    #[error("the server answered HTTP {0}")]
    Status(u16),
}
// ANCHOR_END: error

// ANCHOR: post_json
/// POSTs `body` as `application/json` to `url` (`http://host:port/path`)
/// and returns the status code when it is 2xx. The whole exchange is
/// bounded by `limit`.
pub async fn post_json(url: &str, body: &str, limit: Duration) -> Result<u16, PostError> {
    // ANCHOR_END: post_json
    todo!("Task 5: POST by hand (chapter 07, section \"Task 5: POST by hand\")")
}
