//! The `cargo grade` command line, as a learner and an instructor use it.

use std::process::{Command, Output};

fn grade(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-grade"))
        // English, whatever the locale of the machine running the tests.
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", "C")
        .args(args)
        .output()
        .expect("the grader starts")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn list_shows_every_unit_of_the_course() {
    let output = grade(&["list"]);
    assert!(output.status.success());
    let text = stdout(&output);
    assert!(
        text.contains("01-connection") && text.contains("book/01-connection.md"),
        "{text}"
    );
    assert!(
        text.contains("B-dashboard") && text.contains("book/B-dashboard.md"),
        "{text}"
    );
    assert!(!text.contains("(coming)"), "every unit exists now: {text}");
}

#[test]
fn coverage_lists_behaviours_with_their_checks() {
    let output = grade(&["--coverage", "01"]);
    let text = stdout(&output);
    assert!(output.status.success(), "coverage is incomplete:\n{text}");
    assert!(
        text.contains("01 Connection lifecycle (100 points)"),
        "{text}"
    );
    assert!(!text.contains("MISSING"), "{text}");
    assert!(text.contains("└ "), "{text}");
}

#[test]
fn an_unknown_unit_exits_2_with_a_reason() {
    let output = grade(&["42"]);
    assert_eq!(output.status.code(), Some(2));
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("no unit \"42\"") && error.contains("cargo grade list"),
        "{error}"
    );
}

#[test]
fn a_missing_submission_folder_exits_2_with_a_reason() {
    let output = grade(&["--submission", "/nonexistent/wsw-submission"]);
    assert_eq!(output.status.code(), Some(2));
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("is not a folder"), "{error}");
}

#[test]
fn the_overview_of_untouched_exercises_says_what_is_next() {
    let output = grade(&[]);
    assert!(output.status.success());
    let text = stdout(&output);
    assert!(text.contains("○ not started"), "{text}");
    assert!(text.contains("Next: unit 01"), "{text}");
    assert!(
        text.contains("cd exercises/01-connection && cargo test"),
        "{text}"
    );
}

#[test]
fn json_output_is_one_valid_document() {
    let output = grade(&["--format", "json"]);
    assert!(output.status.success());
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&output)).expect("stdout is exactly one JSON document");
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["units"][0]["state"], "not_started");
}

#[test]
fn sync_stubs_check_agrees_with_the_committed_exercises() {
    let output = grade(&["sync-stubs", "--check"]);
    assert!(
        output.status.success(),
        "exercises/ is stale; run `cargo grade sync-stubs`:\n{}",
        stdout(&output)
    );
}

/// `--strict` on a machine without namespaces or Landlock (simulated with
/// `WSW_SANDBOX`): the grader refuses, names what is missing, and grades
/// nothing; on this machine, with every layer, it grades.
#[test]
fn strict_refuses_a_machine_without_the_whole_sandbox() {
    for (mode, missing) in [
        (
            "limits",
            "missing: namespaces (WSW_SANDBOX=limits), Landlock",
        ),
        ("no-landlock", "missing: Landlock (WSW_SANDBOX=no-landlock)"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_cargo-grade"))
            // English, whatever the locale of the machine running the tests.
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES")
            .env("LANG", "C")
            .args(["--strict", "--solutions", "05", "--format", "json"])
            .env("WSW_SANDBOX", mode)
            .output()
            .expect("the grader starts");
        assert_eq!(output.status.code(), Some(2), "{mode}");
        assert!(output.stdout.is_empty(), "{mode}: a report was written");
        let error = String::from_utf8_lossy(&output.stderr);
        assert!(
            error.contains("--strict") && error.contains(missing),
            "{mode}: {error}"
        );
    }
    if !grader::sandbox::isolation().is_complete() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have the whole sandbox: {}",
            grader::sandbox::isolation().describe()
        );
        return;
    }
    let output = grade(&["--strict", "--solutions", "05", "--format", "json"]);
    assert!(output.status.success(), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("\"score\": 100"),
        "{}",
        stdout(&output)
    );
}

/// The grader with only the given locale variables (none of the caller's).
fn grade_in_locale(args: &[&str], locale: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cargo-grade"));
    for name in ["LC_ALL", "LC_MESSAGES", "LANG"] {
        command.env_remove(name);
    }
    command
        .args(args)
        .envs(locale.iter().copied())
        .output()
        .expect("the grader starts")
}

#[test]
fn the_locale_or_lang_flag_chooses_the_learners_language() {
    let chinese = "个单元中已通过";
    let english = "units passed";
    for (args, locale, expected) in [
        (&["list"][..], &[("LANG", "zh_CN.UTF-8")][..], chinese),
        (
            &["list"],
            &[("LC_MESSAGES", "zh_SG"), ("LANG", "C")],
            chinese,
        ),
        (
            &["list"],
            &[("LC_ALL", "C"), ("LANG", "zh_CN.UTF-8")],
            english,
        ),
        (
            &["list"],
            &[("LC_ALL", ""), ("LANG", "zh_CN.UTF-8")],
            chinese,
        ),
        (&["list"], &[], english),
        (&["--lang", "zh-CN", "list"], &[], chinese),
        (
            &["list", "--lang", "zh-CN"],
            &[("LANG", "C.UTF-8")],
            chinese,
        ),
        (
            &["--lang", "en", "list"],
            &[("LANG", "zh_CN.UTF-8")],
            english,
        ),
    ] {
        let output = grade_in_locale(args, locale);
        assert!(output.status.success(), "{args:?} {locale:?}");
        let text = stdout(&output);
        assert!(text.contains(expected), "{args:?} {locale:?}:\n{text}");
    }
}

#[test]
fn an_unknown_language_exits_2_naming_the_two_there_are() {
    let output = grade_in_locale(&["--lang", "fr", "list"], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("\"fr\"") && error.contains("en") && error.contains("zh-CN"),
        "{error}"
    );
}

#[test]
fn the_overview_and_a_learners_mistake_in_chinese() {
    let output = grade_in_locale(&[], &[("LANG", "zh_CN.UTF-8")]);
    assert!(output.status.success());
    let text = stdout(&output);
    assert!(text.contains("○ 未开始"), "{text}");
    assert!(text.contains("下一步：单元 01"), "{text}");
    assert!(
        text.contains("cd exercises/01-connection && cargo test"),
        "{text}"
    );
    // `--help` stays English.
    let help = stdout(&grade_in_locale(&["--help"], &[("LANG", "zh_CN.UTF-8")]));
    assert!(help.contains("--lang <LANG>"), "{help}");
    assert!(help.contains("Grade the reference solutions"), "{help}");
    let output = grade_in_locale(&["--lang", "zh-CN", "42"], &[]);
    assert_eq!(output.status.code(), Some(2));
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("没有单元 \"42\"") && error.contains("cargo grade list"),
        "{error}"
    );
}
