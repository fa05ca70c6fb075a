//! The reporter: sends [`ErrorReport`]s to the collector without flooding
//! it and without ever failing its caller.
//!
//! Two lessons from error monitoring in production. First, errors come in
//! bursts: a server that goes down makes every client fail the same way,
//! many times a second, and one report per error floods the collector just
//! when it is needed. So identical reports (same [`ErrorReport::fingerprint`])
//! arriving within [`DEDUP_WINDOW`] of the first are merged into one, with a
//! `count`. Second, the reporting path is the least tested code in a program
//! and runs exactly when things are already broken: if the collector is down
//! too, the reporter must log and carry on, never panic, never block.
//!
//! So [`Reporter::report`] only puts the report on a bounded queue
//! (dropping it when the queue is full: a rate limit by construction), and
//! one background task merges and posts.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::ErrorReport;

// ANCHOR: consts
/// Identical reports within this time of the first are merged into one.
/// One second catches a reconnect storm's burst and still reports a new
/// problem within a second.
pub const DEDUP_WINDOW: Duration = Duration::from_secs(1);

/// How many reports may wait for the background task; more are dropped
/// (and logged). A bound, because an error loop must not eat the memory.
pub const REPORT_QUEUE: usize = 256;
// ANCHOR_END: consts

// ANCHOR: types
/// What a [`Reporter::flush`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlushSummary {
    /// Reports the collector accepted (2xx).
    pub sent: usize,
    /// Reports that could not be delivered (refused, timed out, non-2xx).
    pub failed: usize,
}

/// A handle to the reporting task. Cheap to clone; the task ends (after
/// posting what is pending) when the last handle is dropped.
#[derive(Debug, Clone)]
pub struct Reporter {
    commands: mpsc::Sender<Command>,
}

/// What a handle asks the task to do.
#[derive(Debug)]
enum Command {
    /// Record a report (merged with identical ones).
    Report(ErrorReport),
    /// Post everything pending now, and say how it went.
    Flush(oneshot::Sender<FlushSummary>),
}
// ANCHOR_END: types

impl Reporter {
    // ANCHOR: start
    /// Starts the reporting task, posting to `endpoint`
    /// (`http://host:port/api/v1/errors`) and merging identical reports
    /// within `window`. Must be called inside a tokio runtime.
    pub fn start(endpoint: &str, window: Duration) -> Reporter {
        // ANCHOR_END: start
        todo!("Task 6: start the task (chapter 07, section \"Task 6: The reporter\")")
    }

    // ANCHOR: report
    /// Queues `report`. Returns at once; never fails, never panics. When the
    /// queue is full or the task is gone the report is dropped and logged.
    pub fn report(&self, report: ErrorReport) {
        // ANCHOR_END: report
        todo!("Task 6: queue the report (chapter 07, section \"Task 6: The reporter\")")
    }

    // ANCHOR: flush
    /// Posts every pending report now and returns how it went. A reporter
    /// whose task is gone returns an empty summary.
    pub async fn flush(&self) -> FlushSummary {
        // ANCHOR_END: flush
        todo!("Task 6: flush (chapter 07, section \"Task 6: The reporter\")")
    }
}
