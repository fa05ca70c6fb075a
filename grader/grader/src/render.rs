//! The terminal output: one row per unit, what to do next, and for each
//! failed check a message that teaches (what was expected, what happened,
//! where the chapter explains it). A skipped check (a tool it needs is not
//! installed) is shown with its message, which says how to install the
//! tool, but is not counted as failed: it is not graded.
//!
//! The words are the learner's language's ([`crate::l10n`]); what the
//! checks say (messages, hints) is the course's, in English.

use std::fmt::Write;

use crate::l10n::{self, t};
use crate::learner::explain::Unwritten;
use crate::report::{CheckReport, Report, UnitReport, UnitState};
use crate::run::CheckStatus;
use crate::units::COURSE;

/// How wide the state column is at least, in terminal columns.
const STATE_COLUMNS: usize = 22;
/// How wide the score column is, in terminal columns.
const SCORE_COLUMNS: usize = 9;

/// Renders a report for a person, in the [current](l10n::current)
/// language. `details` adds every failed check's message (on for `cargo
/// grade 01`, off for the overview of all units, where only the next
/// unit's failures are shown).
///
/// What the submission controls (messages, output, compiler errors, the
/// folder's name) is printed [`terminal_safe`](crate::sanitize::terminal_safe):
/// no escape sequence, control character or bidirectional override of a
/// learner's reaches the terminal or the `.txt` report.
pub fn human(report: &Report, details: bool) -> String {
    let report = &report.terminal_safe();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}\n",
        t!("report-title", submission = &report.submission)
    );
    let headings = [
        t!("report-column-unit"),
        t!("report-column-state"),
        t!("report-column-score"),
    ];
    let rows: Vec<[String; 3]> = report
        .units
        .iter()
        .map(|unit| {
            [
                format!("{} {}", unit.id, crate::l10n::book_text(&unit.title)),
                state_text(unit),
                format!("{}/{}", unit.score, unit.max_score),
            ]
        })
        .collect();
    // As wide as the longest "NN Title" and the longest state.
    let column = |i: usize, least: usize| {
        rows.iter()
            .map(|row| l10n::width(&row[i]))
            .chain([l10n::width(&headings[i]), least])
            .max()
            .unwrap_or(least)
    };
    let (unit_columns, state_columns) = (column(0, 0), column(1, STATE_COLUMNS));
    let row_text = |[unit, state, score]: &[String; 3]| {
        format!(
            "  {} {} {}",
            l10n::pad_end(unit, unit_columns),
            l10n::pad_end(state, state_columns),
            l10n::pad_start(score, SCORE_COLUMNS)
        )
    };
    let _ = writeln!(out, "{}", row_text(&headings));
    for (unit, row) in report.units.iter().zip(&rows) {
        let skipped = match unit.skipped() {
            0 => String::new(),
            n => format!("  {}", t!("report-skipped", count = n)),
        };
        let _ = writeln!(out, "{}{skipped}", row_text(row));
    }
    if !details {
        let coming: Vec<&str> = COURSE
            .iter()
            .filter(|(slug, _)| !report.units.iter().any(|u| &u.slug == slug))
            .map(|(slug, _)| *slug)
            .collect();
        if !coming.is_empty() {
            let _ = writeln!(out, "  {}", t!("report-coming", units = coming.join(", ")));
        }
    }
    let _ = writeln!(
        out,
        "\n  {}",
        t!("report-total", score = report.score, max = report.max_score)
    );
    if !report.isolation.is_empty() {
        let _ = writeln!(
            out,
            "  {}",
            // The sandbox's own description may already say "sandbox: ".
            t!(
                "report-sandbox",
                isolation = report
                    .isolation
                    .strip_prefix("sandbox: ")
                    .unwrap_or(&report.isolation)
            )
        );
    }

    let next = report.units.iter().find(|u| u.state != UnitState::Passed);
    let read_source = crate::learner::explain::read_learner_source(&report.submission);
    for unit in &report.units {
        let show = details || next.is_some_and(|n| n.slug == unit.slug);
        if show && matches!(unit.state, UnitState::Failing | UnitState::BuildFailed) {
            out.push_str(&failures(unit, &read_source));
        } else if unit.state == UnitState::Passed && unit.skipped() > 0 {
            // Passed, out of fewer points: say which checks were not
            // graded, and how to install what they need.
            let _ = writeln!(
                out,
                "\n{}",
                t!(
                    "report-not-graded-here",
                    unit = format!("{} {}", unit.id, crate::l10n::book_text(&unit.title))
                )
            );
            for check in unit
                .checks
                .iter()
                .filter(|c| c.status == CheckStatus::Skipped)
            {
                out.push_str(&skipped(check));
            }
        }
    }
    match next {
        Some(unit) => out.push_str(&next_steps(unit)),
        None if !report.units.is_empty() => {
            out.push_str(&all_graded_pass(report, &available_units()))
        }
        None => {}
    }
    out
}

/// The units of the course that exist in this repository (have a
/// `unit.toml`), in course order: `(slug, title)`.
fn available_units() -> Vec<(&'static str, &'static str)> {
    let root = crate::repo_root();
    COURSE
        .iter()
        .filter(|(slug, _)| {
            crate::units::unit_dir(&root, slug)
                .join("unit.toml")
                .is_file()
        })
        .copied()
        .collect()
}

/// What to say when every graded unit passes: which units those were, and
/// either what comes next or, only when every unit of the course was graded,
/// that the whole course passes.
fn all_graded_pass(report: &Report, available: &[(&str, &str)]) -> String {
    let mut out = String::new();
    let graded: Vec<&str> = report.units.iter().map(|u| u.id.as_str()).collect();
    let every_unit = !available.is_empty()
        && available
            .iter()
            .all(|(slug, _)| report.units.iter().any(|u| u.slug == *slug));
    if every_unit {
        let _ = writeln!(
            out,
            "\n{}",
            t!(
                "report-course-passes",
                graded = graded.len(),
                available = available.len()
            )
        );
        return out;
    }
    let passes = match graded.as_slice() {
        [one] => t!("report-unit-passes", unit = *one),
        many => t!(
            "report-units-pass",
            units = many.join(", "),
            count = many.len()
        ),
    };
    let _ = writeln!(out, "\n✔ {passes}");
    // The next unit: the first of the course after the last one graded that
    // was not graded now; failing that, the first one not graded at all.
    let last = report
        .units
        .iter()
        .filter_map(|u| available.iter().position(|(slug, _)| *slug == u.slug))
        .max();
    let not_graded = |(slug, _): &&(&str, &str)| !report.units.iter().any(|u| u.slug == *slug);
    let after = available
        .iter()
        .skip(last.map_or(0, |i| i + 1))
        .find(not_graded);
    if let Some((slug, title)) = after.or_else(|| available.iter().find(not_graded)) {
        let id = slug.split('-').next().unwrap_or(slug);
        let _ = writeln!(
            out,
            "\n{}",
            t!(
                "next-unit",
                unit = id,
                title = crate::l10n::book_text(title)
            )
        );
        out.push_str(&steps(&[
            (
                Step::Read,
                t!(
                    "next-read",
                    chapter = format!("book/{slug}.md"),
                    page = format!("{slug}.html")
                ),
            ),
            (Step::Code, format!("exercises/{slug}/src/")),
            (Step::Test, format!("cd exercises/{slug} && cargo test")),
            (Step::Grade, format!("cargo grade {id}")),
        ]));
    }
    let _ = writeln!(out, "  {}", t!("next-whole-course"));
    out
}

/// A line of "what to do next": its label.
#[derive(Clone, Copy)]
enum Step {
    Read,
    Code,
    Test,
    Grade,
    Watch,
    Stuck,
}

impl Step {
    const ALL: [Step; 6] = [
        Step::Read,
        Step::Code,
        Step::Test,
        Step::Grade,
        Step::Watch,
        Step::Stuck,
    ];

    fn label(self) -> String {
        match self {
            Step::Read => t!("next-label-read"),
            Step::Code => t!("next-label-code"),
            Step::Test => t!("next-label-test"),
            Step::Grade => t!("next-label-grade"),
            Step::Watch => t!("next-label-watch"),
            Step::Stuck => t!("next-label-stuck"),
        }
    }
}

/// The lines of "what to do next", their texts aligned after the widest
/// label of all (`read:  …`, `grade: …`).
fn steps(lines: &[(Step, String)]) -> String {
    let columns = Step::ALL
        .iter()
        .map(|step| l10n::width(&step.label()))
        .max()
        .unwrap_or(0)
        + 1;
    lines
        .iter()
        .map(|(step, text)| format!("  {}{text}\n", l10n::pad_end(&step.label(), columns)))
        .collect()
}

fn state_text(unit: &UnitReport) -> String {
    match unit.state {
        UnitState::Passed => format!("✔ {}", t!("state-passed")),
        UnitState::NotStarted => format!("○ {}", t!("state-not-started")),
        UnitState::BuildFailed => format!("✘ {}", t!("state-does-not-compile")),
        UnitState::Failing => {
            // Skipped checks are not graded: neither failing nor counted.
            let graded = unit.checks.len() - unit.skipped();
            let failing = graded - unit.passed();
            format!(
                "✘ {}",
                t!("state-failing", failing = failing, graded = graded)
            )
        }
    }
}

/// The failed checks of one unit, each with its teaching message.
fn failures(unit: &UnitReport, read_source: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{}",
        t!(
            "report-what-to-fix",
            unit = format!("{} {}", unit.id, crate::l10n::book_text(&unit.title))
        )
    );
    if unit.state == UnitState::BuildFailed {
        let text = unit.build_output.as_deref().unwrap_or("");
        out.push_str(&crate::learner::explain::build_failure(&unit.slug, text));
        return out;
    }
    // The first check to reach a given `todo!()` explains it; the others
    // that reached the same one say so in a line.
    let mut reached: Vec<(Unwritten, String)> = Vec::new();
    for check in unit.checks.iter().filter(|c| c.status != CheckStatus::Pass) {
        if check.status == CheckStatus::Skipped {
            out.push_str(&skipped(check));
        } else {
            out.push_str(&failure(check, read_source, &mut reached));
        }
    }
    out
}

/// `visible` or `hidden`, in the learner's language.
pub fn visibility_text(check: &CheckReport) -> String {
    match check.visibility {
        crate::units::Visibility::Visible => t!("check-visible"),
        crate::units::Visibility::Hidden => t!("check-hidden"),
    }
}

/// What became of a check that did not pass: `failed`, `timed out`, …
pub fn outcome_text(status: CheckStatus) -> String {
    match status {
        CheckStatus::Fail => t!("check-outcome-failed"),
        CheckStatus::Timeout => t!("check-outcome-timed-out"),
        CheckStatus::Error => t!("check-outcome-error"),
        CheckStatus::NotRun => t!("check-outcome-not-run"),
        CheckStatus::Skipped => t!("check-outcome-skipped"),
        CheckStatus::Pass => t!("check-outcome-passed"),
    }
}

/// A check's message as the learner reads it: a `todo!()`'s panic says
/// that it reached unwritten code.
pub fn check_message(message: &str) -> String {
    message
        .strip_prefix("not yet implemented: ")
        .map(|rest| t!("check-reached-unwritten", text = rest))
        .unwrap_or_else(|| message.to_owned())
}

/// A skipped check: not graded, and its message, which names the missing
/// program and how to install it.
fn skipped(check: &CheckReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n  ○ {}",
        t!(
            "check-skipped",
            check = &check.id,
            visibility = visibility_text(check),
            points = check.max_score
        )
    );
    for line in check.message.as_deref().unwrap_or("").lines().take(12) {
        let _ = writeln!(out, "      {line}");
    }
    out
}

fn failure(
    check: &CheckReport,
    read_source: &dyn Fn(&str) -> Option<String>,
    reached: &mut Vec<(Unwritten, String)>,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n  ✘ {}",
        t!(
            "check-heading",
            check = &check.id,
            visibility = visibility_text(check),
            points = check.max_score,
            outcome = outcome_text(check.status)
        )
    );
    // Reaching a `todo!()` says nothing about what the check is about:
    // say where it stopped, and hold the check's own hint back.
    if let Some(unwritten) = crate::learner::explain::unwritten_code(check, read_source) {
        if let Some((_, first)) = reached.iter().find(|(seen, _)| *seen == unwritten) {
            let _ = writeln!(
                out,
                "      {}",
                t!("unwritten-same-as", check = first.as_str())
            );
            return out;
        }
        for line in crate::learner::explain::unwritten_lines(&unwritten, &check.chapter) {
            let _ = writeln!(out, "      {line}");
        }
        reached.push((unwritten, check.id.clone()));
        return out;
    }
    if let Some(message) = &check.message {
        for line in check_message(message).lines().take(12) {
            let _ = writeln!(out, "      {line}");
        }
    }
    if let Some(extra) = crate::learner::explain::check_failure(check) {
        for line in extra.lines() {
            let _ = writeln!(out, "      {line}");
        }
    }
    let _ = writeln!(out, "      {}", t!("check-hint", hint = &check.hint));
    let _ = writeln!(out, "      {}", t!("check-read", chapter = &check.chapter));
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
    let _ = writeln!(
        out,
        "\n{}",
        t!(
            "next-unit",
            unit = &unit.id,
            title = crate::l10n::book_text(&unit.title)
        )
    );
    out.push_str(&steps(&[
        (
            Step::Read,
            t!("next-read", chapter = chapter.as_str(), page = page),
        ),
        (Step::Code, format!("exercises/{}/src/", unit.slug)),
        (
            Step::Test,
            format!("cd exercises/{} && cargo test", unit.slug),
        ),
        (Step::Grade, format!("cargo grade {}", unit.id)),
        (Step::Watch, t!("next-watch")),
        (Step::Stuck, format!("cargo grade hint {}", unit.id)),
    ]));
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
            chapter: "book/01-connection.md#task-4-closing-properly".into(),
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
            isolation: "checks run with CPU, memory and process limits".into(),
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
            text.contains("read: book/01-connection.md#task-4-closing-properly"),
            "{text}"
        );
        assert!(text.contains("Next: unit 01"), "{text}");
        assert!(!text.contains("✘ echo"), "{text}");
    }

    #[test]
    fn a_hostile_message_reaches_the_terminal_without_its_escapes() {
        let hostile = "expected 1000\u{1b}[2J\u{1b}]0;pwned\u{7}\rscore 100/100\u{202E}";
        let mut failing = check("close", CheckStatus::Fail, Some(hostile));
        failing.output =
            "thread 'main' panicked at src/a.rs:1:1:\n\u{1b}[31mboom\u{1b}[0m\r\n".into();
        let mut graded = report(UnitState::Failing, vec![failing]);
        graded.submission = "students/\u{1b}[8mada".into();
        let text = human(&graded, true);
        assert!(text.contains("expected 1000score 100/100\n"), "{text}");
        assert!(text.contains("boom"), "{text}");
        assert!(text.contains("grading students/ada"), "{text}");
        for unsafe_char in ['\u{1b}', '\u{7}', '\r', '\u{202E}'] {
            assert!(!text.contains(unsafe_char), "{unsafe_char:?} in {text:?}");
        }
        assert!(!text.contains("pwned"), "{text}");
        assert!(
            text.contains("  sandbox: checks run with CPU, memory and process limits"),
            "{text}"
        );
        // A build failure's compiler output too.
        let mut broken = report(UnitState::BuildFailed, vec![]);
        broken.units[0].build_output =
            Some("\u{1b}[1m\u{1b}[31merror[E0425]\u{1b}[0m: cannot find value `x`\r\n".into());
        let text = human(&broken, true);
        assert!(!text.contains('\u{1b}') && !text.contains('\r'), "{text:?}");
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
        assert!(
            text.contains("It reached code you have not written yet: Task 1\n"),
            "{text}"
        );
        assert!(!text.contains("hint:"), "{text}");
    }

    /// The learner's `close` is still a `todo!()` (Task 4); a check about
    /// sending (Task 3) reaches it from the I/O task and fails.
    #[test]
    fn a_check_that_reaches_a_todo_names_it_and_holds_its_hint_back() {
        let mut reached = check(
            "send_after_own_close_is_an_error",
            CheckStatus::Fail,
            Some("send() after close() must return an error (chapter 01, \"Task 3: Sending\")"),
        );
        reached.hint = "Check the state before you hand the message to the I/O task.".into();
        reached.chapter = "book/01-connection.md#task-3-sending".into();
        reached.output = "thread 'main' panicked at exercises/01-connection/src/io_task.rs:6:9:\n\
            not yet implemented: Task 4: the close handshake (chapter 01, section \"Task 4: Closing properly\")\n\
            note: run with `RUST_BACKTRACE=1`\n"
            .into();
        let mut unimplemented = check("ping", CheckStatus::Timeout, None);
        unimplemented.output =
            "thread 'tokio-runtime-worker' panicked at exercises/01-connection/src/client.rs:40:5:\nnot implemented\n".into();
        let source = "//! The I/O task.\n\nimpl IoTask {\n    // fn not_this()\n    async fn close(&mut self) {\n        todo!(\"Task 4\")\n    }\n}\n";
        let read = |file: &str| {
            (file == "exercises/01-connection/src/io_task.rs").then(|| source.to_owned())
        };
        let mut again = reached.clone();
        again.id = "close_sends_1000".into();
        let unit = &report(UnitState::Failing, vec![reached, unimplemented, again]).units[0];
        let text = failures(unit, &read);
        assert!(
            text.contains(
                "It reached code you have not written yet: Task 4: the close handshake (chapter 01, section \"Task 4: Closing properly\")\n      \
                 (the `todo!()` in `close` at exercises/01-connection/src/io_task.rs:6:9)."
            ),
            "{text}"
        );
        assert!(
            text.contains("read: book/01-connection.md#task-4-closing-properly"),
            "{text}"
        );
        assert!(text.contains("It reached code you have not written yet: the `todo!()` at exercises/01-connection/src/client.rs:40:5."), "{text}");
        assert!(
            !text.contains("hint:"),
            "the check's hint is held back:\n{text}"
        );
        assert!(!text.contains("Check the state"), "{text}");
        assert!(!text.contains("task-3-sending"), "{text}");
        assert!(
            text.contains(
                "✘ close_sends_1000 (hidden, 5 points) failed\n      \
                 It reached the same unwritten code as `send_after_own_close_is_an_error` above.\n"
            ),
            "{text}"
        );
        assert_eq!(
            text.matches("Task 4: the close handshake").count(),
            1,
            "{text}"
        );
        // A failure that is not a `todo!()` keeps its message and hint.
        let plain = check(
            "close",
            CheckStatus::Fail,
            Some("close() returned too early"),
        );
        let text = failures(&report(UnitState::Failing, vec![plain]).units[0], &read);
        assert!(
            text.contains("hint: Wait for the server's Close."),
            "{text}"
        );
    }

    const ADVICE: &str = "needs `redis-server`, which is not installed here: sudo apt-get \
                          install redis-server; this stage is not graded until it is";

    #[test]
    fn a_skipped_check_shows_its_install_advice_and_is_not_a_failure() {
        // Every other check passes: the unit passes, out of fewer points.
        let mut passed = report(
            UnitState::Passed,
            vec![
                check("echo", CheckStatus::Pass, None),
                check("cluster", CheckStatus::Skipped, Some(ADVICE)),
            ],
        );
        passed.units[0].max_score = 5;
        passed.max_score = 5;
        let text = human(&passed, false);
        assert!(text.contains("✔ passed"), "{text}");
        assert!(text.contains("5/5  (1 check skipped)"), "{text}");
        assert!(
            text.contains("01 Connection lifecycle — not graded here"),
            "{text}"
        );
        assert!(
            text.contains(
                "○ cluster (hidden, 5 points) was skipped: not graded, its points are left out of the total\n      \
                 needs `redis-server`, which is not installed here: sudo apt-get install redis-server;"
            ),
            "{text}"
        );
        assert!(!text.contains("✘ cluster"), "{text}");
        assert!(!text.contains("failing"), "{text}");

        // Beside a failure: only the failure counts as failing.
        let mut failing = report(
            UnitState::Failing,
            vec![
                check("echo", CheckStatus::Pass, None),
                check("cluster", CheckStatus::Skipped, Some(ADVICE)),
                check(
                    "close",
                    CheckStatus::Fail,
                    Some("close() returned too early"),
                ),
            ],
        );
        failing.units[0].max_score = 10;
        let text = human(&failing, true);
        assert!(text.contains("✘ failing 1 of 2"), "{text}");
        assert!(text.contains("(1 check skipped)"), "{text}");
        assert!(text.contains("✘ close (hidden, 5 points) failed"), "{text}");
        assert!(
            text.contains("○ cluster (hidden, 5 points) was skipped"),
            "{text}"
        );
        assert!(text.contains("sudo apt-get install redis-server"), "{text}");
        assert!(!text.contains("✘ cluster"), "{text}");
    }

    fn unit(id: &str, slug: &str, state: UnitState) -> UnitReport {
        let mut unit = report(state, vec![check("echo", CheckStatus::Pass, None)])
            .units
            .remove(0);
        unit.id = id.into();
        unit.slug = slug.into();
        unit
    }

    const AVAILABLE: &[(&str, &str)] = &[
        ("01-connection", "Connection lifecycle"),
        ("02-page-policy", "Page-level connection policy"),
        ("03-messages", "Message types and handlers"),
    ];

    #[test]
    fn one_passing_unit_says_what_was_graded_and_what_is_next() {
        let mut graded = report(UnitState::Passed, vec![]);
        graded.units = vec![unit("01", "01-connection", UnitState::Passed)];
        let text = all_graded_pass(&graded, AVAILABLE);
        assert!(
            text.contains("✔ Unit 01 passes. (Only unit 01 was graded.)"),
            "{text}"
        );
        assert!(
            text.contains("Next: unit 02 — Page-level connection policy"),
            "{text}"
        );
        assert!(text.contains("read:  book/02-page-policy.md"), "{text}");
        assert!(
            text.contains("code:  exercises/02-page-policy/src/"),
            "{text}"
        );
        assert!(text.contains("grade: cargo grade 02"), "{text}");
        assert!(!text.contains("Well done"), "{text}");
        assert!(!text.contains("Every"), "{text}");

        // The last unit graded alone: the next is the first one not graded.
        graded.units = vec![unit("03", "03-messages", UnitState::Passed)];
        let text = all_graded_pass(&graded, AVAILABLE);
        assert!(
            text.contains("Next: unit 01 — Connection lifecycle"),
            "{text}"
        );
    }

    #[test]
    fn only_every_unit_graded_and_passing_is_the_whole_course() {
        let mut graded = report(UnitState::Passed, vec![]);
        graded.units = vec![
            unit("01", "01-connection", UnitState::Passed),
            unit("02", "02-page-policy", UnitState::Passed),
            unit("03", "03-messages", UnitState::Passed),
        ];
        let text = all_graded_pass(&graded, AVAILABLE);
        assert!(
            text.contains("Every unit of the course passes (3 of 3). Well done!"),
            "{text}"
        );
        assert!(!text.contains("Next:"), "{text}");
        graded.units.pop();
        let text = all_graded_pass(&graded, AVAILABLE);
        assert!(
            text.contains("✔ Units 01, 02 pass. (Only these 2 units were graded.)"),
            "{text}"
        );
        assert!(text.contains("Next: unit 03"), "{text}");
        // Through `human`, with the repository's real units.
        let mut one = report(UnitState::Passed, vec![]);
        one.units = vec![unit("01", "01-connection", UnitState::Passed)];
        let text = human(&one, true);
        assert!(text.contains("Only unit 01 was graded"), "{text}");
        assert!(text.contains("Next: unit 02"), "{text}");
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
