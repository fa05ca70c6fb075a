//! # collab — unit 10 of the WebSocket Workbook: real-time collaboration
//!
//! Several people edit one plain-text document at the same time, over
//! WebSockets, and all end up with the same text. The method is
//! operational transformation (OT), as in Google Docs and ot.js:
//!
//! * [`operation`]: an edit is an [`Operation`], a walk over the whole
//!   document that retains, inserts and deletes, counted in Unicode scalar
//!   values. `apply`, `compose`, `transform` and `invert` are the algebra
//!   everything else rests on; [`Operation::transform_index`] and
//!   [`Selection`] move cursors through edits.
//! * [`server`]: the [`Document`] orders operations by revision and
//!   transforms late ones against what it accepted since; the [`Hub`] adds
//!   presence (who is here, their selections); [`Server`] serves it over
//!   WebSockets.
//! * [`client`]: the [`Client`] state machine (synchronized, awaiting an
//!   ack, awaiting with a buffer) and a connected [`Session`].
//! * [`protocol`]: the JSON messages between them.
// So that the stub compiles without warnings: parameters and helpers are
// unused until you write the tasks. You may delete this line once all pass.
#![allow(unused_variables, unused_mut, dead_code, unused_imports)]

pub mod client;
pub mod operation;
pub mod protocol;
pub mod server;

pub use client::{Client, ClientError, ClientState, Session, Snapshot};
pub use operation::{Component, OpError, Operation, Selection, char_len};
pub use protocol::{ClientId, ClientMessage, Peer, ServerMessage};
pub use server::{Document, Hub, Server, ServerError};
