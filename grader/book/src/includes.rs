//! Resolves `{{#include}}`-style directives in a chapter's Markdown source.
//!
//! mdBook's `links` preprocessor logs an error and leaves the directive in the page
//! when the file is missing, and silently includes nothing when an anchor is
//! unknown. This module follows the same rules (same pattern, same path resolution,
//! same anchor syntax, nested includes relative to the included file) and reports
//! what mdBook would have let through.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use crate::ProblemKind;

/// How deep includes may nest; mdBook's own limit (`MAX_LINK_NESTED_DEPTH`).
const MAX_DEPTH: usize = 10;

/// mdBook's directive pattern (`find_links` in mdbook-driver 0.5): an escaped
/// directive `\{{#…}}`, or `{{#type target props…}}`.
static DIRECTIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        \\\{\{\#.*\}\}
        |
        \{\{\s*
        \#([a-zA-Z0-9_]+)
        \s+
        ([^}]+)
        \}\}",
    )
    .expect("the directive pattern is valid")
});

/// mdBook's anchor start line: `ANCHOR: name`, anywhere in the line.
static ANCHOR_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"ANCHOR:\s*(?P<name>[\w_-]+)").expect("the anchor pattern is valid")
});

/// mdBook's anchor end line: `ANCHOR_END: name`.
static ANCHOR_END: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"ANCHOR_END:\s*(?P<name>[\w_-]+)").expect("the anchor pattern is valid")
});

/// What part of the file a directive takes.
enum Selection {
    /// Lines `start..end` (0-based, end exclusive; `None` = to the end).
    Lines { start: usize, end: Option<usize> },
    /// The lines between `ANCHOR: name` and `ANCHOR_END: name`.
    Anchor(String),
}

/// Checks every directive in `content`, whose relative paths start at `base`.
pub(crate) fn check(content: &str, base: &Path, report: &mut impl FnMut(ProblemKind, String)) {
    check_at_depth(content, base, 0, report);
}

fn check_at_depth(
    content: &str,
    base: &Path,
    depth: usize,
    report: &mut impl FnMut(ProblemKind, String),
) {
    for captures in DIRECTIVE.captures_iter(content) {
        let (Some(kind), Some(rest)) = (captures.get(1), captures.get(2)) else {
            continue; // an escaped directive is shown as text
        };
        let directive = captures.get(0).map_or("", |m| m.as_str());
        let Some(target) = rest.as_str().split_whitespace().next() else {
            continue;
        };
        let (file, selection) = match kind.as_str() {
            "include" | "rustdoc_include" => parse_target(target),
            "playground" | "playpen" => (
                target,
                Selection::Lines {
                    start: 0,
                    end: None,
                },
            ),
            _ => continue, // `{{#title …}}` and unknown directives include nothing
        };
        let path = base.join(file);
        let Ok(text) = std::fs::read_to_string(&path) else {
            report(
                ProblemKind::MissingInclude,
                format!("`{directive}`: {} does not exist", path.display()),
            );
            continue;
        };
        let included = match &selection {
            Selection::Lines { start, end } => {
                let count = end.map_or(usize::MAX, |end| end.saturating_sub(*start));
                let taken: Vec<&str> = text.lines().skip(*start).take(count).collect();
                if taken.is_empty() {
                    report(
                        ProblemKind::EmptyLineRange,
                        format!(
                            "`{directive}`: the range selects no line of {} ({} lines)",
                            path.display(),
                            text.lines().count()
                        ),
                    );
                    continue;
                }
                taken.join("\n")
            }
            Selection::Anchor(name) => match anchored_lines(&text, name) {
                Some(lines) => lines,
                None => {
                    report(
                        ProblemKind::MissingIncludeAnchor,
                        format!(
                            "`{directive}`: no `ANCHOR: {name}` in {} (anchors there: {})",
                            path.display(),
                            anchors_in(&text)
                        ),
                    );
                    continue;
                }
            },
        };
        if depth + 1 < MAX_DEPTH {
            let nested_base = path.parent().map_or_else(PathBuf::new, Path::to_path_buf);
            check_at_depth(&included, &nested_base, depth + 1, report);
        }
    }
}

/// Checks that every include of a `.rs` file in `source` (a chapter as written,
/// shown as `label` in problems) is inside a fenced code block. An include of a
/// Markdown file outside a fence is followed: its own `.rs` includes must be fenced
/// too. Outside a fence, mdBook pastes the Rust into the page as Markdown, where it
/// becomes paragraphs and `<T>` becomes an unknown HTML tag.
pub(crate) fn check_fences(
    source: &str,
    label: &Path,
    base: &Path,
    report: &mut impl FnMut(ProblemKind, String),
) {
    fences_at_depth(source, &label.display().to_string(), base, 0, report);
}

fn fences_at_depth(
    source: &str,
    label: &str,
    base: &Path,
    depth: usize,
    report: &mut impl FnMut(ProblemKind, String),
) {
    let mut fence: Option<Fence> = None;
    for (index, line) in source.lines().enumerate() {
        match &fence {
            Some(open) => {
                if open.is_closed_by(line) {
                    fence = None;
                }
                continue;
            }
            None => {
                if let Some(open) = Fence::opened_by(line) {
                    fence = Some(open);
                    continue;
                }
            }
        }
        for captures in DIRECTIVE.captures_iter(line) {
            let (Some(kind), Some(rest)) = (captures.get(1), captures.get(2)) else {
                continue; // escaped: shown as text
            };
            if !matches!(
                kind.as_str(),
                "include" | "rustdoc_include" | "playground" | "playpen"
            ) {
                continue;
            }
            let directive = captures.get(0).map_or("", |m| m.as_str());
            let Some(target) = rest.as_str().split_whitespace().next() else {
                continue;
            };
            let (file, _) = parse_target(target);
            let extension = Path::new(file)
                .extension()
                .and_then(|ext| ext.to_str())
                .unwrap_or("");
            let line_number = index + 1;
            if extension.eq_ignore_ascii_case("rs") {
                report(
                    ProblemKind::IncludeOutsideFence,
                    format!(
                        "{label}:{line_number}: `{directive}` is not inside a fenced code block, \
                         so its Rust renders as paragraphs; put a line ```rust,ignore before \
                         it and a line ``` after it"
                    ),
                );
            } else if extension.eq_ignore_ascii_case("md") && depth + 1 < MAX_DEPTH {
                let path = base.join(file);
                if let Ok(text) = std::fs::read_to_string(&path) {
                    let nested_base = path.parent().map_or_else(PathBuf::new, Path::to_path_buf);
                    let nested_label = format!("{label}:{line_number} → {}", path.display());
                    fences_at_depth(&text, &nested_label, &nested_base, depth + 1, report);
                }
            }
        }
    }
}

/// An open fenced code block: its character (`` ` `` or `~`) and run length.
struct Fence {
    marker: char,
    length: usize,
}

impl Fence {
    /// The fence a line opens, if it is an opening fence (CommonMark: three or more
    /// backticks or tildes; a backtick fence's info string has no backtick). Any
    /// indentation is accepted, for fences inside list items.
    fn opened_by(line: &str) -> Option<Fence> {
        let trimmed = line.trim_start();
        let marker = trimmed.chars().next().filter(|c| *c == '`' || *c == '~')?;
        let length = trimmed.chars().take_while(|c| *c == marker).count();
        let info = &trimmed[length * marker.len_utf8()..];
        (length >= 3 && !(marker == '`' && info.contains('`'))).then_some(Fence { marker, length })
    }

    /// Whether `line` closes this fence: the same character, at least as many, nothing after.
    fn is_closed_by(&self, line: &str) -> bool {
        let trimmed = line.trim();
        let length = trimmed.chars().take_while(|c| *c == self.marker).count();
        length >= self.length && length * self.marker.len_utf8() == trimmed.len()
    }
}

/// Splits `file:range-or-anchor` like mdBook does: `file`, `file:name`, `file:3`,
/// `file:3:7`, `file:3:`, `file::7` (line numbers count from 1, the end is inclusive).
fn parse_target(target: &str) -> (&str, Selection) {
    let mut parts = target.splitn(2, ':');
    let file = parts.next().unwrap_or(target);
    let mut range = parts.next().unwrap_or("").splitn(3, ':');
    let first = range.next();
    let start = match first {
        Some("") | None => None,
        Some(text) => match text.parse::<usize>() {
            Ok(line) => Some(line.saturating_sub(1)),
            Err(_) => return (file, Selection::Anchor(text.to_owned())),
        },
    };
    let end = range.next().map(str::parse::<usize>);
    let selection = match (start, end) {
        (Some(start), Some(Ok(end))) => Selection::Lines {
            start,
            end: Some(end),
        },
        (Some(start), Some(Err(_))) => Selection::Lines { start, end: None },
        (Some(start), None) => Selection::Lines {
            start,
            end: Some(start + 1),
        },
        (None, Some(Ok(end))) => Selection::Lines {
            start: 0,
            end: Some(end),
        },
        (None, _) => Selection::Lines {
            start: 0,
            end: None,
        },
    };
    (file, selection)
}

/// The lines between `ANCHOR: name` and its `ANCHOR_END` (to the end of the file if
/// it has none), without other anchor lines; `None` when the anchor is not there.
fn anchored_lines(text: &str, name: &str) -> Option<String> {
    let mut lines = text.lines();
    lines.find(|line| {
        ANCHOR_START
            .captures(line)
            .is_some_and(|c| &c["name"] == name)
    })?;
    let taken: Vec<&str> = lines
        .take_while(|line| ANCHOR_END.captures(line).is_none_or(|c| &c["name"] != name))
        .filter(|line| !ANCHOR_START.is_match(line) && !ANCHOR_END.is_match(line))
        .collect();
    Some(taken.join("\n"))
}

/// The anchor names in a file, for the problem's detail.
fn anchors_in(text: &str) -> String {
    let names: Vec<&str> = ANCHOR_START
        .captures_iter(text)
        .filter_map(|c| c.name("name").map(|m| m.as_str()))
        .collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(content: &str, base: &Path) -> Vec<(ProblemKind, String)> {
        let mut found = Vec::new();
        check(content, base, &mut |kind, detail| {
            found.push((kind, detail))
        });
        found
    }

    fn fence_problems(source: &str, base: &Path) -> Vec<String> {
        let mut found = Vec::new();
        check_fences(source, Path::new("ch.md"), base, &mut |kind, detail| {
            assert_eq!(kind, ProblemKind::IncludeOutsideFence);
            found.push(detail);
        });
        found
    }

    #[test]
    fn rust_includes_must_be_fenced() {
        let dir = tempfile::tempdir().expect("temp dir");
        let fenced = "# T\n\n```rust,ignore\n{{#include a.rs:api}}\n```\n\n\
                      ~~~~\n```\n{{#include a.rs}}\n~~~~\n\n\
                      - item\n\n  ```rust\n  {{#rustdoc_include a.rs:1:2}}\n  ```\n\n\
                      Shown as text: \\{{#include a.rs}}\n{{#include notes.txt}}\n";
        assert_eq!(fence_problems(fenced, dir.path()), Vec::<String>::new());
        let bare =
            "# T\n\n{{#include a.rs:api}}\n\n```rust\nfn a() {}\n```\n{{#playground b.rs}}\n";
        let found = fence_problems(bare, dir.path());
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].starts_with("ch.md:3: `{{#include a.rs:api}}`"),
            "{found:?}"
        );
        assert!(
            found[1].starts_with("ch.md:8: `{{#playground b.rs}}`"),
            "{found:?}"
        );
    }

    #[test]
    fn an_unclosed_or_mismatched_fence_keeps_its_content_as_code() {
        let dir = tempfile::tempdir().expect("temp dir");
        // A ``` line does not close a ```` fence; a fence with a backtick in its
        // info string is no fence.
        let source = "````md\n```\n{{#include a.rs}}\n````\n``` a`b\n{{#include b.rs}}\n";
        let found = fence_problems(source, dir.path());
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("ch.md:6:"), "{found:?}");
    }

    #[test]
    fn markdown_includes_outside_a_fence_are_followed() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("note.md"), "Text\n\n{{#include a.rs}}\n").expect("write");
        let found = fence_problems("{{#include note.md}}\n", dir.path());
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("ch.md:1 → "), "{found:?}");
        assert!(found[0].contains("note.md:3: "), "{found:?}");
        let found = fence_problems("```text\n{{#include note.md}}\n```\n", dir.path());
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn escaped_and_title_directives_are_not_includes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let found = problems(
            "\\{{#include nowhere.rs}}\n{{#title A title}}\n",
            dir.path(),
        );
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn targets_parse_like_mdbook() {
        assert!(matches!(
            parse_target("a.rs:api").1,
            Selection::Anchor(name) if name == "api"
        ));
        assert!(matches!(
            parse_target("a.rs:2:4").1,
            Selection::Lines {
                start: 1,
                end: Some(4)
            }
        ));
        assert!(matches!(
            parse_target("a.rs:3").1,
            Selection::Lines {
                start: 2,
                end: Some(3)
            }
        ));
        assert!(matches!(
            parse_target("a.rs::5").1,
            Selection::Lines {
                start: 0,
                end: Some(5)
            }
        ));
        assert!(matches!(
            parse_target("a.rs:2:").1,
            Selection::Lines {
                start: 1,
                end: None
            }
        ));
        assert_eq!(parse_target("a.rs").0, "a.rs");
    }

    #[test]
    fn anchors_need_their_start_line_only() {
        let text = "x\n// ANCHOR: api\nfn a() {}\n// ANCHOR: inner\nfn b() {}\n// ANCHOR_END: inner\n// ANCHOR_END: api\ny\n// ANCHOR: open\nz";
        assert_eq!(
            anchored_lines(text, "api").as_deref(),
            Some("fn a() {}\nfn b() {}")
        );
        assert_eq!(anchored_lines(text, "open").as_deref(), Some("z"));
        assert_eq!(anchored_lines(text, "ap"), None);
        assert_eq!(anchors_in(text), "api, inner, open");
    }

    #[test]
    fn nested_includes_resolve_from_the_included_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        std::fs::write(
            dir.path().join("sub/outer.md"),
            "{{#include inner.md}}\n{{#include gone.md}}\n",
        )
        .expect("write outer");
        std::fs::write(dir.path().join("sub/inner.md"), "hello\n").expect("write inner");
        let found = problems("{{#include sub/outer.md}}", dir.path());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, ProblemKind::MissingInclude);
        assert!(found[0].1.contains("gone.md"), "{found:?}");
    }
}
