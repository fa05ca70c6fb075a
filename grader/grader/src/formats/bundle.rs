//! `cargo grade gradescope-bundle`: the autograder zip an instructor
//! uploads to Gradescope.
//!
//! Gradescope extracts the zip into `/autograder/source`, runs `setup.sh`
//! there once (as root) when it builds the autograder's image, and runs
//! `/autograder/run_autograder` (a copy of ours) for every submission,
//! which must write `/autograder/results/results.json` (with
//! `cargo grade --out`, atomically).
//!
//! The zip holds three files: `setup.sh`, `run_autograder` and
//! `README.txt`. The course repository is not in it: the instructor adds
//! it as the folder `course/` next to those three before uploading (the
//! README says how), so it lands at `/autograder/source/course`. Entries
//! are stored (not compressed): three small text files, and no compression
//! code to build.

use std::io::{Cursor, Write};
use std::path::Path;

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::GraderError;

/// One file of the bundle.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// Its name at the root of the zip.
    pub name: &'static str,
    /// Its contents.
    pub contents: &'static str,
    /// Its Unix permissions.
    pub mode: u32,
}

/// Where Gradescope's `setup.sh` and `run_autograder` expect the course.
pub const COURSE_DIR: &str = "/autograder/source/course";

/// The default name of the zip `cargo grade gradescope-bundle` writes.
pub const DEFAULT_NAME: &str = "gradescope-autograder.zip";

/// The files of the bundle, in the order they are zipped.
pub const ENTRIES: [Entry; 3] = [
    Entry {
        name: "setup.sh",
        contents: SETUP,
        mode: 0o755,
    },
    Entry {
        name: "run_autograder",
        contents: RUN_AUTOGRADER,
        mode: 0o755,
    },
    Entry {
        name: "README.txt",
        contents: README,
        mode: 0o644,
    },
];

/// The bundle as zip bytes.
pub fn zip() -> Result<Vec<u8>, GraderError> {
    let error = |error: zip::result::ZipError| GraderError::Process(format!("zip: {error}"));
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for entry in ENTRIES {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .unix_permissions(entry.mode);
        zip.start_file(entry.name, options).map_err(error)?;
        zip.write_all(entry.contents.as_bytes())
            .map_err(|e| error(e.into()))?;
    }
    Ok(zip.finish().map_err(error)?.into_inner())
}

/// Writes the bundle to `path`, atomically.
pub fn write(path: &Path) -> Result<(), GraderError> {
    crate::files::write_atomic(path, &zip()?)
}

const SETUP: &str = r#"#!/usr/bin/env bash
# WebSocket Workbook autograder: Gradescope runs this once, as root, in
# /autograder/source, when it builds the autograder image.
#
# It expects the course repository at /autograder/source/course: add the
# repository as the folder `course/` next to this file before zipping (see
# README.txt).
set -euo pipefail

COURSE=/autograder/source/course
if [ ! -f "$COURSE/Cargo.toml" ] || [ ! -d "$COURSE/grader" ]; then
    echo "setup.sh: the course repository is not at $COURSE." >&2
    echo "Put it in the zip as the folder course/ (see README.txt)." >&2
    exit 1
fi

# Rust: the image's own when it has one (a custom base image, or a cargo
# already on the PATH). Otherwise the distribution's packages. The course
# needs the Rust version in its Cargo.toml (`rust-version`): an older
# Ubuntu image's packages may be older than that; then use a base image
# with a recent Rust, or install rustup here if the image may reach it.
export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v cargo >/dev/null 2>&1; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        cargo rustc gcc libc6-dev ca-certificates git
fi
required=$(sed -n 's/^rust-version *= *"\(.*\)"/\1/p' "$COURSE/Cargo.toml" | head -n 1)
have=$(rustc --version | cut -d' ' -f2)
if [ -n "$required" ] && \
   [ "$(printf '%s\n%s\n' "$required" "$have" | sort -V | head -n 1)" != "$required" ]; then
    echo "setup.sh: rustc $have is older than the course's rust-version $required." >&2
    exit 1
fi
echo "using $(cargo --version)"

# The system programs that some checks start on their own loopback
# (capstone A's stages 19 and 20 run redis-server).
if ! command -v redis-server >/dev/null 2>&1; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server
fi

# Build the grader and every dependency now, by grading the reference
# solutions once: grading a submission then compiles only its src/.
cd "$COURSE"
cargo grade --solutions --format json > /dev/null
"#;

const RUN_AUTOGRADER: &str = r#"#!/usr/bin/env bash
# WebSocket Workbook autograder: Gradescope runs this for every submission.
# It grades /autograder/submission (a copy of the learner's exercises/
# folder, or a folder holding one) with the course at
# /autograder/source/course, and writes /autograder/results/results.json.
set -uo pipefail

COURSE=/autograder/source/course
WORK=/autograder/work
RESULTS=/autograder/results
export PATH="$HOME/.cargo/bin:$PATH"
# A check whose system program is missing fails here rather than being
# skipped: setup.sh installed them, and a grade must not depend on it.
export CI=true

rm -rf "$WORK"
mkdir -p "$WORK/submission" "$RESULTS"
cp -R /autograder/submission/. "$WORK/submission/"
SUBMISSION="$WORK/submission"
# A learner may upload the folder exercises/ itself rather than its contents.
if [ -d "$SUBMISSION/exercises" ]; then
    SUBMISSION="$SUBMISSION/exercises"
fi

cd "$COURSE"
# --out writes results.json atomically (a temporary file, then a rename):
# Gradescope never reads half of it. The terminal log, which instructors
# see, gets the human-readable report.
if ! cargo grade --submission "$SUBMISSION" --format gradescope --out "$RESULTS/results.json"; then
    # The grader could not grade at all (its reason is on stderr, which
    # Gradescope shows to instructors). Give the learner a score of 0 and
    # a hint about the usual cause.
    cat > "$RESULTS/.results.json.tmp" <<'JSON'
{
  "score": 0,
  "output": "The autograder could not grade this submission. Upload the contents of your exercises/ folder (one folder per unit, such as 01-connection/src/), or the exercises/ folder itself. If this persists, tell your instructor.",
  "stdout_visibility": "visible",
  "tests": []
}
JSON
    mv "$RESULTS/.results.json.tmp" "$RESULTS/results.json"
fi
"#;

const README: &str = "\
WebSocket Workbook: Gradescope autograder
=========================================

Made by `cargo grade gradescope-bundle`. These files grade a submission
with the course's own grader (`cargo grade --format gradescope`).

  setup.sh        runs once when Gradescope builds the image: installs Rust
                  if the image has none and builds the grader
  run_autograder  runs for every submission and writes results.json

Before uploading, add the course repository next to these files, as the
folder `course/` (Gradescope unpacks the zip into /autograder/source, and
the scripts expect the course at /autograder/source/course):

  unzip gradescope-autograder.zip -d autograder
  git clone <your copy of the course> autograder/course
  rm -rf autograder/course/.git autograder/course/target
  (cd autograder && zip -r ../autograder-upload.zip .)

Zip the folder's contents, not the folder: setup.sh must be at the root of
the zip. Upload autograder-upload.zip as the assignment's autograder
(\"Zip file upload\").

Learners submit the contents of their exercises/ folder (or the folder
itself). Only each unit's src/ is graded. Visible checks show their
results at once; hidden checks are marked \"after_due_date\": learners see
them, with their hints, once the due date has passed.

Rust: setup.sh uses the image's Rust if it has one, else installs the
distribution's `cargo` and `rustc` packages. The course needs at least
the `rust-version` in its Cargo.toml; if the distribution's Rust is older,
setup.sh stops with a message: use a base image with a recent Rust.
";
