//! Alerts: rules, their state machine, silences and notifications.
//!
//! # Layout
//! * [`rules`]: the rules file (TOML), parsed into a [`RuleSet`] or refused
//!   with an error that names the rule and the field; [`RulesFile`] reloads
//!   it when it changes (a bad file is refused and the old rules stay).
//! * [`engine`]: the [`Engine`]: one alert per (rule, series), the state
//!   machine below, grouping and the repeat interval. It is pure: it never
//!   reads the wall clock, every call takes `now`, so a test moves time by
//!   passing a larger number.
//! * [`silence`]: silences (matchers, start, end), which hide alerts from
//!   notifications without changing their state.
//! * [`persist`]: the engine's state and history in SQLite, so that a
//!   `kill -9` does not turn a firing alert back into a pending one.
//! * [`notify`]: a minimal HTTP/1.1 webhook client in a task, with a bounded
//!   queue that never blocks the engine.
//!
//! # The state machine of one alert
//!
//! ```text
//!                 condition holds
//!   ┌──────────┐ ───────────────▶ ┌─────────┐  held for `for`   ┌────────┐
//!   │ inactive │                  │ pending │ ────────────────▶ │ firing │◀─┐
//!   └──────────┘ ◀─────────────── └─────────┘   (`for` = 0:     └────────┘  │ holds again
//!        ▲        stops holding        ▲         at once)        │   │      │ within
//!        │        (no notification)    │                         │   └──────┘ keep_firing_for
//!        │                             │ holds again             │ has not held for
//!        │ 15 min                 ┌──────────┐                   │ `keep_firing_for`
//!        └─────────────────────── │ resolved │ ◀─────────────────┘
//!                                 └──────────┘
//! ```
//!
//! * "Holds" is `value op threshold` on the series' latest sample. For a
//!   *firing* alert of a rule with `clear`, it means "has not crossed
//!   `clear`" instead (hysteresis): a CPU alert at `> 0.9, clear = 0.8`
//!   fires above 0.9 and resolves only below or at 0.8, so a value hovering
//!   around 0.9 does not flap.
//! * `keep_firing_for` is the other anti-flap: the alert resolves only when
//!   the condition has been false for that long, counted from the first
//!   evaluation at which it stopped holding.
//! * A series with no sample for [`STALE_AFTER`] (5 minutes) counts as
//!   "does not hold". A series that is merely missing from the store (say,
//!   just after a restart, before the collectors pushed again) is judged on
//!   the last sample the alert saw until that sample is stale.
//! * Every state change is a [`Transition`] with the value, the sample's
//!   time and a sentence saying why: the answer to "why did this fire".
//!
//! # Notifications
//! Alerts are grouped by the values of `group_by` (`alertname` is the rule's
//! name). A group is notified when one of its alerts starts firing, when one
//! it was told about resolves, and every `repeat_interval` while one fires.
//! Silenced alerts are left out; see [`engine`] for the details.

pub mod engine;
pub mod notify;
pub mod persist;
pub mod rules;
pub mod silence;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::clock::Millis;
use crate::labels::SeriesKey;

pub use engine::{Engine, RESOLVED_RETENTION, STALE_AFTER, store_latest};
pub use notify::{DeliveryError, Notifier, NotifierConfig, UrlError, WebhookUrl};
pub use persist::{AlertStore, PersistError};
pub use rules::{NotifyConfig, Op, Place, Rule, RuleError, RuleSet, RulesFile};
pub use silence::{SilenceError, SilenceState, SilenceView};

/// The state of one alert (one rule and one series).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// The condition does not hold; the engine keeps nothing for it.
    Inactive,
    /// The condition holds, not yet for the rule's `for`.
    Pending,
    /// The condition has held for `for`: the alert is notified.
    Firing,
    /// It fired, and then stopped; shown for [`RESOLVED_RETENTION`].
    Resolved,
}

/// One state change of one alert, with what moved it: the record behind
/// "why did this fire".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    /// When (the evaluation's time).
    pub at: Millis,
    /// The rule's name.
    pub rule: String,
    /// The series.
    pub series: SeriesKey,
    /// The state before.
    pub from: AlertState,
    /// The state after.
    pub to: AlertState,
    /// The value that was judged.
    pub value: f64,
    /// The time of the sample that carried `value`.
    pub sample_t: Millis,
    /// Why, in one sentence, with the numbers and times.
    pub reason: String,
}

/// An alert as the page and the webhook see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertView {
    /// The rule's name.
    pub rule: String,
    /// The series.
    pub series: SeriesKey,
    /// The alert's labels: the series' labels, the rule's `labels`, and
    /// `alertname` (the rule's name), the latter winning on a clash.
    pub labels: BTreeMap<String, String>,
    /// Its state (never `inactive`: inactive alerts are not kept).
    pub state: AlertState,
    /// When it entered that state.
    pub since: Millis,
    /// When the condition started holding (the start of `pending`).
    pub active_at: Option<Millis>,
    /// When it last started firing.
    pub fired_at: Option<Millis>,
    /// When it resolved, if it is resolved.
    pub resolved_at: Option<Millis>,
    /// The latest value judged.
    pub value: f64,
    /// The time of that value's sample.
    pub sample_t: Millis,
    /// Does an active silence match it? (It changes notifications only.)
    pub silenced: bool,
    /// The rule's `summary`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Its latest transitions, oldest first: why it is in this state.
    pub why: Vec<Transition>,
}

/// Whether a notification announces trouble or its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotificationStatus {
    /// At least one alert of the group fires.
    Firing,
    /// None does any more.
    Resolved,
}

/// One message to the webhook about one group of alerts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// `firing` when at least one listed alert fires, else `resolved`.
    pub status: NotificationStatus,
    /// The group: the values of `group_by`.
    pub group: BTreeMap<String, String>,
    /// Every firing, unsilenced alert of the group, then those that just
    /// resolved.
    pub alerts: Vec<AlertView>,
    /// When the engine decided to send it.
    pub at: Millis,
}

/// What one evaluation did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evaluation {
    /// The state changes, in order.
    pub transitions: Vec<Transition>,
    /// The notifications to send, in group order.
    pub notifications: Vec<Notification>,
    /// Did anything that is persisted change? (Then save.)
    pub changed: bool,
}
