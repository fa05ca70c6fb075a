//! History in SQLite: messages, attachments, receipts and word search.
//!
//! SQLite is synchronous and a query can take a while, so nothing here runs
//! on the async executor: every method hands its work to
//! [`tokio::task::spawn_blocking`] (blocking the read loop of one
//! connection would stall every connection that shares its thread).
//! Writes go through one connection (SQLite has one writer at a time
//! anyway); searches use a second, read-only one, so that a long search
//! does not hold up posting — in WAL mode readers and the writer do not
//! wait for each other.
//!
//! The schema: `messages` (one row per message, `UNIQUE (room, seq)`),
//! `attachments` (the bytes, by message id) and `messages_fts`, an FTS5
//! index over the text kept in step by a trigger, so "search by words"
//! means words (`cat` does not find `concatenate`), in any order, any case.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, params};

use crate::protocol::{AttachmentInfo, ChatMessage, MessageKind, Status};

// ANCHOR: limits
/// How many messages a joiner gets as history: a screenful and some.
pub const HISTORY_LIMIT: usize = 50;

/// How many messages a search returns at most.
pub const SEARCH_LIMIT: usize = 100;
// ANCHOR_END: limits

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite said no.
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    /// The blocking task did not finish (the runtime is shutting down).
    #[error("the database task was cancelled")]
    Cancelled,
}

/// A message about to be stored: everything but what the store assigns
/// (id, seq, time, status).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    /// The room.
    pub room: String,
    /// The author.
    pub user: String,
    /// Text, image or file.
    pub kind: MessageKind,
    /// The text (empty for attachments).
    pub text: String,
    /// For attachments: their description and bytes.
    pub attachment: Option<(AttachmentInfo, Vec<u8>)>,
}

/// The result of a receipt that moved a message forward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advanced {
    /// The message's room.
    pub room: String,
    /// Its author, who is told.
    pub author: String,
    /// The new status.
    pub status: Status,
}

// ANCHOR: store
/// The chat history. Cheap to clone: clones share the two connections.
#[derive(Clone)]
pub struct Store {
    writer: Arc<Mutex<Connection>>,
    reader: Arc<Mutex<Connection>>,
    /// Extra time each search takes: zero, except in the check that proves
    /// a slow query does not stall the other connections.
    search_cost: Duration,
}

impl Store {
    /// Opens (creating if needed) the database at `path`.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with_search_cost(path, Duration::ZERO).await
    }

    /// [`Store::open`], with every search made `search_cost` slower (a
    /// stand-in for a huge history, used by the checks).
    pub async fn open_with_search_cost(
        path: &Path,
        search_cost: Duration,
    ) -> Result<Self, StoreError> {
        let path = path.to_owned();
        todo!("Task 4: open the database (chapter 09, section \"Task 4: History in SQLite\")")
    }

    /// Stores a message: gives it the next `seq` of its room, the time and
    /// status `sent`, and returns it as everyone will see it.
    pub async fn insert(&self, draft: Draft) -> Result<ChatMessage, StoreError> {
        todo!("Task 4: store a message (chapter 09, section \"Task 4: History in SQLite\")")
    }

    /// The last `limit` messages of `room`, oldest first.
    pub async fn history(&self, room: &str, limit: usize) -> Result<Vec<ChatMessage>, StoreError> {
        let room = room.to_owned();
        todo!("Task 4: read the history (chapter 09, section \"Task 4: History in SQLite\")")
    }

    /// The messages of `room` that contain every word of `query` (any
    /// order, any case), oldest first, at most [`SEARCH_LIMIT`]. A query
    /// without words finds nothing.
    pub async fn search(&self, room: &str, query: &str) -> Result<Vec<ChatMessage>, StoreError> {
        let room = room.to_owned();
        let query = query.to_owned();
        todo!("Task 4: search by words (chapter 09, section \"Task 4: History in SQLite\")")
    }

    /// Moves message `id` forward to `status` because `by`, a member of
    /// `rooms`, received or read it. Returns what changed, or `None` when
    /// nothing did: the message is unknown or in none of `rooms`, `by` is
    /// its author, or it is already that far (a status never goes back).
    pub async fn advance(
        &self,
        id: i64,
        status: Status,
        by: &str,
        rooms: &[String],
    ) -> Result<Option<Advanced>, StoreError> {
        let by = by.to_owned();
        // The rooms `by` is in, as a JSON array for SQLite's `json_each`.
        let rooms = serde_json::to_string(rooms).unwrap_or_default();
        todo!("Task 4: receipts (chapter 09, section \"Task 4: History in SQLite\")")
    }

    /// An attachment's room, description and bytes, by message id.
    pub async fn attachment(
        &self,
        id: i64,
    ) -> Result<Option<(String, AttachmentInfo, Vec<u8>)>, StoreError> {
        todo!("Task 4: read an attachment (chapter 09, section \"Task 4: History in SQLite\")")
    }
}
// ANCHOR_END: store

/// Runs `work` on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| StoreError::Cancelled)
}
