//! A unit's hints: `grader/units/NN-name/hints.toml`, the one source for
//! `cargo grade hint NN` and for the chapter's "show hint" toggles.
//!
//! ```toml
//! [[hint]]
//! task = "Task 1"          # optional: the task it helps with
//! text = '''
//! `tokio::time::timeout` …  (Markdown)
//! '''
//! ```
//!
//! Hints are listed from gentle to specific. A chapter asks for them with
//! `{{#hints NN}}` (on a line of its own); [`expand`] replaces the directive
//! with one `<details>` toggle per hint before mdBook renders the page, so
//! the book and the grader never hold two copies of a hint.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;
use serde::Deserialize;

/// The fewest hints a unit has: one gentle, one closer, one specific.
pub const MIN_HINTS: usize = 3;

/// One hint.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hint {
    /// The task it helps with, as the chapter names it (`Task 1`).
    #[serde(default)]
    pub task: Option<String>,
    /// The hint, in Markdown.
    pub text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HintsFile {
    #[serde(rename = "hint", default)]
    hints: Vec<Hint>,
}

/// Why a unit's hints could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HintsError {
    /// No unit folder starts with the id.
    #[error("no unit {0:?} in grader/units/")]
    UnknownUnit(String),
    /// The file is missing or unreadable.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid `hints.toml`.
    #[error("{}: {message}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// `grader/units/<slug>/hints.toml` under the repository root.
pub fn path(root: &Path, slug: &str) -> PathBuf {
    root.join("grader")
        .join("units")
        .join(slug)
        .join("hints.toml")
}

/// Reads the hints of the unit with folder `slug`. A unit has at least
/// [`MIN_HINTS`], each with some text.
pub fn load(root: &Path, slug: &str) -> Result<Vec<Hint>, HintsError> {
    let path = path(root, slug);
    let text = std::fs::read_to_string(&path).map_err(|source| HintsError::Io {
        path: path.clone(),
        source,
    })?;
    let file: HintsFile = toml::from_str(&text).map_err(|error| HintsError::Format {
        path: path.clone(),
        message: error.to_string(),
    })?;
    if file.hints.len() < MIN_HINTS {
        return Err(HintsError::Format {
            path,
            message: format!(
                "a unit needs at least {MIN_HINTS} hints, from gentle to specific; found {}",
                file.hints.len()
            ),
        });
    }
    if let Some(index) = file.hints.iter().position(|h| h.text.trim().is_empty()) {
        return Err(HintsError::Format {
            path,
            message: format!("hint {} has no text", index + 1),
        });
    }
    Ok(file.hints)
}

/// The folder name of unit `id` (`01` → `01-connection`), found in `grader/units/`.
pub fn slug_of(root: &Path, id: &str) -> Result<String, HintsError> {
    let units = root.join("grader").join("units");
    let entries = std::fs::read_dir(&units).map_err(|source| HintsError::Io {
        path: units.clone(),
        source,
    })?;
    let prefix = format!("{id}-");
    let mut found: Vec<String> = entries
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with(&prefix) || name == id)
        .collect();
    found.sort();
    found
        .into_iter()
        .next()
        .ok_or_else(|| HintsError::UnknownUnit(id.to_owned()))
}

/// `{{#hints NN}}` on a line of its own.
static DIRECTIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^\{\{#hints\s+([A-Za-z0-9-]+)\s*\}\}[ \t]*$")
        .expect("the hints directive pattern is valid")
});

/// Replaces every `{{#hints NN}}` in `content` with the unit's hints as
/// "show hint" toggles. A directive whose hints cannot be read becomes a
/// visible note and an error in the returned list.
pub fn expand(content: &str, root: &Path) -> (String, Vec<String>) {
    expand_labelled(content, root, "Show hint")
}

/// [`expand`], with the toggles' label in another language (`显示提示`).
pub fn expand_labelled(content: &str, root: &Path, show: &str) -> (String, Vec<String>) {
    let mut errors = Vec::new();
    let expanded = DIRECTIVE.replace_all(content, |captures: &regex::Captures<'_>| {
        let id = &captures[1];
        match slug_of(root, id).and_then(|slug| load(root, &slug)) {
            Ok(hints) => render_labelled(id, &hints, show),
            Err(error) => {
                let message = format!("{{{{#hints {id}}}}}: {error}");
                errors.push(message.clone());
                format!("\n> **Hints missing:** {message}\n")
            }
        }
    });
    (expanded.into_owned(), errors)
}

/// The toggles: hints grouped under their task, numbered within it, each
/// closed until the reader opens it.
pub fn render(id: &str, hints: &[Hint]) -> String {
    render_labelled(id, hints, "Show hint")
}

/// [`render`], with the toggles' label in another language.
pub fn render_labelled(id: &str, hints: &[Hint], show: &str) -> String {
    let mut out = format!("<div class=\"wsw-hints\" data-unit=\"{id}\">\n");
    let mut task: Option<&str> = None;
    let mut number = 0;
    for (index, hint) in hints.iter().enumerate() {
        if index == 0 || hint.task.as_deref() != task {
            task = hint.task.as_deref();
            number = 0;
            if let Some(name) = task {
                out.push_str(&format!("\n**{name}.**\n"));
            }
        }
        number += 1;
        out.push_str(&format!(
            "\n<details class=\"wsw-hint\"><summary>{show} {number}</summary>\n\n{}\n\n</details>\n",
            hint.text.trim()
        ));
    }
    out.push_str("\n</div>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hint(task: Option<&str>, text: &str) -> Hint {
        Hint {
            task: task.map(str::to_owned),
            text: text.to_owned(),
        }
    }

    #[test]
    fn hints_are_grouped_by_task_and_numbered_within_it() {
        let html = render(
            "01",
            &[
                hint(Some("Task 1"), "gentle"),
                hint(Some("Task 1"), "closer"),
                hint(Some("Task 2"), "specific"),
            ],
        );
        assert_eq!(html.matches("<details").count(), 3, "{html}");
        assert_eq!(html.matches("Show hint 1").count(), 2, "{html}");
        assert!(html.contains("**Task 2.**"), "{html}");
        assert!(html.find("gentle") < html.find("specific"), "{html}");
    }

    #[test]
    fn the_directive_is_replaced_and_a_missing_unit_is_reported() {
        let root = tempfile::tempdir().expect("a temp dir");
        let dir = root.path().join("grader/units/01-connection");
        std::fs::create_dir_all(&dir).expect("create the unit folder");
        std::fs::write(
            dir.join("hints.toml"),
            "[[hint]]\ntext = 'a'\n[[hint]]\ntext = 'b'\n[[hint]]\ntext = 'c'\n",
        )
        .expect("write hints.toml");
        let (text, errors) = expand("before\n{{#hints 01}}\nafter\n", root.path());
        assert!(errors.is_empty(), "{errors:?}");
        assert!(!text.contains("{{#hints"), "{text}");
        assert_eq!(text.matches("<details").count(), 3, "{text}");
        let (text, errors) = expand("{{#hints 09}}\n", root.path());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(text.contains("Hints missing"), "{text}");
    }

    #[test]
    fn fewer_than_three_hints_is_an_error() {
        let root = tempfile::tempdir().expect("a temp dir");
        let dir = root.path().join("grader/units/01-connection");
        std::fs::create_dir_all(&dir).expect("create the unit folder");
        std::fs::write(dir.join("hints.toml"), "[[hint]]\ntext = 'a'\n").expect("write");
        let error = load(root.path(), "01-connection").expect_err("one hint is too few");
        assert!(error.to_string().contains("at least 3"), "{error}");
    }
}
