//! A token scanner for a learner's `src/`: refuses the few Rust features
//! that read something other than the learner's own source files at
//! compile time.
//!
//! The grader builds only the learner's `src/` against the course's
//! manifest and tests (see [`crate::scratch`]). Rust can still reach
//! outside those files while compiling:
//!
//! * `include!`, `include_str!` and `include_bytes!` read any file the
//!   compiler can open: the reference solutions, the hidden checks, an
//!   instructor's private pack, `/dev/zero`;
//! * `env!` and `option_env!` read the build's environment;
//! * `#[path = "…"] mod m;` compiles any file as a module;
//! * `extern crate name;` links a crate the manifest does not list, from
//!   wherever the compiler finds one (the sysroot, the target directory).
//!
//! [`scan_dir`] lexes every `.rs` file under `src/` with a real Rust lexer
//! ([`proc_macro2`], outside any proc macro) and reports every use of
//! these, wherever it is: at the top level, inside any group (so
//! `compile_error!(include_str!(…))` is found), inside `macro_rules!`
//! bodies and macro calls, and inside `cfg_attr(…)`. Text that is not code
//! is not flagged: comments, doc comments (which the lexer turns into
//! `#[doc = "…"]` string literals) and string literals. A file that does
//! not lex is refused too, by name: the grader does not compile what it
//! could not check.
//!
//! What is flagged, precisely:
//!
//! * a call of one of [`MACROS`], with or without a path (`std::env!`,
//!   `core::include_str!`) and also written as a raw identifier
//!   (`r#include!`), unless it reads only the submission itself or the
//!   course's manifest (the course's own code does both): an `include*!`
//!   of one plain string literal naming a file beside or below the source
//!   file (no `..`, no root: `include_str!("default_policy.toml")`; for
//!   `include!`, a `.rs` file, which the scan reads too), an
//!   `env!`/`option_env!` of `CARGO_PKG_*` or `CARGO_CRATE_NAME`, which
//!   Cargo sets from the canonical manifest;
//! * the names `include_str`, `include_bytes` and `option_env` anywhere in
//!   code (they name nothing but these macros), and any of [`MACROS`]
//!   renamed in a `use` item (`use std::env as e;` would make `e!` a way
//!   around the first rule);
//! * a macro called through a macro variable (`$name!(…)` in a
//!   `macro_rules!` body), and an attribute named by one with a value
//!   (`#[$name = …]`): the two ways a macro could assemble a call or a
//!   `path` attribute from tokens that, apart, look harmless;
//! * the attribute `path` (`#[path = …]`, `#![path = …]`), also inside
//!   `cfg_attr(predicate, …)`, at any depth of nesting;
//! * `extern crate` of anything but `self`.
//!
//! This is a defence in depth, made for a clear message at the right
//! place, not the boundary: the build sandbox, which cannot read the hidden
//! checks, the solutions or the instructor's packs, is what stops a
//! submission that gets something past a token scan.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use proc_macro2::{Delimiter, Spacing, Span, TokenStream, TokenTree};

use crate::{GraderError, files};

/// The macros that read a file or the build environment at compile time.
pub const MACROS: [&str; 5] = [
    "include",
    "include_str",
    "include_bytes",
    "env",
    "option_env",
];

/// Names that mean nothing in Rust but one of [`MACROS`]: flagged wherever
/// they appear in code, called or not (as a macro argument, they could be
/// spliced into a `$name!` call).
const ONLY_MACRO_NAMES: [&str; 3] = ["include_str", "include_bytes", "option_env"];

/// Where a learner reads why a submission was refused.
pub const CHAPTER: &str = "book/grading.md, \"What happens when you run `cargo grade 01`\"";

/// What was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Forbidden {
    /// A call of one of [`MACROS`] (the name, without `r#` or path).
    Macro(String),
    /// One of [`MACROS`] named outside a call: in a `use` item, renamed,
    /// or (for names that mean nothing else) anywhere.
    MacroName(String),
    /// A macro called through a macro variable, `$name!`.
    MacroVariableCall(String),
    /// An attribute named by a macro variable, with a value: `#[$name = …]`.
    MacroVariableAttribute(String),
    /// The `path` attribute.
    PathAttribute,
    /// `extern crate` of the named crate.
    ExternCrate(String),
    /// The file is not UTF-8 text, or not Rust tokens: the lexer's message.
    DoesNotLex(String),
}

impl fmt::Display for Forbidden {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Forbidden::Macro(name) => write!(
                f,
                "`{name}!` {}",
                if name.contains("env") {
                    "(it reads the build's environment)"
                } else {
                    "(it reads another file while compiling)"
                }
            ),
            Forbidden::MacroName(name) => write!(
                f,
                "the macro name `{name}` outside a call (an import or a rename of `{name}!`)"
            ),
            Forbidden::MacroVariableCall(name) => write!(
                f,
                "a macro called through a macro variable, `${name}!` (it can call `include!` or `env!` without naming them)"
            ),
            Forbidden::MacroVariableAttribute(name) => write!(
                f,
                "an attribute named by a macro variable, `#[${name} = …]` (it can make a `#[path = …]`)"
            ),
            Forbidden::PathAttribute => write!(
                f,
                "the `#[path = …]` attribute (it compiles a file from outside your src/ as a module)"
            ),
            Forbidden::ExternCrate(name) => write!(
                f,
                "`extern crate {name}` (it links a crate that the course's Cargo.toml does not list)"
            ),
            Forbidden::DoesNotLex(message) => write!(
                f,
                "a file the grader cannot read as Rust tokens ({message})"
            ),
        }
    }
}

/// One refused use, at a place in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The file, relative to the `src/` folder scanned (`lib.rs`, `net/mod.rs`).
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What was found there.
    pub what: Forbidden,
}

/// The learner-facing message: where, what, why, and where to read more.
impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "src/{}:{}:{}: the grader takes only your own source files: {} is not allowed in a \
             submission; see {CHAPTER}",
            self.file.display(),
            self.line,
            self.column,
            self.what,
        )
    }
}

/// Scans every `.rs` file under `src` (a learner's `src/` folder), in
/// path order, and returns what is refused, in file order. An empty list
/// means the submission may be built. A symbolic link is an error
/// ([`GraderError::Symlink`]), as everywhere in the grader, and so is a
/// file that cannot be read.
pub fn scan_dir(src: &Path) -> Result<Vec<Finding>, GraderError> {
    let mut findings = Vec::new();
    for path in files::list(src)? {
        if path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let relative = path.strip_prefix(src).unwrap_or(&path).to_owned();
        let bytes = std::fs::read(&path).map_err(|source| GraderError::Io {
            path: path.clone(),
            source,
        })?;
        match String::from_utf8(bytes) {
            Ok(text) => findings.extend(scan_source(&relative, &text)),
            Err(error) => findings.push(Finding {
                file: relative,
                line: 1,
                column: 1,
                what: Forbidden::DoesNotLex(format!("not UTF-8 text: {error}")),
            }),
        }
    }
    Ok(findings)
}

/// Scans one file's text; `file` is only used to name it in the findings.
pub fn scan_source(file: &Path, text: &str) -> Vec<Finding> {
    // rustc ignores a byte-order mark and a first line `#!…` that does not
    // start an inner attribute (`#![`); the lexer knows neither, and a
    // shebang is no reason to refuse a file. Blanking them keeps every
    // line and column where it was.
    let mut text = text.strip_prefix('\u{feff}').unwrap_or(text).to_owned();
    if text.starts_with("#!") && !text[2..].trim_start().starts_with('[') {
        let end = text.find('\n').unwrap_or(text.len());
        text.replace_range(..end, &" ".repeat(text[..end].chars().count()));
    }
    let mut scanner = Scanner {
        file,
        findings: Vec::new(),
    };
    match TokenStream::from_str(&text) {
        Ok(stream) => scanner.walk(&stream.into_iter().collect::<Vec<_>>()),
        Err(error) => scanner.push(error.span(), Forbidden::DoesNotLex(error.to_string())),
    }
    scanner.findings.sort_by_key(|f| (f.line, f.column));
    scanner.findings
}

struct Scanner<'a> {
    file: &'a Path,
    findings: Vec<Finding>,
}

/// An identifier's name without `r#`.
fn name(ident: &proc_macro2::Ident) -> String {
    let text = ident.to_string();
    text.strip_prefix("r#").map(str::to_owned).unwrap_or(text)
}

fn is_punct(token: Option<&TokenTree>, c: char) -> bool {
    matches!(token, Some(TokenTree::Punct(p)) if p.as_char() == c)
}

fn is_ident(token: Option<&TokenTree>, wanted: &str) -> bool {
    matches!(token, Some(TokenTree::Ident(i)) if name(i) == wanted)
}

/// `!` that starts a macro call: not the first half of `!=`.
fn is_bang(tokens: &[TokenTree], i: usize) -> bool {
    match tokens.get(i) {
        Some(TokenTree::Punct(p)) if p.as_char() == '!' => {
            !(p.spacing() == Spacing::Joint && is_punct(tokens.get(i + 1), '='))
        }
        _ => false,
    }
}

/// The text of a plain or raw string literal without escapes (`"a/b"`,
/// `r#"a/b"#`); `None` for anything else, a string with escapes included.
fn plain_string(token: &TokenTree) -> Option<String> {
    let TokenTree::Literal(literal) = token else {
        return None;
    };
    let text = literal.to_string();
    if let Some(raw) = text.strip_prefix('r') {
        let hashes = raw.len() - raw.trim_start_matches('#').len();
        let inner = raw.get(hashes..raw.len() - hashes)?;
        return Some(inner.strip_prefix('"')?.strip_suffix('"')?.to_owned());
    }
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains('\\')).then(|| inner.to_owned())
}

/// Whether the call of the reading macro `id` at `tokens[i]` (its `!` at
/// `i + 1`, its arguments at `i + 2`) reads only the learner's own code or
/// the canonical manifest: `include_str!("default_policy.toml")`, a file
/// beside the source, below it, named by one plain string (no `..`, no
/// root); `env!("CARGO_PKG_VERSION")`, a variable that Cargo sets from the
/// course's manifest. Anything computed (`concat!`), escaped or pointing
/// elsewhere is refused.
fn allowed_call(id: &str, tokens: &[TokenTree], i: usize) -> bool {
    let Some(TokenTree::Group(group)) = tokens.get(i + 2) else {
        return false;
    };
    let arguments: Vec<TokenTree> = group.stream().into_iter().collect();
    let Some(first) = arguments.first().and_then(plain_string) else {
        return false;
    };
    let rest_is_fine = match &arguments[1..] {
        [] => true,
        [TokenTree::Punct(comma)] => comma.as_char() == ',',
        // `env!("NAME", "message if unset")`.
        [TokenTree::Punct(comma), message, rest @ ..] => {
            id == "env"
                && comma.as_char() == ','
                && plain_string(message).is_some()
                && matches!(rest, [] | [TokenTree::Punct(_)])
        }
        _ => false,
    };
    rest_is_fine
        && match id {
            "env" | "option_env" => first.starts_with("CARGO_PKG_") || first == "CARGO_CRATE_NAME",
            // `include!` compiles the file as code: only a `.rs` file,
            // which this scan reads too.
            "include" if !first.ends_with(".rs") => false,
            _ => {
                !first.is_empty()
                    && first
                        .split(['/', '\\'])
                        .all(|part| !part.is_empty() && part != ".." && !part.contains(':'))
            }
        }
}

impl Scanner<'_> {
    fn push(&mut self, span: Span, what: Forbidden) {
        let start = span.start();
        self.findings.push(Finding {
            file: self.file.to_owned(),
            line: start.line.max(1),
            column: start.column + 1,
            what,
        });
    }

    /// Scans one token list and every group in it.
    fn walk(&mut self, tokens: &[TokenTree]) {
        // Set while inside a `use` item (up to its `;`).
        let mut in_use = false;
        for (i, token) in tokens.iter().enumerate() {
            match token {
                TokenTree::Ident(ident) => {
                    let id = name(ident);
                    let called = is_bang(tokens, i + 1);
                    if called && MACROS.contains(&id.as_str()) {
                        if !allowed_call(&id, tokens, i) {
                            self.push(ident.span(), Forbidden::Macro(id.clone()));
                        }
                    } else if ONLY_MACRO_NAMES.contains(&id.as_str())
                        || (in_use
                            && MACROS.contains(&id.as_str())
                            && is_ident(tokens.get(i + 1), "as"))
                    {
                        // `use std::env;` brings the module (and the macro,
                        // which a call then names: the first rule); only a
                        // rename, `use std::env as e;`, would hide a call.
                        self.push(ident.span(), Forbidden::MacroName(id.clone()));
                    }
                    if is_punct(tokens.get(i.wrapping_sub(1)), '$') && called {
                        self.push(ident.span(), Forbidden::MacroVariableCall(id.clone()));
                    }
                    if id == "use" && !is_punct(tokens.get(i.wrapping_sub(1)), '$') {
                        in_use = true;
                    }
                    if id == "extern"
                        && is_ident(tokens.get(i + 1), "crate")
                        && !is_ident(tokens.get(i + 2), "self")
                    {
                        let crate_name = match (tokens.get(i + 2), tokens.get(i + 3)) {
                            (Some(TokenTree::Ident(c)), _) => name(c),
                            // `extern crate $name;` in a macro_rules body.
                            (Some(TokenTree::Punct(p)), Some(TokenTree::Ident(v)))
                                if p.as_char() == '$' =>
                            {
                                format!("${v}")
                            }
                            (Some(other), _) => other.to_string(),
                            (None, _) => String::new(),
                        };
                        self.push(ident.span(), Forbidden::ExternCrate(crate_name));
                    }
                }
                TokenTree::Punct(p) if p.as_char() == ';' => in_use = false,
                TokenTree::Punct(p) if p.as_char() == '#' => {
                    // `#[…]` or `#![…]`.
                    let at = if is_punct(tokens.get(i + 1), '!') {
                        i + 2
                    } else {
                        i + 1
                    };
                    if let Some(TokenTree::Group(group)) = tokens.get(at)
                        && group.delimiter() == Delimiter::Bracket
                    {
                        let inside: Vec<TokenTree> = group.stream().into_iter().collect();
                        self.attribute(&inside);
                    }
                }
                TokenTree::Group(group) => {
                    let inside: Vec<TokenTree> = group.stream().into_iter().collect();
                    // A `use` tree's braces: `use std::{env as e, fs};`.
                    if in_use && group.delimiter() == Delimiter::Brace {
                        self.use_tree(&inside);
                    }
                    self.walk(&inside);
                }
                _ => {}
            }
        }
    }

    /// Inside a `use` item's braces, the same rules as after `use`.
    fn use_tree(&mut self, tokens: &[TokenTree]) {
        for (i, token) in tokens.iter().enumerate() {
            match token {
                TokenTree::Ident(ident) => {
                    let id = name(ident);
                    if MACROS.contains(&id.as_str())
                        && !ONLY_MACRO_NAMES.contains(&id.as_str())
                        && is_ident(tokens.get(i + 1), "as")
                    {
                        self.push(ident.span(), Forbidden::MacroName(id));
                    }
                }
                TokenTree::Group(group) if group.delimiter() == Delimiter::Brace => {
                    let inside: Vec<TokenTree> = group.stream().into_iter().collect();
                    self.use_tree(&inside);
                }
                _ => {}
            }
        }
    }

    /// The tokens inside an attribute's brackets (its groups are walked by
    /// [`Scanner::walk`] as well, for macro calls in them).
    fn attribute(&mut self, tokens: &[TokenTree]) {
        match tokens.first() {
            Some(TokenTree::Ident(ident))
                if name(ident) == "path" && is_punct(tokens.get(1), '=') =>
            {
                self.push(ident.span(), Forbidden::PathAttribute);
            }
            Some(TokenTree::Ident(ident)) if name(ident) == "cfg_attr" => {
                if let Some(TokenTree::Group(group)) = tokens.get(1)
                    && group.delimiter() == Delimiter::Parenthesis
                {
                    // `cfg_attr(predicate, attr, attr, …)`: every part but
                    // the first is an attribute.
                    let inside: Vec<TokenTree> = group.stream().into_iter().collect();
                    for part in inside
                        .split(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == ','))
                        .skip(1)
                    {
                        self.attribute(part);
                    }
                }
            }
            Some(TokenTree::Punct(dollar)) if dollar.as_char() == '$' => {
                if let Some(TokenTree::Ident(variable)) = tokens.get(1)
                    && is_punct(tokens.get(2), '=')
                {
                    self.push(
                        variable.span(),
                        Forbidden::MacroVariableAttribute(name(variable)),
                    );
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(line, column, what)` of every finding in `text`.
    fn scan(text: &str) -> Vec<(usize, usize, Forbidden)> {
        scan_source(Path::new("lib.rs"), text)
            .into_iter()
            .map(|f| (f.line, f.column, f.what))
            .collect()
    }

    fn whats(text: &str) -> Vec<Forbidden> {
        scan(text).into_iter().map(|(_, _, what)| what).collect()
    }

    fn mac(name: &str) -> Forbidden {
        Forbidden::Macro(name.to_owned())
    }

    #[test]
    fn every_reading_macro_is_found_with_its_place() {
        let text = "const A: &str = include_str!(\"../tests/hidden.rs\");\n\
                    const B: &[u8] = include_bytes!(\"/dev/zero\");\n\
                    \x20   include!(\"../../solutions/05-queue/src/core.rs\");\n\
                    const C: &str = env!(\"HOME\");\n\
                    const D: Option<&str> = option_env!(\"CARGO_MANIFEST_DIR\");\n";
        assert_eq!(
            scan(text),
            vec![
                (1, 17, mac("include_str")),
                (2, 18, mac("include_bytes")),
                (3, 5, mac("include")),
                (4, 17, mac("env")),
                (5, 25, mac("option_env")),
            ]
        );
    }

    #[test]
    fn own_files_and_the_manifest_s_package_fields_are_allowed() {
        let allowed = "const T: &str = include_str!(\"default_policy.toml\");\n\
                       const U: &[u8] = include_bytes!(r#\"data/table.bin\"#);\n\
                       include!(\"generated.rs\",);\n\
                       const V: &str = concat!(\"x/\", env!(\"CARGO_PKG_VERSION\"));\n\
                       const W: Option<&str> = option_env!(\"CARGO_PKG_NAME\");\n\
                       const X: &str = env!(\"CARGO_CRATE_NAME\", \"always set\");\n";
        assert_eq!(whats(allowed), []);
        let refused = [
            "include_str!(\"../tests/hidden.rs\")",
            "include_str!(\"data/../../tests/hidden.rs\")",
            "include_str!(\"/dev/zero\")",
            "include_str!(r\"..\\tests\\hidden.rs\")",
            "include_str!(\"C:/x\")",
            "include_str!(\"\")",
            "include_str!(\"\\x2e\\x2e/tests/hidden.rs\")",
            "include_str!(concat!(\"..\", \"/tests/hidden.rs\"))",
            "include!(\"ok.rs\", \"extra\")",
            "include!(\"code.txt\")",
            "env!(\"CARGO_MANIFEST_DIR\")",
            "env!(\"HOME\")",
            "option_env!(\"PATH\")",
            "env!(concat!(\"CARGO_PKG_\", \"X\"))",
        ];
        for call in refused {
            let text = format!("const A: &str = {call};");
            assert_eq!(whats(&text).len(), 1, "{call} is refused");
        }
    }

    #[test]
    fn paths_and_raw_identifiers_do_not_hide_a_macro() {
        let text = "const A: &str = std::include_str!(\"../x\");\n\
                    const B: &str = ::core::env!(\"HOME\");\n\
                    r#include!(\"/x.rs\");\n\
                    const C: &str = core::r#include_str ! (\"../x\");\n";
        assert_eq!(
            whats(text),
            [
                mac("include_str"),
                mac("env"),
                mac("include"),
                mac("include_str")
            ]
        );
    }

    #[test]
    fn nested_macros_are_found() {
        assert_eq!(
            scan("compile_error!(include_str!(\"../tests/hidden.rs\"));"),
            vec![(1, 16, mac("include_str"))]
        );
        assert_eq!(
            whats("fn f() { let v = vec![(1, [concat!(\"a\", env!(\"X\"))])]; }"),
            [mac("env")]
        );
        assert_eq!(
            whats("#[doc = include_str!(\"../../solutions/05-queue/src/core.rs\")]\nmod m {}"),
            [mac("include_str")]
        );
    }

    #[test]
    fn macro_rules_bodies_are_scanned() {
        let text = "macro_rules! leak {\n    () => { include_str!(\"../tests/hidden.rs\") };\n}\n\
                    macro_rules! module {\n    () => { #[path = \"x.rs\"] mod x; };\n}\n";
        assert_eq!(
            scan(text),
            vec![
                (2, 13, mac("include_str")),
                (5, 15, Forbidden::PathAttribute)
            ]
        );
    }

    #[test]
    fn macros_assembled_from_variables_are_found() {
        let text = "macro_rules! call { ($m:ident) => { $m!(\"../tests/hidden.rs\") }; }\n\
                    macro_rules! attr { ($a:ident) => { #[$a = \"x.rs\"] mod x; }; }\n\
                    macro_rules! fine { ($(#[$meta:meta])* $v:vis) => { $(#[$meta])* $v fn f() {} }; }\n";
        assert_eq!(
            whats(text),
            [
                Forbidden::MacroVariableCall("m".into()),
                Forbidden::MacroVariableAttribute("a".into()),
            ]
        );
        // The names alone, as arguments, to be spliced in.
        assert_eq!(
            whats("call!(include_str); call!(option_env);"),
            [
                Forbidden::MacroName("include_str".into()),
                Forbidden::MacroName("option_env".into())
            ]
        );
    }

    #[test]
    fn imports_and_renames_of_the_macros_are_found() {
        assert_eq!(
            whats(
                "use std::include_str as read;\nuse core::{env as e, fmt};\nuse std::include as i;"
            ),
            [
                Forbidden::MacroName("include_str".into()),
                Forbidden::MacroName("env".into()),
                Forbidden::MacroName("include".into()),
            ]
        );
        // The env *module* is fine, imported or used.
        assert_eq!(
            whats(
                "use std::env;\nuse std::env::var;\nuse std::{env::args, fs};\n\
                 fn f() -> Option<String> { std::env::var(\"X\").ok() }\n\
                 fn g(env: u32, include: bool) -> bool { env > 0 && include && env != 3 }"
            ),
            []
        );
    }

    #[test]
    fn path_attributes_are_found_also_in_cfg_attr() {
        let text = "#[path = \"../../solutions/05-queue/src/core.rs\"]\nmod a;\n\
                    #![path = \"x\"]\n\
                    #[cfg_attr(test, path = \"y.rs\")]\nmod b;\n\
                    #[cfg_attr(all(unix, not(test)), allow(dead_code), cfg_attr(unix, path = \"z.rs\"))]\nmod c;\n\
                    #[r#path = \"w.rs\"]\nmod d;\n";
        assert_eq!(
            scan(text),
            vec![
                (1, 3, Forbidden::PathAttribute),
                (3, 4, Forbidden::PathAttribute),
                (4, 18, Forbidden::PathAttribute),
                (6, 67, Forbidden::PathAttribute),
                (8, 3, Forbidden::PathAttribute),
            ]
        );
    }

    #[test]
    fn other_attributes_and_paths_are_fine() {
        let text = "#[cfg_attr(test, derive(Debug))]\n#[doc(alias = \"path\")]\n\
                    #[cfg(feature = \"path\")]\nstruct S { path: String }\n\
                    fn f(path: &str) -> bool { let mut p = path; p = \"x\"; p == path }\n";
        assert_eq!(whats(text), []);
    }

    #[test]
    fn extern_crate_is_found_but_not_self() {
        let text = "extern crate self as queue;\nextern crate std as s;\n\
                    macro_rules! m { ($c:ident) => { extern crate $c; } }\n\
                    extern \"C\" {}\nextern crate r#proc_macro;\n";
        assert_eq!(
            scan(text),
            vec![
                (2, 1, Forbidden::ExternCrate("std".into())),
                (3, 34, Forbidden::ExternCrate("$c".into())),
                (5, 1, Forbidden::ExternCrate("proc_macro".into())),
            ]
        );
    }

    #[test]
    fn comments_doc_comments_and_strings_are_not_code() {
        let text = "//! Use `include_str!(\"x\")` and #[path = \"y\"] only in docs.\n\
                    /// include!(\"../tests/hidden.rs\"); env!(\"HOME\"); extern crate std;\n\
                    /** #[path = \"z\"] mod z; */\n\
                    fn f() -> &'static str {\n\
                    \x20   // include_bytes!(\"/dev/zero\")\n\
                    \x20   /* option_env!(\"X\") /* nested include!() */ */\n\
                    \x20   let _ = r#\"include!(\"x\") #[path = \"y\"]\"#;\n\
                    \x20   \"env!(\\\"HOME\\\") extern crate x;\"\n\
                    }\n";
        assert_eq!(whats(text), []);
    }

    #[test]
    fn not_equal_is_not_a_macro_call() {
        assert_eq!(whats("fn f(env: u8) -> bool { env != 1 }"), []);
        assert_eq!(whats("fn f(include: u8) -> bool { include!= 1 }"), []);
    }

    #[test]
    fn a_file_that_does_not_lex_is_refused_with_its_place() {
        let found = scan("fn f() {\n    let s = \"never closed;\n}\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(matches!(found[0].2, Forbidden::DoesNotLex(_)), "{found:?}");
        let found = scan("fn f() { ( }");
        assert!(
            matches!(found[..], [(_, _, Forbidden::DoesNotLex(_))]),
            "{found:?}"
        );
    }

    #[test]
    fn a_shebang_and_a_byte_order_mark_are_fine() {
        assert_eq!(
            scan("\u{feff}#!/usr/bin/env run-cargo-script\nfn main() { env!(\"X\"); }"),
            vec![(2, 13, mac("env"))]
        );
        // `#![…]` on the first line is an attribute, not a shebang.
        assert_eq!(
            whats("#![path = \"x\"]\nfn main() {}"),
            [Forbidden::PathAttribute]
        );
    }

    #[test]
    fn the_message_says_where_what_and_why() {
        let finding = Finding {
            file: PathBuf::from("net/mod.rs"),
            line: 3,
            column: 9,
            what: mac("include_str"),
        };
        let text = finding.to_string();
        assert!(
            text.starts_with(
                "src/net/mod.rs:3:9: the grader takes only your own source files: `include_str!`"
            ),
            "{text}"
        );
        assert!(text.contains("is not allowed in a submission"), "{text}");
        assert!(text.ends_with(&format!("see {CHAPTER}")), "{text}");
    }

    #[test]
    fn a_folder_is_scanned_file_by_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("net")).expect("mkdir");
        std::fs::write(src.join("lib.rs"), "mod net;\npub fn ok() {}\n").expect("write");
        std::fs::write(
            src.join("net/mod.rs"),
            "pub const H: &str = include_str!(\"../../tests/hidden.rs\");\n",
        )
        .expect("write");
        std::fs::write(src.join("bad.rs"), [0xff, 0xfe, b'\n']).expect("write");
        std::fs::write(src.join("notes.txt"), "include!(\"x\")").expect("write");
        let found = scan_dir(&src).expect("scan");
        let brief: Vec<(String, usize, Forbidden)> = found
            .into_iter()
            .map(|f| (f.file.display().to_string(), f.line, f.what))
            .collect();
        assert_eq!(brief.len(), 2, "{brief:?}");
        assert_eq!(brief[0].0, "bad.rs");
        assert!(matches!(brief[0].2, Forbidden::DoesNotLex(_)));
        assert_eq!(brief[1], ("net/mod.rs".into(), 1, mac("include_str")));
    }

    #[test]
    fn the_course_own_code_is_clean() {
        let root = crate::repo_root();
        for base in ["solutions", "exercises"] {
            let Ok(units) = std::fs::read_dir(root.join(base)) else {
                continue;
            };
            for unit in units.flatten() {
                // Units only (`01-connection`), not the learner's launcher.
                if !unit
                    .file_name()
                    .to_string_lossy()
                    .starts_with(|c: char| c.is_ascii_digit())
                {
                    continue;
                }
                let src = unit.path().join("src");
                if src.is_dir() {
                    let found = scan_dir(&src).expect("scan");
                    assert!(found.is_empty(), "{}: {found:#?}", src.display());
                }
            }
        }
    }

    #[test]
    fn the_build_time_cheats_of_unit_05_are_found_and_only_they() {
        let root = crate::repo_root();
        let all = crate::units::load_all(&root).expect("units load");
        let unit = crate::units::find(&all, "05").expect("unit 05");
        let dest = tempfile::tempdir().expect("temp dir");
        let expected: [(&str, &[Forbidden]); 5] = [
            ("cheat_path_attribute_solution", &[Forbidden::PathAttribute]),
            ("cheat_include_solution", &[Forbidden::Macro(String::new())]),
            (
                "cheat_compile_error_hidden_tests",
                &[Forbidden::Macro(String::new())],
            ),
            (
                "cheat_include_bytes_dev_zero",
                &[Forbidden::Macro(String::new())],
            ),
            (
                "cheat_build_environment",
                &[Forbidden::Macro(String::new())],
            ),
        ];
        for (name, wrong) in crate::wrong::load(&root, unit).expect("wrong submissions") {
            let dir = crate::wrong::materialize(&root, unit, &name, &wrong, dest.path())
                .expect("materialize");
            let found = scan_dir(&dir.join("05-queue/src")).expect("scan");
            match expected.iter().find(|(cheat, _)| *cheat == name) {
                Some((_, kinds)) => {
                    assert!(!found.is_empty(), "{name}: nothing found");
                    for finding in &found {
                        assert!(
                            kinds.iter().any(|kind| std::mem::discriminant(kind)
                                == std::mem::discriminant(&finding.what)),
                            "{name}: {finding}"
                        );
                    }
                }
                // Run-time attacks are the sandbox's: nothing to see here.
                None => assert!(found.is_empty(), "{name}: {found:#?}"),
            }
        }
    }
}
