//! The one result model; every output format renders from it.
//!
//! The JSON form is this model serialised as is (schema version 1,
//! documented in the book's instructors' guide). Durations are the only
//! fields that differ between two gradings of the same submission on one
//! machine; `isolation` says what sandbox that machine gave the checks.

use serde::Serialize;

use crate::run::CheckStatus;
use crate::units::Visibility;

/// The version of the JSON schema; bump it on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// A graded submission.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// What was graded: `exercises`, `solutions` or a folder.
    pub submission: String,
    /// The sandbox the checks ran in, in one line
    /// ([`Isolation::describe`](crate::sandbox::Isolation::describe)): with
    /// or without the network and PID namespaces, and why not.
    pub isolation: String,
    /// Points scored over all graded units.
    pub score: u32,
    /// Points available over all graded units.
    pub max_score: u32,
    /// One entry per unit, in course order.
    pub units: Vec<UnitReport>,
}

/// Where a unit stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitState {
    /// Every check passed.
    Passed,
    /// It builds, and some checks fail.
    Failing,
    /// The code is still the stub (or the unit is missing from the submission).
    NotStarted,
    /// It does not compile.
    BuildFailed,
}

/// One unit's result.
#[derive(Debug, Clone, Serialize)]
pub struct UnitReport {
    /// `01`.
    pub id: String,
    /// `01-connection`.
    pub slug: String,
    /// Human title.
    pub title: String,
    /// Where it stands.
    pub state: UnitState,
    /// Points scored.
    pub score: u32,
    /// Points available: its checks' points, less those of skipped checks
    /// (not graded on this machine).
    pub max_score: u32,
    /// Time spent on the unit's checks (the build is shared, not counted).
    pub duration_ms: u64,
    /// The compiler's errors, when the unit does not build.
    pub build_output: Option<String>,
    /// Every check, in `unit.toml` order.
    pub checks: Vec<CheckReport>,
}

/// One check's result.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// The check's id (its function name).
    pub id: String,
    /// Visible (in the exercise) or hidden (grader only).
    pub visibility: Visibility,
    /// How it ended.
    pub status: CheckStatus,
    /// Points scored: all or nothing.
    pub score: u32,
    /// Points available. A skipped check keeps what it is worth here, but
    /// those points are left out of its unit's `max_score`.
    pub max_score: u32,
    /// What was expected and what happened, for a failed check; for a
    /// skipped one, the program it needs and how to install it.
    pub message: Option<String>,
    /// A teaching sentence.
    pub hint: String,
    /// The chapter section that explains it: `book/01-connection.md#closing`.
    pub chapter: String,
    /// The syllabus behaviours it covers.
    pub covers: Vec<String>,
    /// Wall-clock time of its process.
    pub duration_ms: u64,
    /// The end of what its process printed.
    pub output: String,
}

impl UnitReport {
    /// How many checks passed.
    pub fn passed(&self) -> usize {
        self.checks
            .iter()
            .filter(|check| check.status == CheckStatus::Pass)
            .count()
    }

    /// How many checks were skipped (not graded: a tool they need is
    /// missing on this machine).
    pub fn skipped(&self) -> usize {
        self.checks
            .iter()
            .filter(|check| check.status == CheckStatus::Skipped)
            .count()
    }
}

impl Report {
    /// The report with every text the submission controls (the folder's
    /// name, each check's message and output, the compiler's errors) made
    /// [`terminal_safe`](crate::sanitize::terminal_safe): what the human
    /// and text formats print.
    pub fn terminal_safe(&self) -> Report {
        use crate::sanitize::terminal_safe;
        let mut report = self.clone();
        report.submission = terminal_safe(&report.submission).into_owned();
        for unit in &mut report.units {
            if let Some(output) = &mut unit.build_output {
                *output = terminal_safe(output).into_owned();
            }
            for check in &mut unit.checks {
                if let Some(message) = &mut check.message {
                    *message = terminal_safe(message).into_owned();
                }
                check.output = terminal_safe(&check.output).into_owned();
            }
        }
        report
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|error| {
            format!("{{\"schema_version\":{SCHEMA_VERSION},\"error\":\"{error}\"}}")
        })
    }
}
