//! The checker on small fixture books: one good book, and one broken book per
//! problem kind, so that the test of the real book can be trusted.

use std::fs;
use std::path::{Path, PathBuf};

use book::{BookError, BuildReport, ProblemKind};
use tempfile::TempDir;

/// A fixture book in a temp dir: `book.toml`, `src/` and a sibling `code/` folder
/// (standing in for `exercises/`, which lives outside the book's `src`).
struct Fixture {
    dir: TempDir,
}

impl Fixture {
    /// A good book; each test breaks one thing in it.
    fn good() -> Self {
        let fixture = Fixture {
            dir: tempfile::tempdir().expect("create a temp dir"),
        };
        fixture.write(
            "book.toml",
            "[book]\ntitle = \"Fixture\"\nsrc = \"src\"\n\n[build]\ncreate-missing = false\n",
        );
        fixture.write(
            "src/SUMMARY.md",
            "# Summary\n\n[Introduction](README.md)\n\n# Part\n\n- [One](one.md)\n  - [Nested](deep/nested.md)\n- [A draft]()\n",
        );
        fixture.write(
            "src/README.md",
            "# Welcome\n\nRead [one](one.md), its [API](one.md#the-api), \
             [this heading](#welcome), [nested](deep/nested.md#nested-page), \
             ![a picture](picture.svg) and [the web](https://example.com/missing).\n\n\
             Show a directive: `\\{{#include nowhere.rs}}`.\n",
        );
        fixture.write(
            "src/one.md",
            "# One\n\n## The API\n\n```rust\n{{#include ../code/lib.rs:api}}\n```\n\n\
             ```rust\n{{#rustdoc_include ../code/lib.rs:2:3}}\n```\n\n\
             Back to the [introduction](index.html).\n",
        );
        fixture.write(
            "src/deep/nested.md",
            "# Nested page\n\n{{#include ../snippets/note.md}}\n\nSee [one](../one.md#one).\n",
        );
        fixture.write(
            "src/snippets/note.md",
            "A note, with {{#include inner.md}}\n",
        );
        fixture.write("src/snippets/inner.md", "an included sentence.\n");
        fixture.write(
            "src/picture.svg",
            "<svg xmlns=\"http://www.w3.org/2000/svg\"/>\n",
        );
        fixture.write(
            "code/lib.rs",
            "// ANCHOR: api\npub fn connect() {}\n// ANCHOR_END: api\npub fn close() {}\n",
        );
        fixture
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn dest(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    fn write(&self, relative: &str, content: &str) {
        let path = self.dir.path().join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("create the fixture's folders");
        }
        fs::write(&path, content).expect("write a fixture file");
    }

    /// Replaces `find` (which must be there) in a fixture file.
    fn edit(&self, relative: &str, find: &str, replace: &str) {
        let path = self.dir.path().join(relative);
        let text = fs::read_to_string(&path).expect("read a fixture file");
        assert!(text.contains(find), "{relative} does not contain {find:?}");
        fs::write(&path, text.replace(find, replace)).expect("write a fixture file");
    }

    fn build(&self) -> BuildReport {
        book::build(self.root(), &self.dest()).expect("the fixture book builds")
    }
}

/// The kinds and pages of a report's problems, for short assertions.
fn kinds(report: &BuildReport) -> Vec<(ProblemKind, String)> {
    report
        .problems
        .iter()
        .map(|p| (p.kind, p.page.display().to_string()))
        .collect()
}

/// Asserts that the report holds exactly one problem, of `kind` on `page`, whose
/// detail mentions `mention`.
fn assert_one(report: &BuildReport, kind: ProblemKind, page: &str, mention: &str) {
    assert_eq!(
        kinds(report),
        [(kind, page.to_owned())],
        "problems: {:#?}",
        report.problems
    );
    let detail = &report.problems[0].detail;
    assert!(
        detail.contains(mention),
        "{detail:?} should mention {mention:?}"
    );
}

#[test]
fn a_good_book_has_no_problems() {
    let fixture = Fixture::good();
    let report = fixture.build();
    assert!(report.is_ok(), "problems: {:#?}", report.problems);
    assert_eq!(
        report.pages, 3,
        "README, one and nested; the draft has no page"
    );
    assert!(fixture.dest().join("index.html").is_file());
    assert!(fixture.dest().join("deep/nested.html").is_file());
}

#[test]
fn checking_an_already_built_book_agrees_with_building_it() {
    let fixture = Fixture::good();
    fixture.edit("src/one.md", "(index.html)", "(gone.md)");
    let built = fixture.build();
    let checked = book::check(fixture.root(), &fixture.dest()).expect("check");
    assert_eq!(built, checked);
    assert_eq!(built.problems.len(), 1);
}

#[test]
fn an_include_of_a_missing_file_is_found() {
    let fixture = Fixture::good();
    fixture.edit("src/one.md", "../code/lib.rs:api", "../code/missing.rs:api");
    assert_one(
        &fixture.build(),
        ProblemKind::MissingInclude,
        "src/one.md",
        "missing.rs",
    );
}

#[test]
fn a_rustdoc_include_of_a_missing_file_is_found() {
    let fixture = Fixture::good();
    fixture.edit("src/one.md", "../code/lib.rs:2:3", "lib.rs:2:3");
    assert_one(
        &fixture.build(),
        ProblemKind::MissingInclude,
        "src/one.md",
        "lib.rs",
    );
}

#[test]
fn a_missing_file_in_a_nested_include_is_found_on_the_chapter() {
    let fixture = Fixture::good();
    fixture.edit("src/snippets/note.md", "inner.md", "outer.md");
    assert_one(
        &fixture.build(),
        ProblemKind::MissingInclude,
        "src/deep/nested.md",
        "outer.md",
    );
}

#[test]
fn an_include_of_a_missing_anchor_is_found() {
    let fixture = Fixture::good();
    fixture.edit("src/one.md", "lib.rs:api", "lib.rs:apis");
    assert_one(
        &fixture.build(),
        ProblemKind::MissingIncludeAnchor,
        "src/one.md",
        "ANCHOR: apis",
    );
}

#[test]
fn an_include_range_past_the_end_is_found() {
    let fixture = Fixture::good();
    fixture.edit("src/one.md", "lib.rs:2:3", "lib.rs:20:30");
    assert_one(
        &fixture.build(),
        ProblemKind::EmptyLineRange,
        "src/one.md",
        "4 lines",
    );
}

#[test]
fn a_fenced_rust_include_passes_and_an_unfenced_one_fails() {
    let fixture = Fixture::good();
    let report = fixture.build();
    assert!(report.is_ok(), "fenced: {:#?}", report.problems);
    fixture.edit(
        "src/one.md",
        "```rust\n{{#include ../code/lib.rs:api}}\n```",
        "{{#include ../code/lib.rs:api}}",
    );
    let report = fixture.build();
    assert_eq!(
        kinds(&report),
        [
            (ProblemKind::IncludeOutsideFence, "src/one.md".to_owned()),
            (ProblemKind::RustInParagraph, "src/one.md".to_owned()),
        ],
        "problems: {:#?}",
        report.problems
    );
    let outside = report.problems[0].to_string();
    assert!(
        outside.contains("src/one.md:5: `{{#include ../code/lib.rs:api}}`")
            && outside.contains("```rust,ignore"),
        "the problem names file:line and the fix: {outside}"
    );
    let paragraph = report.problems[1].to_string();
    assert!(
        paragraph.contains("one.html") && paragraph.contains("`pub fn connect() {}`"),
        "the problem quotes the Rust line: {paragraph}"
    );
}

#[test]
fn rust_written_into_a_paragraph_is_found() {
    let fixture = Fixture::good();
    fixture.edit(
        "src/deep/nested.md",
        "\n\nSee",
        "\n\n#[derive(Debug)]\npub struct Toast<T> {\n    body: T,\n}\n\nSee",
    );
    assert_one(
        &fixture.build(),
        ProblemKind::RustInParagraph,
        "src/deep/nested.md",
        "e.g. `#[derive(Debug)]` and 1 more line",
    );
}

#[test]
fn a_link_to_a_missing_page_is_found() {
    let fixture = Fixture::good();
    fixture.edit("src/README.md", "[one](one.md)", "[one](two.md)");
    assert_one(
        &fixture.build(),
        ProblemKind::BrokenLink,
        "src/README.md",
        "two.html",
    );
}

#[test]
fn a_link_to_a_draft_chapter_is_found() {
    let fixture = Fixture::good();
    fixture.edit("src/one.md", "(index.html)", "(draft.md)");
    assert_one(
        &fixture.build(),
        ProblemKind::BrokenLink,
        "src/one.md",
        "draft.html",
    );
}

#[test]
fn a_missing_image_is_found_once() {
    let fixture = Fixture::good();
    fs::remove_file(fixture.root().join("src/picture.svg")).expect("remove the picture");
    assert_one(
        &fixture.build(),
        ProblemKind::BrokenLink,
        "src/README.md",
        "picture.svg",
    );
}

#[test]
fn a_link_to_a_file_outside_the_book_is_found() {
    let fixture = Fixture::good();
    fixture.edit("src/one.md", "(index.html)", "(../code/lib.rs)");
    assert_one(
        &fixture.build(),
        ProblemKind::BrokenLink,
        "src/one.md",
        "outside the book",
    );
}

#[test]
fn a_fragment_naming_no_heading_of_another_page_is_found() {
    let fixture = Fixture::good();
    fixture.edit("src/README.md", "one.md#the-api", "one.md#the-apis");
    assert_one(
        &fixture.build(),
        ProblemKind::MissingAnchor,
        "src/README.md",
        "the-apis",
    );
}

#[test]
fn a_fragment_naming_no_heading_of_the_same_page_is_found() {
    let fixture = Fixture::good();
    fixture.edit("src/README.md", "(#welcome)", "(#farewell)");
    assert_one(
        &fixture.build(),
        ProblemKind::MissingAnchor,
        "src/README.md",
        "farewell",
    );
}

#[test]
fn a_fragment_from_a_nested_page_resolves_upwards() {
    let fixture = Fixture::good();
    fixture.edit("src/deep/nested.md", "../one.md#one", "../one.md#two");
    assert_one(
        &fixture.build(),
        ProblemKind::MissingAnchor,
        "src/deep/nested.md",
        "one.html has no id `two`",
    );
}

#[test]
fn a_chapter_without_a_file_is_an_error_and_no_file_is_created() {
    let fixture = Fixture::good();
    fs::remove_file(fixture.root().join("src/one.md")).expect("remove a chapter");
    let error = book::build(fixture.root(), &fixture.dest()).expect_err("a chapter is missing");
    assert!(matches!(error, BookError::Load { .. }), "{error}");
    assert!(error.to_string().contains("one.md"), "{error}");
    assert!(
        !fixture.root().join("src/one.md").exists(),
        "the checker must not create missing chapters"
    );
}

#[test]
fn a_folder_without_book_toml_is_an_error() {
    let dir = tempfile::tempdir().expect("create a temp dir");
    let error = book::build(dir.path(), &dir.path().join("out")).expect_err("no book.toml");
    assert!(matches!(error, BookError::NoConfig { .. }), "{error}");
}

#[test]
fn problems_print_page_kind_and_detail() {
    let fixture = Fixture::good();
    fixture.edit("src/README.md", "[one](one.md)", "[one](two.md)");
    let report = fixture.build();
    assert_eq!(
        report.problems[0].to_string(),
        "src/README.md: broken link: `two.html`: two.html is not in the built book"
    );
}

/// A book with two units, for the names the book takes from `unit.toml`.
fn course_with_units() -> Fixture {
    let fixture = Fixture::good();
    fixture.edit(
        "src/SUMMARY.md",
        "- [A draft]()",
        "- [Unit one](01-one.md)\n- [A draft]()",
    );
    fixture.write(
        "src/01-one.md",
        "# Unit one\n\n## Tasks\n\n### Task 1: Connect\n\n\
         `one_check_passes` and `one_check_times_out` grade it; see also \
         `connect_with_retry_later` and `two_check_passes`.\n",
    );
    fixture.write(
        "grader/units/01-one/unit.toml",
        "id = \"01\"\nslug = \"01-one\"\nchapter = \"01-one.md\"\n\
         [[behaviour]]\nid = \"echo_is_answered_soon\"\n\
         [[check]]\nid = \"one_check_passes\"\nsection = \"tasks\"\n\
         [[check]]\nid = \"one_check_times_out\"\nsection = \"tasks\"\n",
    );
    fixture.write("grader/units/01-one/wrong/forgets_the_close.toml", "");
    fixture.write(
        "grader/units/02-two/unit.toml",
        "id = \"02\"\nslug = \"02-two\"\nchapter = \"02-two.md\"\n\
         [[check]]\nid = \"two_check_passes\"\n",
    );
    fixture.write(
        "exercises/01-one/src/lib.rs",
        "pub fn connect_with_retry_later() {}\n// stale_name_in_comment\n",
    );
    fixture.edit(
        "src/README.md",
        "# Welcome\n",
        "# Welcome\n\n```json\n{\"name\": \"01-one: one_check_passes\", \
         \"chapter\": \"book/01-one.md#task-1-connect\"}\n```\n\n\
         The behaviour `echo_is_answered_soon` is what `forgets_the_close` breaks.\n",
    );
    fixture
}

fn reference_problems(fixture: &Fixture) -> Vec<(ProblemKind, String)> {
    let report = fixture.build();
    let problems =
        book::check_references(fixture.root(), &fixture.dest()).expect("the names can be checked");
    assert!(
        report.is_ok() || !problems.is_empty(),
        "the build found: {:#?}",
        report.problems
    );
    problems
        .into_iter()
        .map(|problem| (problem.kind, problem.to_string()))
        .collect()
}

#[test]
fn check_ids_and_sections_named_in_text_must_exist() {
    let fixture = course_with_units();
    // In unit one's chapter, a check of unit two is a mistake.
    let found = reference_problems(&fixture);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].0, ProblemKind::UnknownCheck);
    assert!(
        found[0]
            .1
            .contains("src/01-one.md:7: `two_check_passes` is no check of this chapter's unit")
            && found[0].1.contains("it is a check of 02-two"),
        "{found:#?}"
    );
    fixture.edit("src/01-one.md", " and `two_check_passes`", "");
    assert_eq!(reference_problems(&fixture), []);

    // A renamed check, a name only a comment has, a check of the wrong unit in
    // the `unit: check` form, and a section that is no heading.
    fixture.edit(
        "src/README.md",
        "is what `forgets_the_close` breaks.",
        "is what `forgets_the_close` breaks; `one_check_passed` and \
         `stale_name_in_comment` are gone.\n\n\"01-one: two_check_passes\"\n",
    );
    fixture.edit("src/README.md", "#task-1-connect", "#task-1-connecting");
    let found = reference_problems(&fixture);
    let details: Vec<&str> = found.iter().map(|(_, detail)| detail.as_str()).collect();
    assert_eq!(
        found.iter().map(|(kind, _)| *kind).collect::<Vec<_>>(),
        [
            ProblemKind::MissingAnchor,
            ProblemKind::UnknownCheck,
            ProblemKind::UnknownCheck,
            ProblemKind::UnknownCheck,
        ],
        "{details:#?}"
    );
    assert!(
        details[0]
            .contains("src/README.md:4: `01-one.md#task-1-connecting`: 01-one.html has no section"),
        "{details:#?}"
    );
    assert!(
        details[1].contains("`one_check_passed` looks like a check id"),
        "{details:#?}"
    );
    assert!(
        details[2].contains("`stale_name_in_comment`"),
        "{details:#?}"
    );
    assert!(
        details[3].contains("grader/units/01-one/unit.toml has no check `two_check_passes` (it is a check of 02-two)"),
        "{details:#?}"
    );
}
