//! How the device's situation decides the connection's behaviour.
//!
//! The course asked for "a mobile connection strategy" without numbers; the
//! ones here are ours, each a named constant with its reason. The whole
//! module is pure (no clock, no socket), so every rule is tested directly.
//!
//! | conditions              | socket | heartbeat | reconnect delays         |
//! |-------------------------|--------|-----------|--------------------------|
//! | offline (any app state) | none   | —         | none: wait for a network |
//! | Wi-Fi, foreground       | open   | 25 s      | 1 s, 2 s, 4 s … 30 s     |
//! | cellular, foreground    | open   | 25 s      | 2 s, 4 s, 8 s … 60 s     |
//! | Wi-Fi, background       | open   | 120 s     | 30 s, 60 s … 300 s       |
//! | cellular, background    | none   | —         | none: push takes over    |

use std::time::Duration;

/// Foreground heartbeat: under the 30 s idle timeout of many mobile
/// carriers' NATs and proxies, so an idle socket is not silently cut.
pub const FOREGROUND_HEARTBEAT: Duration = Duration::from_secs(25);
/// Background heartbeat on Wi-Fi: every wake-up costs battery; a cut
/// connection is found later and repaired by the next reconnect.
pub const BACKGROUND_HEARTBEAT: Duration = Duration::from_secs(120);
/// First reconnect delay on Wi-Fi in the foreground.
pub const WIFI_RECONNECT_FIRST: Duration = Duration::from_secs(1);
/// Longest reconnect delay on Wi-Fi in the foreground.
pub const WIFI_RECONNECT_MAX: Duration = Duration::from_secs(30);
/// First reconnect delay on cellular in the foreground: radio wake-ups are
/// expensive, so start slower than on Wi-Fi.
pub const CELLULAR_RECONNECT_FIRST: Duration = Duration::from_secs(2);
/// Longest reconnect delay on cellular in the foreground.
pub const CELLULAR_RECONNECT_MAX: Duration = Duration::from_secs(60);
/// First reconnect delay in the background.
pub const BACKGROUND_RECONNECT_FIRST: Duration = Duration::from_secs(30);
/// Longest reconnect delay in the background: five minutes, like the
/// background fetch interval mobile systems grant at best.
pub const BACKGROUND_RECONNECT_MAX: Duration = Duration::from_secs(300);

/// Which network the device is on (what the OS reports on a network change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Network {
    /// No network at all (airplane mode, a tunnel).
    Offline,
    /// Wi-Fi or Ethernet: cheap, usually stable.
    Wifi,
    /// A cellular network: costly wake-ups, NATs that cut idle connections.
    Cellular,
}

/// Whether the user is looking at the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppState {
    /// On screen.
    Foreground,
    /// Not on screen; the OS may suspend it.
    Background,
}

/// The device's situation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Conditions {
    /// The network.
    pub network: Network,
    /// The app's state.
    pub app: AppState,
}

impl Conditions {
    /// Shorthand for `Conditions { network, app }`.
    pub const fn new(network: Network, app: AppState) -> Self {
        Self { network, app }
    }
}

/// What the connection should do under some [`Conditions`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkPolicy {
    /// Whether to hold a socket at all.
    pub connect: bool,
    /// How often to ping when connected (`None` when not connected).
    pub heartbeat: Option<Duration>,
    /// The first reconnect delay (zero when not connecting).
    pub reconnect_first: Duration,
    /// The cap of the doubling reconnect delays (zero when not connecting).
    pub reconnect_max: Duration,
}

// ANCHOR: policy
impl LinkPolicy {
    /// The policy for `conditions` (the table in this module's docs).
    pub fn for_conditions(conditions: Conditions) -> Self {
        todo!("Task 1: the policy table (chapter 12, section \"Task 1: The strategy\")")
    }
}
// ANCHOR_END: policy

/// What a change of [`Conditions`] asks of the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaction {
    /// Nothing changes.
    Keep,
    /// Stay connected, but ping at the new policy's heartbeat.
    Retune,
    /// Connect now, without waiting for a backoff delay: a network just
    /// came back, so the previous failures say nothing about this one.
    ReconnectNow,
    /// Close the socket (with 1001, going away) and stop reconnecting.
    Disconnect,
}

/// The strategy's state: the current conditions and the failures since the
/// last successful connection.
#[derive(Debug, Clone)]
pub struct Strategy {
    conditions: Conditions,
    failures: u32,
}

// ANCHOR: strategy
impl Strategy {
    /// A strategy starting under `conditions`, with no failures.
    pub fn new(conditions: Conditions) -> Self {
        Self {
            conditions,
            failures: 0,
        }
    }

    /// The current conditions.
    pub fn conditions(&self) -> Conditions {
        self.conditions
    }

    /// The policy for the current conditions.
    pub fn policy(&self) -> LinkPolicy {
        LinkPolicy::for_conditions(self.conditions)
    }

    /// The conditions changed: what should the connection do? A new network
    /// (any change of `network` to one that allows a socket) forgets the
    /// failures and asks for a connection now.
    pub fn on_conditions(&mut self, conditions: Conditions) -> Reaction {
        todo!("Task 1: react to a change (chapter 12, section \"Task 1: The strategy\")")
    }

    /// A connection attempt failed or an open connection was lost: how long
    /// to wait before the next attempt. `None` when the policy says not to
    /// connect at all. Delays double from `reconnect_first` up to
    /// `reconnect_max`.
    pub fn on_failure(&mut self) -> Option<Duration> {
        todo!("Task 1: the next reconnect delay (chapter 12, section \"Task 1: The strategy\")")
    }

    /// A connection is open: the next failure starts from the first delay.
    pub fn on_connected(&mut self) {
        todo!("Task 1: forget the failures (chapter 12, section \"Task 1: The strategy\")")
    }
}
// ANCHOR_END: strategy
