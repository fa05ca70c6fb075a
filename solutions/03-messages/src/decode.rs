//! The decoder: bytes from the socket in, a valid [`Envelope`] or a typed
//! [`DecodeError`] out.
//!
//! serde alone would turn most bad input into *an* error, but one whose
//! only structure is its text ("missing field `id` at line 1 column 80").
//! A server has to answer differently to a message that is too big (close
//! the connection), one it does not understand yet (an unknown `type`: tell
//! the client) and one with a forged id (log it): so the decoder checks the
//! input in steps, cheapest and most fundamental first, and each step has
//! its own error variant. Only then does serde build the typed value.
//!
//! The decoder never panics, whatever the bytes: every look into the JSON
//! goes through `Option` (`get`, `as_u64`, `as_str`), never an `unwrap`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

// region: solution
use serde_json::{Map, Value};
// endregion

use crate::wire::{Envelope, InvalidId};
// region: solution
use crate::wire::{Id, MessageKind};
// endregion

// ANCHOR: limits
/// The largest message the decoder accepts: 64 KiB of JSON.
///
/// Every message of the course is a few hundred bytes: images, files and
/// recordings travel as URLs in `content`, never inline. 64 KiB leaves room
/// for a long text and still stops a peer from making us parse megabytes.
/// The limit is per *message*: tungstenite reassembles a fragmented message
/// before we see it, so a message sent as many small frames is measured
/// whole. (tungstenite's own `max_message_size`, 64 MiB by default, is a
/// transport limit and far too generous for this protocol.)
pub const MAX_MESSAGE_SIZE: usize = 64 * 1024;

/// The earliest timestamp that is not absurd: 2011-12-01T00:00:00Z, in
/// milliseconds. RFC 6455 was published that month; no WebSocket message was
/// sent before. It also catches a timestamp in *seconds* (1.7e9 ms is
/// January 1970), the most common mistake of a peer.
pub const EARLIEST_TIMESTAMP_MS: u64 = 1_322_697_600_000;

/// How far in the future a timestamp may be: the sender's clock may be
/// ahead of ours. Phones and laptops synchronise their clocks and rarely
/// drift more than seconds; five minutes is generous, and still refuses a
/// timestamp in microseconds or a year ahead.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

/// The fields every message must have, by their wire names.
pub const REQUIRED_FIELDS: [&str; 5] = ["id", "type", "action", "data", "timestamp"];

/// The fields a `sender`, when there is one, must have.
pub const REQUIRED_SENDER_FIELDS: [&str; 2] = ["id", "name"];
// ANCHOR_END: limits

// ANCHOR: decode_error
/// Why a message was refused. Each kind of bad input has its own variant,
/// checked in this order.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// More than [`MAX_MESSAGE_SIZE`] bytes. Checked first, before any
    /// parsing, so an oversize message costs nothing but its length.
    #[error("the message has {size} bytes; the limit is {limit}")]
    TooLarge {
        /// The message's size in bytes.
        size: usize,
        /// [`MAX_MESSAGE_SIZE`].
        limit: usize,
    },
    /// Not JSON at all (or not UTF-8).
    #[error("the message is not JSON")]
    NotJson(#[source] serde_json::Error),
    /// JSON, but not an object (`[]`, `"hi"`, `42`, `null`).
    #[error("the message is JSON but not an object")]
    NotAnObject,
    /// A required field is absent (or `null`). `field` is its path with wire
    /// names: `"timestamp"`, `"data.conversationId"`, `"sender.name"`.
    #[error("the message has no {field:?}")]
    MissingField {
        /// The path of the missing field.
        field: String,
    },
    /// `type` names no type of the course (or is not a string).
    #[error(
        "unknown message type {found}; expected one of text, image, file, audio, system, typing, read, heartbeat"
    )]
    UnknownType {
        /// The value of `type`, as JSON text (`"video"`, `42`).
        found: String,
    },
    /// An id (`id`, `sender.id`, `data.conversationId`, …) is not a valid [`Id`](crate::Id).
    #[error("{field} is not a valid id")]
    InvalidId {
        /// The path of the field.
        field: String,
        /// What is wrong with it.
        #[source]
        source: InvalidId,
    },
    /// `timestamp` is not a time at which the message could have been sent.
    #[error("absurd timestamp: {0}")]
    InvalidTimestamp(#[source] TimestampProblem),
    /// Everything is there, but a field has the wrong JSON type or value
    /// (`"isTyping": "yes"`, `"level": "fatal"`); serde's error says which.
    #[error("a field has the wrong type or value")]
    InvalidField(#[source] serde_json::Error),
}

/// What is absurd about a timestamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampProblem {
    /// Not a whole, non-negative number (a string, a fraction, `-1`).
    #[error("it is not a whole number of milliseconds since 1970")]
    NotMilliseconds,
    /// Before [`EARLIEST_TIMESTAMP_MS`]: probably seconds, not milliseconds.
    #[error("{timestamp} ms is before WebSockets existed (seconds instead of milliseconds?)")]
    TooEarly {
        /// The timestamp.
        timestamp: u64,
    },
    /// More than [`MAX_CLOCK_SKEW`] after our clock.
    #[error("{timestamp} ms is more than the allowed clock skew after now ({now} ms)")]
    InTheFuture {
        /// The timestamp.
        timestamp: u64,
        /// Our clock when we decoded.
        now: u64,
    },
}
// ANCHOR_END: decode_error

// ANCHOR: decode
/// Decodes one message, checking its timestamp against the system clock.
pub fn decode(input: impl AsRef<[u8]>) -> Result<Envelope, DecodeError> {
    decode_at(input, now_ms())
}

/// Decodes one message as if the clock said `now_ms` (milliseconds since
/// the Unix epoch); tests use it to be independent of the clock.
///
/// The checks, in order: size ([`DecodeError::TooLarge`]), JSON
/// (`NotJson`), an object (`NotAnObject`), [`REQUIRED_FIELDS`]
/// (`MissingField`), `id` (`InvalidId`), `type` (`UnknownType`), `timestamp`
/// (`InvalidTimestamp`), the fields of `sender` and of `data` for the type
/// (`MissingField`, `InvalidId`), and finally serde's typed parse
/// (`InvalidField`).
pub fn decode_at(input: impl AsRef<[u8]>, now_ms: u64) -> Result<Envelope, DecodeError> {
    // ANCHOR_END: decode
    // region: solution
    let bytes = input.as_ref();
    if bytes.len() > MAX_MESSAGE_SIZE {
        return Err(DecodeError::TooLarge {
            size: bytes.len(),
            limit: MAX_MESSAGE_SIZE,
        });
    }
    let value: Value = serde_json::from_slice(bytes).map_err(DecodeError::NotJson)?;
    let object = value.as_object().ok_or(DecodeError::NotAnObject)?;
    require(object, &REQUIRED_FIELDS, "")?;
    check_id(object, "id", "")?;
    let kind = check_type(object)?;
    check_timestamp(object, now_ms)?;
    if let Some(sender) = present(object, "sender").and_then(Value::as_object) {
        require(sender, &REQUIRED_SENDER_FIELDS, "sender.")?;
        check_id(sender, "id", "sender.")?;
    }
    if let Some(data) = object.get("data").and_then(Value::as_object) {
        require(data, kind.required_fields(), "data.")?;
        for field in kind.id_fields() {
            check_id(data, field, "data.")?;
        }
    }
    serde_json::from_value(value).map_err(DecodeError::InvalidField)
    // region: stub
    // todo!("Task 3: check the input step by step, then let serde parse it (chapter 03, section \"Task 3: The decoder\")")
    // endregion
}

// region: solution
/// The value of `field`, treating `null` like an absent field: JavaScript's
/// `JSON.stringify` writes `null` for many things that are not there.
fn present<'a>(object: &'a Map<String, Value>, field: &str) -> Option<&'a Value> {
    object.get(field).filter(|value| !value.is_null())
}

/// Every field of `fields` is present in `object`; `prefix` makes the path.
fn require(object: &Map<String, Value>, fields: &[&str], prefix: &str) -> Result<(), DecodeError> {
    match fields.iter().find(|field| present(object, field).is_none()) {
        Some(field) => Err(DecodeError::MissingField {
            field: format!("{prefix}{field}"),
        }),
        None => Ok(()),
    }
}

/// `field`, when present, is a valid [`Id`].
fn check_id(object: &Map<String, Value>, field: &str, prefix: &str) -> Result<(), DecodeError> {
    let Some(value) = present(object, field) else {
        return Ok(());
    };
    let invalid = |source| DecodeError::InvalidId {
        field: format!("{prefix}{field}"),
        source,
    };
    let text = value
        .as_str()
        .ok_or_else(|| invalid(InvalidId::NotAString))?;
    Id::new(text).map(|_| ()).map_err(invalid)
}

/// `type` names a kind of the course.
fn check_type(object: &Map<String, Value>) -> Result<MessageKind, DecodeError> {
    let value = object.get("type");
    value
        .and_then(Value::as_str)
        .and_then(MessageKind::from_name)
        .ok_or_else(|| DecodeError::UnknownType {
            // Bounded: the whole message is at most MAX_MESSAGE_SIZE.
            found: value.map(Value::to_string).unwrap_or_default(),
        })
}

/// `timestamp` is whole milliseconds between RFC 6455 and now + the skew.
fn check_timestamp(object: &Map<String, Value>, now_ms: u64) -> Result<(), DecodeError> {
    let problem = |problem| Err(DecodeError::InvalidTimestamp(problem));
    let Some(timestamp) = object.get("timestamp").and_then(Value::as_u64) else {
        return problem(TimestampProblem::NotMilliseconds);
    };
    if timestamp < EARLIEST_TIMESTAMP_MS {
        return problem(TimestampProblem::TooEarly { timestamp });
    }
    // saturating: a clock near u64::MAX must not overflow (and panic in a
    // debug build).
    let skew = u64::try_from(MAX_CLOCK_SKEW.as_millis()).unwrap_or(u64::MAX);
    if timestamp > now_ms.saturating_add(skew) {
        return problem(TimestampProblem::InTheFuture {
            timestamp,
            now: now_ms,
        });
    }
    Ok(())
}
// endregion

/// The system clock in milliseconds since the Unix epoch (0 if the clock is
/// set before 1970, which makes every timestamp "in the future").
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
