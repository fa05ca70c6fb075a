//! One document on the server: the central ordering of edits.
//!
//! Every edit the server accepts gets the next **revision**. A client sends
//! an edit with the revision it was made on (its *base*); if others' edits
//! were accepted since, the server transforms it past each of them, in
//! order, applies the result and broadcasts it: every replica applies the
//! same edits in the same order, so all end with the same document (unit
//! 10's Document, for rich edits).
//!
//! **Exactly once.** Each client numbers its edits (`seq`, from 1). The
//! server remembers, per client, the last `seq` it accepted and the revision
//! it got; an edit sent again after a reconnect is acknowledged again, not
//! applied twice.
//!
//! **History.** The log keeps every accepted edit; a snapshot of the whole
//! document is kept every [`SNAPSHOT_EVERY`] revisions, so that any version
//! costs one snapshot plus fewer than [`SNAPSHOT_EVERY`] edits to rebuild,
//! however long the history. A version can be named, and restored: the
//! restore is a new edit, made by the server, that everyone follows like any
//! other.

use std::collections::{BTreeMap, HashMap};

use crate::ot::Operation;

use crate::rich::{Edit, EditError, Key, RichText};

/// A snapshot of the whole document every this many revisions.
pub const SNAPSHOT_EVERY: u64 = 100;

/// The most revisions an edit may be behind. Transforming an edit costs
/// one transform per edit it missed, and an edit composed from a long
/// offline session is large: OT's cost grows with the product of the two
/// branches. Past this bound the server refuses the edit
/// ([`DocError::TooFarBehind`]); the page reloads the document and offers
/// the user their offline text to paste back, rather than the server
/// spending seconds on one rebase while every other participant waits.
pub const MAX_BEHIND: u64 = 10_000;

/// Why the server refused an edit or a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocError {
    /// The client claims a revision the server has not reached.
    #[error("the edit is based on revision {base}, but the document is only at revision {current}")]
    FutureBase {
        /// The edit's base.
        base: u64,
        /// The document's revision.
        current: u64,
    },
    /// The edit does not fit the document at its base revision.
    #[error("the edit does not fit the document at its revision: {0}")]
    Edit(#[from] EditError),
    /// An edit numbered before the client's last accepted one, other than a
    /// resend of that one.
    #[error("edit {seq} of {client} is older than its last accepted edit, {last}")]
    StaleSeq {
        /// The client.
        client: String,
        /// The edit's number.
        seq: u64,
        /// The last number accepted from this client.
        last: u64,
    },
    /// The edit is based on a revision more than [`MAX_BEHIND`] old.
    #[error(
        "the edit is based on revision {base}, {behind} revisions behind the document; at most {MAX_BEHIND} are merged: reload the document"
    )]
    TooFarBehind {
        /// The edit's base.
        base: u64,
        /// How many revisions it missed.
        behind: u64,
    },
    /// No such version.
    #[error("there is no version {0}: the document is at an earlier revision")]
    NoSuchVersion(u64),
}

/// An edit as a client submits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    /// Who sends it (a stable id, the same after a reconnect).
    pub client: String,
    /// Its number among this client's edits, from 1.
    pub seq: u64,
    /// The revision of the document it was made on.
    pub base: u64,
    /// The edit.
    pub edit: Edit,
}

/// An accepted edit in the log, with who made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The edit as applied.
    pub edit: Edit,
    /// Its author.
    pub client: String,
    /// Its number among the author's edits.
    pub seq: u64,
}

/// What [`Doc::submit`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// Applied as `revision`, in this (transformed) form: acknowledge it to
    /// its author, broadcast it to everyone else.
    Applied {
        /// The revision it made (the document is now at this revision).
        revision: u64,
        /// The edit as applied, after the edits its author had not seen.
        edit: Edit,
    },
    /// Already applied as `revision` (sent again after a reconnect):
    /// acknowledge it again, broadcast nothing.
    Duplicate {
        /// The revision it made the first time.
        revision: u64,
    },
}

/// A document: its current state, its log and its snapshots.
#[derive(Debug, Clone)]
pub struct Doc {
    current: RichText,
    log: Vec<Entry>,
    snapshots: BTreeMap<u64, RichText>,
    last_seq: HashMap<String, (u64, u64)>,
    names: BTreeMap<String, u64>,
}

impl Default for Doc {
    fn default() -> Self {
        Self::new()
    }
}

impl Doc {
    /// An empty document at revision 0.
    pub fn new() -> Self {
        Self {
            current: RichText::default(),
            log: Vec::new(),
            snapshots: BTreeMap::from([(0, RichText::default())]),
            last_seq: HashMap::new(),
            names: BTreeMap::new(),
        }
    }

    /// A document as it was stored: its whole log (entry `i` made revision
    /// `i + 1`), its snapshots (at least revision 0's) and its names.
    pub fn from_parts(
        log: Vec<Entry>,
        snapshots: BTreeMap<u64, RichText>,
        names: BTreeMap<String, u64>,
    ) -> Result<Self, DocError> {
        let mut doc = Self {
            current: RichText::default(),
            log: Vec::new(),
            snapshots,
            last_seq: HashMap::new(),
            names,
        };
        doc.snapshots.entry(0).or_default();
        for (index, entry) in log.iter().enumerate() {
            doc.last_seq
                .insert(entry.client.clone(), (entry.seq, index as u64 + 1));
        }
        doc.log = log;
        doc.current = doc.version(doc.revision())?;
        Ok(doc)
    }

    /// The snapshots kept, by revision.
    pub fn snapshots(&self) -> &BTreeMap<u64, RichText> {
        &self.snapshots
    }

    /// The document now.
    pub fn current(&self) -> &RichText {
        &self.current
    }

    /// The number of edits accepted so far.
    pub fn revision(&self) -> u64 {
        self.log.len() as u64
    }

    /// Accepts `submitted`: transforms it past the edits accepted since its
    /// base, applies it and gives it the next revision, or recognises a
    /// resend. On an error nothing changes.
    pub fn submit(&mut self, submitted: Submitted) -> Result<Accepted, DocError> {
        todo!(
            "Stage 2: accept an edit; Stage 4: transform a late one; Stage 12: recognise a resend (chapter A-editor, section \"Stage 2: One writer\")"
        )
    }

    /// The edits that made revisions `from + 1 ..= revision()`: what a
    /// client at revision `from` has missed (on a reconnect, its own edit
    /// among them is its acknowledgement).
    pub fn since(&self, from: u64) -> Result<&[Entry], DocError> {
        usize::try_from(from)
            .ok()
            .and_then(|from| self.log.get(from..))
            .ok_or(DocError::NoSuchVersion(from))
    }

    /// The document as it was at `revision`: the latest snapshot at or
    /// before it, plus fewer than [`SNAPSHOT_EVERY`] edits.
    pub fn version(&self, revision: u64) -> Result<RichText, DocError> {
        todo!(
            "Stage 1: a version is its latest snapshot plus the edits after it; loading a document needs it (chapter A-editor, section \"Stage 1: Boot\")"
        )
    }

    /// Names `revision` (a later call with the same name moves the name).
    pub fn name_version(&mut self, name: &str, revision: u64) -> Result<(), DocError> {
        if revision > self.revision() {
            return Err(DocError::NoSuchVersion(revision));
        }
        self.names.insert(name.to_owned(), revision);
        Ok(())
    }

    /// The named versions, by name.
    pub fn names(&self) -> &BTreeMap<String, u64> {
        &self.names
    }

    /// Makes the document what it was at `revision`, as a new edit by
    /// `client` (the server on a user's behalf), accepted like any other.
    pub fn restore(&mut self, revision: u64, client: &str, seq: u64) -> Result<Accepted, DocError> {
        let old = self.version(revision)?;
        let edit = difference(&self.current, &old);
        self.submit(Submitted {
            client: client.to_owned(),
            seq,
            base: self.revision(),
            edit,
        })
    }
}

/// An edit that turns `from` into `to`: the changed middle of the text
/// replaced (common start and end kept), then every attribute set as `to`
/// has it.
pub fn difference(from: &RichText, to: &RichText) -> Edit {
    let (old, new) = (from.to_string(), to.to_string());
    let old: Vec<char> = old.chars().collect();
    let new: Vec<char> = new.chars().collect();
    let prefix = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..]
        .iter()
        .rev()
        .zip(new[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let inserted: String = new[prefix..new.len() - suffix].iter().collect();
    let text = Operation::new()
        .retain(prefix)
        .delete(old.len() - prefix - suffix)
        .insert(&inserted)
        .retain(suffix);
    let mut edit = Edit::text(text);
    for key in Key::ALL {
        if from.spans(key).is_empty() && to.spans(key).is_empty() {
            continue;
        }
        edit = edit.with(0, new.len(), key, None);
        for span in to.spans(key) {
            edit = edit.with(span.from, span.to, key, Some(&span.value));
        }
    }
    edit
}
