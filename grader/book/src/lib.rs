//! Builds the WebSocket Workbook with mdBook and checks what mdBook lets through.
//!
//! # Layout
//!
//! * [`build`] (this file): loads `book.toml`, renders the HTML with mdBook used as a
//!   library (`mdbook-driver`), then runs both checks below and returns a
//!   [`BuildReport`]. `cargo grade serve` calls it, and so does the test
//!   `tests/the_book_builds.rs`.
//! * `includes`: reads each chapter's Markdown source and resolves every
//!   `{{#include}}`, `{{#rustdoc_include}}` and `{{#playground}}` the way mdBook does:
//!   the file must exist, a named anchor must be in it, a line range must select
//!   at least one line.
//! * [`hints`]: each unit's `hints.toml`; `{{#hints NN}}` in a chapter becomes
//!   the unit's "show hint" toggles before mdBook renders it (one source for the
//!   book and `cargo grade hint`).
//!   It also reads the chapter's source line by line: an include of a `.rs` file
//!   must sit inside a fenced code block (```` ```rust,ignore ````), or the Rust
//!   renders as paragraphs of prose, generics and all swallowed as HTML tags.
//! * `prose`: reads each rendered chapter's HTML and reports a paragraph
//!   (`<p>`) that holds a line of Rust (`pub fn`, `impl … {`, `use a::b;`,
//!   `#[derive(…)]` …): whatever put it there, the reader sees mangled code.
//! * `links`: reads each rendered chapter's HTML and follows every relative link
//!   and image in the page's content: the file must be in the output, and a
//!   `#fragment` must name an `id` in the target page.
//!
//! * `references`: [`check_references`] reads each chapter's source for the
//!   check ids (`` `echo_text_round_trip` ``) and chapter sections
//!   (`01-connection.md#task-3-sending`) it names in text, and compares them with
//!   `grader/units/*/unit.toml` and the rendered pages. It is this course's own
//!   check, separate from [`build`], which works for any book.
//!
//! Why check at all: mdBook renders a book with a missing include, an unknown
//! anchor or a link to a missing page, and only logs a warning. A learner would
//! then read a chapter with a hole where the stub's API should be. The checks make
//! such a book a failing test instead.
//!
//! What is *not* checked: external `http(s)://` links (tests have no network),
//! root-relative links such as `/health` (they point at the server that serves the
//! book, not at a file of it), and draft chapters (they have no page yet).

pub mod hints;
mod includes;
pub mod l10n;
mod links;
mod prose;
mod references;

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use mdbook_driver::MDBook;
use mdbook_driver::book::BookItem;
use mdbook_driver::config::Config;

/// What [`build`] found: how many pages it rendered and what is wrong with them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildReport {
    /// Chapters rendered to a page (draft chapters are not counted).
    pub pages: usize,
    /// Everything wrong with the book, in chapter order. Empty means the book is good.
    pub problems: Vec<Problem>,
}

impl BuildReport {
    /// `true` when the book has no problems.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// One thing wrong with one page of the book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The chapter's Markdown source, relative to the book's root (e.g. `book/setup.md`).
    pub page: PathBuf,
    /// What kind of problem it is.
    pub kind: ProblemKind,
    /// The offending directive or link and what it resolved to, for a maintainer.
    pub detail: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.page.display(), self.kind, self.detail)
    }
}

/// The kinds of problem the checks find.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProblemKind {
    /// `{{#include file}}` (or `rustdoc_include`, `playground`) names a file that does not exist.
    MissingInclude,
    /// `{{#include file:name}}` names an anchor that has no `ANCHOR: name` line in the file.
    MissingIncludeAnchor,
    /// `{{#include file:start:end}}` selects no lines (the range is past the end of the file).
    EmptyLineRange,
    /// A relative link or image points at a page or file that is not in the built book.
    BrokenLink,
    /// A link's `#fragment` names no `id` (heading or other element) in the target page.
    MissingAnchor,
    /// `{{#hints NN}}` names a unit whose `hints.toml` is missing or invalid.
    MissingHints,
    /// `{{#include file.rs…}}` outside a fenced code block: the Rust renders as prose.
    IncludeOutsideFence,
    /// A rendered paragraph (`<p>`) holds a line of Rust code.
    RustInParagraph,
    /// The book names a check id that the unit's `unit.toml` does not have.
    UnknownCheck,
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProblemKind::MissingInclude => "missing include",
            ProblemKind::MissingIncludeAnchor => "missing include anchor",
            ProblemKind::EmptyLineRange => "empty include line range",
            ProblemKind::BrokenLink => "broken link",
            ProblemKind::MissingAnchor => "missing link anchor",
            ProblemKind::MissingHints => "missing hints",
            ProblemKind::IncludeOutsideFence => "Rust include outside a code fence",
            ProblemKind::RustInParagraph => "Rust in a paragraph",
            ProblemKind::UnknownCheck => "unknown check id",
        })
    }
}

/// Why the book could not be built at all (as opposed to a [`Problem`] inside it).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BookError {
    /// There is no `book.toml` in the given root.
    #[error("no book.toml in {}", root.display())]
    NoConfig {
        /// The directory that was searched.
        root: PathBuf,
    },
    /// `book.toml` or `SUMMARY.md` is invalid, or a chapter listed in `SUMMARY.md`
    /// has no file (draft chapters, `[Title]()`, need none).
    #[error("cannot load the book at {}: {message}", root.display())]
    Load {
        /// The book's root.
        root: PathBuf,
        /// mdBook's error with its causes.
        message: String,
    },
    /// mdBook failed while rendering the HTML.
    #[error("cannot render the book into {}: {message}", dest.display())]
    Render {
        /// The output directory.
        dest: PathBuf,
        /// mdBook's error with its causes.
        message: String,
    },
    /// Reading the sources or the output failed.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Builds the book at `root` (the dir with book.toml) into `dest` (HTML), then checks it.
///
/// `dest` is emptied first (mdBook's HTML renderer does this); a relative `dest` is
/// taken relative to the current directory, not to `root`. The `build-dir` of
/// `book.toml` is ignored in favour of `dest`, and `create-missing` is forced off so
/// that a chapter without a file is an error instead of a new empty file in the
/// sources.
///
/// # Errors
///
/// [`BookError`] when the book cannot be loaded or rendered at all. Broken includes
/// and links are not errors: they are the [`BuildReport::problems`].
pub fn build(root: &Path, dest: &Path) -> Result<BuildReport, BookError> {
    let dest = std::path::absolute(dest).map_err(|source| BookError::Io {
        path: dest.to_path_buf(),
        source,
    })?;
    let (book, hint_problems) = load(root, Some(&dest))?;
    book.build().map_err(|error| BookError::Render {
        dest: dest.clone(),
        message: format!("{error:#}"),
    })?;
    let mut report = check_loaded(&book, &dest);
    report.problems.extend(hint_problems);
    Ok(report)
}

/// Checks a book that was already built into `dest` (by [`build`] or `mdbook build`),
/// without rendering it again.
///
/// # Errors
///
/// [`BookError`] when `book.toml` or `SUMMARY.md` cannot be loaded.
pub fn check(root: &Path, dest: &Path) -> Result<BuildReport, BookError> {
    let (book, hint_problems) = load(root, None)?;
    let mut report = check_loaded(&book, dest);
    report.problems.extend(hint_problems);
    Ok(report)
}

/// Checks the check ids and chapter sections that the chapters of the book at
/// `root`, already built into `dest`, name in their text (see the module
/// `references`): every check id must be in `grader/units/*/unit.toml` under
/// `root`, every `NN-name.md#section` must be a section of that page.
///
/// # Errors
///
/// [`BookError`] when the book, a `unit.toml` or the course's code cannot be read.
pub fn check_references(root: &Path, dest: &Path) -> Result<Vec<Problem>, BookError> {
    let (book, _) = load(root, None)?;
    let names = references::Names::load(root).map_err(|(path, message)| BookError::Io {
        path,
        source: std::io::Error::other(message),
    })?;
    let src_dir = book.source_dir();
    let src_rel = book.config.book.src.clone();
    let mut problems = Vec::new();
    let mut ids = std::collections::HashMap::new();
    for item in book.iter() {
        let BookItem::Chapter(chapter) = item else {
            continue;
        };
        let Some(path) = &chapter.path else {
            continue;
        };
        let page = src_rel.join(path);
        let source =
            std::fs::read_to_string(src_dir.join(path)).map_err(|source| BookError::Io {
                path: src_dir.join(path),
                source,
            })?;
        references::check(
            path,
            &page,
            &source,
            &names,
            dest,
            &mut ids,
            &mut |kind, detail| {
                problems.push(Problem {
                    page: page.clone(),
                    kind,
                    detail,
                });
            },
        );
    }
    Ok(problems)
}

/// Loads the book's config and sources; with `dest`, the output goes there.
/// `{{#hints NN}}` directives are expanded here, before any preprocessor or
/// check sees the chapters; what could not be expanded is returned.
fn load(root: &Path, dest: Option<&Path>) -> Result<(MDBook, Vec<Problem>), BookError> {
    let mut book = load_raw(root, dest)?;
    let src = book.config.book.src.clone();
    let mut problems = Vec::new();
    book.book.for_each_chapter_mut(|chapter| {
        let (content, errors) = hints::expand(&chapter.content, root);
        chapter.content = content;
        let page = src.join(chapter.path.clone().unwrap_or_default());
        problems.extend(errors.into_iter().map(|detail| Problem {
            page: page.clone(),
            kind: ProblemKind::MissingHints,
            detail,
        }));
    });
    Ok((book, problems))
}

/// Loads the book's config and sources as written (no directive expanded);
/// with `dest`, the output goes there.
fn load_raw(root: &Path, dest: Option<&Path>) -> Result<MDBook, BookError> {
    let config_file = root.join("book.toml");
    if !config_file.is_file() {
        return Err(BookError::NoConfig {
            root: root.to_path_buf(),
        });
    }
    let load_error = |error: mdbook_driver::errors::Error| BookError::Load {
        root: root.to_path_buf(),
        message: format!("{error:#}"),
    };
    let mut config = Config::from_disk(&config_file).map_err(load_error)?;
    config.build.create_missing = false;
    if let Some(dest) = dest {
        config.build.build_dir = dest.to_path_buf();
    }
    MDBook::load_with_config(root, config).map_err(load_error)
}

/// Runs the include and link checks over every non-draft chapter.
fn check_loaded(book: &MDBook, dest: &Path) -> BuildReport {
    let src_dir = book.source_dir();
    let src_rel = book.config.book.src.clone();
    let mut pages = 0;
    let mut problems = Vec::new();
    let mut link_checker = links::LinkChecker::new(dest);
    for item in book.iter() {
        let BookItem::Chapter(chapter) = item else {
            continue;
        };
        let Some(path) = &chapter.path else {
            continue; // a draft chapter: no source, no page
        };
        pages += 1;
        let page = src_rel.join(path);
        // A page can repeat a link (mdBook renders an image twice, for zooming):
        // report each problem of a page once.
        let mut seen = HashSet::new();
        let mut report = |kind, detail: String| {
            if seen.insert((kind, detail.clone())) {
                problems.push(Problem {
                    page: page.clone(),
                    kind,
                    detail,
                });
            }
        };
        let base = src_dir.join(path.parent().unwrap_or(Path::new("")));
        includes::check(&chapter.content, &base, &mut report);
        // The fences are checked on the file as written, so that line numbers are
        // the author's (`{{#hints}}` has already been expanded in `chapter.content`).
        let source =
            std::fs::read_to_string(src_dir.join(path)).unwrap_or_else(|_| chapter.content.clone());
        includes::check_fences(&source, &page, &base, &mut report);
        let html = html_path(path);
        prose::check_page(&dest.join(&html), &html, &mut report);
        link_checker.check_page(&html, &mut report);
    }
    BuildReport { pages, problems }
}

/// The page mdBook writes for a chapter: `a/b.md` → `a/b.html`, and a `README.md`
/// becomes `index.html` (mdBook's `index` preprocessor).
fn html_path(path: &Path) -> PathBuf {
    let is_readme = path
        .file_stem()
        .is_some_and(|stem| stem.eq_ignore_ascii_case("readme"));
    if is_readme {
        path.with_file_name("index.html")
    } else {
        path.with_extension("html")
    }
}
