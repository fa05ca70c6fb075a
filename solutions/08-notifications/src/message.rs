//! The envelope this unit reads: the course's message, reduced to what a
//! notification needs. Unit 03 decodes and validates the full envelope; here
//! the messages are assumed valid, and `data` stays loose JSON because each
//! kind of message puts different fields in it.

use serde::{Deserialize, Serialize};

// ANCHOR: message
/// The kind of a message: the envelope's `type`. Only `text` and `system`
/// become notifications; the others are there so that the centre can be fed
/// the whole stream and ignore what is not for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    /// A chat message from a user.
    Text,
    /// A message from the server itself.
    System,
    /// "Someone is typing": never a notification.
    Typing,
    /// A keep-alive: never a notification.
    Heartbeat,
}

/// One message of the stream, as the course's envelope spells it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Unique per message; becomes the notification's id (and its default tag).
    pub id: String,
    /// `text`, `system`, …
    #[serde(rename = "type")]
    pub kind: MessageKind,
    /// What the message asks for, e.g. `new_message`.
    pub action: String,
    /// The payload: `content`, `title`, `level`, `action`, `conversationId`,
    /// `tag`, `priority`, depending on the message.
    #[serde(default)]
    pub data: serde_json::Value,
    /// Milliseconds since the Unix epoch.
    pub timestamp: u64,
}
// ANCHOR_END: message
