//! `cargo grade watch`, driven like a learner: a real file change on disk
//! makes it check again, `h` shows a hint, a passing unit moves it to the
//! next one, `q` quits.
//!
//! It watches a copy of units 01 and 02 in a temporary folder
//! (`--submission`), never the repository's own `exercises/`. Every wait
//! polls the output with a deadline; nothing sleeps to wait.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long one step may take. The first step builds the unit's scratch
/// crate and its test binaries (a cold build on two busy cores takes
/// minutes); later steps rebuild one crate.
const STEP_LIMIT: Duration = Duration::from_secs(600);

/// Kills the watcher when the test ends, whatever happened.
struct Watcher(Child);

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Everything the watcher printed so far, and new lines as they come.
struct Output {
    lines: mpsc::Receiver<String>,
    seen: String,
}

impl Output {
    /// Waits until the output printed after `from` satisfies `wanted`;
    /// returns that part.
    fn wait_for(&mut self, from: usize, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + STEP_LIMIT;
        loop {
            if wanted(&self.seen[from..]) {
                return self.seen[from..].to_owned();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push_str(&line);
                    self.seen.push('\n');
                }
                Err(_) => panic!(
                    "waited {STEP_LIMIT:?} for {what}; the watcher printed:\n{}",
                    self.seen
                ),
            }
        }
    }
}

impl Output {
    /// Reads what is left until the watcher closes its output (it exited):
    /// `false` if that did not happen within `limit`.
    fn wait_for_end(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push_str(&line);
                    self.seen.push('\n');
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return true,
                Err(mpsc::RecvTimeoutError::Timeout) => return false,
            }
        }
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create a folder");
    for entry in std::fs::read_dir(from).expect("read a folder") {
        let entry = entry.expect("a folder entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a file");
        }
    }
}

fn press(stdin: &mut ChildStdin, key: &str) {
    stdin
        .write_all(format!("{key}\n").as_bytes())
        .and_then(|()| stdin.flush())
        .expect("the watcher reads its standard input");
}

#[test]
fn watch_checks_on_save_shows_hints_and_moves_on() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let workspace = tempfile::tempdir().expect("a temp dir");
    for slug in ["01-connection", "02-page-policy"] {
        copy_tree(
            &root.join("exercises").join(slug),
            &workspace.path().join(slug),
        );
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_cargo-grade"))
        // English, whatever the locale of the machine running the tests.
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", "C")
        .arg("watch")
        .arg("--submission")
        .arg(workspace.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the grader starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut stdin = child.stdin.take().expect("piped stdin");
    let mut watcher = Watcher(child);
    let (sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let mut output = Output {
        lines,
        seen: String::new(),
    };

    // The first unfinished unit is 01; its stub fails with the first task's message.
    let first = output.wait_for(0, "the first status of unit 01", |out| {
        out.contains("watching ")
    });
    assert!(first.contains("unit 01 Connection lifecycle"), "{first}");
    assert!(first.contains("visible checks: 0 of"), "{first}");
    assert!(
        first.contains("It reached code you have not written yet: Task"),
        "{first}"
    );
    assert!(
        !first.contains("hint:"),
        "a `todo!()` holds the hint back: {first}"
    );
    assert!(first.contains("read: book/01-connection.md#"), "{first}");

    // `h` shows the first hint.
    let mark = output.seen.len();
    press(&mut stdin, "h");
    let hint = output.wait_for(mark, "the first hint", |out| out.contains("Hint 1 of"));
    assert!(hint.contains("for unit 01"), "{hint}");

    // The learner writes the unit (the reference solution's files, saved
    // over the stub's): the watcher checks again, the unit passes, and it
    // moves on to unit 02.
    let mark = output.seen.len();
    copy_tree(
        &root.join("solutions/01-connection/src"),
        &workspace.path().join("01-connection/src"),
    );
    let passed = output.wait_for(mark, "unit 01 to pass and unit 02 to start", |out| {
        out.contains("Now watching unit 02")
    });
    assert!(passed.contains("visible checks: 5 of 5 pass"), "{passed}");
    assert!(passed.contains("✔ unit 01 passes"), "{passed}");
    assert!(
        passed.contains("1 of"),
        "the progress bar counts it: {passed}"
    );

    // The result and the hint seen are remembered in the workspace.
    let progress = std::fs::read_to_string(workspace.path().join(".progress.toml"))
        .expect("watch remembers progress");
    assert!(progress.contains("status = \"passed\""), "{progress}");
    assert!(progress.contains("hints_seen = 1"), "{progress}");

    // `q` quits (here while unit 02's first check run is under way).
    press(&mut stdin, "q");
    assert!(
        output.wait_for_end(Duration::from_secs(30)),
        "`q` did not stop the watcher within 30 s; it printed:\n{}",
        output.seen
    );
    // Its standard output has closed: it is exiting.
    let status = watcher.0.wait().expect("wait for the watcher");
    assert!(status.success(), "the watcher exited with {status}");
}
