//! The error taxonomy: every error the client meets belongs to one of five
//! kinds, and the kind decides whether trying again can help.
//!
//! The course's error boundary treated every error alike: catch, log, offer
//! "retry". But retrying a wrong password or a malformed frame gives the
//! same error again, and retrying a write on a connection that is already
//! closed (tungstenite's `AlreadyClosed`) is a bug in the caller, not a
//! network hiccup. Naming the kinds makes the decision a table you can test.

use std::future::Future;
use std::time::Duration;

// ANCHOR: kinds
/// The five kinds of error of the course.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The network failed us: refused, reset, timed out. Usually transient.
    Network,
    /// The peer broke the WebSocket protocol (or we did). Retrying sends the
    /// same bytes and gets the same answer.
    Protocol,
    /// We are not allowed in. Only new credentials help.
    Auth,
    /// The server is in trouble (HTTP 5xx, close 1011/1012/1013). Often
    /// transient: it restarts, it sheds load.
    Server,
    /// A bug on our side: a panic, a write after close. Retrying repeats it.
    Internal,
}
// ANCHOR_END: kinds

// ANCHOR: errors
/// The errors of the client, each with its kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    /// Nobody listens at the address.
    #[error("connection refused")]
    ConnectionRefused,
    /// The peer reset the connection (TCP RST) or it ended without a Close.
    #[error("connection reset by the peer")]
    ConnectionReset,
    /// An operation did not finish in time.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The peer sent something the protocol forbids.
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// HTTP 401 or close code 1008 on authentication: who are you?
    #[error("not authenticated")]
    Unauthorized,
    /// HTTP 403: we know who you are, and the answer is no.
    #[error("forbidden")]
    Forbidden,
    /// The server answered with an HTTP 5xx status.
    #[error("server error (HTTP {0})")]
    ServerStatus(u16),
    /// The server closed with code 1011 (internal error), 1012 (restart)
    /// or 1013 (try again later).
    #[error("server closed the connection with code {0}")]
    ServerClose(u16),
    /// We used a connection after it was closed: tungstenite's
    /// `Error::AlreadyClosed`. A bug in our code, never a network error.
    #[error("the connection was already closed")]
    AlreadyClosed,
    /// A task panicked (caught by the supervisor).
    #[error("task panicked: {0}")]
    Panic(String),
}
// ANCHOR_END: errors

// ANCHOR: retry_consts
/// How many times [`retry`] tries again after the first attempt: the
/// course's `maxRetries = 3`.
pub const MAX_RETRIES: u32 = 3;

/// How long [`retry`] waits before each new attempt. Never zero: a loop that
/// retries at once spins the CPU and hammers the peer.
pub const RETRY_DELAY: Duration = Duration::from_millis(500);
// ANCHOR_END: retry_consts

impl AppError {
    // ANCHOR: kind
    /// The kind of this error (see the table in chapter 07, "Task 1").
    pub fn kind(&self) -> ErrorKind {
        // ANCHOR_END: kind
        // region: solution
        match self {
            AppError::ConnectionRefused | AppError::ConnectionReset | AppError::Timeout(_) => {
                ErrorKind::Network
            }
            AppError::Protocol(_) => ErrorKind::Protocol,
            AppError::Unauthorized | AppError::Forbidden => ErrorKind::Auth,
            AppError::ServerStatus(_) | AppError::ServerClose(_) => ErrorKind::Server,
            AppError::AlreadyClosed | AppError::Panic(_) => ErrorKind::Internal,
        }
        // region: stub
        // todo!("Task 1: classify the error (chapter 07, section \"Task 1: The taxonomy\")")
        // endregion
    }

    // ANCHOR: is_retryable
    /// Whether trying the same operation again can succeed: network and
    /// server errors yes, the others no.
    pub fn is_retryable(&self) -> bool {
        // ANCHOR_END: is_retryable
        // region: solution
        matches!(self.kind(), ErrorKind::Network | ErrorKind::Server)
        // region: stub
        // todo!("Task 1: retryable or not (chapter 07, section \"Task 1: The taxonomy\")")
        // endregion
    }

    // ANCHOR: name
    /// The error's name for a report, like JavaScript's `error.name`: the
    /// variant's name, e.g. `"ConnectionRefused"`.
    pub fn name(&self) -> &'static str {
        // ANCHOR_END: name
        // region: solution
        match self {
            AppError::ConnectionRefused => "ConnectionRefused",
            AppError::ConnectionReset => "ConnectionReset",
            AppError::Timeout(_) => "Timeout",
            AppError::Protocol(_) => "Protocol",
            AppError::Unauthorized => "Unauthorized",
            AppError::Forbidden => "Forbidden",
            AppError::ServerStatus(_) => "ServerStatus",
            AppError::ServerClose(_) => "ServerClose",
            AppError::AlreadyClosed => "AlreadyClosed",
            AppError::Panic(_) => "Panic",
        }
        // region: stub
        // todo!("Task 1: the error's name (chapter 07, section \"Task 1: The taxonomy\")")
        // endregion
    }
}

// ANCHOR: retry
/// Runs `operation` (given the attempt number, 1-based) until it succeeds,
/// retrying a retryable error at most `max_retries` times with `delay`
/// between attempts. A fatal error is returned at once; after the last retry
/// the last error is returned.
pub async fn retry<T, F, Fut>(
    max_retries: u32,
    delay: Duration,
    mut operation: F,
) -> Result<T, AppError>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, AppError>>,
{
    // ANCHOR_END: retry
    // region: solution
    let mut attempt = 1;
    loop {
        match operation(attempt).await {
            Ok(value) => return Ok(value),
            Err(error) if error.is_retryable() && attempt <= max_retries => {
                tracing::debug!(%error, attempt, "retrying after {delay:?}");
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
            Err(error) => return Err(error),
        }
    }
    // region: stub
    // todo!("Task 2: retry what is retryable (chapter 07, section \"Task 2: Retrying\")")
    // endregion
}
