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
// region: solution
use tokio::time::Instant;

use crate::{POST_TIMEOUT, post_json};
// endregion

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
        // region: solution
        let (commands, receiver) = mpsc::channel(REPORT_QUEUE);
        tokio::spawn(run(endpoint.to_owned(), window, receiver));
        Reporter { commands }
        // region: stub
        // todo!("Task 6: start the task (chapter 07, section \"Task 6: The reporter\")")
        // endregion
    }

    // ANCHOR: report
    /// Queues `report`. Returns at once; never fails, never panics. When the
    /// queue is full or the task is gone the report is dropped and logged.
    pub fn report(&self, report: ErrorReport) {
        // ANCHOR_END: report
        // region: solution
        if let Err(error) = self.commands.try_send(Command::Report(report)) {
            tracing::warn!("error report dropped: {error}");
        }
        // region: stub
        // todo!("Task 6: queue the report (chapter 07, section \"Task 6: The reporter\")")
        // endregion
    }

    // ANCHOR: flush
    /// Posts every pending report now and returns how it went. A reporter
    /// whose task is gone returns an empty summary.
    pub async fn flush(&self) -> FlushSummary {
        // ANCHOR_END: flush
        // region: solution
        let (reply, answer) = oneshot::channel();
        if self.commands.send(Command::Flush(reply)).await.is_err() {
            return FlushSummary::default();
        }
        answer.await.unwrap_or_default()
        // region: stub
        // todo!("Task 6: flush (chapter 07, section \"Task 6: The reporter\")")
        // endregion
    }
}

// region: solution
/// A merged report waiting to be posted, and when its window closes.
struct Pending {
    due: Instant,
    report: ErrorReport,
}

/// The reporting task: merges reports by fingerprint and posts each when
/// its window closes, or on a flush.
async fn run(endpoint: String, window: Duration, mut commands: mpsc::Receiver<Command>) {
    let mut pending: HashMap<String, Pending> = HashMap::new();
    loop {
        let next_due = pending.values().map(|waiting| waiting.due).min();
        let window_closed = async {
            match next_due {
                Some(due) => tokio::time::sleep_until(due).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            command = commands.recv() => match command {
                Some(Command::Report(report)) => {
                    pending
                        .entry(report.fingerprint())
                        .and_modify(|waiting| {
                            waiting.report.count = waiting.report.count.saturating_add(report.count);
                        })
                        .or_insert_with(|| Pending { due: Instant::now() + window, report });
                }
                Some(Command::Flush(reply)) => {
                    let everything = pending.drain().map(|(_, waiting)| waiting.report).collect();
                    let summary = post_all(&endpoint, everything).await;
                    // The caller may have stopped waiting; that is fine.
                    let _ = reply.send(summary);
                }
                None => {
                    let everything = pending.drain().map(|(_, waiting)| waiting.report).collect();
                    post_all(&endpoint, everything).await;
                    return;
                }
            },
            () = window_closed => {
                let now = Instant::now();
                let due: Vec<String> = pending
                    .iter()
                    .filter(|(_, waiting)| waiting.due <= now)
                    .map(|(fingerprint, _)| fingerprint.clone())
                    .collect();
                let reports = due
                    .iter()
                    .filter_map(|fingerprint| pending.remove(fingerprint))
                    .map(|waiting| waiting.report)
                    .collect();
                post_all(&endpoint, reports).await;
            }
        }
    }
}

/// Posts `reports` one by one; a failure is logged and counted, never
/// raised.
async fn post_all(endpoint: &str, reports: Vec<ErrorReport>) -> FlushSummary {
    let mut summary = FlushSummary::default();
    for report in reports {
        let result = match serde_json::to_string(&report) {
            Ok(body) => post_json(endpoint, &body, POST_TIMEOUT).await.map(|_| ()),
            Err(error) => {
                tracing::warn!("error report not serialisable: {error}");
                summary.failed += 1;
                continue;
            }
        };
        match result {
            Ok(()) => summary.sent += 1,
            Err(error) => {
                tracing::warn!(%error, "error report not delivered");
                summary.failed += 1;
            }
        }
    }
    summary
}
// endregion
