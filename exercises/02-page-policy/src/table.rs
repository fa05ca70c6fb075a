//! The policy table: one [`PageConfig`] per route pattern, and the lookup
//! that picks the page for a route.

use std::fmt;

use crate::pattern::{Params, RoutePattern};
use crate::policy::Auth;

/// The course's table, shipped with the crate: `/chat`, `/admin`, `/login`.
/// [`PolicyTable::course_default`] parses it.
pub const COURSE_TABLE: &str = include_str!("default_policy.toml");

// ANCHOR: connection_type
/// Which connection a page uses. Pages of the same type share one socket:
/// moving between them keeps it.
///
/// A name, not an enum: the table (a file the application's authors edit)
/// defines the types, and the driver maps each to a URL.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnectionType(String);

impl ConnectionType {
    /// The type of pages that never connect, as in the course.
    pub const NONE: &'static str = "none";

    /// A connection type with this name.
    pub fn new(name: impl Into<String>) -> ConnectionType {
        ConnectionType(name.into())
    }

    /// The type `none`.
    pub fn none() -> ConnectionType {
        ConnectionType::new(ConnectionType::NONE)
    }

    /// Whether this is `none`.
    pub fn is_none(&self) -> bool {
        self.0 == ConnectionType::NONE
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ConnectionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
// ANCHOR_END: connection_type

// ANCHOR: page_config
/// One row of the table, the course's
/// `{ enabled, requireAuth, autoConnect, connectionType, features[] }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageConfig {
    /// The page may have a connection at all.
    pub enabled: bool,
    /// Only a signed-in user gets a connection on this page.
    pub require_auth: bool,
    /// Connect on arrival. (A page with `false` would connect on a user's
    /// request, which this unit leaves to "Going further".)
    pub auto_connect: bool,
    /// Which connection; pages of one type share it.
    pub connection_type: ConnectionType,
    /// What the page uses the connection for (`messaging`, …), for the
    /// application; the policy does not look at them.
    pub features: Vec<String>,
}

impl PageConfig {
    /// The disabled default of type `none`: what an unknown page gets, and
    /// what every key of a `[[page]]` falls back to.
    pub fn disabled() -> PageConfig {
        PageConfig {
            enabled: false,
            require_auth: false,
            auto_connect: false,
            connection_type: ConnectionType::none(),
            features: Vec::new(),
        }
    }

    /// The course's rule: connect only if the page is enabled, the user is
    /// signed in when the page requires it, and auto-connect is on. A page
    /// of type `none` never connects: there is nothing to connect to.
    pub fn should_connect(&self, auth: &Auth) -> bool {
        // ANCHOR_END: page_config
        todo!("Task 3: the course's rule (chapter 02, section \"Task 3: The policy\")")
    }
}

// ANCHOR: table
/// A row of the table with its pattern and where it was written.
#[derive(Debug, Clone)]
pub struct Page {
    /// The route pattern.
    pub pattern: RoutePattern,
    /// What the page wants.
    pub config: PageConfig,
    /// The line of its `route = …` in the TOML text (1 for pages not loaded
    /// from text), for error messages.
    pub line: usize,
}

/// The whole table. Build it with [`PolicyTable::from_toml`] or
/// [`PolicyTable::course_default`].
#[derive(Debug, Clone)]
pub struct PolicyTable {
    /// The rows, in the order written. Order does not decide a lookup;
    /// specificity does.
    pages: Vec<Page>,
    /// What a route that matches no pattern gets.
    fallback: PageConfig,
}

/// What a lookup found for a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch<'a> {
    /// The winning pattern; `None` when no pattern matched.
    pub pattern: Option<&'a RoutePattern>,
    /// The parameters the pattern took from the route.
    pub params: Params,
    /// The page's configuration (the disabled default when nothing matched).
    pub config: &'a PageConfig,
}
// ANCHOR_END: table

impl PolicyTable {
    /// A table of these pages. The caller guarantees no two patterns match
    /// the same routes ([`PolicyTable::from_toml`] checks it).
    pub fn from_pages(pages: Vec<Page>) -> PolicyTable {
        PolicyTable {
            pages,
            fallback: PageConfig::disabled(),
        }
    }

    /// The course's table ([`COURSE_TABLE`]).
    pub fn course_default() -> PolicyTable {
        // The file is part of the crate and a test loads it; failing here
        // is a bug in the crate, not bad input.
        PolicyTable::from_toml(COURSE_TABLE).expect("the shipped default_policy.toml is valid")
    }

    /// The rows, in the order written.
    pub fn pages(&self) -> &[Page] {
        &self.pages
    }

    // ANCHOR: lookup
    /// The page for `route`: among the patterns that match it, the most
    /// specific; the disabled default if none does.
    pub fn lookup(&self, route: &str) -> RouteMatch<'_> {
        // ANCHOR_END: lookup
        todo!(
            "Task 2: find the most specific page (chapter 02, section \"Task 2: Most specific wins\")"
        )
    }
}
