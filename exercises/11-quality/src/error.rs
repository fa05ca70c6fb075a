//! What can go wrong while monitoring.

use tokio_tungstenite::tungstenite;

/// Why a [`QualityClient`](crate::QualityClient) could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// The opening handshake failed.
    #[error("could not connect to {url}: {source}")]
    Connect {
        /// The URL we tried.
        url: String,
        /// What tungstenite reported.
        source: tungstenite::Error,
    },
    /// Reading or writing failed while monitoring.
    #[error("the connection failed while monitoring: {0}")]
    Connection(#[from] tungstenite::Error),
    /// The server closed the connection (code 1005 when its Close had none).
    #[error("the server closed the connection with code {code}")]
    ClosedByServer {
        /// The close code the server sent.
        code: u16,
    },
    /// The monitoring task ended without a result (it panicked).
    #[error("the monitoring task ended unexpectedly")]
    TaskEnded,
}
