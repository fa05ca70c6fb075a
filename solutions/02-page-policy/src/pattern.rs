//! Route patterns: `/chat`, `/chat/:room`, `/admin/*`.
//!
//! The course's table was keyed by exact paths, so `/chat/rust` got the
//! disabled default although it is obviously a chat page. Patterns fix that,
//! and bring a new question: when `/chat/:room` and `/chat/lobby` both match,
//! which page is it? The answer, "the most specific pattern wins", is
//! [`RoutePattern::specificity`].

use std::collections::BTreeMap;

/// The values a pattern took from a route: `:room` in `/chat/:room` matched
/// against `/chat/rust` gives `{"room": "rust"}`. A wildcard's part of the
/// route (possibly empty) is under the key `"*"`.
pub type Params = BTreeMap<String, String>;

/// The key under which [`Params`] holds what a wildcard matched.
pub const WILDCARD_KEY: &str = "*";

// ANCHOR: segment
/// One segment of a pattern, between two `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Matches exactly this text: `chat` in `/chat`.
    Literal(String),
    /// Matches any one segment and records it under the name: `:room`.
    Param(String),
    /// `*`, only as the last segment: matches the rest of the route, zero or
    /// more segments.
    Wildcard,
}

/// A parsed route pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePattern {
    /// The pattern as written, for messages.
    text: String,
    /// Its segments; empty for `/`.
    segments: Vec<Segment>,
}

/// Why a pattern is not valid. Each variant names the rule it breaks, so the
/// table's error can say what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// Patterns are absolute paths.
    #[error("a route pattern starts with `/`")]
    NotAbsolute,
    /// `//`, or a `/` at the end of anything but `/`.
    #[error("a route pattern has no empty segments (`//` or a trailing `/`)")]
    EmptySegment,
    /// `:` alone, or a name with characters other than letters, digits, `_`.
    #[error("parameter {0:?} needs a name of letters, digits or `_` after the `:`")]
    BadParameterName(String),
    /// The same parameter twice, as in `/:id/:id`.
    #[error("parameter `:{0}` appears twice")]
    DuplicateParameter(String),
    /// `*` anywhere but as the whole last segment.
    #[error("`*` must be the whole last segment")]
    MisplacedWildcard,
}
// ANCHOR_END: segment

/// How specific a pattern is; greater is more specific. Compare two
/// patterns' values only when both match the same route.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Specificity(Vec<u8>);

// region: solution
/// Ranks of [`Specificity`], position by position: a literal says more about
/// a route than a parameter, and a parameter more than a wildcard. `END`
/// marks where a pattern without wildcard ends; it beats a wildcard at the
/// same position, so `/chat` is more specific than `/chat/*` for `/chat`.
const LITERAL: u8 = 3;
const PARAM: u8 = 2;
const END: u8 = 1;
const WILDCARD: u8 = 0;
// endregion

/// The segments of a route, without its query and fragment: `/chat/rust/?x=1`
/// gives `["chat", "rust"]`. Empty segments are skipped, so `/chat/` and
/// `/chat` are the same page.
pub fn route_segments(route: &str) -> Vec<&str> {
    let path = route.split(['?', '#']).next().unwrap_or_default();
    path.split('/').filter(|part| !part.is_empty()).collect()
}

impl RoutePattern {
    // ANCHOR: parse
    /// Parses a pattern such as `/chat/:room` or `/admin/*`.
    pub fn parse(text: &str) -> Result<RoutePattern, PatternError> {
        // ANCHOR_END: parse
        // region: solution
        let rest = text.strip_prefix('/').ok_or(PatternError::NotAbsolute)?;
        let mut segments = Vec::new();
        if !rest.is_empty() {
            let parts: Vec<&str> = rest.split('/').collect();
            for (index, part) in parts.iter().enumerate() {
                let last = index + 1 == parts.len();
                segments.push(parse_segment(part, last)?);
            }
        }
        let mut names = std::collections::BTreeSet::new();
        for segment in &segments {
            if let Segment::Param(name) = segment
                && !names.insert(name.as_str())
            {
                return Err(PatternError::DuplicateParameter(name.clone()));
            }
        }
        Ok(RoutePattern {
            text: text.to_owned(),
            segments,
        })
        // region: stub
        // todo!("Task 1: parse a route pattern (chapter 02, section \"Task 1: Route patterns\")")
        // endregion
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Its segments.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    // ANCHOR: matches
    /// The parameters, if `route` (a path like `/chat/rust`, maybe with a
    /// query) matches this pattern; `None` if it does not.
    pub fn matches(&self, route: &str) -> Option<Params> {
        // ANCHOR_END: matches
        // region: solution
        let parts = route_segments(route);
        let mut params = Params::new();
        for (index, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Wildcard => {
                    // The segments before matched, so `index <= parts.len()`.
                    let rest = parts.get(index..).unwrap_or_default();
                    params.insert(WILDCARD_KEY.to_owned(), rest.join("/"));
                    return Some(params);
                }
                Segment::Literal(literal) => {
                    if parts.get(index) != Some(&literal.as_str()) {
                        return None;
                    }
                }
                Segment::Param(name) => {
                    params.insert(name.clone(), (*parts.get(index)?).to_owned());
                }
            }
        }
        (parts.len() == self.segments.len()).then_some(params)
        // region: stub
        // todo!("Task 1: match a route against a pattern (chapter 02, section \"Task 1: Route patterns\")")
        // endregion
    }

    // ANCHOR: specificity
    /// How specific the pattern is, to choose among patterns that match the
    /// same route: position by position from the left, a literal beats a
    /// parameter, a parameter beats a wildcard, and ending there beats a
    /// wildcard.
    pub fn specificity(&self) -> Specificity {
        // ANCHOR_END: specificity
        // region: solution
        let mut ranks: Vec<u8> = self
            .segments
            .iter()
            .map(|segment| match segment {
                Segment::Literal(_) => LITERAL,
                Segment::Param(_) => PARAM,
                Segment::Wildcard => WILDCARD,
            })
            .collect();
        if self.segments.last() != Some(&Segment::Wildcard) {
            ranks.push(END);
        }
        Specificity(ranks)
        // region: stub
        // todo!("Task 2: rank a pattern (chapter 02, section \"Task 2: Most specific wins\")")
        // endregion
    }

    /// Whether both patterns match exactly the same routes: the same
    /// segments, whatever the parameters are called (`/chat/:room` and
    /// `/chat/:id`). Two such pages in one table would make a lookup
    /// ambiguous, so loading refuses them.
    pub fn same_routes_as(&self, other: &RoutePattern) -> bool {
        self.segments.len() == other.segments.len()
            && self
                .segments
                .iter()
                .zip(&other.segments)
                .all(|pair| match pair {
                    (Segment::Literal(a), Segment::Literal(b)) => a == b,
                    (Segment::Param(_), Segment::Param(_)) => true,
                    (Segment::Wildcard, Segment::Wildcard) => true,
                    _ => false,
                })
    }
}

// region: solution
/// Parses one segment; `last` says whether a wildcard is allowed here.
fn parse_segment(part: &str, last: bool) -> Result<Segment, PatternError> {
    if part.is_empty() {
        return Err(PatternError::EmptySegment);
    }
    if part == "*" {
        return if last {
            Ok(Segment::Wildcard)
        } else {
            Err(PatternError::MisplacedWildcard)
        };
    }
    if part.contains('*') {
        return Err(PatternError::MisplacedWildcard);
    }
    if let Some(name) = part.strip_prefix(':') {
        let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        return if valid {
            Ok(Segment::Param(name.to_owned()))
        } else {
            Err(PatternError::BadParameterName(part.to_owned()))
        };
    }
    Ok(Segment::Literal(part.to_owned()))
}
// endregion
