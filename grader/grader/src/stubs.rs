//! Generates the learner's `exercises/` from `solutions/`.
//!
//! The solution is the only source (see CONTRIBUTING.md, "One source of
//! truth for stubs"). Region markers say what the learner writes:
//!
//! ```text
//! // region: solution     kept in the solution, dropped from the stub
//! // region: stub         commented in the solution, uncommented in the stub
//! // endregion            ends whichever region is open
//! ```
//!
//! A stub region may directly follow a solution region and share its
//! `// endregion`. `.toml` files use `#` instead of `//`. Generation is a
//! pure function of the solution tree, so a test can regenerate in memory
//! and compare with what is committed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::GraderError;

pub mod manifest_check;

/// The one source of every exercise's `tests/course_manifest.rs`.
const MANIFEST_CHECK_SOURCE: &str = include_str!("stubs/manifest_check.rs");

/// The comment that starts a marker line, by file kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentStyle {
    /// Rust: `//`.
    Slashes,
    /// TOML: `#`.
    Hash,
}

impl CommentStyle {
    fn prefix(self) -> &'static str {
        match self {
            CommentStyle::Slashes => "//",
            CommentStyle::Hash => "#",
        }
    }

    /// The style for a file, or `None` when markers don't apply to it.
    pub fn for_path(path: &Path) -> Option<CommentStyle> {
        match path.extension().and_then(|e| e.to_str()) {
            Some("rs") => Some(CommentStyle::Slashes),
            Some("toml") => Some(CommentStyle::Hash),
            _ => None,
        }
    }
}

/// A malformed marker, with the line it is on (1-based).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {problem}")]
pub struct MarkerError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub problem: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Region {
    None,
    Solution,
    Stub { indent: usize },
}

/// The marker on `line` (`region: solution`, `region: stub`, `endregion`),
/// if it is one.
fn marker(line: &str, prefix: &str) -> Option<&'static str> {
    let rest = line.trim().strip_prefix(prefix)?.trim();
    match rest {
        "region: solution" => Some("region: solution"),
        "region: stub" => Some("region: stub"),
        "endregion" => Some("endregion"),
        _ if rest.starts_with("endregion:") => Some("endregion"),
        _ => None,
    }
}

/// The lines (1-based, first and last) of each solution region of a Rust
/// source: the code the learner writes. Everything else is given.
pub fn solution_lines(source: &str) -> Vec<(usize, usize)> {
    let mut regions = Vec::new();
    let mut open = None;
    for (index, line) in source.lines().enumerate() {
        match marker(line, "//") {
            Some("region: solution") => open = Some(index + 1),
            Some(_) => {
                if let Some(first) = open.take() {
                    regions.push((first, index + 1));
                }
            }
            None => {}
        }
    }
    regions
}

/// Whether every solution region of a Rust source is a `#[cfg(test)]`
/// item (the reference's own tests, left out of the stub): then the
/// learner writes nothing in it, and the rest is given whole.
pub fn only_tests_are_solution(source: &str) -> bool {
    let lines: Vec<&str> = source.lines().collect();
    solution_lines(source).iter().all(|&(first, last)| {
        lines[first..last.saturating_sub(1)]
            .iter()
            .map(|line| line.trim())
            .find(|line| !line.is_empty() && !line.starts_with("//"))
            .is_some_and(|line| line == "#[cfg(test)]")
    })
}

/// Turns one solution file into its stub.
pub fn strip(source: &str, style: CommentStyle) -> Result<String, MarkerError> {
    let prefix = style.prefix();
    let marker = |text: &str| marker(text, prefix);
    let mut out = String::with_capacity(source.len());
    let mut region = Region::None;
    let mut opened_at = 0;
    for (index, line) in source.lines().enumerate() {
        let number = index + 1;
        let error = |problem: &str| MarkerError {
            line: number,
            problem: problem.to_owned(),
        };
        match marker(line) {
            Some("region: solution") => {
                if region != Region::None {
                    return Err(error(
                        "a solution region cannot start inside another region",
                    ));
                }
                region = Region::Solution;
                opened_at = number;
            }
            Some("region: stub") => {
                if matches!(region, Region::Stub { .. }) {
                    return Err(error("a stub region cannot start inside a stub region"));
                }
                let indent = line.len() - line.trim_start().len();
                region = Region::Stub { indent };
                opened_at = number;
            }
            Some(_) => {
                if region == Region::None {
                    return Err(error("endregion without an open region"));
                }
                region = Region::None;
            }
            None => match region {
                Region::None => {
                    out.push_str(line);
                    out.push('\n');
                }
                Region::Solution => {}
                Region::Stub { indent } => {
                    out.push_str(&uncomment(line, prefix, indent).ok_or_else(|| {
                        error(&format!(
                            "a line in a stub region must be a comment starting with `{prefix} `"
                        ))
                    })?);
                    out.push('\n');
                }
            },
        }
    }
    if region != Region::None {
        return Err(MarkerError {
            line: opened_at,
            problem: "region opened here is never closed with endregion".to_owned(),
        });
    }
    Ok(out)
}

/// `    // todo!()` → `    todo!()`, keeping the marker's indentation.
fn uncomment(line: &str, prefix: &str, indent: usize) -> Option<String> {
    let trimmed = line.trim_start();
    if trimmed.is_empty() {
        return Some(String::new());
    }
    let body = trimmed.strip_prefix(prefix)?;
    let body = body.strip_prefix(' ').unwrap_or(body);
    if body.is_empty() {
        return Some(String::new());
    }
    let own_indent = line.len() - trimmed.len();
    let keep = own_indent.max(indent);
    Some(format!("{}{}", " ".repeat(keep), body))
}

/// Folders of a solution crate that are not part of its exercise: the
/// capstone's WebAssembly build, which compiles the solution's own files.
const SOLUTION_ONLY: [&str; 1] = ["wasm"];

/// Every file of the generated `exercises/` workspace: path relative to
/// `exercises/` → contents (bytes: a unit may hold binary files, such as the
/// capstone page's WebAssembly).
pub fn generate(root: &Path, slugs: &[String]) -> Result<BTreeMap<PathBuf, Vec<u8>>, GraderError> {
    let mut files = BTreeMap::new();
    files.insert(
        PathBuf::from("Cargo.toml"),
        exercises_manifest(root, slugs)?.into_bytes(),
    );
    files.insert(
        PathBuf::from("grade/Cargo.toml"),
        LAUNCHER_MANIFEST.as_bytes().to_vec(),
    );
    files.insert(
        PathBuf::from("grade/src/main.rs"),
        LAUNCHER_MAIN.as_bytes().to_vec(),
    );
    for slug in slugs {
        let solution = root.join("solutions").join(slug);
        for path in crate::files::list(&solution)? {
            let relative = path.strip_prefix(&solution).unwrap_or(&path);
            if SOLUTION_ONLY.iter().any(|dir| relative.starts_with(dir)) {
                continue;
            }
            let Some(style) = CommentStyle::for_path(&path) else {
                // Copied byte for byte: markdown, data, the capstone's
                // WebAssembly.
                let bytes = std::fs::read(&path).map_err(|source| GraderError::Io {
                    path: path.clone(),
                    source,
                })?;
                files.insert(Path::new(slug).join(relative), bytes);
                continue;
            };
            let text = crate::files::read(&path)?;
            let text = strip(&text, style).map_err(|error| GraderError::Marker {
                path: path.clone(),
                error,
            })?;
            let text = if style_is_rust(&path) {
                rustfmt(&text).map_err(|message| {
                    GraderError::Process(format!(
                        "rustfmt on the stub of {}: {message}",
                        path.display()
                    ))
                })?
            } else {
                text
            };
            files.insert(Path::new(slug).join(relative), text.into_bytes());
        }
        let manifest_path = Path::new(slug).join("Cargo.toml");
        if let Some(manifest) = files.get(&manifest_path) {
            let manifest = String::from_utf8_lossy(manifest);
            let test = course_manifest_test(slug, &manifest).map_err(|message| {
                GraderError::Process(format!(
                    "rustfmt on {slug}/tests/course_manifest.rs: {message}"
                ))
            })?;
            files.insert(
                Path::new(slug).join("tests/course_manifest.rs"),
                test.into_bytes(),
            );
        }
    }
    Ok(files)
}

/// An exercise's `tests/course_manifest.rs`: a plain `#[test]` (not a
/// graded check: the grader builds only `visible` and `hidden`) that fails
/// when the exercise's `Cargo.toml` no longer has the dependency lines of
/// the course's manifest `manifest`, with the comparison of
/// [`manifest_check`] copied in.
fn course_manifest_test(slug: &str, manifest: &str) -> Result<String, String> {
    let lines = manifest_check::dependency_lines(manifest);
    let mut text = String::from(
        "//! GENERATED by `cargo grade sync-stubs` (from grader/grader/src/stubs/manifest_check.rs): do not edit.\n\
         //!\n\
         //! `cargo grade` builds your src/ with the course's Cargo.toml, not this folder's. This test\n\
         //! fails when this unit's dependencies differ from the course's, so `cargo test` says so\n\
         //! before `cargo grade` does. It is not one of the graded checks.\n\n\
         /// This unit's dependency lines in the course's Cargo.toml.\n\
         const COURSE: &[&str] = &[\n",
    );
    for line in &lines {
        text.push_str(&format!("    {line:?},\n"));
    }
    text.push_str(&format!(
        "];\n\n\
         #[test]\n\
         fn cargo_toml_has_the_courses_dependencies() {{\n\
         if let Err(message) = manifest_check::compare(include_str!(\"../Cargo.toml\"), COURSE, {slug:?}) {{\n\
         panic!(\"{{message}}\");\n\
         }}\n\
         }}\n\n\
         mod manifest_check {{\n{MANIFEST_CHECK_SOURCE}}}\n"
    ));
    rustfmt(&text)
}

fn style_is_rust(path: &Path) -> bool {
    CommentStyle::for_path(path) == Some(CommentStyle::Slashes)
}

/// Formats Rust source with `rustfmt` (edition 2024), because removing a
/// solution region can leave a stub that rustfmt would lay out differently
/// (a blank line too many, a `todo!` message that now needs wrapping), and
/// `cargo fmt --check` runs on `exercises/` in CI.
fn rustfmt(source: &str) -> Result<String, String> {
    use std::io::Write;
    let mut child = std::process::Command::new("rustfmt")
        .args(["--edition", "2024", "--emit", "stdout", "--quiet"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|error| {
            format!("could not run rustfmt (rustup component add rustfmt): {error}")
        })?;
    let mut stdin = child.stdin.take().ok_or("rustfmt has no stdin")?;
    let input = source.to_owned();
    // Write from a thread: rustfmt may fill its stdout pipe before it has
    // read all of its input.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child
        .wait_with_output()
        .map_err(|error| error.to_string())?;
    let _ = writer.join();
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    String::from_utf8(output.stdout).map_err(|error| error.to_string())
}

/// `exercises/Cargo.toml`: the unit crates as members, and the root
/// workspace's shared package data, dependencies (path dependencies made
/// relative to `exercises/`), lints and profiles, so both workspaces compile
/// the same dependency graph into the shared target dir.
fn exercises_manifest(root: &Path, slugs: &[String]) -> Result<String, GraderError> {
    let manifest = crate::files::read(&root.join("Cargo.toml"))?;
    let root_table: toml::Table = manifest
        .parse()
        .map_err(|error| GraderError::Manifest(format!("the root Cargo.toml: {error}")))?;
    let workspace = root_table
        .get("workspace")
        .and_then(toml::Value::as_table)
        .ok_or_else(|| GraderError::Manifest("the root Cargo.toml has no [workspace]".into()))?;
    let mut out = String::from(
        "# GENERATED by `cargo grade sync-stubs` from the root Cargo.toml: do not edit.\n\
         # The learner's workspace: one crate per unit. It is kept apart from the root\n\
         # workspace because its stubs fail their tests on purpose.\n\n",
    );
    let mut table = toml::Table::new();
    let mut ws = toml::Table::new();
    ws.insert("resolver".into(), "3".into());
    ws.insert(
        "members".into(),
        toml::Value::Array(
            std::iter::once("grade")
                .chain(slugs.iter().map(String::as_str))
                .map(toml::Value::from)
                .collect(),
        ),
    );
    for key in ["package", "lints"] {
        if let Some(value) = workspace.get(key) {
            ws.insert(key.into(), value.clone());
        }
    }
    if let Some(toml::Value::Table(deps)) = workspace.get("dependencies") {
        ws.insert(
            "dependencies".into(),
            toml::Value::Table(rebase_paths(deps, "..")),
        );
    }
    table.insert("workspace".into(), toml::Value::Table(ws));
    // The same profiles, so the shared target dir holds one build of each
    // dependency for both workspaces.
    if let Some(profile) = root_table.get("profile") {
        table.insert("profile".into(), profile.clone());
    }
    out.push_str(
        &toml::to_string(&table).map_err(|error| GraderError::Manifest(error.to_string()))?,
    );
    Ok(out)
}

/// The launcher that makes `cargo grade` work inside `exercises/`: the
/// alias runs the package `grader`, which in this workspace is this small
/// program handing over to the real grader at the repository root.
const LAUNCHER_MANIFEST: &str = "\
# GENERATED by `cargo grade sync-stubs`: do not edit.
# `cargo grade` inside exercises/ runs this; it starts the real grader.
[package]
name = \"grader\"
version = \"0.1.0\"
edition.workspace = true
publish = false

[[bin]]
name = \"cargo-grade\"
path = \"src/main.rs\"

[lints]
workspace = true
";

const LAUNCHER_MAIN: &str = "\
//! `cargo grade` inside `exercises/`: hands over to the real grader at the
//! repository root (GENERATED by `cargo grade sync-stubs`: do not edit).

use std::path::Path;
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let root = Path::new(env!(\"CARGO_MANIFEST_DIR\")).join(\"../..\");
    let cargo = std::env::var_os(\"CARGO\").unwrap_or_else(|| \"cargo\".into());
    let status = Command::new(cargo)
        .args([\"run\", \"--quiet\", \"--manifest-path\"])
        .arg(root.join(\"Cargo.toml\"))
        .args([\"--package\", \"grader\", \"--bin\", \"cargo-grade\", \"--\"])
        .args(std::env::args_os().skip(1))
        .status();
    let code = status.map(|status| status.code().and_then(|c| u8::try_from(c).ok()));
    match code {
        Ok(code) => ExitCode::from(code.unwrap_or(1)),
        Err(error) => {
            eprintln!(\"could not start the grader: {error}\");
            ExitCode::from(2)
        }
    }
}
";

/// Prefixes every `path = "…"` dependency with `base`.
pub fn rebase_paths(deps: &toml::Table, base: &str) -> toml::Table {
    let mut deps = deps.clone();
    for (_, value) in deps.iter_mut() {
        if let Some(table) = value.as_table_mut()
            && let Some(toml::Value::String(path)) = table.get_mut("path")
        {
            *path = format!("{base}/{path}");
        }
    }
    deps
}

/// The dependency tables of a unit's canonical manifest (the solution's
/// `Cargo.toml` with its markers applied, as the exercise and the grader's
/// scratch crate have it): table name (`dependencies`, `dev-dependencies`)
/// → the Cargo package names it lists, sorted.
pub fn course_dependencies(
    root: &Path,
    slug: &str,
) -> Result<BTreeMap<String, Vec<String>>, GraderError> {
    let path = root.join("solutions").join(slug).join("Cargo.toml");
    let text = strip(&crate::files::read(&path)?, CommentStyle::Hash).map_err(|error| {
        GraderError::Marker {
            path: path.clone(),
            error,
        }
    })?;
    let manifest: toml::Table = text
        .parse()
        .map_err(|error| GraderError::Manifest(format!("{}: {error}", path.display())))?;
    let mut tables = BTreeMap::new();
    for table in ["dependencies", "dev-dependencies"] {
        let names = manifest
            .get(table)
            .and_then(toml::Value::as_table)
            .map(|deps| deps.keys().cloned().collect())
            .unwrap_or_default();
        tables.insert(table.to_owned(), names);
    }
    Ok(tables)
}

/// Writes the generated files under `exercises/`, removing files of known
/// units that the generator no longer makes. Returns the paths it changed.
pub fn sync(root: &Path, slugs: &[String]) -> Result<Vec<PathBuf>, GraderError> {
    let exercises = root.join("exercises");
    let mut changed = Vec::new();
    for drift in drift(root, slugs)? {
        let path = exercises.join(&drift.path);
        match drift.expected {
            Some(bytes) => {
                crate::files::write_bytes_if_changed(&path, &bytes)?;
            }
            None => crate::files::remove(&path)?,
        }
        changed.push(drift.path);
    }
    Ok(changed)
}

/// One file whose committed state differs from the generator's output.
#[derive(Debug)]
pub struct Drift {
    /// Relative to `exercises/`.
    pub path: PathBuf,
    /// What the generator makes; `None` when the file should not exist.
    pub expected: Option<Vec<u8>>,
}

/// The differences between `exercises/` and what the generator makes.
pub fn drift(root: &Path, slugs: &[String]) -> Result<Vec<Drift>, GraderError> {
    let exercises = root.join("exercises");
    let expected = generate(root, slugs)?;
    let mut drifts = Vec::new();
    for (path, bytes) in &expected {
        let actual = std::fs::read(exercises.join(path)).ok();
        if actual.as_deref() != Some(bytes.as_slice()) {
            drifts.push(Drift {
                path: path.clone(),
                expected: Some(bytes.clone()),
            });
        }
    }
    for slug in slugs {
        let dir = exercises.join(slug);
        if !dir.exists() {
            continue;
        }
        for path in crate::files::list(&dir)? {
            let relative = path.strip_prefix(&exercises).unwrap_or(&path).to_owned();
            if !expected.contains_key(&relative) {
                drifts.push(Drift {
                    path: relative,
                    expected: None,
                });
            }
        }
    }
    Ok(drifts)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOLUTION: &str = "\
// region: stub
// #![allow(unused_variables)]
// endregion
use std::io;
// region: solution
use std::fmt;
// endregion

pub fn answer() -> u32 {
    // region: solution
    42
    // region: stub
    // todo!(\"Task 1: return the answer\")
    // endregion
}
";

    #[test]
    fn solution_regions_are_dropped_and_stub_regions_uncommented() {
        let stub = strip(SOLUTION, CommentStyle::Slashes).expect("valid markers");
        assert_eq!(
            stub,
            "#![allow(unused_variables)]\nuse std::io;\n\npub fn answer() -> u32 {\n    todo!(\"Task 1: return the answer\")\n}\n"
        );
    }

    #[test]
    fn toml_uses_hash_markers() {
        let manifest = "[package]\n# region: solution\n[[test]]\nname = \"hidden\"\n# endregion\n";
        assert_eq!(
            strip(manifest, CommentStyle::Hash).expect("valid markers"),
            "[package]\n"
        );
    }

    #[test]
    fn anchors_and_ordinary_comments_are_kept() {
        let text = "// ANCHOR: api\n// a comment\nfn f() {}\n// ANCHOR_END: api\n";
        assert_eq!(
            strip(text, CommentStyle::Slashes).expect("no markers"),
            text
        );
    }

    #[test]
    fn solution_lines_span_the_solution_regions_only() {
        let source = "given\n// region: solution\nmine\n// region: stub\n// todo!()\n\
                      // endregion\ngiven\n    // region: solution\n    mine\n    // endregion\n";
        assert_eq!(solution_lines(source), [(2, 4), (8, 10)]);
        assert!(solution_lines("fn given() {}\n").is_empty());
    }

    #[test]
    fn a_file_whose_regions_are_its_tests_is_given() {
        let tests = "fn given() {}\n// region: solution\n// its tests\n#[cfg(test)]\nmod tests {}\n// endregion\n";
        assert!(only_tests_are_solution(tests));
        let mine = format!(
            "fn f() {{\n    // region: solution\n    mine();\n    // endregion\n}}\n{tests}"
        );
        assert!(!only_tests_are_solution(&mine));
        assert!(only_tests_are_solution("fn given() {}\n"));
    }

    #[test]
    fn an_unclosed_region_names_its_line() {
        let error = strip("a\n// region: solution\nb\n", CommentStyle::Slashes)
            .expect_err("unclosed region");
        assert_eq!(error.line, 2);
    }

    #[test]
    fn a_stray_endregion_is_an_error() {
        let error = strip("// endregion\n", CommentStyle::Slashes).expect_err("stray");
        assert_eq!(error.line, 1);
    }

    #[test]
    fn code_in_a_stub_region_must_be_commented() {
        let error = strip(
            "// region: stub\nlet x = 1;\n// endregion\n",
            CommentStyle::Slashes,
        )
        .expect_err("uncommented stub line");
        assert_eq!(error.line, 2);
    }

    #[test]
    fn nested_solution_regions_are_an_error() {
        let text = "// region: solution\n// region: solution\n// endregion\n";
        assert!(strip(text, CommentStyle::Slashes).is_err());
    }

    #[test]
    fn path_dependencies_are_rebased() {
        let deps: toml::Table =
            toml::from_str("testkit = { path = \"grader/testkit\" }\ntokio = \"1\"")
                .expect("valid toml");
        let rebased = rebase_paths(&deps, "..");
        assert_eq!(
            rebased["testkit"]["path"].as_str(),
            Some("../grader/testkit")
        );
        assert_eq!(rebased["tokio"].as_str(), Some("1"));
    }
}
