//! Hidden checks of unit 03: the wire JSON and round trip of every message
//! type, each kind of invalid input with its own error, the decoder under
//! random input (seeded, so every run tests the same cases), and the typed
//! dispatcher: payloads, wrong kinds, failing and panicking handlers, the
//! fallback, and frames from a real socket.
//!
//! Run against the reference solution by `cargo test -p messages --test
//! hidden`; the grader runs them against a learner's `src/`.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use checkkit::within;
use futures_util::{SinkExt, StreamExt};
use messages::{
    Action, Body, ChatMessage, DecodeError, Dispatcher, EARLIEST_TIMESTAMP_MS, Envelope,
    HandlerError, Heartbeat, Id, Incoming, InvalidId, Level, MAX_CLOCK_SKEW, MAX_MESSAGE_SIZE,
    MessageKind, NewMessage, Outcome, Payload, ReadReceipt, Sender, SystemNotice,
    SystemNotification, TimestampProblem, TypingIndicator, TypingStatus, decode_at,
};
use serde_json::{Value, json};
use testkit::TestServer;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

checkkit::checks! {
    every_type_has_its_wire_json,
    every_type_round_trips,
    unknown_type_is_a_clear_error,
    bad_ids_are_rejected,
    absurd_timestamps_are_rejected,
    wrong_field_types_are_invalid_fields,
    decoder_never_panics_on_random_bytes,
    decoder_never_panics_on_mutated_messages,
    handlers_get_their_typed_payload,
    custom_actions_are_typed_too,
    wrong_kind_never_reaches_a_handler,
    failing_handler_is_reported_and_dispatch_goes_on,
    panicking_handler_is_reported_and_dispatch_goes_on,
    unknown_action_goes_to_the_fallback,
    frames_from_a_real_socket_are_dispatched,
}

/// "Now" for every decode: 2023-11-14T22:13:20Z, in milliseconds.
const NOW: u64 = 1_700_000_000_000;

/// Cases per property check: enough to reach every branch of a decoder
/// many times, few enough to run in well under a second.
const CASES: usize = 2_000;

// ---------------------------------------------------------------- helpers

fn id(text: &str) -> Id {
    match Id::new(text) {
        Ok(id) => id,
        Err(error) => panic!(
            "Id::new({text:?}) must accept a valid id, but returned {error:?} \
             (chapter 03, \"Task 1: Ids\")"
        ),
    }
}

fn ada() -> Sender {
    Sender {
        id: id("u-1"),
        name: "Ada".to_owned(),
        avatar: Some("https://example.com/ada.png".to_owned()),
    }
}

fn chat(content: &str) -> ChatMessage {
    ChatMessage {
        conversation_id: id("c-1"),
        content: content.to_owned(),
        reply_to: None,
    }
}

fn envelope(message_id: &str, action: &str, body: Body) -> Envelope {
    Envelope {
        id: id(message_id),
        action: action.to_owned(),
        timestamp: NOW,
        sender: Some(ada()),
        body,
    }
}

/// One message of every type, with the JSON the course's clients send.
fn every_type() -> Vec<(Envelope, Value)> {
    let sender = json!({ "id": "u-1", "name": "Ada", "avatar": "https://example.com/ada.png" });
    let mut cases = Vec::new();
    let chat_kinds = [
        ("text", "hello", Body::Text as fn(ChatMessage) -> Body),
        ("image", "https://example.com/cat.jpg", Body::Image),
        ("file", "https://example.com/report.pdf", Body::File),
        ("audio", "https://example.com/voice.ogg", Body::Audio),
    ];
    for (kind, content, variant) in chat_kinds {
        cases.push((
            envelope(
                "m-1",
                "new_message",
                variant(ChatMessage {
                    conversation_id: id("c-1"),
                    content: content.to_owned(),
                    reply_to: Some(id("m-0")),
                }),
            ),
            json!({
                "id": "m-1", "type": kind, "action": "new_message", "timestamp": NOW,
                "data": { "conversationId": "c-1", "content": content, "replyTo": "m-0" },
                "sender": sender
            }),
        ));
    }
    for (level, name) in [
        (Level::Info, "info"),
        (Level::Warning, "warning"),
        (Level::Error, "error"),
    ] {
        cases.push((
            Envelope {
                sender: None,
                ..envelope(
                    "s-1",
                    "system_notification",
                    Body::System(SystemNotice {
                        level,
                        title: "Maintenance".to_owned(),
                        message: "Back at 22:00.".to_owned(),
                    }),
                )
            },
            json!({
                "id": "s-1", "type": "system", "action": "system_notification", "timestamp": NOW,
                "data": { "level": name, "title": "Maintenance", "message": "Back at 22:00." }
            }),
        ));
    }
    cases.push((
        envelope(
            "t-1",
            "typing_status",
            Body::Typing(TypingIndicator {
                conversation_id: id("c-1"),
                is_typing: true,
            }),
        ),
        json!({
            "id": "t-1", "type": "typing", "action": "typing_status", "timestamp": NOW,
            "data": { "conversationId": "c-1", "isTyping": true },
            "sender": sender
        }),
    ));
    cases.push((
        envelope(
            "r-1",
            "message_read",
            Body::Read(ReadReceipt {
                conversation_id: id("c-1"),
                message_id: id("m-1"),
            }),
        ),
        json!({
            "id": "r-1", "type": "read", "action": "message_read", "timestamp": NOW,
            "data": { "conversationId": "c-1", "messageId": "m-1" },
            "sender": sender
        }),
    ));
    cases.push((
        Envelope {
            sender: Some(Sender {
                avatar: None,
                ..ada()
            }),
            ..envelope("h-1", "heartbeat", Body::Heartbeat(Heartbeat {}))
        },
        json!({
            "id": "h-1", "type": "heartbeat", "action": "heartbeat", "timestamp": NOW,
            "data": {},
            "sender": { "id": "u-1", "name": "Ada" }
        }),
    ));
    cases
}

/// A valid message of each type as JSON, for the decoder checks to break.
fn valid_json_of_every_type() -> Vec<Value> {
    every_type().into_iter().map(|(_, json)| json).collect()
}

fn decode_value(value: &Value) -> Result<Envelope, DecodeError> {
    decode_at(value.to_string(), NOW)
}

fn decode_err(value: &Value) -> DecodeError {
    match decode_value(value) {
        Err(error) => error,
        Ok(envelope) => panic!(
            "decode accepted an invalid message: {value}\n  decoded: {envelope:?} \
             (chapter 03, \"Task 3: The decoder\")"
        ),
    }
}

/// A valid text message with `change` applied.
fn text_with(change: impl FnOnce(&mut Value)) -> Value {
    let mut message = valid_json_of_every_type().remove(0);
    change(&mut message);
    message
}

/// Shortens what a failure message shows of an input.
fn preview(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut shown: String = text.chars().take(300).collect();
    if text.chars().count() > 300 {
        shown.push('…');
    }
    shown
}

/// A small deterministic PRNG (SplitMix64): the property checks see the
/// same cases on every run, so a failure can be reproduced.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn string(&mut self) -> String {
        const PIECES: &[&str] = &[
            "",
            "a",
            "m-1",
            "c-1",
            "x y",
            "é",
            "💥",
            "\u{0}",
            "\"",
            "\\",
            "/",
            "text",
            "video",
            "new_message",
            "null",
            "-",
            "_",
            "0",
        ];
        let mut text = String::new();
        for _ in 0..self.below(4) {
            let piece = PIECES[self.below(PIECES.len())];
            text.push_str(piece);
        }
        if self.below(20) == 0 {
            text.push_str(&"a".repeat(self.below(200)));
        }
        text
    }

    fn json(&mut self, depth: usize) -> Value {
        match self.below(if depth == 0 { 7 } else { 9 }) {
            0 => Value::Null,
            1 => json!(self.below(2) == 0),
            2 => {
                let numbers = [
                    json!(0),
                    json!(-1),
                    json!(1_700_000_000),
                    json!(NOW),
                    json!(NOW as f64 + 0.5),
                    json!(u64::MAX),
                    json!(i64::MIN),
                    json!(1e300),
                    json!(EARLIEST_TIMESTAMP_MS - 1),
                ];
                self.pick(&numbers).clone()
            }
            3 | 4 => json!(self.string()),
            5 => json!(self.next()),
            6 => json!(*self.pick(&["text", "image", "system", "typing", "read", "heartbeat"])),
            7 => Value::Array((0..self.below(3)).map(|_| self.json(depth - 1)).collect()),
            _ => {
                let keys = [
                    "id",
                    "type",
                    "data",
                    "conversationId",
                    "content",
                    "isTyping",
                    "level",
                    "x",
                ];
                let mut object = serde_json::Map::new();
                for _ in 0..self.below(4) {
                    object.insert((*self.pick(&keys)).to_owned(), self.json(depth - 1));
                }
                Value::Object(object)
            }
        }
    }
}

/// Runs the decoder on `bytes`, failing the check if it panics.
fn decode_without_panic(bytes: &[u8], case: usize) -> Result<Envelope, DecodeError> {
    match std::panic::catch_unwind(AssertUnwindSafe(|| decode_at(bytes, NOW))) {
        Ok(result) => result,
        Err(_) => panic!(
            "decode panicked on case {case}, input ({} bytes): {}\nThe decoder must return a \
             DecodeError for any input, never panic: no unwrap/expect/indexing on what the peer \
             sent (chapter 03, \"A decoder that never panics\")",
            bytes.len(),
            preview(bytes)
        ),
    }
}

/// What must hold for every message the decoder accepts.
fn assert_accepted_is_valid(envelope: &Envelope, input: &[u8]) {
    assert!(
        (EARLIEST_TIMESTAMP_MS..=NOW + MAX_CLOCK_SKEW.as_millis() as u64)
            .contains(&envelope.timestamp),
        "decode accepted the absurd timestamp {} in {} (chapter 03, \"Task 3: The decoder\")",
        envelope.timestamp,
        preview(input)
    );
    let again = decode_at(envelope.to_json(), NOW);
    assert!(
        matches!(&again, Ok(again) if again == envelope),
        "a message that decodes must survive encode and decode unchanged; {} decoded to \
         {envelope:?}, which came back as {again:?} (chapter 03, \"Task 2: The wire format\")",
        preview(input)
    );
}

/// Puts a value into a field of a message.
type SetField = fn(&mut Value, Value);

/// Changes a message.
type Change = fn(&mut Value);

/// A dispatcher's record of what its handlers saw.
type Seen = Arc<Mutex<Vec<String>>>;

fn seen() -> Seen {
    Arc::new(Mutex::new(Vec::new()))
}

fn record(seen: &Seen, line: String) {
    seen.lock().expect("the record's lock").push(line);
}

fn lines(seen: &Seen) -> Vec<String> {
    seen.lock().expect("the record's lock").clone()
}

async fn dispatch(dispatcher: &Dispatcher, envelope: Envelope) -> Outcome {
    within(
        Duration::from_secs(3),
        "Dispatcher::dispatch",
        dispatcher.dispatch(envelope),
    )
    .await
}

// ------------------------------------------------------------- wire format

async fn every_type_has_its_wire_json() {
    for (envelope, expected) in every_type() {
        let actual: Value = serde_json::from_str(&envelope.to_json()).expect("to_json writes JSON");
        assert_eq!(
            actual,
            expected,
            "the wire JSON of a {} message is wrong.\n  expected: {expected}\n  got:      \
             {actual}\n(chapter 03, \"Task 2: The wire format\")",
            envelope.body.kind()
        );
    }
}

async fn every_type_round_trips() {
    for (envelope, json) in every_type() {
        let kind = envelope.body.kind();
        let from_course = decode_value(&json);
        assert!(
            matches!(&from_course, Ok(decoded) if *decoded == envelope),
            "decoding the course's {kind} message {json} must give {envelope:?}, got \
             {from_course:?} (chapter 03, \"Task 3: The decoder\")"
        );
        let round_trip = decode_at(envelope.to_json(), NOW);
        assert!(
            matches!(&round_trip, Ok(decoded) if *decoded == envelope),
            "a {kind} message must survive to_json and decode unchanged: {envelope:?} came back \
             as {round_trip:?} (chapter 03, \"Task 2: The wire format\")"
        );
    }
    // Fields a newer client adds are ignored; optional fields may be null.
    let extended = text_with(|message| {
        message["priority"] = json!("high");
        message["data"]["replyTo"] = Value::Null;
        message["sender"]["avatar"] = Value::Null;
    });
    let decoded = decode_value(&extended);
    assert!(
        matches!(&decoded, Ok(envelope) if matches!(&envelope.body, Body::Text(chat) if chat.reply_to.is_none())),
        "unknown fields must be ignored and a null optional field read as None: {extended} \
         gave {decoded:?} (chapter 03, \"Task 3: The decoder\")"
    );
}

// ----------------------------------------------------------------- decoder

async fn unknown_type_is_a_clear_error() {
    for found in [
        json!("video"),
        json!("Text"),
        json!(""),
        json!(42),
        json!(["text"]),
    ] {
        let message = text_with(|message| message["type"] = found.clone());
        let error = decode_err(&message);
        let as_text = found.to_string();
        assert!(
            matches!(&error, DecodeError::UnknownType { found: shown } if *shown == as_text),
            "\"type\": {found} must give DecodeError::UnknownType {{ found: {as_text:?} }} (the \
             value as JSON text), got {error:?} (chapter 03, \"Task 3: The decoder\")"
        );
        let text = error.to_string();
        assert!(
            text.contains("heartbeat") && text.contains("text"),
            "the message of UnknownType must list the known types, got {text:?} \
             (chapter 03, \"Task 3: The decoder\")"
        );
    }
}

async fn bad_ids_are_rejected() {
    let long = "m".repeat(65);
    let bad_values = [
        (json!(""), "empty"),
        (json!("m 1"), "a space"),
        (json!(long), "65 characters"),
        (json!(17), "a number"),
    ];
    let places: [(&str, SetField); 5] = [
        ("id", |m, v| m["id"] = v),
        ("sender.id", |m, v| m["sender"]["id"] = v),
        ("data.conversationId", |m, v| {
            m["data"]["conversationId"] = v
        }),
        ("data.replyTo", |m, v| m["data"]["replyTo"] = v),
        ("data.messageId", |m, v| m["data"]["messageId"] = v),
    ];
    for (field, place) in places {
        for (value, what) in &bad_values {
            let mut message = if field == "data.messageId" {
                valid_json_of_every_type()
                    .into_iter()
                    .find(|m| m["type"] == "read")
                    .expect("a read message")
            } else {
                text_with(|_| {})
            };
            place(&mut message, value.clone());
            let error = decode_err(&message);
            assert!(
                matches!(&error, DecodeError::InvalidId { field: named, .. } if named == field),
                "{field} = {value} ({what}) must give DecodeError::InvalidId {{ field: {field:?}, \
                 .. }}, got {error:?} (chapter 03, \"Task 3: The decoder\")"
            );
        }
    }
    let error = decode_err(&text_with(|m| m["id"] = json!(17)));
    assert!(
        matches!(
            &error,
            DecodeError::InvalidId {
                source: InvalidId::NotAString,
                ..
            }
        ),
        "an id that is a JSON number must be InvalidId with source InvalidId::NotAString, got \
         {error:?} (chapter 03, \"Task 3: The decoder\")"
    );
}

async fn absurd_timestamps_are_rejected() {
    let skew = MAX_CLOCK_SKEW.as_millis() as u64;
    let rejected = [
        (
            json!(1_700_000_000),
            "seconds instead of milliseconds",
            "TooEarly",
        ),
        (json!(0), "zero", "TooEarly"),
        (
            json!(EARLIEST_TIMESTAMP_MS - 1),
            "just before RFC 6455",
            "TooEarly",
        ),
        (
            json!(NOW + skew + 1),
            "just beyond the clock skew",
            "InTheFuture",
        ),
        (json!(NOW * 1000), "microseconds", "InTheFuture"),
        (json!(u64::MAX), "u64::MAX", "InTheFuture"),
        (json!(-1), "negative", "NotMilliseconds"),
        (json!(1_700_000_000_000.5), "a fraction", "NotMilliseconds"),
        (
            json!("2023-11-14T22:13:20Z"),
            "a date string",
            "NotMilliseconds",
        ),
        (json!(true), "a boolean", "NotMilliseconds"),
    ];
    for (timestamp, what, expected) in rejected {
        let error = decode_err(&text_with(|m| m["timestamp"] = timestamp.clone()));
        let right = matches!(
            (&error, expected),
            (
                DecodeError::InvalidTimestamp(TimestampProblem::TooEarly { .. }),
                "TooEarly"
            ) | (
                DecodeError::InvalidTimestamp(TimestampProblem::InTheFuture { .. }),
                "InTheFuture"
            ) | (
                DecodeError::InvalidTimestamp(TimestampProblem::NotMilliseconds),
                "NotMilliseconds"
            )
        );
        assert!(
            right,
            "\"timestamp\": {timestamp} ({what}) must give \
             DecodeError::InvalidTimestamp(TimestampProblem::{expected}), got {error:?} \
             (chapter 03, \"Task 3: The decoder\")"
        );
    }
    // The chapter's five minutes, in plain numbers: a constant changed to
    // anything else moves these too.
    let six_minutes_ahead = text_with(|m| m["timestamp"] = json!(NOW + 6 * 60 * 1000));
    assert!(
        matches!(
            decode_value(&six_minutes_ahead),
            Err(DecodeError::InvalidTimestamp(
                TimestampProblem::InTheFuture { .. }
            ))
        ),
        "a timestamp six minutes ahead is beyond the five minutes of clock skew the chapter \
         allows (MAX_CLOCK_SKEW) and must be InTheFuture (chapter 03, \"Task 3: The decoder\")"
    );
    for (timestamp, what) in [
        (EARLIEST_TIMESTAMP_MS, "EARLIEST_TIMESTAMP_MS itself"),
        (NOW + skew, "exactly the clock skew ahead"),
        (
            NOW + 4 * 60 * 1000 + 59_000,
            "four minutes and 59 seconds ahead, within the five minutes of skew",
        ),
        (NOW - 3_600_000, "an hour ago"),
    ] {
        let result = decode_value(&text_with(|m| m["timestamp"] = json!(timestamp)));
        assert!(
            result.is_ok(),
            "\"timestamp\": {timestamp} ({what}) is a sane time and must be accepted, got {:?} \
             (chapter 03, \"Task 3: The decoder\")",
            result.err()
        );
    }
    // A clock at the end of time must not overflow the decoder.
    let message = text_with(|m| m["timestamp"] = json!(u64::MAX));
    let at_the_end = std::panic::catch_unwind(|| decode_at(message.to_string(), u64::MAX - 1));
    assert!(
        matches!(at_the_end, Ok(Ok(_))),
        "with now = u64::MAX - 1, timestamp u64::MAX is within the skew; the decoder must \
         neither overflow (use saturating_add) nor refuse it (chapter 03, \"Task 3: The decoder\")"
    );
}

async fn wrong_field_types_are_invalid_fields() {
    let cases: [(&str, Change); 5] = [
        ("\"isTyping\": \"yes\"", |m| {
            *m = json!({
                "id": "t-1", "type": "typing", "action": "typing_status", "timestamp": NOW,
                "data": { "conversationId": "c-1", "isTyping": "yes" }
            })
        }),
        ("\"level\": \"fatal\"", |m| {
            *m = json!({
                "id": "s-1", "type": "system", "action": "system_notification", "timestamp": NOW,
                "data": { "level": "fatal", "title": "t", "message": "m" }
            })
        }),
        ("\"content\": 5", |m| m["data"]["content"] = json!(5)),
        ("\"action\": [1]", |m| m["action"] = json!([1])),
        ("\"data\": []", |m| m["data"] = json!([])),
    ];
    for (what, change) in cases {
        let error = decode_err(&text_with(change));
        assert!(
            matches!(error, DecodeError::InvalidField(_)),
            "a message with {what} has all its fields but one of the wrong type or value: that \
             is DecodeError::InvalidField, got {error:?} (chapter 03, \"Task 3: The decoder\")"
        );
    }
    for (input, what) in [
        ("[1, 2]", "an array"),
        ("\"hi\"", "a string"),
        ("null", "null"),
    ] {
        let result = decode_at(input, NOW);
        assert!(
            matches!(result, Err(DecodeError::NotAnObject)),
            "{what} ({input}) is JSON but not an object: DecodeError::NotAnObject, got {:?} \
             (chapter 03, \"Task 3: The decoder\")",
            result.map(|_| "Ok")
        );
    }
    for input in ["{\"id\":", "hello", ""] {
        let result = decode_at(input, NOW);
        assert!(
            matches!(result, Err(DecodeError::NotJson(_))),
            "{input:?} is not JSON: DecodeError::NotJson, got {:?} \
             (chapter 03, \"Task 3: The decoder\")",
            result.map(|_| "Ok")
        );
    }
}

async fn decoder_never_panics_on_random_bytes() {
    let mut rng = Rng(0x0003_7e57_ab1e_5eed);
    const TOKENS: &[&str] = &[
        "{",
        "}",
        "[",
        "]",
        ":",
        ",",
        "\"",
        "\"id\"",
        "\"type\"",
        "\"data\"",
        "\"timestamp\"",
        "null",
        "true",
        "1e999",
        "-0",
        "1700000000000",
        "\\u0000",
        "\\ud800",
        "é",
        " ",
    ];
    for case in 0..CASES {
        let mut bytes = Vec::new();
        match case % 3 {
            0 => {
                for _ in 0..rng.below(64) {
                    bytes.push(rng.next() as u8);
                }
            }
            1 => {
                for _ in 0..rng.below(40) {
                    bytes.extend_from_slice(rng.pick(TOKENS).as_bytes());
                }
            }
            _ => {
                // Deep nesting: serde_json's recursion limit must turn it
                // into an error, not a stack overflow.
                let depth = 1 + rng.below(5_000);
                bytes.extend(std::iter::repeat_n(b'[', depth));
                bytes.extend(std::iter::repeat_n(b']', rng.below(depth + 1)));
            }
        }
        if let Ok(envelope) = decode_without_panic(&bytes, case) {
            assert_accepted_is_valid(&envelope, &bytes);
        }
    }
}

async fn decoder_never_panics_on_mutated_messages() {
    let mut rng = Rng(0x0003_f00d_cafe_0001);
    let valid = valid_json_of_every_type();
    let mut accepted = 0;
    for case in 0..CASES {
        let mut message = rng.pick(&valid).clone();
        for _ in 0..1 + rng.below(3) {
            mutate_value(&mut rng, &mut message);
        }
        let mut bytes = message.to_string().into_bytes();
        if case % 4 == 3 {
            mutate_bytes(&mut rng, &mut bytes);
        }
        if let Ok(envelope) = decode_without_panic(&bytes, case) {
            accepted += 1;
            assert_accepted_is_valid(&envelope, &bytes);
        }
    }
    assert!(
        accepted < CASES,
        "the decoder accepted every one of {CASES} mutated messages; it validates nothing \
         (chapter 03, \"Task 3: The decoder\")"
    );
}

/// One structural change: a field removed, replaced, or added, at the top
/// or one level down.
fn mutate_value(rng: &mut Rng, message: &mut Value) {
    let target = match rng.below(3) {
        0 => message.get_mut("data"),
        1 => message.get_mut("sender"),
        _ => Some(message),
    };
    let Some(Value::Object(object)) = target else {
        return;
    };
    let keys: Vec<String> = object.keys().cloned().collect();
    match rng.below(4) {
        0 if !keys.is_empty() => {
            let key = rng.pick(&keys).clone();
            object.remove(&key);
        }
        1 | 2 if !keys.is_empty() => {
            let key = rng.pick(&keys).clone();
            let value = rng.json(2);
            object.insert(key, value);
        }
        _ => {
            let key = rng.string();
            let value = rng.json(2);
            object.insert(key, value);
        }
    }
}

/// One change to the text: a byte flipped, inserted or removed, or the
/// text cut short.
fn mutate_bytes(rng: &mut Rng, bytes: &mut Vec<u8>) {
    if bytes.is_empty() {
        return;
    }
    let at = rng.below(bytes.len());
    match rng.below(4) {
        0 => bytes[at] ^= 1 << rng.below(8),
        1 => bytes.insert(at, rng.next() as u8),
        2 => {
            bytes.remove(at);
        }
        _ => bytes.truncate(at),
    }
}

// -------------------------------------------------------------- dispatcher

async fn handlers_get_their_typed_payload() {
    let seen = seen();
    let mut dispatcher = Dispatcher::new();
    let log = Arc::clone(&seen);
    dispatcher.on(NewMessage, move |message: Incoming<ChatMessage>| {
        let log = Arc::clone(&log);
        async move {
            tokio::task::yield_now().await;
            let sender = message.sender.map(|s| s.name).unwrap_or_default();
            record(
                &log,
                format!(
                    "{} {} {} from {sender}: {}",
                    message.id,
                    message.kind,
                    message.payload.conversation_id,
                    message.payload.content
                ),
            );
            Ok(())
        }
    });
    let log = Arc::clone(&seen);
    dispatcher.on(TypingStatus, move |typing: Incoming<TypingIndicator>| {
        let log = Arc::clone(&log);
        async move {
            record(
                &log,
                format!("{} typing {}", typing.id, typing.payload.is_typing),
            );
            Ok(())
        }
    });
    let log = Arc::clone(&seen);
    dispatcher.on(SystemNotification, move |notice: Incoming<SystemNotice>| {
        let log = Arc::clone(&log);
        async move {
            record(
                &log,
                format!(
                    "{} {:?} {}",
                    notice.id, notice.payload.level, notice.payload.title
                ),
            );
            Ok(())
        }
    });

    let messages = vec![
        envelope("m-1", "new_message", Body::Text(chat("hello"))),
        envelope(
            "m-2",
            "new_message",
            Body::Audio(chat("https://example.com/v.ogg")),
        ),
        envelope(
            "t-1",
            "typing_status",
            Body::Typing(TypingIndicator {
                conversation_id: id("c-1"),
                is_typing: true,
            }),
        ),
        envelope(
            "s-1",
            "system_notification",
            Body::System(SystemNotice {
                level: Level::Warning,
                title: "Maintenance".to_owned(),
                message: "soon".to_owned(),
            }),
        ),
    ];
    for message in messages {
        let action = message.action.clone();
        let outcome = dispatch(&dispatcher, message).await;
        assert!(
            matches!(&outcome, Outcome::Handled { action: handled } if *handled == action),
            "a {action} message with a registered handler must give Outcome::Handled {{ action: \
             {action:?} }}, got {outcome:?} (chapter 03, \"Task 4: Typed handlers\")"
        );
    }
    let frame = r#"{"id":"m-3","type":"file","action":"new_message","timestamp":1700000000000,
                    "data":{"conversationId":"c-2","content":"report.pdf"}}"#;
    let outcome = within(
        Duration::from_secs(3),
        "Dispatcher::dispatch_frame",
        dispatcher.dispatch_frame(frame),
    )
    .await;
    // dispatch_frame checks the timestamp against the real clock.
    assert!(
        matches!(
            &outcome,
            Outcome::Handled { .. } | Outcome::Rejected(DecodeError::InvalidTimestamp(_))
        ),
        "dispatch_frame of a valid file message gave {outcome:?} \
         (chapter 03, \"Task 5: Dispatching\")"
    );
    let mut expected = vec![
        "m-1 text c-1 from Ada: hello".to_owned(),
        "m-2 audio c-1 from Ada: https://example.com/v.ogg".to_owned(),
        "t-1 typing true".to_owned(),
        "s-1 Warning Maintenance".to_owned(),
    ];
    if matches!(outcome, Outcome::Handled { .. }) {
        expected.push("m-3 file c-2 from : report.pdf".to_owned());
    }
    assert_eq!(
        lines(&seen),
        expected,
        "each handler must receive its message, in order, with the envelope's id, kind and \
         sender and the typed payload (chapter 03, \"Task 4: Typed handlers\")"
    );
}

/// `message_read`: a custom action, as the chapter's "more handlers".
struct MessageRead;

impl Action for MessageRead {
    const NAME: &'static str = "message_read";
    type Payload = ReadReceipt;
}

/// `heartbeat`: a custom action whose payload is empty.
struct Beat;

impl Action for Beat {
    const NAME: &'static str = "heartbeat";
    type Payload = Heartbeat;
}

/// `audit`: a custom action that takes any message.
struct Audit;

impl Action for Audit {
    const NAME: &'static str = "audit";
    type Payload = Body;
}

async fn custom_actions_are_typed_too() {
    let seen = seen();
    let mut dispatcher = Dispatcher::new();
    let log = Arc::clone(&seen);
    dispatcher.on(MessageRead, move |read: Incoming<ReadReceipt>| {
        let log = Arc::clone(&log);
        async move {
            record(
                &log,
                format!(
                    "read {} up to {}",
                    read.payload.conversation_id, read.payload.message_id
                ),
            );
            Ok(())
        }
    });
    let log = Arc::clone(&seen);
    dispatcher.on(Beat, move |beat: Incoming<Heartbeat>| {
        let log = Arc::clone(&log);
        async move {
            record(&log, format!("beat {}", beat.id));
            Ok(())
        }
    });
    let log = Arc::clone(&seen);
    dispatcher.on(Audit, move |any: Incoming<Body>| {
        let log = Arc::clone(&log);
        async move {
            record(&log, format!("audit {}", any.payload.kind()));
            Ok(())
        }
    });
    let messages = vec![
        envelope(
            "r-1",
            "message_read",
            Body::Read(ReadReceipt {
                conversation_id: id("c-1"),
                message_id: id("m-9"),
            }),
        ),
        envelope("h-1", "heartbeat", Body::Heartbeat(Heartbeat {})),
        envelope("a-1", "audit", Body::Image(chat("x.png"))),
    ];
    for message in messages {
        let outcome = dispatch(&dispatcher, message).await;
        assert!(
            matches!(outcome, Outcome::Handled { .. }),
            "a custom action's handler must run like the course's: got {outcome:?} \
             (chapter 03, \"Task 4: Typed handlers\")"
        );
    }
    assert_eq!(
        lines(&seen),
        ["read c-1 up to m-9", "beat h-1", "audit image"],
        "the custom actions' handlers must receive their payloads \
         (chapter 03, \"Task 4: Typed handlers\")"
    );
}

async fn wrong_kind_never_reaches_a_handler() {
    let seen = seen();
    let mut dispatcher = Dispatcher::new();
    let log = Arc::clone(&seen);
    dispatcher.on(NewMessage, move |message: Incoming<ChatMessage>| {
        let log = Arc::clone(&log);
        async move {
            record(&log, format!("new_message {}", message.id));
            Ok(())
        }
    });
    let log = Arc::clone(&seen);
    dispatcher.on(TypingStatus, move |typing: Incoming<TypingIndicator>| {
        let log = Arc::clone(&log);
        async move {
            record(&log, format!("typing_status {}", typing.id));
            Ok(())
        }
    });
    let log = Arc::clone(&seen);
    dispatcher.fallback(move |envelope: Envelope| {
        let log = Arc::clone(&log);
        async move {
            record(&log, format!("fallback {}", envelope.id));
            Ok(())
        }
    });
    let typing_as_new = envelope(
        "t-1",
        "new_message",
        Body::Typing(TypingIndicator {
            conversation_id: id("c-1"),
            is_typing: true,
        }),
    );
    let outcome = dispatch(&dispatcher, typing_as_new).await;
    assert!(
        matches!(
            &outcome,
            Outcome::WrongKind { action, expected, found: MessageKind::Typing }
                if action == "new_message" && expected.len() == 4 && expected.contains(&MessageKind::Text)
        ),
        "a typing message with the action new_message must give Outcome::WrongKind {{ action: \
         \"new_message\", expected: [Text, Image, File, Audio], found: Typing }}, got {outcome:?} \
         (chapter 03, \"Task 4: Typed handlers\")"
    );
    let text_as_typing = envelope("m-1", "typing_status", Body::Text(chat("hi")));
    let outcome = dispatch(&dispatcher, text_as_typing).await;
    assert!(
        matches!(
            &outcome,
            Outcome::WrongKind { expected, found: MessageKind::Text, .. }
                if expected.to_vec() == [MessageKind::Typing]
        ),
        "a text message with the action typing_status must give Outcome::WrongKind, got \
         {outcome:?} (chapter 03, \"Task 4: Typed handlers\")"
    );
    assert!(
        lines(&seen).is_empty(),
        "no handler and no fallback may see a message of the wrong type, but they saw {:?} \
         (chapter 03, \"Task 4: Typed handlers\")",
        lines(&seen)
    );
    // Every payload type gives a body of another type back, unchanged.
    let text = Body::Text(chat("not a heartbeat"));
    let typing = Body::Typing(TypingIndicator {
        conversation_id: id("c-1"),
        is_typing: true,
    });
    for (payload, result) in [
        ("Heartbeat", Heartbeat::from_body(text.clone()).err()),
        (
            "TypingIndicator",
            TypingIndicator::from_body(text.clone()).err(),
        ),
        ("ChatMessage", ChatMessage::from_body(typing.clone()).err()),
    ] {
        let expected = if payload == "ChatMessage" {
            &typing
        } else {
            &text
        };
        assert_eq!(
            result.as_ref(),
            Some(expected),
            "{payload}::from_body of a body of another type must give it back as Err(body) \
             (chapter 03, \"Task 4: Typed handlers\")"
        );
    }
}

async fn failing_handler_is_reported_and_dispatch_goes_on() {
    let seen = seen();
    let mut dispatcher = Dispatcher::new();
    let log = Arc::clone(&seen);
    dispatcher.on(NewMessage, move |message: Incoming<ChatMessage>| {
        let log = Arc::clone(&log);
        async move {
            match message.payload.content.as_str() {
                "fail" => return Err(HandlerError::new("the database is down")),
                "parse" => {
                    let _: u32 = message.payload.content.parse()?;
                }
                _ => {}
            }
            record(&log, message.payload.content);
            Ok(())
        }
    });
    let contents = ["one", "fail", "two", "parse", "three"];
    let mut outcomes = Vec::new();
    for (index, content) in contents.into_iter().enumerate() {
        let message = envelope(
            &format!("m-{index}"),
            "new_message",
            Body::Text(chat(content)),
        );
        outcomes.push(dispatch(&dispatcher, message).await);
    }
    assert!(
        matches!(&outcomes[1], Outcome::Failed { action, error }
            if action == "new_message" && error.message() == "the database is down"),
        "a handler that returns Err must give Outcome::Failed with its error, got {:?} \
         (chapter 03, \"Task 5: Dispatching\")",
        outcomes[1]
    );
    if let Outcome::Failed { error, .. } = &outcomes[1] {
        assert_eq!(
            error.to_string(),
            "the database is down",
            "a HandlerError displays as its message (it is what the log shows) \
             (chapter 03, \"Task 5: Dispatching\")"
        );
    }
    let is_ok: Vec<bool> = outcomes.iter().map(Outcome::is_ok).collect();
    assert_eq!(
        is_ok,
        [true, false, true, false, true],
        "Outcome::is_ok is true for Handled (and Fallback) and false for Failed, for the \
         outcomes {outcomes:?} (chapter 03, \"Task 5: Dispatching\")"
    );
    assert!(
        matches!(&outcomes[3], Outcome::Failed { error, .. } if error.message().contains("invalid digit")),
        "an error returned with `?` must give Outcome::Failed carrying its text, got {:?} \
         (chapter 03, \"Task 5: Dispatching\")",
        outcomes[3]
    );
    for index in [0, 2, 4] {
        assert!(
            matches!(outcomes[index], Outcome::Handled { .. }),
            "after a failing handler the dispatcher must go on: message {index} gave {:?} \
             (chapter 03, \"Task 5: Dispatching\")",
            outcomes[index]
        );
    }
    assert_eq!(lines(&seen), ["one", "two", "three"]);
}

async fn panicking_handler_is_reported_and_dispatch_goes_on() {
    let seen = seen();
    let mut dispatcher = Dispatcher::new();
    let log = Arc::clone(&seen);
    dispatcher.on(NewMessage, move |message: Incoming<ChatMessage>| {
        let log = Arc::clone(&log);
        async move {
            tokio::task::yield_now().await;
            if message.payload.content == "boom" {
                panic!("handler exploded on {}", message.id);
            }
            record(&log, message.payload.content);
            Ok(())
        }
    });
    // This one panics before it even returns its future.
    dispatcher.on(TypingStatus, |typing: Incoming<TypingIndicator>| {
        if typing.payload.is_typing {
            panic!("typing handler exploded");
        }
        async { Ok(()) }
    });
    let messages = vec![
        envelope("m-1", "new_message", Body::Text(chat("one"))),
        envelope("m-2", "new_message", Body::Text(chat("boom"))),
        envelope(
            "t-1",
            "typing_status",
            Body::Typing(TypingIndicator {
                conversation_id: id("c-1"),
                is_typing: true,
            }),
        ),
        envelope("m-3", "new_message", Body::Text(chat("two"))),
    ];
    let mut outcomes = Vec::new();
    for message in messages {
        // A panic that escapes dispatch fails the check right here.
        outcomes.push(dispatch(&dispatcher, message).await);
    }
    assert!(
        matches!(&outcomes[1], Outcome::Panicked { action, message }
            if action == "new_message" && message.contains("handler exploded on m-2")),
        "a handler that panics must give Outcome::Panicked with the panic's message, got {:?} \
         (chapter 03, \"Task 5: Dispatching\")",
        outcomes[1]
    );
    assert!(
        matches!(&outcomes[2], Outcome::Panicked { message, .. } if message.contains("typing handler exploded")),
        "a handler that panics before returning its future must give Outcome::Panicked too, got \
         {:?}: call the handler inside the task (chapter 03, \"Task 5: Dispatching\")",
        outcomes[2]
    );
    assert!(
        matches!(outcomes[0], Outcome::Handled { .. })
            && matches!(outcomes[3], Outcome::Handled { .. }),
        "after a panicking handler the dispatcher must go on: got {outcomes:?} \
         (chapter 03, \"Task 5: Dispatching\")"
    );
    assert_eq!(lines(&seen), ["one", "two"]);
}

async fn unknown_action_goes_to_the_fallback() {
    let mut plain = Dispatcher::new();
    plain.on(NewMessage, |_message: Incoming<ChatMessage>| async {
        Ok(())
    });
    let outcome = dispatch(&plain, envelope("m-1", "dance", Body::Text(chat("hi")))).await;
    assert!(
        matches!(&outcome, Outcome::Fallback { action } if action == "dance"),
        "an unknown action without a fallback set must still give Outcome::Fallback {{ action: \
         \"dance\" }} (the default fallback logs a warning), got {outcome:?} \
         (chapter 03, \"Task 5: Dispatching\")"
    );

    let seen = seen();
    let mut dispatcher = Dispatcher::new();
    let log = Arc::clone(&seen);
    dispatcher.on(NewMessage, move |message: Incoming<ChatMessage>| {
        let log = Arc::clone(&log);
        async move {
            record(&log, format!("handler {}", message.id));
            Ok(())
        }
    });
    let log = Arc::clone(&seen);
    dispatcher.fallback(move |envelope: Envelope| {
        let log = Arc::clone(&log);
        async move {
            record(
                &log,
                format!(
                    "fallback {} {} {}",
                    envelope.id,
                    envelope.action,
                    envelope.body.kind()
                ),
            );
            if envelope.action == "explode" {
                return Err(HandlerError::new("fallback refused"));
            }
            Ok(())
        }
    });
    let outcomes = [
        dispatch(
            &dispatcher,
            envelope("m-1", "dance", Body::Text(chat("hi"))),
        )
        .await,
        dispatch(
            &dispatcher,
            envelope("m-2", "new_message", Body::Text(chat("hi"))),
        )
        .await,
        dispatch(
            &dispatcher,
            envelope("h-1", "sing", Body::Heartbeat(Heartbeat {})),
        )
        .await,
        dispatch(
            &dispatcher,
            envelope("m-3", "explode", Body::Text(chat("hi"))),
        )
        .await,
    ];
    assert!(
        matches!(&outcomes[0], Outcome::Fallback { action } if action == "dance")
            && matches!(&outcomes[1], Outcome::Handled { .. })
            && matches!(&outcomes[2], Outcome::Fallback { action } if action == "sing")
            && matches!(&outcomes[3], Outcome::Failed { error, .. } if error.message() == "fallback refused"),
        "unknown actions go to the fallback (Outcome::Fallback, or Failed when it returns Err), \
         known ones to their handler; got {outcomes:?} (chapter 03, \"Task 5: Dispatching\")"
    );
    assert_eq!(
        lines(&seen),
        [
            "fallback m-1 dance text",
            "handler m-2",
            "fallback h-1 sing heartbeat",
            "fallback m-3 explode text"
        ],
        "the fallback must receive the whole envelope of each unknown action, and nothing else \
         (chapter 03, \"Task 5: Dispatching\")"
    );
}

// ------------------------------------------------------------ real socket

async fn frames_from_a_real_socket_are_dispatched() {
    let server = TestServer::start()
        .await
        .expect("the testkit server should start");
    let (mut socket, _) = within(
        Duration::from_secs(3),
        "connecting to the testkit echo server",
        tokio_tungstenite::connect_async(server.ws_url("/ws")),
    )
    .await
    .expect("the testkit echo server accepts the connection");

    let seen = seen();
    let mut dispatcher = Dispatcher::new();
    let log = Arc::clone(&seen);
    dispatcher.on(NewMessage, move |message: Incoming<ChatMessage>| {
        let log = Arc::clone(&log);
        async move {
            record(&log, message.payload.content);
            Ok(())
        }
    });

    let live = |id: &str, content: String| {
        Envelope {
            timestamp: messages::now_ms(),
            ..envelope(id, "new_message", Body::Text(chat(&content)))
        }
        .to_json()
    };
    // 100 KiB: over our limit, under the server's 1 MiB. Sent as 25 frames
    // of 4 KiB each: every *frame* is small, the *message* is not.
    let big = live("m-big", "x".repeat(100 * 1024));
    let chunks: Vec<&[u8]> = big.as_bytes().chunks(4 * 1024).collect();
    socket
        .send(Message::text(live("m-1", "one".to_owned())))
        .await
        .expect("send");
    socket.send(Message::text("hello?")).await.expect("send");
    for (index, chunk) in chunks.iter().enumerate() {
        let opcode = if index == 0 {
            OpCode::Data(Data::Text)
        } else {
            OpCode::Data(Data::Continue)
        };
        let frame = Frame::message(chunk.to_vec(), opcode, index + 1 == chunks.len());
        socket
            .feed(Message::Frame(frame))
            .await
            .expect("send a fragment");
    }
    socket.flush().await.expect("flush the fragments");
    socket
        .send(Message::text(live("m-2", "two".to_owned())))
        .await
        .expect("send");

    let mut outcomes = Vec::new();
    while outcomes.len() < 4 {
        let frame = within(
            Duration::from_secs(3),
            "the echo of a message",
            socket.next(),
        )
        .await
        .expect("the echo server keeps the connection open")
        .expect("reading from the echo server");
        if let Message::Text(text) = frame {
            outcomes.push(dispatcher.dispatch_frame(text.as_str()).await);
        }
    }
    assert!(
        matches!(outcomes[0], Outcome::Handled { .. })
            && matches!(outcomes[1], Outcome::Rejected(DecodeError::NotJson(_)))
            && matches!(
                outcomes[2],
                Outcome::Rejected(DecodeError::TooLarge { size, limit })
                    if size == big.len() && limit == MAX_MESSAGE_SIZE
            )
            && matches!(outcomes[3], Outcome::Handled { .. }),
        "echoed frames: a valid message, \"hello?\", a 100 KiB message sent in 25 fragments of \
         4 KiB, a valid message; expected Handled, Rejected(NotJson), Rejected(TooLarge), Handled \
         (the limit is per message, not per frame), got {outcomes:?} \
         (chapter 03, \"Message size limits\")"
    );
    assert_eq!(lines(&seen), ["one", "two"]);
    let _ = socket.close(None).await;
    server.shutdown().await;

    // The chapter's 64 KiB, in plain numbers: a long text just under it is
    // a message like any other, one just over it is TooLarge.
    let long = text_with(|m| m["content"] = json!("x".repeat(60 * 1024)));
    assert!(
        decode_value(&long).is_ok(),
        "a valid message of about 60 KiB is under the 64 KiB limit and must be accepted \
         (chapter 03, \"Message size limits\")"
    );
    let over = text_with(|m| m["content"] = json!("x".repeat(64 * 1024)));
    assert!(
        matches!(
            decode_value(&over),
            Err(DecodeError::TooLarge { limit: 65_536, .. })
        ),
        "a valid message with 64 KiB of text is over the 64 KiB limit and must be \
         DecodeError::TooLarge with limit 65536 (chapter 03, \"Message size limits\")"
    );
}
