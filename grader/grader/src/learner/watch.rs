//! `cargo grade watch`: the learner's loop.
//!
//! It picks the first unit that has not passed (from the progress file),
//! runs that unit's **visible** checks, and shows a compact status with
//! the first failure's teaching message. Then it waits: every save in the
//! unit's folder (debounced, through `notify`) runs them again. When every
//! visible check passes it runs the hidden ones too (a full `cargo grade
//! NN`), remembers the result, and when the unit passes it moves on to the
//! next one. Keys: `h` shows the next hint, `r` runs again, `q`
//! quits (so does Ctrl-C).
//!
//! Keys are read from standard input without a TUI crate: on a terminal,
//! `stty -icanon -echo` makes each key arrive at once (and is undone on the
//! way out); from a pipe, keys arrive line by line, which is what the test
//! uses.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::grade::{self, Request};
use crate::l10n::t;
use crate::learner::progress::{self, Progress};
use crate::learner::{explain, hint};
use crate::report::{CheckReport, UnitState};
use crate::run::{self, CheckStatus};
use crate::scratch::{self, Source};
use crate::units::{self, Unit, Visibility};
use crate::{GraderError, compile, render};

/// Quiet time after the last file event before the checks run: editors
/// write a file in several steps (a temp file, a rename, a chmod), and
/// formatting-on-save writes it twice. rustlings settled on the same 200 ms.
pub const DEBOUNCE: Duration = Duration::from_millis(200);

/// How many lines of a failure's message the compact status shows.
const MESSAGE_LINES: usize = 8;

/// A key the learner pressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Quit,
    Hint,
    Rerun,
}

/// What one evaluation of the unit found.
struct Evaluation {
    /// The status to print.
    text: String,
    /// The unit passed every check, visible and hidden.
    passed: bool,
}

/// Runs the loop until `q`, Ctrl-C, or every unit passes.
pub async fn watch(root: &Path, source: Source) -> Result<(), GraderError> {
    let all = units::load_all(root)?;
    let workspace = source.base(root);
    if !workspace.is_dir() {
        return Err(GraderError::Submission(t!(
            "watch-not-a-folder",
            dir = workspace.display().to_string()
        )));
    }
    let interactive = std::io::stdin().is_terminal();
    let _terminal = interactive.then(RawTerminal::enter);
    let mut keys = spawn_key_reader();
    let clear = std::io::stdout().is_terminal();

    // Only the units the workspace has (a submission may hold a few).
    let present: Vec<Unit> = all
        .iter()
        .filter(|unit| workspace.join(&unit.slug).join("src").is_dir())
        .cloned()
        .collect();
    let progress = Progress::load(&workspace);
    let Some(mut unit) = progress.first_unfinished(&present).cloned() else {
        say(&format!(
            "{}\n{}\n",
            t!("watch-every-unit-passes"),
            progress::bar(&progress, &all)
        ));
        return Ok(());
    };
    loop {
        let dir = workspace.join(&unit.slug);
        let (_watcher, mut changes) = watch_dir(&dir)?;
        'unit: loop {
            let mut task = {
                let (root, source, unit) = (root.to_owned(), source.clone(), unit.clone());
                tokio::spawn(async move { evaluate(&root, &source, &unit).await })
            };
            if clear {
                print!("\x1b[2J\x1b[H");
            }
            say(&format!(
                "{}\n",
                t!(
                    "watch-checking",
                    unit = &unit.id,
                    title = crate::l10n::book_text(&unit.title),
                    dir = shown(root, &dir)
                )
            ));
            let evaluation = loop {
                tokio::select! {
                    joined = &mut task => match joined {
                        Ok(Ok(evaluation)) => break evaluation,
                        // Keep watching: the next save may fix it (a
                        // deleted src/, a folder being renamed).
                        Ok(Err(error)) => break Evaluation {
                            text: format!(
                                "✘ {}\n",
                                t!("watch-could-not-check", error = error.to_string())
                            ),
                            passed: false,
                        },
                        Err(error) => {
                            return Err(GraderError::Process(t!(
                                "watch-run-failed",
                                error = error.to_string()
                            )));
                        }
                    },
                    key = next_key(&mut keys) => match key {
                        // Aborting the task drops cargo and the check
                        // processes, which die with it (kill_on_drop).
                        Key::Quit => {
                            task.abort();
                            say(&format!("{}\n", t!("watch-bye")));
                            return Ok(());
                        }
                        Key::Hint => show_hint(root, &workspace, &unit),
                        Key::Rerun => {}
                    },
                    _ = tokio::signal::ctrl_c() => {
                        task.abort();
                        return Ok(());
                    }
                }
            };
            say(&evaluation.text);
            if evaluation.passed {
                let progress = Progress::load(&workspace);
                match progress.first_unfinished(&present) {
                    Some(next) => {
                        say(&format!(
                            "\n✔ {}\n{}\n",
                            t!(
                                "watch-unit-passes",
                                unit = &unit.id,
                                bar = progress::bar(&progress, &all)
                            ),
                            t!(
                                "watch-now-watching",
                                unit = &next.id,
                                title = crate::l10n::book_text(&next.title),
                                chapter = &next.chapter
                            )
                        ));
                        unit = next.clone();
                        break 'unit;
                    }
                    None => {
                        say(&format!(
                            "\n✔ {}\n{}\n",
                            t!("watch-all-pass", unit = &unit.id),
                            progress::bar(&progress, &all)
                        ));
                        return Ok(());
                    }
                }
            }
            say(&format!(
                "\n{}\n",
                t!("watch-waiting", dir = shown(root, &dir))
            ));
            // Wait for a save, or a key.
            loop {
                tokio::select! {
                    changed = changes.recv() => {
                        if changed.is_none() {
                            return Err(GraderError::Process(t!("watch-watcher-stopped")));
                        }
                        debounce(&mut changes).await;
                        continue 'unit;
                    }
                    key = next_key(&mut keys) => match key {
                        Key::Quit => {
                            say(&format!("{}\n", t!("watch-bye")));
                            return Ok(());
                        }
                        Key::Rerun => continue 'unit,
                        Key::Hint => show_hint(root, &workspace, &unit),
                    },
                    _ = tokio::signal::ctrl_c() => return Ok(()),
                }
            }
        }
    }
}

/// A folder as the learner knows it: relative to the repository when inside it.
fn shown(root: &Path, dir: &Path) -> String {
    format!("{}/", dir.strip_prefix(root).unwrap_or(dir).display())
}

fn show_hint(root: &Path, workspace: &Path, unit: &Unit) {
    match hint::next(root, workspace, unit) {
        Ok(text) => say(&format!("\n{text}")),
        Err(error) => say(&format!(
            "\n{}\n",
            t!("watch-no-hint", error = error.to_string())
        )),
    }
}

/// Prints and flushes (a pipe reader waits for whole lines).
fn say(text: &str) {
    print!("{text}");
    let _ = std::io::stdout().flush();
}

/// The next key; never returns once standard input has ended (then only
/// file changes and Ctrl-C count).
async fn next_key(keys: &mut mpsc::UnboundedReceiver<Key>) -> Key {
    match keys.recv().await {
        Some(key) => key,
        None => std::future::pending().await,
    }
}

/// Waits until no file event has arrived for [`DEBOUNCE`].
async fn debounce(changes: &mut mpsc::UnboundedReceiver<()>) {
    while let Ok(Some(())) = tokio::time::timeout(DEBOUNCE, changes.recv()).await {}
}

/// Watches `dir` recursively; sends `()` for every change to a `.rs` or
/// `.toml` file (not for editors' swap and backup files).
fn watch_dir(
    dir: &Path,
) -> Result<(notify::RecommendedWatcher, mpsc::UnboundedReceiver<()>), GraderError> {
    use notify::{EventKind, RecursiveMode, Watcher};
    let (sender, receiver) = mpsc::unbounded_channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        let relevant_kind = matches!(
            event.kind,
            EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
        );
        let relevant_file = event.paths.iter().any(|path| {
            path.extension()
                .is_some_and(|ext| ext == "rs" || ext == "toml")
        });
        if relevant_kind && relevant_file {
            let _ = sender.send(());
        }
    })
    .map_err(|error| watch_error(dir, &error))?;
    watcher
        .watch(dir, RecursiveMode::Recursive)
        .map_err(|error| watch_error(dir, &error))?;
    Ok((watcher, receiver))
}

fn watch_error(dir: &Path, error: &notify::Error) -> GraderError {
    GraderError::Process(t!(
        "watch-cannot-watch",
        dir = dir.display().to_string(),
        error = error.to_string()
    ))
}

/// Reads keys from standard input on a thread of its own (reading stdin
/// blocks); the thread ends with standard input.
fn spawn_key_reader() -> mpsc::UnboundedReceiver<Key> {
    let (sender, receiver) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for byte in std::io::stdin().lock().bytes() {
            let Ok(byte) = byte else { break };
            let key = match byte {
                b'q' | b'Q' => Key::Quit,
                b'h' | b'H' => Key::Hint,
                b'r' | b'R' => Key::Rerun,
                _ => continue,
            };
            if sender.send(key).is_err() {
                break;
            }
        }
    });
    receiver
}

/// Puts the terminal in non-canonical mode (keys arrive without Enter) and
/// restores it when dropped.
struct RawTerminal;

impl RawTerminal {
    fn enter() -> RawTerminal {
        stty(&["-icanon", "-echo", "min", "1"]);
        RawTerminal
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        stty(&["icanon", "echo"]);
    }
}

fn stty(args: &[&str]) {
    // stty acts on its standard input, which must be the terminal. If it is
    // missing, keys still work after Enter. It is started by its absolute
    // path, never looked up on PATH once checks have run.
    let _ = std::process::Command::new("/bin/stty")
        .args(args)
        .stdin(std::process::Stdio::inherit())
        .status();
}

/// Runs the visible checks of `unit`; when they all pass, grades the unit
/// fully and remembers the result.
async fn evaluate(root: &Path, source: &Source, unit: &Unit) -> Result<Evaluation, GraderError> {
    let visible = run_visible(root, source, unit).await?;
    // A skipped check (a tool it needs is missing) is not graded: it
    // neither passes nor fails, and is not counted.
    let skipped: Vec<&CheckReport> = visible
        .checks
        .iter()
        .filter(|c| c.status == CheckStatus::Skipped)
        .collect();
    let total = visible.checks.len() - skipped.len();
    let passed = visible
        .checks
        .iter()
        .filter(|c| c.status == CheckStatus::Pass)
        .count();
    let mut text = String::new();
    if let Some(errors) = &visible.build_errors {
        let _ = writeln!(
            text,
            "✘ {}\n",
            t!("watch-does-not-compile", unit = &unit.id)
        );
        text.push_str(&explain::build_failure(
            &unit.slug,
            &crate::sanitize::terminal_safe(errors),
        ));
        return Ok(Evaluation {
            text,
            passed: false,
        });
    }
    let _ = writeln!(
        text,
        "{}",
        t!(
            "watch-visible-checks",
            passed = passed,
            total = total,
            bar = small_bar(passed, total)
        )
    );
    for check in &skipped {
        text.push_str(&compact_skipped(check));
    }
    if let Some(first) = first_failure(&visible.checks) {
        text.push_str(&compact_failure(first));
        return Ok(Evaluation {
            text,
            passed: false,
        });
    }
    let _ = writeln!(text, "✔ {}", t!("watch-visible-pass", unit = &unit.id));
    let request = Request {
        source: source.clone(),
        units: vec![unit.id.clone()],
        force: true,
        checks: Vec::new(),
    };
    let report = grade::grade(root, &request, Arc::new(|_| {})).await?;
    let workspace = source.base(root);
    progress::remember(&workspace, &report);
    let Some(graded) = report.units.first() else {
        return Ok(Evaluation {
            text,
            passed: false,
        });
    };
    let counted = graded.checks.len() - graded.skipped();
    let _ = writeln!(
        text,
        "{}",
        t!(
            "watch-all-checks",
            passed = graded.passed(),
            total = counted,
            score = graded.score,
            max = graded.max_score,
            bar = small_bar(graded.passed(), counted)
        )
    );
    for check in graded
        .checks
        .iter()
        .filter(|c| c.status == CheckStatus::Skipped && c.visibility == Visibility::Hidden)
    {
        text.push_str(&compact_skipped(check));
    }
    if graded.state == UnitState::Passed {
        return Ok(Evaluation { text, passed: true });
    }
    if let Some(first) = first_failure(&graded.checks) {
        text.push_str(&compact_failure(first));
        let _ = writeln!(text, "  {}", t!("watch-every-failing", unit = &unit.id));
    }
    Ok(Evaluation {
        text,
        passed: false,
    })
}

/// The first check that ran and did not pass (a skipped one is not graded).
fn first_failure(checks: &[CheckReport]) -> Option<&CheckReport> {
    checks
        .iter()
        .find(|c| !matches!(c.status, CheckStatus::Pass | CheckStatus::Skipped))
}

/// A skipped check: not graded, and how to install what it needs.
fn compact_skipped(check: &CheckReport) -> String {
    let mut out = format!("\n○ {}\n", t!("watch-skipped", check = &check.id));
    let message = crate::sanitize::terminal_safe(check.message.as_deref().unwrap_or(""));
    for line in message.lines().take(MESSAGE_LINES) {
        let _ = writeln!(out, "    {line}");
    }
    out
}

fn small_bar(done: usize, total: usize) -> String {
    const WIDTH: usize = 16;
    let filled = (done * WIDTH).checked_div(total).unwrap_or(0);
    format!("[{}{}]", "█".repeat(filled), "░".repeat(WIDTH - filled))
}

/// One failed check: id, message (short), the explanation of a panic or a
/// timeout, the hint and the chapter section; without the escapes and
/// controls of the learner's text ([`crate::sanitize::terminal_safe`]).
fn compact_failure(check: &CheckReport) -> String {
    let mut check = check.clone();
    if let Some(message) = &mut check.message {
        *message = crate::sanitize::terminal_safe(message).into_owned();
    }
    check.output = crate::sanitize::terminal_safe(&check.output).into_owned();
    let check = &check;
    let mut out = String::new();
    let what = match check.status {
        CheckStatus::Timeout | CheckStatus::Error => render::outcome_text(check.status),
        _ => render::outcome_text(CheckStatus::Fail),
    };
    let _ = writeln!(out, "\n✘ {} {what}", check.id);
    // Reaching a `todo!()` says nothing about what the check is about:
    // say where it stopped, and hold the check's own hint back.
    let read_source = explain::read_learner_source("");
    if let Some(unwritten) = explain::unwritten_code(check, &read_source) {
        for line in explain::unwritten_lines(&unwritten, &check.chapter) {
            let _ = writeln!(out, "    {line}");
        }
        return out;
    }
    if let Some(message) = &check.message {
        for line in render::check_message(message).lines().take(MESSAGE_LINES) {
            let _ = writeln!(out, "    {line}");
        }
    }
    if let Some(extra) = explain::check_failure(check) {
        for line in extra.lines() {
            let _ = writeln!(out, "    {line}");
        }
    }
    let _ = writeln!(out, "    {}", t!("check-hint", hint = &check.hint));
    let _ = writeln!(out, "    {}", t!("check-read", chapter = &check.chapter));
    out
}

/// The result of building the unit and running its visible checks.
struct VisibleRun {
    build_errors: Option<String>,
    checks: Vec<CheckReport>,
}

/// Builds the unit in its scratch workspace and runs its visible checks,
/// a few at a time. Holds the grading lock like `cargo grade` does.
async fn run_visible(root: &Path, source: &Source, unit: &Unit) -> Result<VisibleRun, GraderError> {
    // The same lock `cargo grade` takes: a watch run and a grading never
    // build into one scratch folder at once.
    let _lock = crate::grade::lock(root)?;
    let scratch = scratch::prepare(root, source, &[unit])?;
    if scratch.slugs.is_empty() {
        return Err(GraderError::Submission(t!(
            "watch-no-src",
            dir = source.base(root).join(&unit.slug).display().to_string()
        )));
    }
    let builds = compile::build(root, &scratch, &|_| {}).await?;
    let build = builds.get(&unit.slug);
    let Some(executable) = build.and_then(|b| b.executables.get(Visibility::Visible.target()))
    else {
        let errors = build.map(|b| b.errors.clone()).unwrap_or_default();
        return Ok(VisibleRun {
            build_errors: Some(errors),
            checks: Vec::new(),
        });
    };
    let programs = build.map(|b| b.programs.clone()).unwrap_or_default();
    let permits = Arc::new(tokio::sync::Semaphore::new(grade::parallel_checks()));
    let mut tasks = BTreeMap::new();
    for (index, check) in unit
        .checks
        .iter()
        .filter(|c| c.file == Visibility::Visible)
        .enumerate()
    {
        let (executable, check, programs, permits) = (
            executable.clone(),
            check.clone(),
            programs.clone(),
            permits.clone(),
        );
        tasks.insert(
            index,
            tokio::spawn(async move {
                let _permit = permits.acquire_owned().await.ok();
                let outcome = run::run_check(&executable, &programs, &check).await;
                (check, outcome)
            }),
        );
    }
    let mut checks = Vec::new();
    for (_, task) in tasks {
        let Ok((spec, outcome)) = task.await else {
            continue;
        };
        checks.push(CheckReport {
            id: spec.id.clone(),
            visibility: spec.visibility(),
            status: outcome.status,
            score: if outcome.status == CheckStatus::Pass {
                spec.points
            } else {
                0
            },
            max_score: spec.points,
            message: outcome.message,
            hint: spec.hint.clone(),
            chapter: unit.chapter_link(&spec),
            covers: spec.covers.clone(),
            duration_ms: u64::try_from(outcome.duration.as_millis()).unwrap_or(u64::MAX),
            output: outcome.output,
        });
    }
    Ok(VisibleRun {
        build_errors: None,
        checks,
    })
}
