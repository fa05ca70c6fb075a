//! `cargo grade --batch DIR`: every student's submission in one run.
//!
//! `DIR` holds one folder per student, named after the student; each is a
//! copy of `exercises/` (or holds one, as `exercises/`). Every submission is
//! graded exactly as `cargo grade --submission` would, into its own scratch
//! workspace, all of them in the one target directory, so the dependencies
//! (tokio, axum, tungstenite…) are compiled once for the whole class.
//!
//! Up to [`Options::jobs`] submissions are in progress at once. Cargo builds
//! one at a time (it locks the target directory), so what overlaps is one
//! submission's build with another's checks; the checks of all submissions
//! share one pool of [`grade::parallel_checks`] processes, so a batch loads
//! the machine no more than a single grading and timing-sensitive checks
//! keep their margins.
//!
//! A submission that cannot be graded (a symbolic link, a folder that is
//! not a submission, a grader failure) gets a row with its reason in the
//! CSV, and the batch goes on.
//!
//! A class too big for one machine is graded in shards ([`Shard`],
//! `--shard K/N`): the students sorted by folder name, student `i` (from
//! 0) in shard `i mod N + 1`; [`crate::merge`] joins the shards' outputs
//! into what one run would have written. Every file of the output folder is
//! written atomically ([`files::write_atomic`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::grade::{self, Progress, Request};
use crate::report::Report;
use crate::scratch::Source;
use crate::{GraderError, files, formats, render, units};

/// Default number of submissions in progress at once.
pub const DEFAULT_JOBS: usize = 2;

/// The name of the summary written next to the reports.
pub const SUMMARY_CSV: &str = "summary.csv";

/// The format of each student's report file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// The terminal text, `<student>.txt`.
    Human,
    /// The JSON report, `<student>.json`.
    Json,
    /// JUnit XML, `<student>.xml`.
    Junit,
    /// Gradescope's results, `<student>.gradescope.json`.
    Gradescope,
}

impl ReportFormat {
    fn extension(self) -> &'static str {
        match self {
            ReportFormat::Human => "txt",
            ReportFormat::Json => "json",
            ReportFormat::Junit => "xml",
            ReportFormat::Gradescope => "gradescope.json",
        }
    }

    /// The report of a submission that could not be graded.
    fn not_graded(self, student: &str, error: &str) -> String {
        match self {
            ReportFormat::Json => {
                serde_json::json!({ "submission": student, "error": error }).to_string() + "\n"
            }
            ReportFormat::Gradescope => {
                serde_json::json!({ "score": 0, "output": format!("Not graded: {error}") })
                    .to_string()
                    + "\n"
            }
            ReportFormat::Junit => {
                let (student, error) = (
                    quick_xml::escape::escape(student),
                    quick_xml::escape::escape(error),
                );
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
                     <testsuites name=\"{student}\" tests=\"1\" failures=\"0\" errors=\"1\">\n  \
                     <testsuite name=\"submission\" tests=\"1\" failures=\"0\" errors=\"1\">\n    \
                     <testcase classname=\"submission\" name=\"grading\">\n      \
                     <error message=\"not graded: {error}\" type=\"not_graded\"/>\n    \
                     </testcase>\n  </testsuite>\n</testsuites>\n"
                )
            }
            ReportFormat::Human => format!("{student}: not graded: {error}\n"),
        }
    }

    fn render(self, report: &Report) -> String {
        match self {
            ReportFormat::Human => render::human(report, true),
            ReportFormat::Json => report.to_json() + "\n",
            ReportFormat::Junit => formats::junit::render(report),
            ReportFormat::Gradescope => formats::gradescope::render(report) + "\n",
        }
    }
}

/// How to run a batch.
#[derive(Debug, Clone)]
pub struct Options {
    /// Submissions in progress at once (at least 1).
    pub jobs: usize,
    /// Where the CSV and the reports go (created if missing).
    pub out: PathBuf,
    /// The format of the per-student reports.
    pub format: ReportFormat,
    /// Unit ids or slugs; empty means every unit.
    pub units: Vec<String>,
    /// Grade units even when they are still the stub.
    pub force: bool,
    /// Grade only this slice of the class; `None` grades everyone.
    pub shard: Option<Shard>,
}

/// One slice of a class, `--shard K/N`: shard `index` of `count`, both
/// counted from 1. The students sorted by folder name, student `i` (from 0)
/// belongs to shard `i mod count + 1`, so every machine that sees the same
/// class folder makes the same slices, and the shards of `1/N` … `N/N`
/// hold every student exactly once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which shard, from 1.
    pub index: usize,
    /// How many shards in all (at least 1).
    pub count: usize,
}

impl Shard {
    /// Shard `index` of `count`; an error unless `1 <= index <= count`.
    pub fn new(index: usize, count: usize) -> Result<Shard, String> {
        if count == 0 {
            return Err(format!(
                "a class cannot be cut into 0 shards: expected K/N with 1 <= K <= N, got {index}/{count}"
            ));
        }
        if index == 0 || index > count {
            return Err(format!(
                "there is no shard {index} of {count}: expected K/N with 1 <= K <= N \
                 (shards are counted from 1, e.g. 1/{count} … {count}/{count})"
            ));
        }
        Ok(Shard { index, count })
    }

    /// Whether the student at `position` (from 0) of the sorted class is in
    /// this shard.
    pub fn holds(&self, position: usize) -> bool {
        position % self.count + 1 == self.index
    }
}

impl FromStr for Shard {
    type Err = String;

    /// `K/N`, e.g. `2/10`.
    fn from_str(text: &str) -> Result<Shard, String> {
        let expected = || {
            format!(
                "expected K/N with 1 <= K <= N (e.g. 2/10 for the second of ten shards), got {text:?}"
            )
        };
        let (index, count) = text.split_once('/').ok_or_else(expected)?;
        let number = |part: &str| part.trim().parse::<usize>().map_err(|_| expected());
        Shard::new(number(index)?, number(count)?)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// One student's line of the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The folder's name.
    pub student: String,
    /// Unit slug → points, for every unit of the batch; empty on an error.
    pub scores: BTreeMap<String, u32>,
    /// Points over all units.
    pub total: u32,
    /// Points available.
    pub max_total: u32,
    /// Why the submission could not be graded.
    pub error: Option<String>,
    /// The sandbox its checks ran in ([`Report::isolation`]); empty when it
    /// was not graded.
    pub isolation: String,
}

/// What a batch produced.
#[derive(Debug)]
pub struct Summary {
    /// The units, in course order: the CSV's score columns.
    pub units: Vec<String>,
    /// One row per student, sorted by name.
    pub rows: Vec<Row>,
    /// Wall-clock time of the whole batch.
    pub elapsed: Duration,
}

/// A progress event of the batch.
#[derive(Debug, Clone)]
pub enum BatchProgress {
    /// Something happened to a submission in progress (`building`, `01-connection 3/17`).
    Step(String, String),
    /// A submission is done: student, its row, submissions done, submissions in all.
    Done(String, Row, usize, usize),
}

/// The student folders under `dir`: `(name, submission folder)`, sorted.
/// A student folder holding `exercises/` is graded from there.
pub fn students(dir: &Path) -> Result<Vec<(String, PathBuf)>, GraderError> {
    let entries = std::fs::read_dir(dir).map_err(|source| GraderError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| GraderError::Io {
            path: dir.to_owned(),
            source,
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        // A link is listed (and refused when graded), a plain file is not a student.
        let is_link = entry.file_type().is_ok_and(|kind| kind.is_symlink());
        if !is_link && !path.is_dir() {
            continue;
        }
        let nested = path.join("exercises");
        let submission = if !is_link && nested.is_dir() {
            nested
        } else {
            path
        };
        found.push((name, submission));
    }
    found.sort();
    Ok(found)
}

/// Grades every submission under `dir` (those of `options.shard` only, when
/// set) and writes `summary.csv` and one report per student into
/// `options.out`, each file atomically.
pub async fn run(
    root: &Path,
    dir: &Path,
    options: &Options,
    progress: Arc<dyn Fn(BatchProgress) + Send + Sync>,
) -> Result<Summary, GraderError> {
    let started = Instant::now();
    let all = units::load_all(root)?;
    let columns: Vec<String> = if options.units.is_empty() {
        all.iter().map(|u| u.slug.clone()).collect()
    } else {
        options
            .units
            .iter()
            .map(|wanted| {
                units::find(&all, wanted)
                    .map(|u| u.slug.clone())
                    .ok_or_else(|| GraderError::UnknownUnit(wanted.clone()))
            })
            .collect::<Result<_, _>>()?
    };
    let students: Vec<(String, PathBuf)> = students(dir)?
        .into_iter()
        .enumerate()
        .filter(|(position, _)| options.shard.is_none_or(|shard| shard.holds(*position)))
        .map(|(_, student)| student)
        .collect();
    std::fs::create_dir_all(&options.out).map_err(|source| GraderError::Io {
        path: options.out.clone(),
        source,
    })?;
    // One lock for the whole batch: no other grading shares the target
    // directory meanwhile; the batch's own gradings use distinct folders.
    let _lock = grade::lock(root)?;

    let total = students.len();
    let done = Arc::new(Mutex::new(0usize));
    let permits = Arc::new(tokio::sync::Semaphore::new(options.jobs.max(1)));
    let mut tasks = Vec::new();
    for (student, submission) in students {
        let (root, options, permits) = (root.to_owned(), options.clone(), permits.clone());
        let (progress, done, columns) = (progress.clone(), done.clone(), columns.clone());
        tasks.push((
            student.clone(),
            tokio::spawn(async move {
                let _permit = permits.acquire_owned().await.ok();
                progress(BatchProgress::Step(student.clone(), "starting".into()));
                let step = {
                    let (progress, student) = (progress.clone(), student.clone());
                    Arc::new(move |event: Progress| {
                        let text = match event {
                            Progress::Building(_) => "building".to_owned(),
                            Progress::Built(slug) => format!("{slug} built"),
                            Progress::Checked(slug, n, of) => format!("{slug} {n}/{of}"),
                        };
                        progress(BatchProgress::Step(student.clone(), text));
                    })
                };
                let row = grade_one(&root, &student, &submission, &options, &columns, step).await;
                let finished = {
                    let mut done = done.lock().unwrap_or_else(|e| e.into_inner());
                    *done += 1;
                    *done
                };
                progress(BatchProgress::Done(student, row.clone(), finished, total));
                row
            }),
        ));
    }
    let mut rows = Vec::with_capacity(tasks.len());
    for (student, task) in tasks {
        rows.push(task.await.unwrap_or_else(|error| Row {
            student,
            scores: BTreeMap::new(),
            total: 0,
            max_total: 0,
            error: Some(format!("the grader failed on this submission: {error}")),
            isolation: String::new(),
        }));
    }
    let summary = Summary {
        units: columns,
        rows,
        elapsed: started.elapsed(),
    };
    files::write_atomic(&options.out.join(SUMMARY_CSV), csv(&summary).as_bytes())?;
    Ok(summary)
}

async fn grade_one(
    root: &Path,
    student: &str,
    submission: &Path,
    options: &Options,
    columns: &[String],
    progress: Arc<dyn Fn(Progress) + Send + Sync>,
) -> Row {
    let request = Request {
        source: Source::Dir(submission.to_owned()),
        units: options.units.clone(),
        force: options.force,
        checks: Vec::new(),
    };
    let report = match grade::grade_locked(root, &request, progress).await {
        Ok(report) => report,
        Err(error) => {
            let row = Row {
                student: student.to_owned(),
                scores: BTreeMap::new(),
                total: 0,
                max_total: 0,
                error: Some(error.to_string()),
                isolation: String::new(),
            };
            let _ = files::write_atomic(
                &report_path(&options.out, student, options.format),
                options
                    .format
                    .not_graded(student, &error.to_string())
                    .as_bytes(),
            );
            return row;
        }
    };
    let written = files::write_atomic(
        &report_path(&options.out, student, options.format),
        options.format.render(&report).as_bytes(),
    );
    let scores = columns
        .iter()
        .map(|slug| {
            let score = report
                .units
                .iter()
                .find(|u| &u.slug == slug)
                .map_or(0, |u| u.score);
            (slug.clone(), score)
        })
        .collect();
    Row {
        student: student.to_owned(),
        scores,
        total: report.score,
        max_total: report.max_score,
        error: written
            .err()
            .map(|error| format!("graded, but the report was not written: {error}")),
        isolation: report.isolation,
    }
}

/// `<out>/<student>.<ext>`, the student's name made safe for a file name.
pub fn report_path(out: &Path, student: &str, format: ReportFormat) -> PathBuf {
    let safe: String = student
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '@') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let safe = safe.trim_start_matches('.');
    out.join(format!("{safe}.{}", format.extension()))
}

/// The summary as CSV (RFC 4180): `student`, one column of points per
/// unit, `total`, `max_total`, `error`, `isolation`. Nothing in it depends
/// on when it was graded, and only `isolation` on the machine, so the
/// shards of a class merge into exactly the CSV of one run.
pub fn csv(summary: &Summary) -> String {
    let mut out = String::new();
    push_record(&mut out, &csv_header(&summary.units));
    for row in &summary.rows {
        let mut record = vec![row.student.clone()];
        for unit in &summary.units {
            record.push(
                row.scores
                    .get(unit)
                    .map_or_else(String::new, u32::to_string),
            );
        }
        record.push(row.total.to_string());
        record.push(row.max_total.to_string());
        record.push(row.error.clone().unwrap_or_default());
        record.push(row.isolation.clone());
        push_record(&mut out, &record);
    }
    out
}

/// The first line of `summary.csv` for these unit columns.
pub fn csv_header(units: &[String]) -> Vec<String> {
    let mut header = vec!["student".to_owned()];
    header.extend(units.iter().cloned());
    header.extend(["total", "max_total", "error", "isolation"].map(str::to_owned));
    header
}

/// Appends one CSV record (fields [`quote`]d, ended by CRLF) to `out`.
pub fn push_record(out: &mut String, fields: &[String]) {
    let line: Vec<String> = fields.iter().map(|field| quote(field)).collect();
    let _ = write!(out, "{}\r\n", line.join(","));
}

/// A CSV field: quoted when it holds a comma, a quote or a line break
/// (quotes doubled); a leading `=`, `+`, `-` or `@` is prefixed with `'`
/// so a spreadsheet does not run a student's folder name as a formula.
pub fn quote(field: &str) -> String {
    let field = if field.starts_with(['=', '+', '-', '@']) {
        format!("'{field}")
    } else {
        field.to_owned()
    };
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field
    }
}

/// Reads CSV as [`csv`] writes it (RFC 4180: quoted fields with doubled
/// quotes, line breaks inside quotes, records ended by CRLF or LF): the
/// fields of every record, unquoted. The `'` that [`quote`] puts before a
/// leading `=`, `+`, `-` or `@` stays: [`quote`] gives the field back as it
/// was. An error says where the text is not CSV.
pub fn parse_csv(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while let Some(c) = chars.next() {
        match c {
            '"' if field.is_empty() => {
                let start = line;
                loop {
                    match chars.next() {
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            field.push('"');
                        }
                        Some('"') => break,
                        Some(c) => {
                            line += usize::from(c == '\n');
                            field.push(c);
                        }
                        None => {
                            return Err(format!(
                                "line {start}: a quoted field is never closed (expected a closing \")"
                            ));
                        }
                    }
                }
                if !matches!(chars.peek(), None | Some(',' | '\r' | '\n')) {
                    return Err(format!(
                        "line {line}: text after a closing quote (expected a comma or the end of the line)"
                    ));
                }
            }
            ',' => record.push(std::mem::take(&mut field)),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
                line += 1;
            }
            c => field.push(c),
        }
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    Ok(records)
}

/// The batch's progress on a terminal: one line rewritten in place with
/// what is done and what each submission in progress is doing; without a
/// terminal, one line per finished submission.
pub fn progress_printer(terminal: bool) -> Arc<dyn Fn(BatchProgress) + Send + Sync> {
    let state: Mutex<(BTreeMap<String, String>, usize, usize)> =
        Mutex::new((BTreeMap::new(), 0, 0));
    Arc::new(move |event| {
        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
        match event {
            BatchProgress::Step(student, step) => {
                state.0.insert(student, step);
            }
            BatchProgress::Done(student, row, done, total) => {
                state.0.remove(&student);
                (state.1, state.2) = (done, total);
                let result = match &row.error {
                    Some(error) => format!("not graded: {error}"),
                    None => format!("{}/{}", row.total, row.max_total),
                };
                // A folder's name and an error quoting a submission's path
                // are the students' text: no escapes reach the terminal.
                let line = crate::sanitize::terminal_safe(&format!(
                    "[{done}/{total}] {student}: {result}"
                ))
                .into_owned();
                if terminal {
                    eprintln!("\r\x1b[2K{line}");
                } else {
                    eprintln!("{line}");
                }
            }
        }
        if terminal {
            let (running, done, total) = (&state.0, state.1, state.2);
            let bar_width = 20;
            let filled = (done * bar_width).checked_div(total).unwrap_or(0);
            let now: Vec<String> = running
                .iter()
                .map(|(s, step)| {
                    crate::sanitize::terminal_safe(&format!("{s}: {step}")).into_owned()
                })
                .collect();
            eprint!(
                "\r\x1b[2K[{}{}] {done}/{total}  {}",
                "#".repeat(filled),
                ".".repeat(bar_width - filled),
                now.join(" · ")
            );
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(quote("alice"), "alice");
        assert_eq!(quote("Doe, Jane"), "\"Doe, Jane\"");
        assert_eq!(quote("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(quote("two\nlines"), "\"two\nlines\"");
        assert_eq!(quote("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }

    #[test]
    fn the_summary_has_one_column_per_unit() {
        let summary = Summary {
            units: vec!["01-connection".into(), "02-page-policy".into()],
            rows: vec![
                Row {
                    student: "alice".into(),
                    scores: BTreeMap::from([
                        ("01-connection".into(), 100),
                        ("02-page-policy".into(), 40),
                    ]),
                    total: 140,
                    max_total: 200,
                    error: None,
                    isolation: "checks run in namespaces, with limits".into(),
                },
                Row {
                    student: "bob, the second".into(),
                    scores: BTreeMap::new(),
                    total: 0,
                    max_total: 0,
                    error: Some("a symbolic link".into()),
                    isolation: String::new(),
                },
            ],
            elapsed: Duration::ZERO,
        };
        let text = csv(&summary);
        assert_eq!(
            text,
            "student,01-connection,02-page-policy,total,max_total,error,isolation\r\n\
             alice,100,40,140,200,,\"checks run in namespaces, with limits\"\r\n\
             \"bob, the second\",,,0,0,a symbolic link,\r\n"
        );
        let records = parse_csv(&text).expect("our own CSV parses");
        assert_eq!(records.len(), 3);
        assert_eq!(records[0], csv_header(&summary.units));
        assert_eq!(records[2][0], "bob, the second");
        assert_eq!(records[1][6], "checks run in namespaces, with limits");
    }

    #[test]
    fn csv_parses_back_to_what_was_quoted() {
        let fields: Vec<String> = [
            "plain",
            "Doe, Jane",
            "say \"hi\"",
            "two\r\nlines",
            "=HYPERLINK(1)",
            "",
            "'already",
        ]
        .map(str::to_owned)
        .to_vec();
        let mut text = String::new();
        push_record(&mut text, &fields);
        push_record(&mut text, &fields);
        let records = parse_csv(&text).expect("parses");
        assert_eq!(records.len(), 2);
        let requoted: Vec<String> = records[0].iter().map(|f| quote(f)).collect();
        let quoted: Vec<String> = fields.iter().map(|f| quote(f)).collect();
        assert_eq!(requoted, quoted, "quote(parse(quote(x))) == quote(x)");
        assert_eq!(records[0][3], "two\r\nlines");
        assert_eq!(records[0][4], "'=HYPERLINK(1)");
        assert!(parse_csv("a,\"open\r\n").is_err());
        assert!(parse_csv("a,\"x\"y\r\n").is_err());
        assert_eq!(parse_csv("").expect("empty"), Vec::<Vec<String>>::new());
    }

    #[test]
    fn shards_slice_the_sorted_class_round_robin() {
        let shards: Vec<Shard> = (1..=3).map(|k| Shard::new(k, 3).expect("valid")).collect();
        let owners: Vec<usize> = (0..7)
            .map(|position| {
                let holding: Vec<&Shard> = shards.iter().filter(|s| s.holds(position)).collect();
                assert_eq!(
                    holding.len(),
                    1,
                    "student {position} is in exactly one shard"
                );
                holding[0].index
            })
            .collect();
        assert_eq!(owners, [1, 2, 3, 1, 2, 3, 1]);
        let one = Shard::new(1, 1).expect("valid");
        assert!((0..5).all(|position| one.holds(position)));
        assert_eq!(
            "2/10".parse::<Shard>(),
            Ok(Shard {
                index: 2,
                count: 10
            })
        );
        assert_eq!(
            " 3 / 3 ".parse::<Shard>().map(|s| s.to_string()),
            Ok("3/3".into())
        );
    }

    #[test]
    fn impossible_shards_are_refused_with_what_was_expected() {
        for (text, says) in [
            ("0/3", "there is no shard 0 of 3"),
            ("4/3", "there is no shard 4 of 3"),
            ("1/0", "cannot be cut into 0 shards"),
            ("2", "expected K/N"),
            ("a/b", "expected K/N"),
            ("-1/3", "expected K/N"),
            ("1/3/5", "expected K/N"),
        ] {
            let error = text.parse::<Shard>().expect_err(text);
            assert!(error.contains(says), "{text}: {error}");
            assert!(error.contains("1 <= K <= N"), "{text}: {error}");
        }
    }

    #[test]
    fn report_names_are_safe() {
        let out = Path::new("/out");
        assert_eq!(
            report_path(out, "../evil name", ReportFormat::Json),
            Path::new("/out/_evil_name.json")
        );
        assert_eq!(
            report_path(out, "alice", ReportFormat::Junit),
            Path::new("/out/alice.xml")
        );
    }
}
