//! Runs checks, one process each, and reads verdicts nobody can forge.
//!
//! For every check the grader makes a fresh nonce, a pipe and a private
//! folder, and starts `<binary> --wsw-grade <id>` in its own process group,
//! in the sandbox of [`crate::sandbox`]: a cleared environment, the private
//! folder as its working folder, `TMPDIR` and `CARGO_MANIFEST_DIR` (a
//! size-limited tmpfs where namespaces work), Landlock rules that let it
//! read its own binary and the unit's programs but nothing of the course
//! tree, limits, and its own namespaces. The grader writes the nonce on the
//! child's standard input and gives it the pipe's write end as descriptor 3.
//! The harness reads the nonce and takes descriptor 3 (closing it on `exec`)
//! before any submission code runs, and writes `pass <id> <nonce>` there
//! only after the check body returned (see `checkkit`). The grader reads the
//! pipe with a size cap and a deadline and counts a pass only for that exact
//! line. Exit status and printed text are never trusted: `process::exit(0)`,
//! a fake libtest summary or a panic hook that prints "ok" all leave no valid
//! record, and so score nothing; safe code cannot write to descriptor 3
//! (that needs `unsafe`, forbidden in submissions, or `/proc/self/fd`, which
//! Landlock hides). A check that outlives its time limit is killed with its
//! whole process group, by system call.
//!
//! A check that needs a program the machine lacks (`checkkit::require`)
//! writes `skip <id> <nonce> <message>` instead: it is not graded. The
//! grader passes `CI=true` on to the checks when it has it itself, so that
//! in CI such a check fails rather than being skipped.

use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::units::CheckSpec;

/// How much of a check's printed output is kept for the report (the end of it).
pub const MAX_OUTPUT: usize = 8 * 1024;

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// The harness recorded a pass with the right nonce.
    Pass,
    /// The harness recorded a failed assertion.
    Fail,
    /// The process was killed at its time limit.
    Timeout,
    /// The process ended without a valid record (it exited early, aborted,
    /// or could not start).
    Error,
    /// Not run: the unit did not build, or was not started.
    NotRun,
    /// Not graded: the check needs a program this machine does not have
    /// (`checkkit::require`); its message says how to install it. It scores
    /// 0 and its points are left out of the unit's `max_score`. Under
    /// `CI=true` the harness fails such a check instead.
    Skipped,
}

/// The outcome of one check process.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// How it ended.
    pub status: CheckStatus,
    /// For a failure, the assertion's message; for errors, what went wrong.
    pub message: Option<String>,
    /// The end of what the process printed.
    pub output: String,
    /// Wall-clock time.
    pub duration: Duration,
}

/// A fresh, unguessable nonce: 128 bits from std's randomly keyed hasher
/// (seeded from the OS), mixed with the time and a counter.
pub fn nonce() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut parts = [0u64; 2];
    for part in &mut parts {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        hasher.write_u32(std::process::id());
        *part = hasher.finish();
    }
    format!("{:016x}{:016x}", parts[0], parts[1])
}

/// The most a check may write on its verdict pipe: a verdict line with a
/// long failure message. Past it the grader stops reading.
pub const MAX_VERDICT: usize = 64 * 1024;

/// Runs one check of a built unit: `executable` is its check binary,
/// `programs` the unit's own programs that the check may start.
pub async fn run_check(executable: &Path, programs: &[PathBuf], check: &CheckSpec) -> Outcome {
    let started = Instant::now();
    let nonce = nonce();
    // The folder's name is a second random value, never the nonce.
    let private = std::env::temp_dir().join(format!("wsw-check-{}", self::nonce()));
    let outcome = run_inner(executable, programs, check, &nonce, &private).await;
    remove_private(&private);
    let (status, message, output) = match outcome {
        Ok(parts) => parts,
        Err(message) => (CheckStatus::Error, Some(message), String::new()),
    };
    Outcome {
        status,
        message,
        output,
        duration: started.elapsed(),
    }
}

type Parts = (CheckStatus, Option<String>, String);

async fn run_inner(
    executable: &Path,
    programs: &[PathBuf],
    check: &CheckSpec,
    nonce: &str,
    private: &Path,
) -> Result<Parts, String> {
    // `private/tmp` is the check's tmpfs (its working folder and TMPDIR),
    // mounted in its own mount namespace, and all it may write.
    let workdir = private.join("tmp");
    std::fs::create_dir_all(&workdir)
        .map_err(|error| format!("could not create {}: {error}", workdir.display()))?;
    let (verdict_read, verdict_write) = crate::sandbox::verdict_pipe()
        .map_err(|error| format!("could not make a pipe: {error}"))?;
    let mut command = tokio::process::Command::new(executable);
    command
        .arg(checkkit::GRADE_FLAG)
        .arg(&check.id)
        .current_dir(&workdir)
        .env_clear()
        .env("PATH", SANDBOX_PATH)
        .env("HOME", &workdir)
        .env("TMPDIR", &workdir)
        .env("CARGO_MANIFEST_DIR", &workdir)
        .env("RUST_BACKTRACE", "0")
        .envs(ci_true().then_some(("CI", "true")))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    command.process_group(0);
    crate::sandbox::warn_once();
    let mut read = vec![executable.to_owned()];
    read.extend(programs.iter().cloned());
    let policy = crate::sandbox::Policy {
        read,
        write: Vec::new(),
        tmpfs: Some(workdir.clone()),
        verdict_fd: Some(std::os::fd::AsRawFd::as_raw_fd(&verdict_write)),
    };
    crate::sandbox::apply(
        &mut command,
        crate::sandbox::Limits::for_timeout(check.timeout_secs),
        &policy,
    )?;
    let spawned = command.spawn();
    // Only the child keeps a write end: the pipe ends when its process does.
    drop(verdict_write);
    let mut child =
        spawned.map_err(|error| format!("could not start {}: {error}", executable.display()))?;
    let pid = child.id();
    if let Some(mut stdin) = child.stdin.take() {
        // A submission that never reads stdin cannot block us: the nonce is
        // one short line, far below the pipe's buffer.
        let _ = stdin.write_all(format!("{nonce}\n").as_bytes()).await;
    }
    let stdout = child.stdout.take().map(|out| tokio::spawn(tail(out)));
    let stderr = child.stderr.take().map(|err| tokio::spawn(tail(err)));
    let limit = Duration::from_secs(check.timeout_secs);
    let verdict_task = tokio::spawn(read_verdict(verdict_read, limit + VERDICT_GRACE));

    let timed_out = tokio::time::timeout(limit, child.wait()).await.is_err();
    // Whatever happened, nothing the check started may outlive it.
    if let Some(pid) = pid {
        crate::sandbox::kill_group(pid);
    }
    let _ = child.kill().await;

    let mut output = String::new();
    for task in [stdout, stderr].into_iter().flatten() {
        if let Ok(Ok(text)) = tokio::time::timeout(Duration::from_secs(2), task).await {
            output.push_str(&text);
        }
    }
    let output = keep_tail(&output, MAX_OUTPUT);
    let records = verdict_task.await.unwrap_or_default();
    if timed_out {
        return Ok((
            CheckStatus::Timeout,
            Some(format!(
                "the check did not finish within {} s (an infinite loop, or a wait without a timeout?)",
                check.timeout_secs
            )),
            output,
        ));
    }
    Ok(match verdict(&records, &check.id, nonce) {
        Some(Record::Pass) => (CheckStatus::Pass, None, output),
        Some(Record::Fail(message)) => (CheckStatus::Fail, Some(message), output),
        Some(Record::Skip(message)) => (CheckStatus::Skipped, Some(message), output),
        None => (
            CheckStatus::Error,
            Some(
                "the check's process ended before the check finished, without a result \
                 (did the code call std::process::exit or abort, or crash?)"
                    .to_owned(),
            ),
            output,
        ),
    })
}

/// Whether the grader runs under `CI=true`: then so do its checks, and a
/// check whose tool is missing fails rather than being skipped.
fn ci_true() -> bool {
    std::env::var_os("CI").is_some_and(|value| value == "true")
}

/// `PATH` in a check: the system's programs only (a check may start
/// `redis-server`, say), never a folder a user can write to.
const SANDBOX_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// How long after its time limit the verdict pipe is read (the check has
/// been killed by then; this only covers a descriptor kept open elsewhere).
const VERDICT_GRACE: Duration = Duration::from_secs(3);

/// Reads the verdict pipe to its end, at most [`MAX_VERDICT`] bytes and
/// until `deadline`: a check can neither flood the grader nor hold it.
async fn read_verdict(pipe: std::os::fd::OwnedFd, deadline: Duration) -> String {
    let Ok(receiver) = tokio::net::unix::pipe::Receiver::from_owned_fd(pipe) else {
        return String::new();
    };
    let mut kept = Vec::new();
    let read = async {
        let mut limited = receiver.take(MAX_VERDICT as u64);
        let _ = limited.read_to_end(&mut kept).await;
    };
    let _ = tokio::time::timeout(deadline, read).await;
    String::from_utf8_lossy(&kept).into_owned()
}

/// Removes a check's private folder (its tmpfs was unmounted with its
/// mount namespace, so only what a run without namespaces wrote is left).
fn remove_private(private: &Path) {
    if let Err(error) = std::fs::remove_dir_all(private)
        && error.kind() != std::io::ErrorKind::NotFound
    {
        eprintln!(
            "cargo grade: note: could not remove {}: {error}",
            private.display()
        );
    }
}

/// A verdict record the harness wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// `pass <id> <nonce>`.
    Pass,
    /// `fail <id> <nonce> <message>`.
    Fail(String),
    /// `skip <id> <nonce> <message>`: a program the check needs is missing.
    Skip(String),
}

/// Finds the record for `id` carrying `nonce`; `None` when there is no
/// valid record.
pub fn verdict(records: &str, id: &str, nonce: &str) -> Option<Record> {
    for line in records.lines() {
        let mut fields = line.splitn(4, ' ');
        let (Some(kind), Some(line_id), Some(line_nonce)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if line_id != id || line_nonce != nonce {
            continue;
        }
        match kind {
            "pass" => return Some(Record::Pass),
            "fail" => return Some(Record::Fail(unescape(fields.next().unwrap_or("")))),
            "skip" => return Some(Record::Skip(unescape(fields.next().unwrap_or("")))),
            _ => {}
        }
    }
    None
}

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Reads a pipe to its end, keeping only the last [`MAX_OUTPUT`] bytes, so
/// a submission that prints forever cannot exhaust the grader's memory.
async fn tail(mut pipe: impl AsyncRead + Unpin) -> String {
    let mut kept: Vec<u8> = Vec::new();
    let mut buffer = [0u8; 4096];
    while let Ok(read) = pipe.read(&mut buffer).await {
        if read == 0 {
            break;
        }
        kept.extend_from_slice(&buffer[..read]);
        if kept.len() > 2 * MAX_OUTPUT {
            kept.drain(..kept.len() - MAX_OUTPUT);
        }
    }
    String::from_utf8_lossy(&kept).into_owned()
}

/// The last `max` bytes of `text`, cut at a character boundary.
pub fn keep_tail(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &text[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_right_nonce_counts() {
        let records = "pass echo 1234\nfail echo abcd boom\\nline two\n";
        assert_eq!(
            verdict(records, "echo", "abcd"),
            Some(Record::Fail("boom\nline two".into()))
        );
        assert_eq!(verdict(records, "echo", "1234"), Some(Record::Pass));
        assert_eq!(verdict(records, "echo", "ffff"), None);
        assert_eq!(verdict(records, "other", "1234"), None);
        assert_eq!(verdict("test result: ok. 12 passed", "echo", "1234"), None);
    }

    #[test]
    fn a_skip_record_carries_its_install_advice() {
        let records = "skip cluster 1234 needs `redis-server`, which is not installed here: \
                       sudo apt-get install redis-server;\\n this stage is not graded until it is\n";
        assert_eq!(
            verdict(records, "cluster", "1234"),
            Some(Record::Skip(
                "needs `redis-server`, which is not installed here: sudo apt-get install \
                 redis-server;\n this stage is not graded until it is"
                    .into()
            ))
        );
        assert_eq!(verdict(records, "cluster", "0000"), None);
        assert_eq!(verdict(records, "echo", "1234"), None);
    }

    #[test]
    fn nonces_differ() {
        let (a, b) = (nonce(), nonce());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
    }

    #[test]
    fn tails_are_cut_at_char_boundaries() {
        assert_eq!(keep_tail("héllo", 4), "…llo");
        assert_eq!(keep_tail("abc", 10), "abc");
    }
}
