//! The wire protocol between the chat server and its clients.
//!
//! Everything but attachment bytes travels as JSON in **text** frames, one
//! object per frame with a `"type"` tag ([`ClientMessage`] one way,
//! [`ServerMessage`] the other). Attachment bytes travel in **binary** frames
//! so that a 900 KiB image is not inflated by a third through base64; a
//! binary frame carries its own small JSON header in front of the bytes
//! ([`encode_binary`], [`decode_binary`]):
//!
//! ```text
//! [ header length: u32, big-endian ][ header: JSON ][ the bytes … ]
//! ```
//!
//! Upload frames (client → server) carry an [`UploadHeader`]; the answer to
//! a [`ClientMessage::Fetch`] (server → client) carries a [`DownloadHeader`].
//! One self-describing frame per attachment means there is no "the next
//! binary frame belongs to the previous text frame" state to get wrong.

use serde::{Deserialize, Serialize, de::DeserializeOwned};

// ANCHOR: types
/// What a chat message holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// Plain text (shortcodes already turned into emoji by the server).
    Text,
    /// An image attachment; `text` is empty, the bytes are fetched by id.
    Image,
    /// Any other file.
    File,
}

/// Where a message is on its way to the other members, as its author sees
/// it. The order is the order of the variants: a status only moves forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The server has stored it and given it its place in the room.
    Sent,
    /// Another member's client has received it.
    Delivered,
    /// Another member has read it.
    Read,
}

/// An attachment's description; its bytes are fetched with
/// [`ClientMessage::Fetch`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentInfo {
    /// The file name the uploader gave.
    pub name: String,
    /// Its media type, e.g. `image/png`.
    pub mime: String,
    /// Its size in bytes.
    pub size: u64,
}

/// One stored chat message, as history, live message and search result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Unique across the server; receipts and fetches name it.
    pub id: i64,
    /// The room it was posted in.
    pub room: String,
    /// Its place in the room: 1, 2, 3, … with no gaps. Ordering is per room.
    pub seq: i64,
    /// Who posted it.
    pub user: String,
    /// Text, image or file.
    pub kind: MessageKind,
    /// The text (empty for attachments).
    pub text: String,
    /// The attachment, for images and files.
    pub attachment: Option<AttachmentInfo>,
    /// When the server stored it, in milliseconds since the Unix epoch.
    pub sent_at: i64,
    /// How far it got: see [`Status`].
    pub status: Status,
}
// ANCHOR_END: types

// ANCHOR: client_message
/// What a client sends, as JSON text frames.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// Enter a room: the server answers [`ServerMessage::Joined`] with the
    /// room's recent history, then sends every new message.
    Join {
        /// The room's name.
        room: String,
    },
    /// Leave a room.
    Leave {
        /// The room's name.
        room: String,
    },
    /// Post a text message. `client_id` comes back in [`ServerMessage::Sent`].
    Text {
        /// The room to post in (the client must have joined it).
        room: String,
        /// Chosen by the client, to match the acknowledgement to the message.
        client_id: String,
        /// The text; `:shortcode:`s are expanded by the server.
        text: String,
    },
    /// "I am typing" — repeated while the user types; it expires by itself.
    Typing {
        /// The room.
        room: String,
    },
    /// "I stopped typing" (optional: the indicator also expires).
    StopTyping {
        /// The room.
        room: String,
    },
    /// Receipt: this client has received message `id`.
    Delivered {
        /// The message.
        id: i64,
    },
    /// Receipt: the user has read message `id` (implies delivered).
    Read {
        /// The message.
        id: i64,
    },
    /// Search a room's history by words.
    Search {
        /// The room.
        room: String,
        /// Words, all of which must occur.
        query: String,
    },
    /// Ask for an attachment's bytes; they come as a binary frame.
    Fetch {
        /// The message that carries the attachment.
        id: i64,
    },
}
// ANCHOR_END: client_message

// ANCHOR: server_message
/// What the server sends, as JSON text frames.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// The answer to a join: the room's most recent messages, oldest first.
    Joined {
        /// The room.
        room: String,
        /// Up to `HISTORY_LIMIT` messages, in `seq` order.
        history: Vec<ChatMessage>,
    },
    /// A new message in a room the client has joined (its own ones too).
    Message {
        /// The message.
        message: ChatMessage,
    },
    /// To the author: the server stored the message (status `sent`).
    Sent {
        /// The author's own id for it.
        client_id: String,
        /// The server's id.
        id: i64,
        /// The room.
        room: String,
        /// Its place in the room.
        seq: i64,
    },
    /// To the author: the message moved on to `delivered` or `read`.
    Receipt {
        /// The message.
        id: i64,
        /// The room.
        room: String,
        /// The new status.
        status: Status,
    },
    /// Someone else in the room is typing.
    Typing {
        /// The room.
        room: String,
        /// Who.
        user: String,
    },
    /// Someone else in the room stopped typing.
    StopTyping {
        /// The room.
        room: String,
        /// Who.
        user: String,
    },
    /// The answer to a search, oldest first.
    SearchResults {
        /// The room.
        room: String,
        /// The query as asked.
        query: String,
        /// The messages that contain every word.
        messages: Vec<ChatMessage>,
    },
    /// A request was refused; the connection stays open.
    Error {
        /// Machine-readable: `attachment_too_large`, `bad_request`,
        /// `not_joined`, `not_found`, `internal`.
        code: String,
        /// For people: what was wrong and what the limit is.
        message: String,
        /// The `client_id` of the refused message, when it had one.
        client_id: Option<String>,
    },
}
// ANCHOR_END: server_message

/// The header of an upload (a binary frame from the client).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadHeader {
    /// The room to post in.
    pub room: String,
    /// Chosen by the client, as for text.
    pub client_id: String,
    /// [`MessageKind::Image`] or [`MessageKind::File`].
    pub kind: MessageKind,
    /// The file name.
    pub name: String,
    /// The media type.
    pub mime: String,
}

/// The header of a download (the server's answer to a fetch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownloadHeader {
    /// The message the attachment belongs to.
    pub id: i64,
    /// The file name.
    pub name: String,
    /// The media type.
    pub mime: String,
}

/// Why a binary frame could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Fewer than four bytes, or a header length past the end.
    #[error("a binary frame must start with a 4-byte header length and that many header bytes")]
    Truncated,
    /// The header is not the JSON expected.
    #[error("the binary frame's header is not valid: {0}")]
    Header(String),
}

/// Builds a binary frame: header length, JSON header, bytes.
pub fn encode_binary<H: Serialize>(header: &H, bytes: &[u8]) -> Vec<u8> {
    // Serialising plain structs of strings and numbers cannot fail.
    let json = serde_json::to_vec(header).unwrap_or_default();
    let length = u32::try_from(json.len()).unwrap_or(u32::MAX);
    let mut frame = Vec::with_capacity(4 + json.len() + bytes.len());
    frame.extend_from_slice(&length.to_be_bytes());
    frame.extend_from_slice(&json);
    frame.extend_from_slice(bytes);
    frame
}

/// Splits a binary frame into its header and its bytes.
pub fn decode_binary<H: DeserializeOwned>(frame: &[u8]) -> Result<(H, &[u8]), FrameError> {
    let (length, rest) = frame
        .split_first_chunk::<4>()
        .ok_or(FrameError::Truncated)?;
    let length = usize::try_from(u32::from_be_bytes(*length)).map_err(|_| FrameError::Truncated)?;
    if rest.len() < length {
        return Err(FrameError::Truncated);
    }
    let (json, bytes) = rest.split_at(length);
    let header =
        serde_json::from_slice(json).map_err(|error| FrameError::Header(error.to_string()))?;
    Ok((header, bytes))
}
