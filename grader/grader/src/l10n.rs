//! The learner's messages in English or Simplified Chinese.
//!
//! Every message a learner reads in the terminal (the report, the
//! explanations, `list`, `hint`, `reset`, `watch`) is a [Fluent] message in
//! `grader/grader/locales/<lang>/grader.ftl`, compiled into the binary. The
//! language is chosen once, in `main`, by [`Lang::detect`]: `--lang`, else
//! `LC_ALL`, `LC_MESSAGES` or `LANG`. What instructors and machines read
//! (JSON, JUnit, Gradescope, the CSV, the step summary) stays English: those
//! formats render inside [`with_lang`]`(Lang::En, …)`.
//!
//! ```ignore
//! t!("report-total", score = 5, max = 50)   // "total 5/50" or "总分 5/50"
//! ```
//!
//! [Fluent]: https://projectfluent.org/

use std::cell::Cell;
use std::sync::{LazyLock, OnceLock};

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use unic_langid::LanguageIdentifier;

/// A message argument: a string or a number (numbers choose plural forms).
pub use fluent_bundle::FluentValue as Arg;

/// A language the grader speaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Lang {
    /// English, the default.
    #[default]
    En,
    /// Simplified Chinese.
    ZhCn,
}

/// A `--lang` value the grader does not speak.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown language {0:?} for --lang: use en or zh-CN")]
pub struct UnknownLang(pub String);

impl Lang {
    /// Every language, English first.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::ZhCn];

    /// Its BCP 47 tag: `en`, `zh-CN`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        }
    }

    /// The language to speak: the `--lang` flag, else the first of
    /// `LC_ALL`, `LC_MESSAGES` and `LANG` that is set and not empty
    /// (`env` reads a variable). A locale of Chinese (`zh_CN.UTF-8`, `zh_SG`,
    /// `zh`) gives [`Lang::ZhCn`]; any other (`C`, `POSIX`, `fr_FR`) English.
    pub fn detect(
        flag: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Lang, UnknownLang> {
        if let Some(flag) = flag {
            return flag.parse();
        }
        let locale = ["LC_ALL", "LC_MESSAGES", "LANG"]
            .into_iter()
            .filter_map(env)
            .find(|value| !value.trim().is_empty());
        Ok(match locale.as_deref().map(language_of).as_deref() {
            Some("zh") => Lang::ZhCn,
            _ => Lang::En,
        })
    }

    /// The message `id`, without arguments.
    pub fn tr(self, id: &str) -> String {
        self.tr_args(id, &[])
    }

    /// The message `id` with its arguments; English when this language
    /// lacks it, and the id itself when no language has it (a test keeps
    /// both from happening).
    pub fn tr_args(self, id: &str, args: &[(&str, Arg<'_>)]) -> String {
        let mut fluent_args = FluentArgs::with_capacity(args.len());
        for (name, value) in args {
            fluent_args.set(*name, value.clone());
        }
        for lang in [self, Lang::En] {
            let bundle = &BUNDLES[lang as usize];
            if let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) {
                let mut errors = Vec::new();
                return bundle
                    .format_pattern(pattern, Some(&fluent_args), &mut errors)
                    .into_owned();
            }
        }
        id.to_owned()
    }
}

impl std::str::FromStr for Lang {
    type Err = UnknownLang;

    /// `en`, `zh-CN`, and their relatives (`en_US`, `zh`, `zh_CN`, `zh-Hans`).
    fn from_str(value: &str) -> Result<Lang, UnknownLang> {
        match language_of(value).as_str() {
            "en" => Ok(Lang::En),
            "zh" => Ok(Lang::ZhCn),
            _ => Err(UnknownLang(value.to_owned())),
        }
    }
}

/// The language subtag of a locale or tag, lower-cased: `zh_CN.UTF-8` → `zh`.
fn language_of(locale: &str) -> String {
    locale
        .trim()
        .split(['_', '-', '.', '@'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// The messages, by language (`Lang as usize`).
pub const SOURCES: [(Lang, &str); 2] = [
    (Lang::En, include_str!("../locales/en/grader.ftl")),
    (Lang::ZhCn, include_str!("../locales/zh-CN/grader.ftl")),
];

static BUNDLES: LazyLock<[FluentBundle<FluentResource>; 2]> =
    LazyLock::new(|| SOURCES.map(|(lang, source)| bundle(lang, source)));

fn bundle(lang: Lang, source: &str) -> FluentBundle<FluentResource> {
    let id: LanguageIdentifier = lang.tag().parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // No U+2068/U+2069 around arguments: a terminal would show them.
    bundle.set_use_isolating(false);
    // Syntax errors and duplicates are caught by the tests; what parsed is used.
    let resource =
        FluentResource::try_new(source.to_owned()).unwrap_or_else(|(resource, _)| resource);
    let _ = bundle.add_resource(resource);
    bundle
}

static PROCESS: OnceLock<Lang> = OnceLock::new();

thread_local! {
    static SCOPED: Cell<Option<Lang>> = const { Cell::new(None) };
}

/// Sets the process's language, once (in `main`); `false` if it was set.
pub fn set_current(lang: Lang) -> bool {
    PROCESS.set(lang).is_ok()
}

/// The language of this thread's [`with_lang`], else the process's, else English.
pub fn current() -> Lang {
    SCOPED
        .with(Cell::get)
        .or_else(|| PROCESS.get().copied())
        .unwrap_or_default()
}

/// Runs `f` with [`current`] giving `lang` on this thread: the instructors'
/// formats render in English, tests render either language.
pub fn with_lang<T>(lang: Lang, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Lang>);
    impl Drop for Restore {
        fn drop(&mut self) {
            SCOPED.with(|scoped| scoped.set(self.0));
        }
    }
    let _restore = Restore(SCOPED.with(|scoped| scoped.replace(Some(lang))));
    f()
}

/// The message `id` in the [`current`] language.
pub fn tr(id: &str) -> String {
    current().tr(id)
}

/// The message `id` with arguments, in the [`current`] language.
pub fn tr_args(id: &str, args: &[(&str, Arg<'_>)]) -> String {
    current().tr_args(id, args)
}

/// The book's catalog of `lang` (`po/zh-CN.po`), read once; `None` for
/// English, or when it cannot be read (then the English text is shown).
fn book_catalog(lang: Lang) -> Option<&'static book::l10n::Catalog> {
    static ZH_CN: OnceLock<Option<book::l10n::Catalog>> = OnceLock::new();
    match lang {
        Lang::En => None,
        Lang::ZhCn => ZH_CN
            .get_or_init(|| {
                let root = crate::repo_root();
                book::l10n::read_catalog(&book::l10n::po_path(&root, lang.tag())).ok()
            })
            .as_ref(),
    }
}

/// Text of the book (a unit's title, a hint, in Markdown) in the
/// [`current`] language: the book's own translation (`po/`), so that the
/// grader and the book say the same; as it is when there is none.
pub fn book_text(text: &str) -> String {
    let Some(catalog) = book_catalog(current()) else {
        return text.to_owned();
    };
    let translated = book::l10n::translate_markdown(text, catalog)
        .map(|translated| translated.trim_end().to_owned())
        .unwrap_or_default();
    if !translated.is_empty() && translated != text.trim_end() {
        return translated;
    }
    // A unit's title is its chapter's, but for the case of a word
    // ("Capstone A: collaborative editor").
    catalog
        .messages()
        .find(|message| message.msgid().eq_ignore_ascii_case(text))
        .and_then(|message| message.msgstr().ok())
        .filter(|translation| !translation.is_empty())
        .map_or_else(|| text.to_owned(), str::to_owned)
}

/// A hint's task (`Task 1`, `Stage 3`) in the [`current`] language, as the
/// chapter's hints show it (`**Task 1.**`).
pub fn book_task(task: &str) -> String {
    let Some(catalog) = book_catalog(current()) else {
        return task.to_owned();
    };
    let shown = format!("**{task}.**");
    let translated = book::l10n::translated(catalog, &shown);
    if translated == shown {
        return task.to_owned();
    }
    translated
        .trim_matches(|c: char| c == '*' || c == '.' || c == '。' || c.is_whitespace())
        .to_owned()
}

/// `t!("id")`, `t!("id", name = value, …)`: a message in the [`current`]
/// language; a value is a string or a number.
macro_rules! t {
    ($id:literal) => {
        $crate::l10n::tr($id)
    };
    ($id:literal, $($name:ident = $value:expr),+ $(,)?) => {
        $crate::l10n::tr_args(
            $id,
            &[$((stringify!($name), $crate::l10n::Arg::from($value))),+],
        )
    };
}
pub(crate) use t;

/// How many terminal columns `text` takes: two for a wide (CJK) character,
/// one for any other, as terminals outside East Asian locales show the
/// ambiguous ones (`○`, `…`).
pub fn width(text: &str) -> usize {
    text.chars()
        .map(|c| {
            let wide = matches!(c as u32,
                0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF
                | 0x4E00..=0x9FFF | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
                | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x1F300..=0x1F64F
                | 0x1F900..=0x1F9FF | 0x20000..=0x3FFFD);
            if wide { 2 } else { 1 }
        })
        .sum()
}

/// `text` padded with spaces at its end to `columns` terminal columns,
/// what `{:<columns$}` does for text without wide characters.
pub fn pad_end(text: &str, columns: usize) -> String {
    format!("{text}{}", " ".repeat(columns.saturating_sub(width(text))))
}

/// `text` padded with spaces at its start to `columns` terminal columns,
/// what `{:>columns$}` does for text without wide characters.
pub fn pad_start(text: &str, columns: usize) -> String {
    format!("{}{text}", " ".repeat(columns.saturating_sub(width(text))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    fn env<'a>(vars: &'a [(&str, &str)]) -> impl Fn(&str) -> Option<String> + 'a {
        |name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        }
    }

    #[test]
    fn chinese_locales_give_chinese_and_the_rest_english() {
        for locale in [
            "zh_CN.UTF-8",
            "zh-CN",
            "zh_SG",
            "zh",
            "zh_TW.UTF-8",
            "ZH_cn",
        ] {
            assert_eq!(
                Lang::detect(None, env(&[("LANG", locale)])),
                Ok(Lang::ZhCn),
                "{locale}"
            );
        }
        for locale in ["C", "POSIX", "C.UTF-8", "en_US.UTF-8", "fr_FR", "zu"] {
            assert_eq!(
                Lang::detect(None, env(&[("LANG", locale)])),
                Ok(Lang::En),
                "{locale}"
            );
        }
        assert_eq!(Lang::detect(None, env(&[])), Ok(Lang::En));
    }

    #[test]
    fn the_flag_wins_then_lc_all_then_lc_messages_then_lang() {
        let all = [
            ("LC_ALL", "C"),
            ("LC_MESSAGES", "zh_CN.UTF-8"),
            ("LANG", "zh_CN.UTF-8"),
        ];
        assert_eq!(Lang::detect(None, env(&all)), Ok(Lang::En));
        assert_eq!(Lang::detect(Some("zh-CN"), env(&all)), Ok(Lang::ZhCn));
        let messages = [("LC_MESSAGES", "zh_CN.UTF-8"), ("LANG", "en_GB.UTF-8")];
        assert_eq!(Lang::detect(None, env(&messages)), Ok(Lang::ZhCn));
        assert_eq!(Lang::detect(Some("en"), env(&messages)), Ok(Lang::En));
        // Empty (or blank) variables are skipped, as if unset.
        let empty = [
            ("LC_ALL", ""),
            ("LC_MESSAGES", " "),
            ("LANG", "zh_CN.UTF-8"),
        ];
        assert_eq!(Lang::detect(None, env(&empty)), Ok(Lang::ZhCn));
    }

    #[test]
    fn the_flag_takes_both_languages_and_names_them_for_anything_else() {
        for flag in ["en", "EN", "en-US", "en_GB"] {
            assert_eq!(Lang::detect(Some(flag), env(&[])), Ok(Lang::En), "{flag}");
        }
        for flag in ["zh-CN", "zh_CN", "zh", "zh-Hans", "zh-cn"] {
            assert_eq!(Lang::detect(Some(flag), env(&[])), Ok(Lang::ZhCn), "{flag}");
        }
        for flag in ["fr", "", "chinese", "english"] {
            let error = Lang::detect(Some(flag), env(&[("LANG", "zh_CN.UTF-8")]))
                .expect_err("an unknown language");
            let text = error.to_string();
            assert!(text.contains("en") && text.contains("zh-CN"), "{text}");
            assert!(text.contains(&format!("{flag:?}")), "{text}");
        }
    }

    /// Every message's id and the variables it uses (`$name`), by a scan of
    /// the source: a line `id =` starts a message, which runs to the next.
    fn messages(source: &str) -> BTreeMap<String, BTreeSet<String>> {
        let start = regex::Regex::new(r"^([a-zA-Z][a-zA-Z0-9_-]*)\s*=").expect("a valid pattern");
        let variable = regex::Regex::new(r"\$([a-zA-Z][a-zA-Z0-9_-]*)").expect("a valid pattern");
        let mut messages: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut current = None;
        for line in source.lines() {
            if line.starts_with('#') {
                continue;
            }
            if let Some(captures) = start.captures(line) {
                let id = captures[1].to_owned();
                assert!(!messages.contains_key(&id), "{id} is defined twice");
                messages.insert(id.clone(), BTreeSet::new());
                current = Some(id);
            }
            if let Some(id) = &current {
                let variables = messages.entry(id.clone()).or_default();
                variables.extend(variable.captures_iter(line).map(|c| c[1].to_owned()));
            }
        }
        messages
    }

    #[test]
    fn every_fluent_message_is_translated() {
        let [(_, english), (_, chinese)] = SOURCES;
        for (lang, source) in SOURCES {
            if let Err((_, errors)) = FluentResource::try_new(source.to_owned()) {
                panic!("locales/{}/grader.ftl: {errors:?}", lang.tag());
            }
        }
        let english = messages(english);
        let chinese = messages(chinese);
        assert!(english.len() > 100, "{} messages", english.len());
        let ids = |messages: &BTreeMap<String, _>| messages.keys().cloned().collect::<Vec<_>>();
        assert_eq!(ids(&english), ids(&chinese), "the same messages in both");
        for (id, variables) in &english {
            assert_eq!(Some(variables), chinese.get(id), "the variables of {id}");
        }
        // Each one formats without an error in both, its variables given.
        for (lang, _) in SOURCES {
            let bundle = &BUNDLES[lang as usize];
            for (id, variables) in &english {
                let message = bundle
                    .get_message(id)
                    .expect("the message is in the bundle");
                let pattern = message.value().expect("the message has a value");
                let mut args = FluentArgs::new();
                for name in variables {
                    args.set(name.as_str(), 2);
                }
                let mut errors = Vec::new();
                let text = bundle.format_pattern(pattern, Some(&args), &mut errors);
                assert!(errors.is_empty(), "{} {id}: {errors:?}", lang.tag());
                assert!(!text.contains(['\u{2068}', '\u{2069}']), "{id}: {text:?}");
            }
        }
    }

    /// Every `t!("id"…)`, `tr("id")` and `tr_args("id", …)` in the grader's
    /// source names a message that exists.
    #[test]
    fn every_message_the_code_uses_exists() {
        let english = messages(SOURCES[0].1);
        let used =
            regex::Regex::new(r#"\b(?:t!|tr_args|tr)\(\s*"([^"]+)""#).expect("a valid pattern");
        let mut count = 0;
        let mut stack = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("read src/") {
                let path = entry.expect("an entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|ext| ext == "rs")
                    && !path.ends_with("l10n.rs")
                {
                    // (This module's examples and tests name made-up ids.)
                    let text = std::fs::read_to_string(&path).expect("read a source file");
                    for captures in used.captures_iter(&text) {
                        count += 1;
                        assert!(
                            english.contains_key(&captures[1]),
                            "{}: no message {}",
                            path.display(),
                            &captures[1]
                        );
                    }
                }
            }
        }
        assert!(count > 50, "{count} uses found");
    }

    #[test]
    fn arguments_are_not_isolated_and_plurals_follow_the_language() {
        let en = Lang::En.tr_args("report-skipped", &[("count", 1.into())]);
        assert_eq!(en, "(1 check skipped)");
        let en = Lang::En.tr_args("report-skipped", &[("count", 3.into())]);
        assert_eq!(en, "(3 checks skipped)");
        let zh = Lang::ZhCn.tr_args("report-skipped", &[("count", 3.into())]);
        assert_eq!(zh, "（跳过了 3 项检查）");
        assert_eq!(Lang::ZhCn.tr("no-such-message"), "no-such-message");
    }

    #[test]
    fn with_lang_applies_to_this_thread_until_it_returns() {
        assert_eq!(current(), Lang::En);
        let inner = with_lang(Lang::ZhCn, || {
            (current(), with_lang(Lang::En, current), current())
        });
        assert_eq!(inner, (Lang::ZhCn, Lang::En, Lang::ZhCn));
        assert_eq!(current(), Lang::En);
    }

    #[test]
    fn wide_characters_take_two_columns() {
        assert_eq!(width("state"), 5);
        assert_eq!(width("状态"), 4);
        assert_eq!(width("✘ 无法编译"), 10);
        assert_eq!(pad_end("单元", 6), "单元  ");
        assert_eq!(pad_end("unit", 6), format!("{:<6}", "unit"));
        assert_eq!(pad_start("得分", 6), "  得分");
        assert_eq!(pad_start("score", 9), format!("{:>9}", "score"));
        assert_eq!(pad_end("too long", 3), "too long");
    }
}
