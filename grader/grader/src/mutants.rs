//! Mutation testing of the graded checks (maintainers): `cargo grade mutants`.
//!
//! [cargo-mutants](https://mutants.rs) makes small changes to a unit's
//! reference solution (`solutions/NN-*/src`: a `>` becomes `>=`, a function
//! returns `Default::default()`, a `match` arm is deleted, …) and runs the
//! unit's visible and hidden checks against each one
//! (`.cargo/mutants.toml` limits `cargo test` to those two targets). A
//! mutant the checks fail is *killed*; one they pass has *survived*: either
//! the checks miss a mistake a learner could make, or the change does not
//! alter behaviour (an *equivalent* mutant). Each equivalent mutant is
//! recorded, with a one-line reason, in `grader/units/NN-*/mutants.toml`:
//!
//! ```toml
//! [[equivalent]]
//! file = "src/core.rs"
//! mutant = "replace MessageQueue::len -> usize with 1"
//! reason = "…"
//! ```
//!
//! (the mutant as cargo-mutants names it, without its line and column, which
//! move with every edit). This module runs cargo-mutants for each unit, reads
//! its `mutants.out/{caught,missed,timeout,unviable}.txt`, and prints the
//! per-unit table; a unit passes with at least [`GOAL_PERCENT`] of its viable,
//! non-equivalent mutants killed and no unexplained survivor.
//!
//! Only the code a learner writes counts: the lines inside the solution's
//! `// region: solution` markers. A source file that is the same in
//! `exercises/NN-*` and `solutions/NN-*` is *given* whole (a protocol, a
//! terminal program, an error type) and is not mutated at all
//! ([`given_files`]); in a learner's file, only what touches the lines of
//! its solution regions is mutated ([`learner_diff`], for cargo-mutants'
//! `--in-diff`), so the given parts (the reconnect loop written for them, a
//! parser) cost no time. A mutant that starts outside a region but spans
//! one (a whole function replaced) is run and left out of the table
//! ([`Tally::of_unit`]), as are the given parts in an older run's results.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;

use crate::GraderError;
use crate::units::Unit;

/// The share of viable, non-equivalent mutants a unit's checks must kill.
pub const GOAL_PERCENT: u32 = 90;

/// The file of a unit's equivalent mutants.
pub const FILE: &str = "mutants.toml";

/// One mutant as cargo-mutants lists it: `file:line:col: description`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mutant {
    /// Relative to the unit's folder (`src/core.rs`).
    pub file: String,
    /// Where, for people (`85:9`).
    pub place: String,
    /// What was changed (`replace MessageQueue::len -> usize with 1`).
    pub description: String,
}

impl Mutant {
    /// Parses a line of a `mutants.out/*.txt` file; `prefix` is the unit's
    /// folder relative to the workspace (`solutions/05-queue/`), removed
    /// from the file's path.
    pub fn parse(line: &str, prefix: &str) -> Option<Mutant> {
        let (file, rest) = line.trim().split_once(':')?;
        let (line_number, rest) = rest.split_once(':')?;
        let (column, description) = rest.split_once(": ")?;
        if !line_number.chars().all(|c| c.is_ascii_digit())
            || !column.chars().all(|c| c.is_ascii_digit())
        {
            return None;
        }
        Some(Mutant {
            file: file.strip_prefix(prefix).unwrap_or(file).to_owned(),
            place: format!("{line_number}:{column}"),
            description: description.trim().to_owned(),
        })
    }
}

impl Mutant {
    /// The line the mutant is on (0 when unknown).
    pub fn line(&self) -> usize {
        self.place
            .split(':')
            .next()
            .and_then(|line| line.parse().ok())
            .unwrap_or(0)
    }
}

impl std::fmt::Display for Mutant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.place, self.description)
    }
}

/// A surviving mutant that is not a mistake: the behaviour is the same.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Equivalent {
    /// Relative to the unit's folder.
    pub file: String,
    /// The mutant's description, as cargo-mutants prints it.
    pub mutant: String,
    /// Why the behaviour is the same, in a line.
    pub reason: String,
}

/// A unit's `mutants.toml`: the survivors it explains.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Explained {
    /// Survivors whose behaviour is the same as the solution's.
    #[serde(default)]
    pub equivalent: Vec<Equivalent>,
    /// Survivors that do change behaviour, but in something the chapter
    /// asks nothing of (a `Debug` format, a log line): no graded check looks
    /// at it, on purpose. They count as survivors in the killed share.
    #[serde(default)]
    pub unchecked: Vec<Equivalent>,
}

impl Explained {
    fn names(list: &[Equivalent], mutant: &Mutant) -> bool {
        list.iter()
            .any(|e| e.file == mutant.file && e.mutant == mutant.description)
    }
}

/// The survivors `unit`'s `mutants.toml` explains (none when it has no file).
pub fn explained(root: &Path, unit: &Unit) -> Result<Explained, GraderError> {
    let path = crate::units::unit_dir(root, &unit.slug).join(FILE);
    if !path.exists() {
        return Ok(Explained::default());
    }
    let parsed: Explained =
        toml::from_str(&crate::files::read(&path)?).map_err(|error| GraderError::UnitToml {
            path: path.clone(),
            message: error.to_string(),
        })?;
    for record in parsed.equivalent.iter().chain(&parsed.unchecked) {
        if record.reason.trim().is_empty() {
            return Err(GraderError::UnitToml {
                path: path.clone(),
                message: format!("the surviving mutant {:?} has no reason", record.mutant),
            });
        }
    }
    Ok(parsed)
}

/// The source files of `slug`'s solution that the learner is given whole:
/// the same bytes in `exercises/`, or the same but for the reference's own
/// tests (relative to the unit's folder, `src/protocol.rs`). No learner writes them, so mutating them asks nothing
/// about a learner's code.
pub fn given_files(root: &Path, slug: &str) -> Result<Vec<String>, GraderError> {
    let solution = root.join("solutions").join(slug);
    let exercise = root.join("exercises").join(slug);
    let mut given = Vec::new();
    for path in crate::files::list(&solution.join("src"))? {
        let Ok(relative) = path.strip_prefix(&solution) else {
            continue;
        };
        let stub = exercise.join(relative);
        if !stub.is_file() {
            continue;
        }
        let read = |path: &Path| {
            std::fs::read(path).map_err(|source| GraderError::Io {
                path: path.to_owned(),
                source,
            })
        };
        let source = read(&path)?;
        let same = source == read(&stub)?
            || (path.extension().is_some_and(|ext| ext == "rs")
                && crate::stubs::only_tests_are_solution(&String::from_utf8_lossy(&source)));
        if same {
            given.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(given)
}

/// A unified diff that adds every line of `slug`'s solution regions to an
/// otherwise empty file (paths from the repository's root), for
/// cargo-mutants' `--in-diff`: it mutates only what touches those lines, so
/// the given parts of a learner's file (a parser, the reconnect loop) are
/// not run at all. Files given whole ([`given_files`]) are left out.
pub fn learner_diff(root: &Path, slug: &str) -> Result<String, GraderError> {
    let solution = root.join("solutions").join(slug);
    let given = given_files(root, slug)?;
    let mut diff = String::new();
    for path in crate::files::list(&solution.join("src"))? {
        let Ok(relative) = path.strip_prefix(&solution) else {
            continue;
        };
        let relative = relative.to_string_lossy().replace('\\', "/");
        if path.extension().is_none_or(|ext| ext != "rs") || given.contains(&relative) {
            continue;
        }
        let source = crate::files::read(&path)?;
        let regions = crate::stubs::solution_lines(&source);
        if regions.is_empty() {
            continue;
        }
        let lines: Vec<&str> = source.lines().collect();
        let name = format!("solutions/{slug}/{relative}");
        diff.push_str(&format!("--- a/{name}\n+++ b/{name}\n"));
        let mut added = 0;
        for (first, last) in regions {
            // `first` and `last` are 1-based and inclusive; the old file
            // is the new one without every region.
            let count = last + 1 - first;
            diff.push_str(&format!(
                "@@ -{},0 +{first},{count} @@\n",
                first - 1 - added
            ));
            for line in &lines[first - 1..last] {
                diff.push('+');
                diff.push_str(line);
                diff.push('\n');
            }
            added += count;
        }
    }
    Ok(diff)
}

/// What cargo-mutants found for one unit.
#[derive(Debug, Default)]
pub struct Tally {
    /// Killed: a check failed.
    pub caught: Vec<Mutant>,
    /// Survived: every check passed.
    pub missed: Vec<Mutant>,
    /// The checks did not finish in time (killed, by a timeout).
    pub timeouts: Vec<Mutant>,
    /// Did not compile (not counted).
    pub unviable: Vec<Mutant>,
    /// Viable mutants of given code, left out by [`Tally::of_unit`].
    pub given: usize,
}

impl Tally {
    /// Reads `unit`'s results in `dir/mutants.out/*.txt`, keeping only the
    /// mutants of code the learner writes: inside a solution region
    /// ([`crate::stubs::solution_lines`]). A mutant of given code (a whole
    /// given file, or the given parts of a learner's file: `Client::start`,
    /// the reconnect loop) says nothing about a learner's code.
    pub fn of_unit(root: &Path, unit: &Unit, dir: &Path) -> Result<Tally, GraderError> {
        let solution = root.join("solutions").join(&unit.slug);
        let mut tally = Tally::read(dir, &format!("solutions/{}/", unit.slug))?;
        let mut regions = std::collections::BTreeMap::new();
        for mutant in tally
            .caught
            .iter()
            .chain(&tally.missed)
            .chain(&tally.timeouts)
            .chain(&tally.unviable)
        {
            if !regions.contains_key(&mutant.file) {
                let path = solution.join(&mutant.file);
                let lines = if path.is_file() {
                    crate::stubs::solution_lines(&crate::files::read(&path)?)
                } else {
                    Vec::new()
                };
                regions.insert(mutant.file.clone(), lines);
            }
        }
        let learners = |mutant: &Mutant| {
            let line = mutant.line();
            regions.get(&mutant.file).is_some_and(|lines| {
                lines
                    .iter()
                    .any(|&(first, last)| (first..=last).contains(&line))
            })
        };
        // Whole given files are not mutated now ([`run`]); an older run's
        // mutants of them are not counted as given code either.
        let given_files = given_files(root, &unit.slug)?;
        let not_given = |mutant: &Mutant| !given_files.contains(&mutant.file);
        tally.caught.retain(not_given);
        tally.missed.retain(not_given);
        tally.timeouts.retain(not_given);
        let viable = tally.caught.len() + tally.missed.len() + tally.timeouts.len();
        tally.caught.retain(learners);
        tally.missed.retain(learners);
        tally.timeouts.retain(learners);
        tally.unviable.retain(learners);
        tally.given = viable - (tally.caught.len() + tally.missed.len() + tally.timeouts.len());
        Ok(tally)
    }

    /// Reads `dir/mutants.out/*.txt`.
    pub fn read(dir: &Path, prefix: &str) -> Result<Tally, GraderError> {
        let out = dir.join("mutants.out");
        let list = |name: &str| -> Result<Vec<Mutant>, GraderError> {
            let path = out.join(name);
            if !path.exists() {
                return Ok(Vec::new());
            }
            Ok(crate::files::read(&path)?
                .lines()
                .filter_map(|line| Mutant::parse(line, prefix))
                .collect())
        };
        // `--iterate` does not test again what earlier runs killed or could
        // not build, and lists both in `previously_caught.txt`; [`run`]
        // keeps `unviable.txt` whole, so the unviable ones are told apart.
        let unviable = list("unviable.txt")?;
        let mut caught = list("caught.txt")?;
        caught.extend(list("previously_caught.txt")?);
        caught.retain(|mutant| !unviable.contains(mutant));
        caught.sort();
        caught.dedup();
        Ok(Tally {
            caught,
            missed: list("missed.txt")?,
            timeouts: list("timeout.txt")?,
            unviable,
            given: 0,
        })
    }
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The unit's id.
    pub unit: String,
    /// Viable mutants (compiled).
    pub viable: usize,
    /// Killed by a failing check.
    pub killed: usize,
    /// Killed by a timeout.
    pub timeouts: usize,
    /// Survived and recorded as equivalent.
    pub equivalent: usize,
    /// Survived and recorded as unchecked on purpose (counted as survived).
    pub unchecked: usize,
    /// Survived without an explanation.
    pub survivors: Vec<Mutant>,
    /// Recorded equivalents that no longer survive (or no longer exist).
    pub stale: Vec<String>,
    /// Viable mutants of the given parts of learner files (not counted).
    pub given: usize,
}

impl Row {
    /// Builds the row of `unit` from its tally and recorded survivors.
    pub fn new(unit: &str, tally: &Tally, explained: &Explained) -> Row {
        let (mut equivalent, mut unchecked, mut survivors) = (0, 0, Vec::new());
        for mutant in &tally.missed {
            if Explained::names(&explained.equivalent, mutant) {
                equivalent += 1;
            } else if Explained::names(&explained.unchecked, mutant) {
                unchecked += 1;
            } else {
                survivors.push(mutant.clone());
            }
        }
        let missed: BTreeSet<(&str, &str)> = tally
            .missed
            .iter()
            .map(|m| (m.file.as_str(), m.description.as_str()))
            .collect();
        let stale = explained
            .equivalent
            .iter()
            .chain(&explained.unchecked)
            .filter(|e| !missed.contains(&(e.file.as_str(), e.mutant.as_str())))
            .map(|e| format!("{}: {}", e.file, e.mutant))
            .collect();
        Row {
            unit: unit.to_owned(),
            viable: tally.caught.len() + tally.missed.len() + tally.timeouts.len(),
            killed: tally.caught.len(),
            timeouts: tally.timeouts.len(),
            equivalent,
            unchecked,
            survivors,
            stale,
            given: tally.given,
        }
    }

    /// Killed (by a check or a timeout) out of the viable, non-equivalent
    /// mutants, in percent (100 when there are none); unchecked survivors
    /// count against it.
    pub fn percent(&self) -> f64 {
        let counted = self.viable - self.equivalent;
        if counted == 0 {
            return 100.0;
        }
        100.0 * (self.killed + self.timeouts) as f64 / counted as f64
    }

    /// Whether the unit meets the goal: [`GOAL_PERCENT`] and every survivor
    /// explained.
    pub fn passes(&self) -> bool {
        self.percent() >= f64::from(GOAL_PERCENT) && self.survivors.is_empty()
    }
}

/// The table, as the maintainers' chapter shows it (Markdown).
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| unit | viable mutants | killed | timeouts | equivalent | unchecked | survived | killed % | of given code (not counted) |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for row in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {:.0} % | {} |\n",
            row.unit,
            row.viable,
            row.killed,
            row.timeouts,
            row.equivalent,
            row.unchecked,
            row.survivors.len(),
            row.percent(),
            row.given
        ));
    }
    out
}

/// How [`run`] runs cargo-mutants.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options<'a> {
    /// cargo-mutants' shard `K/N` (0-based K): a deterministic slice.
    pub shard: Option<&'a str>,
    /// Test only the mutants no earlier run in the same folder killed
    /// (cargo-mutants' `--iterate`); the table still counts them all.
    pub iterate: bool,
    /// Skip cargo-mutants' baseline run of the unmutated checks (CI has
    /// just run them) and stop a mutant's checks after
    /// [`NO_BASELINE_TIMEOUT`] seconds instead of five times the baseline.
    pub no_baseline: bool,
}

/// The checks' timeout without a baseline, in seconds: the slowest unit's
/// checks take about 15 s alone and 40 s on a loaded two-core machine.
pub const NO_BASELINE_TIMEOUT: u32 = 60;

/// Runs cargo-mutants on `unit`'s solution, its results in `out`, and
/// returns its row.
pub fn run(root: &Path, unit: &Unit, out: &Path, options: Options<'_>) -> Result<Row, GraderError> {
    let solution = root.join("solutions").join(&unit.slug);
    let package = crate::compile::package_name(&solution)?;
    std::fs::create_dir_all(out).map_err(|source| GraderError::Io {
        path: out.to_owned(),
        source,
    })?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = std::process::Command::new(cargo);
    command
        .current_dir(root)
        .args(["mutants", "--in-place", "--no-shuffle", "--package"])
        .arg(&package)
        .arg("--output")
        .arg(out);
    for file in given_files(root, &unit.slug)? {
        command
            .arg("--exclude")
            .arg(format!("solutions/{}/{file}", unit.slug));
    }
    // Only the learner's lines are mutated: a diff that adds them (and
    // nothing else) limits cargo-mutants to the mutants touching them.
    let diff = out.join("learner.diff");
    std::fs::write(&diff, learner_diff(root, &unit.slug)?).map_err(|source| GraderError::Io {
        path: diff.clone(),
        source,
    })?;
    command.arg("--in-diff").arg(&diff);
    if let Some(shard) = options.shard {
        command.args(["--shard", shard]);
    }
    if options.iterate {
        command.arg("--iterate");
    }
    if options.no_baseline {
        command
            .arg("--baseline=skip")
            .arg(format!("--timeout={NO_BASELINE_TIMEOUT}"));
    }
    let prefix = format!("solutions/{}/", unit.slug);
    let before = Tally::read(out, &prefix)?;
    let status = command
        .status()
        .map_err(|error| GraderError::Process(format!("could not run cargo mutants: {error}")))?;
    // cargo-mutants exits 2 when mutants survived, 3 on timeouts: results
    // all the same. Anything else (4: the baseline failed, 1: usage) is not.
    if !matches!(status.code(), Some(0 | 2 | 3)) {
        return Err(GraderError::Process(format!(
            "cargo mutants on {} ended with {status}; is it installed (`cargo install --locked \
             cargo-mutants`) and do the unit's checks pass on the solution?",
            unit.slug
        )));
    }
    if options.iterate {
        // cargo-mutants' new `unviable.txt` lists only this run's; put the
        // earlier runs' back so that the next read tells them from killed.
        let mut unviable = Tally::read(out, &prefix)?.unviable;
        unviable.extend(before.unviable);
        unviable.sort();
        unviable.dedup();
        let lines: String = unviable
            .iter()
            .map(|mutant| format!("{prefix}{mutant}\n"))
            .collect();
        let path = out.join("mutants.out").join("unviable.txt");
        std::fs::write(&path, lines).map_err(|source| GraderError::Io { path, source })?;
    }
    let tally = Tally::of_unit(root, unit, out)?;
    Ok(Row::new(&unit.id, &tally, &explained(root, unit)?))
}

/// The slugs of the units whose solution or checks differ between `rev`
/// and the working tree (`git diff --name-only`), in order. Paths of
/// folders that are not (yet) graded units are left out.
pub fn changed_units(root: &Path, rev: &str) -> Result<Vec<String>, GraderError> {
    let output = std::process::Command::new("git")
        .current_dir(root)
        .args(["diff", "--name-only", rev, "--"])
        .output()
        .map_err(|error| GraderError::Process(format!("could not run git diff: {error}")))?;
    if !output.status.success() {
        return Err(GraderError::Process(format!(
            "git diff --name-only {rev} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let units = crate::units::load_all(root)?;
    Ok(units_of_paths(&String::from_utf8_lossy(&output.stdout))
        .into_iter()
        .filter(|slug| units.iter().any(|unit| &unit.slug == slug))
        .collect())
}

/// The unit slugs named by changed paths (one per line).
fn units_of_paths(paths: &str) -> Vec<String> {
    let mut slugs = BTreeSet::new();
    for path in paths.lines() {
        let rest = path
            .strip_prefix("solutions/")
            .or_else(|| path.strip_prefix("grader/units/"));
        if let Some((slug, _)) = rest.and_then(|rest| rest.split_once('/')) {
            slugs.insert(slug.to_owned());
        }
    }
    slugs.into_iter().collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn changed_paths_name_their_units_once() {
        let paths = "solutions/05-queue/src/core.rs\ngrader/units/05-queue/hidden.rs\n\
                     grader/units/02-page-policy/mutants.toml\nbook/05-queue.md\n\
                     grader/grader/src/main.rs\nsolutions/Cargo.toml\n";
        assert_eq!(super::units_of_paths(paths), ["02-page-policy", "05-queue"]);
    }

    use super::*;

    #[test]
    fn every_units_equivalent_mutants_file_reads() {
        let root = crate::repo_root();
        for unit in crate::units::load_all(&root).expect("units load") {
            let given = given_files(&root, &unit.slug).expect("the solution reads");
            let explained =
                explained(&root, &unit).unwrap_or_else(|error| panic!("{}: {error}", unit.slug));
            for equivalent in explained.equivalent.iter().chain(&explained.unchecked) {
                assert!(
                    root.join("solutions")
                        .join(&unit.slug)
                        .join(&equivalent.file)
                        .is_file(),
                    "{}: {} names no file of the solution",
                    unit.slug,
                    equivalent.file
                );
                assert!(
                    !given.contains(&equivalent.file),
                    "{}: {} is given whole to the learner and is not mutated",
                    unit.slug,
                    equivalent.file
                );
            }
        }
    }

    #[test]
    fn the_learners_diff_adds_exactly_the_solution_regions() {
        let root = crate::repo_root();
        let diff = learner_diff(&root, "B-dashboard").expect("unit B reads");
        assert!(diff.contains("+++ b/solutions/B-dashboard/src/store.rs\n"));
        // Given whole: not in the diff.
        assert!(!diff.contains("src/protocol.rs"), "protocol.rs is given");
        // Every hunk's lines are the file's own lines at the place it says,
        // and they lie in a solution region.
        let mut file = String::new();
        let mut next = 0;
        let mut hunks = 0;
        for line in diff.lines() {
            if let Some(name) = line.strip_prefix("+++ b/") {
                file = crate::files::read(&root.join(name)).expect("the file reads");
            } else if let Some(header) = line.strip_prefix("@@ -") {
                let new = header.split(" +").nth(1).expect("a new range");
                next = new
                    .split(',')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("a start");
                hunks += 1;
                let regions = crate::stubs::solution_lines(&file);
                assert!(regions.iter().any(|&(first, _)| first == next), "{line}");
            } else if let Some(text) = line.strip_prefix('+') {
                assert_eq!(file.lines().nth(next - 1), Some(text), "line {next}");
                next += 1;
            }
        }
        assert!(hunks > 10, "{hunks} hunks");
    }

    #[test]
    fn given_files_are_those_the_stub_has_byte_for_byte() {
        let root = crate::repo_root();
        let given = given_files(&root, "09-chat").expect("unit 09 reads");
        // The client library and the terminal program are handed out; the
        // server and the store are the learner's to write.
        assert!(given.contains(&"src/client.rs".to_owned()), "{given:?}");
        assert!(
            given.contains(&"src/bin/chat-cli.rs".to_owned()),
            "{given:?}"
        );
        assert!(!given.contains(&"src/store.rs".to_owned()), "{given:?}");
        assert!(!given.iter().any(|f| f.contains("connection")), "{given:?}");
        // Capstone A's document task: only its tests are the reference's.
        let given = given_files(&root, "A-editor").expect("unit A reads");
        assert!(
            given.contains(&"src/server/document.rs".to_owned()),
            "{given:?}"
        );
        assert!(!given.contains(&"src/doc.rs".to_owned()), "{given:?}");
    }

    #[test]
    fn lines_of_cargo_mutants_parse_without_their_place() {
        let mutant = Mutant::parse(
            "solutions/05-queue/src/core.rs:85:9: replace > with >= in MessageQueue::push\n",
            "solutions/05-queue/",
        )
        .expect("a mutant");
        assert_eq!(mutant.file, "src/core.rs");
        assert_eq!(mutant.place, "85:9");
        assert_eq!(
            mutant.description,
            "replace > with >= in MessageQueue::push"
        );
        assert_eq!(Mutant::parse("not a mutant", ""), None);
    }

    fn mutant(file: &str, description: &str) -> Mutant {
        Mutant {
            file: file.into(),
            place: "1:1".into(),
            description: description.into(),
        }
    }

    #[test]
    fn a_row_counts_equivalents_survivors_and_stale_records() {
        let tally = Tally {
            caught: (0..17)
                .map(|i| mutant("src/a.rs", &format!("c{i}")))
                .collect(),
            missed: vec![mutant("src/a.rs", "same"), mutant("src/a.rs", "gap")],
            timeouts: vec![mutant("src/a.rs", "t")],
            unviable: vec![mutant("src/a.rs", "u")],
            given: 4,
        };
        let record = |mutant: &str| Equivalent {
            file: "src/a.rs".into(),
            mutant: mutant.into(),
            reason: "r".into(),
        };
        let mut explained = Explained {
            equivalent: vec![record("same"), record("gone")],
            unchecked: Vec::new(),
        };
        let row = Row::new("05", &tally, &explained);
        assert_eq!(row.viable, 20);
        assert_eq!(row.equivalent, 1);
        assert_eq!(row.survivors, [mutant("src/a.rs", "gap")]);
        assert_eq!(row.stale, ["src/a.rs: gone"]);
        // 17 caught + 1 timeout out of 19 counted.
        assert!((row.percent() - 100.0 * 18.0 / 19.0).abs() < 1e-9);
        assert!(!row.passes(), "an unexplained survivor fails the unit");
        assert!(table(&[row]).contains("| 05 | 20 | 17 | 1 | 1 | 0 | 1 | 95 % | 4 |"));

        // Recorded as unchecked, the survivor is explained but still not
        // killed: it counts against the share.
        explained.unchecked.push(record("gap"));
        let row = Row::new("05", &tally, &explained);
        assert_eq!((row.equivalent, row.unchecked), (1, 1));
        assert!(row.survivors.is_empty());
        assert!((row.percent() - 100.0 * 18.0 / 19.0).abs() < 1e-9);
        assert!(row.passes());
    }
}
