//! # messages — unit 03 of the WebSocket Workbook: message types and handlers
//!
//! The course's chat protocol in Rust: every message is a JSON envelope
//! `{ id, type, action, data, timestamp, sender? }`, decoded with checks
//! that give each kind of bad input its own error, and dispatched by its
//! `action` to an async handler whose payload type the compiler checks.
//!
//! ```text
//! frame text ──decode──▶ Envelope ──Dispatcher::dispatch──▶ handler(Incoming<Payload>)
//!      │                                   │
//!      └─▶ DecodeError (Outcome::Rejected)  └─▶ Outcome: Handled, Fallback, Failed, Panicked, WrongKind
//! ```
//!
//! ## Layout
//!
//! * [`wire`]: the wire types ([`Envelope`], [`Body`] and one payload per
//!   message type) with their serde attributes, and [`Id`], an id that can
//!   only hold a valid value.
//! * [`decode`](mod@decode): [`decode`], the size limit and the other limits, and
//!   [`DecodeError`], one variant per kind of bad input.
//! * [`dispatch`]: [`Action`] and [`Payload`], which tie an action's name to
//!   the data its handler takes, and the [`Dispatcher`], which runs each
//!   handler in its own task and reports errors and panics as an [`Outcome`].
// region: stub
// // So that the stub compiles without warnings: parameters and helpers are
// // unused until you write the tasks. You may delete this line once all pass.
// #![allow(unused_variables, dead_code)]
// endregion

pub mod decode;
pub mod dispatch;
pub mod wire;

pub use decode::{
    DecodeError, EARLIEST_TIMESTAMP_MS, MAX_CLOCK_SKEW, MAX_MESSAGE_SIZE, REQUIRED_FIELDS,
    REQUIRED_SENDER_FIELDS, TimestampProblem, decode, decode_at, now_ms,
};
pub use dispatch::{
    Action, Dispatcher, HandlerError, HandlerResult, Incoming, NewMessage, Outcome, Payload,
    SystemNotification, TypingStatus,
};
pub use wire::{
    Body, ChatMessage, Envelope, Heartbeat, Id, InvalidId, Level, MAX_ID_LEN, MessageKind,
    ReadReceipt, Sender, SystemNotice, TypingIndicator,
};
