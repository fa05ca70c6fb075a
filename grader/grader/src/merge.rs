//! `cargo grade merge OUT SHARD_DIR…`: the outputs of a sharded batch
//! (`cargo grade --batch DIR --shard K/N --out SHARD_DIR`, one per shard,
//! often on different machines) joined into what one unsharded run would
//! have written to `OUT`.
//!
//! * `OUT/summary.csv` has the shards' columns and every shard's rows,
//!   sorted by student as one run sorts them. The CSV has no time column
//!   (the batch's duration is only printed), so it is byte for byte the CSV
//!   of one run; the `isolation` column keeps, for each student, the
//!   sandbox their checks ran in on their shard's machine.
//! * Every report file of every shard is copied to `OUT`.
//!
//! Merging refuses, and writes nothing, when a shard folder has no
//! `summary.csv`, when the shards' columns differ (other units, another
//! test pack), when two shards graded the same student or hold the same
//! report file, when their reports are in different formats, or when `OUT`
//! is one of the shard folders. Every file is written atomically.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::batch::{self, SUMMARY_CSV};
use crate::{GraderError, files};

/// What a merge wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    /// Rows of the merged `summary.csv` (students).
    pub students: usize,
    /// Report files copied.
    pub reports: usize,
    /// The distinct sandboxes the shards' checks ran in, when they were not
    /// all the same (a shard's machine without namespaces, say); empty
    /// otherwise.
    pub mixed_isolation: Vec<String>,
}

/// One shard's `summary.csv`, read.
struct ShardSummary {
    dir: PathBuf,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn merge_error(message: String) -> GraderError {
    GraderError::Usage(message)
}

/// The student's folder name from its CSV field: [`batch::quote`] put a
/// `'` before a leading `=`, `+`, `-` or `@`.
fn student_name(field: &str) -> &str {
    match field.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest,
        _ => field,
    }
}

fn read_summary(dir: &Path) -> Result<ShardSummary, GraderError> {
    let path = dir.join(SUMMARY_CSV);
    if !path.is_file() {
        return Err(merge_error(format!(
            "{} has no {SUMMARY_CSV}: expected the --out folder of a \
             `cargo grade --batch DIR --shard K/N` run",
            dir.display()
        )));
    }
    let text = files::read(&path)?;
    let mut records = batch::parse_csv(&text)
        .map_err(|error| merge_error(format!("{}: {error}", path.display())))?
        .into_iter();
    let header = records
        .next()
        .filter(|header| header.first().is_some_and(|first| first == "student"))
        .ok_or_else(|| {
            merge_error(format!(
                "{} does not start with the summary's header (`student,…,total,max_total,error,isolation`)",
                path.display()
            ))
        })?;
    let rows: Vec<Vec<String>> = records.collect();
    for (index, row) in rows.iter().enumerate() {
        if row.len() != header.len() {
            return Err(merge_error(format!(
                "{}, record {}: {} fields where the header has {}",
                path.display(),
                index + 2,
                row.len(),
                header.len()
            )));
        }
    }
    Ok(ShardSummary {
        dir: dir.to_owned(),
        header,
        rows,
    })
}

/// The report format a file name is in (`json`, `gradescope.json`, `xml`,
/// `txt`), from its extension.
fn report_kind(name: &str) -> &str {
    if name.ends_with(".gradescope.json") {
        "gradescope.json"
    } else {
        name.rsplit_once('.').map_or("", |(_, extension)| extension)
    }
}

/// The report files of a shard folder: every regular file but
/// `summary.csv` and hidden ones (a temporary file of an atomic write).
fn reports(dir: &Path) -> Result<Vec<(String, PathBuf)>, GraderError> {
    let io = |source| GraderError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == SUMMARY_CSV || name.starts_with('.') {
            continue;
        }
        if entry.file_type().map_err(io)?.is_file() {
            found.push((name, entry.path()));
        }
    }
    found.sort();
    Ok(found)
}

/// The same folder, as far as the file system can tell.
fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Joins the shard folders `shards` into `out`: one `summary.csv` with
/// every shard's rows in one run's order, and every report file. Checks
/// everything before writing anything.
pub fn merge(out: &Path, shards: &[PathBuf]) -> Result<Merged, GraderError> {
    if shards.is_empty() {
        return Err(merge_error(
            "nothing to merge: expected one or more shard folders (the --out of each \
             `cargo grade --batch … --shard K/N`)"
                .into(),
        ));
    }
    for (index, dir) in shards.iter().enumerate() {
        if same_dir(dir, out) {
            return Err(merge_error(format!(
                "{} is both a shard and where the merge goes: pick another folder for OUT",
                out.display()
            )));
        }
        if let Some(earlier) = shards[..index].iter().find(|d| same_dir(d, dir)) {
            return Err(merge_error(format!(
                "{} is given twice (also as {}): every shard once",
                dir.display(),
                earlier.display()
            )));
        }
    }
    let summaries = shards
        .iter()
        .map(|dir| read_summary(dir))
        .collect::<Result<Vec<_>, _>>()?;
    let first = &summaries[0];
    for other in &summaries[1..] {
        if other.header != first.header {
            return Err(merge_error(format!(
                "the shards graded different columns: {}/{SUMMARY_CSV} has `{}` but {}/{SUMMARY_CSV} has `{}`; \
                 grade every shard with the same units and the same --tests pack",
                first.dir.display(),
                first.header.join(","),
                other.dir.display(),
                other.header.join(",")
            )));
        }
    }

    // Every student once, in one run's order (by folder name).
    let mut rows: BTreeMap<String, (&Vec<String>, &Path)> = BTreeMap::new();
    for summary in &summaries {
        for row in &summary.rows {
            let name = student_name(&row[0]).to_owned();
            if let Some((_, earlier)) = rows.get(&name) {
                return Err(merge_error(format!(
                    "the student {name:?} was graded by two shards, {} and {}: each shard must \
                     be a different K of the same N (`--shard 1/N` … `--shard N/N`) over the same class",
                    earlier.display(),
                    summary.dir.display()
                )));
            }
            rows.insert(name, (row, &summary.dir));
        }
    }

    // Every report file once, all in one format.
    let mut copies: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut kinds: BTreeMap<String, PathBuf> = BTreeMap::new();
    for dir in shards {
        for (name, path) in reports(dir)? {
            if let Some(earlier) = copies.get(&name) {
                return Err(merge_error(format!(
                    "{name} is in two shards, {} and {}: each student's report must come from one shard",
                    earlier.display(),
                    path.display()
                )));
            }
            kinds
                .entry(report_kind(&name).to_owned())
                .or_insert_with(|| path.clone());
            copies.insert(name, path);
        }
    }
    if kinds.len() > 1 {
        let seen: Vec<String> = kinds
            .iter()
            .map(|(kind, example)| format!(".{kind} ({})", example.display()))
            .collect();
        return Err(merge_error(format!(
            "the shards wrote reports in different formats: {}; grade every shard with the same --format",
            seen.join(", ")
        )));
    }

    let isolation_column = first.header.iter().position(|c| c == "isolation");
    let mut sandboxes: Vec<String> = Vec::new();
    if let Some(column) = isolation_column {
        for (row, _) in rows.values() {
            let value = &row[column];
            if !value.is_empty() && !sandboxes.contains(value) {
                sandboxes.push(value.clone());
            }
        }
    }

    let mut csv = String::new();
    batch::push_record(&mut csv, &first.header);
    for (row, _) in rows.values() {
        batch::push_record(&mut csv, row);
    }
    for (name, path) in &copies {
        let bytes = std::fs::read(path).map_err(|source| GraderError::Io {
            path: path.clone(),
            source,
        })?;
        files::write_atomic(&out.join(name), &bytes)?;
    }
    files::write_atomic(&out.join(SUMMARY_CSV), csv.as_bytes())?;
    Ok(Merged {
        students: rows.len(),
        reports: copies.len(),
        mixed_isolation: if sandboxes.len() > 1 {
            sandboxes
        } else {
            Vec::new()
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "student,02-page-policy,total,max_total,error,isolation\r\n";

    /// A shard folder holding `csv` (unless `None`) and `reports`.
    fn shard(root: &Path, name: &str, csv: Option<&str>, reports: &[&str]) -> PathBuf {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).expect("a shard folder");
        if let Some(csv) = csv {
            std::fs::write(dir.join(SUMMARY_CSV), csv).expect("summary.csv");
        }
        for report in reports {
            std::fs::write(dir.join(report), format!("the report {report}")).expect("a report");
        }
        dir
    }

    fn refusal(out: &Path, shards: &[PathBuf]) -> String {
        match merge(out, shards) {
            Ok(merged) => panic!("merged {merged:?}, expected a refusal"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn shards_merge_into_one_runs_order() {
        let root = tempfile::tempdir().expect("a temporary folder");
        let one = shard(
            root.path(),
            "shard-1",
            Some(&format!("{HEADER}'-dash,1,1,2,,ns\r\ncarol,2,2,2,,ns\r\n")),
            &["_dash.json", "carol.json"],
        );
        let two = shard(
            root.path(),
            "shard-2",
            Some(&format!(
                "{HEADER}alice,2,2,2,,ns\r\n\"d, e\",,0,0,\"a link\",\r\n"
            )),
            &["alice.json", "d__e.json", ".summary.csv.1.2.tmp"],
        );
        let empty = shard(root.path(), "shard-3", Some(HEADER), &[]);
        let out = root.path().join("merged");
        let merged = merge(&out, &[one, two, empty]).expect("the shards merge");
        assert_eq!(
            merged,
            Merged {
                students: 4,
                reports: 4,
                mixed_isolation: Vec::new()
            }
        );
        // Sorted by folder name ("-dash" < "alice" < "carol" < "d, e"),
        // each field as the shard wrote it.
        assert_eq!(
            std::fs::read_to_string(out.join(SUMMARY_CSV)).expect("merged"),
            format!(
                "{HEADER}'-dash,1,1,2,,ns\r\nalice,2,2,2,,ns\r\ncarol,2,2,2,,ns\r\n\"d, e\",,0,0,a link,\r\n"
            )
        );
        for report in ["_dash.json", "alice.json", "carol.json", "d__e.json"] {
            assert_eq!(
                std::fs::read_to_string(out.join(report)).expect("copied"),
                format!("the report {report}")
            );
        }
        assert!(!out.join(".summary.csv.1.2.tmp").exists());
    }

    #[test]
    fn different_sandboxes_are_reported() {
        let root = tempfile::tempdir().expect("a temporary folder");
        let one = shard(
            root.path(),
            "a",
            Some(&format!("{HEADER}x,1,1,2,,ns\r\n")),
            &[],
        );
        let two = shard(
            root.path(),
            "b",
            Some(&format!("{HEADER}y,1,1,2,,limits only\r\n")),
            &[],
        );
        let merged = merge(&root.path().join("out"), &[one, two]).expect("merges");
        assert_eq!(merged.mixed_isolation, ["ns", "limits only"]);
    }

    #[test]
    fn a_student_graded_twice_is_refused() {
        let root = tempfile::tempdir().expect("a temporary folder");
        let one = shard(
            root.path(),
            "a",
            Some(&format!("{HEADER}bob,1,1,2,,ns\r\n")),
            &[],
        );
        let two = shard(
            root.path(),
            "b",
            Some(&format!("{HEADER}bob,2,2,2,,ns\r\n")),
            &[],
        );
        let out = root.path().join("out");
        let error = refusal(&out, &[one, two]);
        assert!(
            error.contains("\"bob\" was graded by two shards"),
            "{error}"
        );
        assert!(!out.exists(), "nothing is written");
    }

    #[test]
    fn different_columns_are_refused() {
        let root = tempfile::tempdir().expect("a temporary folder");
        let one = shard(
            root.path(),
            "a",
            Some(&format!("{HEADER}x,1,1,2,,ns\r\n")),
            &[],
        );
        let two = shard(
            root.path(),
            "b",
            Some("student,01-connection,total,max_total,error,isolation\r\ny,1,1,2,,ns\r\n"),
            &[],
        );
        let error = refusal(&root.path().join("out"), &[one, two]);
        assert!(
            error.contains("the shards graded different columns"),
            "{error}"
        );
        assert!(error.contains("student,01-connection,total"), "{error}");
    }

    #[test]
    fn a_shard_without_a_summary_is_refused() {
        let root = tempfile::tempdir().expect("a temporary folder");
        let one = shard(root.path(), "a", Some(HEADER), &[]);
        let two = shard(root.path(), "b", None, &["x.json"]);
        let error = refusal(&root.path().join("out"), &[one, two.clone()]);
        assert!(
            error.contains(&format!("{} has no summary.csv", two.display())),
            "{error}"
        );
        let missing = root.path().join("never-made");
        assert!(refusal(&root.path().join("out"), &[missing]).contains("has no summary.csv"));
    }

    #[test]
    fn malformed_summaries_and_mixed_reports_are_refused() {
        let root = tempfile::tempdir().expect("a temporary folder");
        let no_header = shard(root.path(), "a", Some("alice,1\r\n"), &[]);
        let error = refusal(&root.path().join("out"), &[no_header]);
        assert!(
            error.contains("does not start with the summary's header"),
            "{error}"
        );
        let short = shard(root.path(), "b", Some(&format!("{HEADER}alice,1\r\n")), &[]);
        let error = refusal(&root.path().join("out"), &[short]);
        assert!(
            error.contains("record 2: 2 fields where the header has 6"),
            "{error}"
        );

        let json = shard(root.path(), "c", Some(HEADER), &["x.json"]);
        let xml = shard(root.path(), "d", Some(HEADER), &["y.xml"]);
        let error = refusal(&root.path().join("out"), &[json.clone(), xml]);
        assert!(error.contains("reports in different formats"), "{error}");
        let again = shard(root.path(), "e", Some(HEADER), &["x.json"]);
        let error = refusal(&root.path().join("out"), &[json.clone(), again]);
        assert!(error.contains("x.json is in two shards"), "{error}");

        let error = refusal(&json, std::slice::from_ref(&json));
        assert!(
            error.contains("is both a shard and where the merge goes"),
            "{error}"
        );
        let error = refusal(&root.path().join("out"), &[json.clone(), json.join(".")]);
        assert!(error.contains("is given twice"), "{error}");
        assert!(refusal(&root.path().join("out"), &[]).contains("nothing to merge"));
    }
}
