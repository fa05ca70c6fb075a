//! A minimal HTTP/1.1 POST, written by hand over a TCP stream.
//!
//! The reporter needs to send one JSON document and learn the status code.
//! An HTTP client crate would do it, but HTTP/1.1 is a text protocol and the
//! request is six lines: writing it once shows what every client does, and
//! why a timeout around the whole exchange is not optional (a server that
//! accepts and never answers would otherwise hold the reporter forever).

use std::time::Duration;

// region: solution
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
// endregion

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
    // region: solution
    let (authority, path) = split_url(url)?;
    let exchange = async {
        let mut stream = TcpStream::connect(authority).await?;
        let request = format!(
            "POST {path} HTTP/1.1\r\n\
             Host: {authority}\r\n\
             Content-Type: application/json\r\n\
             Content-Length: {}\r\n\
             Connection: close\r\n\
             \r\n",
            body.len()
        );
        stream.write_all(request.as_bytes()).await?;
        stream.write_all(body.as_bytes()).await?;
        stream.flush().await?;
        read_status(&mut stream).await
    };
    let status = tokio::time::timeout(limit, exchange)
        .await
        .map_err(|_| PostError::Timeout(limit))??;
    if (200..300).contains(&status) {
        Ok(status)
    } else {
        Err(PostError::Status(status))
    }
    // region: stub
    // todo!("Task 5: POST by hand (chapter 07, section \"Task 5: POST by hand\")")
    // endregion
}

// region: solution
/// The longest status line we read: a real one is ~20 bytes.
const MAX_STATUS_LINE: usize = 1024;

/// Splits `http://host:port/path` into `("host:port", "/path")`.
fn split_url(url: &str) -> Result<(&str, &str), PostError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| PostError::InvalidUrl(url.to_owned()))?;
    let (authority, path) = match rest.find('/') {
        Some(slash) => rest.split_at(slash),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err(PostError::InvalidUrl(url.to_owned()));
    }
    Ok((authority, path))
}

/// Reads up to the end of the status line, `HTTP/1.1 201 Created\r\n`, and
/// returns its code. The rest of the response is not needed.
async fn read_status(stream: &mut TcpStream) -> Result<u16, PostError> {
    let mut buffer = Vec::new();
    let mut chunk = [0_u8; 256];
    while !buffer.contains(&b'\n') && buffer.len() < MAX_STATUS_LINE {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
    let text = String::from_utf8_lossy(&buffer);
    let line = text.lines().next().unwrap_or_default();
    let mut parts = line.split_whitespace();
    match (parts.next(), parts.next().map(str::parse::<u16>)) {
        (Some(version), Some(Ok(code))) if version.starts_with("HTTP/1.") => Ok(code),
        _ => Err(PostError::BadResponse(line.to_owned())),
    }
}
// endregion
