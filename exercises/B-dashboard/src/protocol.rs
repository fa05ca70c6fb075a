//! The JSON messages on the dashboard's WebSocket (`/ws`), given.
//!
//! One socket carries any number of *subscriptions*, each named by an `id`
//! the client chooses. A subscription has a selector (applied on the
//! server: the client receives only the series it asked for), a policy for
//! when the client is slower than the data, and its own sequence number:
//! the `seq` of its `data` messages goes 1, 2, 3… with no gap, so a client
//! sees at once if anything went missing.
//!
//! ```text
//! client                                 server
//!   {"type":"subscribe","id":"cpu",
//!    "selector":"cpu{host=\"a\"}",
//!    "since":1700000000000,
//!    "policy":{"mode":"latest","max_hz":10}}  ─▶
//!                                          ◀─ {"type":"subscribed","id":"cpu"}
//!                                          ◀─ {"type":"series","id":"cpu","series":[{"id":3,"name":"cpu","labels":{"host":"a"}}]}
//!                                          ◀─ {"type":"data","id":"cpu","seq":1,"backfill":true,"points":[[3,1700000000000,0.5],…]}
//!                                          ◀─ {"type":"data","id":"cpu","seq":2,"points":[[3,1700000001000,0.7]]}
//!                                          ◀─ {"type":"data","id":"cpu","seq":3,"points":[…],"dropped":12}
//!   {"type":"unsubscribe","id":"cpu"}    ─▶
//!                                          ◀─ {"type":"unsubscribed","id":"cpu"}
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::clock::Millis;
use crate::labels::{Selector, SeriesKey};
use crate::store::{Query, SeriesId, SeriesPoints, Tier};

/// How a subscription copes with a client slower than its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Every sample, in order. A client that falls more than
    /// [`crate::hub::HARD_CAP`] points behind is closed with
    /// [`crate::hub::CLOSE_TOO_SLOW`].
    All,
    /// Only the latest sample of each series (a gauge: an older value is
    /// worth nothing once a newer one exists). What is replaced unsent is
    /// counted and reported in the next message's `dropped`.
    #[default]
    Latest,
}

/// A subscription's policy.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// `all` or `latest` (the default).
    #[serde(default)]
    pub mode: Mode,
    /// At most this many `data` messages a second for this subscription
    /// (what arrives between two is batched, or conflated under `latest`).
    /// `None`: as fast as the client reads.
    #[serde(default)]
    pub max_hz: Option<f64>,
}

/// A message from a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// Start a subscription (or replace the one with this id).
    Subscribe {
        /// The client's name for it.
        id: String,
        /// Which series.
        selector: Selector,
        /// Send the stored samples at or after this time first (backfill),
        /// then the live ones, with no gap and no duplicate.
        #[serde(default)]
        since: Option<Millis>,
        /// How to cope with a slow client.
        #[serde(default)]
        policy: Policy,
    },
    /// Stop a subscription.
    Unsubscribe {
        /// Its id.
        id: String,
    },
    /// A range query, answered with `result`.
    Query {
        /// The client's name for the answer.
        id: String,
        /// Which series.
        selector: Selector,
        /// The range, step and aggregation.
        #[serde(flatten)]
        query: Query,
    },
    /// Send the alerts' state now and whenever it changes (`alerts`).
    WatchAlerts,
}

/// A series, as the protocol names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesInfo {
    /// Its number (the first field of a point).
    pub id: SeriesId,
    /// Its name.
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
}

impl SeriesInfo {
    /// The info of series `id`.
    pub fn new(id: SeriesId, key: &SeriesKey) -> Self {
        Self {
            id,
            name: key.name.clone(),
            labels: key.labels.clone(),
        }
    }
}

/// A message from the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// The subscription is in place.
    Subscribed {
        /// Its id.
        id: String,
    },
    /// Series the subscription matches that the client has not been told
    /// of yet; always before their first point.
    Series {
        /// The subscription.
        id: String,
        /// The series.
        series: Vec<SeriesInfo>,
    },
    /// Samples: `[series id, time, value]`, in time order per series.
    Data {
        /// The subscription.
        id: String,
        /// 1, 2, 3… per subscription.
        seq: u64,
        /// Stored samples (before any live one).
        #[serde(default, skip_serializing_if = "is_false")]
        backfill: bool,
        /// The points.
        points: Vec<(SeriesId, Millis, f64)>,
        /// Samples replaced unsent since the last message (`latest`).
        #[serde(default, skip_serializing_if = "is_zero")]
        dropped: u64,
    },
    /// The subscription has stopped; nothing more comes for it.
    Unsubscribed {
        /// Its id.
        id: String,
    },
    /// The answer to a `query`.
    Result {
        /// The query's id.
        id: String,
        /// The tier that answered.
        tier: Tier,
        /// The series.
        series: Vec<SeriesPoints>,
    },
    /// The alerts, after `watch_alerts` and on every change.
    Alerts {
        /// Every alert that is not inactive.
        alerts: Vec<serde_json::Value>,
    },
    /// Something the client sent was refused; nothing else changed.
    Error {
        /// The id of the subscription or query concerned, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// A stable code: `bad_message`, `bad_selector`, `bad_query`,
        /// `too_many_subscriptions`, `unknown_subscription`.
        code: String,
        /// What was wrong, for people.
        message: String,
    },
}

fn is_false(value: &bool) -> bool {
    !value
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}
