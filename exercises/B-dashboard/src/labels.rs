//! Series names, labels and selectors.
//!
//! A series is a metric name and a set of labels, e.g.
//! `cpu_usage{host="web-1",core="0"}`. A dashboard panel, an alert rule and
//! a subscription all pick series with a *selector* in the syntax of
//! Prometheus: a name and label matchers between braces.
//!
//! | matcher | matches a series whose label… |
//! |---|---|
//! | `host="a"` | equals `a` (a missing label is the empty string) |
//! | `host!="a"` | does not equal `a` |
//! | `host=~"web-.*"` | matches the regular expression, anchored at both ends |
//! | `host!~"web-.*"` | does not match it |
//!
//! The name is the label `__name__`: `cpu{host="a"}` is the same selector as
//! `{__name__="cpu",host="a"}`. An empty selector (`{}`) matches everything.

use std::collections::BTreeMap;
use std::fmt;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// The label that holds a series' metric name.
pub const NAME: &str = "__name__";

/// A series' identity: its name and labels, sorted (so that two equal sets
/// are one series whatever order they were written in).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SeriesKey {
    /// The metric name, e.g. `cpu_usage`.
    pub name: String,
    /// The labels, without the name.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

impl SeriesKey {
    /// A series with `name` and `labels`.
    pub fn new<K: Into<String>, V: Into<String>>(
        name: impl Into<String>,
        labels: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            name: name.into(),
            labels: labels
                .into_iter()
                .map(|(key, value)| (key.into(), value.into()))
                .collect(),
        }
    }

    /// The value of a label (`__name__` is the name); a missing label is
    /// `""`, as in Prometheus.
    pub fn get(&self, label: &str) -> &str {
        if label == NAME {
            &self.name
        } else {
            self.labels.get(label).map_or("", String::as_str)
        }
    }

    /// Checks the name and labels: a name and label names are
    /// `[a-zA-Z_][a-zA-Z0-9_]*` (and `:` in a name), as in Prometheus.
    pub fn validate(&self) -> Result<(), SelectorError> {
        if !valid_name(&self.name, true) {
            return Err(SelectorError::new(
                &self.name,
                0,
                "a metric name is letters, digits, `_` and `:`, not starting with a digit",
            ));
        }
        for key in self.labels.keys() {
            if !valid_name(key, false) || key == NAME {
                return Err(SelectorError::new(
                    key,
                    0,
                    "a label name is letters, digits and `_`, not starting with a digit (and not `__name__`)",
                ));
            }
        }
        Ok(())
    }
}

impl fmt::Display for SeriesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if self.labels.is_empty() {
            return Ok(());
        }
        f.write_str("{")?;
        for (i, (key, value)) in self.labels.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{key}={value:?}")?;
        }
        f.write_str("}")
    }
}

fn valid_name(name: &str, metric: bool) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || (metric && c == ':'));
    first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (metric && c == ':'))
}

/// How a matcher compares a label's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MatchOp {
    /// `=`
    #[serde(rename = "=")]
    Equal,
    /// `!=`
    #[serde(rename = "!=")]
    NotEqual,
    /// `=~`
    #[serde(rename = "=~")]
    Regex,
    /// `!~`
    #[serde(rename = "!~")]
    NotRegex,
}

impl MatchOp {
    fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

/// One label matcher, e.g. `host=~"web-.*"`.
#[derive(Debug, Clone)]
pub struct Matcher {
    /// The label it looks at (`__name__` for the name).
    pub label: String,
    /// How it compares.
    pub op: MatchOp,
    /// The value or the regular expression, as written.
    pub value: String,
    /// The expression, anchored (`^(?:value)$`), for `=~` and `!~`.
    regex: Option<Regex>,
}

impl Matcher {
    /// A matcher; fails if `op` is a regex match and `value` no regex.
    pub fn new(
        label: impl Into<String>,
        op: MatchOp,
        value: impl Into<String>,
    ) -> Result<Self, SelectorError> {
        let value = value.into();
        let regex = match op {
            MatchOp::Regex | MatchOp::NotRegex => Some(
                Regex::new(&format!("^(?:{value})$"))
                    .map_err(|error| SelectorError::new(&value, 0, &error.to_string()))?,
            ),
            MatchOp::Equal | MatchOp::NotEqual => None,
        };
        Ok(Self {
            label: label.into(),
            op,
            value,
            regex,
        })
    }

    /// Does the series' label satisfy this matcher?
    pub fn matches(&self, series: &SeriesKey) -> bool {
        todo!(
            "Stage 3: compare the series' label with =, !=, =~ or !~ (chapter B, section \"Stage 3: Subscribe in order\")"
        )
    }
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.label == other.label && self.op == other.op && self.value == other.value
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{:?}", self.label, self.op.as_str(), self.value)
    }
}

/// A selector: every matcher must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selector {
    /// The matchers, the name's first when it was written before the braces.
    pub matchers: Vec<Matcher>,
}

impl Selector {
    /// Does the series satisfy every matcher?
    pub fn matches(&self, series: &SeriesKey) -> bool {
        self.matchers.iter().all(|matcher| matcher.matches(series))
    }

    /// Parses `name{label="value",…}`, `name` or `{…}`.
    pub fn parse(text: &str) -> Result<Self, SelectorError> {
        Parser { text, at: 0 }.selector()
    }
}

impl std::str::FromStr for Selector {
    type Err = SelectorError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Selector::parse(text)
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, matcher) in self.matchers.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{matcher}")?;
        }
        f.write_str("}")
    }
}

impl Serialize for Selector {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Selector {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Selector::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A selector that does not parse: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad selector {text:?} at byte {at}: {reason}")]
pub struct SelectorError {
    /// The text.
    pub text: String,
    /// The byte offset where it went wrong.
    pub at: usize,
    /// What was expected.
    pub reason: String,
}

impl SelectorError {
    fn new(text: &str, at: usize, reason: &str) -> Self {
        Self {
            text: text.to_owned(),
            at,
            reason: reason.to_owned(),
        }
    }
}

/// A small recursive-descent parser over the selector's text.
struct Parser<'a> {
    text: &'a str,
    at: usize,
}

impl Parser<'_> {
    fn fail(&self, reason: &str) -> SelectorError {
        SelectorError::new(self.text, self.at, reason)
    }

    fn rest(&self) -> &str {
        &self.text[self.at..]
    }

    fn skip_space(&mut self) {
        let rest = self.rest();
        self.at += rest.len() - rest.trim_start().len();
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_space();
        if self.rest().starts_with(token) {
            self.at += token.len();
            true
        } else {
            false
        }
    }

    fn name(&mut self, metric: bool) -> Option<&str> {
        self.skip_space();
        let rest = self.rest();
        let len = rest
            .char_indices()
            .find(|&(i, c)| {
                !(c.is_ascii_alphabetic()
                    || c == '_'
                    || (metric && c == ':')
                    || (i > 0 && c.is_ascii_digit()))
            })
            .map_or(rest.len(), |(i, _)| i);
        let start = self.at;
        self.at += len;
        (len > 0).then(|| &self.text[start..start + len])
    }

    fn string(&mut self) -> Result<String, SelectorError> {
        if !self.eat("\"") {
            return Err(self.fail("expected a value in double quotes"));
        }
        let mut value = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.at += i + 1;
                    return Ok(value);
                }
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, escaped)) => value.push(escaped),
                    None => break,
                },
                c => value.push(c),
            }
        }
        self.at = self.text.len();
        Err(self.fail("the value's closing quote is missing"))
    }

    fn selector(mut self) -> Result<Selector, SelectorError> {
        let mut matchers = Vec::new();
        if let Some(name) = self.name(true) {
            matchers.push(Matcher::new(NAME, MatchOp::Equal, name)?);
        }
        if self.eat("{") {
            if !self.eat("}") {
                loop {
                    let Some(label) = self.name(false).map(str::to_owned) else {
                        return Err(self.fail("expected a label name"));
                    };
                    let op = if self.eat("=~") {
                        MatchOp::Regex
                    } else if self.eat("!~") {
                        MatchOp::NotRegex
                    } else if self.eat("!=") {
                        MatchOp::NotEqual
                    } else if self.eat("=") {
                        MatchOp::Equal
                    } else {
                        return Err(self.fail("expected one of = != =~ !~"));
                    };
                    let at = self.at;
                    let value = self.string()?;
                    matchers.push(Matcher::new(label, op, value).map_err(|mut error| {
                        error.text = self.text.to_owned();
                        error.at = at;
                        error
                    })?);
                    if self.eat("}") {
                        break;
                    }
                    if !self.eat(",") {
                        return Err(self.fail("expected `,` or `}`"));
                    }
                }
            }
        } else if matchers.is_empty() {
            return Err(self.fail("expected a metric name or `{`"));
        }
        self.skip_space();
        if !self.rest().is_empty() {
            return Err(self.fail("unexpected text after the selector"));
        }
        Ok(Selector { matchers })
    }
}
