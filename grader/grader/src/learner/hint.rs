//! `cargo grade hint [NN]`: the unit's next hint, one at a time.
//!
//! Hints come from `grader/units/NN-name/hints.toml` (read by
//! [`book::hints`], which also puts them in the chapter), from gentle to
//! specific. How many were shown is remembered in the progress file, so the
//! next call shows the next one; `--reset` starts over.

use std::fmt::Write;
use std::path::Path;

use crate::GraderError;
use crate::l10n::t;
use crate::learner::progress::Progress;
use crate::units::Unit;

/// Shows the next unseen hint of `unit` and remembers it; after the last
/// one, says so (and shows the last one again).
pub fn next(root: &Path, workspace: &Path, unit: &Unit) -> Result<String, GraderError> {
    let hints = load(root, unit)?;
    let mut progress = Progress::load(workspace);
    let entry = progress.units.entry(unit.slug.clone()).or_default();
    let index = entry.hints_seen.min(hints.len().saturating_sub(1));
    let all_seen = entry.hints_seen >= hints.len();
    entry.hints_seen = (index + 1).max(entry.hints_seen);
    progress.save(workspace)?;

    let hint = &hints[index];
    let title = crate::l10n::book_text(&unit.title);
    let mut out = String::new();
    let heading = match hint.task.as_deref() {
        Some(task) => t!(
            "hint-heading-task",
            index = index + 1,
            total = hints.len(),
            unit = &unit.id,
            title = &title,
            task = crate::l10n::book_task(task)
        ),
        None => t!(
            "hint-heading",
            index = index + 1,
            total = hints.len(),
            unit = &unit.id,
            title = &title
        ),
    };
    let _ = writeln!(out, "{heading}\n");
    for line in crate::l10n::book_text(hint.text.trim()).lines() {
        let _ = writeln!(out, "  {line}");
    }
    let _ = writeln!(out);
    if all_seen || index + 1 == hints.len() {
        let _ = writeln!(
            out,
            "{}",
            t!("hint-last", chapter = &unit.chapter, unit = &unit.id)
        );
    } else {
        let _ = writeln!(out, "{}", t!("hint-more", unit = &unit.id));
    }
    Ok(out)
}

/// Forgets which hints of `unit` were seen.
pub fn reset(workspace: &Path, unit: &Unit) -> Result<String, GraderError> {
    let mut progress = Progress::load(workspace);
    if let Some(entry) = progress.units.get_mut(&unit.slug) {
        entry.hints_seen = 0;
    }
    progress.save(workspace)?;
    Ok(format!("{}\n", t!("hint-reset", unit = &unit.id)))
}

fn load(root: &Path, unit: &Unit) -> Result<Vec<book::hints::Hint>, GraderError> {
    book::hints::load(root, &unit.slug).map_err(|error| GraderError::Process(error.to_string()))
}
