//! The queue itself, without a clock or a task: [`MessageQueue`] decides
//! what to keep, what to drop, what is a duplicate and what goes into the
//! next batch. It takes `now` as a parameter, so a test can play out an
//! hour of traffic in a loop; the [`worker`](crate::worker) is the only
//! part that waits.
//!
//! A message is always in exactly one place: waiting in a lane, being
//! processed (handed out by [`MessageQueue::take_batch`], not yet given
//! back to [`MessageQueue::finish`]), processed, dead-lettered, dropped or
//! cleared. The course's sketch lost track of its `processing` flag and
//! could run two batches at once; keeping the count here, next to the
//! lanes, is what makes the statistics exact.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use tokio::time::Instant;

use crate::config::QueueConfig;
use crate::message::{HandleError, Message, MessageId, Priority};
use crate::stats::Stats;

// ANCHOR: types
/// What [`MessageQueue::push`] did with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pushed {
    /// The message is waiting.
    Accepted,
    /// The message is waiting, and the queue was full, so the oldest
    /// waiting message was dropped; here it is.
    AcceptedDroppingOldest(Message),
    /// A message with the same id was pushed inside the de-duplication
    /// window; this one was dropped.
    Duplicate,
}

/// A message in the queue, with its bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    /// The message.
    pub message: Message,
    /// How many attempts have failed so far (0 on the first try).
    pub attempts: u32,
    /// When it (last) entered a lane: the batch deadline and the starvation
    /// limit count from here.
    pub enqueued_at: Instant,
}

/// A message that will not be processed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The message.
    pub message: Message,
    /// How many attempts were made.
    pub attempts: u32,
    /// The last attempt's error.
    pub error: HandleError,
}

/// The queue: three FIFO lanes, the ids seen recently, the dead-letter list
/// and the counters.
#[derive(Debug)]
pub struct MessageQueue {
    config: QueueConfig,
    /// One FIFO per priority, indexed by [`Priority::lane`].
    lanes: [VecDeque<Queued>; 3],
    /// Ids pushed inside the window, with when they were first seen.
    seen: HashMap<MessageId, Instant>,
    /// The same ids in the order they were seen, to forget them in order.
    seen_order: VecDeque<(MessageId, Instant)>,
    dead_letters: Vec<DeadLetter>,
    stats: Stats,
}
// ANCHOR_END: types

impl MessageQueue {
    /// An empty queue with `config`'s limits.
    pub fn new(config: QueueConfig) -> MessageQueue {
        MessageQueue {
            config,
            lanes: Default::default(),
            seen: HashMap::new(),
            seen_order: VecDeque::new(),
            dead_letters: Vec::new(),
            stats: Stats {
                max_size: config.max_size,
                ..Stats::default()
            },
        }
    }

    /// The limits this queue was made with.
    pub fn config(&self) -> &QueueConfig {
        &self.config
    }

    /// How many messages are waiting.
    pub fn len(&self) -> usize {
        self.lanes.iter().map(VecDeque::len).sum()
    }

    /// Whether no message is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether nothing waits and nothing is being processed.
    pub fn is_idle(&self) -> bool {
        self.is_empty() && self.stats.processing == 0
    }

    /// The counters, with `length` and `processing` as of now.
    pub fn stats(&self) -> Stats {
        Stats {
            length: self.len(),
            ..self.stats.clone()
        }
    }

    /// The messages given up on, oldest first.
    pub fn dead_letters(&self) -> &[DeadLetter] {
        &self.dead_letters
    }

    // ANCHOR: push
    /// Adds `message` at the back of its priority's lane.
    ///
    /// * If its id was pushed less than `dedup_window` ago, the message is
    ///   dropped and counted as a duplicate (`Pushed::Duplicate`).
    /// * If `max_size` messages are already waiting, the **oldest** waiting
    ///   message (of any lane) is dropped and counted, and returned in
    ///   `Pushed::AcceptedDroppingOldest`.
    pub fn push(&mut self, message: Message, now: Instant) -> Pushed {
        // ANCHOR_END: push
        // region: solution
        self.forget_ids_older_than(now);
        if self.seen.contains_key(&message.id) {
            self.stats.duplicates += 1;
            tracing::debug!(id = message.id, "duplicate message dropped");
            return Pushed::Duplicate;
        }
        self.seen.insert(message.id, now);
        self.seen_order.push_back((message.id, now));

        let dropped = if self.len() >= self.config.max_size {
            self.drop_oldest()
        } else {
            None
        };
        self.stats.accepted += 1;
        self.lanes[message.priority.lane()].push_back(Queued {
            message,
            attempts: 0,
            enqueued_at: now,
        });
        match dropped {
            Some(message) => Pushed::AcceptedDroppingOldest(message),
            None => Pushed::Accepted,
        }
        // region: stub
        // todo!("Task 1: capacity, overflow and de-duplication (chapter 05, section \"Task 1: Push\")")
        // endregion
    }

    // region: solution
    /// Forgets the ids first seen `dedup_window` or longer ago. The ids are
    /// kept in the order they were seen, so this looks only at the front.
    fn forget_ids_older_than(&mut self, now: Instant) {
        while let Some(&(id, seen_at)) = self.seen_order.front() {
            if now.saturating_duration_since(seen_at) < self.config.dedup_window {
                break;
            }
            self.seen_order.pop_front();
            self.seen.remove(&id);
        }
    }

    /// Drops the oldest waiting message. Each lane is FIFO, so the oldest
    /// is at the front of one of them.
    fn drop_oldest(&mut self) -> Option<Message> {
        let lane = self
            .lanes
            .iter()
            .enumerate()
            .filter_map(|(lane, items)| items.front().map(|item| (item.enqueued_at, lane)))
            .min()
            .map(|(_, lane)| lane)?;
        let dropped = self.lanes[lane].pop_front()?;
        self.stats.dropped += 1;
        tracing::warn!(
            id = dropped.message.id,
            "queue full: dropped the oldest message"
        );
        Some(dropped.message)
    }
    // endregion

    // ANCHOR: deadline
    /// When the next batch is due: at once if `batch_size` messages wait
    /// (return the oldest waiting message's `enqueued_at`, which is already
    /// past), else `batch_timeout` after the oldest waiting message arrived;
    /// `None` when nothing waits.
    pub fn batch_deadline(&self) -> Option<Instant> {
        // ANCHOR_END: deadline
        // region: solution
        let oldest = self
            .lanes
            .iter()
            .filter_map(|lane| lane.front().map(|item| item.enqueued_at))
            .min()?;
        if self.len() >= self.config.batch_size {
            // Already past: due at once.
            Some(oldest)
        } else {
            Some(oldest + self.config.batch_timeout)
        }
        // region: stub
        // todo!("Task 2: when the next batch is due (chapter 05, section \"Task 2: Batches\")")
        // endregion
    }

    // ANCHOR: take_batch
    /// Takes the next batch: up to `batch_size` waiting messages, counted as
    /// processing until they are given back to [`MessageQueue::finish`].
    ///
    /// Each slot goes to the front of a lane: first to a lane whose front
    /// has waited `starvation_limit` or longer (the longest-waiting first),
    /// otherwise to the highest priority that has messages. Within a lane
    /// the order is FIFO. An empty queue gives an empty batch (not counted).
    pub fn take_batch(&mut self, now: Instant) -> Vec<Queued> {
        // ANCHOR_END: take_batch
        // region: solution
        let mut batch = Vec::new();
        while batch.len() < self.config.batch_size {
            let Some(lane) = self.next_lane(now) else {
                break;
            };
            if let Some(item) = self.lanes[lane].pop_front() {
                batch.push(item);
            }
        }
        if !batch.is_empty() {
            self.stats.batches += 1;
            self.stats.processing += batch.len();
        }
        batch
        // region: stub
        // todo!("Task 2: priority lanes without starvation (chapter 05, section \"Task 2: Batches\")")
        // endregion
    }

    // region: solution
    /// The lane the next slot of a batch goes to.
    fn next_lane(&self, now: Instant) -> Option<usize> {
        let starving = self
            .lanes
            .iter()
            .enumerate()
            .filter_map(|(lane, items)| items.front().map(|item| (item.enqueued_at, lane)))
            .filter(|(enqueued_at, _)| {
                now.saturating_duration_since(*enqueued_at) >= self.config.starvation_limit
            })
            .min()
            .map(|(_, lane)| lane);
        starving.or_else(|| {
            Priority::ALL
                .iter()
                .map(|priority| priority.lane())
                .find(|&lane| !self.lanes[lane].is_empty())
        })
    }
    // endregion

    // ANCHOR: finish
    /// Gives back a message handed out by [`MessageQueue::take_batch`], with
    /// the outcome of its attempt: `Ok(how long processing took)` or the
    /// error.
    ///
    /// * Success: counted as processed, its time added to its kind's stats.
    /// * A retryable error before `max_attempts` attempts: counted as
    ///   retried and put back at the back of its lane (`enqueued_at = now`),
    ///   past the de-duplication check. If the queue is full, there is no
    ///   room to retry: it is dead-lettered rather than dropped unseen.
    /// * Otherwise: dead-lettered with the error.
    pub fn finish(&mut self, item: Queued, outcome: Result<Duration, HandleError>, now: Instant) {
        // ANCHOR_END: finish
        // region: solution
        self.stats.processing = self.stats.processing.saturating_sub(1);
        let Queued {
            message,
            attempts,
            enqueued_at: _,
        } = item;
        let attempts = attempts + 1;
        match outcome {
            Ok(elapsed) => {
                self.stats.processed += 1;
                let kind = self
                    .stats
                    .by_kind
                    .entry(message.kind.name().to_owned())
                    .or_default();
                kind.count += 1;
                kind.total += elapsed;
                kind.max = kind.max.max(elapsed);
            }
            Err(error)
                if error.is_retryable()
                    && attempts < self.config.max_attempts
                    && self.len() < self.config.max_size =>
            {
                self.stats.retried += 1;
                tracing::debug!(id = message.id, attempts, %error, "retrying");
                self.lanes[message.priority.lane()].push_back(Queued {
                    message,
                    attempts,
                    enqueued_at: now,
                });
            }
            Err(error) => {
                self.stats.dead_lettered += 1;
                tracing::warn!(id = message.id, attempts, %error, "dead-lettered");
                self.dead_letters.push(DeadLetter {
                    message,
                    attempts,
                    error,
                });
            }
        }
        // region: stub
        // todo!("Task 3: retries, dead letters and statistics (chapter 05, section \"Task 3: Outcomes\")")
        // endregion
    }

    // ANCHOR: clear
    /// Removes every waiting message (not those being processed), counts
    /// them as cleared, and returns them, oldest first within each lane,
    /// highest lane first.
    pub fn clear(&mut self) -> Vec<Message> {
        // ANCHOR_END: clear
        // region: solution
        let cleared: Vec<Message> = self
            .lanes
            .iter_mut()
            .flat_map(|lane| lane.drain(..).map(|item| item.message))
            .collect();
        self.stats.cleared += cleared.len() as u64;
        cleared
        // region: stub
        // todo!("Task 3: clear (chapter 05, section \"Task 3: Outcomes\")")
        // endregion
    }
}
