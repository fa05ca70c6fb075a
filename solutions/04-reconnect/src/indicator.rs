//! The one-line status indicator: a colour, an icon, a text and, when the
//! user can do something, the action.
//!
//! ```text
//! 🟢 connected
//! 🟡 connecting…
//! 🟠 reconnecting… (3/15)
//! 🔴 disconnected  [reconnect]
//! ❌ connection error  [refresh]
//! ❓ unknown state
//! ```
//!
//! The course's React component switched on the status *string* and fell
//! back to a gray "unknown state". A Rust `match` on [`Status`] cannot fall
//! through, so the fallback lives where strings still arrive:
//! [`Indicator::from_name`], for a status read from a log, a file or
//! another process.

use crate::state::{ConnectionState, MAX_RECONNECT_ATTEMPTS, Status};

// ANCHOR: types
/// The indicator's colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    /// Connected.
    Green,
    /// Connecting.
    Yellow,
    /// Reconnecting.
    Orange,
    /// Disconnected, and error.
    Red,
    /// Unknown state.
    Gray,
}

impl Colour {
    /// The ANSI escape sequence that switches a terminal to this colour.
    /// Orange is not among the 16 basic colours; 208 of the 256-colour
    /// palette is.
    pub fn ansi(self) -> &'static str {
        match self {
            Colour::Green => "\x1b[32m",
            Colour::Yellow => "\x1b[33m",
            Colour::Orange => "\x1b[38;5;208m",
            Colour::Red => "\x1b[31m",
            Colour::Gray => "\x1b[90m",
        }
    }
}

/// The escape sequence that switches the colour back.
pub const ANSI_RESET: &str = "\x1b[0m";

/// What the user can do about the state: the course's buttons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Offered when disconnected.
    Reconnect,
    /// Offered on error.
    Refresh,
}

impl Action {
    /// The button's label: `"reconnect"` or `"refresh"`.
    pub fn label(self) -> &'static str {
        match self {
            Action::Reconnect => "reconnect",
            Action::Refresh => "refresh",
        }
    }
}

/// What the status line shows for one state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indicator {
    /// The colour of the icon and the text.
    pub colour: Colour,
    /// 🟢, 🟡, 🟠, 🔴, ❌ or ❓.
    pub icon: &'static str,
    /// `"connected"`, `"reconnecting… (3/15)"`, …
    pub text: String,
    /// The button offered, if any.
    pub action: Option<Action>,
}
// ANCHOR_END: types

impl Indicator {
    // ANCHOR: for_state
    /// The indicator for a state (the course's table, with the attempt
    /// count out of [`MAX_RECONNECT_ATTEMPTS`] while reconnecting).
    pub fn for_state(state: &ConnectionState) -> Indicator {
        // ANCHOR_END: for_state
        // region: solution
        let (colour, icon, text, action) = match state.status {
            Status::Connected => (Colour::Green, "🟢", "connected".to_owned(), None),
            Status::Connecting => (Colour::Yellow, "🟡", "connecting…".to_owned(), None),
            Status::Reconnecting => (
                Colour::Orange,
                "🟠",
                format!(
                    "reconnecting… ({}/{MAX_RECONNECT_ATTEMPTS})",
                    state.reconnect_attempts
                ),
                None,
            ),
            Status::Disconnected => (
                Colour::Red,
                "🔴",
                "disconnected".to_owned(),
                Some(Action::Reconnect),
            ),
            Status::Error => (
                Colour::Red,
                "❌",
                "connection error".to_owned(),
                Some(Action::Refresh),
            ),
        };
        Indicator {
            colour,
            icon,
            text,
            action,
        }
        // region: stub
        // todo!("Task 3: the indicator for each state (chapter 04, section \"Task 3: The status indicator\")")
        // endregion
    }

    // ANCHOR: from_name
    /// The indicator for a status given by name (`"connected"`, …), as
    /// [`Status::name`] spells it; any other name gives the gray ❓
    /// "unknown state".
    pub fn from_name(name: &str, reconnect_attempts: u32) -> Indicator {
        // ANCHOR_END: from_name
        // region: solution
        match Status::from_name(name) {
            Some(status) => Indicator::for_state(&ConnectionState {
                status,
                reconnect_attempts,
                ..ConnectionState::new()
            }),
            None => Indicator {
                colour: Colour::Gray,
                icon: "❓",
                text: "unknown state".to_owned(),
                action: None,
            },
        }
        // region: stub
        // todo!("Task 3: the fallback (chapter 04, section \"Task 3: The status indicator\")")
        // endregion
    }

    // ANCHOR: render
    /// The line without colour: icon, a space, the text, and for an action
    /// two spaces and the label in brackets: `🔴 disconnected  [reconnect]`.
    pub fn plain(&self) -> String {
        // ANCHOR_END: render
        // region: solution
        let mut line = format!("{} {}", self.icon, self.text);
        if let Some(action) = self.action {
            line.push_str(&format!("  [{}]", action.label()));
        }
        line
        // region: stub
        // todo!("Task 3: the plain line (chapter 04, section \"Task 3: The status indicator\")")
        // endregion
    }

    /// The line for a terminal: icon and text in the colour
    /// ([`Colour::ansi`] … [`ANSI_RESET`]), the action after it uncoloured:
    /// `\x1b[31m🔴 disconnected\x1b[0m  [reconnect]`.
    pub fn ansi(&self) -> String {
        // region: solution
        let mut line = format!(
            "{}{} {}{ANSI_RESET}",
            self.colour.ansi(),
            self.icon,
            self.text
        );
        if let Some(action) = self.action {
            line.push_str(&format!("  [{}]", action.label()));
        }
        line
        // region: stub
        // todo!("Task 3: the coloured line (chapter 04, section \"Task 3: The status indicator\")")
        // endregion
    }
}
