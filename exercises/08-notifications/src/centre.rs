//! The notification centre: the toasts on screen, the history, and the
//! rules between them.
//!
//! * Toasts are shown **highest priority first**, and among equals newest
//!   first (the course stacked new toasts on top).
//! * A notification whose **tag** is already on screen replaces that toast
//!   (and restarts its timer) instead of stacking a second one; the history
//!   keeps one entry per tag too, the newest.
//! * A toast goes away after [`TOAST_DURATION`] or when closed; the
//!   **history keeps it**.
//! * **Do-not-disturb** silences the sinks and the toasts, never the history:
//!   what arrived while it was on can be read afterwards.
//! * The history holds at most `history_limit` entries
//!   ([`HISTORY_LIMIT`] by default), newest first, and can be searched.
//!
//! Time comes from `tokio::time::Instant`, so that tests drive the 5 s with
//! tokio's paused clock instead of waiting.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::message::Message;
use crate::notification::{ClickAction, Notification, NotificationType};
use crate::sink::Sink;

// ANCHOR: constants
/// How long a toast stays on screen: the course's 5 s.
pub const TOAST_DURATION: Duration = Duration::from_secs(5);

/// How many notifications the history keeps by default. The course kept
/// every one for ever; a hundred is a screenful of scrolling, and a centre
/// that runs for days must not grow without limit.
pub const HISTORY_LIMIT: usize = 100;
// ANCHOR_END: constants

/// What [`NotificationCentre::notify`] did with a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A new toast, and every sink got it.
    Shown,
    /// It replaced the toast with the same tag, and every sink got it.
    Replaced,
    /// Do-not-disturb: only the history got it.
    Silenced,
}

// ANCHOR: centre
/// A toast on screen: the notification, when it was shown, and its place
/// in the order of arrival (a tie-break for equal priorities).
#[derive(Debug)]
struct Toast {
    notification: Notification,
    shown_at: Instant,
    sequence: u64,
}

/// The notification centre.
pub struct NotificationCentre {
    sinks: Vec<Box<dyn Sink>>,
    toasts: Vec<Toast>,
    history: VecDeque<Notification>,
    history_limit: usize,
    do_not_disturb: bool,
    next_sequence: u64,
}
// ANCHOR_END: centre

impl Default for NotificationCentre {
    fn default() -> Self {
        NotificationCentre::new()
    }
}

impl NotificationCentre {
    /// A centre without sinks, keeping [`HISTORY_LIMIT`] notifications.
    pub fn new() -> NotificationCentre {
        NotificationCentre::with_history_limit(HISTORY_LIMIT)
    }

    /// A centre without sinks, keeping `limit` notifications.
    pub fn with_history_limit(limit: usize) -> NotificationCentre {
        NotificationCentre {
            sinks: Vec::new(),
            toasts: Vec::new(),
            history: VecDeque::new(),
            history_limit: limit,
            do_not_disturb: false,
            next_sequence: 0,
        }
    }

    /// Adds a sink; every notification shown from now on goes to it.
    pub fn add_sink(&mut self, sink: impl Sink + 'static) {
        self.sinks.push(Box::new(sink));
    }

    /// Turns do-not-disturb on or off.
    pub fn set_do_not_disturb(&mut self, on: bool) {
        self.do_not_disturb = on;
    }

    /// Whether do-not-disturb is on.
    pub fn do_not_disturb(&self) -> bool {
        self.do_not_disturb
    }

    // ANCHOR: notify
    /// Takes in one notification: into the history (replacing an entry with
    /// the same tag, then trimming to the limit), then, unless
    /// do-not-disturb is on, onto the screen (replacing the toast with the
    /// same tag) and to every sink.
    pub fn notify(&mut self, notification: Notification) -> Outcome {
        // ANCHOR_END: notify
        todo!("Task 3: take a notification in (chapter 08, section \"Task 3: The centre\")")
    }

    /// Maps a message and takes it in; `None` for a message that does not
    /// notify.
    pub fn on_message(&mut self, message: &Message) -> Option<Outcome> {
        Notification::from_message(message).map(|notification| self.notify(notification))
    }

    // ANCHOR: toasts
    /// The toasts on screen, highest priority first, newest first among equals.
    pub fn toasts(&self) -> Vec<&Notification> {
        // ANCHOR_END: toasts
        todo!("Task 3: the toasts in order (chapter 08, section \"Task 3: The centre\")")
    }

    // ANCHOR: history
    /// The history, newest first.
    pub fn history(&self) -> Vec<&Notification> {
        // ANCHOR_END: history
        todo!("Task 3: the history (chapter 08, section \"Task 3: The centre\")")
    }

    // ANCHOR: search
    /// The history entries whose title or content contains `query`,
    /// ignoring case, newest first.
    pub fn search(&self, query: &str) -> Vec<&Notification> {
        // ANCHOR_END: search
        todo!("Task 3: search the history (chapter 08, section \"Task 3: The centre\")")
    }

    /// The history entries of one category, newest first.
    pub fn category(&self, kind: NotificationType) -> Vec<&Notification> {
        self.history
            .iter()
            .filter(|entry| entry.kind == kind)
            .collect()
    }

    /// Closes a toast (its ✕). Returns whether it was on screen; the
    /// history keeps it.
    pub fn dismiss(&mut self, id: &str) -> bool {
        let before = self.toasts.len();
        self.toasts.retain(|toast| toast.notification.id != id);
        self.toasts.len() != before
    }

    /// A click on "view details →": closes the toast and returns its action,
    /// or `None` if no toast has that id.
    pub fn click(&mut self, id: &str) -> Option<ClickAction> {
        let action = self
            .toasts
            .iter()
            .find(|toast| toast.notification.id == id)
            .map(|toast| toast.notification.action.clone())?;
        self.dismiss(id);
        Some(action)
    }

    // ANCHOR: expire
    /// Removes the toasts shown [`TOAST_DURATION`] or longer ago (by
    /// `tokio::time::Instant::now()`) and returns them; the history keeps them.
    pub fn expire(&mut self) -> Vec<Notification> {
        // ANCHOR_END: expire
        todo!("Task 4: expire old toasts (chapter 08, section \"Task 4: Dismissal on time\")")
    }

    // ANCHOR: next_expiry
    /// When the next toast is due to go, if any is on screen.
    pub fn next_expiry(&self) -> Option<Instant> {
        // ANCHOR_END: next_expiry
        todo!("Task 4: the next deadline (chapter 08, section \"Task 4: Dismissal on time\")")
    }
}

/// Locks the shared centre. A panic in a sink while the lock was held
/// leaves the centre itself consistent, so a poisoned lock is used anyway.
fn lock(centre: &Mutex<NotificationCentre>) -> std::sync::MutexGuard<'_, NotificationCentre> {
    centre.lock().unwrap_or_else(PoisonError::into_inner)
}

// ANCHOR: run
/// Feeds the centre from the message stream and dismisses each toast when
/// its time is up, until the stream ends. The centre is shared so that the
/// rest of the program (and a test) can read it and toggle do-not-disturb.
pub async fn run(centre: Arc<Mutex<NotificationCentre>>, mut messages: mpsc::Receiver<Message>) {
    // ANCHOR_END: run
    todo!("Task 4: the driver (chapter 08, section \"Task 4: Dismissal on time\")")
}
