//! The course's units, as `grader/units/NN-name/unit.toml` describes them.
//!
//! `unit.toml` is the one place that says what a unit grades: its
//! behaviours (copied from the syllabus), its checks with points, the
//! behaviours each covers, and the message a learner sees when it fails.
//! The check *code* lives in the test files; a test keeps the two in step.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::GraderError;

/// Default wall-clock limit for one check process, in seconds.
///
/// A check against the local testkit server finishes in well under a
/// second; the slowest unit-01 check watches pings for about 2.5 s. Twenty
/// seconds leaves room for a loaded two-core machine without letting an
/// infinite loop stall a grading run for long.
pub const DEFAULT_CHECK_TIMEOUT_SECS: u64 = 20;

/// Every unit the course will have, in order: `(slug, title)`. Units whose
/// `unit.toml` does not exist yet are listed as "coming" by the grader.
pub const COURSE: &[(&str, &str)] = &[
    ("01-connection", "Connection lifecycle"),
    ("02-page-policy", "Page-level connection policy"),
    ("03-messages", "Message types and handlers"),
    ("04-reconnect", "Connection state and reconnection"),
    ("05-queue", "Message queue and batching"),
    ("06-manager", "Connection reuse and resource management"),
    ("07-recovery", "Errors, boundaries and recovery"),
    ("08-notifications", "Notification centre"),
    ("09-chat", "Chat system"),
    ("10-collab", "Real-time collaboration"),
    ("11-quality", "Connection quality monitoring"),
    ("12-offline", "Mobile and offline"),
    ("A-editor", "Capstone A: collaborative editor"),
    ("B-dashboard", "Capstone B: live monitoring dashboard"),
];

/// One unit, as read from its `unit.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unit {
    /// What learners type: `cargo grade 01`.
    pub id: String,
    /// The folder name in `exercises/`, `solutions/`, `grader/units/` and `book/`.
    pub slug: String,
    /// The Cargo package name (a package name cannot start with a digit).
    pub package: String,
    /// Human title.
    pub title: String,
    /// The chapter file, relative to `book/`.
    pub chapter: String,
    /// The graded behaviours of the syllabus.
    #[serde(rename = "behaviour", default)]
    pub behaviours: Vec<Behaviour>,
    /// The checks, in the order they are reported.
    #[serde(rename = "check", default)]
    pub checks: Vec<CheckSpec>,
}

/// A graded behaviour of the syllabus.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Behaviour {
    /// Short id that checks refer to.
    pub id: String,
    /// The behaviour, in the syllabus's words.
    pub text: String,
}

/// Which test file a check lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// `tests/visible.rs`, shipped in the exercise.
    Visible,
    /// `grader/units/NN-name/hidden.rs`, run only by the grader.
    Hidden,
}

impl Visibility {
    /// The test target's name.
    pub fn target(self) -> &'static str {
        match self {
            Visibility::Visible => "visible",
            Visibility::Hidden => "hidden",
        }
    }
}

/// One check's grading data.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckSpec {
    /// The check function's name.
    pub id: String,
    /// Which test file it is in.
    pub file: Visibility,
    /// Points for passing it.
    pub points: u32,
    /// The behaviours it covers.
    pub covers: Vec<String>,
    /// The heading anchor in the chapter that explains it.
    pub section: String,
    /// One teaching sentence shown when it fails.
    pub hint: String,
    /// Wall-clock limit for the check's process.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// What the learner sees of its result, when a pack's `grading.toml`
    /// says so (see [`CheckSpec::visibility`]).
    #[serde(skip)]
    pub shown: Option<Visibility>,
}

impl CheckSpec {
    /// What the learner sees of the check's result: `hidden` shows only its
    /// name, points and hint. The course's default is where its code is
    /// (`file`); a pack's `grading.toml` can change it ([`crate::points`]).
    pub fn visibility(&self) -> Visibility {
        self.shown.unwrap_or(self.file)
    }
}

fn default_timeout() -> u64 {
    DEFAULT_CHECK_TIMEOUT_SECS
}

impl Unit {
    /// The sum of all checks' points.
    pub fn max_score(&self) -> u32 {
        self.checks.iter().map(|check| check.points).sum()
    }

    /// Where the chapter section of `check` is, for messages: `book/01-connection.md#closing`.
    pub fn chapter_link(&self, check: &CheckSpec) -> String {
        format!("book/{}#{}", self.chapter, check.section)
    }

    /// Problems with the unit's own data: duplicate ids, uncovered
    /// behaviours, checks covering unknown behaviours, zero points.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut seen = BTreeSet::new();
        for check in &self.checks {
            if !seen.insert(check.id.as_str()) {
                problems.push(format!("check {} is listed twice", check.id));
            }
            if check.points == 0 {
                problems.push(format!("check {} is worth no points", check.id));
            }
            for covered in &check.covers {
                if !self.behaviours.iter().any(|b| &b.id == covered) {
                    problems.push(format!(
                        "check {} covers {covered:?}, which is not a behaviour of the unit",
                        check.id
                    ));
                }
            }
        }
        for behaviour in &self.behaviours {
            if !self.checks.iter().any(|c| c.covers.contains(&behaviour.id)) {
                problems.push(format!(
                    "behaviour {:?} ({}) is covered by no check",
                    behaviour.id, behaviour.text
                ));
            }
        }
        problems
    }
}

/// Every `grader/units/*/unit.toml` under `root`, in course order. With a
/// private test pack ([`use_tests_pack`]), a unit the pack has is read from
/// the pack instead, and the pack's `grading.toml`, if any, sets points and
/// visibility ([`crate::points`]).
///
/// The course is read once per grader process (per root and pack): a batch
/// grades every student against the same units, whatever happens to the
/// files while it runs.
pub fn load_all(root: &Path) -> Result<Vec<Unit>, GraderError> {
    let key = (root.to_owned(), tests_pack().map(Path::to_owned));
    let mut cache = read_once().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(units) = cache.units.get(&key) {
        return Ok(units.clone());
    }
    let units = read_all(root)?;
    cache.units.insert(key, units.clone());
    Ok(units)
}

/// The text of a unit's hidden checks ([`hidden_checks`]), read once per
/// grader process like [`load_all`].
pub fn hidden_text(root: &Path, slug: &str) -> Result<std::sync::Arc<str>, GraderError> {
    let path = hidden_checks(root, slug);
    let mut cache = read_once().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(text) = cache.hidden.get(&path) {
        return Ok(text.clone());
    }
    let text: std::sync::Arc<str> = crate::files::read(&path)?.into();
    cache.hidden.insert(path, text.clone());
    Ok(text)
}

/// What [`load_all`] and [`hidden_text`] have read.
#[derive(Default)]
struct ReadOnce {
    units: std::collections::BTreeMap<(PathBuf, Option<PathBuf>), Vec<Unit>>,
    hidden: std::collections::BTreeMap<PathBuf, std::sync::Arc<str>>,
}

fn read_once() -> &'static std::sync::Mutex<ReadOnce> {
    static CACHE: std::sync::OnceLock<std::sync::Mutex<ReadOnce>> = std::sync::OnceLock::new();
    CACHE.get_or_init(Default::default)
}

fn read_all(root: &Path) -> Result<Vec<Unit>, GraderError> {
    let mut units = Vec::new();
    for (slug, _) in COURSE {
        let path = unit_dir(root, slug).join("unit.toml");
        if !path.exists() {
            continue;
        }
        let path = tests_pack()
            .map(|pack| pack.join(slug).join("unit.toml"))
            .filter(|private| private.exists())
            .unwrap_or(path);
        units.push(load(&path)?);
    }
    if let Some(grading) = tests_pack()
        .map(|pack| pack.join(crate::points::FILE))
        .filter(|path| path.exists())
    {
        crate::points::apply(&mut units, &grading)?;
    }
    Ok(units)
}

static TESTS_PACK: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Grades with an instructor's private test pack (`cargo grade --tests DIR`)
/// for the rest of this process: for every unit with a folder `DIR/<slug>/`,
/// its `unit.toml` (checks, points, behaviours) and `hidden.rs` replace the
/// course's, and `DIR/grading.toml` sets points and visibility per check.
/// Layout and template: `cargo grade tests-template`. Set once; a second,
/// different pack is an error.
pub fn use_tests_pack(dir: &Path) -> Result<(), GraderError> {
    let dir = std::fs::canonicalize(dir).map_err(|source| GraderError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let set = TESTS_PACK.get_or_init(|| dir.clone());
    if set != &dir {
        return Err(GraderError::Submission(format!(
            "a test pack ({}) is already in use",
            set.display()
        )));
    }
    for (slug, _) in COURSE {
        let folder = dir.join(slug);
        if folder.is_dir()
            && !(folder.join("unit.toml").is_file() && folder.join("hidden.rs").is_file())
        {
            return Err(GraderError::Submission(format!(
                "{} must hold both unit.toml and hidden.rs (see `cargo grade tests-template`)",
                folder.display()
            )));
        }
    }
    Ok(())
}

/// The private test pack in use, if any.
pub fn tests_pack() -> Option<&'static Path> {
    TESTS_PACK.get().map(PathBuf::as_path)
}

/// The hidden checks of a unit: the pack's `hidden.rs` when the pack has
/// the unit, else `grader/units/<slug>/hidden.rs`.
pub fn hidden_checks(root: &Path, slug: &str) -> PathBuf {
    tests_pack()
        .map(|pack| pack.join(slug).join("hidden.rs"))
        .filter(|private| private.exists())
        .unwrap_or_else(|| unit_dir(root, slug).join("hidden.rs"))
}

/// Reads one `unit.toml`.
pub fn load(path: &Path) -> Result<Unit, GraderError> {
    let text = std::fs::read_to_string(path).map_err(|source| GraderError::Io {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|error| GraderError::UnitToml {
        path: path.to_owned(),
        message: error.to_string(),
    })
}

/// `grader/units/<slug>`.
pub fn unit_dir(root: &Path, slug: &str) -> PathBuf {
    root.join("grader").join("units").join(slug)
}

/// Finds a unit by what a learner typed: `01`, `1`, `01-connection` or `connection`.
pub fn find<'a>(units: &'a [Unit], wanted: &str) -> Option<&'a Unit> {
    let wanted = wanted.trim().to_ascii_lowercase();
    let padded = if wanted.len() == 1 && wanted.chars().all(|c| c.is_ascii_digit()) {
        format!("0{wanted}")
    } else {
        wanted.clone()
    };
    units.iter().find(|unit| {
        unit.id.eq_ignore_ascii_case(&padded)
            || unit.slug.eq_ignore_ascii_case(&wanted)
            || unit.package.eq_ignore_ascii_case(&wanted)
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn unit(toml_text: &str) -> Unit {
        toml::from_str(toml_text).expect("test unit.toml parses")
    }

    /// A consistent `unit.toml` with one visible check worth 3 points.
    pub(crate) const GOOD: &str = r#"
        id = "01"
        slug = "01-connection"
        package = "connection"
        title = "Connection lifecycle"
        chapter = "01-connection.md"
        [[behaviour]]
        id = "echo"
        text = "Echo round trip"
        [[check]]
        id = "echo_text"
        file = "visible"
        points = 3
        covers = ["echo"]
        section = "task-2"
        hint = "Forward text frames."
    "#;

    #[test]
    fn a_consistent_unit_has_no_problems() {
        let unit = unit(GOOD);
        assert!(unit.problems().is_empty(), "{:?}", unit.problems());
        assert_eq!(unit.max_score(), 3);
        assert_eq!(unit.checks[0].timeout_secs, DEFAULT_CHECK_TIMEOUT_SECS);
    }

    #[test]
    fn uncovered_and_unknown_behaviours_are_problems() {
        let text = GOOD.replace(r#"covers = ["echo"]"#, r#"covers = ["ekho"]"#);
        let problems = unit(&text).problems();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("ekho"));
        assert!(problems[1].contains("covered by no check"));
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let text = format!("{GOOD}\nponits = 4\n");
        assert!(toml::from_str::<Unit>(&text).is_err());
    }

    #[test]
    fn units_are_found_by_number_slug_or_package() {
        let units = vec![unit(GOOD)];
        for wanted in ["01", "1", "01-connection", "connection", "CONNECTION"] {
            assert!(find(&units, wanted).is_some(), "{wanted}");
        }
        assert!(find(&units, "02").is_none());
    }
}
