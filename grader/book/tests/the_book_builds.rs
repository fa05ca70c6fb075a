//! The real book, at the repository root, builds with no broken include, link or
//! anchor. mdBook itself would only warn about those; see `grader/book/src/lib.rs`.

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
}
