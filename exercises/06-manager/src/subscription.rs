//! What a subscriber holds: a [`Subscription`] to a shared connection.
//!
//! The course's `subscribe(callback)` returned an `unsubscribe` function
//! that the caller had to remember to call. Here the subscription *is* the
//! unsubscribe: dropping it leaves, and dropping the last one closes the
//! connection. A callback that throws cannot break the others either: each
//! subscriber reads its own queue in its own code.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite;

use crate::connection::Command;
use crate::error::SendError;

// ANCHOR: status
/// Where the shared connection stands. The connection task publishes it on
/// a `watch` channel: waiting for "not connecting any more" is
/// `wait_for`, not a loop that polls every 100 ms.
#[derive(Debug, Clone)]
pub enum Status {
    /// The first attempt is in flight.
    Connecting,
    /// The socket is open.
    Connected,
    /// The socket was lost (closed, failed, or silent); a new one is on its way.
    Reconnecting,
    /// The first attempt failed; the task has ended.
    Failed(Arc<tungstenite::Error>),
}
// ANCHOR_END: status

// ANCHOR: event
/// What a subscriber receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A text message from the server.
    Text(String),
    /// A binary message from the server.
    Binary(Vec<u8>),
    /// This subscriber's queue was full, so `missed` messages were dropped
    /// for it (and only for it) before the next one.
    Lagged {
        /// How many messages this subscriber missed.
        missed: u64,
    },
    /// The connection was lost and is open again, and every topic of the
    /// live subscriptions was subscribed again; messages sent by the server
    /// in between are gone.
    Reconnected,
}
// ANCHOR_END: event

// ANCHOR: subscription
/// One subscriber of a shared connection. Not `Clone`: each subscriber has
/// its own queue. Drop it to unsubscribe.
#[derive(Debug)]
pub struct Subscription {
    /// Tells this subscription from the others of its connection
    /// ([`next_subscriber_id`]).
    pub(crate) id: u64,
    /// The URL of the shared connection.
    pub(crate) url: String,
    /// This subscriber's own bounded queue.
    pub(crate) events: mpsc::Receiver<Event>,
    /// To the connection task. Every subscription holds one sender; when
    /// the last is dropped the task's `recv` gives `None` and it closes.
    pub(crate) commands: mpsc::Sender<Command>,
    /// The connection's status.
    pub(crate) status: watch::Receiver<Status>,
}
// ANCHOR_END: subscription

/// A new subscription's [`Subscription::id`], unique in this process.
pub(crate) fn next_subscriber_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl Subscription {
    /// The URL of the shared connection.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The connection's status now.
    pub fn status(&self) -> Status {
        self.status.borrow().clone()
    }

    /// The next event for this subscriber; `None` once the connection has
    /// ended for good.
    pub async fn next_event(&mut self) -> Option<Event> {
        self.events.recv().await
    }

    // ANCHOR: send_text
    /// Sends a text message on the shared connection and waits until it is
    /// written. Fails at once with [`SendError::NotConnected`] unless the
    /// connection is open: messages are not queued behind a reconnect.
    pub async fn send_text(&self, text: &str) -> Result<(), SendError> {
        // ANCHOR_END: send_text
        todo!("Task 4: sending (chapter 06, section \"Task 4: Sending through the one writer\")")
    }

    // ANCHOR: subscribe_topic
    /// Subscribes to a topic of the server: sends `request`, the message
    /// that subscribes on this server (e.g. `subscribe news` on the
    /// testkit's `/ws/topics`), now if the connection is open, and again
    /// after every reconnect for as long as this subscription lives. A
    /// server forgets a connection's subscriptions when the socket goes; the
    /// connection task remembers them for it.
    pub async fn subscribe_topic(&self, request: &str) -> Result<(), SendError> {
        // ANCHOR_END: subscribe_topic
        let (reply, outcome) = oneshot::channel();
        let command = Command::Topic {
            id: self.id,
            request: request.to_owned(),
            reply,
        };
        if self.commands.send(command).await.is_err() {
            return Err(SendError::NotConnected);
        }
        outcome.await.unwrap_or(Err(SendError::NotConnected))
    }
}
