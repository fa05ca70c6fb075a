//! Who is typing: indicators that expire by themselves.
//!
//! A "stop typing" event is a courtesy, not something to rely on: the user
//! closes the laptop, the connection drops, the event is lost. So every
//! "typing" event only lends the user the indicator for [`TYPING_TIMEOUT`];
//! clients repeat it while the user keeps typing (at most every
//! [`TYPING_RESEND`]), and without a repeat it goes away on its own.
//!
//! Time is `tokio::time::Instant`, passed in, so tests drive it with tokio's
//! paused clock.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

// ANCHOR: typing
/// How long one "typing" event keeps the indicator on. Chat apps drop it a
/// few seconds after the last keystroke; 3 s is long enough to bridge the
/// pause between two words and short enough not to lie for long.
pub const TYPING_TIMEOUT: Duration = Duration::from_secs(3);

/// How often a client repeats "typing" while the user keeps typing: well
/// inside [`TYPING_TIMEOUT`], so a steady typist's indicator never flickers.
pub const TYPING_RESEND: Duration = Duration::from_secs(1);

/// The users typing in one room, each with the moment their indicator ends.
#[derive(Debug, Default, Clone)]
pub struct TypingTracker {
    until: BTreeMap<String, Instant>,
}

impl TypingTracker {
    /// An empty tracker.
    pub fn new() -> Self {
        Self::default()
    }

    /// `user` is typing (again) at `now`: their indicator lasts until
    /// `now + TYPING_TIMEOUT`.
    pub fn typing(&mut self, user: &str, now: Instant) {
        todo!(
            "Task 2: start or renew an indicator (chapter 09, section \"Task 2: Typing that expires\")"
        )
    }

    /// `user` stopped typing, or their message arrived: the indicator goes.
    pub fn stopped(&mut self, user: &str) {
        todo!("Task 2: end an indicator (chapter 09, section \"Task 2: Typing that expires\")")
    }

    /// Who is typing at `now`, sorted by name. Expired indicators are not
    /// listed (and are forgotten).
    pub fn typing_users(&mut self, now: Instant) -> Vec<String> {
        todo!("Task 2: who is typing now (chapter 09, section \"Task 2: Typing that expires\")")
    }

    /// When the next indicator ends, if any: a UI sleeps until then to
    /// redraw, instead of polling.
    pub fn next_expiry(&self) -> Option<Instant> {
        todo!("Task 2: the next expiry (chapter 09, section \"Task 2: Typing that expires\")")
    }
}
// ANCHOR_END: typing
