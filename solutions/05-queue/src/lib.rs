//! # queue — unit 05 of the WebSocket Workbook: message queue and batching
//!
//! An outgoing-message queue that a WebSocket client puts between "the app
//! wants to send" and "the handler that sends": bounded, with an explicit
//! overflow policy (drop the oldest, and count it), de-duplication by
//! message id, priority lanes that cannot starve the low lane, batches of
//! [`BATCH_SIZE`] or after [`BATCH_TIMEOUT`], whichever comes first, retries
//! with a limit and a dead-letter list, and exact statistics.
//!
//! ## Layout
//!
//! * [`message`], what is queued: a [`Message`] with an id, a [`Kind`]
//!   (text, image, file, system or unknown) and a [`Priority`].
//! * [`config`], the limits, each a named constant with its origin, gathered
//!   in a [`QueueConfig`].
//! * [`core`], the queue itself, pure: [`MessageQueue`] decides what to
//!   keep, what to drop and what goes into the next batch. It takes `now`
//!   as a parameter and never sleeps, so every rule can be tested without a
//!   clock.
//! * [`stats`], the counters: [`Stats`] and per-kind [`KindStats`].
//! * [`worker`], the driver: one task that takes a batch when it is due,
//!   runs it through a [`Handler`] with bounded parallelism and reports
//!   every outcome back to the queue; [`Queue`] is its handle.
// region: stub
// // So that the stub compiles without warnings: parameters and helpers are
// // unused until you write the tasks. You may delete this line once all pass.
// #![allow(unused_variables, unused_mut, dead_code, unused_imports)]
// endregion

pub mod config;
pub mod core;
pub mod message;
pub mod stats;
pub mod worker;

pub use config::{
    BATCH_SIZE, BATCH_TIMEOUT, DEDUP_WINDOW, MAX_ATTEMPTS, MAX_PARALLEL, MAX_SIZE, QueueConfig,
    STARVATION_LIMIT,
};
pub use core::{DeadLetter, MessageQueue, Pushed, Queued};
pub use message::{HandleError, Kind, Message, MessageId, Priority};
pub use stats::{KindStats, Stats};
pub use worker::{Handler, Queue, SimulatedHandler};
