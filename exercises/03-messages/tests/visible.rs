//! Visible checks of unit 03, for the first tasks: ids, the wire JSON of
//! chat, typing and system messages, and the decoder's first checks (size,
//! required fields). Run them with `cargo test`.
//!
//! The expected JSON is written out in each check: it *is* the wire format
//! of the course, so a difference is a message another client would not
//! understand. `cargo grade 03` runs these and the hidden checks.

use messages::{
    Body, ChatMessage, DecodeError, Envelope, Id, InvalidId, Level, MAX_ID_LEN, MAX_MESSAGE_SIZE,
    Sender, SystemNotice, TypingIndicator, decode_at,
};
use serde_json::{Value, json};

checkkit::checks! {
    ids_are_checked,
    chat_message_wire_json,
    typing_and_system_wire_json,
    decodes_the_course_examples,
    oversize_input_is_rejected_before_parsing,
    missing_fields_are_named,
}

/// "Now" for every decode: 2023-11-14T22:13:20Z, in milliseconds.
const NOW: u64 = 1_700_000_000_000;

fn id(text: &str) -> Id {
    match Id::new(text) {
        Ok(id) => id,
        Err(error) => panic!(
            "Id::new({text:?}) must accept a valid id, but returned {error:?} \
             (chapter 03, \"Task 1: Ids\")"
        ),
    }
}

fn envelope(action: &str, sender: Option<Sender>, body: Body) -> Envelope {
    Envelope {
        id: id("m-1"),
        action: action.to_owned(),
        timestamp: NOW,
        sender,
        body,
    }
}

fn ada() -> Sender {
    Sender {
        id: id("u-1"),
        name: "Ada".to_owned(),
        avatar: Some("https://example.com/ada.png".to_owned()),
    }
}

/// The envelope as a JSON value, through `to_json` (the text on the wire).
fn wire(envelope: &Envelope) -> Value {
    serde_json::from_str(&envelope.to_json()).expect("to_json writes JSON")
}

fn assert_wire(envelope: &Envelope, expected: Value, what: &str) {
    let actual = wire(envelope);
    assert_eq!(
        actual, expected,
        "the wire JSON of {what} is wrong.\n  expected: {expected}\n  got:      {actual}\n\
         Check the serde attributes: camelCase names, `type`/`data` from the Body, optional \
         fields left out when None (chapter 03, \"Task 2: The wire format\")"
    );
}

fn decode_err(value: &Value) -> DecodeError {
    match decode_at(value.to_string(), NOW) {
        Err(error) => error,
        Ok(envelope) => panic!(
            "decode accepted an invalid message: {value}\n  decoded: {envelope:?} \
             (chapter 03, \"Task 3: The decoder\")"
        ),
    }
}

/// A valid text message as a JSON value, for the decoder checks to break.
fn valid_text_json() -> Value {
    json!({
        "id": "m-1",
        "type": "text",
        "action": "new_message",
        "data": { "conversationId": "c-1", "content": "hello", "replyTo": "m-0" },
        "timestamp": NOW,
        "sender": { "id": "u-1", "name": "Ada" }
    })
}

async fn ids_are_checked() {
    let uuid = "3f2b8c1e-9d4a-4e6b-8f0a-2c5d7e9b1a3c";
    let longest = "a".repeat(MAX_ID_LEN);
    for good in ["m-1", "a", "user_42", "Z9", uuid, longest.as_str()] {
        let made = Id::new(good);
        assert!(
            matches!(&made, Ok(made) if made.as_str() == good),
            "Id::new({good:?}) must accept it and keep the text, got {made:?} \
             (chapter 03, \"Task 1: Ids\")"
        );
    }
    let too_long = "a".repeat(MAX_ID_LEN + 1);
    let cases: [(&str, InvalidId); 5] = [
        ("", InvalidId::Empty),
        (
            too_long.as_str(),
            InvalidId::TooLong {
                len: MAX_ID_LEN + 1,
                max: MAX_ID_LEN,
            },
        ),
        ("a b", InvalidId::BadCharacter { found: ' ', at: 1 }),
        ("msg/1", InvalidId::BadCharacter { found: '/', at: 3 }),
        ("ça", InvalidId::BadCharacter { found: 'ç', at: 0 }),
    ];
    for (bad, expected) in cases {
        let made = Id::new(bad);
        assert_eq!(
            made.as_ref().err(),
            Some(&expected),
            "Id::new({bad:?}) must fail with {expected:?}, got {made:?} \
             (chapter 03, \"Task 1: Ids\")"
        );
    }
    let through_serde = serde_json::from_str::<Id>("\"a b\"");
    assert!(
        through_serde.is_err(),
        "serde must go through Id::new too (#[serde(try_from = \"String\")]); it accepted \
         \"a b\" (chapter 03, \"Task 1: Ids\")"
    );
}

async fn chat_message_wire_json() {
    let full = envelope(
        "new_message",
        Some(ada()),
        Body::Text(ChatMessage {
            conversation_id: id("c-1"),
            content: "hello".to_owned(),
            reply_to: Some(id("m-0")),
        }),
    );
    assert_wire(
        &full,
        json!({
            "id": "m-1",
            "type": "text",
            "action": "new_message",
            "data": { "conversationId": "c-1", "content": "hello", "replyTo": "m-0" },
            "timestamp": 1_700_000_000_000_u64,
            "sender": { "id": "u-1", "name": "Ada", "avatar": "https://example.com/ada.png" }
        }),
        "a text message with a sender and a replyTo",
    );
    let bare = envelope(
        "new_message",
        None,
        Body::Image(ChatMessage {
            conversation_id: id("c-1"),
            content: "https://example.com/cat.jpg".to_owned(),
            reply_to: None,
        }),
    );
    assert_wire(
        &bare,
        json!({
            "id": "m-1",
            "type": "image",
            "action": "new_message",
            "data": { "conversationId": "c-1", "content": "https://example.com/cat.jpg" },
            "timestamp": 1_700_000_000_000_u64
        }),
        "an image message without sender and replyTo (absent, not null)",
    );
}

async fn typing_and_system_wire_json() {
    let typing = envelope(
        "typing_status",
        Some(Sender {
            avatar: None,
            ..ada()
        }),
        Body::Typing(TypingIndicator {
            conversation_id: id("c-1"),
            is_typing: true,
        }),
    );
    assert_wire(
        &typing,
        json!({
            "id": "m-1",
            "type": "typing",
            "action": "typing_status",
            "data": { "conversationId": "c-1", "isTyping": true },
            "timestamp": 1_700_000_000_000_u64,
            "sender": { "id": "u-1", "name": "Ada" }
        }),
        "a typing message",
    );
    let system = envelope(
        "system_notification",
        None,
        Body::System(SystemNotice {
            level: Level::Warning,
            title: "Maintenance".to_owned(),
            message: "The server restarts at 22:00.".to_owned(),
        }),
    );
    assert_wire(
        &system,
        json!({
            "id": "m-1",
            "type": "system",
            "action": "system_notification",
            "data": {
                "level": "warning",
                "title": "Maintenance",
                "message": "The server restarts at 22:00."
            },
            "timestamp": 1_700_000_000_000_u64
        }),
        "a system message",
    );
}

async fn decodes_the_course_examples() {
    let examples = [
        (
            r#"{"id":"m-1","type":"text","action":"new_message","timestamp":1700000000000,
               "data":{"conversationId":"c-1","content":"hello","replyTo":"m-0"},
               "sender":{"id":"u-1","name":"Ada","avatar":"https://example.com/ada.png"}}"#,
            envelope(
                "new_message",
                Some(ada()),
                Body::Text(ChatMessage {
                    conversation_id: id("c-1"),
                    content: "hello".to_owned(),
                    reply_to: Some(id("m-0")),
                }),
            ),
        ),
        (
            r#"{"id":"m-1","type":"typing","action":"typing_status","timestamp":1700000000000,
               "data":{"conversationId":"c-1","isTyping":false}}"#,
            envelope(
                "typing_status",
                None,
                Body::Typing(TypingIndicator {
                    conversation_id: id("c-1"),
                    is_typing: false,
                }),
            ),
        ),
        (
            r#"{"id":"m-1","type":"system","action":"system_notification","timestamp":1700000000000,
               "data":{"level":"error","title":"Oops","message":"Try again later."}}"#,
            envelope(
                "system_notification",
                None,
                Body::System(SystemNotice {
                    level: Level::Error,
                    title: "Oops".to_owned(),
                    message: "Try again later.".to_owned(),
                }),
            ),
        ),
    ];
    for (text, expected) in examples {
        match decode_at(text, NOW) {
            Ok(decoded) => assert_eq!(
                decoded, expected,
                "decode({text}) gave the wrong value (chapter 03, \"Task 3: The decoder\")"
            ),
            Err(error) => panic!(
                "decode must accept this valid message, but returned {error:?}: {text} \
                 (chapter 03, \"Task 3: The decoder\")"
            ),
        }
    }
}

async fn oversize_input_is_rejected_before_parsing() {
    // Not JSON at all: only a decoder that measures *before* parsing can
    // call it TooLarge.
    let garbage = vec![b'{'; MAX_MESSAGE_SIZE + 1];
    let result = decode_at(&garbage, NOW);
    assert!(
        matches!(
            result,
            Err(DecodeError::TooLarge { size, limit })
                if size == MAX_MESSAGE_SIZE + 1 && limit == MAX_MESSAGE_SIZE
        ),
        "{} bytes of '{{' must be DecodeError::TooLarge {{ size: {}, limit: {MAX_MESSAGE_SIZE} }}, \
         got {result:?}: check the size before parsing (chapter 03, \"Message size limits\")",
        MAX_MESSAGE_SIZE + 1,
        MAX_MESSAGE_SIZE + 1
    );

    // A valid message padded to exactly the limit passes; one byte more fails.
    let padded = |size: usize| {
        let mut message = valid_text_json();
        let base = message.to_string().len();
        message["data"]["content"] = json!(format!("hello{}", "x".repeat(size - base)));
        let text = message.to_string();
        assert_eq!(text.len(), size, "the check's padding is off");
        text
    };
    let at_limit = padded(MAX_MESSAGE_SIZE);
    let result = decode_at(&at_limit, NOW);
    assert!(
        result.is_ok(),
        "a valid message of exactly MAX_MESSAGE_SIZE bytes must be accepted, got {:?} \
         (chapter 03, \"Message size limits\")",
        result.err()
    );
    let over = padded(MAX_MESSAGE_SIZE + 1);
    let result = decode_at(&over, NOW);
    assert!(
        matches!(result, Err(DecodeError::TooLarge { .. })),
        "a valid message of MAX_MESSAGE_SIZE + 1 bytes must be DecodeError::TooLarge, got {:?} \
         (chapter 03, \"Message size limits\")",
        result.map(|_| "Ok")
    );
}

async fn missing_fields_are_named() {
    for field in ["id", "type", "action", "data", "timestamp"] {
        for how in ["absent", "null"] {
            let mut message = valid_text_json();
            let object = message.as_object_mut().expect("an object");
            if how == "absent" {
                object.remove(field);
            } else {
                object.insert(field.to_owned(), Value::Null);
            }
            let error = decode_err(&message);
            assert!(
                matches!(&error, DecodeError::MissingField { field: named } if named == field),
                "a message whose {field:?} is {how} must give DecodeError::MissingField \
                 {{ field: {field:?} }}, got {error:?} (chapter 03, \"Task 3: The decoder\")"
            );
        }
    }
    let nested = [
        ("data", "conversationId", "data.conversationId"),
        ("data", "content", "data.content"),
        ("sender", "name", "sender.name"),
        ("sender", "id", "sender.id"),
    ];
    for (parent, field, path) in nested {
        let mut message = valid_text_json();
        message[parent]
            .as_object_mut()
            .expect("an object")
            .remove(field);
        let error = decode_err(&message);
        assert!(
            matches!(&error, DecodeError::MissingField { field: named } if named == path),
            "a text message without {path} must give DecodeError::MissingField \
             {{ field: {path:?} }}, got {error:?} (chapter 03, \"Task 3: The decoder\")"
        );
    }
}
