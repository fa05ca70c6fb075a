//! The translations cannot go stale silently: every message of the English
//! book (chapters, hints, title) has a translation in every `po/<lang>.po`,
//! none fuzzy, none left over; each translation keeps the message's code,
//! links and markup; the glossary's terms are used. When the English book
//! changes, `cargo run -p book --bin po-update` brings `po/` up to date and
//! these tests name what is left to translate.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use book::l10n;
use polib::catalog::Catalog;
use regex::Regex;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository's root")
}

/// The English book's messages, extracted once for every test.
static ENGLISH: LazyLock<Catalog> = LazyLock::new(|| {
    l10n::extract(&root()).unwrap_or_else(|error| panic!("the English book: {error}"))
});

fn ids(catalog: &Catalog) -> Vec<String> {
    catalog
        .messages()
        .map(|message| message.msgid().to_owned())
        .collect()
}

fn first_place(source: &str) -> &str {
    source.split_whitespace().next().unwrap_or("?")
}

/// The translated messages of `language`'s catalog, as (where, English,
/// translation), and the catalog's path.
fn translated(root: &Path, language: &str) -> (PathBuf, Vec<(String, String, String)>) {
    let path = l10n::po_path(root, language);
    let catalog =
        l10n::read_catalog(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let messages = catalog
        .messages()
        .filter_map(|message| {
            let translation = message.msgstr().ok().filter(|text| !text.is_empty())?;
            Some((
                first_place(message.source()).to_owned(),
                message.msgid().to_owned(),
                translation.to_owned(),
            ))
        })
        .collect();
    (path, messages)
}

const UPDATE: &str = "run `cargo run -p book --bin po-update` (it rewrites po/messages.pot and \
                      adds the new messages, untranslated, to each po/<lang>.po)";

#[test]
fn the_template_is_current() {
    let template = l10n::read_catalog(&l10n::pot_path(&root())).expect("po/messages.pot reads");
    let (now, then) = (ids(&ENGLISH), ids(&template));
    let new: Vec<_> = now
        .iter()
        .filter(|id| !then.contains(id))
        .take(10)
        .collect();
    let gone: Vec<_> = then
        .iter()
        .filter(|id| !now.contains(id))
        .take(10)
        .collect();
    assert!(
        now == then,
        "po/messages.pot is not the English book's messages: {UPDATE}.\nnew: {new:#?}\ngone: {gone:#?}"
    );
}

#[test]
fn every_message_is_translated() {
    for language in l10n::TRANSLATIONS {
        let path = l10n::po_path(&root(), language);
        let catalog =
            l10n::read_catalog(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        let mut missing = Vec::new();
        for message in ENGLISH.messages() {
            let found = catalog.find_message(None, message.msgid(), None);
            let problem = match found {
                None => "not in the catalog",
                Some(found) if found.is_fuzzy() => "fuzzy",
                Some(found) if found.msgstr().map_or(true, str::is_empty) => "untranslated",
                Some(_) => continue,
            };
            missing.push(format!(
                "{} ({problem}): {:?}",
                first_place(message.source()),
                message.msgid().chars().take(60).collect::<String>()
            ));
        }
        let english: BTreeSet<String> = ids(&ENGLISH).into_iter().collect();
        let left_over: Vec<_> = ids(&catalog)
            .into_iter()
            .filter(|id| !english.contains(id))
            .take(10)
            .collect();
        assert!(
            missing.is_empty() && left_over.is_empty(),
            "{}: {} message(s) of the English book have no translation (the first 20 below), \
             {} translated message(s) are no longer in the book. {UPDATE}, then translate in \
             {} (po/GLOSSARY.md has the terms).\n{}\nleft over: {left_over:#?}",
            path.display(),
            missing.len(),
            left_over.len(),
            path.display(),
            missing
                .iter()
                .take(20)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

static CODE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"`+[^`]*`+").expect("the code pattern is valid"));
static LINK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\]\(([^)\s]*)").expect("the link pattern is valid"));
static TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"</?[a-zA-Z][^>]*>").expect("the tag pattern is valid"));

fn sorted(pattern: &Regex, text: &str) -> Vec<String> {
    let mut found: Vec<String> = pattern
        .find_iter(text)
        .map(|m| m.as_str().to_owned())
        .collect();
    found.sort();
    found
}

/// What a translation must keep of its English: the code spans, the
/// links' targets, the HTML tags, the bold markers.
fn markup_problems(english: &str, translation: &str) -> Vec<&'static str> {
    let mut problems = Vec::new();
    if sorted(&CODE, english) != sorted(&CODE, translation) {
        problems.push("its code spans differ");
    }
    if sorted(&LINK, english) != sorted(&LINK, translation) {
        problems.push("its link targets differ");
    }
    if sorted(&TAG, english) != sorted(&TAG, translation) {
        problems.push("its HTML tags differ");
    }
    if english.matches("**").count() != translation.matches("**").count() {
        problems.push("its ** differ");
    }
    // Between Chinese characters, `_…_` is no emphasis and `**…。**中` no
    // bold (CommonMark's flanking rules): what renders must be the same.
    if emphasis(&as_written(english)) != emphasis(translation) {
        problems.push("its emphasis or bold does not render as the English's (write *…* not _…_, and put 。 after the closing **)");
    }
    problems
}

/// A message as its source wrote it: the extractor writes every emphasis
/// as `_…_`, which renders as no emphasis inside a word
/// (`_re_connection`), where the source's `*…*` did. An `_` that opens an
/// emphasis (not inside a word or a code span) becomes `*`, and so does
/// the next one.
fn as_written(message: &str) -> String {
    static OPENED: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(^|[^\p{Alphabetic}\p{N}\\_])_([^_]+?)_")
            .expect("the emphasis pattern is valid")
    });
    let mut written = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(code) = CODE.find(rest) {
        written.push_str(&OPENED.replace_all(&rest[..code.start()], "$1*$2*"));
        written.push_str(code.as_str());
        rest = &rest[code.end()..];
    }
    written.push_str(&OPENED.replace_all(rest, "$1*$2*"));
    written
}

/// How many emphasised and bold spans a message renders.
fn emphasis(text: &str) -> (usize, usize) {
    use pulldown_cmark::{Event, Parser, Tag};
    let mut counts = (0, 0);
    for event in Parser::new(text) {
        match event {
            Event::Start(Tag::Emphasis) => counts.0 += 1,
            Event::Start(Tag::Strong) => counts.1 += 1,
            _ => {}
        }
    }
    counts
}

#[test]
fn translations_keep_code_links_and_markup() {
    for language in l10n::TRANSLATIONS {
        let (path, translated) = translated(&root(), language);
        let mut wrong = Vec::new();
        for (place, english, translation) in &translated {
            let problems = markup_problems(english, translation);
            if !problems.is_empty() {
                wrong.push(format!(
                    "{place}: {}: {:?}",
                    problems.join(", "),
                    english.chars().take(60).collect::<String>()
                ));
            }
        }
        assert!(
            wrong.is_empty(),
            "{}: {} translation(s) changed what must stay as it is (code, link targets, \
             HTML, bold):\n{}",
            path.display(),
            wrong.len(),
            wrong.join("\n")
        );
    }
}

#[test]
fn the_checker_sees_changed_markup() {
    assert!(markup_problems("Call `connect`.", "调用 `connect`。").is_empty());
    assert_eq!(
        markup_problems("Call `connect`.", "调用 connect。"),
        ["its code spans differ"]
    );
    assert_eq!(
        markup_problems(
            "See [the chapter](01-connection.md).",
            "见[本章](02-page.md)。"
        ),
        ["its link targets differ"]
    );
    assert_eq!(
        markup_problems("**Task 1.**", "任务 1。"),
        [
            "its ** differ",
            "its emphasis or bold does not render as the English's (write *…* not _…_, and put 。 after the closing **)"
        ]
    );
    assert!(markup_problems("a _very_ big deal", "一个*非常*重要的事").is_empty());
    assert!(markup_problems("not a _re_connection", "不算*重*连").is_empty());
    assert!(markup_problems("keep_firing_for `x_y_z`", "keep_firing_for `x_y_z`").is_empty());
    assert!(markup_problems("the `a_b` _before_ c_d", "在 `a_b` *之前*：c_d").is_empty());
    assert_eq!(
        markup_problems("a _very_ big deal", "一个_非常_重要的事").len(),
        1
    );
    assert_eq!(
        markup_problems("**Closed.** Then", "**关闭。**然后").len(),
        1
    );
    assert!(markup_problems("**Closed.** Then", "**关闭**。然后").is_empty());
}

/// The glossary's unambiguous terms: where the English says one, the
/// translation uses its Chinese term (po/GLOSSARY.md).
const TERMS: &[(&str, &[&str])] = &[
    ("reconnect", &["重连"]),
    ("heartbeat", &["心跳"]),
    ("handshake", &["握手"]),
    ("close frame", &["关闭帧"]),
    ("backoff", &["退避"]),
    ("jitter", &["抖动"]),
    ("idempotent", &["幂等"]),
    ("operational transformation", &["操作转换"]),
    ("message queue", &["消息队列"]),
    ("back-pressure", &["背压"]),
    ("stub", &["桩代码", "桩"]),
];

#[test]
fn the_glossary_is_used() {
    let root = root();
    let glossary =
        std::fs::read_to_string(root.join("po/GLOSSARY.md")).expect("po/GLOSSARY.md reads");
    for (english, chinese) in TERMS {
        assert!(
            glossary.contains(&format!("| {english}")) && glossary.contains(chinese[0]),
            "po/GLOSSARY.md lost the term {english} → {}",
            chinese[0]
        );
    }
    let patterns: Vec<Regex> = TERMS
        .iter()
        .map(|(english, _)| {
            Regex::new(&format!(r"\b{}", regex::escape(english)))
                .expect("a term's pattern is valid")
        })
        .collect();
    for language in l10n::TRANSLATIONS {
        let (path, translated) = translated(&root, language);
        let mut wrong = Vec::new();
        for (place, message, translation) in &translated {
            let prose = CODE.replace_all(message, "").to_lowercase();
            // A word or two (a table's header, an event's name such as
            // `Reconnect`) may stay as the code names it.
            if prose.split_whitespace().count() < 3 {
                continue;
            }
            for ((english, chinese), word) in TERMS.iter().zip(&patterns) {
                if word.is_match(&prose) && !chinese.iter().any(|term| translation.contains(term)) {
                    wrong.push(format!(
                        "{place}: {english:?} is {:?} (po/GLOSSARY.md): {:?}",
                        chinese[0],
                        translation.chars().take(60).collect::<String>()
                    ));
                }
            }
        }
        assert!(
            wrong.is_empty(),
            "{}: {} translation(s) do not use the glossary's term:\n{}",
            path.display(),
            wrong.len(),
            wrong.join("\n")
        );
    }
}

#[test]
fn every_translated_readme_is_current() {
    let root = root();
    for language in l10n::TRANSLATIONS {
        let path = l10n::readme_path(&root, language);
        let written = std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("{}: {error}; {UPDATE}", path.display()));
        let wanted = l10n::readme(&root, language).expect("the README translates");
        assert!(
            written == wanted,
            "{} is not README.md's part for learners as po/{language}.po translates it: {UPDATE}",
            path.display()
        );
    }
}
