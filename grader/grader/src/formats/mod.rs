//! The instructors' output formats, each rendered from the one
//! [`Report`](crate::report::Report) model:
//!
//! * [`junit`]: JUnit XML, the test report GitLab and GitHub read
//!   (`--format junit`);
//! * [`gradescope`]: Gradescope's `results.json` (`--format gradescope`);
//! * [`summary`]: the Markdown summary written to `$GITHUB_STEP_SUMMARY`;
//! * [`bundle`]: the autograder zip an instructor uploads to Gradescope
//!   (`cargo grade gradescope-bundle`).
//!
//! They are English whatever the learner's language (`--lang`, `LANG`):
//! machines parse them, and an instructor's tools and colleagues read them.
//! Those that reuse the learner's explanations render them inside
//! [`with_lang`](crate::l10n::with_lang)`(Lang::En, …)`.

pub mod bundle;
pub mod gradescope;
pub mod junit;
pub mod summary;

use crate::report::{CheckReport, Report, UnitState};
use crate::run::CheckStatus;

/// Whether a graded check failed: a check that ran and did not pass
/// (failed, timed out, ended without a result), or a unit that does not
/// compile. Units not started and skipped checks (a program they need is
/// missing) are not graded and do not count; under `CI=true` a check
/// never skips, it fails. This is what `cargo grade --ci` exits 1 on.
pub fn any_failed(report: &Report) -> bool {
    report
        .units
        .iter()
        .any(|unit| unit.state == UnitState::BuildFailed || unit.checks.iter().any(check_failed))
}

/// Whether a check ran and did not pass (a skipped check did neither).
pub fn check_failed(check: &CheckReport) -> bool {
    matches!(
        check.status,
        CheckStatus::Fail | CheckStatus::Timeout | CheckStatus::Error
    )
}

/// Seconds, with millisecond precision, from milliseconds.
pub(crate) fn seconds(millis: u64) -> f64 {
    // Lossless for any duration below 2^52 ms (about 140 000 years).
    millis as f64 / 1000.0
}

/// A check's message as a learner reads it: a `todo!()` panic says that
/// unwritten code was reached (as in the terminal output).
pub(crate) fn message_text(message: &str) -> String {
    message
        .strip_prefix("not yet implemented: ")
        .map(|rest| format!("reached unwritten code: {rest}"))
        .unwrap_or_else(|| message.to_owned())
}
