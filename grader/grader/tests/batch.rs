//! `cargo grade --batch`: a class of mixed submissions of unit 02 (a good
//! one, a wrong one, a cheat, one that does not compile, a symbolic link,
//! an empty folder, a stray file) gives exactly the expected CSV, and the
//! batch is not stopped by the broken ones.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use grader::batch::{self, BatchProgress, Options, ReportFormat};
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

fn class(root: &Path) -> std::path::PathBuf {
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
    let expected = format!(
        "student,02-page-policy,total,max_total,error\r\n\
         alice,{max},{max},{max},\r\n\
         bob,{bob},{bob},{max},\r\n\
         carol,0,0,{max},\r\n\
         {dave}\r\n\
         erin,0,0,{max},\r\n\
         frank,0,0,{max},\r\n",
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
