//! Names the book takes from the grader: check ids and chapter sections.
//!
//! The book quotes check ids (`` `slow_client_is_closed_and_fast_client_gets_everything` ``,
//! `"id": "echo_text_round_trip"` in an example report) and points at sections
//! in text that is no link (`book/01-connection.md#task-4-closing-properly` in a
//! sample of the grader's output). mdBook cannot know either is stale: a check
//! renamed in `unit.toml` or a heading reworded leaves the book naming
//! something that is not there. [`check`] reads every chapter's source for them:
//!
//! * A **check name** is an inline code span or a double-quoted string that is a
//!   snake_case name of three words or more, or `"NN-slug: name"` (the form of
//!   the Gradescope and JUnit examples). It must be a check id of a
//!   `grader/units/*/unit.toml` — of the chapter's own unit in a unit's chapter,
//!   of the named unit in `"NN-slug: name"` — unless it is no check at all: a
//!   behaviour id, a wrong submission's name (`grader/units/*/wrong/`), or a name
//!   in the course's Rust code (`exercises/`, `solutions/`, `grader/`; comments
//!   do not count, so a stale id in a doc comment does not excuse the book).
//! * A **section reference** is `NN-name.md#fragment` anywhere in the source. The
//!   rendered chapter must have an element with that `id`.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;
use serde::Deserialize;

use crate::ProblemKind;

/// A name that may be a check id: snake_case, three words or more.
static CHECK_LIKE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+){2,}$").expect("the check pattern is valid")
});

/// An inline code span or a double-quoted string on one line.
static QUOTED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"`([^`\n]+)`|"([^"\n]+)""#).expect("the quote pattern is valid"));

/// `NN-slug: name`, how the Gradescope example names a check.
static UNIT_AND_CHECK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(\d\d-[a-z0-9-]+): ([a-z][a-z0-9_]*)$").expect("the unit pattern is valid")
});

/// `NN-name.md#fragment`: a reference to a section of a unit's chapter.
static SECTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(\d\d-[a-z0-9-]+)\.md#([A-Za-z0-9_-]+)").expect("the section pattern is valid")
});

/// Identifiers in Rust code.
static IDENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[A-Za-z_][A-Za-z0-9_]*").expect("the ident pattern is valid"));

/// What `unit.toml` says that this check needs.
#[derive(Deserialize)]
struct UnitFile {
    slug: String,
    chapter: String,
    #[serde(default, rename = "check")]
    checks: Vec<Named>,
    #[serde(default, rename = "behaviour")]
    behaviours: Vec<Named>,
}

#[derive(Deserialize)]
struct Named {
    id: String,
}

/// The course's names: each unit's checks, and the names that are not checks.
pub(crate) struct Names {
    /// Unit slug → its check ids.
    checks: HashMap<String, BTreeSet<String>>,
    /// Chapter file (`01-connection.md`) → unit slug.
    chapters: HashMap<String, String>,
    /// Behaviour ids, wrong submissions and identifiers of the course's code.
    other: HashSet<String>,
}

impl Names {
    /// Reads `grader/units/*/unit.toml`, the wrong submissions' names and the
    /// Rust code under `exercises/`, `solutions/` and `grader/` of `root`.
    pub(crate) fn load(root: &Path) -> Result<Names, (PathBuf, String)> {
        let mut names = Names {
            checks: HashMap::new(),
            chapters: HashMap::new(),
            other: HashSet::new(),
        };
        let units = root.join("grader").join("units");
        for dir in read_dir(&units)? {
            let manifest = dir.join("unit.toml");
            if !manifest.is_file() {
                continue;
            }
            let text = std::fs::read_to_string(&manifest)
                .map_err(|error| (manifest.clone(), error.to_string()))?;
            let unit: UnitFile =
                toml::from_str(&text).map_err(|error| (manifest.clone(), error.to_string()))?;
            names
                .other
                .extend(unit.behaviours.into_iter().map(|behaviour| behaviour.id));
            names.chapters.insert(unit.chapter, unit.slug.clone());
            names.checks.insert(
                unit.slug,
                unit.checks.into_iter().map(|check| check.id).collect(),
            );
            let wrong = dir.join("wrong");
            if wrong.is_dir() {
                for submission in read_dir(&wrong)? {
                    if let Some(stem) = submission.file_stem().and_then(|stem| stem.to_str()) {
                        names.other.insert(stem.to_owned());
                    }
                }
            }
        }
        for folder in ["exercises", "solutions", "grader"] {
            names.add_code(&root.join(folder))?;
        }
        Ok(names)
    }

    /// Adds the identifiers of every `.rs` file under `dir` (not in `target/` or
    /// hidden folders), leaving out comment lines.
    fn add_code(&mut self, dir: &Path) -> Result<(), (PathBuf, String)> {
        if !dir.is_dir() {
            return Ok(());
        }
        for path in read_dir(dir)? {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_dir() {
                if name != "target" && !name.starts_with('.') {
                    self.add_code(&path)?;
                }
            } else if name.ends_with(".rs") {
                let text = std::fs::read_to_string(&path)
                    .map_err(|error| (path.clone(), error.to_string()))?;
                for line in text.lines() {
                    let code = line.split("//").next().unwrap_or("");
                    self.other
                        .extend(IDENT.find_iter(code).map(|m| m.as_str().to_owned()));
                }
            }
        }
        Ok(())
    }

    /// Whether any unit has the check `id`.
    fn is_check(&self, id: &str) -> bool {
        self.checks.values().any(|checks| checks.contains(id))
    }

    /// The units that have the check `id`, for a message.
    fn units_of(&self, id: &str) -> Vec<&str> {
        let mut units: Vec<&str> = self
            .checks
            .iter()
            .filter(|(_, checks)| checks.contains(id))
            .map(|(slug, _)| slug.as_str())
            .collect();
        units.sort_unstable();
        units
    }
}

/// The entries of a directory, sorted.
fn read_dir(dir: &Path) -> Result<Vec<PathBuf>, (PathBuf, String)> {
    let entries = std::fs::read_dir(dir).map_err(|error| (dir.to_path_buf(), error.to_string()))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    paths.sort();
    Ok(paths)
}

/// Checks the chapter `file` (its name in the book's source folder, such as
/// `01-connection.md`; `page` in problems) against `names`, and its section
/// references against the book rendered into `dest`.
pub(crate) fn check(
    file: &Path,
    page: &Path,
    source: &str,
    names: &Names,
    dest: &Path,
    ids: &mut HashMap<String, Option<HashSet<String>>>,
    report: &mut impl FnMut(ProblemKind, String),
) {
    let own_unit = file
        .file_name()
        .and_then(|name| name.to_str())
        .and_then(|name| names.chapters.get(name));
    for (index, line) in source.lines().enumerate() {
        let at = format!("{}:{}", page.display(), index + 1);
        for captures in QUOTED.captures_iter(line) {
            let Some(quoted) = captures.get(1).or_else(|| captures.get(2)) else {
                continue;
            };
            let quoted = quoted.as_str().trim();
            if let Some(named) = UNIT_AND_CHECK.captures(quoted) {
                let (slug, id) = (&named[1], &named[2]);
                match names.checks.get(slug) {
                    Some(checks) if checks.contains(id) => {}
                    Some(_) => report(
                        ProblemKind::UnknownCheck,
                        format!(
                            "{at}: `{quoted}`: grader/units/{slug}/unit.toml has no check `{id}`{}",
                            elsewhere(names, id)
                        ),
                    ),
                    None => report(
                        ProblemKind::UnknownCheck,
                        format!("{at}: `{quoted}`: there is no unit grader/units/{slug}/"),
                    ),
                }
                continue;
            }
            if !CHECK_LIKE.is_match(quoted) {
                continue;
            }
            match own_unit {
                Some(slug) if names.is_check(quoted) => {
                    if !names.checks.get(slug).is_some_and(|c| c.contains(quoted)) {
                        report(
                            ProblemKind::UnknownCheck,
                            format!(
                                "{at}: `{quoted}` is no check of this chapter's unit \
                                 (grader/units/{slug}/unit.toml){}",
                                elsewhere(names, quoted)
                            ),
                        );
                    }
                }
                _ if names.is_check(quoted) || names.other.contains(quoted) => {}
                _ => report(
                    ProblemKind::UnknownCheck,
                    format!(
                        "{at}: `{quoted}` looks like a check id, but no grader/units/*/unit.toml \
                         has that check (and it is no behaviour, wrong submission or name in \
                         the course's code): renamed?"
                    ),
                ),
            }
        }
        for captures in SECTION.captures_iter(line) {
            let (chapter, fragment) = (&captures[1], &captures[2]);
            let html = format!("{chapter}.html");
            let found = ids.entry(html.clone()).or_insert_with(|| {
                let text = std::fs::read_to_string(dest.join(&html)).ok()?;
                Some(crate::links::ids_in(&text))
            });
            match found {
                None => report(
                    ProblemKind::BrokenLink,
                    format!("{at}: `{}`: the book has no page {html}", &captures[0]),
                ),
                Some(ids) if !ids.contains(fragment) => report(
                    ProblemKind::MissingAnchor,
                    format!(
                        "{at}: `{}`: {html} has no section `{fragment}`",
                        &captures[0]
                    ),
                ),
                Some(_) => {}
            }
        }
    }
}

/// ` (it is a check of 05-queue)` when another unit has the check.
fn elsewhere(names: &Names, id: &str) -> String {
    match names.units_of(id).as_slice() {
        [] => String::new(),
        units => format!(" (it is a check of {})", units.join(", ")),
    }
}
