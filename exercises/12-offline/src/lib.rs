//! # offline — unit 12 of the WebSocket Workbook: mobile and offline
//!
//! A client for unreliable links, and the small relay server it talks to.
//! The client's connection strategy follows the device: the network it is on
//! and whether the app is in the foreground change its heartbeat and its
//! reconnect plan. Every message the user writes is first *accepted* into an
//! outbox on disk (fsynced before `send` returns), so it survives a crash;
//! the outbox is replayed after every reconnect, and the server drops
//! duplicates by message id, which together give delivery exactly once, in
//! order. The server keeps a mailbox per recipient, replays to a
//! reconnecting client everything after the last sequence number it saw, and
//! writes a push record when the recipient is offline.
//!
//! ## Layout
//!
//! * [`protocol`]: the JSON frames both sides exchange (given).
//! * [`strategy`]: [`Conditions`] (network, app state), the pure
//!   [`Strategy`] that turns them into a [`LinkPolicy`] (heartbeat, reconnect
//!   delays) and reacts to changes.
//! * [`outbox`]: the append-only, fsynced, torn-tail-tolerant [`Outbox`].
//! * [`client`]: the [`Client`] handle and its connection task.
//! * [`server`]: the [`RelayServer`]: dedup by id, acks, mailboxes and
//!   replay, push records, Close(1001) on shutdown.
//! * The binary `outbox-sender` drives a [`Client`] from standard input; the
//!   crash test kills it with SIGKILL and starts it again.
// So that the stub compiles without warnings: parameters and helpers are
// unused until you write the tasks. You may delete this line once all pass.
#![allow(unused_variables, unused_mut, dead_code, unused_imports)]

pub mod client;
pub mod outbox;
pub mod protocol;
pub mod server;
pub mod strategy;

pub use client::{
    CLOSE_TIMEOUT, CONNECT_TIMEOUT, Client, ClientError, ClientOptions, PONG_TIMEOUT,
};
pub use outbox::{OUTBOX_FILE, Outbox, OutboxEntry, OutboxError};
pub use protocol::{ClientFrame, Delivery, ServerFrame};
pub use server::{PushRecord, RelayServer, StoredMessage};
pub use strategy::{AppState, Conditions, LinkPolicy, Network, Reaction, Strategy};
