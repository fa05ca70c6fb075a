//! Finds Rust code rendered as prose.
//!
//! Rust that reaches the Markdown renderer outside a code block (an include
//! without its fence, a code block whose fence was lost) becomes paragraphs:
//! `Vec<Message>` loses its `<Message>` to the HTML parser and `&mut self` reads as
//! text. The page still renders, so only reading the output finds it. Each line of
//! a paragraph's text is matched against the shapes a line of Rust has and prose
//! does not (a line of prose that starts with "use the …" is no `use a::b;`).

use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use crate::ProblemKind;

/// A paragraph: mdBook renders `<p>` without attributes.
static PARAGRAPH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)<p>(.*?)</p>").expect("the paragraph pattern is valid"));

/// Inline code: prose that names `fn connect(…)` at the start of a line is prose.
static INLINE_CODE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)<code>.*?</code>").expect("the code pattern is valid"));

/// An HTML tag, removed from a paragraph before its text is read.
static TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"<[^>]*>").expect("the tag pattern is valid"));

/// A line that starts like a Rust item, statement or attribute.
static RUST_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)^(?:
          (?:pub(?:\([^)]*\))?\s+)?(?:const\s+|async\s+|unsafe\s+)*fn\s+\w+\s*[<(]
        | (?:pub(?:\([^)]*\))?\s+)?(?:struct|enum|trait|union)\s+[A-Z]\w*\s*(?:[<{(;]|where\b|$)
        | (?:pub(?:\([^)]*\))?\s+)?type\s+[A-Z]\w*(?:<.*>)?\s*=
        | (?:pub(?:\([^)]*\))?\s+)?(?:const|static)\s+(?:mut\s+)?[A-Z_][A-Z0-9_]*\s*:
        | (?:pub(?:\([^)]*\))?\s+)?mod\s+\w+\s*[;{]
        | (?:pub(?:\([^)]*\))?\s+)?use\s+[\w:]+::.*;\s*$
        | impl\b.*\{\s*$
        | \#!?\[\w+
        | //[/!]\s
        )",
    )
    .expect("the Rust line pattern is valid")
});

/// Checks the paragraphs of the rendered page `html_file` (shown as `page`).
pub(crate) fn check_page(
    html_file: &Path,
    page: &Path,
    report: &mut impl FnMut(ProblemKind, String),
) {
    let Ok(html) = std::fs::read_to_string(html_file) else {
        return; // the link check reports a page that was not rendered
    };
    let lines = rust_lines(&html);
    let Some(first) = lines.first() else {
        return;
    };
    let more = match lines.len() {
        1 => String::new(),
        2 => " and 1 more line".to_owned(),
        n => format!(" and {} more lines", n - 1),
    };
    report(
        ProblemKind::RustInParagraph,
        format!(
            "{}: paragraphs hold Rust, e.g. `{first}`{more}; code belongs in a fenced \
             block (is an `{{{{#include}}}}` of a .rs file missing its ```rust,ignore fence?)",
            page.display()
        ),
    );
}

/// The lines of the page's paragraphs that look like Rust, as text.
fn rust_lines(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for captures in PARAGRAPH.captures_iter(crate::links::main_content(html)) {
        let Some(inner) = captures.get(1) else {
            continue;
        };
        let text = INLINE_CODE.replace_all(inner.as_str(), "(code)");
        let text = TAG.replace_all(&text, "");
        for line in text.lines() {
            let line = unescape(line.trim());
            if RUST_LINE.is_match(&line) {
                found.push(line);
            }
        }
    }
    found
}

/// Undoes the entities mdBook's renderer writes in text.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_lines_in_paragraphs_are_found() {
        let html = "<p>pub struct Centre {\n    inner: Vec&lt;Toast&gt;,\n}\nimpl Centre {\n\
                    pub fn notify(&amp;mut self) -&gt; u32 {</p>\n\
                    <p>#[derive(Debug, Clone)]\npub enum Level {</p>\n\
                    <p>/// The sink.\nuse std::time::Duration;\n\
                    pub async fn run(self) {}\nfn helper&lt;T&gt;() {}</p>\n\
                    <p>pub const MAX_TOASTS: usize = 3;</p>";
        assert_eq!(
            rust_lines(html),
            [
                "pub struct Centre {",
                "impl Centre {",
                "pub fn notify(&mut self) -> u32 {",
                "#[derive(Debug, Clone)]",
                "pub enum Level {",
                "/// The sink.",
                "use std::time::Duration;",
                "pub async fn run(self) {}",
                "fn helper<T>() {}",
                "pub const MAX_TOASTS: usize = 3;",
            ]
        );
    }

    #[test]
    fn prose_and_code_blocks_are_not_rust_lines() {
        let html = "<p>use the <code>select!</code> macro, then\nimplement the trait; \
                    a <code>pub fn</code> is public.\nfn keys in a struct are fine.\n\
                    <code>fn connect(url)</code> takes a URL;\n\
                    type a message and press Enter.\nenum values, struct fields and\n\
                    impl blocks are explained below.\n# Heading-like text</p>\n\
                    <pre><code class=\"language-rust\">pub fn connect() {}\nimpl A {\n</code></pre>";
        assert_eq!(rust_lines(html), Vec::<String>::new());
    }
}
