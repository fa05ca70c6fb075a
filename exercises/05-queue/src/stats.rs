//! The queue's statistics: what the course's `getStats()` returned
//! (length, processing, maxSize) and what it needed for "performance
//! monitoring": every counter a message can end up in, and processing
//! times per type.
//!
//! The counters are *exact*: every accepted message is, at any moment, in
//! exactly one place, so
//! `accepted == length + processing + processed + dead_lettered + dropped + cleared`.

use std::collections::BTreeMap;
use std::time::Duration;

// ANCHOR: stats
/// Processing times of one message type (successful attempts only).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KindStats {
    /// How many messages of the type were processed.
    pub count: u64,
    /// Their processing times, added up.
    pub total: Duration,
    /// The longest of them.
    pub max: Duration,
}

impl KindStats {
    /// The mean processing time (zero before the first message).
    pub fn average(&self) -> Duration {
        match u32::try_from(self.count) {
            Ok(0) => Duration::ZERO,
            Ok(count) => self.total / count,
            Err(_) => self.total.div_f64(self.count as f64),
        }
    }
}

/// A snapshot of the queue's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Messages waiting (the course's `length`).
    pub length: usize,
    /// Messages being processed right now (the course's `processing`,
    /// a count here rather than a flag).
    pub processing: usize,
    /// The capacity (the course's `maxSize`).
    pub max_size: usize,
    /// Messages accepted by `push` (duplicates are not).
    pub accepted: u64,
    /// Pushes refused because the id was seen inside the window.
    pub duplicates: u64,
    /// Waiting messages dropped to make room (the oldest first).
    pub dropped: u64,
    /// Messages processed successfully.
    pub processed: u64,
    /// Failed attempts that were put back for another try.
    pub retried: u64,
    /// Messages moved to the dead-letter list.
    pub dead_lettered: u64,
    /// Waiting messages removed by `clear`.
    pub cleared: u64,
    /// Batches taken.
    pub batches: u64,
    /// Processing times per type name (`"text"`, …).
    pub by_kind: BTreeMap<String, KindStats>,
}
// ANCHOR_END: stats
