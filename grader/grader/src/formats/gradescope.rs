//! `--format gradescope`: the report as Gradescope's `results.json`
//! (<https://gradescope-autograders.readthedocs.io/en/latest/specs/>,
//! "Output format").
//!
//! * Top level: `score` (the report's total), `execution_time` (seconds,
//!   the checks' time), `output` (the score table, the sandbox the checks
//!   ran in, and the compiler output of a unit that does not compile),
//!   `stdout_visibility: "visible"`.
//! * One test per check, numbered `unit.index` (`01.3` is the third check
//!   of unit 01), named `01-connection: echo_text_round_trip`, all or
//!   nothing: `score` is `max_score` when it passed, else 0.
//! * A visible check is `"visible"` and a failed one shows its message,
//!   hint and chapter. A hidden check is `"after_due_date"` and shows its
//!   name and hint only: not its message nor its output, which would tell
//!   what the hidden check does.
//! * A skipped check (a program it needs is missing on the autograder's
//!   image) is `score` 0 out of `max_score` 0, so it weighs nothing in
//!   Gradescope's sums, and `status` `"failed"`, so Gradescope shows it in
//!   red rather than as a green 0/0: its output starts with `Skipped, not
//!   graded:` and carries the harness's message (which program, how to
//!   install it; it says nothing about what a hidden check does). On
//!   Gradescope that is the autograder's fault, not the learner's: install
//!   the program in `setup.sh`, and grade under `CI=true`, where such a
//!   check fails instead of skipping.

use serde::Serialize;
use std::fmt::Write;

use crate::report::{CheckReport, Report, UnitReport, UnitState};
use crate::run::CheckStatus;
use crate::units::Visibility;

/// A `results.json` document.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    /// Points scored over all graded units.
    pub score: u32,
    /// Seconds spent running checks.
    pub execution_time: f64,
    /// Text for the whole submission.
    pub output: String,
    /// Always `"visible"`: the autograder's own output is the grader's
    /// progress and errors, which only instructors read.
    pub stdout_visibility: &'static str,
    /// One per check, in course order.
    pub tests: Vec<Test>,
}

/// One test case of `results.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Test {
    /// `01-connection: echo_text_round_trip`.
    pub name: String,
    /// `01.3`: unit id and the check's position in its unit, from 1.
    pub number: String,
    /// Points scored.
    pub score: u32,
    /// Points available.
    pub max_score: u32,
    /// `"passed"` or `"failed"` (a skipped check is `"failed"`, out of 0).
    pub status: &'static str,
    /// What the learner reads about this check.
    pub output: String,
    /// `"visible"`, or `"after_due_date"` for a hidden check.
    pub visibility: &'static str,
}

/// How many lines of compiler output the top-level output shows per unit.
const BUILD_LINES: usize = 60;

/// The report as Gradescope's results, in English whatever the learner's
/// language (see [`crate::formats`]).
pub fn results(report: &Report) -> Results {
    crate::l10n::with_lang(crate::l10n::Lang::En, || english_results(report))
}

fn english_results(report: &Report) -> Results {
    Results {
        score: report.score,
        execution_time: super::seconds(report.units.iter().map(|u| u.duration_ms).sum()),
        output: overall(report),
        stdout_visibility: "visible",
        tests: report
            .units
            .iter()
            .flat_map(|unit| {
                unit.checks
                    .iter()
                    .enumerate()
                    .map(move |(index, check)| test(&report.submission, unit, index, check))
            })
            .collect(),
    }
}

/// The report as `results.json` text.
pub fn render(report: &Report) -> String {
    serde_json::to_string_pretty(&results(report))
        .unwrap_or_else(|error| format!("{{\"score\":0,\"output\":\"{error}\"}}"))
}

fn overall(report: &Report) -> String {
    let mut out = format!(
        "WebSocket Workbook: {}/{} points\n\n",
        report.score, report.max_score
    );
    for unit in &report.units {
        let _ = writeln!(
            out,
            "{} {}: {}, {}/{}",
            unit.id,
            unit.title,
            state_text(unit.state),
            unit.score,
            unit.max_score
        );
    }
    if !report.isolation.is_empty() {
        let _ = writeln!(out, "\nSandbox: {}", report.isolation);
    }
    for unit in &report.units {
        if unit.state != UnitState::BuildFailed {
            continue;
        }
        let _ = writeln!(
            out,
            "\n{} {} does not compile. The grader builds only your src/ with the course's \
             Cargo.toml; its first errors:\n",
            unit.id, unit.title
        );
        let text = crate::learner::explain::build_output_for_learner(
            &unit.slug,
            unit.build_output.as_deref().unwrap_or(""),
        );
        let text = text.as_str();
        for line in text.lines().take(BUILD_LINES) {
            let _ = writeln!(out, "    {line}");
        }
        if text.lines().count() > BUILD_LINES {
            let _ = writeln!(out, "    …");
        }
    }
    out
}

fn state_text(state: UnitState) -> &'static str {
    match state {
        UnitState::Passed => "passed",
        UnitState::Failing => "failing",
        UnitState::NotStarted => "not started",
        UnitState::BuildFailed => "does not compile",
    }
}

fn test(submission: &str, unit: &UnitReport, index: usize, check: &CheckReport) -> Test {
    let visibility = match check.visibility {
        Visibility::Visible => "visible",
        Visibility::Hidden => "after_due_date",
    };
    if check.status == CheckStatus::Skipped {
        return Test {
            name: format!("{}: {}", unit.slug, check.id),
            number: format!("{}.{}", unit.id, index + 1),
            score: 0,
            max_score: 0,
            status: "failed",
            output: format!(
                "Skipped, not graded: {}",
                check
                    .message
                    .as_deref()
                    .unwrap_or("a program this check needs is missing")
            ),
            visibility,
        };
    }
    let passed = check.status == CheckStatus::Pass;
    Test {
        name: format!("{}: {}", unit.slug, check.id),
        number: format!("{}.{}", unit.id, index + 1),
        score: check.score,
        max_score: check.max_score,
        status: if passed { "passed" } else { "failed" },
        output: if passed {
            String::new()
        } else {
            test_output(submission, unit, check)
        },
        visibility,
    }
}

fn test_output(submission: &str, unit: &UnitReport, check: &CheckReport) -> String {
    let why = match (unit.state, check.status) {
        (UnitState::NotStarted, _) => "Not started: this unit is missing or still the stub.",
        (UnitState::BuildFailed, _) => {
            "Not run: this unit does not compile (see the output above)."
        }
        (_, CheckStatus::Timeout) => "Timed out.",
        (_, CheckStatus::Error) => "Ended without a result (the process exited or crashed).",
        (_, CheckStatus::NotRun) => "Not run.",
        (_, CheckStatus::Skipped) => "Skipped, not graded.",
        (_, CheckStatus::Fail | CheckStatus::Pass) => "Failed.",
    };
    let mut out = String::from(why);
    let ran = matches!(unit.state, UnitState::Failing | UnitState::Passed);
    // A check that reached unwritten code: say where, and not its hint,
    // which is about something else (it names only the learner's code).
    let read_source = crate::learner::explain::read_learner_source(submission);
    if ran && let Some(unwritten) = crate::learner::explain::unwritten_code(check, &read_source) {
        let lines = crate::learner::explain::unwritten_lines(&unwritten, &check.chapter);
        let _ = write!(out, "\n\n{}", lines.join("\n"));
        return out;
    }
    match check.visibility {
        Visibility::Visible => {
            if let Some(message) = check.message.as_deref().filter(|_| ran) {
                let _ = write!(out, "\n\n{}", super::message_text(message));
            }
            let _ = write!(out, "\n\nHint: {}\nRead: {}", check.hint, check.chapter);
        }
        Visibility::Hidden => {
            let _ = write!(out, "\n\nHint: {}", check.hint);
        }
    }
    out
}
