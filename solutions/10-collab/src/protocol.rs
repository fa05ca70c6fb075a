//! The messages between the editing server and its clients: JSON text
//! frames, one message each, tagged by `"type"`.

use serde::{Deserialize, Serialize};

use crate::operation::{Operation, Selection};

/// A client's id, given by the server when it joins.
pub type ClientId = u64;

// ANCHOR: client_message
/// What a client sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// The first message: who is editing.
    Join {
        /// Shown to the others.
        name: String,
    },
    /// An edit made on top of server revision `revision`.
    Op {
        /// How many operations of the server's history the client had seen.
        revision: usize,
        /// The edit.
        op: Operation,
    },
    /// The client's selection in the document at server revision `revision`.
    Select {
        /// The revision the positions refer to.
        revision: usize,
        /// The selection.
        selection: Selection,
    },
}
// ANCHOR_END: client_message

// ANCHOR: server_message
/// What the server sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// The answer to `Join`: the document as it is and who is there.
    Welcome {
        /// The new client's id.
        client: ClientId,
        /// The number of operations in the history.
        revision: usize,
        /// The document at that revision.
        text: String,
        /// Everybody else who is connected.
        peers: Vec<Peer>,
    },
    /// The sender's operation was accepted as revision `revision`.
    Ack {
        /// The history's length after it.
        revision: usize,
    },
    /// Another client's operation, transformed to follow the history: apply
    /// it on top of revision `revision - 1`.
    Op {
        /// Its author.
        client: ClientId,
        /// The history's length after it.
        revision: usize,
        /// The operation.
        op: Operation,
    },
    /// Somebody joined.
    Joined {
        /// Who.
        peer: Peer,
    },
    /// Somebody left.
    Left {
        /// Who.
        client: ClientId,
    },
    /// Somebody's selection, at the current revision.
    Selection {
        /// Whose.
        client: ClientId,
        /// Where.
        selection: Selection,
    },
    /// A message the server refused; the connection is closed after it.
    Error {
        /// What was wrong.
        message: String,
    },
}
// ANCHOR_END: server_message

/// Somebody editing the document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peer {
    /// Their id.
    pub client: ClientId,
    /// Their name.
    pub name: String,
    /// Their selection, once they have sent one.
    pub selection: Option<Selection>,
}
