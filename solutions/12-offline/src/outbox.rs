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
        // region: solution
        let path = dir.join(OUTBOX_FILE);
        let io = |source| OutboxError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(error) => return Err(io(error)),
        };
        let records = read_records(&path, &bytes)?;
        let mut pending = VecDeque::new();
        let mut last_acked = 0;
        let mut last_seq = 0;
        for record in records {
            match record {
                Record::Accepted(entry) => {
                    last_seq = last_seq.max(entry.seq);
                    pending.push_back(entry);
                }
                Record::Acked(seq) => last_acked = last_acked.max(seq),
            }
        }
        pending.retain(|entry| entry.seq > last_acked);
        // Compact: the pending entries and the watermark, written whole to
        // a temporary file and renamed over the log (which also drops a
        // torn tail).
        let mut compact = Vec::new();
        write_record(&mut compact, &Record::Acked(last_acked));
        for entry in &pending {
            write_record(&mut compact, &Record::Accepted(entry.clone()));
        }
        let temporary = dir.join(format!("{OUTBOX_FILE}.tmp"));
        let mut file = File::create(&temporary).map_err(io)?;
        file.write_all(&compact).map_err(io)?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&temporary, &path).map_err(io)?;
        // The rename itself is durable once the directory is synced.
        File::open(dir).and_then(|dir| dir.sync_all()).map_err(io)?;
        let file = OpenOptions::new().append(true).open(&path).map_err(io)?;
        Ok(Self {
            path,
            client: client.to_owned(),
            file,
            pending,
            last_acked,
            next_seq: last_seq.max(last_acked) + 1,
        })
        // region: stub
        // todo!("Task 2: read the log back (chapter 12, section \"Task 2: The outbox\")")
        // endregion
    }

    /// Accepts a message: appends it to the log and syncs the file before
    /// returning the entry (with its new sequence number and id).
    pub fn accept(&mut self, to: &str, body: &str) -> Result<OutboxEntry, OutboxError> {
        // region: solution
        let seq = self.next_seq;
        let entry = OutboxEntry {
            seq,
            id: format!("{}-{seq}", self.client),
            to: to.to_owned(),
            body: body.to_owned(),
        };
        self.append(&Record::Accepted(entry.clone()), true)?;
        self.next_seq += 1;
        self.pending.push_back(entry.clone());
        Ok(entry)
        // region: stub
        // todo!("Task 2: append and fsync (chapter 12, section \"Task 2: The outbox\")")
        // endregion
    }

    /// The server acknowledged everything up to `seq`: those entries leave
    /// the outbox. An old or repeated acknowledgement changes nothing.
    pub fn ack_up_to(&mut self, seq: u64) -> Result<(), OutboxError> {
        // region: solution
        if seq <= self.last_acked {
            return Ok(());
        }
        self.append(&Record::Acked(seq), false)?;
        self.last_acked = seq;
        while self.pending.front().is_some_and(|entry| entry.seq <= seq) {
            self.pending.pop_front();
        }
        Ok(())
        // region: stub
        // todo!("Task 2: record an acknowledgement (chapter 12, section \"Task 2: The outbox\")")
        // endregion
    }

    /// The entries not yet acknowledged, oldest first.
    pub fn pending(&self) -> impl Iterator<Item = &OutboxEntry> {
        self.pending.iter()
    }

    /// The highest acknowledged sequence number (0 for none).
    pub fn last_acked(&self) -> u64 {
        self.last_acked
    }

    // region: solution
    fn append(&mut self, record: &Record, sync: bool) -> Result<(), OutboxError> {
        let mut line = Vec::new();
        write_record(&mut line, record);
        // One write call per record: a crash tears at most this record.
        let written = self
            .file
            .write_all(&line)
            .and_then(|()| if sync { self.file.sync_data() } else { Ok(()) });
        written.map_err(|source| OutboxError::Io {
            path: self.path.clone(),
            source,
        })
    }
    // endregion
}
// ANCHOR_END: outbox

// region: solution
fn write_record(buffer: &mut Vec<u8>, record: &Record) {
    // Records hold strings and integers only: serialising cannot fail.
    if serde_json::to_writer(&mut *buffer, record).is_ok() {
        buffer.push(b'\n');
    }
}

/// The whole records of `bytes`. A last line
/// without a newline, or one that does not parse, is a torn tail and is
/// left out; a bad line before it is an error.
fn read_records(path: &Path, bytes: &[u8]) -> Result<Vec<Record>, OutboxError> {
    let mut records = Vec::new();
    let mut lines = bytes
        .split_inclusive(|byte| *byte == b'\n')
        .enumerate()
        .peekable();
    while let Some((index, line)) = lines.next() {
        let is_last = lines.peek().is_none();
        let Some(content) = line.strip_suffix(b"\n") else {
            // No newline: the append was cut short.
            break;
        };
        match serde_json::from_slice::<Record>(content) {
            Ok(record) => records.push(record),
            Err(_) if is_last => break,
            Err(error) => {
                return Err(OutboxError::Corrupt {
                    path: path.to_owned(),
                    line: index + 1,
                    reason: error.to_string(),
                });
            }
        }
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_tail_is_dropped_and_the_rest_kept() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        {
            let mut outbox = Outbox::open(dir.path(), "alice").expect("opens");
            outbox.accept("bob", "one").expect("accepts");
            outbox.accept("bob", "two").expect("accepts");
        }
        let path = dir.path().join(OUTBOX_FILE);
        let mut file = OpenOptions::new().append(true).open(&path).expect("opens");
        file.write_all(br#"{"accepted":{"seq":3,"id":"al"#)
            .expect("writes");
        drop(file);
        let mut outbox = Outbox::open(dir.path(), "alice").expect("a torn tail is tolerated");
        let bodies: Vec<_> = outbox.pending().map(|entry| entry.body.clone()).collect();
        assert_eq!(bodies, ["one", "two"]);
        let third = outbox.accept("bob", "three").expect("accepts");
        assert_eq!(third.seq, 3);
        drop(outbox);
        let outbox = Outbox::open(dir.path(), "alice").expect("reopens");
        assert_eq!(outbox.pending().count(), 3);
    }

    #[test]
    fn a_bad_line_in_the_middle_is_an_error() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join(OUTBOX_FILE);
        std::fs::write(&path, "{\"acked\":0}\nnonsense\n{\"acked\":1}\n").expect("writes");
        let error = Outbox::open(dir.path(), "alice").expect_err("corruption is reported");
        assert!(
            matches!(error, OutboxError::Corrupt { line: 2, .. }),
            "{error}"
        );
    }

    #[test]
    fn sequence_numbers_continue_after_everything_was_acked() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        {
            let mut outbox = Outbox::open(dir.path(), "alice").expect("opens");
            outbox.accept("bob", "one").expect("accepts");
            outbox.accept("bob", "two").expect("accepts");
            outbox.ack_up_to(2).expect("acks");
        }
        let mut outbox = Outbox::open(dir.path(), "alice").expect("reopens");
        assert_eq!(outbox.pending().count(), 0);
        assert_eq!(outbox.accept("bob", "three").expect("accepts").seq, 3);
    }
}
// endregion
