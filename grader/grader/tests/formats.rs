//! The instructors' formats (JUnit XML, Gradescope, the step summary, the
//! autograder zip), rendered from reports built by hand, and one run of the
//! command line per flag.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Output};

use grader::formats::{self, bundle, gradescope, junit, summary};
use grader::report::{CheckReport, Report, SCHEMA_VERSION, UnitReport, UnitState};
use grader::run::CheckStatus;
use grader::units::Visibility;

/// A message no format may garble: markup, quotes, an entity, a CDATA
/// end, a table pipe, an ANSI colour (ESC), NUL, a tab and a CRLF.
const NASTY: &str = "expected <Close code=\"1000\"> & 'reason' ]]> &amp; a|b \u{1b}[31mred\u{1b}[0m\u{0}\tend\r\nline 2";

/// The sandbox line of the sample reports, with what XML and Markdown
/// must escape.
const ISOLATION: &str =
    "checks run with limits only, NOT in a namespace (unshare: <denied> & \"why\")";

fn check(
    id: &str,
    visibility: Visibility,
    status: CheckStatus,
    message: Option<&str>,
) -> CheckReport {
    CheckReport {
        id: id.into(),
        visibility,
        status,
        score: if status == CheckStatus::Pass { 5 } else { 0 },
        max_score: 5,
        message: message.map(str::to_owned),
        hint: format!("hint for {id}"),
        chapter: format!("book/01-connection.md#{id}"),
        covers: vec![],
        duration_ms: if status == CheckStatus::NotRun {
            0
        } else {
            1234
        },
        output: if status == CheckStatus::Pass {
            String::new()
        } else {
            format!("output of {id}")
        },
    }
}

fn unit(id: &str, slug: &str, state: UnitState, checks: Vec<CheckReport>) -> UnitReport {
    UnitReport {
        id: id.into(),
        slug: slug.into(),
        title: format!("Title of {slug}"),
        state,
        score: checks.iter().map(|c| c.score).sum(),
        max_score: checks.iter().map(|c| c.max_score).sum(),
        duration_ms: checks.iter().map(|c| c.duration_ms).sum(),
        build_output: (state == UnitState::BuildFailed)
            .then(|| format!("error[E0308]: mismatched types <T> & \"x\"\n{NASTY}")),
        checks,
    }
}

/// Unit 01 failing (a pass, a visible failure with the nasty message, a
/// hidden failure, a timeout, an error), 02 not compiling, 03 not started.
fn sample() -> Report {
    use CheckStatus::*;
    use Visibility::*;
    let units = vec![
        unit(
            "01",
            "01-connection",
            UnitState::Failing,
            vec![
                check("echo", Visible, Pass, None),
                check("close", Visible, Fail, Some(NASTY)),
                check("secret", Hidden, Fail, Some("the hidden check's secret")),
                check("slow", Hidden, Timeout, Some("timed out after 20 s")),
                check("crash", Visible, Error, None),
            ],
        ),
        unit(
            "02",
            "02-page-policy",
            UnitState::BuildFailed,
            vec![check("policy", Visible, NotRun, None)],
        ),
        unit(
            "03",
            "03-messages",
            UnitState::NotStarted,
            vec![
                check("parse", Visible, NotRun, None),
                check("frame", Hidden, NotRun, None),
            ],
        ),
    ];
    Report {
        schema_version: SCHEMA_VERSION,
        submission: "students/ada <&>".into(),
        isolation: ISOLATION.into(),
        score: units.iter().map(|u| u.score).sum(),
        max_score: units.iter().map(|u| u.max_score).sum(),
        units,
    }
}

/// An element read back from XML: name, attributes, text, children.
#[derive(Debug, Default)]
struct Node {
    name: String,
    attributes: BTreeMap<String, String>,
    text: String,
    children: Vec<Node>,
}

impl Node {
    fn attr(&self, key: &str) -> &str {
        self.attributes
            .get(key)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("<{}> has no {key}: {:?}", self.name, self.attributes))
    }

    fn all(&self, name: &str) -> Vec<&Node> {
        self.children.iter().filter(|c| c.name == name).collect()
    }

    fn only(&self, name: &str) -> &Node {
        let found = self.all(name);
        assert_eq!(
            found.len(),
            1,
            "<{}> should have one <{name}>: {self:?}",
            self.name
        );
        found[0]
    }
}

/// Parses a whole document with quick-xml's reader, failing on anything
/// that is not well-formed.
fn parse(xml: &str) -> Node {
    use quick_xml::XmlVersion;
    use quick_xml::events::{BytesStart, Event};

    fn open(start: &BytesStart) -> Node {
        let mut node = Node {
            name: start.name().as_ref().to_owned(),
            ..Node::default()
        };
        for attribute in start.attributes() {
            let attribute = attribute.expect("a well-formed attribute");
            let key = attribute.key.as_ref().to_owned();
            let value = attribute
                .normalized_value(XmlVersion::Explicit1_0)
                .expect("an attribute value that unescapes");
            assert!(
                node.attributes.insert(key, value.into_owned()).is_none(),
                "a duplicate attribute"
            );
        }
        node
    }

    let mut reader = quick_xml::Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut stack = vec![Node::default()];
    loop {
        let event = reader.read_event().expect("well-formed XML");
        let top = stack.last_mut().expect("an open element");
        match event {
            Event::Start(start) => stack.push(open(&start)),
            Event::Empty(start) => top.children.push(open(&start)),
            Event::End(_) => {
                let done = stack.pop().expect("an open element");
                stack.last_mut().expect("a parent").children.push(done);
            }
            Event::Text(text) => top.text.push_str(&text.xml10_content()),
            Event::GeneralRef(reference) => {
                let c = match reference
                    .resolve_char_ref()
                    .expect("a valid character reference")
                {
                    Some(c) => c,
                    None => match reference.as_ref() {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "quot" => '"',
                        "apos" => '\'',
                        other => panic!("an unknown entity {other:?}"),
                    },
                };
                top.text.push(c);
            }
            Event::CData(_) | Event::DocType(_) => panic!("unexpected {event:?}"),
            Event::Eof => break,
            _ => {}
        }
    }
    let mut document = stack.pop().expect("the document");
    assert!(stack.is_empty(), "unclosed elements");
    assert_eq!(document.children.len(), 1, "one root element");
    document.children.remove(0)
}

/// What XML 1.0 can carry of [`NASTY`]: ESC and NUL as control pictures;
/// the CR survives (the writer escapes it as `&#13;`, which parsers do not
/// normalise away).
fn nasty_as_xml_text() -> String {
    NASTY.replace('\u{1b}', "␛").replace('\u{0}', "␀")
}

#[test]
fn junit_has_one_suite_per_unit_and_the_right_totals() {
    let root = parse(&junit::render(&sample()));
    assert_eq!(root.name, "testsuites");
    assert_eq!(root.attr("name"), "WebSocket Workbook — students/ada <&>");
    // 5 checks of 01; build + 1 check of 02; 2 checks of 03.
    assert_eq!(root.attr("tests"), "9");
    assert_eq!(root.attr("failures"), "2");
    assert_eq!(root.attr("errors"), "3");
    // The schema has no `skipped` on `testsuites`: it is counted per suite.
    assert!(!root.attributes.contains_key("skipped"));
    assert_eq!(root.attr("time"), "6.170");

    let suites = root.all("testsuite");
    let names: Vec<&str> = suites.iter().map(|s| s.attr("name")).collect();
    assert_eq!(names, ["01-connection", "02-page-policy", "03-messages"]);
    let first = suites[0];
    assert_eq!(
        (
            first.attr("tests"),
            first.attr("failures"),
            first.attr("errors"),
            first.attr("skipped")
        ),
        ("5", "2", "2", "0")
    );
    assert_eq!(first.attr("time"), "6.170");
    for suite in &suites {
        for case in suite.all("testcase") {
            assert_eq!(case.attr("classname"), suite.attr("name"));
        }
    }
    let cases: Vec<&str> = first
        .all("testcase")
        .iter()
        .map(|c| c.attr("name"))
        .collect();
    assert_eq!(cases, ["echo", "close", "secret", "slow", "crash"]);
    // Every suite says which sandbox its checks ran in.
    for suite in &suites {
        let property = suite.only("properties").only("property");
        assert_eq!(property.attr("name"), "isolation");
        assert_eq!(property.attr("value"), ISOLATION);
    }
}

#[test]
fn every_format_says_which_sandbox_the_checks_ran_in() {
    let report = sample();
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).expect("JSON");
    assert_eq!(json["isolation"], ISOLATION);
    let results = gradescope::results(&report);
    assert!(
        results
            .output
            .contains(&format!("\nSandbox: {ISOLATION}\n")),
        "{}",
        results.output
    );
    let text = grader::render::human(&report, true);
    assert!(
        text.contains(&format!("\n  sandbox: {ISOLATION}\n")),
        "{text}"
    );
    let markdown = summary::render(&report);
    assert!(
        markdown.contains("<sub>Sandbox: checks run with limits only, NOT in a namespace (unshare: &lt;denied&gt; &amp; \"why\")</sub>"),
        "{markdown}"
    );
}

#[test]
fn junit_marks_failures_errors_and_skips() {
    let root = parse(&junit::render(&sample()));
    let suites = root.all("testsuite");
    let cases = suites[0].all("testcase");

    let echo = cases[0];
    assert_eq!(echo.attr("time"), "1.234");
    assert!(echo.children.is_empty(), "a pass has no child: {echo:?}");

    let failure = cases[1].only("failure");
    assert_eq!(failure.attr("type"), "fail");
    // The attribute is one line; the text carries everything.
    assert_eq!(
        failure.attr("message"),
        "expected <Close code=\"1000\"> & 'reason' ]]> &amp; a|b ␛[31mred␛[0m␀ end line 2"
    );
    assert!(
        failure.text.starts_with(&nasty_as_xml_text()),
        "{:?}",
        failure.text
    );
    assert!(
        failure.text.contains("hint: hint for close"),
        "{}",
        failure.text
    );
    assert!(
        failure.text.contains("read: book/01-connection.md#close"),
        "{}",
        failure.text
    );
    assert!(failure.text.contains("output of close"), "{}", failure.text);

    let timeout = cases[3].only("error");
    assert_eq!(timeout.attr("type"), "timeout");
    assert_eq!(timeout.attr("message"), "timed out after 20 s");
    let crash = cases[4].only("error");
    assert_eq!(crash.attr("type"), "error");
    assert_eq!(crash.attr("message"), "the check ended without a result");

    // A unit that does not compile: a `build` testcase with the compiler's
    // output, and its checks skipped.
    let build_cases = suites[1].all("testcase");
    assert_eq!(build_cases[0].attr("name"), "build");
    let build = build_cases[0].only("error");
    assert_eq!(build.attr("type"), "build");
    assert!(
        build
            .text
            .starts_with("error[E0308]: mismatched types <T> & \"x\"\n"),
        "{:?}",
        build.text
    );
    assert!(
        build.text.ends_with(&nasty_as_xml_text()),
        "{:?}",
        build.text
    );
    assert_eq!(build_cases[1].attr("name"), "policy");
    build_cases[1].only("skipped");

    // A unit not started: every check skipped.
    assert_eq!(suites[2].all("testcase").len(), 2);
    for case in suites[2].all("testcase") {
        assert!(case.only("skipped").attr("message").contains("not started"));
    }
}

#[test]
fn junit_text_holds_no_raw_markup_or_control_characters() {
    let xml = junit::render(&sample());
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    assert!(!xml.contains('\u{1b}') && !xml.contains('\u{0}'));
    assert!(!xml.contains("<Close"), "markup in a message is escaped");
    assert!(
        xml.contains("&amp;amp;"),
        "an entity in a message is escaped"
    );
}

/// The JUnit schema of Jenkins' xUnit plugin, as pytest ships it to check
/// its own JUnit output (`tests/data/README.md` says where it comes from).
const JUNIT_XSD: &str = include_str!("data/junit-10.xsd");

/// Every way `xml` breaks the JUnit schema, as libxml2's `xmllint` reports
/// it; `None` when `xmllint` is not installed (Debian: `libxml2-utils`,
/// which `.ci/run` installs). Under `CI=true` a missing `xmllint` fails
/// the test instead.
fn junit_violations(xml: &str) -> Option<Vec<String>> {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("a temporary folder");
    let schema = dir.path().join("junit-10.xsd");
    std::fs::write(&schema, JUNIT_XSD).expect("the schema is written");
    let child = Command::new("xmllint")
        .arg("--noout")
        .arg("--nonet")
        .arg("--schema")
        .arg(&schema)
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(error) => {
            let missing = format!(
                "xmllint cannot run ({error}); install it with `apt-get install libxml2-utils`"
            );
            if std::env::var("CI").is_ok_and(|ci| ci == "true") {
                panic!("the JUnit schema check cannot run on CI: {missing}");
            }
            eprintln!("SKIPPED the JUnit schema check: {missing}");
            return None;
        }
    };
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(xml.as_bytes())
        .expect("xmllint reads the document");
    let output = child.wait_with_output().expect("xmllint ends");
    let report = String::from_utf8_lossy(&output.stderr);
    let violations: Vec<String> = report
        .lines()
        .filter(|line| {
            !line.is_empty()
                && !line.ends_with(" validates")
                && !line.ends_with(" fails to validate")
        })
        .map(str::to_owned)
        .collect();
    // xmllint's exit status and its report must agree: 0 and "validates",
    // or non-zero and at least one line saying why.
    assert_eq!(
        output.status.success(),
        violations.is_empty(),
        "xmllint: {:?}\n{report}",
        output.status
    );
    Some(violations)
}

#[test]
fn junit_validates_against_the_junit_schema() {
    let all_passing = {
        let checks = vec![
            check("echo", Visibility::Visible, CheckStatus::Pass, None),
            check("close", Visibility::Hidden, CheckStatus::Pass, None),
        ];
        let unit = unit("01", "01-connection", UnitState::Passed, checks);
        Report {
            schema_version: SCHEMA_VERSION,
            submission: "solutions".into(),
            isolation: ISOLATION.into(),
            score: unit.score,
            max_score: unit.max_score,
            units: vec![unit],
        }
    };
    let no_units = Report {
        units: vec![],
        score: 0,
        max_score: 0,
        ..all_passing.clone()
    };
    for (name, report) in [
        ("every verdict", sample()),
        ("all passing", all_passing),
        ("no units", no_units),
    ] {
        let xml = junit::render(&report);
        let Some(violations) = junit_violations(&xml) else {
            return;
        };
        assert!(violations.is_empty(), "{name}: {violations:#?}\n{xml}");
    }
}

#[test]
fn the_junit_schema_check_refuses_what_readers_would_refuse() {
    // The validator is not vacuous: a minimal report passes, and each
    // mistake a JUnit writer could make is refused.
    let valid = r#"<testsuites><testsuite name="01" tests="1" failures="1" errors="0" time="0.120"><testcase classname="01" name="echo" time="0.120"><failure message="m" type="fail">text</failure></testcase></testsuite></testsuites>"#;
    let Some(violations) = junit_violations(valid) else {
        return;
    };
    assert_eq!(violations, Vec::<String>::new());
    let mistakes = [
        (
            "a suite without its error count",
            valid.replace(r#" errors="0""#, ""),
        ),
        (
            "a testcase without a name",
            valid.replace(r#" name="echo""#, ""),
        ),
        (
            "a time with six decimals",
            valid.replace(r#"time="0.120">"#, r#"time="0.120000">"#),
        ),
        (
            "a failure outside a testcase",
            valid.replace("<testcase", "<failure/><testcase"),
        ),
        (
            "an unknown element",
            valid.replace("<failure", "<verdict/><failure"),
        ),
        (
            "an unknown attribute",
            valid.replace("<testsuites>", r#"<testsuites passed="0">"#),
        ),
    ];
    for (what, xml) in mistakes {
        assert_ne!(xml, valid, "{what}: the mutation must change the document");
        assert!(
            junit_violations(&xml).is_some_and(|violations| !violations.is_empty()),
            "{what} must break the schema: {xml}"
        );
    }
}

/// Gradescope's documented `results.json` example
/// (gradescope-autograders.readthedocs.io, "Autograder Specifications",
/// "Output format"), with the comments removed: the keys and types we
/// write must be among these.
const GRADESCOPE_EXAMPLE: &str = r#"{
  "score": 44.0,
  "execution_time": 136,
  "output": "Text relevant to the entire submission",
  "output_format": "simple_format",
  "test_output_format": "text",
  "test_name_format": "text",
  "visibility": "after_due_date",
  "stdout_visibility": "visible",
  "extra_data": {},
  "tests": [
    {
      "score": 2.0,
      "max_score": 2.0,
      "status": "passed",
      "name": "Your name here",
      "name_format": "text",
      "number": "1.1",
      "output": "Giant multiline string that will be placed in a <pre> tag and collapsed by default",
      "output_format": "text",
      "tags": ["tag1", "tag2", "tag3"],
      "visibility": "visible",
      "extra_data": {}
    }
  ]
}"#;

fn same_kind(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value::*;
    matches!(
        (a, b),
        (Null, Null)
            | (Bool(_), Bool(_))
            | (Number(_), Number(_))
            | (String(_), String(_))
            | (Array(_), Array(_))
            | (Object(_), Object(_))
    )
}

#[test]
fn gradescope_results_follow_the_documented_format() {
    let example: serde_json::Value =
        serde_json::from_str(GRADESCOPE_EXAMPLE).expect("the example parses");
    let ours: serde_json::Value =
        serde_json::from_str(&gradescope::render(&sample())).expect("our results parse");
    let (example, ours) = (
        example.as_object().expect("an object"),
        ours.as_object().expect("an object"),
    );
    for (key, value) in ours {
        let documented = example
            .get(key)
            .unwrap_or_else(|| panic!("{key} is not a documented key"));
        assert!(
            same_kind(value, documented),
            "{key}: {value} vs {documented}"
        );
    }
    for key in [
        "score",
        "execution_time",
        "output",
        "stdout_visibility",
        "tests",
    ] {
        assert!(ours.contains_key(key), "missing {key}");
    }
    assert_eq!(ours["stdout_visibility"], "visible");
    assert_eq!(ours["score"], 5);
    assert_eq!(ours["execution_time"], 6.17);
    let example_test = example["tests"][0].as_object().expect("an object");
    let tests = ours["tests"].as_array().expect("an array");
    assert_eq!(tests.len(), 8, "one test per check");
    for test in tests {
        for (key, value) in test.as_object().expect("an object") {
            let documented = example_test
                .get(key)
                .unwrap_or_else(|| panic!("tests[].{key} is not a documented key"));
            assert!(
                same_kind(value, documented),
                "{key}: {value} vs {documented}"
            );
        }
        let status = test["status"].as_str().expect("a status");
        assert!(status == "passed" || status == "failed", "{status}");
    }
}

#[test]
fn gradescope_tests_are_numbered_and_hide_what_hidden_checks_do() {
    let results = gradescope::results(&sample());
    let numbers: Vec<&str> = results.tests.iter().map(|t| t.number.as_str()).collect();
    assert_eq!(
        numbers,
        [
            "01.1", "01.2", "01.3", "01.4", "01.5", "02.1", "03.1", "03.2"
        ]
    );
    let by_name = |name: &str| {
        results
            .tests
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("no test {name}"))
    };

    let echo = by_name("01-connection: echo");
    assert_eq!((echo.status, echo.score, echo.max_score), ("passed", 5, 5));
    assert_eq!(echo.visibility, "visible");

    let close = by_name("01-connection: close");
    assert_eq!((close.status, close.score), ("failed", 0));
    assert_eq!(close.visibility, "visible");
    assert!(close.output.contains(NASTY), "{}", close.output);
    assert!(
        close.output.contains("Hint: hint for close"),
        "{}",
        close.output
    );
    assert!(
        close.output.contains("Read: book/01-connection.md#close"),
        "{}",
        close.output
    );

    let secret = by_name("01-connection: secret");
    assert_eq!(secret.visibility, "after_due_date");
    assert!(
        secret.output.contains("Hint: hint for secret"),
        "{}",
        secret.output
    );
    assert!(
        !secret.output.contains("the hidden check's secret"),
        "{}",
        secret.output
    );
    assert!(
        !secret.output.contains("output of secret"),
        "{}",
        secret.output
    );

    let policy = by_name("02-page-policy: policy");
    assert!(
        policy.output.contains("does not compile"),
        "{}",
        policy.output
    );
    assert!(
        results.output.contains("error[E0308]"),
        "{}",
        results.output
    );
    assert!(results.output.contains("5/40 points"), "{}", results.output);
}

#[test]
fn the_step_summary_is_a_table_with_the_failed_checks() {
    let text = summary::render(&sample());
    assert!(text.contains("| Unit | State | Score |"), "{text}");
    assert!(
        text.contains("| 01 Title of 01-connection | ❌ failing 4 of 5 | 5/25 |"),
        "{text}"
    );
    assert!(
        text.contains("| 02 Title of 02-page-policy | ❌ does not compile | 0/5 |"),
        "{text}"
    );
    assert!(
        text.contains("| 03 Title of 03-messages | ⚪ not started | 0/10 |"),
        "{text}"
    );
    assert!(text.contains("### Failed checks"), "{text}");
    // A visible check's message, on one line, its pipe escaped; a hidden
    // check's hint only.
    assert!(
        text.contains("`close` (visible, 5 points) failed: expected &lt;Close"),
        "{text}"
    );
    assert!(text.contains("a\\|b"), "{text}");
    assert!(
        text.contains("`secret` (hidden, 5 points) failed<br>hint: hint for secret"),
        "{text}"
    );
    assert!(!text.contains("the hidden check's secret"), "{text}");
    assert!(
        text.contains("`slow` (hidden, 5 points) timed out"),
        "{text}"
    );
    assert!(
        text.contains("### 02 Title of 02-page-policy does not compile"),
        "{text}"
    );
    assert!(
        !text.contains('\u{1b}') || text.contains("```text"),
        "{text}"
    );
}

#[test]
fn ci_fails_on_a_failed_check_or_a_build_failure_only() {
    assert!(formats::any_failed(&sample()));
    let mut report = sample();
    report.units.retain(|u| u.state == UnitState::NotStarted);
    assert!(
        !formats::any_failed(&report),
        "not started is not a failure"
    );
    let mut report = sample();
    report.units.retain(|u| u.state == UnitState::BuildFailed);
    assert!(formats::any_failed(&report), "a build failure is a failure");
    let mut report = sample();
    report.units.truncate(1);
    report.units[0]
        .checks
        .retain(|c| c.status == CheckStatus::Pass);
    report.units[0].state = UnitState::Passed;
    assert!(!formats::any_failed(&report));
}

fn read_zip(bytes: Vec<u8>) -> BTreeMap<String, (String, u32)> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a valid zip");
    let mut files = BTreeMap::new();
    for index in 0..archive.len() {
        let mut file = archive.by_index(index).expect("an entry");
        let mode = file.unix_mode().expect("a Unix mode");
        let mut text = String::new();
        file.read_to_string(&mut text)
            .expect("a readable entry (its CRC checks)");
        files.insert(
            file.name().expect("a UTF-8 name").into_owned(),
            (text, mode & 0o777),
        );
    }
    files
}

#[test]
fn the_gradescope_bundle_holds_the_scripts() {
    let files = read_zip(bundle::zip().expect("the zip is made"));
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(names, ["README.txt", "run_autograder", "setup.sh"]);
    let (run, run_mode) = &files["run_autograder"];
    assert_eq!(*run_mode, 0o755, "run_autograder is executable");
    assert!(run.starts_with("#!/usr/bin/env bash\n"), "{run}");
    assert!(run.contains("cp -R /autograder/submission/."), "{run}");
    assert!(
        run.contains(
            "cargo grade --submission \"$SUBMISSION\" --format gradescope --out \"$RESULTS/results.json\""
        ),
        "{run}"
    );
    // The report is written by --out (atomically), never by a redirect.
    assert!(
        !run.lines()
            .any(|line| line.contains("cargo grade") && line.contains('>')),
        "{run}"
    );
    assert!(run.contains("/autograder/results"), "{run}");
    let (setup, setup_mode) = &files["setup.sh"];
    assert_eq!(*setup_mode, 0o755);
    assert!(setup.contains(bundle::COURSE_DIR), "{setup}");
    assert!(setup.contains("apt-get install -y"), "{setup}");
    let (readme, readme_mode) = &files["README.txt"];
    assert_eq!(*readme_mode, 0o644);
    assert!(readme.contains("course/"), "{readme}");
}

#[test]
fn the_bundle_scripts_are_valid_bash() {
    for entry in bundle::ENTRIES.iter().filter(|e| e.name != "README.txt") {
        let output = Command::new("bash")
            .args(["-n", "-c", entry.contents])
            .output()
            .expect("bash starts");
        assert!(
            output.status.success(),
            "{}: {}",
            entry.name,
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

// ---- the command line: one run per flag ----

fn grade(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cargo-grade"));
    // English, whatever the locale of the machine running the tests.
    command
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", "C");
    command.args(args).env_remove(summary::ENV);
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("the grader starts")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A submission without unit 01: it is reported as not started, without
/// building anything.
fn empty_submission() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary folder")
}

#[test]
fn cli_format_junit_prints_junit_xml() {
    let dir = empty_submission();
    let path = dir.path().to_str().expect("a UTF-8 path");
    let output = grade(&["01", "--submission", path, "--format", "junit"], &[]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let xml = stdout(&output);
    if let Some(violations) = junit_violations(&xml) {
        assert_eq!(violations, Vec::<String>::new(), "{xml}");
    }
    let root = parse(&xml);
    let suite = root.only("testsuite");
    assert_eq!(suite.attr("name"), "01-connection");
    assert_eq!(suite.attr("tests"), suite.attr("skipped"));
}

#[test]
fn cli_format_gradescope_prints_results_json() {
    let dir = empty_submission();
    let path = dir.path().to_str().expect("a UTF-8 path");
    let output = grade(&["01", "--submission", path, "--format", "gradescope"], &[]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&output)).expect("one JSON document");
    assert_eq!(json["score"], 0);
    assert_eq!(json["tests"][0]["number"], "01.1");
}

#[test]
fn cli_writes_the_step_summary_when_github_asks() {
    let dir = empty_submission();
    let path = dir.path().to_str().expect("a UTF-8 path");
    let summary_file = tempfile::NamedTempFile::new().expect("a temporary file");
    std::fs::write(summary_file.path(), "earlier step\n").expect("written");
    let output = grade(
        &["01", "--submission", path, "--format", "json"],
        &[(summary::ENV, summary_file.path())],
    );
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    serde_json::from_str::<serde_json::Value>(&stdout(&output)).expect("stdout is still the JSON");
    let text = std::fs::read_to_string(summary_file.path()).expect("the summary");
    assert!(
        text.starts_with("earlier step\n## WebSocket Workbook"),
        "appended: {text}"
    );
    assert!(
        text.contains("| 01 Connection lifecycle | ⚪ not started | 0/100 |"),
        "{text}"
    );
}

#[test]
fn cli_ci_exits_0_when_no_graded_check_failed_and_2_on_grader_errors() {
    let dir = empty_submission();
    let path = dir.path().to_str().expect("a UTF-8 path");
    let output = grade(&["01", "--submission", path, "--ci"], &[]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "not started is not a failure: {output:?}"
    );
    let missing = dir.path().join("missing");
    let output = grade(
        &[
            "--submission",
            missing.to_str().expect("a UTF-8 path"),
            "--ci",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(2), "{output:?}");
}

#[test]
fn cli_ci_exits_1_when_a_unit_does_not_compile_and_0_without_it() {
    let dir = empty_submission();
    let src = dir.path().join("01-connection/src");
    std::fs::create_dir_all(&src).expect("a folder");
    std::fs::write(src.join("lib.rs"), "this is not Rust\n").expect("written");
    let path = dir.path().to_str().expect("a UTF-8 path");
    let output = grade(
        &["01", "--submission", path, "--format", "junit", "--ci"],
        &[],
    );
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let root = parse(&stdout(&output));
    let build = root.only("testsuite").all("testcase")[0];
    assert_eq!(build.attr("name"), "build");
    assert!(build.only("error").text.contains("error"), "{build:?}");
    // Without --ci, the same grading exits 0.
    let output = grade(&["01", "--submission", path, "--format", "junit"], &[]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
}

#[test]
fn cli_gradescope_bundle_writes_the_zip() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let out = dir.path().join("autograder.zip");
    let output = grade(
        &[
            "gradescope-bundle",
            "--out",
            out.to_str().expect("a UTF-8 path"),
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let files = read_zip(std::fs::read(&out).expect("the zip was written"));
    assert_eq!(files["run_autograder"].1, 0o755);
    assert_eq!(files.len(), 3);
}

#[test]
fn cli_out_writes_the_report_to_a_file_atomically() {
    let dir = empty_submission();
    let path = dir.path().to_str().expect("a UTF-8 path");
    let results = tempfile::tempdir().expect("a temporary folder");
    let file = results.path().join("results.json");
    std::fs::write(
        &file,
        "an older, longer report that must be replaced entirely\n",
    )
    .expect("an existing file");
    let output = grade(
        &[
            "01",
            "--submission",
            path,
            "--format",
            "gradescope",
            "--out",
            file.to_str().expect("a UTF-8 path"),
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("the report"))
            .expect("the file is exactly one JSON document");
    assert_eq!(json["tests"][0]["number"], "01.1");
    assert!(
        json["output"]
            .as_str()
            .is_some_and(|o| o.contains("Sandbox: ")),
        "{json}"
    );
    // The terminal gets the human-readable report; the file nothing else.
    let text = stdout(&output);
    assert!(text.contains("WebSocket Workbook — grading"), "{text}");
    assert!(text.contains("  sandbox: "), "{text}");
    assert!(
        text.contains(&format!("wrote {}", file.display())),
        "{text}"
    );
    let names: Vec<String> = std::fs::read_dir(results.path())
        .expect("list")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(
        names,
        ["results.json"],
        "no temporary file is left beside it"
    );
    // A folder is not a report file.
    let output = grade(
        &[
            "01",
            "--submission",
            path,
            "--out",
            results.path().to_str().expect("a UTF-8 path"),
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("is a folder"),
        "{output:?}"
    );
}

#[test]
fn cli_shard_needs_batch_and_a_valid_k_of_n() {
    let dir = empty_submission();
    let path = dir.path().to_str().expect("a UTF-8 path");
    for (args, says) in [
        (
            vec!["--batch", path, "--shard", "4/3"],
            "there is no shard 4 of 3",
        ),
        (vec!["--batch", path, "--shard", "x"], "expected K/N"),
        (vec!["--shard", "1/2"], "--batch"),
    ] {
        let output = grade(&args, &[]);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    let output = grade(&["merge", path], &[]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "merge needs a shard: {output:?}"
    );
    let output = grade(&["merge", path, path], &[]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("is both a shard and where the merge goes"),
        "{output:?}"
    );
}
