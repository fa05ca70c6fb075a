//! Follows the relative links of rendered pages.
//!
//! Only the page's content (`<main>` … `</main>`) is checked: the theme's own
//! links (sidebar, scripts, styles) are mdBook's business. A link is resolved
//! against the page's directory in the output; it must name a file there (a
//! directory counts when it has an `index.html`), and a `#fragment` must be the
//! `id` of an element of the target page.

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use crate::ProblemKind;

/// `href="…"` and `src="…"` attributes (mdBook writes double quotes).
static LINK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\s(?:href|src)\s*=\s*"([^"]*)""#).expect("the link pattern is valid")
});

/// `id="…"` attributes: headings, footnotes, any element a fragment can name.
static ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"\sid\s*=\s*"([^"]*)""#).expect("the id pattern is valid"));

/// A URL scheme (`https:`, `mailto:`, `ws:` …): not a file of the book.
static SCHEME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-zA-Z][a-zA-Z0-9+.-]*:").expect("the scheme pattern is valid")
});

/// Checks pages of one built book, remembering the ids of pages it has read.
pub(crate) struct LinkChecker {
    dest: PathBuf,
    ids: HashMap<PathBuf, Option<HashSet<String>>>,
}

impl LinkChecker {
    /// A checker for the book built into `dest`.
    pub(crate) fn new(dest: &Path) -> Self {
        LinkChecker {
            dest: dest.to_path_buf(),
            ids: HashMap::new(),
        }
    }

    /// Checks the links of `page` (relative to the output directory).
    pub(crate) fn check_page(&mut self, page: &Path, report: &mut impl FnMut(ProblemKind, String)) {
        let Ok(html) = std::fs::read_to_string(self.dest.join(page)) else {
            report(
                ProblemKind::BrokenLink,
                format!("the page {} was not rendered", page.display()),
            );
            return;
        };
        let page_dir = page.parent().unwrap_or(Path::new(""));
        for captures in LINK.captures_iter(main_content(&html)) {
            let Some(raw) = captures.get(1).map(|m| m.as_str()) else {
                continue;
            };
            let link = decode(raw);
            if link.is_empty() || SCHEME.is_match(&link) || link.starts_with('/') {
                continue; // external, or served by the server rather than the book
            }
            let (path_part, fragment) = match link.split_once('#') {
                Some((path, fragment)) => (path, Some(fragment)),
                None => (link.as_str(), None),
            };
            let path_part = path_part.split('?').next().unwrap_or("");
            let target = if path_part.is_empty() {
                page.to_path_buf()
            } else {
                match normalize(&page_dir.join(path_part)) {
                    Some(target) => target,
                    None => {
                        report(
                            ProblemKind::BrokenLink,
                            format!("`{raw}` points outside the book"),
                        );
                        continue;
                    }
                }
            };
            let Some(target) = self.existing(&target) else {
                report(
                    ProblemKind::BrokenLink,
                    format!("`{raw}`: {} is not in the built book", target.display()),
                );
                continue;
            };
            let Some(fragment) = fragment.filter(|fragment| !fragment.is_empty()) else {
                continue;
            };
            if let Some(ids) = self.ids_of(&target)
                && !ids.contains(fragment)
            {
                report(
                    ProblemKind::MissingAnchor,
                    format!("`{raw}`: {} has no id `{fragment}`", target.display()),
                );
            }
        }
    }

    /// The file a resolved link serves, if it exists (a directory serves its `index.html`).
    fn existing(&self, target: &Path) -> Option<PathBuf> {
        let full = self.dest.join(target);
        if full.is_file() {
            Some(target.to_path_buf())
        } else if full.join("index.html").is_file() {
            Some(target.join("index.html"))
        } else {
            None
        }
    }

    /// The ids in an HTML page; `None` for files that are not HTML (their
    /// fragments, such as a PDF page, are not ours to check).
    fn ids_of(&mut self, target: &Path) -> Option<&HashSet<String>> {
        let dest = &self.dest;
        self.ids
            .entry(target.to_path_buf())
            .or_insert_with(|| {
                let is_html = target
                    .extension()
                    .is_some_and(|ext| ext.eq_ignore_ascii_case("html"));
                if !is_html {
                    return None;
                }
                let html = std::fs::read_to_string(dest.join(target)).ok()?;
                Some(ids_in(&html))
            })
            .as_ref()
    }
}

/// The `id`s of the elements of an HTML page.
pub(crate) fn ids_in(html: &str) -> HashSet<String> {
    ID.captures_iter(html)
        .filter_map(|c| c.get(1).map(|m| decode(m.as_str())))
        .collect()
}

/// The part of a page mdBook renders from the chapter (the whole page if the theme
/// has no `<main>`).
pub(crate) fn main_content(html: &str) -> &str {
    let Some(start) = html.find("<main") else {
        return html;
    };
    let end = html[start..]
        .find("</main>")
        .map_or(html.len(), |end| start + end);
    &html[start..end]
}

/// Undoes the HTML entity and percent encoding a URL or id may carry in an attribute.
fn decode(attribute: &str) -> String {
    let unescaped = attribute
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    percent_decode(&unescaped)
}

/// Decodes `%XX` sequences; leaves anything that is not valid UTF-8 afterwards as it was.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_owned())
}

/// Resolves `.` and `..` without touching the file system; `None` when the path
/// climbs above the output directory.
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_undoes_entities_and_percent_escapes() {
        assert_eq!(decode("a%20b.html?x=1&amp;y=2"), "a b.html?x=1&y=2");
        assert_eq!(decode("caf%C3%A9"), "café");
        assert_eq!(decode("100%"), "100%");
    }

    #[test]
    fn normalizing_stays_inside_the_book() {
        assert_eq!(
            normalize(Path::new("a/./b/../c.html")),
            Some(PathBuf::from("a/c.html"))
        );
        assert_eq!(normalize(Path::new("../x.html")), None);
    }

    #[test]
    fn only_the_main_content_is_checked() {
        let html = r#"<a href="theme.html"></a><main><a href="x.html"></a></main><a href="y"></a>"#;
        let links: Vec<&str> = LINK
            .captures_iter(main_content(html))
            .filter_map(|c| c.get(1).map(|m| m.as_str()))
            .collect();
        assert_eq!(links, ["x.html"]);
    }
}
