//! Deliberately wrong submissions: the mistakes learners really make,
//! written as edits to the reference solution (`grader/units/NN/wrong/*.toml`)
//! so they never drift from it. The grader's tests grade each one and
//! check that exactly the expected checks fail.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::units::Unit;
use crate::{GraderError, files};

/// One wrong submission.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wrong {
    /// The mistake, in a sentence.
    pub description: String,
    /// Exactly the checks that must fail (all others must pass).
    #[serde(default)]
    pub expect_failed: Option<Vec<String>>,
    /// Checks the mistake makes fail only when a race in the wrong code goes
    /// one way (a resend that depends on when an ack arrives): they may fail
    /// or pass. Each needs a comment in the file saying why.
    #[serde(default)]
    pub may_fail: Vec<String>,
    /// The unit must not compile.
    #[serde(default)]
    pub expect_build_error: bool,
    /// The unit must score exactly this (used for cheats: 0).
    #[serde(default)]
    pub expect_score: Option<u32>,
    /// Text replacements in the solution's files.
    #[serde(default, rename = "edit")]
    pub edits: Vec<Edit>,
    /// Extra files (relative to the unit folder).
    #[serde(default, rename = "add")]
    pub adds: Vec<Add>,
}

/// Replace the one occurrence of `find` in `file` with `replace`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Edit {
    /// Relative to the unit folder, e.g. `src/client.rs`.
    pub file: String,
    /// Text that occurs exactly once in the solution's file.
    pub find: String,
    /// What it becomes.
    pub replace: String,
}

/// An extra file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Add {
    /// Relative to the unit folder, e.g. `build.rs`.
    pub file: String,
    /// Its contents.
    pub content: String,
}

/// Every wrong submission of `unit`: `(name, spec)`, sorted by name.
pub fn load(root: &Path, unit: &Unit) -> Result<Vec<(String, Wrong)>, GraderError> {
    let dir = crate::units::unit_dir(root, &unit.slug).join("wrong");
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut wrongs = Vec::new();
    for path in files::list(&dir)? {
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        let wrong: Wrong =
            toml::from_str(&files::read(&path)?).map_err(|error| GraderError::Wrong {
                path: path.clone(),
                message: error.to_string(),
            })?;
        wrongs.push((name, wrong));
    }
    Ok(wrongs)
}

/// Writes the wrong submission as a submission folder (laid out like
/// `exercises/`) under `dest`, and returns that folder.
pub fn materialize(
    root: &Path,
    unit: &Unit,
    name: &str,
    wrong: &Wrong,
    dest: &Path,
) -> Result<PathBuf, GraderError> {
    let submission = dest.join(name);
    materialize_into(root, unit, name, wrong, &submission)?;
    Ok(submission)
}

/// Writes the wrong submission `name` as the submission folder
/// `submission`, over what an earlier one left there.
fn materialize_into(
    root: &Path,
    unit: &Unit,
    name: &str,
    wrong: &Wrong,
    submission: &Path,
) -> Result<(), GraderError> {
    let solution = root.join("solutions").join(&unit.slug);
    let unit_dir = submission.join(&unit.slug);
    files::mirror(&solution.join("src"), &unit_dir.join("src"))?;
    // The units this one builds on, as the reference has them (capstone A
    // on unit 10): only this unit's code is wrong.
    for dependency in crate::scratch::unit_dependencies(&solution)? {
        let theirs = root.join("solutions").join(&dependency).join("src");
        files::mirror(&theirs, &submission.join(&dependency).join("src"))?;
    }
    let problem = |message: String| GraderError::Wrong {
        path: crate::units::unit_dir(root, &unit.slug)
            .join("wrong")
            .join(format!("{name}.toml")),
        message,
    };
    for edit in &wrong.edits {
        let path = unit_dir.join(&edit.file);
        let original = files::read(&solution.join(&edit.file))?;
        let current = files::read(&path)?;
        let count = original.matches(&edit.find).count();
        if count != 1 {
            return Err(problem(format!(
                "the text to find occurs {count} times in solutions/{}/{} (it must occur once): {:?}",
                unit.slug, edit.file, edit.find
            )));
        }
        files::write_if_changed(&path, &current.replacen(&edit.find, &edit.replace, 1))?;
    }
    for add in &wrong.adds {
        files::write_if_changed(&unit_dir.join(&add.file), &add.content)?;
    }
    Ok(())
}

/// What grading one wrong submission showed, against what it expects.
#[derive(Debug)]
pub struct Verdict {
    /// The file's name, without `.toml`.
    pub name: String,
    /// The mistake.
    pub description: String,
    /// The unit's result.
    pub state: crate::report::UnitState,
    /// The unit's score.
    pub score: u32,
    /// The checks that ran and did not pass.
    pub failed: std::collections::BTreeSet<String>,
    /// The checks skipped because a program they need is missing: not
    /// compared with the expectation.
    pub skipped: std::collections::BTreeSet<String>,
    /// Each way the result differs from the expectation; empty when it matches.
    pub mismatches: Vec<String>,
    /// What each check that failed although it was expected to pass said.
    pub unexpected: std::collections::BTreeMap<String, String>,
    /// How long grading it took, its build included.
    pub elapsed: std::time::Duration,
    /// Its slowest check and how long that took (ms): where the time of a
    /// slow submission goes (a check waiting out its timeout, usually).
    pub slowest: Option<(String, u64)>,
}

/// Grades every wrong submission of `unit` and compares each result with
/// its expectation. Used by `cargo grade wrong NN` and by the grader's tests.
/// With `checks` (check ids), only those run, and each submission must
/// fail exactly the ones of them it expects to fail.
pub async fn verify(
    root: &Path,
    unit: &Unit,
    checks: &[String],
) -> Result<Vec<Verdict>, GraderError> {
    use crate::report::UnitState;
    use crate::run::CheckStatus;

    // One folder for all of a unit's wrong submissions, each written over
    // the last: they are graded one after the other, so their builds take
    // the same files in `target/grade` instead of a set each (about 40 MB
    // a submission, gigabytes over the course).
    let dir = crate::scratch::base_dir(root)
        .join("wrong")
        .join(&unit.slug);
    let mut verdicts = Vec::new();
    for (name, wrong) in load(root, unit)? {
        // Emptied first: a file only the last submission added must go.
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|source| GraderError::Io {
                path: dir.clone(),
                source,
            })?;
        }
        materialize_into(root, unit, &name, &wrong, &dir)?;
        let started = std::time::Instant::now();
        let request = crate::grade::Request {
            source: crate::scratch::Source::Dir(dir.clone()),
            units: vec![unit.id.clone()],
            force: true,
            checks: checks.to_vec(),
        };
        let report = crate::grade::grade(root, &request, std::sync::Arc::new(|_| {})).await?;
        let elapsed = started.elapsed();
        let Some(result) = report.units.into_iter().next() else {
            return Err(GraderError::UnknownUnit(unit.id.clone()));
        };
        let slowest = result
            .checks
            .iter()
            .max_by_key(|check| check.duration_ms)
            .map(|check| (check.id.clone(), check.duration_ms));
        // A skipped check (a program it needs is missing here) says
        // nothing about the submission: it is left out of the comparison,
        // neither failed nor passed, rather than counted as a pass that
        // would read as "expected to fail but passed". Under `CI=true` a
        // check never skips, so CI compares every check.
        let skipped: std::collections::BTreeSet<String> = result
            .checks
            .iter()
            .filter(|check| check.status == CheckStatus::Skipped)
            .map(|check| check.id.clone())
            .collect();
        let failed: std::collections::BTreeSet<String> = result
            .checks
            .iter()
            .filter(|check| !matches!(check.status, CheckStatus::Pass | CheckStatus::Skipped))
            .map(|check| check.id.clone())
            .collect();
        let mut mismatches = Vec::new();
        let mut unexpected = std::collections::BTreeMap::new();
        if wrong.expect_build_error && result.state != UnitState::BuildFailed {
            mismatches.push(format!("expected a build error, got {:?}", result.state));
        }
        if let Some(score) = wrong.expect_score
            && result.score != score
        {
            mismatches.push(format!("expected score {score}, got {}", result.score));
        }
        if let Some(expected) = &wrong.expect_failed {
            let expected: std::collections::BTreeSet<String> = expected
                .iter()
                .filter(|id| checks.is_empty() || checks.contains(id))
                .filter(|id| !skipped.contains(*id))
                .cloned()
                .collect();
            if result.state == UnitState::BuildFailed {
                mismatches.push("expected it to build, but it does not compile".to_owned());
            } else if failed
                .iter()
                .filter(|id| !wrong.may_fail.contains(id))
                .cloned()
                .collect::<std::collections::BTreeSet<String>>()
                != expected
            {
                let missing: Vec<_> = expected.difference(&failed).collect();
                let extra: Vec<_> = failed
                    .difference(&expected)
                    .filter(|id| !wrong.may_fail.contains(id))
                    .collect();
                for check in &result.checks {
                    if extra.contains(&&check.id) {
                        let said = check
                            .message
                            .clone()
                            .unwrap_or_else(|| format!("{:?}, without a message", check.status));
                        unexpected.insert(check.id.clone(), said);
                    }
                }
                mismatches.push(format!(
                    "expected to fail but passed: {missing:?}; failed but not expected: {extra:?}"
                ));
            }
        }
        if !wrong.expect_build_error
            && wrong.expect_score.is_none()
            && wrong.expect_failed.is_none()
        {
            mismatches.push(
                "states no expectation (expect_failed, expect_score or expect_build_error)"
                    .to_owned(),
            );
        }
        verdicts.push(Verdict {
            name,
            description: wrong.description,
            state: result.state,
            score: result.score,
            failed,
            skipped,
            mismatches,
            unexpected,
            elapsed,
            slowest,
        });
    }
    Ok(verdicts)
}
