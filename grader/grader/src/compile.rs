//! Builds a scratch workspace and finds each unit's check binaries.
//!
//! One `cargo build --test visible --test hidden --keep-going` compiles every unit of the
//! submission in parallel; a unit that does not compile does not stop the
//! others. Cargo's JSON messages say which test executable belongs to which
//! unit, and which compiler errors do.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::GraderError;
use crate::scratch::{PROFILE, Scratch};

/// How long a build may take. A cold build compiles tokio, axum and
/// tungstenite on two cores (a few minutes at worst); a warm one takes
/// seconds. Past this the build is stopped and the units fail to build.
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(20 * 60);

/// How much compiler output is kept per unit for the report.
const MAX_BUILD_OUTPUT: usize = 16 * 1024;

/// What the build gave for one unit.
#[derive(Debug, Default)]
pub struct UnitBuild {
    /// Test target name (`visible`, `hidden`) → executable.
    pub executables: BTreeMap<String, PathBuf>,
    /// Rendered compiler errors (and warnings of failed builds).
    pub errors: String,
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
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut child = tokio::process::Command::new(cargo)
        .args([
            "build",
            // Only the two check binaries (and, through them, the library and
            // the binaries the checks run): not the library's and binaries'
            // own unit-test harnesses, which `--tests` would add.
            "--test",
            "visible",
            "--test",
            "hidden",
            "--keep-going",
            "--message-format=json-diagnostic-rendered-ansi",
        ])
        .args(["--profile", PROFILE])
        .arg("--manifest-path")
        .arg(scratch.dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", root.join("target"))
        .env("CARGO_TERM_COLOR", "never")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| GraderError::Process(format!("could not start cargo: {error}")))?;
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
            let Some(unit) = results.get_mut(&slug) else {
                continue;
            };
            match message.reason.as_str() {
                "compiler-artifact" => {
                    if let (Some(target), Some(executable)) = (message.target, message.executable)
                        && target.kind.iter().any(|kind| kind == "test")
                    {
                        unit.executables.insert(target.name.clone(), executable);
                        if unit.executables.len() == 2 {
                            on_built(&slug);
                        }
                    }
                }
                "compiler-message" => {
                    if let Some(diagnostic) = message.message
                        && diagnostic.level == "error"
                        && unit.errors.len() < MAX_BUILD_OUTPUT
                    {
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
            for unit in results.values_mut() {
                unit.errors.push_str(&format!(
                    "the build did not finish within {BUILD_TIMEOUT:?}\n"
                ));
            }
            return Ok(results);
        }
    };
    let stderr = stderr_task.await.unwrap_or_default();
    if !status.success() {
        for unit in results.values_mut() {
            if unit.executables.len() < 2 && unit.errors.is_empty() {
                // Cargo failed before the compiler said anything about this
                // unit (a manifest or resolution problem): show what it said.
                unit.errors = stderr.clone();
            }
        }
    }
    Ok(results)
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
