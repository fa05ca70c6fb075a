//! Every cheat of unit 05 (`grader/units/05-queue/wrong/cheat_*.toml`),
//! graded through the command line as an instructor grades a class: each
//! with `--submission DIR 05` in JSON and in the terminal format, then all
//! of them as one `--batch` with `--out`, always with a private test pack
//! (`--tests`) whose hidden checks carry a secret marker line, and with a
//! secret in the grader's environment.
//!
//! For every run the test demands that:
//!
//! * the grader exits, with status 0, within a bound, and that the
//!   submission scores 0;
//! * no output (stdout, stderr, the `--out` folder) carries the pack's
//!   marker, distinctive lines of the course's hidden checks
//!   (`grader/units/05-queue/hidden.rs`) or of the reference solution's
//!   `push` (which every cheat has replaced by the stub's `todo!()`), the
//!   environment's secret, or the terminal escapes of the repaint cheat;
//! * no `kill` shim ran (the marker file it would leave is absent), and
//!   no check wrote into the course's tree;
//! * no check binary of `target/grade/deps` changed, other than the ones
//!   this run rebuilt (same inode, length and modification time, unless
//!   the compiler rewrote its dep-info file beside it);
//! * in the batch, `summary.csv` and every student's report are the
//!   grader's own, and agree;
//! * afterwards, the grader still grades the reference solution 100/100.
//!
//! The test collects every broken promise and fails once, with the list.
//! Until the sandbox of the new design lands (a build that cannot read the
//! course, checks with a cleared environment, a private working folder,
//! Landlock rules and a verdict pipe on descriptor 3), several cheats
//! succeed and this test fails: that list is the evidence.
//!
//! Safety nets of the test itself, not of the grader: every grading runs
//! under `ulimit -v` (8 GiB; `include_bytes!("/dev/zero")` would otherwise
//! take the machine's memory), in its own process group, which is killed
//! at the bound; a cheat that hung a single grading is left out of the
//! batch (it would only hang it again and hide the other findings); the
//! `kill` shims and the files a cheat planted are removed before and
//! after. Unix only.
#![cfg(unix)]

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use grader::scratch::Source;
use grader::{pack, units, wrong};

/// A grading that builds the submission.
const BUILD_BOUND: Duration = Duration::from_secs(60);
/// A grading of a submission already built.
const GRADE_BOUND: Duration = Duration::from_secs(45);
/// The batch of every cheat.
const BATCH_BOUND: Duration = Duration::from_secs(240);
/// The address-space limit of every grading (KiB, for `ulimit -v`).
const ULIMIT_V_KIB: u64 = 8 << 20;

/// Where the report-file cheat guesses the `--out` folder is; the batch
/// writes there.
fn out_dir() -> PathBuf {
    std::env::temp_dir().join("wsw-forgery-out")
}

/// The file a `kill` shim leaves when it runs.
fn shim_marker() -> PathBuf {
    std::env::temp_dir().join("wsw-forgery-kill-shim-ran")
}

/// Files a check wrote into the course's tree (the harness's source, the
/// hidden checks' folder), removed; their paths.
fn remove_poison(root: &Path) -> Vec<PathBuf> {
    ["grader/checkkit/src", "grader/units/05-queue"]
        .iter()
        .map(|folder| root.join(folder).join("wsw-forgery-poison"))
        .filter(|path| std::fs::remove_file(path).is_ok())
        .collect()
}

/// The words of the shim, to find and remove it.
const SHIM_SIGNATURE: &str = "wsw-forgery-kill-shim";

/// What no output may contain: `(what it is, the text)`.
struct Secrets(Vec<(String, String)>);

impl Secrets {
    fn new(root: &Path, pack_marker: &str, token: &str) -> Secrets {
        let hidden = std::fs::read_to_string(root.join("grader/units/05-queue/hidden.rs"))
            .expect("the hidden checks");
        let solution = std::fs::read_to_string(root.join("solutions/05-queue/src/core.rs"))
            .expect("the solution");
        let mut secrets = vec![
            (
                "the private pack's marker".to_owned(),
                pack_marker.to_owned(),
            ),
            (
                "the grader's environment secret".to_owned(),
                token.to_owned(),
            ),
        ];
        for line in [
            "//! Hidden checks of unit 05: the de-duplication window's end, starvation",
            "const VIRTUAL_LIMIT: Duration = Duration::from_secs(3600);",
            "fn mix(seed: u64, id: u64, attempt: u32) -> u64 {",
        ] {
            assert!(hidden.contains(line), "hidden.rs no longer has {line:?}");
            secrets.push(("a line of the hidden checks".to_owned(), line.to_owned()));
        }
        for line in [
            "self.seen_order.push_back((message.id, now));",
            "let dropped = if self.len() >= self.config.max_size {",
        ] {
            assert!(solution.contains(line), "core.rs no longer has {line:?}");
            secrets.push((
                "a line of the reference solution".to_owned(),
                line.to_owned(),
            ));
        }
        // The repaint cheat's escapes, raw and as JSON writes them.
        for escape in ["\u{1b}[2J", "\u{1b}]0;", "\\u001b[2J", "\\u001b]0;"] {
            secrets.push((
                "a terminal escape from a check".to_owned(),
                escape.to_owned(),
            ));
        }
        Secrets(secrets)
    }

    /// Each secret that `text` (named `place`) carries.
    fn leaks(&self, place: &str, text: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(_, secret)| text.contains(secret.as_str()))
            .map(|(what, secret)| format!("{place} carries {what}: {secret:?}"))
            .collect()
    }
}

/// One grader run.
struct Run {
    /// `None` when it was killed at its bound.
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

/// Runs the grader with `args`, its secret in the environment, under the
/// test's safety nets, and kills its process group at `bound`.
fn grade(args: &[OsString], token: &str, bound: Duration) -> Run {
    let started = Instant::now();
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!("ulimit -v {ULIMIT_V_KIB} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_cargo-grade"))
        .args(args)
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", "C")
        .env("WSW_INSTRUCTOR_TOKEN", token)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("the grader starts");
    let pipe = |mut reader: Box<dyn Read + Send>| {
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = reader.read_to_end(&mut bytes);
            let _ = sender.send(String::from_utf8_lossy(&bytes).into_owned());
        });
        receiver
    };
    let stdout = pipe(Box::new(child.stdout.take().expect("stdout")));
    let stderr = pipe(Box::new(child.stderr.take().expect("stderr")));
    // The grader's end is awaited on a thread of its own, so that the test
    // waits for that event (or its bound), never polls.
    let pid = child.id();
    let (ended, end) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let status = child.wait().ok();
        let _ = ended.send(status.map(|status| status.code().unwrap_or(-1)));
    });
    let code = match end.recv_timeout(bound.saturating_sub(started.elapsed())) {
        Ok(code) => code,
        Err(_) => {
            // Absolute path: a cheat may have put a `kill` of its own first
            // in PATH.
            let _ = Command::new("/bin/kill")
                .args(["-s", "KILL", "--", &format!("-{pid}")])
                .status();
            None
        }
    };
    let _ = waiter.join();
    let collect = |receiver: mpsc::Receiver<String>| {
        receiver
            .recv_timeout(Duration::from_secs(5))
            .unwrap_or_else(|_| "<the pipe was still held open by a process of the check>".into())
    };
    Run {
        code,
        stdout: collect(stdout),
        stderr: collect(stderr),
        elapsed: started.elapsed(),
    }
}

/// Every `kill` shim in PATH and `~/.cargo/bin`, removed; whether one was there.
fn remove_shims() -> Vec<PathBuf> {
    let mut folders: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        folders.push(PathBuf::from(home).join(".cargo/bin"));
    }
    let mut removed = Vec::new();
    for folder in folders {
        let path = folder.join("kill");
        if std::fs::read(&path)
            .is_ok_and(|bytes| String::from_utf8_lossy(&bytes).contains(SHIM_SIGNATURE))
            && std::fs::remove_file(&path).is_ok()
        {
            removed.push(path);
        }
    }
    removed
}

/// What is compared of a check binary: inode, length and modification
/// time of the binary, and modification time of the compiler's dep-info
/// file beside it (`<binary>.d`), which rustc writes on every build of it.
type Stamp = (u64, u64, SystemTime, Option<SystemTime>);

/// The stamp of every check binary (an executable without extension) in
/// `target/grade/deps`: the check binaries of every unit and submission
/// graded in this target, and the binaries the checks run.
fn binaries(root: &Path) -> BTreeMap<PathBuf, Stamp> {
    let deps = root.join("target/grade/deps");
    std::fs::read_dir(deps)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let path = entry.path();
            let meta = entry.metadata().ok()?;
            let executable = meta.is_file() && meta.mode() & 0o111 != 0;
            (executable && path.extension().is_none()).then(|| {
                let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                let dep_info = std::fs::metadata(path.with_extension("d"))
                    .and_then(|meta| meta.modified())
                    .ok();
                (path, (meta.ino(), meta.len(), modified, dep_info))
            })
        })
        .collect()
}

/// The binaries written into between two snapshots: changed, but not
/// rebuilt by cargo (whose build of a binary rewrites its dep-info file).
fn tampered(before: &BTreeMap<PathBuf, Stamp>, after: &BTreeMap<PathBuf, Stamp>) -> Vec<PathBuf> {
    before
        .iter()
        .filter(|(path, stamp)| {
            after
                .get(*path)
                .is_some_and(|now| now != *stamp && now.3 == stamp.3)
        })
        .map(|(path, _)| path.clone())
        .collect()
}

/// One line for the binaries a run changed, if any.
fn tampered_line(who: &str, paths: &[PathBuf]) -> Option<String> {
    let names: Vec<String> = paths
        .iter()
        .take(4)
        .filter_map(|path| path.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    (!paths.is_empty()).then(|| {
        format!(
            "{who}: {} check binaries of target/grade/deps were changed in place ({}{})",
            paths.len(),
            names.join(", "),
            if paths.len() > names.len() {
                ", …"
            } else {
                ""
            }
        )
    })
}

/// Removes the FIFOs a check left at result-file paths in the temporary
/// folder (the grader, killed, could not): regular result files of other
/// gradings running on this machine are left alone.
fn remove_result_fifos() {
    use std::os::unix::fs::FileTypeExt;
    for entry in std::fs::read_dir(std::env::temp_dir())
        .into_iter()
        .flatten()
        .flatten()
    {
        let fifo = entry.file_type().is_ok_and(|kind| kind.is_fifo());
        if fifo
            && entry
                .file_name()
                .to_string_lossy()
                .starts_with("wsw-check-")
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The human report's total: `total N/M`.
fn human_total(stdout: &str) -> Option<u32> {
    stdout.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("total ")?;
        rest.split('/').next()?.trim().parse().ok()
    })
}

/// The promises one run broke, each a line.
fn judge(
    name: &str,
    format: &str,
    run: &Run,
    bound: Duration,
    secrets: &Secrets,
    root: &Path,
    before: &BTreeMap<PathBuf, Stamp>,
) -> Vec<String> {
    let mut broken = Vec::new();
    let who = format!("{name} ({format})");
    match run.code {
        None => broken.push(format!(
            "{who}: the grader did not exit within {bound:?} and was killed"
        )),
        Some(0) => {}
        Some(code) => broken.push(format!(
            "{who}: the grader exited with {code}; stderr: {}",
            run.stderr.chars().take(600).collect::<String>()
        )),
    }
    if run.code.is_some() {
        let score = if format == "json" {
            serde_json::from_str::<serde_json::Value>(&run.stdout)
                .ok()
                .and_then(|json| json["score"].as_u64())
                .map(|score| score as u32)
        } else {
            human_total(&run.stdout)
        };
        match score {
            Some(0) => {}
            Some(score) => broken.push(format!("{who}: scored {score}, not 0")),
            None => broken.push(format!(
                "{who}: no score in the grader's output: {}",
                run.stdout.chars().take(600).collect::<String>()
            )),
        }
    }
    broken.extend(secrets.leaks(&format!("{who}: stdout"), &run.stdout));
    broken.extend(secrets.leaks(&format!("{who}: stderr"), &run.stderr));
    if shim_marker().exists() {
        broken.push(format!("{who}: a `kill` shim planted by a check ran"));
        let _ = std::fs::remove_file(shim_marker());
    }
    broken.extend(tampered_line(&who, &tampered(before, &binaries(root))));
    for path in remove_poison(root) {
        broken.push(format!("{who}: a check wrote {}", path.display()));
    }
    broken
}

#[test]
fn no_cheat_of_unit_05_scores_leaks_or_harms_the_grader() {
    let started = Instant::now();
    let root = grader::repo_root();
    let all = units::load_all(&root).expect("units load");
    let unit = units::find(&all, "05").expect("unit 05").clone();
    let cheats: Vec<(String, wrong::Wrong)> = wrong::load(&root, &unit)
        .expect("the wrong submissions load")
        .into_iter()
        .filter(|(name, _)| name.starts_with("cheat_"))
        .collect();
    assert!(
        cheats.len() >= 10,
        "the cheats of unit 05: {}",
        cheats.len()
    );
    for (name, cheat) in &cheats {
        assert_eq!(cheat.expect_score, Some(0), "{name} expects score 0");
    }

    // A private pack: the course's hidden checks with a secret marker line
    // near the top (a compiler message keeps the start of a file).
    let base = grader::scratch::base_dir(&root).join("forgery");
    let pack_dir = base.join("pack");
    let _ = std::fs::remove_dir_all(&pack_dir);
    pack::write_template(&root, &pack_dir, &[&unit]).expect("the pack template");
    let pack_marker = format!("wsw-forgery-pack-marker-{}", grader::run::nonce());
    let token = format!("wsw-forgery-token-{}", grader::run::nonce());
    let hidden_path = pack_dir.join("05-queue/hidden.rs");
    let hidden = std::fs::read_to_string(&hidden_path).expect("the pack's hidden.rs");
    let (first, rest) = hidden.split_once('\n').expect("more than a line");
    std::fs::write(&hidden_path, format!("{first}\n// {pack_marker}\n{rest}"))
        .expect("mark the pack");
    let secrets = Secrets::new(&root, &pack_marker, &token);

    // The class: one folder per cheat. Their scratch workspaces go first:
    // the FIFO cheat leaves FIFOs there, which would hang the next grading.
    let class = base.join("class");
    let _ = std::fs::remove_dir_all(&class);
    let mut submissions = Vec::new();
    for (name, cheat) in &cheats {
        let dir = wrong::materialize(&root, &unit, name, cheat, &class).expect("the cheat applies");
        submissions.push((name.clone(), dir));
    }
    let clear_scratch = |dir: &Path| {
        let label = Source::Dir(dir.to_owned()).label();
        let _ = std::fs::remove_dir_all(grader::scratch::base_dir(&root).join(label));
    };
    remove_shims();
    remove_poison(&root);
    let _ = std::fs::remove_file(shim_marker());

    let mut broken: Vec<String> = Vec::new();
    let mut hung = Vec::new();
    let tests = pack_dir.clone().into_os_string();
    for (name, dir) in &submissions {
        clear_scratch(dir);
        for (format, bound) in [("json", BUILD_BOUND), ("human", GRADE_BOUND)] {
            let before = binaries(&root);
            let args: Vec<OsString> = vec![
                "--submission".into(),
                dir.clone().into_os_string(),
                "--tests".into(),
                tests.clone(),
                "--format".into(),
                format.into(),
                "05".into(),
            ];
            let run = grade(&args, &token, bound);
            let state = serde_json::from_str::<serde_json::Value>(&run.stdout)
                .map(|json| format!("{} {}", json["units"][0]["state"], json["score"]))
                .unwrap_or_default();
            eprintln!(
                "{name} ({format}): exit {:?} in {:.1?} {state}",
                run.code, run.elapsed
            );
            broken.extend(judge(name, format, &run, bound, &secrets, &root, &before));
            for shim in remove_shims() {
                broken.push(format!(
                    "{name} ({format}): planted a `kill` shim at {}",
                    shim.display()
                ));
            }
            if run.code.is_none() {
                hung.push(name.clone());
                clear_scratch(dir);
                remove_result_fifos();
                break;
            }
        }
    }

    // The class as one batch, reports to the folder the report cheat
    // guesses; a cheat that hung a single grading would hang it again.
    let batch = base.join("batch");
    let _ = std::fs::remove_dir_all(&batch);
    let mut students = Vec::new();
    for (name, dir) in &submissions {
        if hung.contains(name) {
            continue;
        }
        clear_scratch(dir);
        grader::files::mirror(dir, &batch.join(name)).expect("copy into the batch");
        students.push(name.clone());
    }
    let out = out_dir();
    let _ = std::fs::remove_dir_all(&out);
    let before = binaries(&root);
    let args: Vec<OsString> = vec![
        "--batch".into(),
        batch.clone().into_os_string(),
        "--out".into(),
        out.clone().into_os_string(),
        "--tests".into(),
        tests.clone(),
        "--format".into(),
        "json".into(),
        "05".into(),
    ];
    let run = grade(&args, &token, BATCH_BOUND);
    eprintln!("batch: {:?} in {:.1?}", run.code, run.elapsed);
    if run.code.is_none() {
        remove_result_fifos();
    }
    match run.code {
        Some(0) => {}
        None => broken.push(format!(
            "batch: the grader did not exit within {BATCH_BOUND:?}"
        )),
        Some(code) => broken.push(format!("batch: the grader exited with {code}")),
    }
    broken.extend(secrets.leaks("batch: stdout", &run.stdout));
    broken.extend(secrets.leaks("batch: stderr", &run.stderr));
    if shim_marker().exists() {
        broken.push("batch: a `kill` shim planted by a check ran".to_owned());
        let _ = std::fs::remove_file(shim_marker());
    }
    for shim in remove_shims() {
        broken.push(format!(
            "batch: planted a `kill` shim at {}",
            shim.display()
        ));
    }
    broken.extend(tampered_line("batch", &tampered(&before, &binaries(&root))));
    for path in remove_poison(&root) {
        broken.push(format!("batch: a check wrote {}", path.display()));
    }
    for entry in std::fs::read_dir(&out).into_iter().flatten().flatten() {
        let text =
            String::from_utf8_lossy(&std::fs::read(entry.path()).unwrap_or_default()).into_owned();
        broken.extend(secrets.leaks(&format!("batch: {}", entry.path().display()), &text));
    }
    if run.code.is_some() {
        broken.extend(batch_reports(&out, &students));
    }

    // Still fine: the reference solution, from a folder of its own, with
    // the pack, gets full marks.
    let reference = base.join("reference");
    grader::files::mirror(
        &root.join("solutions/05-queue/src"),
        &reference.join("05-queue/src"),
    )
    .expect("copy the solution");
    let args: Vec<OsString> = vec![
        "--submission".into(),
        reference.into_os_string(),
        "--tests".into(),
        tests,
        "--format".into(),
        "json".into(),
        "05".into(),
    ];
    let run = grade(&args, &token, BUILD_BOUND);
    let score = serde_json::from_str::<serde_json::Value>(&run.stdout)
        .ok()
        .and_then(|json| json["score"].as_u64());
    if run.code != Some(0) || score != Some(100) {
        broken.push(format!(
            "afterwards: the reference solution got {score:?} (exit {:?}), not 100: {}",
            run.code,
            run.stderr.chars().take(600).collect::<String>()
        ));
    }
    eprintln!("forgery: {:.1?} in all", started.elapsed());
    assert!(
        broken.is_empty(),
        "{} broken promise(s) of the grader against cheating submissions:\n  {}",
        broken.len(),
        broken.join("\n  ")
    );
}

/// The batch's `summary.csv` and reports: the grader's own, in agreement,
/// every cheat at 0.
fn batch_reports(out: &Path, students: &[String]) -> Vec<String> {
    let mut broken = Vec::new();
    let Ok(summary) = std::fs::read_to_string(out.join(grader::batch::SUMMARY_CSV)) else {
        return vec!["batch: no summary.csv".to_owned()];
    };
    let mut lines = summary.lines().map(|line| line.trim_end_matches('\r'));
    if lines.next() != Some("student,05-queue,total,max_total,error,isolation") {
        broken.push(format!(
            "batch: summary.csv is not the grader's: {summary:?}"
        ));
    }
    let rows: BTreeMap<String, Vec<String>> = lines
        .map(|line| {
            let fields: Vec<String> = line.split(',').map(str::to_owned).collect();
            (fields[0].clone(), fields)
        })
        .collect();
    let names: Vec<&String> = rows.keys().collect();
    let mut expected: Vec<&String> = students.iter().collect();
    expected.sort();
    if names != expected {
        broken.push(format!(
            "batch: summary.csv has the rows {names:?}, not {expected:?}"
        ));
    }
    for student in students {
        let Some(row) = rows.get(student) else {
            continue;
        };
        if row.get(1).map(String::as_str) != Some("0") {
            broken.push(format!("batch: summary.csv gives {student} {row:?}"));
        }
        let path = grader::batch::report_path(out, student, grader::batch::ReportFormat::Json);
        let report = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok());
        let Some(report) = report else {
            broken.push(format!("batch: {} is not JSON", path.display()));
            continue;
        };
        let grader_s = report["schema_version"].is_u64()
            && report["units"][0]["id"] == "05"
            && report["units"][0]["checks"]
                .as_array()
                .is_some_and(|c| c.len() >= 15);
        if !grader_s {
            broken.push(format!(
                "batch: {} is not the grader's report: {}",
                path.display(),
                report.to_string().chars().take(300).collect::<String>()
            ));
        } else if report["score"].as_u64().map(|s| s.to_string()).as_deref()
            != row.get(1).map(String::as_str)
        {
            broken.push(format!(
                "batch: {} says {} but summary.csv {row:?}",
                path.display(),
                report["score"]
            ));
        }
    }
    broken
}
