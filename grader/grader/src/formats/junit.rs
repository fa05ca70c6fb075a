//! `--format junit`: the report as JUnit XML, which GitLab (`artifacts:
//! reports: junit`) and GitHub test-report actions read.
//!
//! ```xml
//! <testsuites name="WebSocket Workbook" tests="11" failures="1" errors="0" time="5.321">
//!   <testsuite name="01-connection" tests="11" failures="1" errors="0" skipped="0" time="5.321">
//!     <properties><property name="isolation" value="checks run with … limits, in their own network namespace …"/></properties>
//!     <testcase classname="01-connection" name="echo_text_round_trip" time="0.120"/>
//!     <testcase classname="01-connection" name="close_sends_1000_and_waits_for_the_reply" time="0.480">
//!       <failure message="close() returned before …" type="fail">…message, hint, chapter, output…</failure>
//!     </testcase>
//!   </testsuite>
//! </testsuites>
//! ```
//!
//! * One `testsuite` per unit; `classname` is the unit's slug, `name` the
//!   check's id, `time` in seconds.
//! * A failed check has a `failure`; a check that timed out or ended
//!   without a result has an `error`; a check not run is `skipped`, and so
//!   is a check skipped because a program it needs is missing, with its
//!   message (which program, how to install it) as the `message`.
//! * A unit that does not compile has a testcase named `build` with an
//!   `error` carrying the compiler output; its checks are `skipped`.
//! * A unit not started has every check `skipped`.
//! * Every `testsuite` starts with `<properties>` holding the property
//!   `isolation`: the sandbox the checks ran in, in one line.
//! * The document validates against the JUnit schema of Jenkins' xUnit
//!   plugin (`junit-10.xsd`, which pytest also checks its output with): so
//!   `skipped` is counted per `testsuite`, not on `testsuites`, which that
//!   schema does not allow.
//!
//! XML 1.0 cannot carry most control characters, even escaped, so they are
//! replaced by their visible Unicode "control picture" (`ESC` becomes `␛`);
//! attribute values are kept to one line.

use std::borrow::Cow;
use std::io;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use crate::report::{CheckReport, Report, UnitReport, UnitState};
use crate::run::CheckStatus;
use crate::units::Visibility;

/// The longest `message` attribute; the element's text has everything.
const MESSAGE_CHARS: usize = 300;

/// Counts for a `testsuite` or `testsuites` element.
#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
    millis: u64,
}

impl Totals {
    fn add(&mut self, other: Totals) {
        self.tests += other.tests;
        self.failures += other.failures;
        self.errors += other.errors;
        self.skipped += other.skipped;
        self.millis += other.millis;
    }

    /// The counts as attributes; `skipped` only where the schema allows it
    /// (on a `testsuite`).
    fn attributes(&self, with_skipped: bool) -> Vec<(&'static str, String)> {
        let mut attributes = vec![
            ("tests", self.tests.to_string()),
            ("failures", self.failures.to_string()),
            ("errors", self.errors.to_string()),
        ];
        if with_skipped {
            attributes.push(("skipped", self.skipped.to_string()));
        }
        attributes.push(("time", time(self.millis)));
        attributes
    }
}

/// What one testcase carries besides its name and time.
enum Verdict {
    Passed,
    Failure {
        kind: &'static str,
        message: String,
        text: String,
    },
    Error {
        kind: &'static str,
        message: String,
        text: String,
    },
    Skipped(String),
}

struct Case {
    name: String,
    millis: u64,
    verdict: Verdict,
}

/// Renders the report as a JUnit XML document.
pub fn render(report: &Report) -> String {
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    // Writing into a Vec cannot fail.
    let _ = write(&mut writer, report);
    let mut xml = String::from_utf8_lossy(&writer.into_inner()).into_owned();
    xml.push('\n');
    xml
}

fn write(writer: &mut Writer<Vec<u8>>, report: &Report) -> io::Result<()> {
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let suites: Vec<(&UnitReport, Vec<Case>)> = report
        .units
        .iter()
        .map(|unit| (unit, cases(unit)))
        .collect();
    let mut all = Totals::default();
    for (_, cases) in &suites {
        all.add(totals(cases));
    }
    let name = format!("WebSocket Workbook — {}", report.submission);
    let root = start("testsuites", &[("name", name)], all);
    writer.write_event(Event::Start(root))?;
    for (unit, cases) in &suites {
        let suite = start(
            "testsuite",
            &[("name", unit.slug.clone()), ("id", unit.id.clone())],
            totals(cases),
        );
        writer.write_event(Event::Start(suite))?;
        write_properties(writer, report)?;
        for case in cases {
            write_case(writer, &unit.slug, case)?;
        }
        writer.write_event(Event::End(BytesEnd::new("testsuite")))?;
    }
    writer.write_event(Event::End(BytesEnd::new("testsuites")))?;
    Ok(())
}

/// The suite's `properties`: the sandbox the checks ran in, as the property
/// `isolation` (the schema allows properties on a `testsuite` only, so
/// every suite carries it).
fn write_properties(writer: &mut Writer<Vec<u8>>, report: &Report) -> io::Result<()> {
    if report.isolation.is_empty() {
        return Ok(());
    }
    writer.write_event(Event::Start(BytesStart::new("properties")))?;
    let mut property = BytesStart::new("property");
    property.push_attribute(("name", "isolation"));
    property.push_attribute(("value", attribute(&report.isolation).as_ref()));
    writer.write_event(Event::Empty(property))?;
    writer.write_event(Event::End(BytesEnd::new("properties")))
}

fn start(
    name: &'static str,
    first: &[(&'static str, String)],
    totals: Totals,
) -> BytesStart<'static> {
    let mut element = BytesStart::new(name);
    let with_skipped = name == "testsuite";
    for (key, value) in first.iter().cloned().chain(totals.attributes(with_skipped)) {
        element.push_attribute((key, attribute(&value).as_ref()));
    }
    element
}

fn write_case(writer: &mut Writer<Vec<u8>>, slug: &str, case: &Case) -> io::Result<()> {
    let mut element = BytesStart::new("testcase");
    element.push_attribute(("classname", attribute(slug).as_ref()));
    element.push_attribute(("name", attribute(&case.name).as_ref()));
    element.push_attribute(("time", time(case.millis).as_str()));
    let (tag, kind, message, text) = match &case.verdict {
        Verdict::Passed => return writer.write_event(Event::Empty(element)),
        Verdict::Skipped(message) => ("skipped", None, message, None),
        Verdict::Failure {
            kind,
            message,
            text,
        } => ("failure", Some(*kind), message, Some(text)),
        Verdict::Error {
            kind,
            message,
            text,
        } => ("error", Some(*kind), message, Some(text)),
    };
    writer.write_event(Event::Start(element))?;
    let mut inner = BytesStart::new(tag);
    inner.push_attribute(("message", attribute(message).as_ref()));
    if let Some(kind) = kind {
        inner.push_attribute(("type", kind));
    }
    match text {
        Some(text) => {
            writer.write_event(Event::Start(inner))?;
            writer.write_event(Event::Text(BytesText::new(&xml_chars(text))))?;
            writer.write_event(Event::End(BytesEnd::new(tag)))?;
        }
        None => writer.write_event(Event::Empty(inner))?,
    }
    writer.write_event(Event::End(BytesEnd::new("testcase")))
}

fn totals(cases: &[Case]) -> Totals {
    let mut totals = Totals {
        tests: cases.len(),
        ..Totals::default()
    };
    for case in cases {
        totals.millis += case.millis;
        match case.verdict {
            Verdict::Passed => {}
            Verdict::Failure { .. } => totals.failures += 1,
            Verdict::Error { .. } => totals.errors += 1,
            Verdict::Skipped(_) => totals.skipped += 1,
        }
    }
    totals
}

/// One unit's testcases.
fn cases(unit: &UnitReport) -> Vec<Case> {
    let mut cases = Vec::new();
    let skipped = match unit.state {
        UnitState::NotStarted => Some("not started: the unit is still the stub or is missing"),
        UnitState::BuildFailed => {
            let output = unit.build_output.clone().unwrap_or_default();
            cases.push(Case {
                name: "build".into(),
                millis: 0,
                verdict: Verdict::Error {
                    kind: "build",
                    message: format!("{} does not compile", unit.slug),
                    text: output,
                },
            });
            Some("not run: the unit does not compile")
        }
        UnitState::Passed | UnitState::Failing => None,
    };
    for check in &unit.checks {
        let verdict = match skipped {
            Some(reason) => Verdict::Skipped(reason.into()),
            None => verdict(check),
        };
        cases.push(Case {
            name: check.id.clone(),
            millis: check.duration_ms,
            verdict,
        });
    }
    cases
}

fn verdict(check: &CheckReport) -> Verdict {
    let message = check
        .message
        .as_deref()
        .map(super::message_text)
        .unwrap_or_default();
    let text = || {
        let visibility = match check.visibility {
            Visibility::Visible => "visible",
            Visibility::Hidden => "hidden",
        };
        let mut text = format!(
            "{message}\n\n{visibility} check, {} points\nhint: {}\nread: {}\n",
            check.max_score, check.hint, check.chapter
        );
        if !check.output.trim().is_empty() {
            text.push_str("\noutput:\n");
            text.push_str(&check.output);
        }
        text
    };
    match check.status {
        CheckStatus::Pass => Verdict::Passed,
        CheckStatus::Fail => Verdict::Failure {
            kind: "fail",
            message: or(&message, "the check failed"),
            text: text(),
        },
        CheckStatus::Timeout => Verdict::Error {
            kind: "timeout",
            message: or(&message, "the check timed out"),
            text: text(),
        },
        CheckStatus::Error => Verdict::Error {
            kind: "error",
            message: or(&message, "the check ended without a result"),
            text: text(),
        },
        CheckStatus::NotRun => Verdict::Skipped("not run".into()),
        CheckStatus::Skipped => Verdict::Skipped(or(&message, "skipped: not graded here")),
    }
}

fn or(message: &str, default: &str) -> String {
    if message.is_empty() {
        default.to_owned()
    } else {
        message.to_owned()
    }
}

/// Seconds with three decimals, as JUnit's `time` attribute has them.
fn time(millis: u64) -> String {
    format!("{}.{:03}", millis / 1000, millis % 1000)
}

/// A character XML 1.0 allows (§2.2 Char). Rust strings hold no surrogates.
fn allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Text XML 1.0 can hold: control characters become their Unicode control
/// picture (U+2400 + code), anything else disallowed U+FFFD.
fn xml_chars(text: &str) -> Cow<'_, str> {
    if text.chars().all(allowed) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| match c {
                c if allowed(c) => c,
                '\u{0}'..='\u{1F}' => char::from_u32(0x2400 + c as u32).unwrap_or('\u{FFFD}'),
                _ => '\u{FFFD}',
            })
            .collect(),
    )
}

/// An attribute value: one line (parsers turn newlines and tabs in
/// attributes into spaces anyway), XML-safe characters, at most
/// [`MESSAGE_CHARS`] characters. Escaping is the writer's job.
fn attribute(value: &str) -> Cow<'_, str> {
    let one_line = value.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut joined = one_line.collect::<Vec<_>>().join(" ");
    if joined.chars().count() > MESSAGE_CHARS {
        joined = joined.chars().take(MESSAGE_CHARS - 1).collect::<String>() + "…";
    }
    let joined = joined.replace(['\t', '\r'], " ");
    if joined == value && value.chars().all(allowed) {
        Cow::Borrowed(value)
    } else {
        Cow::Owned(xml_chars(&joined).into_owned())
    }
}
