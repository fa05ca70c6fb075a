//! The terminal output: one row per unit, what to do next, and for each
//! failed check a message that teaches (what was expected, what happened,
//! where the chapter explains it).

use std::fmt::Write;

use crate::report::{CheckReport, Report, UnitReport, UnitState};
use crate::run::CheckStatus;
use crate::units::COURSE;

/// Renders a report for a person. `details` adds every failed check's
/// message (on for `cargo grade 01`, off for the overview of all units,
/// where only the next unit's failures are shown).
pub fn human(report: &Report, details: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "WebSocket Workbook — grading {}\n", report.submission);
    // As wide as the longest "NN Title" (titles have no wide characters).
    let width = report
        .units
        .iter()
        .map(|u| u.id.chars().count() + 1 + u.title.chars().count())
        .max()
        .unwrap_or(0)
        .max("unit".len());
    let _ = writeln!(out, "  {:<width$} {:<22} {:>9}", "unit", "state", "score");
    for unit in &report.units {
        let _ = writeln!(
            out,
            "  {:<width$} {:<22} {:>9}",
            format!("{} {}", unit.id, unit.title),
            state_text(unit),
            format!("{}/{}", unit.score, unit.max_score)
        );
    }
    if !details {
        let coming: Vec<&str> = COURSE
            .iter()
            .filter(|(slug, _)| !report.units.iter().any(|u| &u.slug == slug))
            .map(|(slug, _)| *slug)
            .collect();
        if !coming.is_empty() {
            let _ = writeln!(out, "  coming to the course: {}", coming.join(", "));
        }
    }
    let _ = writeln!(out, "\n  total {}/{}", report.score, report.max_score);

    let next = report.units.iter().find(|u| u.state != UnitState::Passed);
    for unit in &report.units {
        let show = details || next.is_some_and(|n| n.slug == unit.slug);
        if show && matches!(unit.state, UnitState::Failing | UnitState::BuildFailed) {
            out.push_str(&failures(unit));
        }
    }
    match next {
        Some(unit) => out.push_str(&next_steps(unit)),
        None if !report.units.is_empty() => {
            let _ = writeln!(out, "\nEvery graded unit passes. Well done!");
        }
        None => {}
    }
    out
}

fn state_text(unit: &UnitReport) -> String {
    match unit.state {
        UnitState::Passed => "✔ passed".to_owned(),
        UnitState::NotStarted => "○ not started".to_owned(),
        UnitState::BuildFailed => "✘ does not compile".to_owned(),
        UnitState::Failing => {
            let failing = unit.checks.len() - unit.passed();
            format!("✘ failing {failing} of {}", unit.checks.len())
        }
    }
}

/// The failed checks of one unit, each with its teaching message.
fn failures(unit: &UnitReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\n{} {} — what to fix", unit.id, unit.title);
    if unit.state == UnitState::BuildFailed {
        let text = unit.build_output.as_deref().unwrap_or("");
        out.push_str(&crate::learner::explain::build_failure(&unit.slug, text));
        return out;
    }
    for check in unit.checks.iter().filter(|c| c.status != CheckStatus::Pass) {
        out.push_str(&failure(check));
    }
    out
}

fn failure(check: &CheckReport) -> String {
    let mut out = String::new();
    let what = match check.status {
        CheckStatus::Fail => "failed",
        CheckStatus::Timeout => "timed out",
        CheckStatus::Error => "ended without a result",
        CheckStatus::NotRun => "was not run",
        CheckStatus::Pass => "passed",
    };
    let visibility = match check.visibility {
        crate::units::Visibility::Visible => "visible",
        crate::units::Visibility::Hidden => "hidden",
    };
    let _ = writeln!(
        out,
        "\n  ✘ {} ({visibility}, {} points) {what}",
        check.id, check.max_score
    );
    if let Some(message) = &check.message {
        let message = message
            .strip_prefix("not yet implemented: ")
            .map(|rest| format!("reached unwritten code: {rest}"))
            .unwrap_or_else(|| message.clone());
        for line in message.lines().take(12) {
            let _ = writeln!(out, "      {line}");
        }
    }
    if let Some(extra) = crate::learner::explain::check_failure(check) {
        for line in extra.lines() {
            let _ = writeln!(out, "      {line}");
        }
    }
    let _ = writeln!(out, "      hint: {}", check.hint);
    let _ = writeln!(out, "      read: {}", check.chapter);
    out
}

fn next_steps(unit: &UnitReport) -> String {
    let chapter = unit
        .checks
        .first()
        .map(|c| c.chapter.split('#').next().unwrap_or("").to_owned())
        .unwrap_or_default();
    let page = chapter
        .strip_prefix("book/")
        .unwrap_or(&chapter)
        .replace(".md", ".html");
    let mut out = String::new();
    let _ = writeln!(out, "\nNext: unit {} — {}", unit.id, unit.title);
    let _ = writeln!(
        out,
        "  read:  {chapter}   (or `cargo grade serve`, then http://127.0.0.1:8000/{page})"
    );
    let _ = writeln!(out, "  code:  exercises/{}/src/", unit.slug);
    let _ = writeln!(out, "  test:  cd exercises/{} && cargo test", unit.slug);
    let _ = writeln!(out, "  grade: cargo grade {}", unit.id);
    let _ = writeln!(
        out,
        "  watch: cargo grade watch   (checks again on every save; h: a hint, q: quit)"
    );
    let _ = writeln!(out, "  stuck: cargo grade hint {}", unit.id);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::SCHEMA_VERSION;
    use crate::units::Visibility;

    fn check(id: &str, status: CheckStatus, message: Option<&str>) -> CheckReport {
        CheckReport {
            id: id.into(),
            visibility: Visibility::Hidden,
            status,
            score: if status == CheckStatus::Pass { 5 } else { 0 },
            max_score: 5,
            message: message.map(str::to_owned),
            hint: "Wait for the server's Close.".into(),
            chapter: "book/01-connection.md#closing-properly".into(),
            covers: vec![],
            duration_ms: 1,
            output: String::new(),
        }
    }

    fn report(state: UnitState, checks: Vec<CheckReport>) -> Report {
        let unit = UnitReport {
            id: "01".into(),
            slug: "01-connection".into(),
            title: "Connection lifecycle".into(),
            state,
            score: checks.iter().map(|c| c.score).sum(),
            max_score: 10,
            duration_ms: 1,
            build_output: None,
            checks,
        };
        Report {
            schema_version: SCHEMA_VERSION,
            submission: "exercises".into(),
            score: unit.score,
            max_score: 10,
            units: vec![unit],
        }
    }

    #[test]
    fn a_failing_unit_shows_what_to_fix_and_what_is_next() {
        let text = human(
            &report(
                UnitState::Failing,
                vec![
                    check("echo", CheckStatus::Pass, None),
                    check(
                        "close",
                        CheckStatus::Fail,
                        Some("close() returned too early"),
                    ),
                ],
            ),
            true,
        );
        assert!(text.contains("✘ failing 1 of 2"), "{text}");
        assert!(text.contains("✘ close (hidden, 5 points) failed"), "{text}");
        assert!(text.contains("close() returned too early"), "{text}");
        assert!(
            text.contains("read: book/01-connection.md#closing-properly"),
            "{text}"
        );
        assert!(text.contains("Next: unit 01"), "{text}");
        assert!(!text.contains("✘ echo"), "{text}");
    }

    #[test]
    fn todo_panics_read_as_unwritten_code() {
        let text = human(
            &report(
                UnitState::Failing,
                vec![check(
                    "echo",
                    CheckStatus::Fail,
                    Some("not yet implemented: Task 1"),
                )],
            ),
            true,
        );
        assert!(text.contains("reached unwritten code: Task 1"), "{text}");
    }

    #[test]
    fn a_not_started_unit_points_to_its_chapter() {
        let text = human(
            &report(
                UnitState::NotStarted,
                vec![check("echo", CheckStatus::NotRun, None)],
            ),
            false,
        );
        assert!(text.contains("○ not started"), "{text}");
        assert!(
            text.contains("cd exercises/01-connection && cargo test"),
            "{text}"
        );
        assert!(
            text.contains("http://127.0.0.1:8000/01-connection.html"),
            "{text}"
        );
    }
}
