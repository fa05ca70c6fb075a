//! The Rust "error boundary": a supervisor that runs a task, notices when it
//! panics, restarts it a limited number of times, and then escalates.
//!
//! In React an error boundary catches an exception thrown while rendering
//! its children and shows a fallback instead of a blank page. In tokio the
//! boundary is already there: a panic inside a spawned task does not unwind
//! into the spawner, it ends that task, and awaiting its `JoinHandle` gives
//! `Err(JoinError)` with `is_panic()`. The supervisor turns that into a
//! policy: restart (the course's "retry"), at most [`MAX_RESTARTS`] times,
//! then give up loudly (the course's "reload the page").

use std::future::Future;

use crate::AppError;

// ANCHOR: consts
/// How many times a panicking task is restarted before the supervisor
/// escalates: the course's `maxRetries = 3`.
pub const MAX_RESTARTS: u32 = 3;
// ANCHOR_END: consts

// ANCHOR: types
/// A task that finished, and how many restarts it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Supervised<T> {
    /// What the task returned.
    pub value: T,
    /// How many times it was restarted before it returned (0 = first run).
    pub restarts: u32,
}

/// The supervisor gave up: the task kept failing after every restart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("task failed after {restarts} restarts: {last_error}")]
pub struct Escalation {
    /// The restarts spent (equal to the budget).
    pub restarts: u32,
    /// The last failure: [`AppError::Panic`] with the panic's message.
    pub last_error: AppError,
}
// ANCHOR_END: types

// ANCHOR: supervise
/// Runs the task `make(run)` (`run` counts from 0) on its own tokio task. If
/// it panics (or is cancelled), starts a new one, at most `max_restarts`
/// times; after that returns [`Escalation`]. The supervisor itself never
/// panics.
pub async fn supervise<T, F, Fut>(
    max_restarts: u32,
    mut make: F,
) -> Result<Supervised<T>, Escalation>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    // ANCHOR_END: supervise
    // region: solution
    let mut restarts = 0;
    loop {
        match tokio::spawn(make(restarts)).await {
            Ok(value) => return Ok(Supervised { value, restarts }),
            Err(join_error) => {
                let last_error = AppError::Panic(panic_message(join_error));
                if restarts >= max_restarts {
                    tracing::error!(%last_error, restarts, "escalating");
                    return Err(Escalation {
                        restarts,
                        last_error,
                    });
                }
                restarts += 1;
                tracing::warn!(%last_error, restarts, "restarting the task");
            }
        }
    }
    // region: stub
    // todo!("Task 3: restart, then escalate (chapter 07, section \"Task 3: The supervisor\")")
    // endregion
}

// region: solution
/// The message a panic was raised with: `panic!("…")` carries a `&str` or a
/// `String`; anything else (`panic_any`) has no message.
fn panic_message(join_error: tokio::task::JoinError) -> String {
    if join_error.is_cancelled() {
        return "the task was cancelled".to_owned();
    }
    let payload = join_error.into_panic();
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "a panic without a message".to_owned()
    }
}
// endregion

// ANCHOR: retry_label
/// The label of the course's retry button after `restarts_used` restarts:
/// `"retry (1/3)"`, … and `None` (no button) once the budget is used up.
pub fn retry_label(restarts_used: u32) -> Option<String> {
    // ANCHOR_END: retry_label
    // region: solution
    (restarts_used < MAX_RESTARTS).then(|| format!("retry ({restarts_used}/{MAX_RESTARTS})"))
    // region: stub
    // todo!("Task 3: the retry button (chapter 07, section \"Task 3: The supervisor\")")
    // endregion
}
