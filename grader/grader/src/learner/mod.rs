//! The learner's side of `cargo grade`: what it remembers, and the commands
//! a learner uses between two gradings.
//!
//! * [`progress`]: the last result per unit and the hints seen, in
//!   `exercises/.progress.toml` (ignored by git); the course's progress bar.
//! * [`hint`]: `cargo grade hint NN`, one hint at a time.
//! * [`reset`]: `cargo grade reset NN`, the stub back, the learner's code in a backup.
//! * [`watch`]: `cargo grade watch`, the visible checks on every save.
//! * [`explain`]: short explanations of compile errors, panics and timeouts.
//!
//! The functions below are what `main.rs` calls: each returns the text to
//! print, in the [current](crate::l10n::current) language, so the command
//! line stays thin and the tests can call them.

pub mod explain;
pub mod hint;
pub mod progress;
pub mod reset;
pub mod watch;

use std::fmt::Write;
use std::path::Path;

use crate::l10n::{self, t};
use crate::units::{self, COURSE, Unit};
use crate::{GraderError, report::Report};
use progress::Progress;

/// Finds the unit the learner named, or, with none, the first unit that
/// has not passed yet.
pub fn pick_unit(root: &Path, workspace: &Path, wanted: Option<&str>) -> Result<Unit, GraderError> {
    let all = units::load_all(root)?;
    match wanted {
        Some(wanted) => units::find(&all, wanted)
            .cloned()
            .ok_or_else(|| GraderError::UnknownUnit(wanted.to_owned())),
        None => Progress::load(workspace)
            .first_unfinished(&all)
            .or(all.last())
            .cloned()
            .ok_or_else(|| GraderError::UnknownUnit("(none)".to_owned())),
    }
}

/// `cargo grade list`: every unit of the course with its chapter, its files
/// and its remembered status, then the progress bar.
pub fn list(root: &Path, workspace: &Path) -> Result<String, GraderError> {
    let all = units::load_all(root)?;
    let progress = Progress::load(workspace);
    let mut out = String::new();
    for (slug, title) in COURSE {
        let title = l10n::pad_end(&l10n::book_text(title), 42);
        match all.iter().find(|u| &u.slug == slug) {
            Some(unit) => {
                let entry = progress.unit(slug);
                let status = match entry.status {
                    None if reset::changes(root, unit, &workspace.join(slug))
                        .is_ok_and(|c| c.is_empty()) =>
                    {
                        format!("○ {}", t!("state-not-started"))
                    }
                    _ => progress::status_text(&entry),
                };
                let _ = writeln!(
                    out,
                    "{:<18} {} {} book/{}  exercises/{}/",
                    slug,
                    title,
                    l10n::pad_end(&status, 22),
                    unit.chapter,
                    slug
                );
            }
            None => {
                let _ = writeln!(out, "{slug:<18} {title} {}", t!("list-coming"));
            }
        }
    }
    let _ = writeln!(out, "\n{}", progress::bar(&progress, &all));
    let _ = writeln!(out, "{}", t!("list-serve-note"));
    Ok(out)
}

/// After a grading of the learner's `exercises/`: remember the result and
/// give the course's progress bar.
pub fn after_grading(
    root: &Path,
    workspace: &Path,
    report: &Report,
) -> Result<String, GraderError> {
    let all = units::load_all(root)?;
    let progress = progress::remember(workspace, report);
    Ok(format!("\n{}\n", progress::bar(&progress, &all)))
}

/// `cargo grade reset NN [--force]`: the text to print and whether it
/// did what was asked (`false` when it refused).
pub fn reset_unit(
    root: &Path,
    workspace: &Path,
    wanted: &str,
    force: bool,
) -> Result<(String, bool), GraderError> {
    let unit = pick_unit(root, workspace, Some(wanted))?;
    let shown = |path: &Path| {
        path.strip_prefix(root)
            .unwrap_or(path)
            .display()
            .to_string()
    };
    Ok(match reset::reset(root, workspace, &unit, force)? {
        reset::Outcome::AlreadyStub => (
            format!(
                "{}\n",
                t!("reset-already-stub", slug = &unit.slug, unit = &unit.id)
            ),
            true,
        ),
        reset::Outcome::Refused(changes) => {
            let mut out = format!(
                "{}\n",
                t!("reset-refused", unit = &unit.id, slug = &unit.slug)
            );
            for line in changes.all() {
                let _ = writeln!(out, "  {line}");
            }
            let _ = writeln!(
                out,
                "{}",
                t!(
                    "reset-force",
                    unit = &unit.id,
                    backups = shown(&workspace.join(reset::BACKUP_DIR)),
                    slug = &unit.slug
                )
            );
            (out, false)
        }
        reset::Outcome::Restored { backup, changes } => {
            let mut progress = Progress::load(workspace);
            if let Some(entry) = progress.units.get_mut(&unit.slug) {
                entry.status = Some(progress::Status::NotStarted);
                entry.score = 0;
                entry.passed = 0;
            }
            progress.save(workspace)?;
            let mut out = format!(
                "{}\n",
                t!("reset-saved", unit = &unit.id, backup = shown(&backup))
            );
            let _ = writeln!(
                out,
                "{}",
                t!(
                    "reset-restored",
                    slug = &unit.slug,
                    count = changes.all().len()
                )
            );
            let _ = writeln!(
                out,
                "{}",
                t!("reset-get-back", backup = shown(&backup), slug = &unit.slug)
            );
            (out, true)
        }
    })
}
