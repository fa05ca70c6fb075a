//! The book's other editions: one English source, translations in gettext
//! catalogs (`po/`), the way Comprehensive Rust does it.
//!
//! * [`extract`] reads the English sources and returns every message a
//!   translator must translate: the chapters' prose (paragraphs, headings,
//!   list items, table cells; `mdbook-i18n-helpers` splits them), the
//!   unit's hints from `grader/units/*/hints.toml`, the book's title and
//!   description, and the hint toggles' label. Code is not a message: a
//!   message found inside a fenced code block (a comment, a string) is left
//!   out, and `{{#include}}` is not expanded, so the stubs' comments stay
//!   English. `po/messages.pot` is what it returned last
//!   (`cargo run -p book --bin po-update` writes it; a test fails when it is
//!   stale).
//! * [`build_edition`] builds one translation: the chapters are loaded, their
//!   headings pinned to the English ids (`{#task-3-sending}`, so links and
//!   the language switch keep their `#fragment`), the hints expanded with the
//!   translated label, every message replaced by its translation
//!   (`mdbook_i18n_helpers::gettext::translate_book`), then mdBook renders it
//!   and the same checks as the English edition's run over it.
//! * [`build_all`] builds the English edition into a folder and each
//!   translation into a sub-folder of it (`zh-CN/`), which is how
//!   `cargo grade serve` serves them side by side.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use mdbook_driver::book::BookItem;
use mdbook_i18n_helpers::gettext::add_stripped_summary_translations;
use mdbook_i18n_helpers::{
    extract_events, extract_messages, reconstruct_markdown, translate_events, xgettext,
};
pub use polib::catalog::Catalog;
use polib::message::{Message, MessageMutView, MessageView};
use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

use crate::{BookError, BuildReport, Problem, hints};

/// The translations of the book: their language codes, which are also the
/// names of their catalogs (`po/zh-CN.po`) and of their folders in the
/// built book (`target/book/zh-CN/`).
pub const TRANSLATIONS: &[&str] = &["zh-CN"];

/// The label of a hint toggle ("Show hint 2"), a message of its own: the
/// toggle is HTML, which the extractor does not look into.
pub const SHOW_HINT: &str = "Show hint";

/// The template of every message: `po/messages.pot`.
pub fn pot_path(root: &Path) -> PathBuf {
    root.join("po").join("messages.pot")
}

/// The catalog of one translation: `po/zh-CN.po`.
pub fn po_path(root: &Path, language: &str) -> PathBuf {
    root.join("po").join(format!("{language}.po"))
}

fn other(path: &Path, message: impl std::fmt::Display) -> BookError {
    BookError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(message.to_string()),
    }
}

/// Reads a `.po` or `.pot` file.
///
/// # Errors
///
/// [`BookError::Io`] when it cannot be read or parsed.
pub fn read_catalog(path: &Path) -> Result<Catalog, BookError> {
    polib::po_file::parse(path).map_err(|error| other(path, error))
}

/// Writes a catalog as a `.po` or `.pot` file.
///
/// # Errors
///
/// [`BookError::Io`] when it cannot be written.
pub fn write_catalog(catalog: &Catalog, path: &Path) -> Result<(), BookError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| BookError::Io {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    polib::po_file::write(catalog, path).map_err(|error| other(path, error))
}

/// Every message of the English book, in the order a reader meets them,
/// each with where it is (`book/01-connection.md:12`). See the module's
/// documentation for what is a message.
///
/// # Errors
///
/// [`BookError`] when the book, a chapter or a unit's hints cannot be read.
pub fn extract(root: &Path) -> Result<Catalog, BookError> {
    let book = crate::load_raw(root, None)?;
    let dest = root.join("target").join("book-xgettext");
    let context = mdbook_renderer::RenderContext::new(
        root.to_path_buf(),
        book.book.clone(),
        book.config.clone(),
        dest,
    );
    let mut catalogs =
        xgettext::create_catalogs(&context, std::fs::read_to_string).map_err(|error| {
            BookError::Load {
                root: root.to_path_buf(),
                message: format!("{error:#}"),
            }
        })?;
    let mut catalog = catalogs
        .drain()
        .next()
        .map(|(_, catalog)| catalog)
        .ok_or_else(|| other(root, "the extractor returned no catalog"))?;
    // The same template whenever it is made: no date in it.
    catalog.metadata.pot_creation_date = String::new();

    // Keep the messages that are prose somewhere: not a directive, not only
    // inside code blocks.
    let mut fences = BTreeMap::new();
    let mut code = Vec::new();
    for message in catalog.messages() {
        let mut prose = false;
        for place in message.source().split_whitespace() {
            let Some((file, line)) = place.rsplit_once(':') else {
                prose = true;
                continue;
            };
            let Ok(line) = line.parse::<usize>() else {
                prose = true;
                continue;
            };
            let lines = fences.entry(file.to_owned()).or_insert_with(|| {
                fenced_lines(&std::fs::read_to_string(root.join(file)).unwrap_or_default())
            });
            if !lines.contains(&line) {
                prose = true;
            }
        }
        if !prose || is_directive(message.msgid()) {
            code.push(message.msgid().to_owned());
        }
    }
    for id in code {
        catalog.delete_message(None, &id, None);
    }

    // The book's title and description (book.toml), the hints' label.
    let mut add = |id: &str, source: String| {
        if id.trim().is_empty() {
            return;
        }
        match catalog.find_message_mut(None, id, None) {
            Some(mut found) => {
                let sources = format!("{}\n{source}", found.source());
                *found.source_mut() = sources;
            }
            None => catalog.append_or_update(
                Message::build_singular()
                    .with_msgid(id.to_owned())
                    .with_source(source)
                    .done(),
            ),
        }
    };
    if let Some(title) = &book.config.book.title {
        add(title, "book.toml:title".to_owned());
    }
    if let Some(description) = &book.config.book.description {
        add(description, "book.toml:description".to_owned());
    }
    add(SHOW_HINT, "grader/book/src/hints.rs:render".to_owned());

    // The README's part for learners.
    let (readme, first_line) = readme_for_learners(root)?;
    let messages = extract_messages(&readme).map_err(|error| other(root, error))?;
    for (line, message) in messages {
        add(
            &message.message,
            format!("{README}:{}", first_line + line - 1),
        );
    }

    // Each unit's hints, as the chapter shows them.
    for (id, slug) in hint_units(root)? {
        let hints = hints::load(root, &slug).map_err(|error| other(root, error))?;
        let shown = hints::render_labelled(&id, &hints, SHOW_HINT);
        let messages = extract_messages(&shown).map_err(|error| other(root, error))?;
        for (line, message) in messages {
            if is_directive(&message.message) {
                continue;
            }
            add(
                &message.message,
                format!("grader/units/{slug}/hints.toml:{line}"),
            );
        }
    }
    Ok(catalog)
}

/// The catalog of `language` for `template`: each message with its
/// translation in `old` when its English is unchanged, untranslated when
/// new; messages no longer in the template are dropped. A message with
/// nothing to translate ([`nothing_to_translate`]) is its own translation.
/// Returns it with how many messages are left to translate.
pub fn merge(template: &Catalog, old: Option<&Catalog>, language: &str) -> (Catalog, usize) {
    let mut metadata = polib::metadata::CatalogMetadata::new();
    metadata.project_id_version = template.metadata.project_id_version.clone();
    metadata.language = language.to_owned();
    metadata.mime_version = "1.0".to_owned();
    metadata.content_type = "text/plain; charset=UTF-8".to_owned();
    metadata.content_transfer_encoding = "8bit".to_owned();
    if let Some(old) = old {
        metadata.last_translator = old.metadata.last_translator.clone();
        metadata.language_team = old.metadata.language_team.clone();
        metadata.po_revision_date = old.metadata.po_revision_date.clone();
    }
    let mut merged = Catalog::new(metadata);
    let mut missing = 0;
    for message in template.messages() {
        let id = message.msgid();
        let kept = old
            .and_then(|old| old.find_message(None, id, None))
            .filter(|found| !found.is_fuzzy())
            .and_then(|found| found.msgstr().ok().map(str::to_owned))
            .filter(|text| !text.is_empty());
        let text = match kept {
            Some(text) => text,
            None if nothing_to_translate(id) => id.to_owned(),
            None => {
                missing += 1;
                String::new()
            }
        };
        merged.append_or_update(
            Message::build_singular()
                .with_msgid(id.to_owned())
                .with_msgstr(text)
                .with_source(message.source().to_owned())
                .with_comments(message.comments().to_owned())
                .done(),
        );
    }
    (merged, missing)
}

/// A message of code spans, numbers, links' targets and punctuation only
/// (`` `Client::connect` ``, `—`, `1 000 ms`): it reads the same in every
/// language.
pub fn nothing_to_translate(id: &str) -> bool {
    let mut in_code = false;
    let mut words = String::new();
    for ch in id.chars() {
        if ch == '`' {
            in_code = !in_code;
        } else if !in_code {
            words.push(ch);
        }
    }
    // Link targets (`](url)`) are not prose either.
    let prose = LINK_TARGET.replace_all(&words, "]");
    !prose
        .split(|ch: char| !ch.is_alphabetic())
        .any(|word| word.chars().count() > 2 || !word.is_ascii())
}

static LINK_TARGET: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"\]\([^)]*\)").expect("the link pattern is valid")
});

/// The README, whose part for learners is translated too.
pub const README: &str = "README.md";

/// The heading that starts the README's part for learners; it ends at the
/// next `## ` heading.
const README_PART: &str = "## Start here";

/// The README's part for learners, and the number of its first line.
fn readme_for_learners(root: &Path) -> Result<(String, usize), BookError> {
    let path = root.join(README);
    let text = std::fs::read_to_string(&path).map_err(|source| BookError::Io {
        path: path.clone(),
        source,
    })?;
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|line| line.trim_end() == README_PART)
        .ok_or_else(|| other(&path, format!("no \"{README_PART}\" heading")))?;
    let end = lines[start + 1..]
        .iter()
        .position(|line| line.starts_with("## "))
        .map_or(lines.len(), |offset| start + 1 + offset);
    Ok((lines[start..end].join("\n") + "\n", start + 1))
}

/// The README of `language` (`README.zh-CN.md`): the English README's part
/// for learners, translated, under the translated book's title. `po-update`
/// writes it; a test checks that it is current.
///
/// # Errors
///
/// [`BookError`] when the README or the catalog cannot be read.
pub fn readme(root: &Path, language: &str) -> Result<String, BookError> {
    let catalog = read_catalog(&po_path(root, language))?;
    let book = crate::load_raw(root, None)?;
    let (part, _) = readme_for_learners(root)?;
    let translated =
        translate_markdown(&part, &catalog).map_err(|error| other(&root.join(README), error))?;
    let title = book.config.book.title.unwrap_or_default();
    Ok(format!(
        "<!-- Generated from README.md and po/{language}.po by \
         `cargo run -p book --bin po-update`: edit those, not this file. -->\n\n\
         # {}\n\n{translated}",
        translated_owned(&catalog, &title)
    ))
}

/// The file [`readme`] is written to: `README.zh-CN.md`.
pub fn readme_path(root: &Path, language: &str) -> PathBuf {
    root.join(format!("README.{language}.md"))
}

fn translated_owned(catalog: &Catalog, id: &str) -> String {
    translated(catalog, id).to_owned()
}

/// A `{{#include …}}`, `{{#hints …}}` … alone: nothing to translate.
fn is_directive(id: &str) -> bool {
    let id = id.trim();
    id.starts_with("{{#") && id.ends_with("}}") && !id[3..].contains("{{")
}

/// The units that have hints, as (`01`, `01-connection`), in order.
fn hint_units(root: &Path) -> Result<Vec<(String, String)>, BookError> {
    let units = root.join("grader").join("units");
    let entries = std::fs::read_dir(&units).map_err(|source| BookError::Io {
        path: units.clone(),
        source,
    })?;
    let mut found: Vec<(String, String)> = entries
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|slug| hints::path(root, slug).is_file())
        .map(|slug| {
            let id = slug.split('-').next().unwrap_or(&slug).to_owned();
            (id, slug)
        })
        .collect();
    found.sort();
    Ok(found)
}

/// The 1-based lines of `text` that belong to a fenced code block, fences
/// included.
fn fenced_lines(text: &str) -> HashSet<usize> {
    let line_of = |offset: usize| text[..offset].matches('\n').count() + 1;
    let mut lines = HashSet::new();
    let mut start = None;
    for (event, range) in Parser::new_ext(text, Options::all()).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(_))) => start = Some(range),
            Event::End(TagEnd::CodeBlock) => {
                if let Some(block) = start.take() {
                    let last = line_of(block.end.saturating_sub(1).max(block.start));
                    lines.extend(line_of(block.start)..=last);
                }
            }
            _ => {}
        }
    }
    lines
}

/// mdBook's id of a heading (`mdbook-html`'s `id_from_content`, which is
/// private): lower case, spaces to `-`, only letters, digits, `_` and `-`.
fn id_from_content(content: &str) -> String {
    content
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|ch| {
            if ch.is_alphanumeric() || ch == '_' || ch == '-' {
                Some(ch)
            } else if ch.is_whitespace() {
                Some('-')
            } else {
                None
            }
        })
        .collect()
}

/// Gives every ATX heading without an id the id mdBook would give it in
/// English (`## Task 3: sending {#task-3-sending}`), so that a translated
/// heading keeps its English anchor.
pub fn pin_heading_ids(text: &str) -> String {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_HEADING_ATTRIBUTES);
    let mut inserts = Vec::new();
    let mut used = HashSet::new();
    let mut heading: Option<(usize, String)> = None;
    for (event, range) in Parser::new_ext(text, options).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { id, .. }) => {
                if let Some(id) = id {
                    used.insert(id.to_string());
                } else {
                    heading = Some((range.start, String::new()));
                }
            }
            Event::Text(part) | Event::Code(part) => {
                if let Some((_, content)) = &mut heading {
                    content.push_str(&part);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((start, content)) = heading.take() {
                    let line = &text[start..range.end];
                    // Setext headings (a line of `===` below) span two lines:
                    // only ATX headings (`## …`) are pinned.
                    if !line.trim_start().starts_with('#') {
                        continue;
                    }
                    let id = id_from_content(&content);
                    let mut unique = id.clone();
                    let mut counter = 0;
                    while !used.insert(unique.clone()) {
                        counter += 1;
                        unique = format!("{id}-{counter}");
                    }
                    let end = text[start..]
                        .find('\n')
                        .map_or(text.len(), |offset| start + offset);
                    let end = text[..end].trim_end_matches(['\r', ' ', '#']).len();
                    inserts.push((end, format!(" {{#{unique}}}")));
                }
            }
            _ => {}
        }
    }
    let mut pinned = text.to_owned();
    for (at, id) in inserts.into_iter().rev() {
        pinned.insert_str(at, &id);
    }
    pinned
}

/// The translation of `id` in `catalog`, or `id` itself.
pub fn translated<'a>(catalog: &'a Catalog, id: &'a str) -> &'a str {
    catalog
        .find_message(None, id, None)
        .and_then(|message| message.msgstr().ok())
        .filter(|text| !text.is_empty())
        .unwrap_or(id)
}

/// `text` (Markdown) with every message `catalog` translates replaced by
/// its translation; code blocks and untranslated messages stay as they
/// are. Emphasis and bold become `<em>` and `<strong>`: the `_…_` and
/// `**…**` the Markdown writer would use do not work between Chinese
/// characters (CommonMark's flanking rules).
///
/// # Errors
///
/// A message when the Markdown cannot be written back (a translation whose
/// markup does not fit the English's).
pub fn translate_markdown(text: &str, catalog: &Catalog) -> Result<String, String> {
    let events = extract_events(text, None);
    let translated = translate_events(&events, catalog).map_err(|error| error.to_string())?;
    let html: Vec<(usize, Event<'_>)> = translated
        .into_iter()
        .map(|(line, event)| {
            let event = match event {
                Event::Start(Tag::Emphasis) => Event::InlineHtml("<em>".into()),
                Event::End(TagEnd::Emphasis) => Event::InlineHtml("</em>".into()),
                Event::Start(Tag::Strong) => Event::InlineHtml("<strong>".into()),
                Event::End(TagEnd::Strong) => Event::InlineHtml("</strong>".into()),
                other => other,
            };
            (line, event)
        })
        .collect();
    let (markdown, _) = reconstruct_markdown(&html, None).map_err(|error| error.to_string())?;
    Ok(markdown)
}

/// Builds the translation `language` (`zh-CN`) of the book at `root` into
/// `dest`, from `po/<language>.po`, and checks it as [`crate::build`] checks
/// the English edition. Problems name the page as `zh-CN/book/…`.
///
/// # Errors
///
/// [`BookError`] when the catalog or the book cannot be read or rendered.
pub fn build_edition(root: &Path, dest: &Path, language: &str) -> Result<BuildReport, BookError> {
    let dest = std::path::absolute(dest).map_err(|source| BookError::Io {
        path: dest.to_path_buf(),
        source,
    })?;
    let mut catalog = read_catalog(&po_path(root, language))?;
    add_stripped_summary_translations(&mut catalog);
    let mut book = crate::load_raw(root, Some(&dest))?;
    let src = book.config.book.src.clone();
    let label = translated(&catalog, SHOW_HINT).to_owned();
    let mut problems = Vec::new();
    book.book.for_each_chapter_mut(|chapter| {
        let pinned = pin_heading_ids(&chapter.content);
        let (content, errors) = hints::expand_labelled(&pinned, root, &label);
        chapter.content = content;
        let page = Path::new(language).join(src.join(chapter.path.clone().unwrap_or_default()));
        problems.extend(errors.into_iter().map(|detail| Problem {
            page: page.clone(),
            kind: crate::ProblemKind::MissingHints,
            detail,
        }));
    });
    let mut failed = Vec::new();
    book.book.for_each_mut(|item| {
        let texts = match item {
            BookItem::Chapter(chapter) => vec![&mut chapter.content, &mut chapter.name],
            BookItem::PartTitle(title) => vec![title],
            BookItem::Separator => Vec::new(),
        };
        for text in texts {
            match translate_markdown(text, &catalog) {
                Ok(translated) => *text = translated,
                Err(error) => failed.push(error),
            }
        }
    });
    if let Some(error) = failed.into_iter().next() {
        return Err(BookError::Render {
            dest: dest.clone(),
            message: format!("translating into {language}: {error}"),
        });
    }
    book.config.book.language = Some(language.to_owned());
    if let Some(title) = book.config.book.title.clone() {
        book.config.book.title = Some(translated(&catalog, &title).to_owned());
    }
    if let Some(description) = book.config.book.description.clone() {
        book.config.book.description = Some(translated(&catalog, &description).to_owned());
    }
    book.build().map_err(|error| BookError::Render {
        dest: dest.clone(),
        message: format!("{error:#}"),
    })?;
    let mut report = crate::check_loaded(&book, &dest);
    for problem in &mut report.problems {
        problem.page = Path::new(language).join(&problem.page);
    }
    report.problems.extend(problems);
    Ok(report)
}

/// Builds the English edition into `dest` and every translation into
/// `dest/<language>/` ([`TRANSLATIONS`]), and checks them all.
///
/// # Errors
///
/// [`BookError`] when an edition cannot be read or rendered.
pub fn build_all(root: &Path, dest: &Path) -> Result<BuildReport, BookError> {
    // English first: mdBook empties its destination, sub-folders included.
    let mut report = crate::build(root, dest)?;
    for language in TRANSLATIONS {
        let edition = build_edition(root, &dest.join(language), language)?;
        report.pages += edition.pages;
        report.problems.extend(edition.problems);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_keep_their_english_ids() {
        let text = "# Unit 01\n\n## Task 3: sending `text`\n\nProse.\n\n## Done {#done}\n\n\
                    ```text\n# not a heading\n```\n\n## Task 3: sending `text`\n";
        let pinned = pin_heading_ids(text);
        assert!(pinned.starts_with("# Unit 01 {#unit-01}\n"), "{pinned}");
        assert!(
            pinned.contains("## Task 3: sending `text` {#task-3-sending-text}\n"),
            "{pinned}"
        );
        assert!(pinned.contains("## Done {#done}\n"), "{pinned}");
        assert!(pinned.contains("# not a heading\n"), "{pinned}");
        assert!(pinned.ends_with("{#task-3-sending-text-1}\n"), "{pinned}");
    }

    #[test]
    fn code_blocks_are_not_prose() {
        let text = "Prose.\n\n```rust\n// a comment\nlet x = 1;\n```\n\nMore.\n";
        let lines = fenced_lines(text);
        assert!(!lines.contains(&1) && !lines.contains(&8), "{lines:?}");
        assert!((3..=6).all(|line| lines.contains(&line)), "{lines:?}");
        assert!(is_directive("{{#include ../exercises/x.rs:api}}"));
        assert!(is_directive("{{#hints 01}}"));
        assert!(!is_directive("Run {{#include a}} and {{#include b}}"));
        assert!(!is_directive("Use `{{#hints NN}}` in a chapter."));
        assert!(nothing_to_translate("`Client::connect`"));
        assert!(nothing_to_translate("[`echo`](01-connection.md#task-1)"));
        assert!(nothing_to_translate("1 000 ms, 5 s"));
        assert!(!nothing_to_translate("`connect` returns"));
        assert!(!nothing_to_translate("Done"));
    }
}
