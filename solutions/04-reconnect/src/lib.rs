//! # reconnect — unit 04 of the WebSocket Workbook: connection state and reconnection
//!
//! A client that keeps a WebSocket connection alive on its own: when the
//! connection drops it reconnects with capped exponential backoff and jitter,
//! gives up after [`MAX_RECONNECT_ATTEMPTS`] into the error state, and shows
//! where it stands in a one-line status indicator.
//!
//! ## Layout
//!
//! * [`state`], the state machine, pure: a [`ConnectionState`] and an
//!   [`Event`] in, the next state and the [`Effect`]s to carry out. No
//!   I/O, no clock, no randomness, so every transition can be tested.
//! * [`backoff`], the delays: [`BackoffPolicy`] (how long to wait before attempt *n*)
//!   and [`RandomSource`], the jitter's randomness, injected so that tests
//!   can seed it.
//! * [`indicator`], the status line, `🟠 reconnecting… (3/15)`, plain or in
//!   colour.
//! * [`client`], the driver, one task that owns the socket, feeds events to
//!   the state machine and carries out its effects; [`Client`] is its handle.
// region: stub
// // So that the stub compiles without warnings: parameters and helpers are
// // unused until you write the tasks. You may delete this line once all pass.
// #![allow(unused_variables, unused_mut, dead_code, unused_imports)]
// endregion

pub mod backoff;
pub mod client;
pub mod indicator;
pub mod state;

pub use backoff::{
    BACKOFF_FACTOR, BackoffPolicy, INITIAL_DELAY, JITTER, MAX_DELAY, RandomSource, SplitMix64,
};
pub use client::{
    COMMAND_BUFFER, CONNECT_TIMEOUT, Client, ClientError, ClientOptions, Connector, MAX_OUTBOX,
    MESSAGE_BUFFER, WsConnector,
};
pub use indicator::{Action, Colour, Indicator};
pub use state::{
    ConnectionState, Effect, Event, IllegalTransition, MAX_RECONNECT_ATTEMPTS, Status, Transition,
};
