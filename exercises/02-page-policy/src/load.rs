//! Loading the table from TOML, with errors that point at a line.
//!
//! The table is a file the application's authors edit by hand, so its
//! mistakes must be easy to find: every [`TableError`] names the line, and
//! the likeliest mistake, the course's camelCase `requireAuth` instead of
//! `require_auth`, gets a suggestion.
//!
//! Why not `#[derive(Deserialize)]` with `deny_unknown_fields` on a page
//! struct? It would catch unknown keys, but only as a message string; here a
//! page is read as a map whose keys carry their position in the text
//! ([`toml::Spanned`]), so each mistake becomes a variant a program (and a
//! test) can match on.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use crate::pattern::PatternError;
use crate::table::{ConnectionType, PageConfig, PolicyTable};

// ANCHOR: table_error
/// Why a table did not load. Lines count from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    /// The text is not TOML, or its shape is wrong (`page` is not an array
    /// of tables, an unknown top-level key); the message is the TOML
    /// parser's.
    #[error("line {line}: {message}")]
    Toml {
        /// Where the parser stopped.
        line: usize,
        /// What it says.
        message: String,
    },
    /// A key a `[[page]]` does not have.
    #[error("line {line}: unknown key `{key}` in a [[page]]{}", did_you_mean(.suggestion))]
    UnknownKey {
        /// The key's line.
        line: usize,
        /// The key as written.
        key: String,
        /// The known key it probably means (`requireAuth` → `require_auth`).
        suggestion: Option<&'static str>,
    },
    /// A known key with a value of the wrong type.
    #[error("line {line}: `{key}` must be {expected}")]
    WrongType {
        /// The key's line.
        line: usize,
        /// The key.
        key: &'static str,
        /// What it must be: "true or false", "a string", "a list of strings".
        expected: &'static str,
    },
    /// A `[[page]]` without `route`.
    #[error("line {line}: this [[page]] has no `route`")]
    MissingRoute {
        /// The page's first line.
        line: usize,
    },
    /// A route that is not a valid pattern.
    #[error("line {line}: bad route pattern {route:?}: {reason}")]
    BadPattern {
        /// The route's line.
        line: usize,
        /// The route as written.
        route: String,
        /// The rule it breaks.
        reason: PatternError,
    },
    /// Two pages whose patterns match the same routes (`/chat/:room` and
    /// `/chat/:id` are duplicates too): a lookup could not choose.
    #[error(
        "line {line}: route {route:?} matches the same routes as {first_route:?} on line {first_line}"
    )]
    DuplicateRoute {
        /// The second page's route line.
        line: usize,
        /// The second route as written.
        route: String,
        /// The first page's route line.
        first_line: usize,
        /// The first route as written.
        first_route: String,
    },
}
// ANCHOR_END: table_error

/// The keys a `[[page]]` may have.
pub const PAGE_KEYS: [&str; 6] = [
    "route",
    "enabled",
    "require_auth",
    "auto_connect",
    "connection_type",
    "features",
];

/// The file: `[[page]]` tables and nothing else.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFile {
    /// The pages, each with its position.
    #[serde(default)]
    pub(crate) page: Vec<Spanned<RawPage>>,
}

/// One `[[page]]` as written: keys with their positions.
pub(crate) type RawPage = BTreeMap<Spanned<String>, toml::Value>;

/// The 1-based line of a byte offset in `text`.
pub fn line_at(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

impl PolicyTable {
    // ANCHOR: from_toml
    /// Loads a table from TOML text (see `src/default_policy.toml`).
    pub fn from_toml(text: &str) -> Result<PolicyTable, TableError> {
        // ANCHOR_END: from_toml
        todo!(
            "Task 4: load the table from TOML (chapter 02, section \"Task 4: Loading the table\")"
        )
    }
}

// ANCHOR: read_page
/// Reads one `[[page]]`: its route (with its position) and its
/// configuration. Keys it does not have are errors; keys it lacks take the
/// value of [`PageConfig::disabled`]. Keys are checked in the order written,
/// so the first mistake in the file is the one reported.
pub(crate) fn read_page(
    text: &str,
    raw: &Spanned<RawPage>,
) -> Result<(Spanned<String>, PageConfig), TableError> {
    // ANCHOR_END: read_page
    let mut config = PageConfig::disabled();
    let mut route = None;
    let mut keys: Vec<_> = raw.get_ref().iter().collect();
    keys.sort_by_key(|(key, _)| key.span().start);
    for (key, value) in keys {
        let line = line_at(text, key.span().start);
        match key.get_ref().as_str() {
            "route" => {
                let text = as_string(value, line, "route")?;
                route = Some(Spanned::new(key.span(), text));
            }
            "enabled" => config.enabled = as_bool(value, line, "enabled")?,
            "require_auth" => config.require_auth = as_bool(value, line, "require_auth")?,
            "auto_connect" => config.auto_connect = as_bool(value, line, "auto_connect")?,
            "connection_type" => {
                config.connection_type =
                    ConnectionType::new(as_string(value, line, "connection_type")?);
            }
            "features" => config.features = as_strings(value, line, "features")?,
            unknown => {
                return Err(TableError::UnknownKey {
                    line,
                    key: unknown.to_owned(),
                    suggestion: suggest(unknown),
                });
            }
        }
    }
    let route = route.ok_or(TableError::MissingRoute {
        line: line_at(text, raw.span().start),
    })?;
    Ok((route, config))
}

/// The known key that `key` probably means: the same letters, ignoring case
/// and `_` (`requireAuth`, `RequireAuth`, `requireauth` → `require_auth`).
pub fn suggest(key: &str) -> Option<&'static str> {
    let squash = |key: &str| key.replace('_', "").to_ascii_lowercase();
    let wanted = squash(key);
    PAGE_KEYS.into_iter().find(|known| squash(known) == wanted)
}

/// The " (did you mean `…`?)" part of an [`TableError::UnknownKey`] message.
fn did_you_mean(suggestion: &Option<&'static str>) -> String {
    suggestion
        .map(|known| format!(" (did you mean `{known}`?)"))
        .unwrap_or_default()
}

fn as_bool(value: &toml::Value, line: usize, key: &'static str) -> Result<bool, TableError> {
    value.as_bool().ok_or(TableError::WrongType {
        line,
        key,
        expected: "true or false",
    })
}

fn as_string(value: &toml::Value, line: usize, key: &'static str) -> Result<String, TableError> {
    value
        .as_str()
        .map(str::to_owned)
        .ok_or(TableError::WrongType {
            line,
            key,
            expected: "a string",
        })
}

fn as_strings(
    value: &toml::Value,
    line: usize,
    key: &'static str,
) -> Result<Vec<String>, TableError> {
    let wrong = TableError::WrongType {
        line,
        key,
        expected: "a list of strings",
    };
    let items = value.as_array().ok_or_else(|| wrong.clone())?;
    items
        .iter()
        .map(|item| {
            item.as_str()
                .map(str::to_owned)
                .ok_or_else(|| wrong.clone())
        })
        .collect()
}
