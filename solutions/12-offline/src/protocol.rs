//! The wire protocol: one JSON object per text frame, tagged by `type`.
//!
//! ```text
//! client → server  {"type":"hello","client":"alice","resume_from":7}
//!                  {"type":"send","seq":3,"id":"alice-3","to":"bob","body":"hi"}
//! server → client  {"type":"ack","seq":3}
//!                  {"type":"deliver","seq":8,"id":"alice-3","from":"alice","body":"hi"}
//! ```
//!
//! Two sequence spaces: `send.seq` numbers the *client's* outbox (the server
//! acknowledges it, cumulatively: everything up to `ack.seq` is stored), and
//! `deliver.seq` numbers the *recipient's* mailbox on the server (the client
//! sends the last one it saw as `resume_from`, and the server replays the
//! rest). The message `id` never changes when a message is sent again, which
//! is what lets the server drop duplicates.

use serde::{Deserialize, Serialize};

/// A frame the client sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// The first frame on every connection: who I am, and the last mailbox
    /// sequence number I received (0 for none).
    Hello {
        /// The client's name; also the recipient name others send to.
        client: String,
        /// Replay every mailbox entry with a larger sequence number.
        resume_from: u64,
    },
    /// One outbox entry.
    Send {
        /// The outbox sequence number (1, 2, 3, … per client, never reused).
        seq: u64,
        /// The message id, stable across resends.
        id: String,
        /// The recipient's client name.
        to: String,
        /// The text.
        body: String,
    },
}

/// A frame the server sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// Everything up to and including outbox entry `seq` is stored.
    Ack {
        /// The client's outbox sequence number.
        seq: u64,
    },
    /// A message for this client, from its mailbox.
    Deliver(Delivery),
}

/// A message delivered to a client (the `deliver` frame's fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// The position in the recipient's mailbox (1, 2, 3, …).
    pub seq: u64,
    /// The sender's message id.
    pub id: String,
    /// The sender's client name.
    pub from: String,
    /// The text.
    pub body: String,
}

impl ClientFrame {
    /// The frame as JSON text.
    pub fn to_json(&self) -> String {
        // Serialising plain strings and integers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl ServerFrame {
    /// The frame as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
