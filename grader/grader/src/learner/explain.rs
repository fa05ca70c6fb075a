//! Short explanations of what a learner meets first: a compile error, a
//! panic in their code, a check that timed out.
//!
//! The raw material is long (cargo's output, a panic's stderr); what a
//! newcomer needs is the first error with its source lines, one sentence on
//! what that kind of error usually means, and where to look next.

use std::fmt::Write;
use std::sync::LazyLock;

use regex::Regex;

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
fn meaning(code: &str) -> Option<&'static str> {
    Some(match code {
        "E0308" => {
            "a value's type is not the one expected there: compare the `expected` and `found` lines"
        }
        "E0425" => "a name is not in scope: a typo, or a missing `use`",
        "E0432" | "E0433" => {
            "a path does not resolve: a missing `use`, or a misspelt module or crate"
        }
        "E0599" => {
            "this type has no such method: often a trait that is not imported (`use futures_util::StreamExt;`, `SinkExt`) or a value of another type than you think"
        }
        "E0382" => {
            "a value is used after it was moved: borrow it with `&`, clone it, or move it only once"
        }
        "E0499" | "E0502" | "E0506" => {
            "two borrows conflict: end one borrow before the other starts (a shorter scope, or a copy of what you need)"
        }
        "E0277" => {
            "a type lacks a trait the code needs: with `?`, the error type has no `From` for the function's error type"
        }
        "E0061" => "a function is called with the wrong number of arguments",
        "E0063" | "E0560" => "a struct literal has missing or unknown fields",
        "E0369" => "an operator is used on a type that does not support it",
        "E0004" => "a `match` does not cover every case: add the missing arms (or `_`)",
        "E0384" => "a variable is assigned twice: declare it `let mut`",
        "E0596" => "something is borrowed mutably that is not `mut`: `let mut`, or `&mut self`",
        "E0728" => "`.await` is used outside an `async` function or block",
        _ => return None,
    })
}

/// The explanation for a unit that does not compile, indented for the
/// terminal: the first error with its source lines, what it means, and
/// the others in one line each.
pub fn build_failure(slug: &str, output: &str) -> String {
    let mut out = String::new();
    let output = learner_paths(output);
    let errors = compile_errors(&output);
    let Some(first) = errors.first() else {
        // Cargo failed before the compiler said anything (a manifest
        // problem, a build timeout): show the end of what it said.
        let _ = writeln!(out, "  The unit could not be built. Cargo said:\n");
        let lines: Vec<&str> = output.lines().collect();
        for line in &lines[lines.len().saturating_sub(FIRST_ERROR_LINES)..] {
            let _ = writeln!(out, "    {line}");
        }
        return out;
    };
    let _ = match errors.len() {
        1 => writeln!(out, "  Your code does not compile. The error:\n"),
        n => writeln!(
            out,
            "  Your code does not compile ({n} errors). Fix the first one first: later errors are often caused by it.\n"
        ),
    };
    for line in first.lines.iter().take(FIRST_ERROR_LINES) {
        let _ = writeln!(out, "    {line}");
    }
    if first.lines.len() > FIRST_ERROR_LINES {
        let _ = writeln!(out, "    …");
    }
    if let Some(text) = first.code.and_then(meaning) {
        let _ = writeln!(out, "\n  What it usually means: {text}.");
    }
    if let Some(code) = first.code {
        let _ = writeln!(out, "  More: `rustc --explain {code}`.");
    }
    if errors.len() > 1 {
        let _ = writeln!(out, "\n  The other errors:");
        for error in errors.iter().skip(1).take(MORE_ERRORS) {
            let location = error
                .lines
                .iter()
                .find_map(|line| line.trim_start().strip_prefix("--> "))
                .unwrap_or("");
            let _ = writeln!(out, "    {}  {location}", error.lines[0]);
        }
        if errors.len() > 1 + MORE_ERRORS {
            let _ = writeln!(out, "    … and {} more", errors.len() - 1 - MORE_ERRORS);
        }
    }
    let _ = writeln!(
        out,
        "\n  The grader builds only your src/ with the course's Cargo.toml: a dependency you added\n  \
         to the exercise's Cargo.toml is not available here.\n  \
         `cd exercises/{slug} && cargo build` shows every error in full."
    );
    out
}

/// Where a panic in the learner's own code happened, from a check's
/// output: `(file:line:col, message)`. Panics in the tests themselves (a
/// failed assertion) are not the learner's code and give `None`.
pub fn learner_panic(output: &str) -> Option<(String, String)> {
    let output = learner_paths(output);
    for captures in PANIC_AT.captures_iter(&output) {
        let file = &captures[1];
        let in_tests = file.contains("tests/") || file.ends_with("hidden.rs");
        let in_learner_code = file.contains("src/") && !in_tests && !file.contains(".cargo/");
        if !in_learner_code {
            continue;
        }
        let end = captures.get(0).map_or(0, |m| m.end());
        let output = output.as_str();
        let message = output[end..]
            .lines()
            .map(str::trim)
            .find(|line| !line.is_empty())
            .unwrap_or("")
            .to_owned();
        return Some((
            format!("{}:{}:{}", file, &captures[2], &captures[3]),
            message,
        ));
    }
    None
}

/// A sentence or two that adds to a failed check's message when the cause is
/// one a newcomer meets first: a panic in their code, or a timeout.
pub fn check_failure(check: &CheckReport) -> Option<String> {
    match check.status {
        CheckStatus::Timeout => Some(
            "The check was stopped at its time limit. Usually: a loop that never ends, or an \
             `.await` on something that never comes (a read without a timeout, a channel nobody \
             sends on, a lock held across an `.await`)."
                .to_owned(),
        ),
        CheckStatus::Fail | CheckStatus::Error => {
            let (at, message) = learner_panic(&check.output)?;
            if message.starts_with("not yet implemented") {
                return Some(format!("The `todo!()` it reached is at {at}."));
            }
            let why = if message.contains("unwrap()") || message.contains("expect(") {
                "An `unwrap()` met a `None` or an `Err`: handle that case (`match`, `?`, or an error value) instead."
            } else if message.contains("index out of bounds") {
                "An index went past the end: use `.get(i)`, which gives an `Option`."
            } else if message.contains("overflow") {
                "An arithmetic overflow: use `checked_`/`saturating_` arithmetic, or a wider type."
            } else {
                "A panic in your code ends the check: return an error instead."
            };
            Some(format!("Your code panicked at {at}: {message}\n{why}"))
        }
        CheckStatus::Pass | CheckStatus::NotRun => None,
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
    }
}
