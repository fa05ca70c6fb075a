//! # page_policy — unit 02 of the WebSocket Workbook: page-level connection policy
//!
//! An application's pages (the routes of a CLI, a TUI or a server-rendered
//! app) decide whether it holds a WebSocket, and which one. A table loaded
//! from TOML says, per route pattern, what a page wants; a pure [`Policy`]
//! turns "the user is now on this route, signed in or not" into an
//! [`Action`]; a [`Driver`] applies the actions to a real connection,
//! carrying the user's token and reporting the server's rejection as
//! unauthorized.
//!
//! ## Layout
//!
//! * [`pattern`]: [`RoutePattern`]: `/chat/:room`, `/admin/*`, matching
//!   and specificity.
//! * [`table`]: [`PageConfig`] (the course's row), [`PolicyTable`] and its
//!   lookup ("most specific wins"), and the course's table shipped as
//!   `src/default_policy.toml`.
//! * [`load`]: [`PolicyTable::from_toml`] and [`TableError`], errors with
//!   line numbers.
//! * [`policy`]: [`Auth`], [`Action`] and [`Policy::on_change`], no I/O.
//! * [`driver`]: [`Driver`], which owns the connection: one task per socket,
//!   a clean close when a page no longer wants it, and [`DriverEvent`]s for
//!   what the server does on its own.
// So that the stub compiles without warnings: parameters and helpers are
// unused until you write the tasks. You may delete this line once all pass.
#![allow(unused_variables, unused_mut, dead_code)]

pub mod driver;
pub mod load;
pub mod pattern;
pub mod policy;
pub mod table;

pub use driver::{
    CLOSE_TIMEOUT, CONNECT_TIMEOUT, Driver, DriverError, DriverEvent, EVENT_BUFFER, EndReason,
    Endpoints, LEAVE_REASON, UNAUTHORIZED_CLOSE_CODE,
};
pub use load::TableError;
pub use pattern::{Params, PatternError, RoutePattern, Segment, Specificity};
pub use policy::{Action, Auth, Policy};
pub use table::{COURSE_TABLE, ConnectionType, Page, PageConfig, PolicyTable, RouteMatch};
