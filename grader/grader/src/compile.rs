//! Builds a scratch workspace and finds each unit's check binaries.
//!
//! The build of a submission runs in three steps:
//!
//! 1. **Refuse what reaches outside `src/`.** Every source file of the
//!    learner is lexed ([`crate::scan`]); `#[path]`, `include!`,
//!    `include_str!`, `include_bytes!`, `env!`, `option_env!` and `extern
//!    crate` fail the unit with the file and line, before anything compiles.
//! 2. **The learner's crate, alone, in the sandbox** ([`crate::sandbox`]):
//!    `cargo build --lib --bins --frozen` with a cleared environment, CPU,
//!    memory and file-size limits, no network, and Landlock rules under
//!    which only the toolchain, the registry, the course's public crates and
//!    the unit's canonical manifest and `src/` are readable: no hidden
//!    tests, no solutions, no private pack, no home directory. Learners see
//!    these diagnostics: their own crate's.
//! 3. **The checks, outside the learner's reach**: `cargo build --test
//!    visible --test hidden` for the units whose crate built. Diagnostics of
//!    the visible tests are shown (learners have that file); those of the
//!    hidden checks never are, only a sentence saying they did not compile.
//!
//! Cargo's JSON messages say which executable belongs to which unit, and
//! which compiler errors do. `--keep-going` lets every unit that compiles
//! build, whatever the others do. Both steps share one target folder and one
//! profile, so the learner's crate compiled in step 2 is reused in step 3.
//! Cargo and rustc are found once per grader process, before any learner
//! code runs, and are started by absolute path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::scratch::{PROFILE, Scratch};
use crate::{GraderError, files};

/// How long a build may take. A cold build compiles tokio, axum and
/// tungstenite on two cores (a few minutes at worst); a warm one takes
/// seconds. Past this the build is stopped and the units fail to build.
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(20 * 60);

/// How much compiler output is kept per unit for the report.
const MAX_BUILD_OUTPUT: usize = 16 * 1024;

/// What the build gave for one unit.
#[derive(Debug, Default, Clone)]
pub struct UnitBuild {
    /// Test target name (`visible`, `hidden`) → executable.
    pub executables: BTreeMap<String, PathBuf>,
    /// The unit's own programs (its `[[bin]]` targets), which checks start.
    pub programs: Vec<PathBuf>,
    /// Rendered compiler errors (and warnings of failed builds).
    pub errors: String,
}

impl UnitBuild {
    /// The same build with its check binaries copied into `dir` (read-only):
    /// what runs is what was built, whatever happens to the target folder
    /// while other checks run.
    pub fn copied_to(&self, dir: &Path) -> Result<UnitBuild, GraderError> {
        let io = |path: &Path, source| GraderError::Io {
            path: path.to_owned(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(|error| io(dir, error))?;
        let mut copy = self.clone();
        for (name, executable) in &mut copy.executables {
            let target = dir.join(name);
            std::fs::copy(&*executable, &target).map_err(|error| io(&target, error))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o555))
                    .map_err(|error| io(&target, error))?;
            }
            *executable = target;
        }
        Ok(copy)
    }
}

/// Called with each unit whose compilation finished, for progress output.
pub type OnBuilt<'a> = &'a (dyn Fn(&str) + Sync);

#[derive(Deserialize)]
struct Message {
    reason: String,
    #[serde(default)]
    manifest_path: Option<PathBuf>,
    #[serde(default)]
    target: Option<Target>,
    #[serde(default)]
    executable: Option<PathBuf>,
    #[serde(default)]
    message: Option<Diagnostic>,
}

#[derive(Deserialize)]
struct Target {
    name: String,
    kind: Vec<String>,
}

#[derive(Deserialize)]
struct Diagnostic {
    level: String,
    #[serde(default)]
    rendered: Option<String>,
}

/// The toolchain, found once per grader process before any learner code
/// runs: absolute paths, never looked up on `PATH` again.
#[derive(Debug, Clone)]
struct Toolchain {
    cargo: PathBuf,
    rustc: PathBuf,
    sysroot: PathBuf,
    cargo_home: PathBuf,
}

fn toolchain() -> Result<&'static Toolchain, GraderError> {
    static FOUND: std::sync::OnceLock<Result<Toolchain, String>> = std::sync::OnceLock::new();
    FOUND
        .get_or_init(find_toolchain)
        .as_ref()
        .map_err(|message| GraderError::Process(message.clone()))
}

fn find_toolchain() -> Result<Toolchain, String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = std::process::Command::new(&rustc)
        .args(["--print", "sysroot"])
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("could not run rustc to find the toolchain: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "`rustc --print sysroot` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let sysroot = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    let cargo = std::env::var_os("CARGO")
        .map(PathBuf::from)
        .filter(|path| path.is_absolute())
        .unwrap_or_else(|| sysroot.join("bin").join("cargo"));
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .ok_or("neither CARGO_HOME nor HOME is set: cannot find Cargo's registry")?;
    Ok(Toolchain {
        rustc: sysroot.join("bin").join("rustc"),
        cargo,
        sysroot,
        cargo_home,
    })
}

/// The CPU seconds each compiler process of a build may use; an instructor
/// (or a test) may lower it with `WSW_BUILD_CPU_SECS`.
fn build_cpu_secs() -> u64 {
    std::env::var("WSW_BUILD_CPU_SECS")
        .ok()
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(600)
}

/// Which step of the build a cargo run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// The learner's crates alone, in the sandbox.
    Learner,
    /// The check binaries.
    Checks,
}

/// Builds every unit of `scratch` and returns what each one produced.
pub async fn build(
    root: &Path,
    scratch: &Scratch,
    on_built: OnBuilt<'_>,
) -> Result<BTreeMap<String, UnitBuild>, GraderError> {
    let mut results: BTreeMap<String, UnitBuild> = scratch
        .slugs
        .iter()
        .map(|slug| (slug.clone(), UnitBuild::default()))
        .collect();
    if scratch.slugs.is_empty() {
        return Ok(results);
    }
    let toolchain = toolchain()?;
    let mut packages = BTreeMap::new();
    for slug in &scratch.slugs {
        let member = scratch.member_dir(slug);
        let findings = crate::scan::scan_dir(&member.join("src"))?;
        if findings.is_empty() {
            packages.insert(slug.clone(), package_name(&member)?);
        } else if let Some(unit) = results.get_mut(slug) {
            for finding in findings {
                unit.errors.push_str(&format!("{finding}\n"));
            }
        }
    }
    if packages.is_empty() {
        return Ok(results);
    }
    fetch(toolchain, scratch).await?;
    let private = std::env::temp_dir().join(format!("wsw-build-{}", crate::run::nonce()));
    let outcome = async {
        let selected = |names: &BTreeMap<String, String>| {
            names
                .values()
                .flat_map(|name| ["--package".to_owned(), name.clone()])
                .collect::<Vec<_>>()
        };
        let mut args = vec!["--lib".to_owned(), "--bins".to_owned()];
        args.extend(selected(&packages));
        let learner = cargo(root, scratch, toolchain, Step::Learner, &args, &private).await?;
        let mut built = BTreeMap::new();
        for (slug, name) in &packages {
            let Some(unit) = results.get_mut(slug) else {
                continue;
            };
            let Some(found) = learner.get(slug) else {
                unit.errors.push_str(&learner.stderr);
                continue;
            };
            unit.programs.clone_from(&found.programs);
            if !found.errors.is_empty() {
                unit.errors.push_str(&found.errors);
            } else if learner.libs.contains(slug) {
                built.insert(slug.clone(), name.clone());
            } else {
                // No diagnostic, no library: cargo or the compiler stopped
                // (a limit was hit, say); its own words say why.
                unit.errors.push_str(&learner.stderr);
            }
        }
        if built.is_empty() {
            return Ok::<_, GraderError>(());
        }
        let mut args: Vec<String> = ["--test", "visible", "--test", "hidden"]
            .map(str::to_owned)
            .to_vec();
        args.extend(selected(&built));
        let checks = cargo(root, scratch, toolchain, Step::Checks, &args, &private).await?;
        for slug in built.keys() {
            let (Some(unit), Some(found)) = (results.get_mut(slug), checks.get(slug)) else {
                continue;
            };
            unit.executables.clone_from(&found.executables);
            if found.programs.len() > unit.programs.len() {
                unit.programs.clone_from(&found.programs);
            }
            unit.errors.push_str(&found.errors);
            if unit.executables.len() == 2 {
                on_built(slug);
            } else if unit.errors.is_empty() {
                unit.errors.push_str(&checks.stderr);
            }
        }
        Ok(())
    }
    .await;
    let _ = std::fs::remove_dir_all(&private);
    outcome?;
    Ok(results)
}

/// The package name in the `Cargo.toml` of the crate folder `member` (a
/// scratch crate's canonical manifest, or a solution's).
pub(crate) fn package_name(member: &Path) -> Result<String, GraderError> {
    let path = member.join("Cargo.toml");
    let manifest: toml::Table = files::read(&path)?
        .parse()
        .map_err(|error| GraderError::Manifest(format!("{}: {error}", path.display())))?;
    manifest
        .get("package")
        .and_then(|package| package.get("name"))
        .and_then(toml::Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| GraderError::Manifest(format!("{}: no package name", path.display())))
}

/// `cargo fetch`: brings the registry up to date with the scratch
/// workspace's lock file (offline first), before the builds that may not
/// use the network. It reads only manifests the grader wrote.
async fn fetch(toolchain: &Toolchain, scratch: &Scratch) -> Result<(), GraderError> {
    let mut last = String::new();
    for offline in [true, false] {
        let mut command = tokio::process::Command::new(&toolchain.cargo);
        command
            .arg("fetch")
            .arg("--quiet")
            .arg("--manifest-path")
            .arg(scratch.dir.join("Cargo.toml"))
            .env("RUSTC", &toolchain.rustc)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        if offline {
            command.arg("--offline");
        }
        let output = tokio::time::timeout(BUILD_TIMEOUT, command.output())
            .await
            .map_err(|_| GraderError::Process("cargo fetch did not finish".into()))?
            .map_err(|error| GraderError::Process(format!("could not start cargo: {error}")))?;
        if output.status.success() {
            return Ok(());
        }
        last = String::from_utf8_lossy(&output.stderr).into_owned();
    }
    Err(GraderError::Process(format!(
        "cargo could not fetch the course's dependencies: {}",
        last.trim()
    )))
}

/// What one cargo run gave, per unit.
#[derive(Debug, Default)]
struct CargoRun {
    units: BTreeMap<String, UnitBuild>,
    /// Cargo's own standard error, for a failure the compiler said nothing
    /// about (a manifest or resolution problem).
    stderr: String,
    /// The units whose library was built.
    libs: std::collections::BTreeSet<String>,
}

impl CargoRun {
    fn get(&self, slug: &str) -> Option<&UnitBuild> {
        self.units.get(slug)
    }
}

/// The diagnostic shown instead of the hidden checks' own.
const HIDDEN_DID_NOT_COMPILE: &str = "error: the hidden checks do not compile against this crate. \
Keep every public item the stub declares (names, fields, signatures and trait implementations) \
as the chapter gives it: the hidden checks use them like the visible tests do. The compiler's \
messages about the hidden checks are not shown, as their code is not.\n";

/// Runs one cargo build of `step` in the sandbox, with `args` selecting
/// the targets and packages.
async fn cargo(
    root: &Path,
    scratch: &Scratch,
    toolchain: &Toolchain,
    step: Step,
    args: &[String],
    private: &Path,
) -> Result<CargoRun, GraderError> {
    let target_dir = root.join("target");
    let home = private.join(match step {
        Step::Learner => "learner",
        Step::Checks => "checks",
    });
    std::fs::create_dir_all(&home).map_err(|source| GraderError::Io {
        path: home.clone(),
        source,
    })?;
    // Cargo's own state: the profile's folder and the files it keeps beside
    // it (made now, so that a rule can name them).
    let profile_dir = target_dir.join(PROFILE);
    std::fs::create_dir_all(&profile_dir).map_err(|source| GraderError::Io {
        path: profile_dir.clone(),
        source,
    })?;
    // Of Cargo's home, only what a build reads: its settings, never the
    // registry tokens of `credentials.toml` or the programs of `bin/`.
    let mut read = vec![
        toolchain.sysroot.clone(),
        toolchain.cargo.clone(),
        toolchain.cargo_home.join("config.toml"),
        toolchain.cargo_home.join("config"),
        scratch.dir.join("Cargo.toml"),
        scratch.dir.join("Cargo.lock"),
    ];
    read.extend(crate::scratch::path_dependencies(root)?);
    match step {
        Step::Learner => {
            for slug in scratch.slugs.iter().chain(&scratch.dependencies) {
                let member = scratch.member_dir(slug);
                read.push(member.join("Cargo.toml"));
                read.push(member.join("src"));
            }
        }
        Step::Checks => read.push(scratch.dir.clone()),
    }
    let mut write = vec![profile_dir, home.clone()];
    for name in ["registry", "git"] {
        write.push(toolchain.cargo_home.join(name));
    }
    for name in [
        ".package-cache",
        ".package-cache-mutate",
        ".global-cache",
        ".global-cache-journal",
    ] {
        let path = toolchain.cargo_home.join(name);
        if path.exists() {
            write.push(path);
        }
    }
    for name in [".rustc_info.json", "CACHEDIR.TAG"] {
        let path = target_dir.join(name);
        if path.exists() {
            write.push(path);
        }
    }
    let policy = crate::sandbox::Policy {
        read,
        write,
        tmpfs: None,
        verdict_fd: None,
    };
    let mut command = tokio::process::Command::new(&toolchain.cargo);
    command
        .arg("build")
        .args(args)
        .args([
            "--frozen",
            "--keep-going",
            "--message-format=json-diagnostic-rendered-ansi",
        ])
        .args(["--profile", PROFILE])
        .arg("--manifest-path")
        .arg(scratch.dir.join("Cargo.toml"))
        // Outside the course tree, so that no `.cargo/config.toml` of the
        // repository or above it applies.
        .current_dir(&home)
        .env_clear()
        .env(
            "PATH",
            std::env::join_paths([
                toolchain.sysroot.join("bin"),
                "/usr/bin".into(),
                "/bin".into(),
            ])
            .unwrap_or_default(),
        )
        .env("HOME", &home)
        .env("TMPDIR", &home)
        .env("CARGO_HOME", &toolchain.cargo_home)
        .env("CARGO", &toolchain.cargo)
        .env("RUSTC", &toolchain.rustc)
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("CARGO_TERM_COLOR", "never")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    command.process_group(0);
    crate::sandbox::warn_once();
    crate::sandbox::apply(
        &mut command,
        crate::sandbox::Limits::for_build(build_cpu_secs()),
        &policy,
    )
    .map_err(GraderError::Process)?;
    let mut child = command
        .spawn()
        .map_err(|error| GraderError::Process(format!("could not start cargo: {error}")))?;
    let pid = child.id();
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| GraderError::Process("no cargo stdout".into()))?;
    let stderr = child
        .stderr
        .take()
        .ok_or_else(|| GraderError::Process("no cargo stderr".into()))?;
    let stderr_task = tokio::spawn(async move {
        let mut text = String::new();
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if text.len() < MAX_BUILD_OUTPUT {
                text.push_str(&line);
                text.push('\n');
            }
        }
        text
    });

    let mut run = CargoRun::default();
    let mut hidden_failed = BTreeMap::new();
    let read = async {
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let Ok(message) = serde_json::from_str::<Message>(&line) else {
                continue;
            };
            let Some(slug) = message
                .manifest_path
                .as_deref()
                .and_then(|path| slug_of(scratch, path))
            else {
                continue;
            };
            let unit = run.units.entry(slug.clone()).or_default();
            let target = message.target.as_ref();
            let is_test = target.is_some_and(|t| t.kind.iter().any(|kind| kind == "test"));
            match message.reason.as_str() {
                "compiler-artifact" => {
                    if let (Some(target), Some(executable)) = (target, message.executable) {
                        if is_test {
                            unit.executables.insert(target.name.clone(), executable);
                        } else if target.kind.iter().any(|kind| kind == "bin") {
                            unit.programs.push(executable);
                        }
                    } else if target
                        .is_some_and(|t| t.kind.iter().any(|kind| kind.ends_with("lib")))
                    {
                        run.libs.insert(slug);
                    }
                }
                "compiler-message" => {
                    let Some(diagnostic) = message.message else {
                        continue;
                    };
                    if diagnostic.level != "error" || unit.errors.len() >= MAX_BUILD_OUTPUT {
                        continue;
                    }
                    let from_hidden = is_test && target.is_some_and(|t| t.name != "visible");
                    if from_hidden {
                        hidden_failed.insert(slug, ());
                    } else if step == Step::Learner || is_test {
                        unit.errors
                            .push_str(&strip_ansi(&diagnostic.rendered.unwrap_or_default()));
                    }
                }
                _ => {}
            }
        }
        child.wait().await
    };
    let status = match tokio::time::timeout(BUILD_TIMEOUT, read).await {
        Ok(status) => status.map_err(|error| GraderError::Process(format!("cargo: {error}")))?,
        Err(_) => {
            if let Some(pid) = pid {
                crate::sandbox::kill_group(pid);
            }
            for slug in &scratch.slugs {
                run.units
                    .entry(slug.clone())
                    .or_default()
                    .errors
                    .push_str(&format!(
                        "the build did not finish within {BUILD_TIMEOUT:?}\n"
                    ));
            }
            return Ok(run);
        }
    };
    for slug in hidden_failed.into_keys() {
        run.units
            .entry(slug)
            .or_default()
            .errors
            .push_str(HIDDEN_DID_NOT_COMPILE);
    }
    run.stderr = stderr_task.await.unwrap_or_default();
    if !status.success() && run.stderr.trim().is_empty() {
        run.stderr = format!("cargo ended with {status} without a message\n");
    }
    Ok(run)
}

/// Which unit a manifest path belongs to.
fn slug_of(scratch: &Scratch, manifest: &Path) -> Option<String> {
    scratch
        .slugs
        .iter()
        .find(|slug| manifest.starts_with(scratch.member_dir(slug)))
        .cloned()
}

/// Removes ANSI colour sequences (we ask for rendered diagnostics with
/// colour codes so the spans are exact, then show plain text).
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for next in chars.by_ref() {
                if next.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ansi_sequences_are_removed() {
        assert_eq!(
            strip_ansi("\u{1b}[1m\u{1b}[38;5;9merror\u{1b}[0m: x"),
            "error: x"
        );
    }

    #[test]
    fn manifests_map_to_units() {
        let scratch = Scratch {
            dir: PathBuf::from("/t/wsw-grade/solutions"),
            label: "solutions".into(),
            slugs: vec!["01-connection".into()],
            dependencies: Vec::new(),
        };
        assert_eq!(
            slug_of(
                &scratch,
                Path::new("/t/wsw-grade/solutions/solutions/01-connection/Cargo.toml")
            ),
            Some("01-connection".into())
        );
        assert_eq!(slug_of(&scratch, Path::new("/elsewhere/Cargo.toml")), None);
    }
}
