//! Snapshots (insta) of what learners and instructors read: the terminal
//! report of a mixed submission, the teaching explanations (a compile
//! error, a panic, a timeout, unwritten code), `cargo grade list`, a hint,
//! and the JSON, JUnit, Gradescope and step-summary formats. The report,
//! a compile error and `list` are kept in Simplified Chinese too (`*_in_chinese`,
//! `--lang zh-CN`); the instructors' formats stay English in any language.
//! A change to any of them shows up as a snapshot diff to review
//! (CONTRIBUTING.md, "Snapshots"). Maintainers' suite only: never in a
//! graded check.
//!
//! Everything is built from the in-memory report model (no cargo build);
//! durations, paths and anything else that depends on the machine are
//! redacted, so a snapshot is the same on every machine and every run.

use std::sync::LazyLock;

use grader::l10n::{Lang, with_lang};
use grader::learner::explain;
use grader::learner::progress::{Progress, Status, UnitProgress};
use grader::report::{CheckReport, Report, SCHEMA_VERSION, UnitReport, UnitState};
use grader::run::CheckStatus;
use grader::units::Visibility;
use grader::{formats, learner, render, units};
use regex::Regex;

/// Redacts what differs between machines and runs in a text snapshot:
/// durations (`time="1.234"`, `1.2 s`, `12ms`), absolute paths of the
/// repository or a temporary folder, and thread ids in panic lines.
fn redact(text: &str) -> String {
    static RULES: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
        [
            (r#"time="[0-9.]+""#, r#"time="[time]""#),
            (
                r#""execution_time": [0-9.]+"#,
                r#""execution_time": "[time]""#,
            ),
            (r"\b[0-9]+(\.[0-9]+)?\s?(ms|s)\b", "[duration]"),
            (r#"/tmp/[^\s:'"`)<&]+"#, "[tmp]"),
            (r"\([0-9]+\) panicked at", "([tid]) panicked at"),
        ]
        .into_iter()
        .map(|(pattern, replacement)| (Regex::new(pattern).expect("a valid pattern"), replacement))
        .collect()
    });
    let root = grader::repo_root();
    let root = root.canonicalize().unwrap_or(root);
    let mut text = text.replace(&root.display().to_string(), "[repo]");
    for (pattern, replacement) in RULES.iter() {
        text = pattern.replace_all(&text, *replacement).into_owned();
    }
    text
}

fn check(
    id: &str,
    visibility: Visibility,
    status: CheckStatus,
    message: Option<&str>,
    output: &str,
) -> CheckReport {
    CheckReport {
        id: id.into(),
        visibility,
        status,
        score: if status == CheckStatus::Pass { 5 } else { 0 },
        max_score: 5,
        message: message.map(str::to_owned),
        hint: format!("The hint of `{id}`: what the check is about."),
        chapter: format!("book/01-connection.md#section-of-{id}"),
        covers: vec!["echo".into()],
        duration_ms: 1234,
        output: output.into(),
    }
}

/// What rustc 1.95 says, under cargo, when `http` is not a dependency.
const MISSING_HTTP: &str = "\
error[E0432]: unresolved import `http`
  --> 02-page-policy/src/driver.rs:21:5
   |
21 | use http::header;
   |     ^^^^ use of unresolved module or unlinked crate `http`
   |
   = help: if you wanted to use a crate named `http`, use `cargo add http` to add it to your `Cargo.toml`

error: aborting due to 1 previous error

For more information about this error, try `rustc --explain E0432`.
";

/// Two ordinary compile errors: a trait not in scope, then a typo.
const TWO_ERRORS: &str = "\
error[E0599]: no method named `next` found for struct `WebSocketStream` in the current scope
  --> 01-connection/src/io_task.rs:40:32
   |
40 |         let frame = self.socket.next().await;
   |                                 ^^^^ method not found in `WebSocketStream<MaybeTlsStream<TcpStream>>`
   |
   = help: items from traits can only be used if the trait is in scope

error[E0425]: cannot find value `x` in this scope
  --> 01-connection/src/client.rs:12:5
   |
12 |     x
   |     ^ not found in this scope

error: aborting due to 2 previous errors
";

const UNWRAP_PANIC: &str = "\
thread 'main' (4242) panicked at 01-connection/src/client.rs:88:41:
called `Result::unwrap()` on an `Err` value: Io(Kind(ConnectionRefused))
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace
";

const TODO_PANIC: &str = "\
thread 'tokio-runtime-worker' (4243) panicked at 01-connection/src/io_task.rs:178:9:
not yet implemented: Task 4: the close handshake (chapter 01, section \"Task 4: Closing properly\")
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace
";

/// What `checkkit::require` says when `redis-server` is missing.
const NO_REDIS: &str = "needs `redis-server`, which is not installed here: sudo apt-get install \
                        redis-server; this stage is not graded until it is";

/// A mixed submission graded with `--submission`: unit 01 with a pass, a
/// failed assertion, a hidden failure, a panic, a timeout, a check that
/// reached a `todo!()` (and one more that reached the same one) and a check
/// skipped for want of `redis-server` (left out of the unit's max score);
/// unit 02 that does not compile; unit 03 not started.
fn mixed() -> Report {
    use CheckStatus::*;
    use Visibility::*;
    let unit01 = vec![
        check("echo_text_round_trip", Visible, Pass, None, ""),
        check(
            "close_sends_1000",
            Visible,
            Fail,
            Some(
                "expected Close code 1000, got 1005 (no status): send a CloseFrame (chapter 01, \"Closing properly\")",
            ),
            "",
        ),
        check(
            "reconnect_after_server_restart",
            Hidden,
            Fail,
            Some("the hidden check's own words"),
            "",
        ),
        check(
            "connect_refused_is_an_error",
            Visible,
            Error,
            None,
            UNWRAP_PANIC,
        ),
        check(
            "pings_are_answered",
            Hidden,
            Timeout,
            Some("timed out after 20 s"),
            "",
        ),
        check(
            "send_after_own_close_is_an_error",
            Visible,
            Fail,
            Some("send() after close() must be an error"),
            TODO_PANIC,
        ),
        check(
            "dropping_the_handle_closes_the_connection",
            Hidden,
            Fail,
            Some("the server saw no Close frame"),
            TODO_PANIC,
        ),
        check(
            "two_servers_share_a_document",
            Hidden,
            Skipped,
            Some(NO_REDIS),
            "",
        ),
    ];
    let units = vec![
        UnitReport {
            id: "01".into(),
            slug: "01-connection".into(),
            title: "Connection lifecycle".into(),
            state: UnitState::Failing,
            score: unit01.iter().map(|c| c.score).sum(),
            max_score: unit01
                .iter()
                .filter(|c| c.status != Skipped)
                .map(|c| c.max_score)
                .sum(),
            duration_ms: 7404,
            build_output: None,
            checks: unit01,
        },
        UnitReport {
            id: "02".into(),
            slug: "02-page-policy".into(),
            title: "Page-level connection policy".into(),
            state: UnitState::BuildFailed,
            score: 0,
            max_score: 5,
            duration_ms: 0,
            build_output: Some(MISSING_HTTP.into()),
            checks: vec![check("policy_table_loads", Visible, NotRun, None, "")],
        },
        UnitReport {
            id: "03".into(),
            slug: "03-messages".into(),
            title: "Message types and handlers".into(),
            state: UnitState::NotStarted,
            score: 0,
            max_score: 10,
            duration_ms: 0,
            build_output: None,
            checks: vec![
                check("decode_rejects_unknown_type", Visible, NotRun, None, ""),
                check("dispatch_is_typed", Hidden, NotRun, None, ""),
            ],
        },
    ];
    Report {
        schema_version: SCHEMA_VERSION,
        submission: "/tmp/students/ada".into(),
        // A literal, not `Isolation::describe()`: the snapshot is about
        // where the line goes, not the sandbox's wording.
        isolation: "checks run with CPU, memory and process limits, in their own network \
                    namespace (loopback only) and PID namespace"
            .into(),
        score: units.iter().map(|u| u.score).sum(),
        max_score: units.iter().map(|u| u.max_score).sum(),
        units,
    }
}

#[test]
fn terminal_report_of_a_mixed_submission() {
    insta::assert_snapshot!(redact(&render::human(&mixed(), true)));
}

#[test]
fn terminal_overview_of_a_mixed_submission() {
    // `cargo grade` of every unit: only the next unit's failures.
    insta::assert_snapshot!(redact(&render::human(&mixed(), false)));
}

#[test]
fn terminal_report_of_a_mixed_submission_in_chinese() {
    let text = with_lang(Lang::ZhCn, || render::human(&mixed(), true));
    insta::assert_snapshot!(redact(&text));
}

#[test]
fn terminal_overview_of_a_mixed_submission_in_chinese() {
    let text = with_lang(Lang::ZhCn, || render::human(&mixed(), false));
    insta::assert_snapshot!(redact(&text));
}

#[test]
fn terminal_report_of_one_passing_unit() {
    let report = one_passing_unit();
    insta::assert_snapshot!(redact(&render::human(&report, true)));
}

#[test]
fn terminal_report_of_one_passing_unit_in_chinese() {
    let text = with_lang(Lang::ZhCn, || render::human(&one_passing_unit(), true));
    insta::assert_snapshot!(redact(&text));
}

/// Unit 01 of [`mixed`] alone, every check passing but the skipped one.
fn one_passing_unit() -> Report {
    let mut report = mixed();
    report.units.truncate(1);
    let unit = &mut report.units[0];
    // Every check passes but the skipped one: the unit passes, out of the
    // points of the checks graded.
    for check in unit
        .checks
        .iter_mut()
        .filter(|c| c.status != CheckStatus::Skipped)
    {
        check.status = CheckStatus::Pass;
        check.score = check.max_score;
        check.message = None;
        check.output.clear();
    }
    unit.state = UnitState::Passed;
    unit.score = unit.max_score;
    report.score = unit.score;
    report.max_score = unit.max_score;
    report
}

#[test]
fn explanation_of_a_compile_error() {
    insta::assert_snapshot!(explain::build_failure_with(
        "01-connection",
        TWO_ERRORS,
        &["futures-util".into(), "thiserror".into(), "tokio".into()]
    ));
}

#[test]
fn explanation_of_a_compile_error_in_chinese() {
    let text = with_lang(Lang::ZhCn, || {
        explain::build_failure_with(
            "01-connection",
            TWO_ERRORS,
            &["futures-util".into(), "thiserror".into(), "tokio".into()],
        )
    });
    insta::assert_snapshot!(text);
}

#[test]
fn explanation_of_a_crate_the_manifest_lacks() {
    let dependencies: Vec<String> = [
        "futures-util",
        "serde",
        "thiserror",
        "tokio",
        "tokio-tungstenite",
        "toml",
        "tracing",
    ]
    .map(str::to_owned)
    .to_vec();
    insta::assert_snapshot!(explain::build_failure_with(
        "02-page-policy",
        MISSING_HTTP,
        &dependencies
    ));
}

#[test]
fn explanation_of_a_panic() {
    let report = mixed();
    let panicked = &report.units[0].checks[3];
    insta::assert_snapshot!(redact(
        &explain::check_failure(panicked).expect("a panic is explained")
    ));
}

#[test]
fn explanation_of_a_timeout() {
    let report = mixed();
    let timed_out = &report.units[0].checks[4];
    insta::assert_snapshot!(explain::check_failure(timed_out).expect("a timeout is explained"));
}

#[test]
fn explanation_of_unwritten_code() {
    let report = mixed();
    let reached = &report.units[0].checks[5];
    let source = "impl IoTask {\n    async fn close(&mut self) {\n".to_owned()
        + &"\n".repeat(175)
        + "        todo!(\"Task 4\")\n    }\n}\n";
    let read = |file: &str| (file == "01-connection/src/io_task.rs").then(|| source.clone());
    let unwritten = explain::unwritten_code(reached, &read).expect("a todo!() is found");
    insta::assert_snapshot!(explain::unwritten_lines(&unwritten, &reached.chapter).join("\n"));
}

/// `cargo grade list` for a learner who passed unit 01 and is working on
/// unit 02 (the course's real units, titles and chapters).
#[test]
fn cargo_grade_list() {
    let text = list_of_a_learner_on_unit_02();
    insta::assert_snapshot!(redact(&text));
}

#[test]
fn cargo_grade_list_in_chinese() {
    let text = with_lang(Lang::ZhCn, list_of_a_learner_on_unit_02);
    insta::assert_snapshot!(redact(&text));
}

fn list_of_a_learner_on_unit_02() -> String {
    let root = grader::repo_root();
    let workspace = tempfile::tempdir().expect("a temp dir");
    let mut progress = Progress::default();
    progress.units.insert(
        "01-connection".into(),
        UnitProgress {
            status: Some(Status::Passed),
            score: 100,
            max_score: 100,
            passed: 9,
            checks: 9,
            hints_seen: 2,
        },
    );
    progress.units.insert(
        "02-page-policy".into(),
        UnitProgress {
            status: Some(Status::Failing),
            score: 40,
            max_score: 100,
            passed: 4,
            checks: 10,
            hints_seen: 0,
        },
    );
    progress
        .save(workspace.path())
        .expect("write the progress file");
    learner::list(&root, workspace.path()).expect("the list renders")
}

/// `cargo grade hint 01`, the first time: unit 01's first hint.
#[test]
fn first_hint_of_unit_01() {
    let root = grader::repo_root();
    let all = units::load_all(&root).expect("the units load");
    let unit = units::find(&all, "01").expect("unit 01");
    let workspace = tempfile::tempdir().expect("a temp dir");
    let text = learner::hint::next(&root, workspace.path(), unit).expect("a hint");
    insta::assert_snapshot!(text);
}

#[test]
fn json_report() {
    insta::assert_json_snapshot!(mixed(), {
        ".submission" => "[submission]",
        ".units[].duration_ms" => "[ms]",
        ".units[].checks[].duration_ms" => "[ms]",
    });
}

#[test]
fn junit_report() {
    insta::assert_snapshot!(redact(&formats::junit::render(&mixed())));
}

#[test]
fn gradescope_results() {
    insta::assert_snapshot!(redact(&formats::gradescope::render(&mixed())));
}

#[test]
fn github_step_summary() {
    insta::assert_snapshot!(redact(&formats::summary::render(&mixed())));
}

/// What machines and instructors read does not change with the learner's
/// language: JSON, JUnit, Gradescope and the step summary are English.
#[test]
fn instructors_formats_stay_english_in_chinese() {
    let report = mixed();
    type Format = fn(&Report) -> String;
    let formats: [(&str, Format); 4] = [
        ("json", Report::to_json),
        ("junit", formats::junit::render),
        ("gradescope", formats::gradescope::render),
        ("summary", formats::summary::render),
    ];
    for (name, render) in formats {
        let english = render(&report);
        let chinese = with_lang(Lang::ZhCn, || render(&report));
        assert_eq!(chinese, english, "{name}");
    }
    // The learner's report does change.
    let chinese = with_lang(Lang::ZhCn, || render::human(&report, true));
    assert!(chinese.contains("需要修复的地方"), "{chinese}");
}
