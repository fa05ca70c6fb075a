//! `cargo grade reset NN`: give a unit its stub back, keeping a backup.
//!
//! A reset never loses work. When the unit's folder differs from the
//! generated stub, the grader refuses unless asked with `--force`, and
//! then first copies the whole folder to
//! `exercises/.backups/<slug>-<UTC time>/` (git ignores it), names that
//! folder, and only then writes the stub's files and removes files the
//! stub does not have.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::l10n::t;
use crate::units::Unit;
use crate::{GraderError, files, stubs};

/// The backup folder, in the learner's workspace.
pub const BACKUP_DIR: &str = ".backups";

/// What a unit's folder holds compared with its stub.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Files whose contents differ from the stub's (relative to the unit folder).
    pub modified: Vec<PathBuf>,
    /// Files the stub has and the folder lacks.
    pub missing: Vec<PathBuf>,
    /// Files the folder has and the stub does not.
    pub added: Vec<PathBuf>,
}

impl Changes {
    /// `true` when the folder is exactly the stub.
    pub fn is_empty(&self) -> bool {
        self.modified.is_empty() && self.missing.is_empty() && self.added.is_empty()
    }

    /// Every changed path, for a message (`src/lib.rs (changed)`).
    pub fn all(&self) -> Vec<String> {
        let path = |p: &PathBuf| p.display().to_string();
        let mut out = Vec::new();
        out.extend(
            self.modified
                .iter()
                .map(|p| t!("reset-changed", path = path(p))),
        );
        out.extend(self.added.iter().map(|p| t!("reset-added", path = path(p))));
        out.extend(
            self.missing
                .iter()
                .map(|p| t!("reset-deleted", path = path(p))),
        );
        out
    }
}

/// What `reset` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The folder was already the stub; nothing was written.
    AlreadyStub,
    /// The folder has changes and `force` was not given; nothing was written.
    Refused(Changes),
    /// The stub is back; the learner's files are in the backup folder.
    Restored {
        /// Where the previous contents went.
        backup: PathBuf,
        /// What differed.
        changes: Changes,
    },
}

/// The stub's files of one unit, relative to its folder.
fn stub_files(root: &Path, unit: &Unit) -> Result<BTreeMap<PathBuf, Vec<u8>>, GraderError> {
    let generated = stubs::generate(root, std::slice::from_ref(&unit.slug))?;
    Ok(generated
        .into_iter()
        .filter_map(|(path, text)| Some((path.strip_prefix(&unit.slug).ok()?.to_owned(), text)))
        .collect())
}

/// How `dir` (a unit's folder in the workspace) differs from the unit's stub.
pub fn changes(root: &Path, unit: &Unit, dir: &Path) -> Result<Changes, GraderError> {
    let stub = stub_files(root, unit)?;
    let mut changes = Changes::default();
    let present = if dir.is_dir() {
        files::list(dir)?
    } else {
        Vec::new()
    };
    for path in &present {
        let relative = path.strip_prefix(dir).unwrap_or(path).to_owned();
        match stub.get(&relative) {
            Some(bytes) if std::fs::read(path).ok().as_deref() == Some(bytes.as_slice()) => {}
            Some(_) => changes.modified.push(relative),
            None => changes.added.push(relative),
        }
    }
    for relative in stub.keys() {
        if !dir.join(relative).is_file() {
            changes.missing.push(relative.clone());
        }
    }
    Ok(changes)
}

/// Restores `unit`'s stub in `workspace` (`exercises/`), as the module doc says.
pub fn reset(
    root: &Path,
    workspace: &Path,
    unit: &Unit,
    force: bool,
) -> Result<Outcome, GraderError> {
    let dir = workspace.join(&unit.slug);
    let changes = changes(root, unit, &dir)?;
    if changes.is_empty() {
        return Ok(Outcome::AlreadyStub);
    }
    if !force {
        return Ok(Outcome::Refused(changes));
    }
    let backup = backup_path(workspace, &unit.slug);
    if dir.is_dir() {
        for path in files::list(&dir)? {
            let relative = path.strip_prefix(&dir).unwrap_or(&path);
            let bytes = std::fs::read(&path).map_err(|source| GraderError::Io {
                path: path.clone(),
                source,
            })?;
            files::write_bytes_if_changed(&backup.join(relative), &bytes)?;
        }
    }
    for (relative, bytes) in stub_files(root, unit)? {
        files::write_bytes_if_changed(&dir.join(relative), &bytes)?;
    }
    for relative in &changes.added {
        files::remove(&dir.join(relative))?;
    }
    Ok(Outcome::Restored { backup, changes })
}

/// `<workspace>/.backups/<slug>-<YYYYMMDD-HHMMSS>` (UTC), with a counter
/// when that exists already.
fn backup_path(workspace: &Path, slug: &str) -> PathBuf {
    let stamp = utc_stamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    );
    let base = workspace.join(BACKUP_DIR);
    let mut candidate = base.join(format!("{slug}-{stamp}"));
    let mut counter = 2;
    while candidate.exists() {
        candidate = base.join(format!("{slug}-{stamp}-{counter}"));
        counter += 1;
    }
    candidate
}

/// `YYYYMMDD-HHMMSS` for seconds since the Unix epoch, in UTC (the civil
/// calendar from days, Howard Hinnant's algorithm: no date crate needed).
fn utc_stamp(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rest = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_utc_calendar_times() {
        assert_eq!(utc_stamp(0), "19700101-000000");
        // 2026-11-28 15:04:05 UTC
        assert_eq!(utc_stamp(1_795_878_245), "20261128-150405");
        // 2024-02-29 23:59:59 UTC, a leap day
        assert_eq!(utc_stamp(1_709_251_199), "20240229-235959");
    }
}
