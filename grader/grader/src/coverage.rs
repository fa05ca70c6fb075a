//! `cargo grade --coverage`: every graded behaviour of the syllabus and
//! the checks that cover it, so a gap shows at a glance.

use std::fmt::Write;

use crate::units::Unit;

/// Renders the coverage table of `units`; behaviours without a check are
/// marked `MISSING`.
pub fn render(units: &[Unit]) -> String {
    let mut out = String::new();
    for unit in units {
        let _ = writeln!(
            out,
            "{} {} ({} points)",
            unit.id,
            unit.title,
            unit.max_score()
        );
        for behaviour in &unit.behaviours {
            let checks: Vec<String> = unit
                .checks
                .iter()
                .filter(|check| check.covers.contains(&behaviour.id))
                .map(|check| format!("{} [{}]", check.id, check.file.target()))
                .collect();
            let mark = if checks.is_empty() { "MISSING" } else { "ok" };
            let _ = writeln!(out, "  {mark:<7} {}: {}", behaviour.id, behaviour.text);
            for check in checks {
                let _ = writeln!(out, "            └ {check}");
            }
        }
        for problem in unit.problems() {
            let _ = writeln!(out, "  problem: {problem}");
        }
        out.push('\n');
    }
    out
}

/// Whether every behaviour of every unit is covered and the data is consistent.
pub fn complete(units: &[Unit]) -> bool {
    units.iter().all(|unit| unit.problems().is_empty())
}
