//! The driver: one task that takes a batch from the [`MessageQueue`] when it
//! is due, hands its messages to a [`Handler`] with at most `max_parallel`
//! at a time, and gives every outcome back to the queue. [`Queue`] is the
//! handle the application pushes to.
//!
//! *One* task takes batches, and it takes the next only after every
//! message of the current one has come back: two batches never run at
//! once, which is the bug the course's sketch had (a timer and a full
//! queue could both start `processBatch`). A handler that panics loses
//! nothing: the task's result carries its id, and the message is retried.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

use crate::config::QueueConfig;
use crate::core::{DeadLetter, MessageQueue, Pushed};
use crate::message::{HandleError, Message};
use crate::stats::Stats;

// ANCHOR: handler
/// What processes a message (sends it, stores it, …).
pub trait Handler: Send + Sync + 'static {
    /// Processes one message. An `Err` is retried (up to the limit) if
    /// [`HandleError::is_retryable`].
    fn handle(&self, message: Message) -> impl Future<Output = Result<(), HandleError>> + Send;
}

/// The course's processing, simulated: it sleeps for the kind's
/// [`simulated_time`](crate::Kind::simulated_time) and warns about (and
/// refuses) an unknown type.
#[derive(Debug, Clone, Copy, Default)]
pub struct SimulatedHandler;

impl Handler for SimulatedHandler {
    async fn handle(&self, message: Message) -> Result<(), HandleError> {
        match message.kind.simulated_time() {
            Some(time) => {
                tokio::time::sleep(time).await;
                Ok(())
            }
            None => {
                tracing::warn!(kind = message.kind.name(), "unknown message type");
                Err(HandleError::UnknownKind(message.kind.name().to_owned()))
            }
        }
    }
}
// ANCHOR_END: handler

/// What the handle and the worker share.
#[derive(Debug)]
struct Shared {
    queue: Mutex<MessageQueue>,
    /// Wakes the worker: a push, or shutdown. `notify_one` keeps a permit,
    /// so a push between the worker's check and its wait is not missed.
    wake: Notify,
    /// Tells `wait_idle` callers that something finished.
    changed: Notify,
}

impl Shared {
    /// The queue. A panic while the lock was held cannot leave it half
    /// updated in a way that matters more than stopping would, so a
    /// poisoned lock is used as is.
    fn lock(&self) -> MutexGuard<'_, MessageQueue> {
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

// ANCHOR: queue
/// The running queue: push messages, read the statistics, wait until all
/// is done. Made by [`Queue::start`], which spawns the worker task.
#[derive(Debug)]
pub struct Queue {
    shared: Arc<Shared>,
    closing: Arc<std::sync::atomic::AtomicBool>,
    worker: JoinHandle<()>,
}
// ANCHOR_END: queue

impl Queue {
    /// Starts the worker on the current runtime with `config`'s limits.
    pub fn start<H: Handler>(config: QueueConfig, handler: H) -> Queue {
        let shared = Arc::new(Shared {
            queue: Mutex::new(MessageQueue::new(config)),
            wake: Notify::new(),
            changed: Notify::new(),
        });
        let closing = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let worker = tokio::spawn(run(
            Arc::clone(&shared),
            Arc::clone(&closing),
            Arc::new(handler),
        ));
        Queue {
            shared,
            closing,
            worker,
        }
    }

    /// Pushes a message (see [`MessageQueue::push`]) and wakes the worker.
    pub fn push(&self, message: Message) -> Pushed {
        let pushed = self.shared.lock().push(message, Instant::now());
        self.shared.wake.notify_one();
        pushed
    }

    /// The statistics as of now.
    pub fn stats(&self) -> Stats {
        self.shared.lock().stats()
    }

    /// The dead-letter list as of now.
    pub fn dead_letters(&self) -> Vec<DeadLetter> {
        self.shared.lock().dead_letters().to_vec()
    }

    /// Removes every waiting message (see [`MessageQueue::clear`]).
    pub fn clear(&self) -> Vec<Message> {
        let cleared = self.shared.lock().clear();
        self.shared.changed.notify_waiters();
        cleared
    }

    /// Waits until nothing waits and nothing is being processed.
    pub async fn wait_idle(&self) {
        loop {
            // Registered before the check, so a change in between wakes it.
            let changed = self.shared.changed.notified();
            if self.shared.lock().is_idle() {
                return;
            }
            changed.await;
        }
    }

    /// Processes everything still waiting without waiting for deadlines,
    /// stops the worker, and returns the final statistics.
    pub async fn shutdown(self) -> Stats {
        self.closing
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.shared.wake.notify_one();
        if let Err(error) = self.worker.await {
            tracing::error!(%error, "the queue's worker ended abnormally");
        }
        self.shared.lock().stats()
    }
}

// ANCHOR: run
/// The worker: waits until a batch is due (a full batch, the oldest
/// message's deadline, or shutdown), processes it to the end, repeats.
async fn run<H: Handler>(
    shared: Arc<Shared>,
    closing: Arc<std::sync::atomic::AtomicBool>,
    handler: Arc<H>,
) {
    // ANCHOR_END: run
    // region: solution
    loop {
        let woken = shared.wake.notified();
        let closing_now = closing.load(std::sync::atomic::Ordering::SeqCst);
        let (batch, deadline, max_parallel) = {
            let mut queue = shared.lock();
            let now = Instant::now();
            let deadline = queue.batch_deadline();
            let due = match deadline {
                Some(deadline) => closing_now || deadline <= now,
                None => false,
            };
            let batch = if due {
                queue.take_batch(now)
            } else {
                Vec::new()
            };
            (batch, deadline, queue.config().max_parallel)
        };
        if !batch.is_empty() {
            process_batch(&shared, &handler, batch, max_parallel).await;
            shared.changed.notify_waiters();
            continue;
        }
        if closing_now {
            return;
        }
        match deadline {
            Some(deadline) => {
                tokio::select! {
                    () = woken => {}
                    () = tokio::time::sleep_until(deadline) => {}
                }
            }
            None => woken.await,
        }
    }
    // region: stub
    // todo!("Task 4: the worker (chapter 05, section \"Task 4: The worker\")")
    // endregion
}

// region: solution
/// Runs one batch through the handler, at most `max_parallel` messages at
/// a time, and gives every outcome back to the queue as it arrives.
async fn process_batch<H: Handler>(
    shared: &Shared,
    handler: &Arc<H>,
    batch: Vec<crate::core::Queued>,
    max_parallel: usize,
) {
    let mut waiting = batch.into_iter();
    let mut running = JoinSet::new();
    // The items being processed, by task: if a handler panics, the task's
    // id still tells which message to give back.
    let mut in_flight = HashMap::new();
    loop {
        while running.len() < max_parallel.max(1) {
            let Some(item) = waiting.next() else { break };
            let handler = Arc::clone(handler);
            let message = item.message.clone();
            let task = running.spawn(async move {
                let started = Instant::now();
                handler.handle(message).await.map(|()| started.elapsed())
            });
            in_flight.insert(task.id(), item);
        }
        let Some(joined) = running.join_next_with_id().await else {
            break;
        };
        let (id, outcome) = match joined {
            Ok((id, outcome)) => (id, outcome),
            Err(error) => (error.id(), Err(HandleError::Panicked)),
        };
        if let Some(item) = in_flight.remove(&id) {
            shared.lock().finish(item, outcome, Instant::now());
            shared.changed.notify_waiters();
        }
    }
}
// endregion
