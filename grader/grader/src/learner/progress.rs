//! What the grader remembers for the learner: the last result of each unit
//! and how many of its hints were seen.
//!
//! It is one small TOML file in the learner's workspace,
//! `exercises/.progress.toml` (git ignores it: it describes one person's
//! machine, not the course). A missing or unreadable file is an empty
//! progress, never an error: losing it only forgets what `cargo grade`
//! finds out again on its next run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::l10n::t;
use crate::report::{Report, UnitState};
use crate::units::{COURSE, Unit};
use crate::{GraderError, files};

/// The file's name, in the learner's workspace (`exercises/`).
pub const FILE_NAME: &str = ".progress.toml";

/// How many characters wide the course's progress bar is.
const BAR_WIDTH: usize = 24;

/// Where a unit stood when it was last graded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every check passed.
    Passed,
    /// It built and some checks failed.
    Failing,
    /// Still the stub.
    NotStarted,
    /// It did not compile.
    BuildFailed,
}

impl From<UnitState> for Status {
    fn from(state: UnitState) -> Self {
        match state {
            UnitState::Passed => Status::Passed,
            UnitState::Failing => Status::Failing,
            UnitState::NotStarted => Status::NotStarted,
            UnitState::BuildFailed => Status::BuildFailed,
        }
    }
}

/// One unit's remembered result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitProgress {
    /// The last grading's verdict; `None` when it was never graded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Points scored then.
    #[serde(default)]
    pub score: u32,
    /// Points available.
    #[serde(default)]
    pub max_score: u32,
    /// Checks passed then.
    #[serde(default)]
    pub passed: usize,
    /// Checks graded (all but those skipped for a missing program).
    #[serde(default)]
    pub checks: usize,
    /// How many hints `cargo grade hint` has shown (the first `hints_seen`).
    #[serde(default)]
    pub hints_seen: usize,
}

/// Everything remembered, by unit slug.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Unit slug → its progress.
    #[serde(default, rename = "unit")]
    pub units: BTreeMap<String, UnitProgress>,
}

/// `<workspace>/.progress.toml`.
pub fn path(workspace: &Path) -> PathBuf {
    workspace.join(FILE_NAME)
}

impl Progress {
    /// Reads the progress of the workspace (`exercises/` or a submission
    /// folder); empty when there is none yet or it cannot be read.
    pub fn load(workspace: &Path) -> Progress {
        std::fs::read_to_string(path(workspace))
            .ok()
            .and_then(|text| toml::from_str(&text).ok())
            .unwrap_or_default()
    }

    /// Writes it back (only when it changed).
    pub fn save(&self, workspace: &Path) -> Result<(), GraderError> {
        let body = toml::to_string(self)
            .map_err(|error| GraderError::Process(format!("cannot write the progress: {error}")))?;
        let text = format!(
            "# What `cargo grade` remembers for you: the last result of each unit and the\n\
             # hints you have seen. Git ignores this file; deleting it is harmless.\n\n{body}"
        );
        files::write_if_changed(&path(workspace), &text).map(|_| ())
    }

    /// One unit's entry (a default one when it has none).
    pub fn unit(&self, slug: &str) -> UnitProgress {
        self.units.get(slug).cloned().unwrap_or_default()
    }

    /// Remembers every unit of `report` (hints seen are kept).
    pub fn record(&mut self, report: &Report) {
        for unit in &report.units {
            let entry = self.units.entry(unit.slug.clone()).or_default();
            entry.status = Some(unit.state.into());
            entry.score = unit.score;
            entry.max_score = unit.max_score;
            entry.passed = unit.passed();
            // Skipped checks (a program they need is missing) are not graded.
            entry.checks = unit.checks.len() - unit.skipped();
        }
    }

    /// The first unit of the course, in order, that has not passed.
    pub fn first_unfinished<'a>(&self, units: &'a [Unit]) -> Option<&'a Unit> {
        units
            .iter()
            .find(|unit| self.unit(&unit.slug).status != Some(Status::Passed))
    }
}

/// Records `report` in the workspace's progress file. A file that cannot be
/// written is reported on stderr and otherwise ignored: grading worked.
pub fn remember(workspace: &Path, report: &Report) -> Progress {
    let mut progress = Progress::load(workspace);
    progress.record(report);
    if let Err(error) = progress.save(workspace) {
        eprintln!("{}", t!("progress-not-saved", error = error.to_string()));
    }
    progress
}

/// How a unit's remembered status reads in a list.
pub fn status_text(entry: &UnitProgress) -> String {
    match entry.status {
        None => format!("· {}", t!("progress-not-graded")),
        Some(Status::Passed) => format!(
            "✔ {}",
            t!(
                "progress-passed",
                score = entry.score,
                max = entry.max_score
            )
        ),
        Some(Status::NotStarted) => format!("○ {}", t!("state-not-started")),
        Some(Status::BuildFailed) => format!("✘ {}", t!("state-does-not-compile")),
        Some(Status::Failing) => format!(
            "✘ {}",
            t!(
                "progress-checks-pass",
                passed = entry.passed,
                checks = entry.checks
            )
        ),
    }
}

/// The course's progress bar: units passed out of the units that exist,
/// with the points, and how many units are still to come.
pub fn bar(progress: &Progress, units: &[Unit]) -> String {
    let passed = units
        .iter()
        .filter(|u| progress.unit(&u.slug).status == Some(Status::Passed))
        .count();
    let points: u32 = units.iter().map(|u| progress.unit(&u.slug).score).sum();
    let max: u32 = units.iter().map(Unit::max_score).sum();
    let filled = if units.is_empty() {
        0
    } else {
        (passed * BAR_WIDTH).div_ceil(units.len()).min(BAR_WIDTH)
    };
    let out = t!(
        "progress-bar",
        bar = format!("{}{}", "█".repeat(filled), "░".repeat(BAR_WIDTH - filled)),
        passed = passed,
        units = units.len(),
        points = points,
        max = max
    );
    match COURSE.len().saturating_sub(units.len()) {
        0 => out,
        coming => t!("progress-bar-coming", progress = out, coming = coming),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_round_trips_through_its_file() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let mut progress = Progress::default();
        progress.units.insert(
            "01-connection".into(),
            UnitProgress {
                status: Some(Status::Failing),
                score: 40,
                max_score: 100,
                passed: 3,
                checks: 8,
                hints_seen: 2,
            },
        );
        progress.save(dir.path()).expect("save");
        assert_eq!(Progress::load(dir.path()), progress);
        let text = std::fs::read_to_string(path(dir.path())).expect("the file exists");
        assert!(text.contains("[unit.01-connection]"), "{text}");
    }

    #[test]
    fn a_missing_or_broken_file_is_empty_progress() {
        let dir = tempfile::tempdir().expect("a temp dir");
        assert_eq!(Progress::load(dir.path()), Progress::default());
        std::fs::write(path(dir.path()), "not [ toml").expect("write");
        assert_eq!(Progress::load(dir.path()), Progress::default());
    }

    #[test]
    fn the_bar_counts_passed_units() {
        let unit: Unit = toml::from_str(
            r#"
            id = "01"
            slug = "01-connection"
            package = "connection"
            title = "Connection lifecycle"
            chapter = "01-connection.md"
            [[check]]
            id = "a"
            file = "visible"
            points = 10
            covers = []
            section = "s"
            hint = "h"
            "#,
        )
        .expect("a unit");
        let mut second = unit.clone();
        second.slug = "02-page-policy".into();
        let units = vec![unit, second];
        let mut progress = Progress::default();
        progress.units.insert(
            "01-connection".into(),
            UnitProgress {
                status: Some(Status::Passed),
                score: 10,
                max_score: 10,
                ..UnitProgress::default()
            },
        );
        let text = bar(&progress, &units);
        assert!(text.contains("1 of 2 units passed, 10/20 points"), "{text}");
        assert!(text.contains(&"█".repeat(BAR_WIDTH / 2)), "{text}");
        assert!(text.contains("12 more units coming"), "{text}");
    }
}
