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
        // region: solution
        ReportContext {
            url: url.to_owned(),
            user_agent: USER_AGENT.to_owned(),
            timestamp: iso8601(SystemTime::now()),
        }
        // region: stub
        // todo!("Task 4: the context (chapter 07, section \"Task 4: The report\")")
        // endregion
    }
}

impl ErrorReport {
    // ANCHOR: from_error
    /// A report of `error` in `component`, with `count` 1 and a backtrace of
    /// the caller as `stack`.
    pub fn from_error(error: &AppError, component: &str, context: ReportContext) -> ErrorReport {
        // ANCHOR_END: from_error
        // region: solution
        ErrorReport {
            error: ErrorDetails {
                name: error.name().to_owned(),
                message: error.to_string(),
                // force_capture: a report without a stack is of little use,
                // whatever RUST_BACKTRACE says.
                stack: Backtrace::force_capture().to_string(),
            },
            error_info: ErrorInfo {
                component_stack: component.to_owned(),
            },
            context,
            count: 1,
        }
        // region: stub
        // todo!("Task 4: build the report (chapter 07, section \"Task 4: The report\")")
        // endregion
    }

    // ANCHOR: fingerprint
    /// What makes two reports "identical" for deduplication: the error's
    /// name and message and the component. Not the stack or the timestamp,
    /// which differ every time.
    pub fn fingerprint(&self) -> String {
        // ANCHOR_END: fingerprint
        // region: solution
        format!(
            "{}\u{0}{}\u{0}{}",
            self.error.name, self.error.message, self.error_info.component_stack
        )
        // region: stub
        // todo!("Task 6: the fingerprint (chapter 07, section \"Task 6: The reporter\")")
        // endregion
    }
}

// ANCHOR: iso8601
/// `time` in ISO 8601, UTC, with milliseconds, like JavaScript's
/// `Date.prototype.toISOString()`: `1970-01-01T00:00:00.000Z`. Times before
/// 1970 give the epoch.
pub fn iso8601(time: SystemTime) -> String {
    // ANCHOR_END: iso8601
    // region: solution
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since_epoch.as_secs();
    let days = i64::try_from(seconds / 86_400).unwrap_or(i64::MAX / 2);
    let (year, month, day) = civil_from_days(days);
    let second_of_day = seconds % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
        since_epoch.subsec_millis()
    )
    // region: stub
    // todo!("Task 4: format the timestamp (chapter 07, section \"Task 4: The report\")")
    // endregion
}

// region: solution
/// The (year, month, day) of the `days`-th day after 1970-01-01, in the
/// proleptic Gregorian calendar: Howard Hinnant's `civil_from_days`
/// (<https://howardhinnant.github.io/date_algorithms.html>). It counts in
/// 400-year eras starting on 1 March, so that the leap day is the last day
/// of a year and needs no special case.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month as u32, day as u32)
}
// endregion
