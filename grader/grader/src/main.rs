//! `cargo grade`: grade my work and tell me what's next.
//!
//! ```text
//! cargo grade                      every unit of exercises/: state, score, next step
//! cargo grade 01                   unit 01, visible and hidden checks, what to fix
//! cargo grade --solutions          the reference solutions (full marks)
//! cargo grade --submission DIR     a copy of exercises/ from elsewhere
//! cargo grade --format json        the report as JSON (schema in the book)
//! cargo grade --format junit       JUnit XML (GitLab, GitHub test reports)
//! cargo grade --format gradescope  Gradescope's results.json
//! cargo grade --out FILE           write the report (in --format) to FILE, atomically
//! cargo grade --ci                 exit 1 when a graded check failed
//! cargo grade --strict             (exams) refuse to grade without the whole sandbox
//! cargo grade --batch DIR          every student folder under DIR: a CSV and one report each
//! cargo grade --batch DIR --shard K/N   only the K-th of N slices of the class
//! cargo grade merge OUT SHARD_DIR… join the shards' outputs into one summary.csv and reports
//! cargo grade gradescope-bundle    the Gradescope autograder zip
//! cargo grade --tests DIR          grade with a private test pack (hidden checks, points)
//! cargo grade tests-template DIR   start a private test pack from the course's checks
//! cargo grade --coverage           which checks cover which graded behaviour
//! cargo grade list                 every unit with its chapter and status
//! cargo grade watch                the next unit's visible checks on every save
//! cargo grade hint [NN]            the next hint of a unit, one at a time
//! cargo grade reset NN [--force]   the unit's stub back, your code in a backup
//! cargo grade serve [--port 8000]  the book and the testkit server
//! cargo grade sync-stubs [--check] regenerate exercises/ from solutions/ (maintainers)
//! cargo grade mutants [NN]         mutation-test the checks with cargo-mutants (maintainers)
//! cargo grade --lang zh-CN …       the learner's messages in Simplified Chinese
//!                                  (default: from LC_ALL, LC_MESSAGES or LANG)
//! ```

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use grader::grade::{self, Progress, Request};
use grader::l10n::{self, Lang};
use grader::scratch::Source;
use grader::{GraderError, coverage, formats, learner, render, stubs, units};

/// Grades WebSocket Workbook units and tells you what to do next.
#[derive(Parser)]
#[command(
    name = "cargo grade",
    bin_name = "cargo grade",
    version,
    after_help = "For instructors (the book's Instructors' guide has more):
  cargo grade --submission DIR --format junit --out report.xml   one report, written atomically
  cargo grade --batch CLASS --out grades --format json           a class: summary.csv + reports
  cargo grade --batch CLASS --shard 3/10 --out shard-3           one slice of a big class
  cargo grade merge grades shard-1 shard-2 …                     the slices joined"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Units to grade (`01`, `1`, `01-connection`); all when none is given.
    units: Vec<String>,
    /// Grade the reference solutions instead of exercises/.
    #[arg(long, conflicts_with = "submission")]
    solutions: bool,
    /// Grade a copy of exercises/ from elsewhere (one folder per unit).
    #[arg(long, value_name = "DIR")]
    submission: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Grade units even when their code is still the stub.
    #[arg(long)]
    force: bool,
    /// Print every graded behaviour and the checks that cover it.
    #[arg(long)]
    coverage: bool,
    /// Exit with 1 when a graded check failed or a unit does not compile
    /// (default: 0 whenever grading ran).
    #[arg(long)]
    ci: bool,
    /// Grade every student folder under DIR (each a copy of exercises/);
    /// writes summary.csv and one report per student (in --format) to --out.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["submission", "solutions"])]
    batch: Option<PathBuf>,
    /// With --batch: grade only shard K of N (students sorted by folder
    /// name, the i-th from 0 in shard i mod N + 1); join the shards with
    /// `cargo grade merge`.
    #[arg(long, value_name = "K/N", requires = "batch")]
    shard: Option<grader::batch::Shard>,
    /// Grade with an instructor's private test pack (see `cargo grade tests-template`).
    #[arg(long, value_name = "DIR", global = true)]
    tests: Option<PathBuf>,
    /// With --batch: submissions graded at once.
    #[arg(long, value_name = "N", default_value_t = grader::batch::DEFAULT_JOBS, requires = "batch")]
    jobs: usize,
    /// Without --batch: the file the report (in --format) is written to,
    /// atomically, while the terminal gets the human-readable report. With
    /// --batch: the folder for summary.csv and the reports (default: grades).
    #[arg(long, value_name = "FILE|DIR")]
    out: Option<PathBuf>,
    /// The repository root (default: where the grader was built from).
    #[arg(long, value_name = "DIR", hide = true)]
    root: Option<PathBuf>,
    /// Exams: refuse to grade unless every layer of the sandbox (namespaces
    /// and Landlock) is in force, instead of grading with less.
    #[arg(long, global = true)]
    strict: bool,
    /// Run only this check (repeatable); the unit is scored out of the
    /// checks run.
    #[arg(long = "check", value_name = "ID")]
    checks: Vec<String>,
    /// The language of the learner's messages: en or zh-CN (default: from
    /// LC_ALL, LC_MESSAGES or LANG). Instructors' formats stay English.
    #[arg(long, value_name = "LANG", global = true)]
    lang: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// List every unit with its chapter, files and status.
    List,
    /// Run the next unfinished unit's visible checks on every save (h: hint, q: quit).
    Watch {
        /// Watch a copy of exercises/ from elsewhere instead.
        #[arg(long, value_name = "DIR")]
        submission: Option<PathBuf>,
    },
    /// Show the next hint of a unit (the next unfinished unit when none is given).
    Hint {
        /// The unit (`01`, `01-connection`).
        unit: Option<String>,
        /// Start again from the first hint.
        #[arg(long)]
        reset: bool,
        /// The learner's workspace (default: exercises/).
        #[arg(long, value_name = "DIR", hide = true)]
        submission: Option<PathBuf>,
    },
    /// Restore a unit's stub, saving your code to a backup first.
    Reset {
        /// The unit (`01`, `01-connection`).
        unit: String,
        /// Reset even though the unit has changes (they are backed up first).
        #[arg(long)]
        force: bool,
        /// The learner's workspace (default: exercises/).
        #[arg(long, value_name = "DIR", hide = true)]
        submission: Option<PathBuf>,
    },
    /// Serve the book and the testkit server (http://127.0.0.1:8000, ws://127.0.0.1:8000/ws).
    Serve {
        /// The port on 127.0.0.1 (0: any free port, printed at start).
        #[arg(long, default_value_t = 8000)]
        port: u16,
    },
    /// Start a private test pack in DIR from the course's unit.toml and hidden.rs files.
    TestsTemplate {
        /// The pack's folder (created; existing files are kept).
        dir: PathBuf,
        /// Units to include; all when none is given.
        units: Vec<String>,
    },
    /// Join the shards of a batch into one summary.csv and one set of reports.
    ///
    /// Each SHARD_DIR is the --out of a `cargo grade --batch DIR --shard K/N`
    /// run; OUT gets what one unsharded run would have written (the same
    /// CSV, byte for byte). Refuses shards that overlap or graded other units.
    Merge {
        /// Where the merged summary.csv and reports go (created).
        out: PathBuf,
        /// The shards' --out folders, each holding a summary.csv.
        #[arg(required = true, value_name = "SHARD_DIR")]
        shards: Vec<PathBuf>,
    },
    /// Write the Gradescope autograder zip (setup.sh, run_autograder, README.txt).
    GradescopeBundle {
        /// Where to write it.
        #[arg(long, value_name = "FILE", default_value = grader::formats::bundle::DEFAULT_NAME)]
        out: PathBuf,
    },
    /// Grade the unit's deliberately wrong submissions and compare each with its expectation (maintainers).
    Wrong {
        /// Units to check; all when none is given.
        units: Vec<String>,
        /// Run only this check (repeatable); each submission must fail
        /// exactly the ones of them it expects to fail.
        #[arg(long = "check", value_name = "ID")]
        checks: Vec<String>,
    },
    /// Mutation-test the units' checks with cargo-mutants and print the
    /// per-unit table (maintainers; `cargo install --locked cargo-mutants`).
    Mutants {
        /// Units to mutate; all when none is given.
        units: Vec<String>,
        /// Only cargo-mutants' shard K/N of each unit's mutants (K from 0).
        #[arg(long, value_name = "K/N")]
        shard: Option<String>,
        /// Where cargo-mutants' results go (one folder per unit).
        #[arg(long, value_name = "DIR", default_value = "target/mutants")]
        results: PathBuf,
        /// Do not run cargo-mutants: read the results already in --results.
        #[arg(long)]
        read_only: bool,
        /// Test again only what the last run in --results did not kill
        /// (after a sharper check); the table still counts every mutant.
        #[arg(long, conflicts_with = "read_only")]
        iterate: bool,
        /// Skip the baseline run of the unmutated checks (when they have
        /// just passed, as in CI); a mutant's checks time out after 60 s.
        #[arg(long, conflicts_with = "read_only")]
        no_baseline: bool,
        /// Only the units (of those given, or of all) whose solution or
        /// checks changed since this git revision (`solutions/NN-*/`,
        /// `grader/units/NN-*/`).
        #[arg(long, value_name = "REV")]
        changed_since: Option<String>,
    },
    /// Regenerate exercises/ from solutions/ (maintainers).
    SyncStubs {
        /// Only report differences; exit 1 if there are any.
        #[arg(long)]
        check: bool,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// The table and what to fix, for a person.
    Human,
    /// The report (schema in the book's instructors' guide).
    Json,
    /// JUnit XML, for GitLab and GitHub test reports.
    Junit,
    /// Gradescope's results.json.
    Gradescope,
}

#[tokio::main]
async fn main() -> ExitCode {
    // `cargo grade …` runs this binary as `cargo-grade grade …` when it is
    // installed as a cargo subcommand; the alias runs it without the word.
    let args = std::env::args()
        .enumerate()
        .filter_map(|(i, arg)| (i != 1 || arg != "grade").then_some(arg));
    let cli = Cli::parse_from(args);
    match Lang::detect(cli.lang.as_deref(), |name| std::env::var(name).ok()) {
        Ok(lang) => {
            l10n::set_current(lang);
        }
        Err(error) => {
            eprintln!("cargo grade: {error}");
            return ExitCode::from(2);
        }
    }
    match run(cli).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("cargo grade: {}", error_text(&error));
            ExitCode::from(2)
        }
    }
}

/// An error as the learner reads it: the one a learner makes (a unit that
/// does not exist) in their language, the others as they are.
fn error_text(error: &GraderError) -> String {
    match error {
        GraderError::UnknownUnit(unit) => {
            l10n::tr_args("main-unknown-unit", &[("unit", format!("{unit:?}").into())])
        }
        other => other.to_string(),
    }
}

async fn run(cli: Cli) -> Result<ExitCode, GraderError> {
    let root = cli.root.clone().unwrap_or_else(grader::repo_root);
    if let Some(dir) = &cli.tests {
        units::use_tests_pack(dir)?;
    }
    match cli.command {
        Some(Command::List) => {
            print!("{}", learner::list(&root, &root.join("exercises"))?);
            return Ok(ExitCode::SUCCESS);
        }
        Some(Command::Watch { submission }) => {
            let source = submission.map_or(Source::Exercises, Source::Dir);
            learner::watch::watch(&root, source).await?;
            return Ok(ExitCode::SUCCESS);
        }
        Some(Command::Hint {
            unit,
            reset,
            submission,
        }) => {
            let workspace = submission.unwrap_or_else(|| root.join("exercises"));
            let unit = learner::pick_unit(&root, &workspace, unit.as_deref())?;
            if reset {
                print!("{}", learner::hint::reset(&workspace, &unit)?);
            } else {
                print!("{}", learner::hint::next(&root, &workspace, &unit)?);
            }
            return Ok(ExitCode::SUCCESS);
        }
        Some(Command::Reset {
            unit,
            force,
            submission,
        }) => {
            let workspace = submission.unwrap_or_else(|| root.join("exercises"));
            let (text, done) = learner::reset_unit(&root, &workspace, &unit, force)?;
            print!("{text}");
            return Ok(if done {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        Some(Command::Serve { port }) => return serve(&root, port).await,
        Some(Command::SyncStubs { check }) => return sync_stubs(&root, check),
        Some(Command::Mutants {
            units: wanted,
            shard,
            results,
            read_only,
            iterate,
            no_baseline,
            changed_since,
        }) => {
            let options = grader::mutants::Options {
                shard: shard.as_deref(),
                iterate,
                no_baseline,
            };
            let wanted = match changed_since {
                Some(rev) => {
                    let all = units::load_all(&root)?;
                    let given: Vec<&units::Unit> = wanted
                        .iter()
                        .map(|u| {
                            units::find(&all, u).ok_or_else(|| GraderError::UnknownUnit(u.clone()))
                        })
                        .collect::<Result<_, _>>()?;
                    let changed: Vec<String> = grader::mutants::changed_units(&root, &rev)?
                        .into_iter()
                        .filter(|slug| given.is_empty() || given.iter().any(|u| &u.slug == slug))
                        .collect();
                    if changed.is_empty() {
                        println!("no unit's solution or checks changed since {rev}");
                        return Ok(ExitCode::SUCCESS);
                    }
                    changed
                }
                None => wanted,
            };
            return mutation_table(&root, &wanted, options, &results, read_only);
        }
        Some(Command::Wrong {
            units: wanted,
            checks,
        }) => {
            return verify_wrong(&root, &wanted, &checks).await;
        }
        Some(Command::TestsTemplate { dir, units: wanted }) => {
            let all = units::load_all(&root)?;
            let chosen: Vec<&units::Unit> = if wanted.is_empty() {
                all.iter().collect()
            } else {
                wanted
                    .iter()
                    .map(|u| {
                        units::find(&all, u).ok_or_else(|| GraderError::UnknownUnit(u.clone()))
                    })
                    .collect::<Result<_, _>>()?
            };
            for path in grader::pack::write_template(&root, &dir, &chosen)? {
                println!("wrote {}", path.display());
            }
            println!("grade with it: cargo grade --tests {} …", dir.display());
            return Ok(ExitCode::SUCCESS);
        }
        Some(Command::Merge { out, shards }) => {
            let merged = grader::merge::merge(&out, &shards)?;
            if !merged.mixed_isolation.is_empty() {
                eprintln!(
                    "cargo grade: note: the shards' checks ran in different sandboxes (see the \
                     `isolation` column):\n  {}",
                    merged.mixed_isolation.join("\n  ")
                );
            }
            println!(
                "merged {} shards: {} students, {} reports; wrote {}",
                shards.len(),
                merged.students,
                merged.reports,
                out.join(grader::batch::SUMMARY_CSV).display()
            );
            return Ok(ExitCode::SUCCESS);
        }
        Some(Command::GradescopeBundle { out }) => {
            grader::formats::bundle::write(&out)?;
            println!(
                "wrote {}; add the course repository to it as course/ before uploading (see its README.txt)",
                out.display()
            );
            return Ok(ExitCode::SUCCESS);
        }
        None => {}
    }
    if cli.coverage {
        let all = units::load_all(&root)?;
        let chosen: Vec<units::Unit> = if cli.units.is_empty() {
            all
        } else {
            cli.units
                .iter()
                .map(|u| {
                    units::find(&all, u)
                        .cloned()
                        .ok_or_else(|| GraderError::UnknownUnit(u.clone()))
                })
                .collect::<Result<_, _>>()?
        };
        print!("{}", coverage::render(&chosen));
        return Ok(if coverage::complete(&chosen) {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    if cli.strict {
        grader::sandbox::require_complete()?;
    }
    if let Some(dir) = &cli.batch {
        return run_batch(&root, dir, &cli).await;
    }
    let source = match (&cli.submission, cli.solutions) {
        (Some(dir), _) => Source::Dir(dir.clone()),
        (None, true) => Source::Solutions,
        (None, false) => Source::Exercises,
    };
    if let Some(file) = cli.out.as_ref().filter(|out| out.is_dir()) {
        return Err(GraderError::Usage(format!(
            "--out {} is a folder; without --batch, --out names the file to write the report to",
            file.display()
        )));
    }
    let request = Request {
        source,
        units: cli.units.clone(),
        force: cli.force,
        checks: cli.checks.clone(),
    };
    // The terminal gets the human-readable report unless stdout is the
    // machine-readable one (a --format without --out).
    let human_on_stdout = cli.format == Format::Human || cli.out.is_some();
    let progress = progress_printer(human_on_stdout && std::io::stderr().is_terminal());
    let report = grade::grade(&root, &request, progress).await?;
    let details = !cli.units.is_empty();
    let rendered = match cli.format {
        Format::Json => report.to_json() + "\n",
        Format::Human => render::human(&report, details),
        Format::Junit => formats::junit::render(&report),
        Format::Gradescope => formats::gradescope::render(&report) + "\n",
    };
    if let Some(file) = &cli.out {
        // Atomically: a reader (Gradescope, a CI step) never sees half a report.
        grader::files::write_atomic(file, rendered.as_bytes())?;
    }
    if human_on_stdout {
        print!("{}", render::human(&report, details));
        if matches!(request.source, Source::Exercises) {
            print!(
                "{}",
                learner::after_grading(&root, &root.join("exercises"), &report)?
            );
        }
    } else {
        print!("{rendered}");
    }
    if let Some(file) = &cli.out {
        println!("wrote {}", file.display());
    }
    if let Err(error) = formats::summary::write_if_requested(&report) {
        // The report is out; a summary that could not be written is a warning.
        eprintln!("cargo grade: the step summary was not written: {error}");
    }
    // Grading ran: exit 0 whatever the score (CI reads the report), unless
    // --ci asks for a failing status when a graded check failed.
    Ok(if cli.ci && formats::any_failed(&report) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

async fn run_batch(
    root: &std::path::Path,
    dir: &std::path::Path,
    cli: &Cli,
) -> Result<ExitCode, GraderError> {
    use grader::batch::{self, ReportFormat};
    let options = batch::Options {
        jobs: cli.jobs,
        out: cli.out.clone().unwrap_or_else(|| PathBuf::from("grades")),
        format: match cli.format {
            Format::Human => ReportFormat::Human,
            Format::Json => ReportFormat::Json,
            Format::Junit => ReportFormat::Junit,
            Format::Gradescope => ReportFormat::Gradescope,
        },
        units: cli.units.clone(),
        force: cli.force,
        shard: cli.shard,
    };
    let progress = batch::progress_printer(std::io::stderr().is_terminal());
    let summary = batch::run(root, dir, &options, progress).await?;
    let failed = summary
        .rows
        .iter()
        .filter(|row| row.error.is_some())
        .count();
    let shard = options
        .shard
        .map(|shard| format!(" (shard {shard})"))
        .unwrap_or_default();
    println!(
        "graded {} submissions{shard} in {:.0?} ({failed} not graded); wrote {}",
        summary.rows.len(),
        summary.elapsed,
        options.out.join(batch::SUMMARY_CSV).display()
    );
    Ok(if cli.ci && failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// A progress line on the terminal while building and running; nothing
/// when stderr is not a terminal (CI logs, JSON output).
fn progress_printer(enabled: bool) -> Arc<dyn Fn(Progress) + Send + Sync> {
    Arc::new(move |event| {
        if !enabled {
            return;
        }
        let line = match event {
            Progress::Building(slugs) => {
                l10n::tr_args("main-building", &[("units", slugs.join(", ").into())])
            }
            Progress::Built(slug) => l10n::tr_args("main-built", &[("unit", slug.into())]),
            Progress::Checked(_, done, total) if done == total => String::new(),
            Progress::Checked(slug, done, total) => l10n::tr_args(
                "main-checked",
                &[
                    ("unit", slug.into()),
                    ("done", done.into()),
                    ("total", total.into()),
                ],
            ),
        };
        // Rewrite one status line in place; an empty line clears it.
        eprint!("\r\x1b[2K{line}");
    })
}

fn mutation_table(
    root: &std::path::Path,
    wanted: &[String],
    options: grader::mutants::Options<'_>,
    results: &std::path::Path,
    read_only: bool,
) -> Result<ExitCode, GraderError> {
    use grader::mutants::{self, Row, Tally};
    let all = units::load_all(root)?;
    let chosen: Vec<&units::Unit> = if wanted.is_empty() {
        all.iter().collect()
    } else {
        wanted
            .iter()
            .map(|u| units::find(&all, u).ok_or_else(|| GraderError::UnknownUnit(u.clone())))
            .collect::<Result<_, _>>()?
    };
    let results = root.join(results);
    let mut rows = Vec::new();
    for unit in chosen {
        let dir = results.join(&unit.slug);
        let row = if read_only {
            if !dir.join("mutants.out").is_dir() {
                println!(
                    "unit {}: no results in {} (run `cargo grade mutants {}` first)",
                    unit.id,
                    dir.display(),
                    unit.id
                );
                continue;
            }
            let tally = Tally::of_unit(root, unit, &dir)?;
            Row::new(&unit.id, &tally, &mutants::explained(root, unit)?)
        } else {
            mutants::run(root, unit, &dir, options)?
        };
        rows.push(row);
    }
    print!("{}", mutants::table(&rows));
    let mut passes = true;
    for row in &rows {
        for survivor in &row.survivors {
            println!("survived, unit {}: {survivor}", row.unit);
        }
        // A shard tests a slice: records of mutants outside it are not
        // stale, and the share of a few mutants says little.
        let whole = options.shard.is_none();
        if whole {
            for stale in &row.stale {
                println!(
                    "recorded in {} but did not survive, unit {}: {stale}",
                    mutants::FILE,
                    row.unit
                );
            }
        }
        if !row.survivors.is_empty() || (whole && !row.passes()) {
            passes = false;
            println!(
                "unit {}: {:.0} % killed, {} unexplained survivor(s); the goal is {} % and none \
                 (kill each with a sharper check, or record it in grader/units/{}-*/{} with a reason)",
                row.unit,
                row.percent(),
                row.survivors.len(),
                mutants::GOAL_PERCENT,
                row.unit,
                mutants::FILE
            );
        }
    }
    Ok(if passes {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn verify_wrong(
    root: &std::path::Path,
    wanted: &[String],
    checks: &[String],
) -> Result<ExitCode, GraderError> {
    let all = units::load_all(root)?;
    let mut ok = true;
    for unit in &all {
        if !wanted.is_empty()
            && !wanted
                .iter()
                .any(|w| units::find(std::slice::from_ref(unit), w).is_some())
        {
            continue;
        }
        for verdict in grader::wrong::verify(root, unit, checks).await? {
            let mark = if verdict.mismatches.is_empty() {
                "ok      "
            } else {
                "MISMATCH"
            };
            let slowest = verdict
                .slowest
                .as_ref()
                .map(|(check, ms)| format!(", the slowest check {check} {:.1} s", *ms as f64 / 1e3))
                .unwrap_or_default();
            println!(
                "{mark} {}/{} — {}
         {:?}, score {}, failed {:?}
         graded in {:.1} s{slowest}",
                unit.slug,
                verdict.name,
                verdict.description,
                verdict.state,
                verdict.score,
                verdict.failed,
                verdict.elapsed.as_secs_f64()
            );
            if !verdict.skipped.is_empty() {
                println!(
                    "         skipped, not compared (a program they need is missing; CI=true fails them): {:?}",
                    verdict.skipped
                );
            }
            for mismatch in &verdict.mismatches {
                println!("         {mismatch}");
            }
            for (check, message) in &verdict.unexpected {
                println!("         {check}: {message}");
            }
            ok &= verdict.mismatches.is_empty();
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn sync_stubs(root: &std::path::Path, check: bool) -> Result<ExitCode, GraderError> {
    let slugs: Vec<String> = units::load_all(root)?.into_iter().map(|u| u.slug).collect();
    if check {
        let drift = stubs::drift(root, &slugs)?;
        for d in &drift {
            println!("out of date: exercises/{}", d.path.display());
        }
        return Ok(if drift.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    let changed = stubs::sync(root, &slugs)?;
    for path in &changed {
        println!("wrote exercises/{}", path.display());
    }
    seed_lockfile(root)?;
    println!("exercises/ is up to date ({} files changed)", changed.len());
    Ok(ExitCode::SUCCESS)
}

/// Gives `exercises/` the root's `Cargo.lock`, pruned by cargo to what the
/// exercises use: the same versions as the root workspace, so both compile
/// into one set of dependencies in the shared target dir.
fn seed_lockfile(root: &std::path::Path) -> Result<(), GraderError> {
    let lock = root.join("Cargo.lock");
    let bytes = std::fs::read(&lock).map_err(|source| GraderError::Io { path: lock, source })?;
    grader::files::write_bytes_if_changed(&root.join("exercises/Cargo.lock"), &bytes)?;
    // Offline first (quick, and enough when the root workspace has fetched
    // everything); then online, because `cargo metadata` wants the manifests
    // of every platform's packages (e.g. Windows-only crates) that a build
    // on Linux never downloads.
    for offline in [true, false] {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = std::process::Command::new(cargo);
        command.args(["metadata", "--format-version", "1"]);
        if offline {
            command.arg("--offline");
        }
        let status = command
            .arg("--manifest-path")
            .arg(root.join("exercises/Cargo.toml"))
            .stdout(std::process::Stdio::null())
            .stderr(if offline {
                std::process::Stdio::null()
            } else {
                std::process::Stdio::inherit()
            })
            .status()
            .map_err(|error| {
                GraderError::Process(format!("could not run cargo metadata: {error}"))
            })?;
        if status.success() {
            return Ok(());
        }
    }
    Err(GraderError::Process(
        "cargo metadata failed on exercises/ (offline, then online)".into(),
    ))
}

async fn serve(root: &std::path::Path, port: u16) -> Result<ExitCode, GraderError> {
    let dest = root.join("target").join("book");
    eprintln!(
        "{}",
        l10n::tr_args(
            "serve-building",
            &[("dest", dest.display().to_string().into())]
        )
    );
    // The English edition there, the Chinese one in its zh-CN/ folder.
    match book::l10n::build_all(root, &dest) {
        Ok(report) => {
            for problem in &report.problems {
                eprintln!("book: {problem}");
            }
        }
        Err(error) => eprintln!("book: could not build it ({error}); serving the server only"),
    }
    let config = testkit::Config {
        addr: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        static_dir: dest.exists().then_some(dest),
        ..testkit::Config::default()
    };
    let server = testkit::TestServer::start_with(config)
        .await
        .map_err(|error| GraderError::Process(format!("could not listen on 127.0.0.1:{port}: {error} (is another `cargo grade serve` running? try --port)")))?;
    // Flush now: when stdout is a pipe, a reader waits for these lines. A
    // reader that has gone (a test that read the address and closed the
    // pipe) must not stop the server: write errors are ignored, where
    // `println!` would panic.
    let mut stdout = std::io::stdout();
    // The book in the learner's language first: its address is the first
    // line's last word (the browser test reads it).
    let (book, other) = match l10n::current() {
        Lang::ZhCn => (server.http_url("/zh-CN/"), server.http_url("/")),
        Lang::En => (server.http_url("/"), server.http_url("/zh-CN/")),
    };
    let line = |label: &str, value: &str| format!("{}{value}\n", l10n::pad_end(label, 20));
    let _ = std::io::Write::write_fmt(
        &mut stdout,
        format_args!(
            "{}{}{}{}\n",
            line(&l10n::tr("serve-book"), &book),
            line(&l10n::tr("serve-other-edition"), &other),
            line(&l10n::tr("serve-testkit"), &server.ws_url("/ws")),
            l10n::tr("serve-stop")
        ),
    );
    let _ = std::io::Write::flush(&mut stdout);
    let _ = tokio::signal::ctrl_c().await;
    server.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
