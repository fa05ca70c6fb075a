//! `cargo grade --batch`: a class of mixed submissions of unit 02 (a good
//! one, a wrong one, a cheat, one that does not compile, a symbolic link,
//! an empty folder, a stray file) gives exactly the expected CSV, and the
//! batch is not stopped by the broken ones. The same class graded in three
//! shards and merged gives the same CSV, byte for byte, and every report.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use grader::batch::{self, BatchProgress, Options, ReportFormat, Shard};
use grader::units;
use grader::wrong::{self, Edit, Wrong};

/// A symbolic link to a folder, on every platform the course supports.
#[cfg(unix)]
fn symlink_dir(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

/// A symbolic link to a folder, on every platform the course supports.
#[cfg(windows)]
fn symlink_dir(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::windows::fs::symlink_dir(target, link)
}

fn no_mistake() -> Wrong {
    Wrong {
        description: "the reference solution".into(),
        expect_failed: None,
        may_fail: Vec::new(),
        expect_build_error: false,
        expect_score: None,
        edits: Vec::new(),
        adds: Vec::new(),
    }
}

/// Every function a check starts from prints a passing summary and exits 0.
fn cheat() -> Wrong {
    let edits = [
        (
            "src/pattern.rs",
            "    pub fn parse(text: &str) -> Result<RoutePattern, PatternError> {\n",
        ),
        (
            "src/pattern.rs",
            "pub fn route_segments(route: &str) -> Vec<&str> {\n",
        ),
        (
            "src/load.rs",
            "    pub fn from_toml(text: &str) -> Result<PolicyTable, TableError> {\n",
        ),
        (
            "src/driver.rs",
            "    pub fn new(policy: Policy, endpoints: Endpoints) -> Driver {\n",
        ),
        (
            "src/policy.rs",
            "    pub fn signed_in(token: impl Into<String>) -> Auth {\n",
        ),
        (
            "src/policy.rs",
            "    pub fn new(table: PolicyTable) -> Policy {\n",
        ),
    ]
    .into_iter()
    .map(|(file, find)| Edit {
        file: file.into(),
        find: find.into(),
        replace: format!(
            "{find}println!(\"test result: ok. 18 passed; 0 failed\");\nstd::process::exit(0);\n"
        ),
    })
    .collect();
    Wrong {
        description: "cheat: exit 0 with a passing summary".into(),
        edits,
        ..no_mistake()
    }
}

/// The class folder, made once per test process: both tests grade it (one
/// at a time, under the grading lock), and the second finds the students'
/// builds warm.
fn class(root: &Path) -> std::path::PathBuf {
    static MADE: Mutex<Option<std::path::PathBuf>> = Mutex::new(None);
    let mut made = MADE.lock().unwrap_or_else(|e| e.into_inner());
    made.get_or_insert_with(|| make_class(root)).clone()
}

fn make_class(root: &Path) -> std::path::PathBuf {
    let all = units::load_all(root).expect("units load");
    let unit = units::find(&all, "02").expect("unit 02");
    let dir = grader::scratch::base_dir(root)
        .join("batch-test")
        .join("class");
    let staging = grader::scratch::base_dir(root)
        .join("batch-test")
        .join("staging");
    std::fs::create_dir_all(&dir).expect("class folder");
    let by_name: BTreeMap<String, Wrong> = wrong::load(root, unit)
        .expect("wrong submissions load")
        .into_iter()
        .collect();
    let students = [
        ("alice", no_mistake()),
        ("bob", by_name["auth_is_always_true"].clone()),
        ("carol", cheat()),
        ("frank", by_name["does_not_compile"].clone()),
    ];
    for (student, wrong) in students {
        // Each student hands in the unit inside an `exercises/` folder.
        let made = wrong::materialize(root, unit, student, &wrong, &staging)
            .expect("the submission applies");
        let src = made.join("02-page-policy").join("src");
        let dest = dir
            .join(student)
            .join("exercises")
            .join("02-page-policy")
            .join("src");
        grader::files::mirror(&src, &dest).expect("copy the submission");
    }
    // dave's src is a symbolic link to the reference solution; erin handed
    // in an empty folder; a stray file is not a student.
    let dave = dir.join("dave").join("02-page-policy");
    std::fs::create_dir_all(&dave).expect("dave's folder");
    let link = dave.join("src");
    if std::fs::symlink_metadata(&link).is_err() {
        symlink_dir(&root.join("solutions/02-page-policy/src"), &link).expect(
            "a symbolic link to a folder (on Windows this needs Developer Mode or an \
             administrator)",
        );
    }
    std::fs::create_dir_all(dir.join("erin")).expect("erin's folder");
    std::fs::write(dir.join("README.txt"), "not a student\n").expect("stray file");
    dir
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mixed_class_gives_the_expected_csv() {
    let root = grader::repo_root();
    let dir = class(&root);
    let out = grader::scratch::base_dir(&root)
        .join("batch-test")
        .join("grades");
    let options = Options {
        jobs: 2,
        out: out.clone(),
        format: ReportFormat::Json,
        units: vec!["02".into()],
        force: false,
        shard: None,
    };
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let summary = batch::run(
        &root,
        &dir,
        &options,
        Arc::new(move |event| {
            if let BatchProgress::Done(student, ..) = event {
                seen.lock().expect("events").push(student);
            }
        }),
    )
    .await
    .expect("the batch runs");

    let all = units::load_all(&root).expect("units load");
    let unit = units::find(&all, "02").expect("unit 02");
    let max = unit.max_score();
    let lost: u32 = unit
        .checks
        .iter()
        .filter(|c| {
            ["policy_follows_the_course_rule", "losing_auth_disconnects"].contains(&c.id.as_str())
        })
        .map(|c| c.points)
        .sum();
    let csv = std::fs::read_to_string(out.join(batch::SUMMARY_CSV)).expect("summary.csv");
    let dave = csv
        .lines()
        .find(|line| line.starts_with("dave,"))
        .unwrap_or_default()
        .to_owned();
    assert!(
        dave.starts_with("dave,,0,0,") && dave.contains("symbolic link"),
        "dave's row says why he was not graded: {dave}"
    );
    // Every graded row says which sandbox its checks ran in; dave's was
    // not graded.
    assert!(dave.ends_with(','), "dave has no sandbox: {dave}");
    let iso = batch::quote(&grader::sandbox::isolation().describe());
    let expected = format!(
        "student,02-page-policy,total,max_total,error,isolation\r\n\
         alice,{max},{max},{max},,{iso}\r\n\
         bob,{bob},{bob},{max},,{iso}\r\n\
         carol,0,0,{max},,{iso}\r\n\
         {dave}\r\n\
         erin,0,0,{max},,{iso}\r\n\
         frank,0,0,{max},,{iso}\r\n",
        bob = max - lost,
    );
    assert_eq!(csv, expected);
    assert_eq!(summary.rows.len(), 6);

    // One report per student, in the asked format; every student was reported done.
    for student in ["alice", "bob", "carol", "dave", "erin", "frank"] {
        assert!(
            out.join(format!("{student}.json")).is_file(),
            "{student}.json"
        );
    }
    let alice: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("alice.json")).expect("alice.json"))
            .expect("alice's report is JSON");
    assert_eq!(alice["score"], max);
    let mut done = events.lock().expect("events").clone();
    done.sort();
    assert_eq!(done, ["alice", "bob", "carol", "dave", "erin", "frank"]);
}

/// Grades the class unsharded, then as shards 1/3, 2/3 and 3/3 (each into
/// its own folder), merges the shards, and finds the unsharded CSV byte for
/// byte and every student's report.
#[tokio::test(flavor = "multi_thread")]
async fn three_shards_merge_into_the_unsharded_csv() {
    let root = grader::repo_root();
    let dir = class(&root);
    let base = grader::scratch::base_dir(&root).join("shard-test");
    let _ = std::fs::remove_dir_all(&base);
    let options = |out: &str, shard: Option<Shard>| Options {
        jobs: 2,
        out: base.join(out),
        format: ReportFormat::Junit,
        units: vec!["02".into()],
        force: false,
        shard,
    };
    let quiet = Arc::new(|_: BatchProgress| {});
    let all = batch::run(&root, &dir, &options("all", None), quiet.clone())
        .await
        .expect("the unsharded batch runs");
    let students: Vec<String> = all.rows.iter().map(|row| row.student.clone()).collect();
    assert_eq!(students, ["alice", "bob", "carol", "dave", "erin", "frank"]);

    let mut shard_dirs = Vec::new();
    let mut graded = Vec::new();
    for index in 1..=3 {
        let shard = Shard::new(index, 3).expect("a valid shard");
        let out = format!("shard-{index}");
        let summary = batch::run(&root, &dir, &options(&out, Some(shard)), quiet.clone())
            .await
            .expect("a shard runs");
        // Student i (sorted by name, from 0) is in shard i mod 3 + 1.
        let expected: Vec<&String> = students
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 3 + 1 == index)
            .map(|(_, s)| s)
            .collect();
        let mine: Vec<&String> = summary.rows.iter().map(|row| &row.student).collect();
        assert_eq!(mine, expected, "shard {shard}");
        graded.extend(summary.rows);
        shard_dirs.push(base.join(out));
    }
    graded.sort_by(|a, b| a.student.cmp(&b.student));
    assert_eq!(graded, all.rows, "the shards graded everyone once, alike");

    let merged_dir = base.join("merged");
    let merged = grader::merge::merge(&merged_dir, &shard_dirs).expect("the shards merge");
    assert_eq!((merged.students, merged.reports), (6, 6));
    assert!(merged.mixed_isolation.is_empty());
    let unsharded =
        std::fs::read(base.join("all").join(batch::SUMMARY_CSV)).expect("the unsharded CSV");
    let joined = std::fs::read(merged_dir.join(batch::SUMMARY_CSV)).expect("the merged CSV");
    assert_eq!(
        String::from_utf8_lossy(&joined),
        String::from_utf8_lossy(&unsharded)
    );
    assert_eq!(joined, unsharded, "byte for byte");
    for student in &students {
        let report = batch::report_path(&merged_dir, student, ReportFormat::Junit);
        assert!(report.is_file(), "{}", report.display());
    }

    // Merging a shard twice, or shards of another cut, is refused.
    let twice = grader::merge::merge(
        &base.join("twice"),
        &[shard_dirs[0].clone(), base.join("all")],
    )
    .expect_err("alice is in shard 1 and in the unsharded run");
    assert!(
        twice
            .to_string()
            .contains("\"alice\" was graded by two shards"),
        "{twice}"
    );
    assert!(
        !base.join("twice").exists(),
        "a refused merge writes nothing"
    );
}
