//! The outbox: messages the user wrote and the server has not acknowledged,
//! kept on disk so that a crash loses none of them.
//!
//! The file is an append-only log of JSON lines, one record per line:
//!
//! ```text
//! {"accepted":{"seq":1,"id":"alice-1","to":"bob","body":"hi"}}
//! {"acked":1}
//! ```
//!
//! * [`Outbox::accept`] appends an `accepted` record and calls `fsync`
//!   (`File::sync_data`) **before** it returns: once the caller was told
//!   "accepted", the record is on disk, whatever happens next.
//! * [`Outbox::ack_up_to`] appends an `acked` record without waiting for the
//!   disk: losing one only makes the client send a message again, and the
//!   server drops it by id.
//! * [`Outbox::open`] reads the log back. A crash in the middle of an append
//!   leaves a *torn tail*: a last line without its newline, or half a JSON
//!   object. The reader drops it (it was never acknowledged to anyone as
//!   accepted, because `accept` had not returned) and cuts the file back to
//!   the last whole record. A bad line *before* the end is not a crash
//!   artefact, and is an error.
//! * Then it compacts: the pending records and the acknowledged watermark go
//!   to a temporary file, which is fsynced and renamed over the log (a
//!   rename is atomic), so the log does not grow forever.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The log's file name inside the outbox directory.
pub const OUTBOX_FILE: &str = "outbox.log";

/// One message waiting for its acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// The outbox sequence number: 1, 2, 3, …, never reused, also after a
    /// restart.
    pub seq: u64,
    /// The message id, `"<client>-<seq>"`; stable across resends.
    pub id: String,
    /// The recipient.
    pub to: String,
    /// The text.
    pub body: String,
}

/// What can go wrong with the outbox.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// Reading, writing or syncing the file failed.
    #[error("outbox file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A record before the last line cannot be read: not a torn tail, so
    /// the file was damaged some other way.
    #[error("outbox file {path}, line {line}: not a record ({reason})")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// What the parser said.
        reason: String,
    },
}

/// One line of the log.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Record {
    Accepted(OutboxEntry),
    Acked(u64),
}

/// The outbox of one client (see the module docs for the file format).
#[derive(Debug)]
pub struct Outbox {
    path: PathBuf,
    client: String,
    file: File,
    pending: VecDeque<OutboxEntry>,
    last_acked: u64,
    next_seq: u64,
}

// ANCHOR: outbox
impl Outbox {
    /// Opens (or creates) the outbox of `client` in `dir`, reading back what
    /// a previous run left, tolerating a torn last record.
    pub fn open(dir: &Path, client: &str) -> Result<Self, OutboxError> {
        todo!("Task 2: read the log back (chapter 12, section \"Task 2: The outbox\")")
    }

    /// Accepts a message: appends it to the log and syncs the file before
    /// returning the entry (with its new sequence number and id).
    pub fn accept(&mut self, to: &str, body: &str) -> Result<OutboxEntry, OutboxError> {
        todo!("Task 2: append and fsync (chapter 12, section \"Task 2: The outbox\")")
    }

    /// The server acknowledged everything up to `seq`: those entries leave
    /// the outbox. An old or repeated acknowledgement changes nothing.
    pub fn ack_up_to(&mut self, seq: u64) -> Result<(), OutboxError> {
        todo!("Task 2: record an acknowledgement (chapter 12, section \"Task 2: The outbox\")")
    }

    /// The entries not yet acknowledged, oldest first.
    pub fn pending(&self) -> impl Iterator<Item = &OutboxEntry> {
        self.pending.iter()
    }

    /// The highest acknowledged sequence number (0 for none).
    pub fn last_acked(&self) -> u64 {
        self.last_acked
    }
}
// ANCHOR_END: outbox
