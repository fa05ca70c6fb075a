//! Grading, end to end: a submission in, a [`Report`] out.
//!
//! 1. Decide which units to grade. In `cargo grade` (all units) a unit whose
//!    `src/` is still exactly the generated stub is reported as *not
//!    started* without building it: that is what makes a learner's first
//!    `cargo grade` quick. A unit asked for by name is always graded.
//! 2. Prepare the scratch workspace ([`crate::scratch`]) and build it once
//!    ([`crate::compile`]).
//! 3. Run every check of every built unit in its own process
//!    ([`crate::run`]), a few at a time.
//!
//! Gradings that share a target directory are serialised by a lock file,
//! so two `cargo grade` runs (or the grader's own parallel tests) never
//! build into, or run binaries from, the same scratch folder at once.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::compile::UnitBuild;
use crate::report::{CheckReport, Report, SCHEMA_VERSION, UnitReport, UnitState};
use crate::run::{CheckStatus, Outcome};
use crate::scratch::Source;
use crate::units::Unit;
use crate::{GraderError, compile, files, run, scratch, stubs};

/// How many check processes run at once. Checks mostly wait on the network
/// and timers; more than two per core starves the timing-sensitive ones
/// (a Pong due within a second) on a two-core machine.
pub fn parallel_checks() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4))
}

/// The permits for check processes, shared by every grading of this
/// process: a batch grading several submissions at once still runs at most
/// [`parallel_checks`] checks at a time.
fn check_permits() -> Arc<tokio::sync::Semaphore> {
    static PERMITS: std::sync::OnceLock<Arc<tokio::sync::Semaphore>> = std::sync::OnceLock::new();
    PERMITS
        .get_or_init(|| Arc::new(tokio::sync::Semaphore::new(parallel_checks())))
        .clone()
}

/// A progress event, for the terminal's progress line.
#[derive(Debug, Clone)]
pub enum Progress {
    /// The build started (units being compiled).
    Building(Vec<String>),
    /// A unit compiled.
    Built(String),
    /// A check finished: unit slug, checks done, checks in all.
    Checked(String, usize, usize),
}

/// What to grade.
#[derive(Debug, Clone)]
pub struct Request {
    /// Where the code comes from.
    pub source: Source,
    /// Unit ids or slugs; empty means every unit.
    pub units: Vec<String>,
    /// Grade units even when they are still the stub.
    pub force: bool,
    /// Check ids to run; empty means every check. A unit graded with some
    /// of its checks is scored out of those checks' points only.
    pub checks: Vec<String>,
}

/// Grades `request` under the repository at `root`.
pub async fn grade(
    root: &Path,
    request: &Request,
    progress: Arc<dyn Fn(Progress) + Send + Sync>,
) -> Result<Report, GraderError> {
    let _lock = lock(root)?;
    grade_locked(root, request, progress).await
}

/// [`grade`], for a caller that already holds the grading lock of `root`
/// (a batch takes it once for all its submissions, whose scratch folders
/// differ, and grades several at a time).
pub async fn grade_locked(
    root: &Path,
    request: &Request,
    progress: Arc<dyn Fn(Progress) + Send + Sync>,
) -> Result<Report, GraderError> {
    let all = crate::units::load_all(root)?;
    let selected: Vec<&Unit> = if request.units.is_empty() {
        all.iter().collect()
    } else {
        request
            .units
            .iter()
            .map(|wanted| {
                crate::units::find(&all, wanted)
                    .ok_or_else(|| GraderError::UnknownUnit(wanted.clone()))
            })
            .collect::<Result<_, _>>()?
    };
    let selected = restrict(&selected, &request.checks)?;
    let selected: Vec<&Unit> = selected.iter().collect();
    let base = request.source.base(root);
    if !base.is_dir() {
        return Err(GraderError::Submission(format!(
            "{} is not a folder; a submission is a copy of exercises/ (one folder per unit, e.g. 01-connection/src)",
            base.display()
        )));
    }
    let explicit = !request.units.is_empty() || request.force;
    let mut to_build = Vec::new();
    let mut not_started = Vec::new();
    for unit in &selected {
        let src = base.join(&unit.slug).join("src");
        let untouched = !src.is_dir()
            || (!explicit
                && !matches!(request.source, Source::Solutions)
                && is_stub(root, unit, &src)?);
        if untouched {
            not_started.push(unit.slug.clone());
        } else {
            to_build.push(*unit);
        }
    }

    let scratch = scratch::prepare(root, &request.source, &to_build)?;
    let builds = if scratch.slugs.is_empty() {
        BTreeMap::new()
    } else {
        progress(Progress::Building(scratch.slugs.clone()));
        let on_built = {
            let progress = progress.clone();
            move |slug: &str| progress(Progress::Built(slug.to_owned()))
        };
        compile::build(root, &scratch, &on_built).await?
    };

    // The check binaries run from a private copy, made before the first
    // check of the unit runs.
    let binaries = std::env::temp_dir().join(format!("wsw-bins-{}", run::nonce()));
    let mut reports = Vec::new();
    for unit in &selected {
        let report = if not_started.contains(&unit.slug) {
            unit_report(unit, UnitState::NotStarted, None, &[], Duration::ZERO)
        } else {
            let build = builds.get(&unit.slug);
            match build {
                Some(build) if build.executables.len() == 2 => {
                    let started = Instant::now();
                    let outcomes = match build.copied_to(&binaries.join(&unit.slug)) {
                        Ok(build) => run_unit(unit, &build, &progress).await,
                        Err(error) => {
                            vec![
                                lost(format!("could not copy the check binaries: {error}"));
                                unit.checks.len()
                            ]
                        }
                    };
                    unit_report(unit, UnitState::Failing, None, &outcomes, started.elapsed())
                }
                _ => {
                    let errors = build.map(|b| b.errors.clone()).unwrap_or_default();
                    unit_report(
                        unit,
                        UnitState::BuildFailed,
                        Some(errors),
                        &[],
                        Duration::ZERO,
                    )
                }
            }
        };
        reports.push(report);
    }
    let _ = std::fs::remove_dir_all(&binaries);
    let report = Report {
        schema_version: SCHEMA_VERSION,
        submission: request.source.describe(),
        isolation: crate::sandbox::isolation().describe(),
        score: reports.iter().map(|u| u.score).sum(),
        max_score: reports.iter().map(|u| u.max_score).sum(),
        units: reports,
    };
    // What the submission controls (messages, output, compiler errors)
    // leaves the grader without control characters, in every format: a
    // report may end up in a terminal through any tool (`jq -r`, say).
    Ok(report.terminal_safe())
}

/// The units with only the checks named in `checks` (all when it is
/// empty). Every name must be a check of one of the units.
fn restrict(units: &[&Unit], checks: &[String]) -> Result<Vec<Unit>, GraderError> {
    if checks.is_empty() {
        return Ok(units.iter().map(|unit| (*unit).clone()).collect());
    }
    for wanted in checks {
        if !units
            .iter()
            .any(|unit| unit.checks.iter().any(|check| &check.id == wanted))
        {
            let known: Vec<&str> = units
                .iter()
                .flat_map(|unit| unit.checks.iter().map(|check| check.id.as_str()))
                .collect();
            return Err(GraderError::Submission(format!(
                "no check {wanted:?} in the units graded; their checks are: {}",
                known.join(", ")
            )));
        }
    }
    Ok(units
        .iter()
        .map(|unit| {
            let mut unit = (*unit).clone();
            unit.checks.retain(|check| checks.contains(&check.id));
            unit
        })
        .collect())
}

/// Whether the learner's `src/` is exactly what the generator makes.
fn is_stub(root: &Path, unit: &Unit, src: &Path) -> Result<bool, GraderError> {
    let generated = stubs::generate(root, std::slice::from_ref(&unit.slug))?;
    let prefix = Path::new(&unit.slug).join("src");
    let expected: BTreeMap<_, _> = generated
        .iter()
        .filter_map(|(path, text)| Some((path.strip_prefix(&prefix).ok()?.to_owned(), text)))
        .collect();
    let actual = files::list(src)?;
    if actual.len() != expected.len() {
        return Ok(false);
    }
    for path in actual {
        let relative = path.strip_prefix(src).unwrap_or(&path);
        match expected.get(relative) {
            Some(bytes) if std::fs::read(&path).ok().as_deref() == Some(bytes.as_slice()) => {}
            _ => return Ok(false),
        }
    }
    Ok(true)
}

/// Runs every check of one built unit, [`parallel_checks`] at a time;
/// outcomes come back in `unit.toml` order.
async fn run_unit(
    unit: &Unit,
    build: &UnitBuild,
    progress: &Arc<dyn Fn(Progress) + Send + Sync>,
) -> Vec<Outcome> {
    let permits = check_permits();
    let total = unit.checks.len();
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for check in &unit.checks {
        let executable = build.executables.get(check.file.target()).cloned();
        let (check, programs, permits) = (check.clone(), build.programs.clone(), permits.clone());
        let (progress, done, slug) = (progress.clone(), done.clone(), unit.slug.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = permits.acquire_owned().await.ok();
            let outcome = match executable {
                Some(executable) => run::run_check(&executable, &programs, &check).await,
                None => Outcome {
                    status: CheckStatus::Error,
                    message: Some(format!("no {} test binary was built", check.file.target())),
                    output: String::new(),
                    duration: Duration::ZERO,
                },
            };
            let finished = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            progress(Progress::Checked(slug, finished, total));
            outcome
        }));
    }
    let mut outcomes = Vec::with_capacity(tasks.len());
    for task in tasks {
        outcomes.push(
            task.await
                .unwrap_or_else(|error| lost(format!("the grader lost this check: {error}"))),
        );
    }
    outcomes
}

/// The outcome of a check that could not be run.
fn lost(message: String) -> Outcome {
    Outcome {
        status: CheckStatus::Error,
        message: Some(message),
        output: String::new(),
        duration: Duration::ZERO,
    }
}

fn unit_report(
    unit: &Unit,
    state: UnitState,
    build_output: Option<String>,
    outcomes: &[Outcome],
    duration: Duration,
) -> UnitReport {
    let checks: Vec<CheckReport> = unit
        .checks
        .iter()
        .enumerate()
        .map(|(index, spec)| {
            let outcome = outcomes.get(index);
            let status = outcome.map_or(CheckStatus::NotRun, |o| o.status);
            CheckReport {
                id: spec.id.clone(),
                visibility: spec.visibility(),
                status,
                score: if status == CheckStatus::Pass {
                    spec.points
                } else {
                    0
                },
                max_score: spec.points,
                message: outcome.and_then(|o| o.message.clone()),
                hint: spec.hint.clone(),
                chapter: unit.chapter_link(spec),
                covers: spec.covers.clone(),
                duration_ms: outcome.map_or(0, |o| millis(o.duration)),
                output: outcome.map(|o| o.output.clone()).unwrap_or_default(),
            }
        })
        .collect();
    let score = checks.iter().map(|c| c.score).sum();
    // A skipped check (a tool it needs is missing here) is not graded: its
    // points are left out of what the unit is out of.
    let skipped: u32 = checks
        .iter()
        .filter(|c| c.status == CheckStatus::Skipped)
        .map(|c| c.max_score)
        .sum();
    let max_score = unit.max_score().saturating_sub(skipped);
    let state = match state {
        UnitState::Failing if score == max_score => UnitState::Passed,
        other => other,
    };
    UnitReport {
        id: unit.id.clone(),
        slug: unit.slug.clone(),
        title: unit.title.clone(),
        state,
        score,
        max_score,
        duration_ms: millis(duration),
        build_output,
        checks,
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Takes the grading lock of this repository's target directory. Waits if
/// another grading holds it; the lock is released when the file is dropped.
pub fn lock(root: &Path) -> Result<std::fs::File, GraderError> {
    let dir = scratch::base_dir(root);
    std::fs::create_dir_all(&dir).map_err(|source| GraderError::Io {
        path: dir.clone(),
        source,
    })?;
    let path = dir.join(".lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| GraderError::Io {
            path: path.clone(),
            source,
        })?;
    file.lock()
        .map_err(|source| GraderError::Io { path, source })?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_filter_keeps_only_the_named_checks_and_scores_out_of_them() {
        let all = crate::units::load_all(&crate::repo_root()).expect("units load");
        let chat = crate::units::find(&all, "09").expect("unit 09");
        let wanted = vec!["paused_client_is_never_left_silent".to_owned()];
        let restricted = restrict(&[chat], &wanted).expect("a known check");
        assert_eq!(restricted[0].checks.len(), 1);
        assert_eq!(restricted[0].checks[0].id, wanted[0]);
        assert_eq!(restricted[0].max_score(), restricted[0].checks[0].points);
        let everything = restrict(&[chat], &[]).expect("no filter");
        assert_eq!(everything[0].checks.len(), chat.checks.len());
    }

    fn outcome(status: CheckStatus, message: Option<&str>) -> Outcome {
        Outcome {
            status,
            message: message.map(str::to_owned),
            output: String::new(),
            duration: Duration::from_millis(3),
        }
    }

    #[test]
    fn a_skipped_check_scores_nothing_and_is_left_out_of_the_max_score() {
        let all = crate::units::load_all(&crate::repo_root()).expect("units load");
        let unit = crate::units::find(&all, "01").expect("unit 01");
        assert!(unit.checks.len() >= 3, "unit 01 has several checks");
        let advice = "needs `redis-server`, which is not installed here: \
                      sudo apt-get install redis-server; this stage is not graded until it is";
        let mut outcomes: Vec<Outcome> = unit
            .checks
            .iter()
            .map(|_| outcome(CheckStatus::Pass, None))
            .collect();
        outcomes[1] = outcome(CheckStatus::Skipped, Some(advice));
        let report = unit_report(unit, UnitState::Failing, None, &outcomes, Duration::ZERO);
        let skipped = &report.checks[1];
        assert_eq!(skipped.status, CheckStatus::Skipped);
        assert_eq!(skipped.score, 0);
        assert_eq!(skipped.max_score, unit.checks[1].points);
        assert_eq!(skipped.message.as_deref(), Some(advice));
        assert_eq!(report.max_score, unit.max_score() - unit.checks[1].points);
        assert_eq!(report.score, report.max_score);
        assert_eq!(report.state, UnitState::Passed, "every graded check passed");

        // A failure as well: the unit fails, still out of the smaller total.
        outcomes[2] = outcome(CheckStatus::Fail, Some("expected 1000"));
        let report = unit_report(unit, UnitState::Failing, None, &outcomes, Duration::ZERO);
        assert_eq!(report.state, UnitState::Failing);
        assert_eq!(report.max_score, unit.max_score() - unit.checks[1].points);
        assert_eq!(
            report.score,
            report.max_score - unit.checks[2].points,
            "{report:?}"
        );
    }

    #[test]
    fn an_unknown_check_is_an_error_that_lists_the_known_ones() {
        let all = crate::units::load_all(&crate::repo_root()).expect("units load");
        let chat = crate::units::find(&all, "09").expect("unit 09");
        let error = restrict(&[chat], &["no_such_check".to_owned()])
            .expect_err("an unknown check is refused")
            .to_string();
        assert!(error.contains("no_such_check"), "{error}");
        assert!(error.contains("slow_client_is_closed"), "{error}");
    }
}
