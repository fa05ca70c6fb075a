//! The queue's limits. Every number is a named constant that says where it
//! comes from; [`QueueConfig`] gathers them so that a test (or a program)
//! can change one without touching the others.

use std::time::Duration;

// ANCHOR: constants
/// How many messages may wait in the queue (the course's `maxSize = 100`).
///
/// When a message arrives at a full queue the **oldest** waiting message is
/// dropped, as in the course ("keeping the newest"): for live data the
/// newest message is the one worth sending. Every drop is counted.
pub const MAX_SIZE: usize = 100;

/// The most messages in one batch (the course's batches of 10).
pub const BATCH_SIZE: usize = 10;

/// The longest the oldest waiting message waits before a batch goes out
/// even though it is not full (the course's 100 ms batch timeout).
pub const BATCH_TIMEOUT: Duration = Duration::from_millis(100);

/// How long a message id is remembered for de-duplication.
///
/// The course asked for de-duplication but gave no window. Thirty seconds
/// is unit 04's longest reconnection delay: a client that resends what it
/// was not sure had gone out, after a reconnect, resends within it.
pub const DEDUP_WINDOW: Duration = Duration::from_secs(30);

/// The longest a message waits before it is served ahead of higher
/// priorities (its lane's oldest message jumps the queue).
///
/// Five batch timeouts: long enough that priority means something under
/// load, short enough that a low-priority message is never stuck.
pub const STARVATION_LIMIT: Duration = Duration::from_millis(500);

/// How many times a message is handed to the handler before it is moved to
/// the dead-letter list (one attempt and two retries; beyond the course).
pub const MAX_ATTEMPTS: u32 = 3;

/// How many messages of one batch are handled at the same time.
///
/// The course's sketch started the whole batch at once; a bound keeps a
/// slow batch from opening ten uploads together.
pub const MAX_PARALLEL: usize = 4;
// ANCHOR_END: constants

// ANCHOR: config
/// The queue's limits; [`QueueConfig::default`] is the course's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueConfig {
    /// See [`MAX_SIZE`].
    pub max_size: usize,
    /// See [`BATCH_SIZE`].
    pub batch_size: usize,
    /// See [`BATCH_TIMEOUT`].
    pub batch_timeout: Duration,
    /// See [`DEDUP_WINDOW`].
    pub dedup_window: Duration,
    /// See [`STARVATION_LIMIT`].
    pub starvation_limit: Duration,
    /// See [`MAX_ATTEMPTS`].
    pub max_attempts: u32,
    /// See [`MAX_PARALLEL`].
    pub max_parallel: usize,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            max_size: MAX_SIZE,
            batch_size: BATCH_SIZE,
            batch_timeout: BATCH_TIMEOUT,
            dedup_window: DEDUP_WINDOW,
            starvation_limit: STARVATION_LIMIT,
            max_attempts: MAX_ATTEMPTS,
            max_parallel: MAX_PARALLEL,
        }
    }
}
// ANCHOR_END: config
