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

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EquivalentsFile {
    #[serde(default)]
    equivalent: Vec<Equivalent>,
}

/// The equivalent mutants recorded for `unit` (none when it has no file).
pub fn equivalents(root: &Path, unit: &Unit) -> Result<Vec<Equivalent>, GraderError> {
    let path = crate::units::unit_dir(root, &unit.slug).join(FILE);
    if !path.exists() {
        return Ok(Vec::new());
    }
    let parsed: EquivalentsFile =
        toml::from_str(&crate::files::read(&path)?).map_err(|error| GraderError::UnitToml {
            path: path.clone(),
            message: error.to_string(),
        })?;
    for equivalent in &parsed.equivalent {
        if equivalent.reason.trim().is_empty() {
            return Err(GraderError::UnitToml {
                path: path.clone(),
                message: format!(
                    "the equivalent mutant {:?} has no reason",
                    equivalent.mutant
                ),
            });
        }
    }
    Ok(parsed.equivalent)
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
}

impl Tally {
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
        Ok(Tally {
            caught: list("caught.txt")?,
            missed: list("missed.txt")?,
            timeouts: list("timeout.txt")?,
            unviable: list("unviable.txt")?,
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
    /// Survived without an explanation.
    pub survivors: Vec<Mutant>,
    /// Recorded equivalents that no longer survive (or no longer exist).
    pub stale: Vec<String>,
}

impl Row {
    /// Builds the row of `unit` from its tally and recorded equivalents.
    pub fn new(unit: &str, tally: &Tally, equivalents: &[Equivalent]) -> Row {
        let is_equivalent = |mutant: &Mutant| {
            equivalents
                .iter()
                .any(|e| e.file == mutant.file && e.mutant == mutant.description)
        };
        let survivors: Vec<Mutant> = tally
            .missed
            .iter()
            .filter(|m| !is_equivalent(m))
            .cloned()
            .collect();
        let missed: BTreeSet<(&str, &str)> = tally
            .missed
            .iter()
            .map(|m| (m.file.as_str(), m.description.as_str()))
            .collect();
        let stale = equivalents
            .iter()
            .filter(|e| !missed.contains(&(e.file.as_str(), e.mutant.as_str())))
            .map(|e| format!("{}: {}", e.file, e.mutant))
            .collect();
        Row {
            unit: unit.to_owned(),
            viable: tally.caught.len() + tally.missed.len() + tally.timeouts.len(),
            killed: tally.caught.len(),
            timeouts: tally.timeouts.len(),
            equivalent: tally.missed.len() - survivors.len(),
            survivors,
            stale,
        }
    }

    /// Killed (by a check or a timeout) out of the viable, non-equivalent
    /// mutants, in percent (100 when there are none).
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
        "| unit | viable mutants | killed | timeouts | equivalent | survived | killed % |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
    );
    for row in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {:.0} % |\n",
            row.unit,
            row.viable,
            row.killed,
            row.timeouts,
            row.equivalent,
            row.survivors.len(),
            row.percent()
        ));
    }
    out
}

/// Runs cargo-mutants on `unit`'s solution, its results in `out`, and
/// returns its row. `shard` is cargo-mutants' `K/N` (0-based K).
pub fn run(root: &Path, unit: &Unit, out: &Path, shard: Option<&str>) -> Result<Row, GraderError> {
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
    if let Some(shard) = shard {
        command.args(["--shard", shard]);
    }
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
    let tally = Tally::read(out, &format!("solutions/{}/", unit.slug))?;
    Ok(Row::new(&unit.id, &tally, &equivalents(root, unit)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_units_equivalent_mutants_file_reads() {
        let root = crate::repo_root();
        for unit in crate::units::load_all(&root).expect("units load") {
            let equivalents =
                equivalents(&root, &unit).unwrap_or_else(|error| panic!("{}: {error}", unit.slug));
            for equivalent in equivalents {
                assert!(
                    root.join("solutions")
                        .join(&unit.slug)
                        .join(&equivalent.file)
                        .is_file(),
                    "{}: {} names no file of the solution",
                    unit.slug,
                    equivalent.file
                );
            }
        }
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
        };
        let equivalents = [
            Equivalent {
                file: "src/a.rs".into(),
                mutant: "same".into(),
                reason: "r".into(),
            },
            Equivalent {
                file: "src/a.rs".into(),
                mutant: "gone".into(),
                reason: "r".into(),
            },
        ];
        let row = Row::new("05", &tally, &equivalents);
        assert_eq!(row.viable, 20);
        assert_eq!(row.equivalent, 1);
        assert_eq!(row.survivors, [mutant("src/a.rs", "gap")]);
        assert_eq!(row.stale, ["src/a.rs: gone"]);
        // 17 caught + 1 timeout out of 19 counted.
        assert!((row.percent() - 100.0 * 18.0 / 19.0).abs() < 1e-9);
        assert!(!row.passes(), "an unexplained survivor fails the unit");
        assert!(table(&[row]).contains("| 05 | 20 | 17 | 1 | 1 | 1 | 95 % |"));
    }
}
