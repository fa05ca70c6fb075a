//! # notifications — unit 08 of the WebSocket Workbook: the notification centre
//!
//! Messages arrive on a WebSocket; some of them deserve the user's attention.
//! This crate turns them into notifications and decides what happens to each:
//! which toast is shown first, which ones collapse into one, when a toast goes
//! away (after [`TOAST_DURATION`]), what do-not-disturb silences, and what the
//! history remembers.
//!
//! ## Layout
//!
//! * [`message`], the small envelope this unit reads (the course's `id`,
//!   `type`, `action`, `data`, `timestamp`), kept apart from unit 03's crate
//!   so that the unit stands on its own.
//! * [`notification`], the mapping: a [`Message`] in, a [`Notification`]
//!   (type, level, title, content, click action, tag, priority) out, with
//!   its icon.
//! * [`render`], the terminal toast, one fixed layout, snapshot-tested.
//! * [`sink`], where notifications go: the [`Sink`] trait and three sinks,
//!   terminal, desktop and sound. Desktop and sound talk to the OS through
//!   small traits ([`DesktopApi`], [`SoundPlayer`]) so that tests record
//!   instead of popping up windows.
//! * [`centre`], the [`NotificationCentre`]: toasts in priority order, dedup
//!   by tag, do-not-disturb, the bounded searchable history, and [`run`], the
//!   task that feeds it from the message stream and dismisses toasts on time.
// region: stub
// // So that the stub compiles without warnings: parameters and helpers are
// // unused until you write the tasks. You may delete this line once all pass.
// #![allow(unused_variables, unused_mut, dead_code, unused_imports)]
// endregion

pub mod centre;
pub mod message;
pub mod notification;
pub mod render;
pub mod sink;

pub use centre::{HISTORY_LIMIT, NotificationCentre, Outcome, TOAST_DURATION, run};
pub use message::{Message, MessageKind};
pub use notification::{
    ClickAction, DEFAULT_MESSAGE_TITLE, DEFAULT_SYSTEM_TITLE, Level, Notification,
    NotificationType, Priority,
};
pub use render::render;
pub use sink::{
    DesktopApi, DesktopNotification, DesktopSink, Sink, Sound, SoundPlayer, SoundSink, TerminalSink,
};
