//! `grading.toml`: the points and visibility of every check, in one file.
//!
//! The course's defaults are in each unit's `unit.toml`. An instructor
//! changes them for a class in one place, the `grading.toml` at the top of a
//! private test pack (`cargo grade --tests DIR`); `cargo grade
//! tests-template DIR` writes it with the course's values:
//!
//! ```toml
//! ["01-connection"]
//! echo_text_round_trip = { points = 7, visibility = "visible" }
//! close_sends_1000_and_waits_for_the_reply = { points = 11, visibility = "hidden" }
//! ```
//!
//! A check it does not list keeps the values of its `unit.toml` (the
//! pack's, when the pack has the unit, else the course's). `visibility`
//! is what the learner sees of a result: `visible` shows the check's
//! message and output, `hidden` only its name, points and hint. It does not
//! move the check's code: a visible check's code ships with the exercise.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use serde::Deserialize;

use crate::units::{Unit, Visibility};
use crate::{GraderError, files};

/// The file's name, at the top of a test pack.
pub const FILE: &str = "grading.toml";

/// What `grading.toml` may say about one check.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckGrading {
    points: Option<u32>,
    visibility: Option<Visibility>,
}

/// Applies the `grading.toml` at `path` to `units`: every entry must name a
/// unit and one of its checks, and give it at least one point. On an error
/// nothing is applied.
pub fn apply(units: &mut [Unit], path: &Path) -> Result<(), GraderError> {
    let error = |message: String| GraderError::UnitToml {
        path: path.to_owned(),
        message,
    };
    let table: BTreeMap<String, BTreeMap<String, CheckGrading>> =
        toml::from_str(&files::read(path)?).map_err(|e| error(e.to_string()))?;
    // Every entry is checked before any is applied.
    let mut changes = Vec::new();
    for (slug, checks) in table {
        let Some(u) = units.iter().position(|unit| unit.slug == slug) else {
            let known: Vec<&str> = units.iter().map(|unit| unit.slug.as_str()).collect();
            return Err(error(format!(
                "[\"{slug}\"] is not a unit of the course; the units are: {}",
                known.join(", ")
            )));
        };
        let unit = &units[u];
        for (id, grading) in checks {
            let Some(c) = unit.checks.iter().position(|check| check.id == id) else {
                let known: Vec<&str> = unit.checks.iter().map(|c| c.id.as_str()).collect();
                return Err(error(format!(
                    "[\"{slug}\"] {id}: {slug} has no such check; its checks are: {}",
                    known.join(", ")
                )));
            };
            if grading.points == Some(0) {
                return Err(error(format!(
                    "[\"{slug}\"] {id}: points must be at least 1 (to drop a check, \
                     remove it from the pack's {slug}/unit.toml)"
                )));
            }
            changes.push((u, c, grading));
        }
    }
    for (u, c, grading) in changes {
        let check = &mut units[u].checks[c];
        if let Some(points) = grading.points {
            check.points = points;
        }
        if grading.visibility.is_some() {
            check.shown = grading.visibility;
        }
    }
    Ok(())
}

/// A `grading.toml` that lists every check of `units` with its current
/// points and visibility: applied as it is, it changes nothing.
pub fn template(units: &[&Unit]) -> String {
    let mut out = String::from(
        "# Points and visibility of every check, in one file (the course's values).\n\
         # Change them here; a check left out keeps the values of its unit.toml.\n\
         # visibility: \"visible\" shows the learner the check's message and output,\n\
         # \"hidden\" only its name, points and hint.\n",
    );
    for unit in units {
        let _ = write!(
            out,
            "\n# {}: {}\n[\"{}\"]\n",
            unit.id, unit.title, unit.slug
        );
        for check in &unit.checks {
            let _ = writeln!(
                out,
                "{} = {{ points = {}, visibility = \"{}\" }}",
                check.id,
                check.points,
                check.visibility().target()
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The units module's test unit (one visible check, `echo_text`, worth
    /// 3) and a hidden check worth 4.
    fn units() -> Vec<Unit> {
        let text = format!(
            "{}\n[[check]]\nid = \"close\"\nfile = \"hidden\"\npoints = 4\n\
             covers = [\"echo\"]\nsection = \"task-3\"\nhint = \"Wait for the reply.\"\n",
            crate::units::tests::GOOD
        );
        vec![toml::from_str(&text).expect("the test unit parses")]
    }

    fn apply_text(units: &mut [Unit], text: &str) -> Result<(), String> {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join(FILE);
        std::fs::write(&path, text).expect("grading.toml is written");
        apply(units, &path).map_err(|error| error.to_string())
    }

    #[test]
    fn points_and_visibility_are_replaced_and_the_rest_kept() {
        let mut units = units();
        let text = "[\"01-connection\"]\necho_text = { points = 9, visibility = \"hidden\" }\n";
        apply_text(&mut units, text).expect("applies");
        let [echo, close] = &units[0].checks[..] else {
            panic!("two checks")
        };
        assert_eq!((echo.points, echo.visibility()), (9, Visibility::Hidden));
        assert_eq!(echo.file, Visibility::Visible, "the code stays where it is");
        assert_eq!((close.points, close.visibility()), (4, Visibility::Hidden));
        assert_eq!(units[0].max_score(), 13);
    }

    #[test]
    fn the_template_changes_nothing() {
        let mut units = units();
        units[0].checks[1].points = 6;
        let text = template(&units.iter().collect::<Vec<_>>());
        assert!(
            text.contains("close = { points = 6, visibility = \"hidden\" }"),
            "{text}"
        );
        let before: Vec<_> = units[0]
            .checks
            .iter()
            .map(|c| (c.points, c.visibility()))
            .collect();
        apply_text(&mut units, &text).expect("the template applies");
        let after: Vec<_> = units[0]
            .checks
            .iter()
            .map(|c| (c.points, c.visibility()))
            .collect();
        assert_eq!(before, after);
    }

    #[test]
    fn mistakes_are_named_with_what_is_valid() {
        let cases = [
            (
                "[\"01-conection\"]\necho_text = { points = 2 }\n",
                "01-conection\"] is not a unit of the course; the units are: 01-connection",
            ),
            (
                "[\"01-connection\"]\necho = { points = 2 }\n",
                "echo: 01-connection has no such check; its checks are: echo_text, close",
            ),
            (
                "[\"01-connection\"]\nclose = { points = 5 }\necho_text = { points = 0 }\n",
                "echo_text: points must be at least 1",
            ),
            (
                "[\"01-connection\"]\necho_text = { ponits = 2 }\n",
                "unknown field `ponits`",
            ),
            (
                "[\"01-connection\"]\necho_text = { visibility = \"secret\" }\n",
                "unknown variant `secret`",
            ),
            (
                "[\"01-connection\"]\necho_text = { points = -1 }\n",
                "line 2",
            ),
        ];
        for (text, expected) in cases {
            let mut units = units();
            let error = apply_text(&mut units, text).expect_err(text);
            assert!(error.contains(expected), "{text}\n→ {error}");
            assert!(error.contains(FILE), "the error names the file: {error}");
            assert_eq!(units[0].max_score(), 7, "nothing applied before the error");
        }
    }
}
