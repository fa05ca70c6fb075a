//! Alerting: notice when errors come faster than usual.
//!
//! One error is an event; ten in a minute is an incident. The monitor counts
//! the errors of a sliding window and raises an alert when the count reaches
//! a threshold, once (not on every further error), and clears it when the
//! count falls back below. It is pure: the caller passes the time, so a test
//! can walk through a minute in microseconds.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

// ANCHOR: consts
/// Errors within [`ALERT_WINDOW`] that raise the alert.
pub const ALERT_THRESHOLD: usize = 10;

/// The sliding window the errors are counted in.
pub const ALERT_WINDOW: Duration = Duration::from_secs(60);
// ANCHOR_END: consts

// ANCHOR: types
/// A change of the alert's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertChange {
    /// The error count within the window reached the threshold.
    Raised {
        /// Errors within the window at that moment.
        errors: usize,
    },
    /// The count fell back below the threshold.
    Cleared,
}

/// Counts errors in a sliding window and raises or clears an alert.
#[derive(Debug, Clone)]
pub struct ErrorRateMonitor {
    threshold: usize,
    window: Duration,
    /// When each error within the window happened, oldest first.
    errors: VecDeque<Instant>,
    alerting: bool,
}
// ANCHOR_END: types

impl ErrorRateMonitor {
    // ANCHOR: new
    /// A monitor that alerts at `threshold` errors within `window`.
    pub fn new(threshold: usize, window: Duration) -> ErrorRateMonitor {
        ErrorRateMonitor {
            threshold,
            window,
            errors: VecDeque::new(),
            alerting: false,
        }
    }

    /// Whether the alert is raised.
    pub fn is_alerting(&self) -> bool {
        self.alerting
    }
    // ANCHOR_END: new

    // ANCHOR: record
    /// Records an error at `now` (never earlier than the last call's time)
    /// and returns the alert's change, if any.
    pub fn record(&mut self, now: Instant) -> Option<AlertChange> {
        // ANCHOR_END: record
        // region: solution
        self.errors.push_back(now);
        self.check(now)
        // region: stub
        // todo!("Task 7: record an error (chapter 07, section \"Task 7: Alerting\")")
        // endregion
    }

    // ANCHOR: check
    /// Forgets errors older than the window at `now` and returns the alert's
    /// change, if any: call it on a timer, so that an alert clears even when
    /// no new error comes. An error exactly `window` old is forgotten.
    pub fn check(&mut self, now: Instant) -> Option<AlertChange> {
        // ANCHOR_END: check
        // region: solution
        while let Some(&oldest) = self.errors.front() {
            if now.saturating_duration_since(oldest) >= self.window {
                self.errors.pop_front();
            } else {
                break;
            }
        }
        let errors = self.errors.len();
        match (self.alerting, errors >= self.threshold) {
            (false, true) => {
                self.alerting = true;
                Some(AlertChange::Raised { errors })
            }
            (true, false) => {
                self.alerting = false;
                Some(AlertChange::Cleared)
            }
            _ => None,
        }
        // region: stub
        // todo!("Task 7: raise and clear (chapter 07, section \"Task 7: Alerting\")")
        // endregion
    }
}
