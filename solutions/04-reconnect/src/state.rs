//! The connection's state machine: events in, the next state and effects out.
//!
//! The course kept its state in a React hook and changed it from inside the
//! socket's callbacks, so "what happens when the connection drops while we
//! are connecting?" was answered by whichever callback ran last. Here the
//! answer is a table. [`ConnectionState::apply`] is a *pure* function: it
//! reads no clock (the caller passes `now`), does no I/O and draws no random
//! numbers. It only says what the new state is and what should be done
//! ([`Effect`]); the driver in [`crate::client`] does it. That is what makes
//! every cell of the table testable in microseconds, the illegal ones too.

use tokio::time::Instant;

// ANCHOR: max_attempts
/// How many reconnection attempts are made before giving up into
/// [`Status::Error`].
///
/// The course's indicator showed "reconnecting… (n/15)" but nothing ever
/// enforced the 15: its client retried forever. Here 15 is the limit the
/// state machine enforces; with the default backoff they span about four
/// minutes.
pub const MAX_RECONNECT_ATTEMPTS: u32 = 15;
// ANCHOR_END: max_attempts

// ANCHOR: status
/// Where the connection stands: the course's five states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// No connection, and none is being attempted (at the start, or after
    /// the user disconnected).
    Disconnected,
    /// The first attempt, started by the user, is in progress.
    Connecting,
    /// The connection is open.
    Connected,
    /// The connection was lost (or the first attempt failed); the client is
    /// waiting before the next attempt, or making it.
    Reconnecting,
    /// The client gave up after [`MAX_RECONNECT_ATTEMPTS`]; only the user
    /// can start again.
    Error,
}

impl Status {
    /// Every status, in the course's order.
    pub const ALL: [Status; 5] = [
        Status::Disconnected,
        Status::Connecting,
        Status::Connected,
        Status::Reconnecting,
        Status::Error,
    ];

    /// The course's name of the status: `"disconnected"`, `"connecting"`,
    /// `"connected"`, `"reconnecting"`, `"error"`.
    pub fn name(self) -> &'static str {
        match self {
            Status::Disconnected => "disconnected",
            Status::Connecting => "connecting",
            Status::Connected => "connected",
            Status::Reconnecting => "reconnecting",
            Status::Error => "error",
        }
    }

    /// The status with that name, if there is one.
    pub fn from_name(name: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|status| status.name() == name)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
// ANCHOR_END: status

// ANCHOR: state
/// The course's connection state: the status and what the indicator shows
/// beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionState {
    /// Where the connection stands.
    pub status: Status,
    /// When the connection last opened.
    pub last_connected: Option<Instant>,
    /// When an open connection last ended (lost or closed by the user).
    pub last_disconnected: Option<Instant>,
    /// The reconnection attempt in progress or being waited for, from 1 to
    /// [`MAX_RECONNECT_ATTEMPTS`]; 0 when not reconnecting.
    pub reconnect_attempts: u32,
    /// Why the last attempt failed or the connection was lost; `None` once
    /// a connection opens or the user starts again.
    pub error: Option<String>,
}

impl ConnectionState {
    /// The state a client starts in: disconnected, nothing recorded.
    pub fn new() -> ConnectionState {
        ConnectionState {
            status: Status::Disconnected,
            last_connected: None,
            last_disconnected: None,
            reconnect_attempts: 0,
            error: None,
        }
    }
}

impl Default for ConnectionState {
    fn default() -> Self {
        ConnectionState::new()
    }
}
// ANCHOR_END: state

// ANCHOR: event
/// What can happen to a connection: the user's actions and the network's
/// answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The user asks to connect (the client starts with this).
    Connect,
    /// An attempt succeeded: the socket is open.
    Opened,
    /// An attempt failed (refused, timed out, bad handshake).
    ConnectFailed {
        /// Why, for [`ConnectionState::error`].
        reason: String,
    },
    /// The open connection ended without the user asking (the server closed
    /// it, or it broke).
    Lost {
        /// Why, for [`ConnectionState::error`].
        reason: String,
    },
    /// The backoff delay before the next attempt is over.
    RetryDue,
    /// The user asks to disconnect.
    Disconnect,
    /// The user asks to reconnect now: the course's "reconnect" button (when
    /// disconnected) and "refresh" button (on error).
    Reconnect,
}

impl Event {
    /// The event's name, for messages: `"Connect"`, `"Lost"`, …
    pub fn name(&self) -> &'static str {
        match self {
            Event::Connect => "Connect",
            Event::Opened => "Opened",
            Event::ConnectFailed { .. } => "ConnectFailed",
            Event::Lost { .. } => "Lost",
            Event::RetryDue => "RetryDue",
            Event::Disconnect => "Disconnect",
            Event::Reconnect => "Reconnect",
        }
    }
}
// ANCHOR_END: event

// ANCHOR: effect
/// What the driver must do after a transition, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Start a connection attempt now.
    OpenSocket,
    /// Close the open socket (or abandon the attempt in progress).
    CloseSocket,
    /// Wait the backoff delay for attempt `attempt` (1-based), then feed
    /// [`Event::RetryDue`].
    ScheduleRetry {
        /// The attempt the delay is for; the delay grows with it.
        attempt: u32,
    },
    /// Forget the scheduled retry.
    CancelRetry,
}

/// The result of a legal transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The new state.
    pub state: ConnectionState,
    /// What to do, in order.
    pub effects: Vec<Effect>,
}

/// An event that makes no sense in the current state, such as `Opened`
/// while disconnected or `Disconnect` on error. The state does not change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{event} is not allowed while {from}")]
pub struct IllegalTransition {
    /// The status the event arrived in.
    pub from: Status,
    /// The event's name ([`Event::name`]).
    pub event: &'static str,
}
// ANCHOR_END: effect

impl ConnectionState {
    // ANCHOR: apply
    /// The transition table: what `event` does to this state at time `now`.
    ///
    /// Returns the new state and the effects to carry out, or
    /// [`IllegalTransition`] for an event the current status does not
    /// accept (the chapter's table lists both).
    pub fn apply(&self, event: Event, now: Instant) -> Result<Transition, IllegalTransition> {
        // ANCHOR_END: apply
        // region: solution
        let illegal = IllegalTransition {
            from: self.status,
            event: event.name(),
        };
        let mut next = self.clone();
        let effects = match (self.status, event) {
            (Status::Disconnected, Event::Connect) => {
                next.status = Status::Connecting;
                vec![Effect::OpenSocket]
            }
            // The manual reconnect: the course's "reconnect" and "refresh"
            // buttons, and "try now" while waiting. It starts over, so the
            // count goes back to zero.
            (Status::Disconnected | Status::Error | Status::Reconnecting, Event::Reconnect) => {
                let cancel = self.status == Status::Reconnecting;
                next.status = Status::Connecting;
                next.reconnect_attempts = 0;
                next.error = None;
                if cancel {
                    vec![Effect::CancelRetry, Effect::OpenSocket]
                } else {
                    vec![Effect::OpenSocket]
                }
            }
            (Status::Connecting | Status::Reconnecting, Event::Opened) => {
                next.status = Status::Connected;
                next.last_connected = Some(now);
                next.reconnect_attempts = 0;
                next.error = None;
                Vec::new()
            }
            (Status::Connecting | Status::Reconnecting, Event::ConnectFailed { reason }) => {
                return Ok(self.failed(next, reason));
            }
            (Status::Connected, Event::Lost { reason }) => {
                next.last_disconnected = Some(now);
                return Ok(self.failed(next, reason));
            }
            (Status::Reconnecting, Event::RetryDue) => vec![Effect::OpenSocket],
            (Status::Connected, Event::Disconnect) => {
                next.status = Status::Disconnected;
                next.last_disconnected = Some(now);
                vec![Effect::CloseSocket]
            }
            (Status::Connecting, Event::Disconnect) => {
                next.status = Status::Disconnected;
                vec![Effect::CloseSocket]
            }
            (Status::Reconnecting, Event::Disconnect) => {
                next.status = Status::Disconnected;
                next.reconnect_attempts = 0;
                vec![Effect::CancelRetry, Effect::CloseSocket]
            }
            _ => return Err(illegal),
        };
        Ok(Transition {
            state: next,
            effects,
        })
        // region: stub
        // todo!("Task 1: the transition table (chapter 04, section \"Task 1: The state machine\")")
        // endregion
    }

    // region: solution
    /// An attempt failed or the connection was lost: schedule the next
    /// attempt, or give up once [`MAX_RECONNECT_ATTEMPTS`] have been made.
    fn failed(&self, mut next: ConnectionState, reason: String) -> Transition {
        if self.reconnect_attempts >= MAX_RECONNECT_ATTEMPTS {
            next.status = Status::Error;
            next.error = Some(format!(
                "gave up after {MAX_RECONNECT_ATTEMPTS} attempts: {reason}"
            ));
            return Transition {
                state: next,
                effects: Vec::new(),
            };
        }
        let attempt = self.reconnect_attempts + 1;
        next.status = Status::Reconnecting;
        next.reconnect_attempts = attempt;
        next.error = Some(reason);
        Transition {
            state: next,
            effects: vec![Effect::ScheduleRetry { attempt }],
        }
    }
    // endregion
}
