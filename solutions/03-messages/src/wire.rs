//! The wire format: what one message looks like as JSON on the socket.
//!
//! The course's envelope is `{ id, type, action, data, timestamp, sender? }`
//! where `type` says what shape `data` has. In Rust that is a struct for the
//! fields every message has ([`Envelope`]) and an enum for the rest
//! ([`Body`]): serde writes the enum's variant name as `type` and its content
//! as `data` (an *adjacently tagged* enum), and `#[serde(flatten)]` puts both
//! beside the envelope's own fields. A `typing` message therefore cannot carry
//! a chat message's data: the compiler, not a runtime check, keeps `type` and
//! `data` in agreement.
//!
//! Rust names are `snake_case`, the course's JSON is `camelCase`
//! (`conversationId`, `isTyping`); `#[serde(rename_all = "camelCase")]`
//! translates, so neither side gives up its conventions.

use serde::{Deserialize, Serialize};

// ANCHOR: id
/// The longest id, in characters. A UUID has 36, a database key or a
/// `nanoid` fewer; 64 leaves room for a prefix such as `msg-`.
pub const MAX_ID_LEN: usize = 64;

/// An id of a message, a conversation or a user: 1 to [`MAX_ID_LEN`]
/// characters, each an ASCII letter, digit, `-` or `_`.
///
/// Ids end up in log lines, file names and URLs, so the format is strict on
/// purpose. An `Id` can only be made through [`Id::new`] (serde goes through
/// it too, with `try_from`), so every `Id` in the program is a valid one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Id(String);

/// Why a text is not an [`Id`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidId {
    /// The id is the empty string.
    #[error("an id must not be empty")]
    Empty,
    /// The id is longer than [`MAX_ID_LEN`] characters.
    #[error("an id has at most {max} characters; this one has {len}")]
    TooLong {
        /// Its length in characters.
        len: usize,
        /// [`MAX_ID_LEN`].
        max: usize,
    },
    /// A character other than `A-Z a-z 0-9 - _`.
    #[error("an id may only hold A-Z, a-z, 0-9, '-' and '_'; found {found:?} at position {at}")]
    BadCharacter {
        /// The first character that is not allowed.
        found: char,
        /// Its position (in characters, from 0).
        at: usize,
    },
    /// In a JSON message, the id is not a string at all (a number, `true`, …).
    #[error("an id must be a JSON string")]
    NotAString,
}

impl Id {
    /// Checks `text` and makes it an id.
    pub fn new(text: impl Into<String>) -> Result<Id, InvalidId> {
        // ANCHOR_END: id
        // region: solution
        let text = text.into();
        if text.is_empty() {
            return Err(InvalidId::Empty);
        }
        // Checked before the characters, and counted lazily, so that a
        // megabyte of `a`s is refused after 65 of them.
        if text.chars().nth(MAX_ID_LEN).is_some() {
            return Err(InvalidId::TooLong {
                len: text.chars().count(),
                max: MAX_ID_LEN,
            });
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if let Some((at, found)) = text.chars().enumerate().find(|&(_, c)| !allowed(c)) {
            return Err(InvalidId::BadCharacter { found, at });
        }
        Ok(Id(text))
        // region: stub
        // todo!("Task 1: check the id's length and characters (chapter 03, section \"Task 1: Ids\")")
        // endregion
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Id {
    type Error = InvalidId;

    fn try_from(text: String) -> Result<Id, InvalidId> {
        Id::new(text)
    }
}

impl From<Id> for String {
    fn from(id: Id) -> String {
        id.0
    }
}

impl std::fmt::Display for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

// ANCHOR: envelope
/// One message as it travels: the course's
/// `{ id, type, action, data, timestamp, sender? }`.
///
/// `type` and `data` live in [`Body`], flattened into the same JSON object.
/// Fields the format does not know are ignored when decoding, so a newer
/// peer can add one without breaking older ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// Unique per message; receipts and replies refer to it.
    pub id: Id,
    /// What the receiver should do with the message (`new_message`,
    /// `typing_status`, …): the key the [`Dispatcher`](crate::Dispatcher)
    /// looks handlers up by. Free text on the wire; unknown actions go to a
    /// fallback.
    pub action: String,
    /// When the message was sent, in milliseconds since the Unix epoch (what
    /// JavaScript's `Date.now()` gives).
    pub timestamp: u64,
    /// Who sent it; absent (not `null`) for messages from the server itself.
    // region: solution
    #[serde(default, skip_serializing_if = "Option::is_none")]
    // region: stub
    // // Task 2: a serde attribute goes here (chapter 03, "Task 2: The wire format")
    // endregion
    pub sender: Option<Sender>,
    /// The message's `type` and its `data`.
    // region: solution
    #[serde(flatten)]
    // region: stub
    // // Task 2: a serde attribute goes here (chapter 03, "Task 2: The wire format")
    // endregion
    pub body: Body,
}

/// The sender of a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sender {
    /// The user's id.
    pub id: Id,
    /// The name to show.
    pub name: String,
    /// A URL of the user's picture; absent when they have none.
    // region: solution
    #[serde(default, skip_serializing_if = "Option::is_none")]
    // region: stub
    // // Task 2: a serde attribute goes here (chapter 03, "Task 2: The wire format")
    // endregion
    pub avatar: Option<String>,
}
// ANCHOR_END: envelope

// ANCHOR: body
/// A message's `type` and its `data`, one variant per type of the course.
///
/// The four chat types share one payload, [`ChatMessage`]: a chat message's
/// type is limited to `text | image | file | audio` because no other variant
/// holds a `ChatMessage`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
// region: solution
#[serde(tag = "type", content = "data", rename_all = "lowercase")]
// region: stub
// // Task 2: a serde attribute goes here (chapter 03, "Task 2: The wire format")
// endregion
pub enum Body {
    /// `"type": "text"`: a chat message whose content is text.
    Text(ChatMessage),
    /// `"type": "image"`: a chat message whose content is an image's URL.
    Image(ChatMessage),
    /// `"type": "file"`: a chat message whose content is a file's URL.
    File(ChatMessage),
    /// `"type": "audio"`: a chat message whose content is a recording's URL.
    Audio(ChatMessage),
    /// `"type": "system"`: a notice from the server.
    System(SystemNotice),
    /// `"type": "typing"`: someone started or stopped typing.
    Typing(TypingIndicator),
    /// `"type": "read"`: someone read a conversation up to a message.
    Read(ReadReceipt),
    /// `"type": "heartbeat"`: "I am still here"; its `data` is `{}`.
    Heartbeat(Heartbeat),
}
// ANCHOR_END: body

// ANCHOR: payloads
/// The data of a `text`, `image`, `file` or `audio` message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
// region: solution
#[serde(rename_all = "camelCase")]
// region: stub
// // Task 2: a serde attribute goes here (chapter 03, "Task 2: The wire format")
// endregion
pub struct ChatMessage {
    /// The conversation it belongs to (`conversationId`).
    pub conversation_id: Id,
    /// The text, or the URL of the image, file or recording.
    pub content: String,
    /// The message it answers (`replyTo`); absent when it answers none.
    // region: solution
    #[serde(default, skip_serializing_if = "Option::is_none")]
    // region: stub
    // // Task 2: a serde attribute goes here (chapter 03, "Task 2: The wire format")
    // endregion
    pub reply_to: Option<Id>,
}

/// The data of a `typing` message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
// region: solution
#[serde(rename_all = "camelCase")]
// region: stub
// // Task 2: a serde attribute goes here (chapter 03, "Task 2: The wire format")
// endregion
pub struct TypingIndicator {
    /// The conversation someone types in (`conversationId`).
    pub conversation_id: Id,
    /// `true` when they started typing, `false` when they stopped (`isTyping`).
    pub is_typing: bool,
}

/// The data of a `system` message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemNotice {
    /// How serious it is.
    pub level: Level,
    /// A short title.
    pub title: String,
    /// The notice itself.
    pub message: String,
}

/// The level of a [`SystemNotice`]: `"info"`, `"warning"` or `"error"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
// region: solution
#[serde(rename_all = "lowercase")]
// region: stub
// // Task 2: a serde attribute goes here (chapter 03, "Task 2: The wire format")
// endregion
pub enum Level {
    /// For information.
    Info,
    /// Something the user should know about.
    Warning,
    /// Something failed.
    Error,
}

/// The data of a `read` message: the reader has seen the conversation up to
/// and including `message_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
// region: solution
#[serde(rename_all = "camelCase")]
// region: stub
// // Task 2: a serde attribute goes here (chapter 03, "Task 2: The wire format")
// endregion
pub struct ReadReceipt {
    /// The conversation (`conversationId`).
    pub conversation_id: Id,
    /// The last message read (`messageId`).
    pub message_id: Id,
}

/// The data of a `heartbeat` message: nothing, written as `{}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Heartbeat {}
// ANCHOR_END: payloads

// ANCHOR: kind
/// The eight message types of the course, without their data: what `type`
/// says on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// `text`
    Text,
    /// `image`
    Image,
    /// `file`
    File,
    /// `audio`
    Audio,
    /// `system`
    System,
    /// `typing`
    Typing,
    /// `read`
    Read,
    /// `heartbeat`
    Heartbeat,
}

impl MessageKind {
    /// Every kind, in the course's order.
    pub const ALL: [MessageKind; 8] = [
        MessageKind::Text,
        MessageKind::Image,
        MessageKind::File,
        MessageKind::Audio,
        MessageKind::System,
        MessageKind::Typing,
        MessageKind::Read,
        MessageKind::Heartbeat,
    ];

    /// The name on the wire, the value of `type`.
    pub fn name(self) -> &'static str {
        match self {
            MessageKind::Text => "text",
            MessageKind::Image => "image",
            MessageKind::File => "file",
            MessageKind::Audio => "audio",
            MessageKind::System => "system",
            MessageKind::Typing => "typing",
            MessageKind::Read => "read",
            MessageKind::Heartbeat => "heartbeat",
        }
    }

    /// The kind whose wire name is `name`, if there is one.
    pub fn from_name(name: &str) -> Option<MessageKind> {
        MessageKind::ALL
            .into_iter()
            .find(|kind| kind.name() == name)
    }

    /// The fields `data` must have for this kind, by their wire names.
    pub fn required_fields(self) -> &'static [&'static str] {
        match self {
            MessageKind::Text | MessageKind::Image | MessageKind::File | MessageKind::Audio => {
                &["conversationId", "content"]
            }
            MessageKind::System => &["level", "title", "message"],
            MessageKind::Typing => &["conversationId", "isTyping"],
            MessageKind::Read => &["conversationId", "messageId"],
            MessageKind::Heartbeat => &[],
        }
    }

    /// The fields of `data` that hold an [`Id`] (when present), by their wire
    /// names.
    pub fn id_fields(self) -> &'static [&'static str] {
        match self {
            MessageKind::Text | MessageKind::Image | MessageKind::File | MessageKind::Audio => {
                &["conversationId", "replyTo"]
            }
            MessageKind::Typing => &["conversationId"],
            MessageKind::Read => &["conversationId", "messageId"],
            MessageKind::System | MessageKind::Heartbeat => &[],
        }
    }
}

impl std::fmt::Display for MessageKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Body {
    /// The message's kind, the value of its `type`.
    pub fn kind(&self) -> MessageKind {
        match self {
            Body::Text(_) => MessageKind::Text,
            Body::Image(_) => MessageKind::Image,
            Body::File(_) => MessageKind::File,
            Body::Audio(_) => MessageKind::Audio,
            Body::System(_) => MessageKind::System,
            Body::Typing(_) => MessageKind::Typing,
            Body::Read(_) => MessageKind::Read,
            Body::Heartbeat(_) => MessageKind::Heartbeat,
        }
    }
}

impl Envelope {
    /// The message as JSON text, ready for `Message::text`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self)
            .expect("an Envelope always serializes: every key is a string, every number a u64")
    }
}
// ANCHOR_END: kind
