//! The errors of the manager: one enum for connecting, one for sending.

use std::sync::Arc;

use tokio_tungstenite::tungstenite;

// ANCHOR: errors
/// Why [`Manager::connect`](crate::Manager::connect) gave no subscription.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ManagerError {
    /// The pool already holds `limit` connections to other URLs. Drop the
    /// subscriptions of one of them (which closes it), or raise
    /// [`ManagerOptions::max_connections`](crate::ManagerOptions::max_connections).
    #[error("connection pool is full: {limit} connections are open (the limit), none to {url}")]
    PoolFull {
        /// The URL that did not get a connection.
        url: String,
        /// The pool's size limit.
        limit: usize,
    },
    /// The first connection attempt failed. Every caller that waited for
    /// that attempt gets the same error, hence the `Arc`.
    #[error("could not connect to {url}")]
    Connect {
        /// The URL we tried.
        url: String,
        /// What went wrong.
        #[source]
        source: Arc<tungstenite::Error>,
    },
    /// The connection's task ended while we were joining it.
    #[error("the connection to {url} closed while subscribing")]
    Closed {
        /// The URL.
        url: String,
    },
}

/// Why [`Subscription::send_text`](crate::Subscription::send_text) failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The shared connection is not open right now (it is connecting or
    /// reconnecting, or it has ended). The message was not queued: the
    /// caller decides whether to retry.
    #[error("not connected")]
    NotConnected,
    /// Writing to the socket failed; the connection will reconnect.
    #[error("writing the message failed")]
    Failed(#[source] tungstenite::Error),
}
// ANCHOR_END: errors
