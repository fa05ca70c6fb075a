//! Short explanations of what a learner meets first: a compile error, a
//! panic in their code, a check that timed out.
//!
//! The raw material is long (cargo's output, a panic's stderr); what a
//! newcomer needs is the first error with its source lines, one sentence on
//! what that kind of error usually means, and where to look next.

use std::fmt::Write;
use std::sync::LazyLock;

use regex::Regex;

use crate::l10n::t;
use crate::report::CheckReport;
use crate::run::CheckStatus;

/// How many lines of the first compiler error are shown.
const FIRST_ERROR_LINES: usize = 18;
/// How many further errors are listed (one line each).
const MORE_ERRORS: usize = 5;

/// The first line of a compiler error: `error[E0308]: mismatched types`.
static ERROR_HEAD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^error(\[(E\d{4})\])?: ").expect("the error pattern is valid"));

/// Where a panic happened: `panicked at src/client.rs:12:5:`.
static PANIC_AT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"panicked at ([^\s:]+):(\d+):(\d+):").expect("the panic pattern is valid")
});

/// A crate the compiler could not find, in the words of the rustc versions
/// the course supports: `use of unresolved module or unlinked crate `http``,
/// `use of undeclared crate or module `http``, `cannot find module or crate
/// `http` in this scope`.
static MISSING_CRATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?:unresolved module or unlinked crate|undeclared crate or module|cannot find module or crate) `([A-Za-z_][A-Za-z0-9_]*)`",
    )
    .expect("the missing-crate pattern is valid")
});

/// rustc's advice to add a crate (`= help: … use `cargo add http` to add it
/// to your `Cargo.toml``): wrong here, since the grader builds with the
/// course's manifest, so it is never shown.
static CARGO_ADD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"`cargo add [^`]*`").expect("the cargo-add pattern is valid"));

/// A source line in a rendered diagnostic: `12 |     use http::header;`.
static SOURCE_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*\d+\s*\| ?(.*)$").expect("the source-line pattern is valid"));

/// Crates a learner reaches for that the course's manifests do not have,
/// and where the same items are: (crate, the course dependency that
/// re-exports it, the path to use instead, a note: see [`reexport_note`]).
const REEXPORTS: &[(&str, &str, &str, &str)] = &[
    (
        "http",
        "tokio-tungstenite",
        "tokio_tungstenite::tungstenite::http",
        "",
    ),
    ("http", "axum", "axum::http", ""),
    (
        "tungstenite",
        "tokio-tungstenite",
        "tokio_tungstenite::tungstenite",
        "",
    ),
    ("futures", "futures-util", "futures_util", "futures"),
    (
        "bytes",
        "tokio-tungstenite",
        "tokio_tungstenite::tungstenite::Bytes",
        "bytes",
    ),
    ("bytes", "axum", "axum::body::Bytes", "bytes"),
    ("serde_derive", "serde", "serde", "serde-derive"),
    ("log", "tracing", "tracing", "log"),
];

/// The note of a [`REEXPORTS`] row, by its key.
fn reexport_note(key: &str) -> Option<String> {
    Some(match key {
        "futures" => t!("reexport-note-futures"),
        "bytes" => t!("reexport-note-bytes"),
        "serde-derive" => t!("reexport-note-serde-derive"),
        "log" => t!("reexport-note-log"),
        _ => return None,
    })
}

/// The scratch folder of a submission graded with `--submission DIR`, as
/// paths in its compiler messages start: `submission-5719450b30e3760c/`.
static SUBMISSION_LABEL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"submission-[0-9a-f]{16}/").expect("the label pattern is valid"));

/// Paths as the learner knows them: a submission's scratch label is
/// dropped (`01-connection/src/…`, relative to the submission folder);
/// `exercises/01-connection/src/…` is already the learner's path.
fn learner_paths(text: &str) -> String {
    SUBMISSION_LABEL.replace_all(text, "").into_owned()
}

/// One compiler error: its rendered lines.
struct CompileError<'a> {
    code: Option<&'a str>,
    lines: Vec<&'a str>,
}

/// Splits rendered compiler output into errors, dropping cargo's and
/// rustc's summaries ("aborting due to …", "could not compile …").
fn compile_errors(text: &str) -> Vec<CompileError<'_>> {
    let mut errors: Vec<CompileError<'_>> = Vec::new();
    for line in text.lines() {
        if let Some(captures) = ERROR_HEAD.captures(line) {
            let summary = line.starts_with("error: aborting due to")
                || line.starts_with("error: could not compile");
            if summary {
                errors.push(CompileError {
                    code: Some("summary"),
                    lines: Vec::new(),
                });
                continue;
            }
            errors.push(CompileError {
                code: captures.get(2).map(|m| m.as_str()),
                lines: vec![line],
            });
        } else if let Some(current) = errors.last_mut()
            && current.code != Some("summary")
        {
            current.lines.push(line);
        }
    }
    errors.retain(|error| error.code != Some("summary"));
    // The library is compiled once for each test target's build: the same
    // error comes twice. Keep the first of identical ones.
    let mut seen = std::collections::HashSet::new();
    errors.retain(|error| seen.insert(error.lines.join("\n")));
    for error in &mut errors {
        while error
            .lines
            .last()
            .is_some_and(|line| line.trim().is_empty())
        {
            error.lines.pop();
        }
    }
    errors
}

/// One sentence on what a common error code usually means.
fn meaning(code: &str) -> Option<String> {
    Some(match code {
        "E0308" => t!("meaning-e0308"),
        "E0425" => t!("meaning-e0425"),
        "E0432" | "E0433" => t!("meaning-e0432"),
        "E0599" => t!("meaning-e0599"),
        "E0382" => t!("meaning-e0382"),
        "E0499" | "E0502" | "E0506" => t!("meaning-e0499"),
        "E0277" => t!("meaning-e0277"),
        "E0061" => t!("meaning-e0061"),
        "E0063" | "E0560" => t!("meaning-e0063"),
        "E0369" => t!("meaning-e0369"),
        "E0004" => t!("meaning-e0004"),
        "E0384" => t!("meaning-e0384"),
        "E0596" => t!("meaning-e0596"),
        "E0728" => t!("meaning-e0728"),
        _ => return None,
    })
}

/// The explanation for a unit that does not compile, indented for the
/// terminal: the first error with its source lines, what it means, and
/// the others in one line each.
pub fn build_failure(slug: &str, output: &str) -> String {
    let dependencies = crate::stubs::course_dependencies(&crate::repo_root(), slug)
        .ok()
        .and_then(|mut tables| tables.remove("dependencies"))
        .unwrap_or_default();
    build_failure_with(slug, output, &dependencies)
}

/// [`build_failure`], given the unit's dependencies in the course's
/// manifest (Cargo package names).
pub fn build_failure_with(slug: &str, output: &str, dependencies: &[String]) -> String {
    let mut out = String::new();
    let output = learner_paths(output);
    let mut errors = compile_errors(&output);
    let missing = missing_crates(&errors, dependencies);
    for error in &mut errors {
        error.lines.retain(|line| !CARGO_ADD.is_match(line));
        while error
            .lines
            .last()
            .is_some_and(|line| matches!(line.trim(), "" | "|"))
        {
            error.lines.pop();
        }
    }
    let Some(first) = errors.first() else {
        // Cargo failed before the compiler said anything (a manifest
        // problem, a build timeout): show the end of what it said.
        let _ = writeln!(out, "  {}\n", t!("build-cargo-said"));
        let lines: Vec<&str> = output.lines().collect();
        for line in &lines[lines.len().saturating_sub(FIRST_ERROR_LINES)..] {
            let _ = writeln!(out, "    {line}");
        }
        return out;
    };
    let _ = writeln!(
        out,
        "  {}\n",
        t!("build-does-not-compile", count = errors.len())
    );
    for line in first.lines.iter().take(FIRST_ERROR_LINES) {
        let _ = writeln!(out, "    {line}");
    }
    if first.lines.len() > FIRST_ERROR_LINES {
        let _ = writeln!(out, "    …");
    }
    if let Some(text) = first.code.and_then(meaning) {
        let _ = writeln!(out, "\n  {}", t!("build-meaning", meaning = text));
    }
    if let Some(code) = first.code {
        let _ = writeln!(out, "  {}", t!("build-more", code = code));
    }
    if errors.len() > 1 {
        let _ = writeln!(out, "\n  {}", t!("build-other-errors"));
        for error in errors.iter().skip(1).take(MORE_ERRORS) {
            let location = error
                .lines
                .iter()
                .find_map(|line| line.trim_start().strip_prefix("--> "))
                .unwrap_or("");
            let _ = writeln!(out, "    {}  {location}", error.lines[0]);
        }
        if errors.len() > 1 + MORE_ERRORS {
            let more = errors.len() - 1 - MORE_ERRORS;
            let _ = writeln!(out, "    {}", t!("build-and-more", count = more));
        }
    }
    if missing.is_empty() {
        let _ = writeln!(out);
        indent(&mut out, &t!("build-manifest-note", slug = slug));
    } else {
        out.push_str(&missing_crates_fix(slug, &missing, &errors, dependencies));
    }
    out
}

/// Compiler output as the instructors' formats show it to a learner
/// (Gradescope, the step summary): without rustc's advice to `cargo add` a
/// crate, which cannot work here, and with what to do instead when the
/// errors name a crate the unit's manifest lacks.
pub fn build_output_for_learner(slug: &str, output: &str) -> String {
    let dependencies = crate::stubs::course_dependencies(&crate::repo_root(), slug)
        .ok()
        .and_then(|mut tables| tables.remove("dependencies"))
        .unwrap_or_default();
    let mut text: String = output
        .lines()
        .filter(|line| !CARGO_ADD.is_match(line))
        .map(|line| format!("{line}\n"))
        .collect();
    let cleaned = learner_paths(output);
    let errors = compile_errors(&cleaned);
    let missing = missing_crates(&errors, &dependencies);
    if !missing.is_empty() {
        text.push_str(&missing_crates_fix(slug, &missing, &errors, &dependencies));
    }
    text
}

/// The crates the errors name that are not dependencies of the unit in the
/// course's manifest, in the order they first appear.
fn missing_crates(errors: &[CompileError<'_>], dependencies: &[String]) -> Vec<String> {
    let known: Vec<String> = dependencies.iter().map(|d| d.replace('-', "_")).collect();
    let mut missing: Vec<String> = Vec::new();
    for error in errors {
        if !matches!(error.code, Some("E0432" | "E0433")) {
            continue;
        }
        for line in &error.lines {
            for captures in MISSING_CRATE.captures_iter(line) {
                let name = captures[1].to_owned();
                let builtin =
                    ["std", "core", "alloc", "crate", "self", "super"].contains(&name.as_str());
                if !builtin && !known.contains(&name) && !missing.contains(&name) {
                    missing.push(name);
                }
            }
        }
    }
    missing
}

/// What to do about crates the course's manifest lacks: use the path the
/// unit's own dependencies re-export them under, and undo the change to
/// Cargo.toml, which the grader does not read.
fn missing_crates_fix(
    slug: &str,
    missing: &[String],
    errors: &[CompileError<'_>],
    dependencies: &[String],
) -> String {
    let mut out = String::new();
    let names = missing
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let _ = writeln!(out);
    indent(
        &mut out,
        &t!(
            "missing-crates",
            names = names,
            count = missing.len(),
            slug = slug
        ),
    );
    for name in missing {
        let found = REEXPORTS.iter().find(|(krate, dependency, _, _)| {
            krate == name && dependencies.iter().any(|d| d == dependency)
        });
        match found {
            Some((_, dependency, path, note)) => {
                let line = match reexport_note(note) {
                    Some(note) => t!(
                        "missing-crate-reexport-note",
                        name = name,
                        path = *path,
                        dependency = *dependency,
                        note = note
                    ),
                    None => t!(
                        "missing-crate-reexport",
                        name = name,
                        path = *path,
                        dependency = *dependency
                    ),
                };
                let _ = writeln!(out, "    {line}");
                if let Some(example) = rewritten_use(errors, name, path) {
                    let _ = writeln!(
                        out,
                        "      {}",
                        t!("missing-crate-example", example = example)
                    );
                }
            }
            None => {
                let _ = writeln!(out, "    {}", t!("missing-crate-no-reexport", name = name));
            }
        }
    }
    indent(
        &mut out,
        &t!(
            "missing-crates-undo",
            slug = slug,
            dependencies = dependencies.join(", ")
        ),
    );
    out
}

/// Appends each line of `text`, indented by two spaces.
fn indent(out: &mut String, text: &str) {
    for line in text.lines() {
        let _ = writeln!(out, "  {line}");
    }
}

/// The learner's own `use` line naming `name`, rewritten to `path`:
/// `use http::header::AUTHORIZATION;` → `use
/// tokio_tungstenite::tungstenite::http::header::AUTHORIZATION;`.
fn rewritten_use(errors: &[CompileError<'_>], name: &str, path: &str) -> Option<String> {
    let prefix = format!("use {name}::");
    errors
        .iter()
        .flat_map(|error| &error.lines)
        .find_map(|line| {
            let code = SOURCE_LINE.captures(line)?.get(1)?.as_str().trim();
            let rest = code.strip_prefix(&prefix)?;
            // Only a module or crate re-export takes the rest of the path
            // (`bytes::Bytes` is a type: `…::Bytes::Bytes` would be wrong).
            let module = !path.contains("::") || path.rsplit("::").next() == Some(name);
            if !module {
                return None;
            }
            Some(format!("use {path}::{rest}"))
        })
}

/// Where a panic in the learner's own code happened, from a check's
/// output: `(file:line:col, message)`. Panics in the tests themselves (a
/// failed assertion) are not the learner's code and give `None`.
pub fn learner_panic(output: &str) -> Option<(String, String)> {
    learner_panics(output).into_iter().next()
}

/// A check that failed by reaching code the learner has not written yet: a
/// `todo!()` or `unimplemented!()` panicked, in the check's own task or in
/// one the learner's code spawned. Such a failure says nothing about the code
/// the check is about, so the check's own hint is held back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unwritten {
    /// `exercises/01-connection/src/io_task.rs:178:9`, when the panic's
    /// location is in the output.
    pub at: Option<String>,
    /// The `todo!`'s own text: `Task 4: the close handshake (chapter 01,
    /// section "Task 4: Closing properly")`; empty for a bare `todo!()`.
    pub text: String,
    /// The function the `todo!()` is in, when its source could be read.
    pub function: Option<String>,
    /// The chapter section its text names: `Task 4: Closing properly`.
    pub section: Option<String>,
}

/// The text of a `todo!`/`unimplemented!` panic (`not yet implemented: …`,
/// `not implemented: …`), or `None` for any other panic message.
fn unwritten_text(message: &str) -> Option<&str> {
    let message = message.trim();
    for prefix in ["not yet implemented", "not implemented"] {
        if let Some(rest) = message.strip_prefix(prefix) {
            if rest.is_empty() {
                return Some("");
            }
            if let Some(text) = rest.strip_prefix(": ") {
                return Some(text.trim());
            }
        }
    }
    None
}

/// Every panic in the learner's own code, from a check's output:
/// `(file:line:col, message)`, in order.
fn learner_panics(output: &str) -> Vec<(String, String)> {
    let output = learner_paths(output);
    let mut panics = Vec::new();
    for captures in PANIC_AT.captures_iter(&output) {
        let file = &captures[1];
        let in_tests = file.contains("tests/") || file.ends_with("hidden.rs");
        // The harness and the test server are the course's, not the
        // learner's: a check's own time limit (`checkkit::within`) panics
        // there.
        let in_course_crates = ["checkkit/src/", "testkit/src/"]
            .iter()
            .any(|crate_src| file.contains(crate_src));
        if !file.contains("src/") || in_tests || in_course_crates || file.contains(".cargo/") {
            continue;
        }
        let end = captures.get(0).map_or(0, |m| m.end());
        let message = output[end..]
            .lines()
            .map(str::trim)
            .find(|line| !line.is_empty())
            .unwrap_or("")
            .to_owned();
        panics.push((
            format!("{}:{}:{}", file, &captures[2], &captures[3]),
            message,
        ));
    }
    panics
}

/// Whether `check` failed by reaching a `todo!()`/`unimplemented!()`, and
/// which one. `read_source` gives the text of a file named as the panic
/// names it (`exercises/01-connection/src/io_task.rs`), to find the
/// function around the `todo!()`.
pub fn unwritten_code(
    check: &CheckReport,
    read_source: &dyn Fn(&str) -> Option<String>,
) -> Option<Unwritten> {
    if matches!(
        check.status,
        CheckStatus::Pass | CheckStatus::NotRun | CheckStatus::Skipped
    ) {
        return None;
    }
    let from_output = learner_panics(&check.output)
        .into_iter()
        .find_map(|(at, message)| Some((Some(at), unwritten_text(&message)?.to_owned())));
    let (at, text) = match from_output {
        Some(found) => found,
        None => (None, unwritten_text(check.message.as_deref()?)?.to_owned()),
    };
    let function = at.as_deref().and_then(|at| {
        let (file, line) = at
            .rsplitn(3, ':')
            .collect::<Vec<_>>()
            .get(1..3)
            .map(|p| (p[1], p[0]))?;
        enclosing_function(&read_source(file)?, line.parse().ok()?)
    });
    let section = SECTION
        .captures(&text)
        .map(|captures| captures[1].to_owned());
    Some(Unwritten {
        at,
        text,
        function,
        section,
    })
}

/// The chapter section a `todo!` names: `section "Task 4: Closing properly"`.
static SECTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"section \\?"([^"\\]+)\\?""#).expect("the section pattern is valid")
});

/// A function's head: `pub async fn close(`.
static FN_HEAD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\bfn\s+([A-Za-z_][A-Za-z0-9_]*)").expect("the fn pattern is valid")
});

/// The name of the last function that starts at or before `line` (1-based).
fn enclosing_function(source: &str, line: usize) -> Option<String> {
    source
        .lines()
        .take(line)
        .filter(|text| !text.trim_start().starts_with("//"))
        .filter_map(|text| {
            FN_HEAD
                .captures(text)
                .map(|captures| captures[1].to_owned())
        })
        .last()
}

/// mdBook's anchor for a heading: `Task 4: Closing properly` →
/// `task-4-closing-properly`.
pub fn heading_anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            c if c.is_alphanumeric() || c == '_' || c == '-' => Some(c),
            c if c.is_whitespace() => Some('-'),
            _ => None,
        })
        .collect()
}

/// The teaching lines for a check that reached unwritten code, in place of
/// its message and hint; `chapter` is the check's `book/…md#…` link, whose
/// page the task's section is looked up on.
pub fn unwritten_lines(unwritten: &Unwritten, chapter: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let place = match (&unwritten.function, &unwritten.at) {
        (Some(function), Some(at)) => {
            Some(t!("todo-place-in-function", function = function, at = at))
        }
        (None, Some(at)) => Some(t!("todo-place-at", at = at)),
        _ => None,
    };
    if unwritten.text.is_empty() {
        let place = place.unwrap_or_else(|| t!("todo-place"));
        lines.push(t!("unwritten-reached", place = place));
    } else {
        lines.push(t!("unwritten-reached-text", text = &unwritten.text));
        if let Some(place) = place {
            lines.push(t!("unwritten-where", place = place));
        }
    }
    lines.push(t!("unwritten-stopped"));
    if let Some(section) = &unwritten.section {
        let page = chapter.split('#').next().unwrap_or(chapter);
        let link = format!("{page}#{}", heading_anchor(section));
        lines.push(t!("check-read", chapter = link));
    }
    lines
}

/// Reads a source file named as a panic in a grading of `submission`
/// names it: `exercises/…` and `solutions/…` are under the repository,
/// anything else under the submission folder.
pub fn read_learner_source(submission: &str) -> impl Fn(&str) -> Option<String> + '_ {
    move |file: &str| {
        let root = crate::repo_root();
        [root.join(file), std::path::Path::new(submission).join(file)]
            .iter()
            .find_map(|path| std::fs::read_to_string(path).ok())
    }
}

/// A sentence or two that adds to a failed check's message when the cause is
/// one a newcomer meets first: a panic in their code, or a timeout.
pub fn check_failure(check: &CheckReport) -> Option<String> {
    match check.status {
        CheckStatus::Timeout => Some(t!("failure-timeout")),
        CheckStatus::Fail | CheckStatus::Error => {
            let (at, message) = learner_panic(&check.output)?;
            if unwritten_text(&message).is_some() {
                return Some(t!("failure-todo-at", at = at));
            }
            let why = if message.contains("unwrap()") || message.contains("expect(") {
                t!("failure-unwrap")
            } else if message.contains("index out of bounds") {
                t!("failure-index")
            } else if message.contains("overflow") {
                t!("failure-overflow")
            } else {
                t!("failure-panic")
            };
            let panicked = t!("failure-panicked", at = at, message = message);
            Some(format!("{panicked}\n{why}"))
        }
        // A skipped check's message already says how to install its tool.
        CheckStatus::Pass | CheckStatus::NotRun | CheckStatus::Skipped => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_ERRORS: &str = "\
error[E0599]: no method named `next` found for struct `WebSocketStream` in the current scope
  --> exercises/01-connection/src/io_task.rs:40:32
   |
40 |         let frame = self.socket.next().await;
   |                                 ^^^^ method not found
   |
   = help: items from traits can only be used if the trait is in scope

error[E0425]: cannot find value `x` in this scope
  --> exercises/01-connection/src/client.rs:12:5
   |
12 |     x
   |     ^ not found in this scope

error: aborting due to 2 previous errors
";

    #[test]
    fn a_build_failure_shows_the_first_error_and_what_it_means() {
        let text = build_failure("01-connection", TWO_ERRORS);
        assert!(text.contains("(2 errors)"), "{text}");
        assert!(text.contains("self.socket.next().await"), "{text}");
        assert!(text.contains("trait that is not imported"), "{text}");
        assert!(text.contains("rustc --explain E0599"), "{text}");
        assert!(
            text.contains("error[E0425]: cannot find value `x` in this scope  exercises/01-connection/src/client.rs:12:5"),
            "{text}"
        );
        assert!(!text.contains("aborting"), "{text}");
        assert!(
            text.contains("cd exercises/01-connection && cargo build"),
            "{text}"
        );
    }

    /// What rustc 1.95 says, under cargo, to `use http::header::AUTHORIZATION;`
    /// and a `futures::` path in a crate without those dependencies.
    const MISSING_CRATES: &str = "\
error[E0433]: cannot find module or crate `http` in this scope
 --> exercises/02-page-policy/src/policy.rs:3:5
  |
3 | use http::header::AUTHORIZATION;
  |     ^^^^ use of unresolved module or unlinked crate `http`
  |
  = help: if you wanted to use a crate named `http`, use `cargo add http` to add it to your `Cargo.toml`

error[E0433]: cannot find module or crate `futures` in this scope
 --> exercises/02-page-policy/src/driver.rs:9:5
  |
9 |     futures::stream::empty::<u8>();
  |     ^^^^^^^ use of unresolved module or unlinked crate `futures`
  |
  = help: if you wanted to use a crate named `futures`, use `cargo add futures` to add it to your `Cargo.toml`

error: aborting due to 2 previous errors

For more information about this error, try `rustc --explain E0433`.
";

    /// Rustc before 1.85 worded it differently (E0432, \"undeclared crate\").
    const MISSING_CRATE_OLD_RUSTC: &str = "\
error[E0432]: unresolved import `anyhow`
 --> exercises/02-page-policy/src/policy.rs:1:5
  |
1 | use anyhow::Result;
  |     ^^^^^^ use of undeclared crate or module `anyhow`
";

    fn page_policy_dependencies() -> Vec<String> {
        [
            "futures-util",
            "serde",
            "thiserror",
            "tokio",
            "tokio-tungstenite",
            "toml",
            "tracing",
        ]
        .map(str::to_owned)
        .to_vec()
    }

    #[test]
    fn a_crate_the_manifest_lacks_gets_the_fix_not_cargo_add() {
        let text = build_failure_with(
            "02-page-policy",
            MISSING_CRATES,
            &page_policy_dependencies(),
        );
        assert!(
            !text.contains("cargo add http"),
            "rustc's advice is dropped:\n{text}"
        );
        assert!(!text.contains("cargo add futures"), "{text}");
        assert!(
            text.contains("`http`, `futures` are not dependencies of this unit"),
            "{text}"
        );
        assert!(
            text.contains(
                "builds your src/ with the course's\n  Cargo.toml and ignores the exercise's"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "`http` → `tokio_tungstenite::tungstenite::http` (re-exported by tokio-tungstenite)"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "e.g. `use tokio_tungstenite::tungstenite::http::header::AUTHORIZATION;`"
            ),
            "{text}"
        );
        assert!(text.contains("`futures` → `futures_util`"), "{text}");
        assert!(
            text.contains("undo your change to exercises/02-page-policy/Cargo.toml"),
            "{text}"
        );
        assert!(
            text.contains("This unit's dependencies: futures-util, serde, thiserror, tokio, tokio-tungstenite, toml, tracing."),
            "{text}"
        );
        // The first error is still shown with its source line.
        assert!(
            text.contains("3 | use http::header::AUTHORIZATION;"),
            "{text}"
        );
    }

    #[test]
    fn a_crate_without_a_re_export_says_so_and_old_rustc_wording_is_understood() {
        let text = build_failure_with(
            "02-page-policy",
            MISSING_CRATE_OLD_RUSTC,
            &page_policy_dependencies(),
        );
        assert!(
            text.contains("`anyhow` is not a dependency of this unit"),
            "{text}"
        );
        assert!(
            text.contains("`anyhow`: not in this unit's dependencies"),
            "{text}"
        );
        assert!(!text.contains("e.g."), "{text}");
    }

    #[test]
    fn an_unresolved_module_of_a_dependency_is_not_a_missing_crate() {
        let output = "\
error[E0433]: cannot find module or crate `tokio` in this scope
 --> exercises/02-page-policy/src/policy.rs:3:5
  |
3 | use tokio::nope::X;
  |     ^^^^^ use of unresolved module or unlinked crate `tokio`
";
        let text = build_failure_with("02-page-policy", output, &page_policy_dependencies());
        assert!(!text.contains("not a dependency"), "{text}");
        assert!(text.contains("a dependency you added"), "{text}");
    }

    #[test]
    fn the_real_manifest_of_unit_02_knows_tokio_tungstenite() {
        let text = build_failure("02-page-policy", MISSING_CRATES);
        assert!(
            text.contains("tokio_tungstenite::tungstenite::http"),
            "{text}"
        );
    }

    #[test]
    fn panics_in_learner_code_are_found_and_test_panics_are_not() {
        let output = "thread 'main' panicked at exercises/01-connection/src/client.rs:12:5:\n\
                      called `Option::unwrap()` on a `None` value\nnote: run with RUST_BACKTRACE=1";
        let (at, message) = learner_panic(output).expect("a panic in src/");
        assert_eq!(at, "exercises/01-connection/src/client.rs:12:5");
        assert_eq!(message, "called `Option::unwrap()` on a `None` value");
        let in_test =
            "thread 'main' panicked at exercises/01-connection/tests/visible.rs:30:5:\nboom";
        assert_eq!(learner_panic(in_test), None);
        let in_harness = "thread 'x' panicked at /work/main/grader/checkkit/src/lib.rs:88:19:\n\
                          timed out after 5s waiting for the slow client's messages";
        assert_eq!(
            learner_panic(in_harness),
            None,
            "a check's time limit is not the learner's panic"
        );
    }
}
