//! The error report, in the course's shape, and its ISO 8601 timestamp.
//!
//! The course's error boundary posted
//! `{ error {message, stack, name}, errorInfo {componentStack},
//! context {url, userAgent, timestamp} }` to `POST /api/v1/errors`. The
//! field names are camelCase on the wire (serde renames them) and
//! snake_case in Rust. One field is new: `count`, how many identical errors
//! the report stands for (see [`crate::Reporter`]).

use std::backtrace::Backtrace;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::AppError;

// ANCHOR: user_agent
/// What the reports give as `userAgent`: in a browser the `User-Agent`
/// header, here the crate's name and version.
pub const USER_AGENT: &str = concat!("websocket-workbook-recovery/", env!("CARGO_PKG_VERSION"));
// ANCHOR_END: user_agent

// ANCHOR: types
/// A report, as posted to `POST /api/v1/errors`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorReport {
    /// What went wrong.
    pub error: ErrorDetails,
    /// Where it went wrong.
    pub error_info: ErrorInfo,
    /// When and in which environment.
    pub context: ReportContext,
    /// How many identical errors this report stands for (1 or more).
    pub count: u32,
}

/// JavaScript's `error.{name, message, stack}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetails {
    /// The error's name, [`AppError::name`].
    pub name: String,
    /// The error's message, its `Display`.
    pub message: String,
    /// Where it happened: a Rust backtrace.
    pub stack: String,
}

/// React's `errorInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorInfo {
    /// In React the component tree; here the name of the part of the
    /// program that failed, e.g. `"chat/reader"`.
    pub component_stack: String,
}

/// The context of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportContext {
    /// The URL the client was talking to.
    pub url: String,
    /// Who reports: [`USER_AGENT`].
    pub user_agent: String,
    /// When, in ISO 8601 UTC with milliseconds: `2024-05-01T12:00:00.000Z`.
    pub timestamp: String,
}
// ANCHOR_END: types

impl ReportContext {
    // ANCHOR: context_now
    /// The context for an error that happens now while talking to `url`.
    pub fn now(url: &str) -> ReportContext {
        // ANCHOR_END: context_now
        todo!("Task 4: the context (chapter 07, section \"Task 4: The report\")")
    }
}

impl ErrorReport {
    // ANCHOR: from_error
    /// A report of `error` in `component`, with `count` 1 and a backtrace of
    /// the caller as `stack`.
    pub fn from_error(error: &AppError, component: &str, context: ReportContext) -> ErrorReport {
        // ANCHOR_END: from_error
        todo!("Task 4: build the report (chapter 07, section \"Task 4: The report\")")
    }

    // ANCHOR: fingerprint
    /// What makes two reports "identical" for deduplication: the error's
    /// name and message and the component. Not the stack or the timestamp,
    /// which differ every time.
    pub fn fingerprint(&self) -> String {
        // ANCHOR_END: fingerprint
        todo!("Task 6: the fingerprint (chapter 07, section \"Task 6: The reporter\")")
    }
}

// ANCHOR: iso8601
/// `time` in ISO 8601, UTC, with milliseconds, like JavaScript's
/// `Date.prototype.toISOString()`: `1970-01-01T00:00:00.000Z`. Times before
/// 1970 give the epoch.
pub fn iso8601(time: SystemTime) -> String {
    // ANCHOR_END: iso8601
    todo!("Task 4: format the timestamp (chapter 07, section \"Task 4: The report\")")
}
