//! The real book, at the repository root, builds with no broken include, link or
//! anchor, no Rust include outside a code fence and no Rust in a paragraph. mdBook itself would only warn about those; see `grader/book/src/lib.rs`.

use std::path::Path;

use regex::Regex;

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

/// Every diagram in `book/diagrams/` is shown by some chapter
/// (`![…](diagrams/name.svg)`), and is an SVG that a browser's `<img>` can
/// show: without the SVG namespace on its root, an `<img>` shows a broken
/// picture. That every image a chapter shows exists in the built book is the
/// link checker's job (the fixture test `a_missing_image_is_found_once`).
#[test]
fn every_diagram_is_shown_and_is_an_svg_an_img_can_show() {
    let book = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../book");
    let mut chapters = String::new();
    for entry in std::fs::read_dir(&book).expect("book/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_some_and(|ext| ext == "md") {
            chapters.push_str(&std::fs::read_to_string(&path).expect("a chapter is readable"));
        }
    }
    let mut diagrams = 0;
    for entry in std::fs::read_dir(book.join("diagrams")).expect("book/diagrams/ is readable") {
        let path = entry.expect("a directory entry").path();
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .expect("diagram files have UTF-8 names");
        let svg = std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("book/diagrams/{name} is not readable: {error}"));
        let root = svg.find("<svg").map(|start| &svg[start..]);
        assert!(
            root.and_then(|root| root.split('>').next())
                .is_some_and(|tag| tag.contains(r#"xmlns="http://www.w3.org/2000/svg""#)),
            "book/diagrams/{name}: the root element must be <svg xmlns=\"http://www.w3.org/2000/svg\" …>, \
             or an <img> cannot show it"
        );
        assert!(
            chapters.contains(&format!("](diagrams/{name})")),
            "book/diagrams/{name} is not shown by any chapter; add ![what it shows](diagrams/{name}) \
             beside the text it illustrates, or delete it"
        );
        diagrams += 1;
    }
    assert!(diagrams >= 4, "only {diagrams} diagrams in book/diagrams/");
}

/// Every edition builds with the same checks as the English one, and a
/// translated page keeps the English page's anchors, widgets and hints.
#[test]
fn every_translation_builds_without_problems() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dest = tempfile::tempdir().expect("create a temp dir for the book");
    let report = book::l10n::build_all(&root, dest.path())
        .unwrap_or_else(|error| panic!("an edition of the book does not build: {error}"));
    for problem in &report.problems {
        eprintln!("{problem}");
    }
    assert!(
        report.problems.is_empty(),
        "the editions have {} problem(s), listed above as `page: kind: detail`",
        report.problems.len()
    );
    let ids = Regex::new(r#"<h[1-6] id="([^"]+)""#).expect("the heading pattern is valid");
    let headings =
        |html: &str| -> Vec<String> { ids.captures_iter(html).map(|c| c[1].to_owned()).collect() };
    for language in book::l10n::TRANSLATIONS {
        for page in [
            "01-connection",
            "04-reconnect",
            "A-editor",
            "B-dashboard",
            "setup",
        ] {
            let read = |path: std::path::PathBuf| {
                std::fs::read_to_string(&path)
                    .unwrap_or_else(|error| panic!("{} was not rendered: {error}", path.display()))
            };
            let english = read(dest.path().join(format!("{page}.html")));
            let translated = read(dest.path().join(language).join(format!("{page}.html")));
            assert!(
                translated.contains(&format!("<html lang=\"{language}\"")),
                "{language}/{page}.html does not say its language"
            );
            assert_eq!(
                headings(&translated),
                headings(&english),
                "{language}/{page}.html's headings have other ids than the English page's"
            );
            assert_eq!(
                translated.matches("data-widget=").count(),
                english.matches("data-widget=").count(),
                "{language}/{page}.html lost a live widget"
            );
            assert_eq!(
                translated.matches("class=\"wsw-hint\"").count(),
                english.matches("class=\"wsw-hint\"").count(),
                "{language}/{page}.html lost a hint"
            );
        }
    }
}
