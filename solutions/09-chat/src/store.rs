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
        // region: solution
        let (writer, reader) = blocking(move || open_connections(&path)).await??;
        Ok(Self {
            writer: Arc::new(Mutex::new(writer)),
            reader: Arc::new(Mutex::new(reader)),
            search_cost,
        })
        // region: stub
        // todo!("Task 4: open the database (chapter 09, section \"Task 4: History in SQLite\")")
        // endregion
    }

    /// Stores a message: gives it the next `seq` of its room, the time and
    /// status `sent`, and returns it as everyone will see it.
    pub async fn insert(&self, draft: Draft) -> Result<ChatMessage, StoreError> {
        // region: solution
        let writer = Arc::clone(&self.writer);
        blocking(move || {
            let mut connection = writer.lock().unwrap_or_else(PoisonError::into_inner);
            insert(&mut connection, draft)
        })
        .await?
        // region: stub
        // todo!("Task 4: store a message (chapter 09, section \"Task 4: History in SQLite\")")
        // endregion
    }

    /// The last `limit` messages of `room`, oldest first.
    pub async fn history(&self, room: &str, limit: usize) -> Result<Vec<ChatMessage>, StoreError> {
        let room = room.to_owned();
        // region: solution
        let writer = Arc::clone(&self.writer);
        blocking(move || {
            let connection = writer.lock().unwrap_or_else(PoisonError::into_inner);
            let mut statement = connection.prepare(&format!(
                "SELECT * FROM ({SELECT_MESSAGE} WHERE m.room = ?1 ORDER BY m.seq DESC LIMIT ?2)
                 ORDER BY seq ASC"
            ))?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = statement.query_map(params![room, limit], message_from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await?
        // region: stub
        // todo!("Task 4: read the history (chapter 09, section \"Task 4: History in SQLite\")")
        // endregion
    }

    /// The messages of `room` that contain every word of `query` (any
    /// order, any case), oldest first, at most [`SEARCH_LIMIT`]. A query
    /// without words finds nothing.
    pub async fn search(&self, room: &str, query: &str) -> Result<Vec<ChatMessage>, StoreError> {
        let room = room.to_owned();
        let query = query.to_owned();
        // region: solution
        let reader = Arc::clone(&self.reader);
        let cost = self.search_cost;
        blocking(move || {
            if !cost.is_zero() {
                std::thread::sleep(cost);
            }
            let Some(matching) = fts_query(&query) else {
                return Ok(Vec::new());
            };
            let connection = reader.lock().unwrap_or_else(PoisonError::into_inner);
            let mut statement = connection.prepare(&format!(
                "{SELECT_MESSAGE} WHERE m.room = ?1
                   AND m.id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?2)
                 ORDER BY m.seq ASC LIMIT ?3"
            ))?;
            let limit = i64::try_from(SEARCH_LIMIT).unwrap_or(i64::MAX);
            let rows = statement.query_map(params![room, matching, limit], message_from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await?
        // region: stub
        // todo!("Task 4: search by words (chapter 09, section \"Task 4: History in SQLite\")")
        // endregion
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
        // region: solution
        let writer = Arc::clone(&self.writer);
        blocking(move || {
            let connection = writer.lock().unwrap_or_else(PoisonError::into_inner);
            let row = connection
                .query_row(
                    "UPDATE messages SET status = ?2
                     WHERE id = ?1 AND status < ?2 AND user <> ?3
                       AND room IN (SELECT value FROM json_each(?4))
                     RETURNING room, user",
                    params![id, status_code(status), by, rooms],
                    |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)),
                )
                .optional()?;
            Ok(row.map(|(room, author)| Advanced {
                room,
                author,
                status,
            }))
        })
        .await?
        // region: stub
        // todo!("Task 4: receipts (chapter 09, section \"Task 4: History in SQLite\")")
        // endregion
    }

    /// An attachment's room, description and bytes, by message id.
    pub async fn attachment(
        &self,
        id: i64,
    ) -> Result<Option<(String, AttachmentInfo, Vec<u8>)>, StoreError> {
        // region: solution
        let reader = Arc::clone(&self.reader);
        blocking(move || {
            let connection = reader.lock().unwrap_or_else(PoisonError::into_inner);
            Ok(connection
                .query_row(
                    "SELECT m.room, a.name, a.mime, a.bytes
                     FROM attachments a JOIN messages m ON m.id = a.message_id
                     WHERE a.message_id = ?1",
                    params![id],
                    |row| {
                        let bytes: Vec<u8> = row.get(3)?;
                        let info = AttachmentInfo {
                            name: row.get(1)?,
                            mime: row.get(2)?,
                            size: u64::try_from(bytes.len()).unwrap_or(u64::MAX),
                        };
                        Ok((row.get(0)?, info, bytes))
                    },
                )
                .optional()?)
        })
        .await?
        // region: stub
        // todo!("Task 4: read an attachment (chapter 09, section \"Task 4: History in SQLite\")")
        // endregion
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

// region: solution
const SCHEMA: &str = "
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = NORMAL;
    CREATE TABLE IF NOT EXISTS messages (
        id          INTEGER PRIMARY KEY,
        room        TEXT    NOT NULL,
        seq         INTEGER NOT NULL,
        user        TEXT    NOT NULL,
        kind        TEXT    NOT NULL,
        text        TEXT    NOT NULL,
        file_name   TEXT,
        file_mime   TEXT,
        file_size   INTEGER,
        sent_at     INTEGER NOT NULL,
        status      INTEGER NOT NULL DEFAULT 0,
        UNIQUE (room, seq)
    );
    CREATE TABLE IF NOT EXISTS attachments (
        message_id  INTEGER PRIMARY KEY REFERENCES messages(id),
        name        TEXT NOT NULL,
        mime        TEXT NOT NULL,
        bytes       BLOB NOT NULL
    );
    CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(
        text, content = 'messages', content_rowid = 'id'
    );
    CREATE TRIGGER IF NOT EXISTS messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);
    END;
";

const SELECT_MESSAGE: &str = "SELECT m.id AS id, m.room AS room, m.seq AS seq, m.user AS user,
    m.kind AS kind, m.text AS text, m.file_name AS file_name, m.file_mime AS file_mime,
    m.file_size AS file_size, m.sent_at AS sent_at, m.status AS status FROM messages m";

/// How long a connection waits for another one's lock before giving up
/// with `SQLITE_BUSY` (only the writer and a starting reader ever contend).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

fn open_connections(path: &Path) -> Result<(Connection, Connection), StoreError> {
    let writer = Connection::open(path)?;
    writer.busy_timeout(BUSY_TIMEOUT)?;
    writer.execute_batch(SCHEMA)?;
    let reader = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    reader.busy_timeout(BUSY_TIMEOUT)?;
    Ok((writer, reader))
}

fn insert(connection: &mut Connection, draft: Draft) -> Result<ChatMessage, StoreError> {
    let sent_at = now_ms();
    let transaction = connection.transaction()?;
    let seq: i64 = transaction.query_row(
        "SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE room = ?1",
        params![draft.room],
        |row| row.get(0),
    )?;
    let info = draft.attachment.as_ref().map(|(info, _)| info.clone());
    transaction.execute(
        "INSERT INTO messages (room, seq, user, kind, text, file_name, file_mime, file_size, sent_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            draft.room,
            seq,
            draft.user,
            kind_name(draft.kind),
            draft.text,
            info.as_ref().map(|info| info.name.as_str()),
            info.as_ref().map(|info| info.mime.as_str()),
            info.as_ref()
                .map(|info| i64::try_from(info.size).unwrap_or(i64::MAX)),
            sent_at,
        ],
    )?;
    let id = transaction.last_insert_rowid();
    if let Some((info, bytes)) = &draft.attachment {
        transaction.execute(
            "INSERT INTO attachments (message_id, name, mime, bytes) VALUES (?1, ?2, ?3, ?4)",
            params![id, info.name, info.mime, bytes],
        )?;
    }
    transaction.commit()?;
    Ok(ChatMessage {
        id,
        room: draft.room,
        seq,
        user: draft.user,
        kind: draft.kind,
        text: draft.text,
        attachment: info,
        sent_at,
        status: Status::Sent,
    })
}

fn message_from_row(row: &Row<'_>) -> rusqlite::Result<ChatMessage> {
    let kind: String = row.get("kind")?;
    let kind = match kind.as_str() {
        "image" => MessageKind::Image,
        "file" => MessageKind::File,
        _ => MessageKind::Text,
    };
    let attachment = match row.get::<_, Option<String>>("file_name")? {
        Some(name) => Some(AttachmentInfo {
            name,
            mime: row
                .get::<_, Option<String>>("file_mime")?
                .unwrap_or_default(),
            size: row
                .get::<_, Option<i64>>("file_size")?
                .and_then(|size| u64::try_from(size).ok())
                .unwrap_or(0),
        }),
        None => None,
    };
    let status = match row.get::<_, i64>("status")? {
        2 => Status::Read,
        1 => Status::Delivered,
        _ => Status::Sent,
    };
    Ok(ChatMessage {
        id: row.get("id")?,
        room: row.get("room")?,
        seq: row.get("seq")?,
        user: row.get("user")?,
        kind,
        text: row.get("text")?,
        attachment,
        sent_at: row.get("sent_at")?,
        status,
    })
}

fn kind_name(kind: MessageKind) -> &'static str {
    match kind {
        MessageKind::Text => "text",
        MessageKind::Image => "image",
        MessageKind::File => "file",
    }
}

fn status_code(status: Status) -> i64 {
    match status {
        Status::Sent => 0,
        Status::Delivered => 1,
        Status::Read => 2,
    }
}

/// The words of a user's query as an FTS5 query: every word quoted (so
/// that `AND`, `*` or a stray `"` in the input are words, not syntax),
/// joined by spaces, which FTS5 reads as "all of them". `None` when the
/// query has no word at all.
fn fts_query(query: &str) -> Option<String> {
    let words: Vec<String> = query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(|word| format!("\"{word}\""))
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}
// endregion
