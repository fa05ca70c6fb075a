//! The messages between a page and the server, as JSON in text frames,
//! one object per frame, tagged by `"type"`.
//!
//! A page opens `ws://HOST/ws/DOC?token=TOKEN&client=CLIENT[&since=REV]`:
//! `token` says who the user is (a bad one is refused with HTTP 401 before
//! the upgrade; a user who is not a member gets 403), `client` names this
//! page's replica (keep it across reconnects, so that a resent edit is
//! recognised), `since` is the revision it already has, when it has one.
//!
//! ```json
//! {"type":"welcome","revision":7,"doc":{"text":"hi","marks":{}},"role":"editor","you":{…},"participants":[…]}
//! {"type":"edit","seq":3,"base":7,"edit":{"text":[2,"!"]}}
//! {"type":"ack","seq":3,"revision":8}
//! {"type":"remote","revision":8,"client":"c2","edit":{"text":[2,"?"]}}
//! {"type":"select","selection":{"anchor":1,"head":1}}
//! {"type":"presence","participant":{"client":"c2","name":"Bob","colour":"#3cb44b","selection":{"anchor":0,"head":2}}}
//! {"type":"left","client":"c2"}
//! {"type":"error","code":"forbidden","message":"…"}
//! ```

use crate::ot::Selection;
use serde::{Deserialize, Serialize};

use crate::access::Role;
use crate::presence::Participant;
use crate::rich::{Edit, RichText};

/// The largest message a page may send, in bytes: a pasted chapter fits,
/// a runaway script does not. Past it the server closes with 1009.
pub const MAX_MESSAGE: usize = 1 << 20;

/// A page to the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// An edit of this replica, number `seq`, made on revision `base`.
    Edit {
        /// The replica's number for it (from 1).
        seq: u64,
        /// The revision it was made on.
        base: u64,
        /// The edit.
        edit: Edit,
    },
    /// This user's selection moved.
    Select {
        /// The new selection.
        selection: Selection,
    },
}

/// An accepted edit, as a reconnecting page catches up with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedEdit {
    /// The revision it made.
    pub revision: u64,
    /// Its author's replica.
    pub client: String,
    /// Its number among that replica's edits.
    pub seq: u64,
    /// The edit.
    pub edit: Edit,
}

/// The server to a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// The first message of a connection without `since`: the document.
    Welcome {
        /// Its revision.
        revision: u64,
        /// The document.
        doc: RichText,
        /// This user's role.
        role: Role,
        /// This page's participant (its name and colour).
        you: Participant,
        /// Everybody else here.
        participants: Vec<Participant>,
    },
    /// The first message of a connection with `since`: what was accepted
    /// after it (this page's own edit among them is its acknowledgement).
    CatchUp {
        /// The edits, in order.
        edits: Vec<LoggedEdit>,
        /// This user's role.
        role: Role,
        /// This page's participant.
        you: Participant,
        /// Everybody else here.
        participants: Vec<Participant>,
    },
    /// This page's edit `seq` is stored as `revision`.
    Ack {
        /// The page's number for it.
        seq: u64,
        /// The revision it made.
        revision: u64,
    },
    /// Somebody else's edit, as accepted.
    Remote {
        /// The revision it made.
        revision: u64,
        /// Its author's replica.
        client: String,
        /// The edit, to apply after revision `revision - 1`.
        edit: Edit,
    },
    /// A participant joined or moved their selection.
    Presence {
        /// Who, and where.
        participant: Participant,
    },
    /// A participant left.
    Left {
        /// Their replica.
        client: String,
    },
    /// This user's role changed (the owner changed it).
    Role {
        /// The new role; `None`: no longer a member (the server closes).
        role: Option<Role>,
    },
    /// A message of this page was refused; the connection goes on.
    Error {
        /// `bad_request`, `forbidden`, `bad_edit`, `stale` (an edit number
        /// older than the last accepted), `too_far_behind` (reload).
        code: String,
        /// What was wrong, for people.
        message: String,
    },
}

impl ServerMessage {
    /// The message as JSON text.
    pub fn to_json(&self) -> String {
        // Strings, numbers and maps only: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}
