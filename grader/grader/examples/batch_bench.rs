//! Bench: `cargo grade --batch` on a class of N students (default 10), each
//! handing in every unit the course has (the reference solutions, with a
//! per-run comment so every student's crates compile afresh, as different
//! students' code would). Dependencies are warm (compiled once, as in the
//! Gradescope image or a CI cache).
//!
//! ```sh
//! cargo run -p grader --example batch_bench            # 10 students, 2 jobs
//! WSW_BENCH_STUDENTS=4 WSW_BENCH_JOBS=1 cargo run -p grader --example batch_bench
//! ```
//!
//! It prints, measured in the same run: one student graded alone (the
//! baseline), the batch's wall-clock time and its ratio to N × baseline,
//! and where the time went (building vs running checks, per unit).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use grader::batch::{self, BatchProgress, Options, ReportFormat};
use grader::grade::{self, Progress, Request};
use grader::scratch::Source;
use grader::units;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Writes student `name`'s submission: every unit's solution `src/`, with a
/// comment naming the student and this run, so nothing is reused from an
/// earlier run but the dependencies.
fn hand_in(root: &Path, class: &Path, name: &str, run: &str, slugs: &[String]) -> PathBuf {
    let dir = class.join(name);
    for slug in slugs {
        let src = dir.join(slug).join("src");
        grader::files::mirror(&root.join("solutions").join(slug).join("src"), &src)
            .expect("copy a solution");
        let lib = src.join("lib.rs");
        let text = std::fs::read_to_string(&lib).expect("lib.rs");
        std::fs::write(&lib, format!("{text}\n// {name}, bench run {run}\n")).expect("write");
    }
    dir
}

#[tokio::main]
async fn main() {
    let root = grader::repo_root();
    let students = env_number("WSW_BENCH_STUDENTS", 10);
    let jobs = env_number("WSW_BENCH_JOBS", batch::DEFAULT_JOBS);
    let all = units::load_all(&root).expect("units load");
    let slugs: Vec<String> = all.iter().map(|u| u.slug.clone()).collect();
    let bench = grader::scratch::base_dir(&root).join("bench");
    let class = bench.join("class");
    let run = format!(
        "{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    );
    println!(
        "batch bench: {students} students × {} units ({}), {jobs} jobs, {} cores, sandbox: {}",
        slugs.len(),
        slugs.join(" "),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        grader::sandbox::isolation().describe()
    );

    // Warm-up: the dependencies, built once (not measured).
    let warm = Instant::now();
    let request = Request {
        source: Source::Solutions,
        units: Vec::new(),
        force: false,
        checks: Vec::new(),
    };
    let solutions = grade::grade(&root, &request, Arc::new(|_| {}))
        .await
        .expect("the solutions grade");
    println!(
        "warm-up (dependencies and the solutions): {:.1} s, {}/{}",
        warm.elapsed().as_secs_f64(),
        solutions.score,
        solutions.max_score
    );

    // Baseline: one student graded alone, as `cargo grade --submission`.
    let alone = hand_in(&root, &bench, "baseline", &run, &slugs);
    let started = Instant::now();
    let building_done = Arc::new(Mutex::new(None));
    let mark = building_done.clone();
    let progress = Arc::new(move |event: Progress| {
        if matches!(event, Progress::Checked(..)) {
            mark.lock().expect("mark").get_or_insert_with(Instant::now);
        }
    });
    let request = Request {
        source: Source::Dir(alone),
        units: Vec::new(),
        force: false,
        checks: Vec::new(),
    };
    let report = grade::grade(&root, &request, progress)
        .await
        .expect("the baseline grades");
    let single = started.elapsed();
    let single_build = building_done
        .lock()
        .expect("mark")
        .map_or(Duration::ZERO, |t| t - started);
    println!(
        "baseline, one student alone: {:.1} s (build {:.1} s, checks {:.1} s), {}/{}",
        single.as_secs_f64(),
        single_build.as_secs_f64(),
        (single - single_build).as_secs_f64(),
        report.score,
        report.max_score
    );

    // The batch.
    for index in 0..students {
        hand_in(&root, &class, &format!("student{index:02}"), &run, &slugs);
    }
    let out = bench.join("grades");
    let options = Options {
        jobs,
        out: out.clone(),
        format: ReportFormat::Json,
        units: Vec::new(),
        force: false,
        shard: None,
    };
    // Per student: when it started building, when its first check ran, when it was done.
    let times: Arc<Mutex<BTreeMap<String, [Option<Instant>; 3]>>> = Arc::default();
    let seen = times.clone();
    let progress = Arc::new(move |event: BatchProgress| {
        let now = Instant::now();
        let mut times = seen.lock().expect("times");
        match event {
            BatchProgress::Step(student, step) => {
                let entry = times.entry(student).or_default();
                if step == "building" {
                    entry[0].get_or_insert(now);
                } else if !step.ends_with("built") && step != "starting" {
                    entry[1].get_or_insert(now);
                }
            }
            BatchProgress::Done(student, row, done, total) => {
                times.entry(student.clone()).or_default()[2] = Some(now);
                eprintln!(
                    "  [{done}/{total}] {student}: {}/{}",
                    row.total, row.max_total
                );
            }
        }
    });
    let started = Instant::now();
    let summary = batch::run(&root, &class, &options, progress)
        .await
        .expect("the batch runs");
    let elapsed = started.elapsed();
    let full = summary
        .rows
        .iter()
        .filter(|r| r.total == r.max_total && r.error.is_none())
        .count();

    let times = times.lock().expect("times");
    let (mut building, mut checking) = (Duration::ZERO, Duration::ZERO);
    for [build, check, done] in times.values() {
        if let (Some(build), Some(check), Some(done)) = (build, check, done) {
            building += *check - *build;
            checking += *done - *check;
        }
    }
    let mut per_unit: BTreeMap<String, u64> = BTreeMap::new();
    for row in &summary.rows {
        let path = batch::report_path(&out, &row.student, ReportFormat::Json);
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        let Ok(report) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        for unit in report["units"].as_array().into_iter().flatten() {
            *per_unit
                .entry(unit["slug"].as_str().unwrap_or("?").to_owned())
                .or_default() += unit["duration_ms"].as_u64().unwrap_or(0);
        }
    }

    println!(
        "batch: {students} students in {:.1} s ({:.1} min), {full} with full marks",
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() / 60.0
    );
    println!(
        "ratio: batch / ({students} × baseline) = {:.2}",
        elapsed.as_secs_f64() / (students as f64 * single.as_secs_f64())
    );
    println!(
        "where the time goes (summed over students; jobs overlap): building {:.1} s \
         (includes waiting for cargo's lock while another student builds), checks {:.1} s",
        building.as_secs_f64(),
        checking.as_secs_f64()
    );
    println!("check time per unit, summed over students:");
    for (slug, millis) in per_unit {
        println!("  {slug:<20} {:>7.1} s", millis as f64 / 1000.0);
    }
}
