//! The scratch workspace a submission is graded in.
//!
//! Only the learner's `src/` is taken. Everything else is canonical: the
//! manifest comes from the reference solution (no learner dependencies, no
//! `build.rs`, `autotests = false`), the visible tests from `solutions/`,
//! the hidden tests from `grader/units/` (or an instructor's private pack,
//! [`crate::units::use_tests_pack`]). The workspace lives in
//! `target/wsw-grade/<label>/` and is updated in place, file by file, only
//! where something changed, so a warm `cargo grade 01` rebuilds nothing.
//!
//! Members live at `<label>/<slug>` inside the scratch workspace, never at
//! a bare `<slug>`: Cargo derives a path package's artifact hash from its
//! path *relative to the workspace root*, so two submissions' `connection`
//! crates at the same relative path would share artifacts, and grading the
//! stub right after the solution would run the solution's binaries.
//!
//! The scratch workspace compiles with its own Cargo profile, `grade`, so
//! its binaries (`target/grade/…`) never overwrite the ones that
//! `cargo test` builds for the workspace (`target/debug/…`): a check that
//! runs a unit's binary always runs the one built from this submission.

use std::path::{Path, PathBuf};

use crate::units::Unit;
use crate::{GraderError, files};

/// The Cargo profile scratch workspaces are built with.
pub const PROFILE: &str = "grade";

/// Where a submission's code comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// The learner's own `exercises/`.
    Exercises,
    /// The reference solutions (they must get full marks).
    Solutions,
    /// A folder laid out like `exercises/` (`DIR/01-connection/src/…`).
    Dir(PathBuf),
}

impl Source {
    /// The folder holding one unit folder per unit.
    pub fn base(&self, root: &Path) -> PathBuf {
        match self {
            Source::Exercises => root.join("exercises"),
            Source::Solutions => root.join("solutions"),
            Source::Dir(dir) => dir.clone(),
        }
    }

    /// A short name for the scratch folder and for reports.
    pub fn label(&self) -> String {
        match self {
            Source::Exercises => "exercises".to_owned(),
            Source::Solutions => "solutions".to_owned(),
            Source::Dir(dir) => {
                let absolute = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.clone());
                format!(
                    "submission-{:016x}",
                    stable_hash(&absolute.to_string_lossy())
                )
            }
        }
    }

    /// How reports name the submission.
    pub fn describe(&self) -> String {
        match self {
            Source::Exercises => "exercises".to_owned(),
            Source::Solutions => "solutions".to_owned(),
            Source::Dir(dir) => dir.display().to_string(),
        }
    }
}

/// FNV-1a: a hash that is the same on every run and machine (std's hasher is
/// randomly seeded), used to name scratch folders.
fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A prepared scratch workspace.
#[derive(Debug)]
pub struct Scratch {
    /// `target/wsw-grade/<label>`: the workspace root.
    pub dir: PathBuf,
    /// The submission's label; members live in `dir/<label>/<slug>`.
    pub label: String,
    /// The units it holds.
    pub slugs: Vec<String>,
    /// Units it holds only because a graded unit's crate depends on them.
    pub dependencies: Vec<String>,
}

impl Scratch {
    /// The folder of one unit's crate.
    pub fn member_dir(&self, slug: &str) -> PathBuf {
        self.dir.join(&self.label).join(slug)
    }
}

/// `target/wsw-grade`.
pub fn base_dir(root: &Path) -> PathBuf {
    root.join("target").join("wsw-grade")
}

/// Writes (or updates) the scratch workspace for `units` of `source`.
/// Units whose folder is missing from the submission are left out. A unit
/// whose crate depends on another unit's (capstone A builds on the
/// learner's own unit 10) brings that unit's crate along, built but not
/// graded.
pub fn prepare(root: &Path, source: &Source, units: &[&Unit]) -> Result<Scratch, GraderError> {
    let label = source.label();
    let dir = base_dir(root).join(&label);
    let base = source.base(root);
    let mut slugs = Vec::new();
    for unit in units {
        if write_member(root, &base, &dir.join(&label), &unit.slug)? {
            slugs.push(unit.slug.clone());
        }
    }
    let mut dependencies = Vec::new();
    for slug in &slugs {
        for dependency in unit_dependencies(&root.join("solutions").join(slug))? {
            if slugs.contains(&dependency) || dependencies.contains(&dependency) {
                continue;
            }
            if !write_member(root, &base, &dir.join(&label), &dependency)? {
                // Not in the submission: its stub stands in, so the unit
                // builds and its checks say what is missing.
                write_stub_member(root, &dir.join(&label), &dependency)?;
            }
            dependencies.push(dependency);
        }
    }
    let members: Vec<String> = slugs
        .iter()
        .chain(&dependencies)
        .map(|slug| format!("{label}/{slug}"))
        .collect();
    files::write_if_changed(
        &dir.join("Cargo.toml"),
        &workspace_manifest(root, &members)?,
    )?;
    let lock = root.join("Cargo.lock");
    if lock.exists() {
        let bytes = std::fs::read(&lock).map_err(|source| GraderError::Io {
            path: lock.clone(),
            source,
        })?;
        files::write_bytes_if_changed(&dir.join("Cargo.lock"), &bytes)?;
    }
    Ok(Scratch {
        dir,
        label,
        slugs,
        dependencies,
    })
}

/// Writes unit `slug` of the submission in `base` as a member of the
/// scratch folder `members`: the learner's `src/`, the canonical manifest,
/// visible and hidden checks. `false` when the submission has no `src/`
/// for it.
fn write_member(root: &Path, base: &Path, members: &Path, slug: &str) -> Result<bool, GraderError> {
    let learner_src = base.join(slug).join("src");
    // `is_dir` and `read_dir` follow links: a unit folder or `src/` that
    // is itself a link (to the reference solution, say) is refused here.
    for path in [base.join(slug), learner_src.clone()] {
        if std::fs::symlink_metadata(&path).is_ok_and(|meta| meta.file_type().is_symlink()) {
            return Err(GraderError::Symlink(path));
        }
    }
    if !learner_src.is_dir() {
        return Ok(false);
    }
    let member = members.join(slug);
    files::mirror(&learner_src, &member.join("src"))?;
    write_checks_and_manifest(root, &member, slug)?;
    Ok(true)
}

/// Writes unit `slug`'s stub (what `exercises/` starts with) as a member of
/// the scratch folder `members`, for a submission that lacks a unit another
/// one builds on.
fn write_stub_member(root: &Path, members: &Path, slug: &str) -> Result<(), GraderError> {
    let src = Path::new(slug).join("src");
    let member = members.join(slug);
    for (path, bytes) in crate::stubs::generate(root, &[slug.to_owned()])? {
        if let Ok(relative) = path.strip_prefix(&src) {
            files::write_bytes_if_changed(&member.join("src").join(relative), &bytes)?;
        }
    }
    write_checks_and_manifest(root, &member, slug)
}

/// What a member has besides its `src/`, all canonical: the visible checks
/// (the solution's `tests/`), the hidden ones and the unit's manifest.
fn write_checks_and_manifest(root: &Path, member: &Path, slug: &str) -> Result<(), GraderError> {
    let solution = root.join("solutions").join(slug);
    files::mirror(&solution.join("tests"), &member.join("tests"))?;
    files::write_if_changed(
        &member.join("tests").join("hidden.rs"),
        &crate::units::hidden_text(root, slug)?,
    )?;
    files::write_if_changed(&member.join("Cargo.toml"), &unit_manifest(&solution)?)?;
    Ok(())
}

/// The units whose crates the crate of the solution folder `solution`
/// depends on by path (`collab = { path = "../10-collab" }`).
pub fn unit_dependencies(solution: &Path) -> Result<Vec<String>, GraderError> {
    let path = solution.join("Cargo.toml");
    let manifest: toml::Table = files::read(&path)?
        .parse()
        .map_err(|error| GraderError::Manifest(format!("{}: {error}", path.display())))?;
    let mut slugs = Vec::new();
    for section in ["dependencies", "dev-dependencies"] {
        let Some(toml::Value::Table(deps)) = manifest.get(section) else {
            continue;
        };
        for dep in deps.values() {
            let sibling = dep
                .get("path")
                .and_then(toml::Value::as_str)
                .and_then(|path| path.strip_prefix("../"))
                .filter(|slug| !slug.is_empty() && !slug.contains(['/', '\\']));
            if let Some(slug) = sibling
                && !slugs.iter().any(|known| known == slug)
            {
                slugs.push(slug.to_owned());
            }
        }
    }
    Ok(slugs)
}

/// The folders of the course's own crates that units depend on by path
/// (`testkit`, `checkkit`, …), and the root manifest they inherit package
/// data from: public code the learner's build may read.
pub fn path_dependencies(root: &Path) -> Result<Vec<PathBuf>, GraderError> {
    let path = root.join("Cargo.toml");
    let manifest: toml::Table = files::read(&path)?
        .parse()
        .map_err(|error| GraderError::Manifest(format!("{}: {error}", path.display())))?;
    let mut folders = vec![path];
    if let Some(toml::Value::Table(deps)) = manifest
        .get("workspace")
        .and_then(|workspace| workspace.get("dependencies"))
    {
        for dep in deps.values() {
            if let Some(relative) = dep.get("path").and_then(toml::Value::as_str) {
                folders.push(root.join(relative));
            }
        }
    }
    Ok(folders)
}

/// The canonical manifest of a unit: the solution's, with its markers
/// applied, auto-discovery and build scripts off, and exactly two test
/// targets, `visible` and `hidden`, both on the check harness.
fn unit_manifest(solution: &Path) -> Result<String, GraderError> {
    let path = solution.join("Cargo.toml");
    let text = crate::stubs::strip(&files::read(&path)?, crate::stubs::CommentStyle::Hash)
        .map_err(|error| GraderError::Marker {
            path: path.clone(),
            error,
        })?;
    let mut manifest: toml::Table = text
        .parse()
        .map_err(|error| GraderError::Manifest(format!("{}: {error}", path.display())))?;
    let package = manifest
        .get_mut("package")
        .and_then(toml::Value::as_table_mut)
        .ok_or_else(|| GraderError::Manifest(format!("{}: no [package]", path.display())))?;
    for (key, value) in [
        ("build", false),
        ("autotests", false),
        ("autobenches", false),
        ("autoexamples", false),
    ] {
        package.insert(key.into(), value.into());
    }
    for key in ["test", "bench", "example", "build-dependencies"] {
        manifest.remove(key);
    }
    let tests = ["visible", "hidden"]
        .iter()
        .map(|name| {
            let mut test = toml::Table::new();
            test.insert("name".into(), (*name).into());
            test.insert("path".into(), format!("tests/{name}.rs").into());
            test.insert("harness".into(), false.into());
            toml::Value::Table(test)
        })
        .collect();
    manifest.insert("test".into(), toml::Value::Array(tests));
    let body =
        toml::to_string(&manifest).map_err(|error| GraderError::Manifest(error.to_string()))?;
    Ok(format!(
        "# Written by the grader: the canonical manifest of this unit.\n{body}"
    ))
}

/// The scratch workspace's root manifest: the root workspace's shared
/// package data, dependencies (path dependencies made absolute) and lints,
/// with `unsafe_code` forbidden (a submission cannot `allow` it back), and
/// the `grade` profile.
fn workspace_manifest(root: &Path, members: &[String]) -> Result<String, GraderError> {
    let path = root.join("Cargo.toml");
    let manifest: toml::Table = files::read(&path)?
        .parse()
        .map_err(|error| GraderError::Manifest(format!("{}: {error}", path.display())))?;
    let workspace = manifest
        .get("workspace")
        .and_then(toml::Value::as_table)
        .ok_or_else(|| GraderError::Manifest("the root Cargo.toml has no [workspace]".into()))?;
    let mut ws = toml::Table::new();
    ws.insert("resolver".into(), "3".into());
    ws.insert(
        "members".into(),
        toml::Value::Array(members.iter().map(|s| s.as_str().into()).collect()),
    );
    if let Some(package) = workspace.get("package") {
        ws.insert("package".into(), package.clone());
    }
    if let Some(toml::Value::Table(deps)) = workspace.get("dependencies") {
        let absolute = root.to_string_lossy().into_owned();
        ws.insert(
            "dependencies".into(),
            toml::Value::Table(crate::stubs::rebase_paths(deps, &absolute)),
        );
    }
    let mut lints = workspace
        .get("lints")
        .and_then(toml::Value::as_table)
        .cloned()
        .unwrap_or_default();
    let rust = lints
        .entry("rust")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if let Some(rust) = rust.as_table_mut() {
        rust.insert("unsafe_code".into(), "forbid".into());
    }
    ws.insert("lints".into(), toml::Value::Table(lints));

    let mut grade = toml::Table::new();
    grade.insert("inherits".into(), "dev".into());
    grade.insert("debug".into(), false.into());
    // Every submission is a new path, so incremental caches would pile up
    // (gigabytes over a class) for little gain on crates this small.
    grade.insert("incremental".into(), false.into());
    let mut profile = toml::Table::new();
    profile.insert(PROFILE.into(), toml::Value::Table(grade));

    let mut out = toml::Table::new();
    out.insert("workspace".into(), toml::Value::Table(ws));
    out.insert("profile".into(), toml::Value::Table(profile));
    let body = toml::to_string(&out).map_err(|error| GraderError::Manifest(error.to_string()))?;
    Ok(format!(
        "# Written by the grader: a scratch workspace for one submission.\n{body}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_stable_and_distinct() {
        let a = Source::Dir(PathBuf::from("/nonexistent/a")).label();
        let b = Source::Dir(PathBuf::from("/nonexistent/b")).label();
        assert_eq!(a, Source::Dir(PathBuf::from("/nonexistent/a")).label());
        assert_ne!(a, b);
        assert_eq!(Source::Solutions.label(), "solutions");
    }

    #[test]
    fn the_unit_manifest_is_canonical() {
        let dir = std::env::temp_dir().join(format!("wsw-manifest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(
            dir.join("Cargo.toml"),
            "[package]\nname = \"connection\"\nbuild = \"build.rs\"\n\n[build-dependencies]\ncc = \"1\"\n\n\
             [[test]]\nname = \"visible\"\npath = \"tests/visible.rs\"\nharness = false\n\n\
             # region: solution\n[[test]]\nname = \"hidden\"\npath = \"../../x/hidden.rs\"\n# endregion\n",
        )
        .expect("write manifest");
        let manifest: toml::Table = unit_manifest(&dir)
            .expect("manifest")
            .parse()
            .expect("valid toml");
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(manifest["package"]["build"].as_bool(), Some(false));
        assert!(manifest.get("build-dependencies").is_none());
        let tests = manifest["test"].as_array().expect("tests");
        let paths: Vec<_> = tests.iter().filter_map(|t| t["path"].as_str()).collect();
        assert_eq!(paths, ["tests/visible.rs", "tests/hidden.rs"]);
    }
}
