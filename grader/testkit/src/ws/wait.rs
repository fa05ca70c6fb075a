//! Small futures the session's `select!` waits on: each is pending forever
//! when its feature is off, so one `select!` serves every endpoint.

use tokio::sync::{broadcast, watch};
use tokio::time::{Instant, Interval};
use tokio_tungstenite::tungstenite::Message;

pub(super) async fn at(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

pub(super) async fn tick(interval: &mut Option<Interval>) {
    match interval {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}

pub(super) async fn recv_room(
    rx: &mut Option<broadcast::Receiver<Message>>,
) -> Result<Message, broadcast::error::RecvError> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Resolves once shutdown is signalled (or the server is gone).
pub(crate) async fn signalled(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}
