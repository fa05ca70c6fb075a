//! The Markdown summary for a CI job's page: GitHub Actions shows the file
//! named by `$GITHUB_STEP_SUMMARY` on the run's summary. `cargo grade`
//! appends it there, whatever `--format` prints.
//!
//! A table of the units (unit, state, score), a list of the failed checks
//! with their hint and chapter section, a list of the skipped checks (not
//! graded: a program they need is missing) with the harness's message
//! (which program, how to install it), and the sandbox the checks ran in. As in the Gradescope
//! results, a hidden check's message is not shown, only its hint: a
//! learner may read this page.

use std::fmt::Write;
use std::path::Path;

use crate::GraderError;
use crate::report::{CheckReport, Report, UnitReport, UnitState};
use crate::run::CheckStatus;
use crate::units::Visibility;

/// The environment variable GitHub Actions sets to the summary file.
pub const ENV: &str = "GITHUB_STEP_SUMMARY";

/// How many lines of compiler output a build failure shows.
const BUILD_LINES: usize = 30;

/// The report as GitHub-flavoured Markdown, in English whatever the
/// learner's language (see [`crate::formats`]).
pub fn render(report: &Report) -> String {
    crate::l10n::with_lang(crate::l10n::Lang::En, || english(report))
}

fn english(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## WebSocket Workbook — {}: {}/{}\n",
        cell(&report.submission),
        report.score,
        report.max_score
    );
    let _ = writeln!(out, "| Unit | State | Score |\n|---|---|---:|");
    for unit in &report.units {
        let _ = writeln!(
            out,
            "| {} {} | {} | {}/{} |",
            unit.id,
            cell(&unit.title),
            state_text(unit),
            unit.score,
            unit.max_score
        );
    }
    let failed: Vec<(&UnitReport, &CheckReport)> = report
        .units
        .iter()
        .filter(|u| u.state == UnitState::Failing)
        .flat_map(|u| {
            u.checks
                .iter()
                .filter(|c| super::check_failed(c))
                .map(move |c| (u, c))
        })
        .collect();
    if !failed.is_empty() {
        let _ = writeln!(out, "\n### Failed checks\n");
        for (unit, check) in failed {
            out.push_str(&failed_check(&report.submission, unit, check));
        }
    }
    let skipped: Vec<(&UnitReport, &CheckReport)> = report
        .units
        .iter()
        .flat_map(|u| {
            u.checks
                .iter()
                .filter(|c| c.status == CheckStatus::Skipped)
                .map(move |c| (u, c))
        })
        .collect();
    if !skipped.is_empty() {
        let _ = writeln!(out, "\n### Skipped checks (not graded)\n");
        for (unit, check) in skipped {
            let _ = writeln!(
                out,
                "- **{}** `{}` ({} points, left out of the total): {}",
                unit.slug,
                check.id,
                check.max_score,
                cell(check.message.as_deref().unwrap_or(""))
            );
        }
    }
    for unit in report
        .units
        .iter()
        .filter(|u| u.state == UnitState::BuildFailed)
    {
        let text = crate::learner::explain::build_output_for_learner(
            &unit.slug,
            &crate::sanitize::terminal_safe(unit.build_output.as_deref().unwrap_or("")),
        );
        let text = text.as_str();
        let fence = fence(text);
        let _ = writeln!(
            out,
            "\n### {} {} does not compile\n\n{fence}text",
            unit.id,
            cell(&unit.title)
        );
        for line in text.lines().take(BUILD_LINES) {
            let _ = writeln!(out, "{line}");
        }
        if text.lines().count() > BUILD_LINES {
            let _ = writeln!(out, "…");
        }
        let _ = writeln!(out, "{fence}");
    }
    if !report.isolation.is_empty() {
        let _ = writeln!(out, "\n<sub>Sandbox: {}</sub>", cell(&report.isolation));
    }
    out
}

/// Appends the summary to the file `$GITHUB_STEP_SUMMARY` names, when it is
/// set and not empty. Returns whether it wrote.
pub fn write_if_requested(report: &Report) -> Result<bool, GraderError> {
    match std::env::var_os(ENV) {
        Some(path) if !path.is_empty() => {
            append(Path::new(&path), &render(report))?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

fn append(path: &Path, text: &str) -> Result<(), GraderError> {
    use std::io::Write as _;
    let io = |source| GraderError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)
}

fn state_text(unit: &UnitReport) -> String {
    match unit.state {
        UnitState::Passed => "✅ passed".to_owned(),
        UnitState::NotStarted => "⚪ not started".to_owned(),
        UnitState::BuildFailed => "❌ does not compile".to_owned(),
        UnitState::Failing => {
            // Skipped checks are not graded: neither failing nor counted.
            let graded = unit.checks.len() - unit.skipped();
            let failing = graded - unit.passed();
            format!("❌ failing {failing} of {graded}")
        }
    }
}

fn failed_check(submission: &str, unit: &UnitReport, check: &CheckReport) -> String {
    let what = match check.status {
        CheckStatus::Timeout => "timed out",
        CheckStatus::Error => "ended without a result",
        _ => "failed",
    };
    let visibility = match check.visibility {
        Visibility::Visible => "visible",
        Visibility::Hidden => "hidden",
    };
    let mut out = format!(
        "- **{}** `{}` ({visibility}, {} points) {what}",
        unit.slug, check.id, check.max_score
    );
    // A check that reached unwritten code: say where, and not its hint,
    // which is about something else (it names only the learner's code).
    let read_source = crate::learner::explain::read_learner_source(submission);
    if let Some(unwritten) = crate::learner::explain::unwritten_code(check, &read_source) {
        let mut lines = crate::learner::explain::unwritten_lines(&unwritten, &check.chapter);
        let read = match lines.last().and_then(|line| line.strip_prefix("read: ")) {
            Some(link) => link.to_owned(),
            None => check.chapter.clone(),
        };
        if lines.last().is_some_and(|line| line.starts_with("read: ")) {
            lines.pop();
        }
        // The first lines only (what was reached, where): a cell is short.
        let _ = writeln!(
            out,
            ": {} — read `{read}`",
            cell(&lines[..lines.len().min(2)].join(" "))
        );
        return out;
    }
    if check.visibility == Visibility::Visible
        && let Some(message) = &check.message
    {
        let _ = write!(out, ": {}", cell(&super::message_text(message)));
    }
    let _ = writeln!(
        out,
        "<br>hint: {} — read `{}`",
        cell(&check.hint),
        check.chapter
    );
    out
}

/// Text safe inside a table cell or a list item: one line, no `|` that
/// would split the cell, no HTML.
fn cell(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::with_capacity(one_line.len());
    for c in one_line.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    if out.chars().count() > 300 {
        out = out.chars().take(299).collect::<String>() + "…";
    }
    out
}

/// A code fence longer than any run of backticks in `text`.
fn fence(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}
