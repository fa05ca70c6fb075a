//! `cargo grade --tests DIR`: an instructor's private pack replaces a
//! unit's hidden checks and points. The pack is process-wide, so this test
//! has a binary of its own.

use std::sync::Arc;

use grader::grade::{self, Request};
use grader::report::UnitState;
use grader::run::CheckStatus;
use grader::scratch::Source;
use grader::{pack, units};

const PRIVATE_CHECKS: &str = r#"//! A class's own hidden checks for unit 01.

use std::time::Duration;

use checkkit::within;
use connection::ConnectError;

checkkit::checks! { private_no_scheme_is_an_invalid_url }

async fn private_no_scheme_is_an_invalid_url() {
    let result = within(
        Duration::from_secs(2),
        "connect() without a scheme",
        connection::connect("localhost:9/ws"),
    )
    .await;
    assert!(
        matches!(result, Err(ConnectError::InvalidUrl { .. })),
        "a URL without ws:// is ConnectError::InvalidUrl, got {:?}",
        result.as_ref().err()
    );
}
"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_private_pack_replaces_the_hidden_checks_and_points() {
    let root = grader::repo_root();
    let base = grader::scratch::base_dir(&root).join("private-tests");
    let dir = base.join("pack");
    let _ = std::fs::remove_dir_all(&dir);
    let all = units::load_all(&root).expect("units load");
    let unit = units::find(&all, "01").expect("unit 01").clone();
    let written = pack::write_template(&root, &dir, &[&unit]).expect("the template is written");
    assert_eq!(
        written.len(),
        4,
        "README, grading.toml, unit.toml, hidden.rs: {written:?}"
    );
    let grading = std::fs::read_to_string(dir.join("grading.toml")).expect("grading.toml");
    assert!(
        grading.contains("[\"01-connection\"]\necho_text_round_trip = { points = "),
        "{grading}"
    );

    // Replace: keep the visible checks (worth 10 each now), drop the
    // course's hidden checks, add one private check worth 30.
    let mut toml = std::fs::read_to_string(dir.join("01-connection/unit.toml")).expect("unit.toml");
    let hidden_start = toml
        .find("[[check]]\nid = \"send_after_own_close_is_an_error\"")
        .expect("the first hidden check");
    toml.truncate(hidden_start);
    let toml = toml
        .lines()
        .map(|line| {
            if line.starts_with("points = ") {
                "points = 10"
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let toml = format!(
        "{toml}\n[[check]]\nid = \"private_no_scheme_is_an_invalid_url\"\nfile = \"hidden\"\n\
         points = 30\ncovers = [\"connect_errors\"]\nsection = \"task-1-connecting\"\n\
         hint = \"Check the scheme first.\"\n"
    );
    std::fs::write(dir.join("01-connection/unit.toml"), toml).expect("write unit.toml");
    std::fs::write(dir.join("01-connection/hidden.rs"), PRIVATE_CHECKS).expect("write hidden.rs");
    // One file sets points and visibility over unit.toml: the private check
    // is worth 40, and one visible check 12, its result shown as hidden.
    std::fs::write(
        dir.join("grading.toml"),
        "[\"01-connection\"]\n\
         echo_text_round_trip = { points = 12, visibility = \"hidden\" }\n\
         private_no_scheme_is_an_invalid_url = { points = 40 }\n",
    )
    .expect("write grading.toml");

    units::use_tests_pack(&dir).expect("the pack is accepted");
    let private = units::load_all(&root).expect("units load with the pack");
    let private_unit = units::find(&private, "01").expect("unit 01");
    let visible = private_unit
        .checks
        .iter()
        .filter(|c| c.file == units::Visibility::Visible)
        .count();
    assert_eq!(
        private_unit.max_score(),
        (visible as u32 - 1) * 10 + 12 + 40
    );

    // The reference solution, from a folder of its own (its scratch
    // workspace then never holds the course's hidden checks).
    let submission = base.join("submission");
    grader::files::mirror(
        &root.join("solutions/01-connection/src"),
        &submission.join("01-connection/src"),
    )
    .expect("copy the solution");
    let request = Request {
        source: Source::Dir(submission),
        units: vec!["01".into()],
        force: true,
        checks: Vec::new(),
    };
    let report = grade::grade(&root, &request, Arc::new(|_| {}))
        .await
        .expect("grading runs");
    let result = &report.units[0];
    assert_eq!(result.state, UnitState::Passed, "{:#?}", result.checks);
    assert_eq!(result.score, (visible as u32 - 1) * 10 + 12 + 40);
    let echo = result
        .checks
        .iter()
        .find(|c| c.id == "echo_text_round_trip")
        .expect("the echo check");
    assert_eq!(
        (echo.max_score, echo.visibility),
        (12, units::Visibility::Hidden)
    );
    let ids: Vec<&str> = result.checks.iter().map(|c| c.id.as_str()).collect();
    assert!(
        ids.contains(&"private_no_scheme_is_an_invalid_url"),
        "{ids:?}"
    );
    assert!(
        !ids.contains(&"close_sends_1000_and_waits_for_the_reply"),
        "{ids:?}"
    );
    assert!(result.checks.iter().all(|c| c.status == CheckStatus::Pass));
}
