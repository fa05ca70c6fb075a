//! # grader — `cargo grade`
//!
//! Grades the learner's units and tells them what to do next.
//!
//! ## Layout
//! * [`pack`]: instructors' private test packs (`--tests DIR`).
//! * [`units`]: the course's units and their `unit.toml` (behaviours, checks, points).
//! * [`stubs`]: generates `exercises/` from `solutions/` by region markers.
//! * [`scratch`]: builds the scratch workspace a submission is graded in:
//!   only the learner's `src/` is taken; manifest and tests are canonical.
//! * [`compile`]: runs `cargo build` on the scratch workspace and finds the test binaries.
//! * [`run`]: runs every check in its own process, with a nonce and a timeout,
//!   and reads the verdicts the submission cannot forge.
//! * [`sandbox`]: the limits and namespaces each check process runs in.
//! * [`scan`]: a token scanner that finds what in a learner's `src/` reads
//!   outside it at compile time (`include!`, `env!`, `#[path]`, `extern crate`).
//! * [`report`]: the one result model, and its JSON form.
//! * [`render`]: the terminal table and the teaching messages.
//! * [`sanitize`]: learner-controlled text made safe for a terminal (no escapes).
//! * [`formats`]: the instructors' formats: JUnit XML, Gradescope's
//!   `results.json` and its autograder zip, the CI step summary.
//! * [`coverage`]: which checks cover which graded behaviour.
//! * [`wrong`]: applies the deliberately wrong submissions used to test the checks.
//! * [`grade`]: ties it together: submission in, report out.
//! * [`batch`]: a whole class: every student's submission, a CSV summary.
//! * [`merge`]: joins the outputs of a batch graded in shards (`--shard K/N`).
//! * [`files`]: file helpers (write only on change, refuse symlinks).
//! * [`l10n`]: the learner's messages in English or Simplified Chinese
//!   (`--lang`, `LANG`), from `locales/*/grader.ftl`.
//! * [`learner`]: the learner's loop: progress, hints, reset, watch, and
//!   short explanations of the first errors a learner meets.

pub mod batch;
pub mod compile;
pub mod coverage;
pub mod files;
pub mod formats;
pub mod grade;
pub mod l10n;
pub mod learner;
pub mod merge;
pub mod mutants;
pub mod pack;
pub mod points;
pub mod render;
pub mod report;
pub mod run;
pub mod sandbox;
pub mod sanitize;
pub mod scan;
pub mod scratch;
pub mod stubs;
pub mod units;
pub mod wrong;

use std::path::{Path, PathBuf};

/// Everything that can stop the grader itself (as opposed to a check
/// failing, which is a result, not an error).
#[derive(Debug, thiserror::Error)]
pub enum GraderError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A `unit.toml` is malformed.
    #[error("{path}: {message}")]
    UnitToml {
        /// The file.
        path: PathBuf,
        /// What the TOML parser said.
        message: String,
    },
    /// A region marker is malformed.
    #[error("{path}: {error}")]
    Marker {
        /// The file.
        path: PathBuf,
        /// Where and what.
        error: stubs::MarkerError,
    },
    /// A manifest could not be read or made.
    #[error("manifest: {0}")]
    Manifest(String),
    /// A submission contains a symbolic link, which the grader refuses to follow.
    #[error("{0} is a symbolic link; submissions must contain plain files only")]
    Symlink(PathBuf),
    /// The named unit does not exist.
    #[error("there is no unit {0:?}; `cargo grade list` shows them")]
    UnknownUnit(String),
    /// `--strict` was asked for and a layer of the sandbox is missing.
    #[error(
        "--strict: this machine cannot give builds and checks the whole sandbox; missing: {0}. \
         Grade on Linux 6.2 or later with unprivileged user namespaces and Landlock enabled \
         (see \"Exams: `--strict`\" in the instructors' guide), or drop --strict to grade \
         with what there is"
    )]
    Strict(String),
    /// A submission folder is missing or is not a copy of `exercises/`.
    #[error("{0}")]
    Submission(String),
    /// A wrong-submission file is malformed or no longer matches the solution.
    #[error("{path}: {message}")]
    Wrong {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Running cargo or a check process failed for a reason of the machine.
    #[error("{0}")]
    Process(String),
    /// The command line asks for something that cannot be done (an `--out`
    /// that is a folder, shards that cannot be merged): what was expected.
    #[error("{0}")]
    Usage(String),
}

/// The repository root: where `Cargo.toml`, `exercises/` and `grader/` are.
///
/// The grader is always built from this repository, so its manifest's
/// location, two levels down, is the root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap_or(Path::new("."))
        .to_owned()
}
