//! # dashboard — capstone B of the WebSocket Workbook: a live monitoring dashboard
//!
//! Collectors feed series into an in-memory time-series store; browsers
//! subscribe over one WebSocket each and see charts move as samples come;
//! rules watch the series and fire alerts that survive a restart.
//!
//! * [`labels`]: series names, labels and selectors (`cpu{host=~"web-.*"}`).
//! * [`clock`]: the wall clock, or a clock the tests move.
//! * [`store`]: every series in two tiers (per second, per minute) with
//!   retention, and range queries `[start, end)` with a step and an
//!   aggregation.
//! * [`protocol`]: the JSON messages on the WebSocket.
//! * [`hub`]: subscriptions, and what each client is owed: a bounded
//!   amount, conflated to the latest value, rate-capped, or closed.
//! * [`alerts`]: rules, the alert state machine, silences, notifications.
//! * [`server`]: HTTP and WebSocket, ingest, the page.
//! * [`rollups`]: the minute tier saved in SQLite, so that the history
//!   survives a restart.
//! * [`host`]: this host's CPU, memory, network and disk (`sysinfo`).
//! * [`sources`]: synthetic sources (sine, square wave, random walk,
//!   bursts) for a demo that moves by itself.

// region: stub
// // So that the stub compiles without warnings: parameters and helpers are
// // unused until you write the stages. You may delete this line once all pass.
// #![allow(unused_variables, unused_mut, dead_code, unused_imports)]
// endregion

pub mod alerts;
pub mod clock;
pub mod host;
pub mod hub;
pub mod labels;
mod page;
pub mod protocol;
pub mod rollups;
pub mod server;
pub mod sources;
pub mod store;

pub use clock::{Clock, Millis};
pub use hub::{CLOSE_TOO_SLOW, HARD_CAP};
pub use labels::{MatchOp, Matcher, Selector, SelectorError, SeriesKey};
pub use server::{Config, Server, ServerError};
pub use sources::Source;
pub use store::{Aggregation, Query, QueryResult, Retention, Sample, SeriesId, Store, Tier};
