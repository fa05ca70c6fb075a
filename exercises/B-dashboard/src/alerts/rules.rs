//! The rules file: TOML, checked field by field.
//!
//! ```toml
//! [notify]                                  # optional
//! webhook = "http://127.0.0.1:9000/hook"    # optional, http:// only
//! group_by = ["alertname"]                  # the default
//! repeat_interval = "4h"                    # the default
//! evaluation_interval = "1s"                # the default
//!
//! [[rule]]
//! name = "HighCpu"
//! selector = 'cpu{host=~"web-.*"}'
//! op = ">"                                  # > >= < <=
//! threshold = 0.9
//! for = "5m"                                # default "0s"
//! keep_firing_for = "1m"                    # default "0s"
//! clear = 0.8                               # optional hysteresis
//! labels = { severity = "page" }            # optional
//! summary = "CPU above 90 %"                # optional
//! ```
//!
//! Why not `#[derive(Deserialize)]` on the rule? Because a derived error
//! says "invalid type: string, expected f64" and leaves the reader to find
//! which of forty rules it means. We let `toml` check the syntax (its error
//! keeps the line and column), then read each table by hand, so that every
//! error names the rule (its position and its name), the field, and what was
//! expected. Unknown fields are refused the same way: a typo like
//! `keep_firing = "1m"` would otherwise silently mean "no anti-flap".

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use toml::{Table, Value};

use super::notify::WebhookUrl;
use crate::clock::{Millis, parse_duration};
use crate::labels::Selector;

/// The label that carries the rule's name on every alert.
pub const ALERTNAME: &str = "alertname";
/// The default `repeat_interval`: 4 hours, as in Prometheus' Alertmanager.
pub const DEFAULT_REPEAT_INTERVAL: Millis = 4 * 3_600_000;
/// The default `evaluation_interval`: a second, the raw tier's resolution.
pub const DEFAULT_EVALUATION_INTERVAL: Millis = 1_000;

const RULE_FIELDS: &[&str] = &[
    "name",
    "selector",
    "op",
    "threshold",
    "for",
    "keep_firing_for",
    "clear",
    "labels",
    "summary",
];
const NOTIFY_FIELDS: &[&str] = &[
    "webhook",
    "group_by",
    "repeat_interval",
    "evaluation_interval",
];

/// A comparison of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
}

impl Op {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
        }
    }

    /// Is `value op threshold`?
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Op::Gt => value > threshold,
            Op::Ge => value >= threshold,
            Op::Lt => value < threshold,
            Op::Le => value <= threshold,
        }
    }

    /// Has `value` crossed the hysteresis level `clear`? For `>`/`>=` the
    /// alert clears at `value <= clear`, for `<`/`<=` at `value >= clear`.
    pub fn crossed_clear(self, value: f64, clear: f64) -> bool {
        match self {
            Op::Gt | Op::Ge => value <= clear,
            Op::Lt | Op::Le => value >= clear,
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [Op::Gt, Op::Ge, Op::Lt, Op::Le]
            .into_iter()
            .find(|op| op.as_str() == text)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `[[rule]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Unique, `[A-Za-z_][A-Za-z0-9_]*`; the alerts' `alertname`.
    pub name: String,
    /// The series it watches.
    pub selector: Selector,
    /// The comparison.
    pub op: Op,
    /// What the value is compared with.
    pub threshold: f64,
    /// How long the condition must hold before the alert fires (ms).
    pub for_ms: Millis,
    /// How long a firing alert stays firing after the condition stops
    /// holding (ms).
    pub keep_firing_for_ms: Millis,
    /// The hysteresis level: a firing alert resolves only once the value
    /// crosses it.
    pub clear: Option<f64>,
    /// Extra labels of its alerts.
    pub labels: BTreeMap<String, String>,
    /// A sentence for people.
    pub summary: Option<String>,
}

impl Rule {
    /// Does the condition hold for `value`? For an alert that is already
    /// `firing`, a rule with `clear` asks "has it not crossed `clear`?".
    pub fn holds(&self, value: f64, firing: bool) -> bool {
        match (firing, self.clear) {
            (true, Some(clear)) => !self.op.crossed_clear(value, clear),
            _ => self.op.holds(value, self.threshold),
        }
    }
}

/// The `[notify]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct NotifyConfig {
    /// Where notifications are POSTed; none: they are only logged.
    pub webhook: Option<WebhookUrl>,
    /// The labels that make a group (`alertname` is the rule's name).
    pub group_by: Vec<String>,
    /// How often a group that still fires is reminded (ms).
    pub repeat_interval_ms: Millis,
    /// How often the server evaluates the rules (ms).
    pub evaluation_interval_ms: Millis,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            webhook: None,
            group_by: vec![ALERTNAME.to_owned()],
            repeat_interval_ms: DEFAULT_REPEAT_INTERVAL,
            evaluation_interval_ms: DEFAULT_EVALUATION_INTERVAL,
        }
    }
}

/// A whole rules file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RuleSet {
    /// `[notify]`.
    pub notify: NotifyConfig,
    /// The rules, in file order (which is also the order of alerts).
    pub rules: Vec<Rule>,
}

impl RuleSet {
    /// Parses a rules file's text.
    pub fn parse(text: &str) -> Result<Self, RuleError> {
        let table: Table = text.parse().map_err(RuleError::Syntax)?;
        let file = Fields {
            table: &table,
            place: Place::File,
        };
        file.only(&["notify", "rule"])?;
        let notify = match table.get("notify") {
            None => NotifyConfig::default(),
            Some(Value::Table(notify)) => parse_notify(notify)?,
            Some(other) => return Err(file.wrong("notify", "a table `[notify]`", other)),
        };
        let rules = match table.get("rule") {
            None => Vec::new(),
            Some(Value::Array(rules)) => {
                let mut parsed: Vec<Rule> = Vec::with_capacity(rules.len());
                for (i, value) in rules.iter().enumerate() {
                    let rule = parse_rule(i + 1, value)?;
                    if let Some(first) = parsed.iter().position(|r| r.name == rule.name) {
                        return Err(RuleError::Invalid {
                            place: Place::Rule {
                                index: i + 1,
                                name: Some(rule.name.clone()),
                            },
                            field: "name".into(),
                            problem: format!(
                                "is already the name of rule #{}; names must be unique (they are the alerts' `alertname`)",
                                first + 1
                            ),
                        });
                    }
                    parsed.push(rule);
                }
                parsed
            }
            Some(other) => {
                return Err(file.wrong("rule", "an array of tables `[[rule]]`", other));
            }
        };
        Ok(Self { notify, rules })
    }

    /// Reads and parses a rules file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, RuleError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| RuleError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text)
    }

    /// The rule called `name`, with its position.
    pub fn rule(&self, name: &str) -> Option<(usize, &Rule)> {
        self.rules
            .iter()
            .enumerate()
            .find(|(_, rule)| rule.name == name)
    }
}

/// A rules file watched for changes: [`RulesFile::reload`] returns new
/// rules only when the text changed and parses. The text is compared, not
/// the modification time, which has a coarse resolution on some systems and
/// does not change when a file is replaced by one copied with its times.
#[derive(Debug)]
pub struct RulesFile {
    path: PathBuf,
    last_text: Option<String>,
}

impl RulesFile {
    /// Watches `path` (nothing is read yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            last_text: None,
        }
    }

    /// `Ok(Some(rules))` when the file changed and is valid, `Ok(None)` when
    /// it did not change, `Err` when it changed and is refused: the caller
    /// keeps its old rules and logs the error, which is reported once per
    /// change of the file, not on every poll.
    pub fn reload(&mut self) -> Result<Option<RuleSet>, RuleError> {
        let text = std::fs::read_to_string(&self.path).map_err(|source| RuleError::Read {
            path: self.path.clone(),
            source,
        })?;
        if self.last_text.as_deref() == Some(text.as_str()) {
            return Ok(None);
        }
        let parsed = RuleSet::parse(&text);
        self.last_text = Some(text);
        parsed.map(Some)
    }
}

/// Where in the file an error is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// The top level.
    File,
    /// The `[notify]` table.
    Notify,
    /// A `[[rule]]`: its position (from 1) and its name, when it has one.
    Rule {
        /// From 1, in file order.
        index: usize,
        /// Its `name`, if that could be read.
        name: Option<String>,
    },
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::File => f.write_str("the rules file"),
            Place::Notify => f.write_str("[notify]"),
            Place::Rule {
                index,
                name: Some(name),
            } => write!(f, "rule #{index} ({name:?})"),
            Place::Rule { index, name: None } => write!(f, "rule #{index} (no valid name)"),
        }
    }
}

/// A rules file that is refused; the message names where and what.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// The file could not be read.
    #[error("cannot read the rules file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Not TOML; the message has the line and column.
    #[error("the rules file is not valid TOML: {0}")]
    Syntax(#[source] toml::de::Error),
    /// TOML, but a field is missing, unknown or wrong.
    #[error("{place}: `{field}` {problem}")]
    Invalid {
        /// Where.
        place: Place,
        /// The field.
        field: String,
        /// What was expected, and what was found.
        problem: String,
    },
}

/// One table being read, with the place to blame.
struct Fields<'a> {
    table: &'a Table,
    place: Place,
}

impl Fields<'_> {
    fn fail(&self, field: &str, problem: impl Into<String>) -> RuleError {
        RuleError::Invalid {
            place: self.place.clone(),
            field: field.to_owned(),
            problem: problem.into(),
        }
    }

    fn wrong(&self, field: &str, expected: &str, found: &Value) -> RuleError {
        self.fail(
            field,
            format!("must be {expected}, found a {}: {found}", found.type_str()),
        )
    }

    fn only(&self, allowed: &[&str]) -> Result<(), RuleError> {
        match self
            .table
            .keys()
            .find(|key| !allowed.contains(&key.as_str()))
        {
            Some(key) => Err(self.fail(
                key,
                format!(
                    "is not a known field (expected one of: {})",
                    allowed.join(", ")
                ),
            )),
            None => Ok(()),
        }
    }

    fn string(&self, field: &str) -> Result<Option<&str>, RuleError> {
        match self.table.get(field) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(other) => Err(self.wrong(field, "a string", other)),
        }
    }

    fn required<T>(&self, field: &str, value: Option<T>, example: &str) -> Result<T, RuleError> {
        value.ok_or_else(|| self.fail(field, format!("is missing (e.g. `{field} = {example}`)")))
    }

    fn number(&self, field: &str) -> Result<Option<f64>, RuleError> {
        let number = match self.table.get(field) {
            None => return Ok(None),
            Some(Value::Float(number)) => *number,
            Some(Value::Integer(number)) => *number as f64,
            Some(other) => return Err(self.wrong(field, "a number", other)),
        };
        if !number.is_finite() {
            return Err(self.fail(field, format!("must be a finite number, found {number}")));
        }
        Ok(Some(number))
    }

    fn duration(&self, field: &str) -> Result<Option<Millis>, RuleError> {
        let Some(text) = self.string(field)? else {
            return Ok(None);
        };
        let duration = parse_duration(text)
            .map_err(|problem| self.fail(field, format!("is not a duration: {problem}")))?;
        Millis::try_from(duration.as_millis())
            .map(Some)
            .map_err(|_| self.fail(field, "is too long"))
    }
}

fn parse_notify(table: &Table) -> Result<NotifyConfig, RuleError> {
    let fields = Fields {
        table,
        place: Place::Notify,
    };
    fields.only(NOTIFY_FIELDS)?;
    let defaults = NotifyConfig::default();
    let webhook = fields
        .string("webhook")?
        .map(|url| {
            WebhookUrl::parse(url).map_err(|problem| fields.fail("webhook", problem.to_string()))
        })
        .transpose()?;
    let group_by = match table.get("group_by") {
        None => defaults.group_by,
        Some(Value::Array(names)) => {
            let mut group_by = Vec::with_capacity(names.len());
            for name in names {
                match name {
                    Value::String(name) if valid_label_name(name) || name == "__name__" => {
                        if !group_by.contains(name) {
                            group_by.push(name.clone());
                        }
                    }
                    other => {
                        return Err(fields.wrong(
                            "group_by",
                            "a list of label names (letters, digits and `_`, e.g. \"alertname\")",
                            other,
                        ));
                    }
                }
            }
            group_by
        }
        Some(other) => return Err(fields.wrong("group_by", "a list of label names", other)),
    };
    let repeat_interval_ms = fields
        .duration("repeat_interval")?
        .unwrap_or(defaults.repeat_interval_ms);
    let evaluation_interval_ms = fields
        .duration("evaluation_interval")?
        .unwrap_or(defaults.evaluation_interval_ms);
    for (field, value) in [
        ("repeat_interval", repeat_interval_ms),
        ("evaluation_interval", evaluation_interval_ms),
    ] {
        if value <= 0 {
            return Err(fields.fail(field, "must be longer than 0s"));
        }
    }
    Ok(NotifyConfig {
        webhook,
        group_by,
        repeat_interval_ms,
        evaluation_interval_ms,
    })
}

fn parse_rule(index: usize, value: &Value) -> Result<Rule, RuleError> {
    let Value::Table(table) = value else {
        return Err(Fields {
            table: &Table::new(),
            place: Place::Rule { index, name: None },
        }
        .wrong("rule", "a table `[[rule]]`", value));
    };
    let name = match table.get("name") {
        Some(Value::String(name)) if valid_label_name(name) => Some(name.clone()),
        _ => None,
    };
    let fields = Fields {
        table,
        place: Place::Rule {
            index,
            name: name.clone(),
        },
    };
    let name = match name {
        Some(name) => name,
        None => {
            let written = fields.string("name")?;
            fields.required("name", written, "\"HighCpu\"")?;
            return Err(fields.fail(
                "name",
                "must be letters, digits and `_`, not starting with a digit (e.g. \"HighCpu\")",
            ));
        }
    };
    fields.only(RULE_FIELDS)?;
    let selector_text = fields.string("selector")?;
    let selector_text = fields.required("selector", selector_text, r#"'cpu{host=~"web-.*"}'"#)?;
    let selector = Selector::parse(selector_text)
        .map_err(|error| fields.fail("selector", format!("is not a valid selector: {error}")))?;
    let op_text = fields.string("op")?;
    let op_text = fields.required("op", op_text, "\">\"")?;
    let op = Op::parse(op_text).ok_or_else(|| {
        fields.fail(
            "op",
            format!("must be one of \">\", \">=\", \"<\", \"<=\", found {op_text:?}"),
        )
    })?;
    let threshold = fields.number("threshold")?;
    let threshold = fields.required("threshold", threshold, "0.9")?;
    let for_ms = fields.duration("for")?.unwrap_or(0);
    let keep_firing_for_ms = fields.duration("keep_firing_for")?.unwrap_or(0);
    let clear = fields.number("clear")?;
    if let Some(clear) = clear {
        let (wrong_side, side) = match op {
            Op::Gt | Op::Ge => (clear > threshold, "at or below"),
            Op::Lt | Op::Le => (clear < threshold, "at or above"),
        };
        if wrong_side {
            return Err(fields.fail(
                "clear",
                format!(
                    "is {clear}, on the firing side of `threshold` ({op} {threshold}); \
                     the level at which a firing alert clears must be {side} the threshold"
                ),
            ));
        }
    }
    let labels = match table.get("labels") {
        None => BTreeMap::new(),
        Some(Value::Table(labels)) => {
            let mut parsed = BTreeMap::new();
            for (key, value) in labels {
                if !valid_label_name(key) || key == ALERTNAME {
                    return Err(fields.fail(
                        "labels",
                        format!(
                            "has the label name {key:?}: a label name is letters, digits and `_`, \
                             not starting with a digit, and not `alertname` (that is the rule's name)"
                        ),
                    ));
                }
                let Value::String(value) = value else {
                    return Err(fields.wrong(&format!("labels.{key}"), "a string", value));
                };
                parsed.insert(key.clone(), value.clone());
            }
            parsed
        }
        Some(other) => {
            return Err(fields.wrong(
                "labels",
                "a table of strings (e.g. `{ severity = \"page\" }`)",
                other,
            ));
        }
    };
    let summary = fields.string("summary")?.map(str::to_owned);
    Ok(Rule {
        name,
        selector,
        op,
        threshold,
        for_ms,
        keep_firing_for_ms,
        clear,
        labels,
        summary,
    })
}

fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[notify]
webhook = "http://127.0.0.1:9000/hook"
group_by = ["alertname", "host"]
repeat_interval = "1h"

[[rule]]
name = "HighCpu"
selector = 'cpu{host=~"web-.*"}'
op = ">"
threshold = 0.9
for = "5m"
keep_firing_for = "1m"
clear = 0.8
labels = { severity = "page" }
summary = "CPU above 90 %"

[[rule]]
name = "LowDisk"
selector = "disk_free"
op = "<"
threshold = 10
"#;

    fn error(text: &str) -> String {
        match RuleSet::parse(text) {
            Ok(rules) => panic!("{text:?} was accepted as {rules:?}; it must be refused"),
            Err(error) => error.to_string(),
        }
    }

    fn rule(body: &str) -> String {
        format!(
            "[[rule]]\nname = \"Ok\"\nselector = \"x\"\nop = \">\"\nthreshold = 1\n\n[[rule]]\n{body}"
        )
    }

    #[test]
    fn a_good_file_parses_with_its_defaults() -> Result<(), RuleError> {
        let rules = RuleSet::parse(GOOD)?;
        assert_eq!(rules.notify.group_by, ["alertname", "host"]);
        assert_eq!(rules.notify.repeat_interval_ms, 3_600_000);
        assert_eq!(rules.notify.evaluation_interval_ms, 1_000);
        assert_eq!(
            rules.notify.webhook.as_ref().map(ToString::to_string),
            Some("http://127.0.0.1:9000/hook".to_owned())
        );
        let cpu = &rules.rules[0];
        assert_eq!((cpu.for_ms, cpu.keep_firing_for_ms), (300_000, 60_000));
        assert_eq!(cpu.clear, Some(0.8));
        assert_eq!(cpu.labels.get("severity").map(String::as_str), Some("page"));
        let disk = &rules.rules[1];
        assert_eq!((disk.op, disk.threshold, disk.for_ms), (Op::Lt, 10.0, 0));
        assert_eq!(RuleSet::parse("")?, RuleSet::default());
        Ok(())
    }

    #[test]
    fn syntax_errors_keep_line_and_column() {
        let message = error("[[rule]]\nname = \"A\"\nthreshold = = 1\n");
        assert!(message.contains("not valid TOML"), "{message}");
        assert!(
            message.contains("line 3"),
            "toml's location is kept: {message}"
        );
    }

    #[test]
    fn every_error_names_the_rule_and_the_field() {
        let cases = [
            (
                rule("name = \"Ok\"\nselector = \"x\"\nop = \">\"\nthreshold = 1"),
                "rule #2 (\"Ok\")",
                "`name`",
                "unique",
            ),
            (
                rule("name = \"9lives\""),
                "rule #2 (no valid name)",
                "`name`",
                "letters",
            ),
            (
                rule("selector = \"x\""),
                "rule #2 (no valid name)",
                "`name`",
                "missing",
            ),
            (
                rule("name = \"B\"\nselector = \"cpu{\"\nop = \">\"\nthreshold = 1"),
                "rule #2 (\"B\")",
                "`selector`",
                "not a valid selector",
            ),
            (
                rule("name = \"B\"\nselector = \"x\"\nop = \"=>\"\nthreshold = 1"),
                "rule #2 (\"B\")",
                "`op`",
                "one of",
            ),
            (
                rule("name = \"B\"\nselector = \"x\"\nop = \">\"\nthreshold = \"high\""),
                "rule #2 (\"B\")",
                "`threshold`",
                "a number",
            ),
            (
                rule("name = \"B\"\nselector = \"x\"\nop = \">\""),
                "rule #2 (\"B\")",
                "`threshold`",
                "missing",
            ),
            (
                rule(
                    "name = \"B\"\nselector = \"x\"\nop = \">\"\nthreshold = 1\nfor = \"5 minutes\"",
                ),
                "rule #2 (\"B\")",
                "`for`",
                "not a duration",
            ),
            (
                rule(
                    "name = \"B\"\nselector = \"x\"\nop = \">\"\nthreshold = 1\nkeep_firing = \"1m\"",
                ),
                "rule #2 (\"B\")",
                "`keep_firing`",
                "not a known field",
            ),
            (
                rule("name = \"B\"\nselector = \"x\"\nop = \">\"\nthreshold = 0.9\nclear = 0.95"),
                "rule #2 (\"B\")",
                "`clear`",
                "at or below",
            ),
            (
                rule("name = \"B\"\nselector = \"x\"\nop = \"<\"\nthreshold = 10\nclear = 5"),
                "rule #2 (\"B\")",
                "`clear`",
                "at or above",
            ),
            (
                rule(
                    "name = \"B\"\nselector = \"x\"\nop = \">\"\nthreshold = 1\nlabels = { alertname = \"x\" }",
                ),
                "rule #2 (\"B\")",
                "`labels`",
                "alertname",
            ),
            (
                "[notify]\nwebhook = \"https://example.com/\"".to_owned(),
                "[notify]",
                "`webhook`",
                "http://",
            ),
            (
                "[notify]\nrepeat_interval = \"0s\"".to_owned(),
                "[notify]",
                "`repeat_interval`",
                "longer than 0s",
            ),
            (
                "[notify]\ngroupby = []".to_owned(),
                "[notify]",
                "`groupby`",
                "not a known field",
            ),
            (
                "rules = []".to_owned(),
                "the rules file",
                "`rules`",
                "not a known field",
            ),
        ];
        for (text, place, field, problem) in cases {
            let message = error(&text);
            for part in [place, field, problem] {
                assert!(
                    message.contains(part),
                    "{text:?} gave {message:?}, which should say {part:?}"
                );
            }
        }
    }

    #[test]
    fn a_rules_file_reloads_only_when_it_changes() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("rules.toml");
        std::fs::write(&path, GOOD)?;
        let mut file = RulesFile::new(&path);
        assert!(file.reload()?.is_some(), "the first read gives the rules");
        assert!(file.reload()?.is_none(), "an unchanged file gives nothing");
        std::fs::write(&path, "[[rule]]\nname = \"x\"")?;
        assert!(file.reload().is_err(), "a bad file is refused");
        assert!(
            file.reload()?.is_none(),
            "and reported once, not on every poll"
        );
        Ok(())
    }
}
