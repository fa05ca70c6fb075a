//! The learner's commands between two gradings: `hint`, `reset`, `list`,
//! and the progress `cargo grade` remembers. Each works on a copy of a
//! unit in a temporary folder (the hidden `--submission` option), never on
//! the repository's own `exercises/`.

use std::path::Path;
use std::process::{Command, Output};

fn grade(args: &[&str], workspace: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-grade"))
        // English, whatever the locale of the machine running the tests.
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", "C")
        .args(args)
        .arg("--submission")
        .arg(workspace)
        .output()
        .expect("the grader starts")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create a folder");
    for entry in std::fs::read_dir(from).expect("read a folder") {
        let entry = entry.expect("a folder entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a file");
        }
    }
}

#[test]
fn hints_come_one_at_a_time_and_are_remembered() {
    let workspace = tempfile::tempdir().expect("a temp dir");
    let first = grade(&["hint", "01"], workspace.path());
    assert!(first.status.success());
    let text = stdout(&first);
    assert!(text.contains("Hint 1 of 13 for unit 01"), "{text}");
    assert!(text.contains("IntoClientRequest"), "{text}");
    assert!(text.contains("`cargo grade hint 01` again"), "{text}");

    let second = stdout(&grade(&["hint", "1"], workspace.path()));
    assert!(second.contains("Hint 2 of 13"), "{second}");
    let progress = std::fs::read_to_string(workspace.path().join(".progress.toml"))
        .expect("the hints seen are remembered");
    assert!(progress.contains("hints_seen = 2"), "{progress}");

    let reset = grade(&["hint", "01", "--reset"], workspace.path());
    assert!(reset.status.success());
    let again = stdout(&grade(&["hint", "01"], workspace.path()));
    assert!(again.contains("Hint 1 of 13"), "{again}");
}

#[test]
fn without_a_unit_the_hint_is_for_the_first_unfinished_unit() {
    let workspace = tempfile::tempdir().expect("a temp dir");
    std::fs::write(
        workspace.path().join(".progress.toml"),
        "[unit.01-connection]\nstatus = \"passed\"\nscore = 100\nmax_score = 100\n",
    )
    .expect("write a progress file");
    let text = stdout(&grade(&["hint"], workspace.path()));
    assert!(
        text.contains("Hint 1 of") && text.contains("for unit 02"),
        "{text}"
    );
}

#[test]
fn the_last_hint_says_it_is_the_last() {
    let workspace = tempfile::tempdir().expect("a temp dir");
    let count = book::hints::load(&root(), "08-notifications")
        .expect("unit 08 has hints")
        .len();
    let mut text = String::new();
    for _ in 0..=count {
        text = stdout(&grade(&["hint", "08"], workspace.path()));
    }
    assert!(text.contains(&format!("Hint {count} of {count}")), "{text}");
    assert!(text.contains("That was the last hint"), "{text}");
}

#[test]
fn reset_refuses_changed_code_without_force_and_backs_it_up_with_force() {
    let workspace = tempfile::tempdir().expect("a temp dir");
    let unit = workspace.path().join("01-connection");
    copy_tree(&root().join("exercises/01-connection"), &unit);

    let untouched = grade(&["reset", "01"], workspace.path());
    assert!(untouched.status.success());
    assert!(
        stdout(&untouched).contains("already the stub"),
        "{}",
        stdout(&untouched)
    );

    let client = unit.join("src/client.rs");
    let stub = std::fs::read_to_string(&client).expect("the stub's client.rs");
    let mine = format!("{stub}\n// my work in progress\n");
    std::fs::write(&client, &mine).expect("edit client.rs");
    std::fs::write(unit.join("src/notes.rs"), "// my notes\n").expect("add a file");

    let refused = grade(&["reset", "01"], workspace.path());
    assert_eq!(refused.status.code(), Some(1), "a refusal exits with 1");
    let text = stdout(&refused);
    assert!(text.contains("src/client.rs (changed)"), "{text}");
    assert!(text.contains("src/notes.rs (added)"), "{text}");
    assert!(text.contains("--force"), "{text}");
    assert_eq!(
        std::fs::read_to_string(&client).expect("client.rs is still there"),
        mine,
        "a refused reset writes nothing"
    );

    let forced = grade(&["reset", "01", "--force"], workspace.path());
    assert!(forced.status.success());
    let text = stdout(&forced);
    let backup_line = text
        .lines()
        .find(|line| line.starts_with("Saved your code of unit 01 to "))
        .unwrap_or_else(|| panic!("the backup is named: {text}"));
    let backup = Path::new(
        backup_line
            .trim_start_matches("Saved your code of unit 01 to ")
            .trim_end_matches('/'),
    )
    .to_owned();
    assert!(
        backup.starts_with(workspace.path().join(".backups")),
        "{backup:?}"
    );
    assert_eq!(
        std::fs::read_to_string(backup.join("src/client.rs")).expect("the backup has client.rs"),
        mine
    );
    assert!(
        backup.join("src/notes.rs").is_file(),
        "added files are backed up"
    );
    assert_eq!(
        std::fs::read_to_string(&client).expect("client.rs is back"),
        stub
    );
    assert!(
        !unit.join("src/notes.rs").exists(),
        "files the stub lacks are removed"
    );
    let again = stdout(&grade(&["reset", "01"], workspace.path()));
    assert!(again.contains("already the stub"), "{again}");
}

#[test]
fn list_shows_every_unit_with_its_status_and_the_course_bar() {
    let output = Command::new(env!("CARGO_BIN_EXE_cargo-grade"))
        // English, whatever the locale of the machine running the tests.
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", "C")
        .arg("list")
        .output()
        .expect("the grader starts");
    assert!(output.status.success());
    let text = stdout(&output);
    let first = text
        .lines()
        .find(|line| line.starts_with("01-connection"))
        .unwrap_or_else(|| panic!("unit 01 is listed: {text}"));
    assert!(first.contains("book/01-connection.md"), "{first}");
    assert!(
        ["○ not started", "· not graded yet", "✔ passed", "✘ "]
            .iter()
            .any(|status| first.contains(status)),
        "a status is shown: {first}"
    );
    assert!(text.contains("course ["), "{text}");
    assert!(text.contains("units passed"), "{text}");
}

#[test]
fn a_compile_error_is_shown_short_with_its_source_lines() {
    let workspace = tempfile::tempdir().expect("a temp dir");
    let unit = workspace.path().join("01-connection");
    copy_tree(&root().join("exercises/01-connection"), &unit);
    let client = unit.join("src/client.rs");
    let stub = std::fs::read_to_string(&client).expect("the stub's client.rs");
    std::fs::write(
        &client,
        format!("{stub}\nfn learner_mistake() -> u32 {{\n    \"forty-two\"\n}}\n"),
    )
    .expect("write a type error");
    let output = Command::new(env!("CARGO_BIN_EXE_cargo-grade"))
        // English, whatever the locale of the machine running the tests.
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", "C")
        .args(["01", "--submission"])
        .arg(workspace.path())
        .output()
        .expect("the grader starts");
    assert!(output.status.success(), "grading ran");
    let text = stdout(&output);
    assert!(text.contains("✘ does not compile"), "{text}");
    assert!(text.contains("Your code does not compile"), "{text}");
    assert!(text.contains("error[E0308]: mismatched types"), "{text}");
    assert!(
        text.contains("01-connection/src/client.rs:") && !text.contains("submission-"),
        "the location is the learner's file: {text}"
    );
    assert!(
        text.contains("\"forty-two\""),
        "the source line is shown: {text}"
    );
    assert!(text.contains("What it usually means"), "{text}");
    assert!(text.contains("rustc --explain E0308"), "{text}");
    assert!(
        text.lines().count() < 60,
        "the explanation stays short: {} lines\n{text}",
        text.lines().count()
    );
}
