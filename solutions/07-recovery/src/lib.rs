//! # recovery — unit 07 of the WebSocket Workbook: errors, boundaries and recovery
//!
//! What a client does when things go wrong: it knows *which kind* of error
//! it has (and whether trying again can help), it keeps a crashing task
//! from taking the program down (and gives up after a budget), and it tells
//! the operators, without flooding them and without crashing itself when
//! the reporting endpoint is down.
//!
//! ## Layout
//!
//! * [`taxonomy`], the error taxonomy: [`AppError`], its [`ErrorKind`] and
//!   [`AppError::is_retryable`]; [`retry`] retries only what is retryable.
//! * [`supervisor`], the Rust "error boundary": [`supervise`] runs a task,
//!   catches its panic (a [`tokio::task::JoinError`]), restarts it up to
//!   [`MAX_RESTARTS`] times and then escalates.
//! * [`report`], the report the course's error boundary posted
//!   ([`ErrorReport`]) and its ISO 8601 timestamp ([`iso8601`]).
//! * [`http`], a minimal HTTP/1.1 POST written by hand over a
//!   [`tokio::net::TcpStream`] ([`post_json`]).
//! * [`reporter`], the [`Reporter`]: a background task that merges a burst
//!   of identical errors into one report with a count and survives a
//!   failing endpoint.
//! * [`alert`], the [`ErrorRateMonitor`]: an alert raised when the error
//!   rate crosses a threshold within a window, cleared when it falls back.
// region: stub
// // So that the stub compiles without warnings: parameters and helpers are
// // unused until you write the tasks. You may delete this line once all pass.
// #![allow(unused_variables, unused_mut, dead_code, unused_imports)]
// endregion

pub mod alert;
pub mod http;
pub mod report;
pub mod reporter;
pub mod supervisor;
pub mod taxonomy;

pub use alert::{ALERT_THRESHOLD, ALERT_WINDOW, AlertChange, ErrorRateMonitor};
pub use http::{POST_TIMEOUT, PostError, post_json};
pub use report::{ErrorDetails, ErrorInfo, ErrorReport, ReportContext, USER_AGENT, iso8601};
pub use reporter::{DEDUP_WINDOW, FlushSummary, REPORT_QUEUE, Reporter};
pub use supervisor::{Escalation, MAX_RESTARTS, Supervised, retry_label, supervise};
pub use taxonomy::{AppError, ErrorKind, MAX_RETRIES, RETRY_DELAY, retry};
