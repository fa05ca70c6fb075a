//! The exercises' own early warning about `Cargo.toml`: every exercise has a
//! generated `tests/course_manifest.rs` (not a graded check) that fails when
//! the unit's dependencies differ from the course's, because the grader
//! builds with the course's manifest and ignores the exercise's.

use grader::stubs::manifest_check::{compare, dependency_lines};
use grader::{stubs, units};

const MANIFEST: &str = r#"[package]
name = "page-policy"
version = "0.1.0"

[dependencies]
tokio.workspace = true
tokio-tungstenite.workspace = true
futures-util.workspace = true

[dev-dependencies]
testkit.workspace = true

[lints]
workspace = true

[[test]]
name = "visible"
path = "tests/visible.rs"
harness = false
"#;

fn course() -> Vec<String> {
    dependency_lines(MANIFEST)
}

fn check(manifest: &str) -> Result<(), String> {
    let course = course();
    let course: Vec<&str> = course.iter().map(String::as_str).collect();
    compare(manifest, &course, "02-page-policy")
}

#[test]
fn dependency_lines_are_the_dependency_tables_only() {
    assert_eq!(
        course(),
        [
            "[dependencies] futures-util.workspace=true",
            "[dependencies] tokio-tungstenite.workspace=true",
            "[dependencies] tokio.workspace=true",
            "[dev-dependencies] testkit.workspace=true",
        ]
    );
}

#[test]
fn the_untouched_manifest_and_a_reformatted_one_pass() {
    assert_eq!(check(MANIFEST), Ok(()));
    let reformatted = MANIFEST
        .replace(
            "tokio.workspace = true",
            "tokio.workspace   =   true # the runtime",
        )
        .replace("[lints]", "# a note\n[lints]");
    assert_eq!(check(&reformatted), Ok(()));
    // Changes outside the dependency tables are not its business.
    assert_eq!(check(&MANIFEST.replace("0.1.0", "0.2.0")), Ok(()));
}

#[test]
fn cargo_add_http_fails_with_what_to_do() {
    let added = MANIFEST.replace(
        "futures-util.workspace = true\n",
        "futures-util.workspace = true\nhttp = \"1.5.0\"\n",
    );
    let message = check(&added).expect_err("an added dependency is reported");
    assert!(
        message.starts_with(
            "exercises/02-page-policy/Cargo.toml no longer has the course's dependencies."
        ),
        "{message}"
    );
    assert!(
        message.contains("  added:   [dependencies] http=\"1.5.0\""),
        "{message}"
    );
    assert!(
        message.contains("ignores this one") && message.contains("`cargo grade 02`"),
        "{message}"
    );
    assert!(
        message.contains("`http` is `tokio_tungstenite::tungstenite::http`"),
        "{message}"
    );
    assert!(message.contains("not graded"), "{message}");
}

#[test]
fn removed_changed_and_table_form_dependencies_fail() {
    let removed = MANIFEST.replace("testkit.workspace = true\n", "");
    let message = check(&removed).expect_err("a removed dependency is reported");
    assert!(
        message.contains("  removed: [dev-dependencies] testkit.workspace=true"),
        "{message}"
    );

    let features = MANIFEST.replace(
        "tokio.workspace = true",
        "tokio = { workspace = true, features = [\"rt\"] }",
    );
    let message = check(&features).expect_err("changed features are reported");
    assert!(
        message.contains("  added:   [dependencies] tokio={workspace=true,features=[\"rt\"]}")
            && message.contains("  removed: [dependencies] tokio.workspace=true"),
        "{message}"
    );

    let table = format!("{MANIFEST}\n[dependencies.http]\nversion = \"1\"\n");
    let message = check(&table).expect_err("a dependency table is reported");
    assert!(
        message.contains("  added:   [dependencies.http] version=\"1\""),
        "{message}"
    );

    let target = format!("{MANIFEST}\n[target.'cfg(unix)'.dependencies]\nlibc = \"0.2\"\n");
    let message = check(&target).expect_err("a target-specific dependency is reported");
    assert!(message.contains("libc=\"0.2\""), "{message}");
}

/// Every exercise gets the test, with its unit's dependency lines, and the
/// committed exercise manifests pass it.
#[test]
fn every_exercise_has_the_test_and_its_manifest_passes() {
    let root = grader::repo_root();
    let slugs: Vec<String> = units::load_all(&root)
        .expect("unit.toml files load")
        .into_iter()
        .map(|unit| unit.slug)
        .collect();
    let generated = stubs::generate(&root, &slugs).expect("stubs generate");
    for slug in &slugs {
        let manifest =
            String::from_utf8_lossy(&generated[&std::path::Path::new(slug).join("Cargo.toml")]);
        let test = String::from_utf8_lossy(
            generated
                .get(&std::path::Path::new(slug).join("tests/course_manifest.rs"))
                .unwrap_or_else(|| panic!("{slug} has no tests/course_manifest.rs")),
        );
        let lines = dependency_lines(&manifest);
        assert!(!lines.is_empty(), "{slug}: no dependency lines");
        for line in &lines {
            assert!(
                test.contains(&format!("{line:?},")),
                "{slug}: the generated test lacks {line:?}"
            );
        }
        assert!(
            test.contains(&format!("COURSE, {slug:?})")),
            "{slug}: the test names its unit"
        );
        let committed =
            std::fs::read_to_string(root.join("exercises").join(slug).join("Cargo.toml"))
                .expect("the exercise's manifest");
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        assert_eq!(compare(&committed, &lines, slug), Ok(()), "{slug}");
    }
}
