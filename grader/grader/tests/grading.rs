//! The grader, end to end, on real code: the solutions get full marks (the
//! same when graded again), the stubs compile and get zero, untouched exercises
//! are "not started", and every deliberately wrong submission loses exactly
//! the checks it should. Gradings share one lock, so these tests run one
//! grading at a time whatever the test threads.

use std::sync::Arc;

use grader::grade::{self, Request};
use grader::report::{Report, UnitState};
use grader::run::CheckStatus;
use grader::scratch::Source;
use grader::{units, wrong};

async fn grade(source: Source, units: &[&str], force: bool) -> Report {
    let request = Request {
        source,
        units: units.iter().map(|u| (*u).to_owned()).collect(),
        force,
        checks: Vec::new(),
    };
    grade::grade(&grader::repo_root(), &request, Arc::new(|_| {}))
        .await
        .expect("grading runs")
}

/// Everything about a check result except how long it took.
fn verdicts(report: &Report) -> Vec<(String, String, CheckStatus, u32)> {
    report
        .units
        .iter()
        .flat_map(|unit| {
            unit.checks
                .iter()
                .map(|c| (unit.slug.clone(), c.id.clone(), c.status, c.score))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn solutions_get_full_marks_every_time() {
    let first = grade(Source::Solutions, &[], false).await;
    for unit in &first.units {
        let failing: Vec<_> = unit
            .checks
            .iter()
            .filter(|c| c.status != CheckStatus::Pass)
            .map(|c| (&c.id, c.status, &c.message, &c.output))
            .collect();
        assert_eq!(
            unit.state,
            UnitState::Passed,
            "the reference solution of {} must pass every check: {failing:#?}\n{}",
            unit.slug,
            unit.build_output.as_deref().unwrap_or("")
        );
        assert_eq!(unit.score, unit.max_score);
    }
    // Graded again (warm: only the checks run), every verdict and score is
    // the same. (Each unit's checks also run in the mutation tests' CI
    // slices, which would show a check that passes only now and then.)
    let again = grade(Source::Solutions, &[], false).await;
    // The first run passed every check, so what does not pass now is what
    // changed.
    let changed: Vec<_> = again
        .units
        .iter()
        .flat_map(|unit| unit.checks.iter().map(move |c| (unit, c)))
        .filter(|(_, c)| c.status != CheckStatus::Pass)
        .map(|(unit, c)| {
            format!(
                "{}/{}: {:?} {}\n{}\n{}",
                unit.slug,
                c.id,
                c.status,
                c.message.as_deref().unwrap_or(""),
                c.output,
                unit.build_output.as_deref().unwrap_or("")
            )
        })
        .collect();
    assert!(
        verdicts(&first) == verdicts(&again),
        "grading must be deterministic: the second run differs from the first in\n{}",
        changed.join("\n---\n")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn stubs_compile_and_score_zero() {
    let report = grade(Source::Exercises, &[], true).await;
    for unit in &report.units {
        assert_eq!(
            unit.state,
            UnitState::Failing,
            "the stub of {} must compile and fail: {}",
            unit.slug,
            unit.build_output.as_deref().unwrap_or("")
        );
        let passing: Vec<_> = unit
            .checks
            .iter()
            .filter(|c| c.status == CheckStatus::Pass)
            .map(|c| &c.id)
            .collect();
        assert!(
            passing.is_empty(),
            "checks pass on the stub of {}: {passing:?}",
            unit.slug
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn untouched_exercises_are_not_started_and_not_built() {
    let report = grade(Source::Exercises, &[], false).await;
    for unit in &report.units {
        assert_eq!(unit.state, UnitState::NotStarted, "{}", unit.slug);
        assert!(unit.checks.iter().all(|c| c.status == CheckStatus::NotRun));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_submission_without_the_unit_is_not_started() {
    let empty = grader::scratch::base_dir(&grader::repo_root()).join("empty-submission");
    std::fs::create_dir_all(&empty).expect("temp dir");
    let report = grade(Source::Dir(empty), &["01"], false).await;
    assert_eq!(report.units[0].state, UnitState::NotStarted);
    assert_eq!(report.score, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_unit_is_a_clear_error() {
    let request = Request {
        source: Source::Solutions,
        units: vec!["99".into()],
        force: false,
        checks: Vec::new(),
    };
    let error = grade::grade(&grader::repo_root(), &request, Arc::new(|_| {}))
        .await
        .expect_err("unit 99 does not exist");
    assert!(error.to_string().contains("cargo grade list"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_submissions_lose_exactly_their_checks() {
    let root = grader::repo_root();
    for unit in units::load_all(&root).expect("units load") {
        let verdicts = wrong::verify(&root, &unit, &[])
            .await
            .expect("wrong submissions grade");
        assert!(
            verdicts.len() >= 3,
            "unit {} needs at least three wrong submissions",
            unit.id
        );
        let mismatched: Vec<_> = verdicts
            .iter()
            .filter(|v| !v.mismatches.is_empty())
            .collect();
        assert!(
            mismatched.is_empty(),
            "wrong submissions of {} did not get the result they expect: {mismatched:#?}",
            unit.slug
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_json_report_has_the_documented_shape() {
    let report = grade(Source::Exercises, &["01"], true).await;
    let json: serde_json::Value =
        serde_json::from_str(&report.to_json()).expect("the report is valid JSON");
    assert_eq!(json["schema_version"], 1);
    for key in ["submission", "isolation", "score", "max_score", "units"] {
        assert!(json.get(key).is_some(), "missing top-level {key}");
    }
    assert_eq!(
        json["isolation"],
        grader::sandbox::isolation().describe(),
        "the report says which sandbox its checks ran in"
    );
    let unit = &json["units"][0];
    for key in [
        "id",
        "slug",
        "title",
        "state",
        "score",
        "max_score",
        "duration_ms",
        "build_output",
        "checks",
    ] {
        assert!(unit.get(key).is_some(), "missing unit field {key}");
    }
    assert_eq!(unit["state"], "failing");
    let check = &unit["checks"][0];
    for key in [
        "id",
        "visibility",
        "status",
        "score",
        "max_score",
        "message",
        "hint",
        "chapter",
        "covers",
        "duration_ms",
        "output",
    ] {
        assert!(check.get(key).is_some(), "missing check field {key}");
    }
    assert_eq!(check["status"], "fail");
    assert!(
        check["message"]
            .as_str()
            .is_some_and(|m| m.contains("Task")),
        "a stub's failure names the task to do: {check}"
    );
}
