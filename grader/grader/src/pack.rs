//! Private test packs: an instructor's own hidden checks and points,
//! kept outside the course repository (`cargo grade --tests DIR`).
//!
//! ```text
//! my-checks/
//!   README.md
//!   grading.toml   points and visibility of every check, in one file
//!   01-connection/
//!     unit.toml    the unit's checks, points and behaviours (replaces the course's)
//!     hidden.rs    the unit's hidden checks (replaces the course's)
//!   …
//! ```
//!
//! A unit without a folder in the pack is graded with the course's files.
//! `cargo grade tests-template DIR` starts a pack from the course's public
//! files: keep them and add checks to *extend* the public hidden checks,
//! or delete them to *replace* them.

use std::path::{Path, PathBuf};

use crate::units::Unit;
use crate::{GraderError, files};

const README: &str = "\
# A private test pack for WebSocket Workbook

Grade with it:

    cargo grade --tests path/to/this/folder --submission path/to/their/exercises
    cargo grade --tests path/to/this/folder --batch path/to/the/class

`grading.toml` holds the points and the visibility of every check, in one
file, starting from the course's values. Change them there: a check it does
not list keeps the points of its `unit.toml`. `visibility = \"hidden\"` shows
the learner only a check's name, points and hint; `\"visible\"` also shows its
message and output. A pack may hold only `grading.toml`, to re-weight the
course's own checks.

Each unit folder here replaces, for that unit, the course's
`grader/units/<unit>/unit.toml` and `hidden.rs`. Units without a folder are
graded with the course's files. Delete the folders of units you do not change.

- `hidden.rs`: the hidden checks, plain `async fn`s listed in
  `checkkit::checks! { … }`. They can use the unit's crate, `checkkit`,
  `testkit` and the unit's dev-dependencies, exactly like the course's.
- `unit.toml`: every check of the unit, visible and hidden, with its points,
  the behaviours it covers, its chapter section, its hint and its time limit.
  The visible checks (`file = \"visible\"`) are the course's, shipped with the
  exercise: you may change their points, not their code. Every hidden check
  (`file = \"hidden\"`) must be a function of `hidden.rs`, and every
  function of `hidden.rs` listed in `checks!` should be in `unit.toml`.

To extend the course's hidden checks, keep the copied ones and add yours; to
replace them, delete them from both files.

Check the pack against the reference solutions before a class uses it:

    cargo grade --tests path/to/this/folder --solutions
    cargo grade --tests path/to/this/folder --coverage

Keep the pack out of the learners' reach (a private repository, a CI secret
checkout): the learners' copy of the course has only the public checks.
";

/// Writes a pack template for `units` into `dest`: the course's
/// `unit.toml` and `hidden.rs` of each, a `grading.toml` with the points
/// and visibility of all their checks, and a README. Existing files are
/// left alone. Returns the files written.
pub fn write_template(
    root: &Path,
    dest: &Path,
    units: &[&Unit],
) -> Result<Vec<PathBuf>, GraderError> {
    let mut written = Vec::new();
    let mut write = |path: PathBuf, text: &str| -> Result<(), GraderError> {
        if !path.exists() {
            files::write_if_changed(&path, text)?;
            written.push(path);
        }
        Ok(())
    };
    write(dest.join("README.md"), README)?;
    write(
        dest.join(crate::points::FILE),
        &crate::points::template(units),
    )?;
    for unit in units {
        let course = crate::units::unit_dir(root, &unit.slug);
        for name in ["unit.toml", "hidden.rs"] {
            write(
                dest.join(&unit.slug).join(name),
                &files::read(&course.join(name))?,
            )?;
        }
    }
    Ok(written)
}
