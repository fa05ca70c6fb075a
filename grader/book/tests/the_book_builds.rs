//! The real book, at the repository root, builds with no broken include, link or
//! anchor, no Rust include outside a code fence and no Rust in a paragraph. mdBook itself would only warn about those; see `grader/book/src/lib.rs`.

use std::path::Path;

#[test]
fn the_book_builds_without_problems() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dest = tempfile::tempdir().expect("create a temp dir for the book");
    let report = book::build(&root, dest.path())
        .unwrap_or_else(|error| panic!("the book at {} does not build: {error}", root.display()));
    for problem in &report.problems {
        eprintln!("{problem}");
    }
    assert!(
        report.problems.is_empty(),
        "the book has {} problem(s), listed above as `page: kind: detail`",
        report.problems.len()
    );
    assert!(
        report.pages >= 8,
        "only {} pages were rendered; is book/SUMMARY.md complete?",
        report.pages
    );
    assert!(dest.path().join("index.html").is_file());
    let references = book::check_references(&root, dest.path())
        .unwrap_or_else(|error| panic!("cannot check the names the book uses: {error}"));
    for problem in &references {
        eprintln!("{problem}");
    }
    assert!(
        references.is_empty(),
        "the book names {} check id(s) or section(s) that do not exist, listed above",
        references.len()
    );
    for (page, widget) in [("01-connection", "echo"), ("04-reconnect", "reconnect")] {
        let html = std::fs::read_to_string(dest.path().join(format!("{page}.html")))
            .unwrap_or_else(|error| panic!("{page}.html was not rendered: {error}"));
        assert!(
            html.contains(&format!("data-widget=\"{widget}\"")),
            "{page}.html lost its live widget"
        );
        assert!(
            html.contains("wsw-widgets") && html.contains(".js\""),
            "{page}.html does not load book/widgets/wsw-widgets.js (additional-js in book.toml)"
        );
    }
    for unit in ["01-connection", "04-reconnect", "08-notifications"] {
        let page = std::fs::read_to_string(dest.path().join(format!("{unit}.html")))
            .unwrap_or_else(|error| panic!("{unit}.html was not rendered: {error}"));
        assert!(
            !page.contains("{{#hints"),
            "{unit}.html shows a raw {{{{#hints}}}} directive"
        );
        assert!(
            page.matches("class=\"wsw-hint\"").count() >= book::hints::MIN_HINTS,
            "{unit}.html has fewer than {} \"show hint\" toggles",
            book::hints::MIN_HINTS
        );
    }
}

/// Every unit with a `unit.toml` has hints, gentle to specific, that the
/// grader and the book can read.
#[test]
fn every_unit_has_hints() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let units = root.join("grader/units");
    let mut checked = 0;
    for entry in std::fs::read_dir(&units).expect("grader/units is readable") {
        let dir = entry.expect("a directory entry").path();
        if !dir.join("unit.toml").is_file() {
            continue;
        }
        let slug = dir
            .file_name()
            .and_then(|name| name.to_str())
            .expect("unit folders have UTF-8 names");
        if let Err(error) = book::hints::load(&root, slug) {
            panic!("unit {slug}: {error} (format: grader/book/src/hints.rs)");
        }
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} units found");
}
