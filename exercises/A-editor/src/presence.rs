//! Who is in a document, and where their cursor and selection are.
//!
//! Presence is not part of the document: it is never stored and never in
//! the history. The server keeps each participant's selection and moves it
//! through every edit it accepts ([`Presence::transform`]), so a cursor
//! stays on its character while others type before it. A participant who
//! leaves, also without a goodbye (a dropped connection), is removed, so no
//! ghost cursor stays behind.
//!
//! Cursor moves come much faster than anybody needs to see them (a held
//! arrow key, a drag). [`Throttle`] lets at most one update per client
//! through every [`PRESENCE_INTERVAL`] (20 a second) and keeps only the
//! latest meanwhile, so presence traffic grows with the number of people,
//! not with how fast each one moves.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use crate::ot::Selection;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::rich::Edit;

/// At most one presence update per client per this interval: 20 a second.
pub const PRESENCE_INTERVAL: Duration = Duration::from_millis(50);

/// The colours given to participants, in turn.
pub const COLOURS: [&str; 8] = [
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324",
];

/// One participant, as everybody sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    /// The connection's client id.
    pub client: String,
    /// The user's name.
    pub name: String,
    /// Their colour, `#rrggbb`.
    pub colour: String,
    /// Their selection (a cursor when empty); `None` before the first.
    pub selection: Option<Selection>,
}

/// The participants of one document.
#[derive(Debug, Clone, Default)]
pub struct Presence {
    participants: BTreeMap<String, Participant>,
    joined: usize,
}

impl Presence {
    /// Nobody yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// `client` (named `name`) joined; they get the next colour.
    pub fn join(&mut self, client: &str, name: &str) -> &Participant {
        let colour = COLOURS[self.joined % COLOURS.len()].to_owned();
        self.joined += 1;
        self.participants
            .entry(client.to_owned())
            .or_insert_with(|| Participant {
                client: client.to_owned(),
                name: name.to_owned(),
                colour,
                selection: None,
            })
    }

    /// `client` left (or its connection dropped); whether it was here.
    pub fn leave(&mut self, client: &str) -> bool {
        self.participants.remove(client).is_some()
    }

    /// `client`'s selection in a document of `len` characters (ends past
    /// the end are moved to it); whether the client is here.
    pub fn select(&mut self, client: &str, selection: Selection, len: usize) -> bool {
        let Some(participant) = self.participants.get_mut(client) else {
            return false;
        };
        participant.selection = Some(Selection::new(
            selection.anchor.min(len),
            selection.head.min(len),
        ));
        true
    }

    /// Every selection moved through `edit`, which the server just applied.
    pub fn transform(&mut self, edit: &Edit) {
        todo!(
            "Stage 7: move every selection through the edit (chapter A-editor, section \"Stage 7: Presence\")"
        )
    }

    /// One participant.
    pub fn get(&self, client: &str) -> Option<&Participant> {
        self.participants.get(client)
    }

    /// Everybody, by client id.
    pub fn participants(&self) -> impl Iterator<Item = &Participant> {
        self.participants.values()
    }

    /// How many are here.
    pub fn len(&self) -> usize {
        self.participants.len()
    }

    /// Whether nobody is here.
    pub fn is_empty(&self) -> bool {
        self.participants.is_empty()
    }
}

/// What to do with a presence update now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// Send it now.
    Now,
    /// Hold it (only the latest is kept) until `at`, then send it.
    At(Instant),
}

/// At most one update per key every `interval`; the latest one wins.
#[derive(Debug, Clone)]
pub struct Throttle {
    interval: Duration,
    last: HashMap<String, Instant>,
    held: BTreeMap<String, Instant>,
}

impl Throttle {
    /// A throttle of one update per `interval` per key.
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            last: HashMap::new(),
            held: BTreeMap::new(),
        }
    }

    /// An update for `key` at `now`: send it now, or hold it until the
    /// interval since the last one sent is over.
    pub fn offer(&mut self, key: &str, now: Instant) -> Pass {
        todo!(
            "Stage 8: one update per interval, the latest held (chapter A-editor, section \"Stage 8: Conflation\")"
        )
    }

    /// The keys whose held update is due at `now`: send their latest
    /// update now.
    pub fn due(&mut self, now: Instant) -> Vec<String> {
        todo!(
            "Stage 8: the held updates that are due (chapter A-editor, section \"Stage 8: Conflation\")"
        )
    }

    /// When the next held update is due, if any.
    pub fn next_due(&self) -> Option<Instant> {
        self.held.values().min().copied()
    }

    /// Forget `key` (it left).
    pub fn forget(&mut self, key: &str) {
        self.last.remove(key);
        self.held.remove(key);
    }
}
