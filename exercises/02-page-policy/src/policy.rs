//! The policy: given the page the user is on and whether they are signed in,
//! what should happen to the connection?
//!
//! [`Policy::on_change`] is pure: no socket, no clock, no task. It only
//! remembers which connection type it asked for last. That makes every rule
//! of the course a one-line test, and leaves the I/O to the
//! [`Driver`](crate::Driver).

use std::fmt;

use crate::table::{ConnectionType, PolicyTable};

// ANCHOR: auth
/// Whether the user is signed in, and with which token.
///
/// The course's sketch had `const isAuthenticated = true`: the auth check
/// existed, but nothing could ever fail it. Here it is an input of every
/// decision, and the token it carries is what the driver sends on connect.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// No user.
    SignedOut,
    /// A user, with the token their connections carry.
    SignedIn {
        /// The bearer token.
        token: String,
    },
}

impl Auth {
    /// A signed-in user with `token`.
    pub fn signed_in(token: impl Into<String>) -> Auth {
        Auth::SignedIn {
            token: token.into(),
        }
    }

    /// Whether a user is signed in.
    pub fn is_signed_in(&self) -> bool {
        matches!(self, Auth::SignedIn { .. })
    }

    /// The token, if signed in.
    pub fn token(&self) -> Option<&str> {
        match self {
            Auth::SignedOut => None,
            Auth::SignedIn { token } => Some(token),
        }
    }
}

/// Never prints the token: `Debug` output ends up in logs.
impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::SignedOut => f.write_str("SignedOut"),
            Auth::SignedIn { .. } => f.write_str("SignedIn { token: \"…\" }"),
        }
    }
}
// ANCHOR_END: auth

// ANCHOR: action
/// What to do with the connection after a route or auth change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// No connection yet: open one of this type.
    Connect(ConnectionType),
    /// A connection of another type is open: close it, open this type.
    Reconnect(ConnectionType),
    /// A connection is open and the page wants none: close it.
    Disconnect,
    /// Nothing changes: the open connection (or none) is what the page wants.
    Keep,
}

/// The table and the connection type it asked for last.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The page table.
    table: PolicyTable,
    /// The type of the connection the last decision left open, if any.
    current: Option<ConnectionType>,
}
// ANCHOR_END: action

impl Policy {
    /// A policy over `table`, with no connection.
    pub fn new(table: PolicyTable) -> Policy {
        Policy {
            table,
            current: None,
        }
    }

    /// The table.
    pub fn table(&self) -> &PolicyTable {
        &self.table
    }

    /// The type of the connection the policy believes is open.
    pub fn current(&self) -> Option<&ConnectionType> {
        self.current.as_ref()
    }

    /// The connection ended without the policy asking (the server closed it,
    /// the network failed, connecting failed): there is none any more, so
    /// the next change connects again if the page wants it.
    pub fn forget_connection(&mut self) {
        self.current = None;
    }

    // ANCHOR: on_change
    /// Decides what happens to the connection when the user is now on
    /// `route` with `auth`, and remembers the outcome.
    ///
    /// The page wants a connection of its type when
    /// [`PageConfig::should_connect`](crate::PageConfig::should_connect)
    /// says so, and none otherwise. Same type as the open connection:
    /// [`Action::Keep`], the socket stays.
    pub fn on_change(&mut self, route: &str, auth: &Auth) -> Action {
        // ANCHOR_END: on_change
        todo!("Task 3: decide the action (chapter 02, section \"Task 3: The policy\")")
    }
}
