//! Whether a unit's `Cargo.toml` still has the course's dependencies.
//!
//! The grader builds a learner's `src/` with the course's manifest and
//! ignores the exercise's, so a dependency added there (`cargo add http`)
//! makes `cargo test` pass and `cargo grade` fail to compile. This module is
//! the one source of the check that says so early: the grader compiles it
//! (and tests it) as `grader::stubs::manifest_check`, and `cargo grade
//! sync-stubs` copies it into every exercise's `tests/course_manifest.rs`,
//! with the course's dependency lines for that unit. It uses the standard
//! library only, so it compiles in any exercise.

/// Whether a manifest section header names a dependency table:
/// `dependencies`, `dev-dependencies`, `build-dependencies`, one
/// dependency written as a table (`dependencies.tokio`), or a
/// target-specific table (`target.'cfg(unix)'.dependencies`).
fn is_dependency_table(header: &str) -> bool {
    let tables = ["dependencies", "dev-dependencies", "build-dependencies"];
    let first = header.split('.').next().unwrap_or(header);
    tables.contains(&first)
        || (header.starts_with("target.") && tables.iter().any(|table| header.contains(table)))
}

/// A line without its comment and without whitespace outside quotes:
/// `tokio = { workspace = true } # why` → `tokio={workspace=true}`.
fn normalise(line: &str) -> String {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match quote {
            Some(open) => {
                out.push(c);
                if c == open {
                    quote = None;
                }
            }
            None if c == '#' => break,
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                out.push(c);
            }
            None if c.is_whitespace() => {}
            None => out.push(c),
        }
    }
    out
}

/// The dependency lines of a manifest, normalised and sorted, each with
/// its table: `[dependencies] tokio.workspace=true`.
pub fn dependency_lines(manifest: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut table: Option<String> = None;
    for line in manifest.lines() {
        let line = normalise(line);
        if line.is_empty() {
            continue;
        }
        if line.starts_with('[') {
            let header = line.trim_start_matches('[').trim_end_matches(']');
            let array = line.starts_with("[[");
            table = (!array && is_dependency_table(header)).then(|| header.to_owned());
            continue;
        }
        if let Some(table) = &table {
            lines.push(format!("[{table}] {line}"));
        }
    }
    lines.sort();
    lines
}

/// `Ok` when `manifest` has exactly the `course` dependency lines (as
/// [`dependency_lines`] gives them); otherwise the message for the learner
/// of unit `slug`: what was added and removed, why it matters, what to do.
pub fn compare(manifest: &str, course: &[&str], slug: &str) -> Result<(), String> {
    let actual = dependency_lines(manifest);
    let mut expected: Vec<String> = course.iter().map(|line| (*line).to_owned()).collect();
    expected.sort();
    if actual == expected {
        return Ok(());
    }
    let added: Vec<&String> = actual.iter().filter(|l| !expected.contains(l)).collect();
    let removed: Vec<&String> = expected.iter().filter(|l| !actual.contains(l)).collect();
    let id = slug.split('-').next().unwrap_or(slug);
    let mut message = format!(
        "exercises/{slug}/Cargo.toml no longer has the course's dependencies.\n\
         The grader builds your src/ with the course's Cargo.toml and ignores this one: code that\n\
         needs your change compiles here, but `cargo grade {id}` will say it does not compile.\n"
    );
    for line in &added {
        message.push_str(&format!("  added:   {line}\n"));
    }
    for line in &removed {
        message.push_str(&format!("  removed: {line}\n"));
    }
    message.push_str(&format!(
        "Undo the change (`git diff exercises/{slug}/Cargo.toml` shows it) and use what the course's\n\
         dependencies offer: `http` is `tokio_tungstenite::tungstenite::http`, `futures` is\n\
         `futures_util`, `tungstenite` is `tokio_tungstenite::tungstenite`.\n\
         This test is not graded; it only warns before `cargo grade` does."
    ));
    Err(message)
}
