//! Documents in SQLite: the log of edits, snapshots, names and members.
//!
//! SQLite is embedded and bundled (nothing to install), and one file holds
//! every document. Each accepted edit is a row of `edits`, whose primary
//! key `(doc, revision)` makes revisions unique and without gaps even if two
//! servers ever tried to write the same one. The server acknowledges an
//! edit only after the transaction that stores it has committed, and the
//! database runs with `synchronous = FULL` in WAL mode: an acknowledged edit
//! survives `kill -9` of the server, and a power cut too. Several edits that
//! arrive together are stored in one transaction (a *group commit*), so the
//! cost of syncing the disk is shared.
//!
//! These calls block; the server makes them on tokio's blocking threads.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use rusqlite::{Connection, OptionalExtension, params};

use crate::access::Access;
use crate::doc::{Doc, DocError, Entry};
use crate::rich::{Edit, RichText};

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite said no.
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    /// Another server stored this revision of the document first: the
    /// primary key `(doc, revision)` is the fence that stops a sequencer
    /// that lost its lease (see `server::cluster`). Nothing of the batch
    /// is stored; the caller must not acknowledge it, and must reload.
    #[error("document {doc}: revision {revision} was stored by another server first")]
    Conflict {
        /// The document.
        doc: String,
        /// The revision already taken.
        revision: u64,
    },
    /// A stored row does not read back (a database from elsewhere, or
    /// damaged).
    #[error("document {doc}: stored data does not read back: {problem}")]
    Corrupt {
        /// The document.
        doc: String,
        /// What is wrong.
        problem: String,
    },
}

const SCHEMA: &str = "
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = FULL;
    CREATE TABLE IF NOT EXISTS documents (
        id       TEXT PRIMARY KEY,
        access   TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS edits (
        doc      TEXT    NOT NULL,
        revision INTEGER NOT NULL,
        client   TEXT    NOT NULL,
        seq      INTEGER NOT NULL,
        edit     TEXT    NOT NULL,
        PRIMARY KEY (doc, revision)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS snapshots (
        doc      TEXT    NOT NULL,
        revision INTEGER NOT NULL,
        body     TEXT    NOT NULL,
        PRIMARY KEY (doc, revision)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS users (
        token    TEXT PRIMARY KEY,
        id       TEXT NOT NULL UNIQUE,
        name     TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS names (
        doc      TEXT    NOT NULL,
        name     TEXT    NOT NULL,
        revision INTEGER NOT NULL,
        PRIMARY KEY (doc, name)
    ) WITHOUT ROWID;
";

/// A user: a stable id (what documents' members are) and a display name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct User {
    /// `u-` and 12 hex digits.
    pub id: String,
    /// The name others see.
    pub name: String,
}

/// The database of every document.
#[derive(Debug)]
pub struct Store {
    connection: Mutex<Connection>,
}

fn corrupt(doc: &str, problem: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        doc: doc.to_owned(),
        problem: problem.to_string(),
    }
}

fn json<T: serde::Serialize>(value: &T) -> String {
    // Plain structs of strings, numbers and maps: serialising cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

impl Store {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let connection = Connection::open(path)?;
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        connection.execute_batch(SCHEMA)?;
        Ok(Self {
            connection: Mutex::new(connection),
        })
    }

    fn connection(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A new user called `name`; returns them with their access token.
    pub fn create_user(&self, name: &str) -> Result<(User, String), StoreError> {
        let token = crate::access::token();
        let user = User {
            id: format!("u-{}", &crate::access::token()[..12]),
            name: name.to_owned(),
        };
        self.connection().execute(
            "INSERT INTO users (token, id, name) VALUES (?1, ?2, ?3)",
            params![token, user.id, user.name],
        )?;
        Ok((user, token))
    }

    /// The user whose access token is `token`, if any.
    pub fn user(&self, token: &str) -> Result<Option<User>, StoreError> {
        Ok(self
            .connection()
            .query_row(
                "SELECT id, name FROM users WHERE token = ?1",
                params![token],
                |row| {
                    Ok(User {
                        id: row.get(0)?,
                        name: row.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    /// Creates document `id` with its members; `false` when it exists.
    pub fn create(&self, id: &str, access: &Access) -> Result<bool, StoreError> {
        let connection = self.connection();
        let added = connection.execute(
            "INSERT OR IGNORE INTO documents (id, access) VALUES (?1, ?2)",
            params![id, json(access)],
        )?;
        Ok(added == 1)
    }

    /// Stores document `id`'s members.
    pub fn set_access(&self, id: &str, access: &Access) -> Result<(), StoreError> {
        self.connection().execute(
            "UPDATE documents SET access = ?2 WHERE id = ?1",
            params![id, json(access)],
        )?;
        Ok(())
    }

    /// Stores, in one transaction, the edits that made revisions
    /// `first, first + 1, …` and the snapshots taken meanwhile. When this
    /// returns, they are on disk; on an error none of them is. A revision
    /// that is stored already (another server wrote it) is
    /// [`StoreError::Conflict`].
    pub fn append(
        &self,
        id: &str,
        first: u64,
        entries: &[Entry],
        snapshots: &[(u64, RichText)],
    ) -> Result<(), StoreError> {
        // region: solution
        let mut connection = self.connection();
        let transaction =
            connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        {
            let mut insert = transaction.prepare(
                "INSERT INTO edits (doc, revision, client, seq, edit) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for (revision, entry) in (first..).zip(entries) {
                let inserted = insert.execute(params![
                    id,
                    revision as i64,
                    entry.client,
                    entry.seq as i64,
                    json(&entry.edit)
                ]);
                match inserted {
                    Ok(_) => {}
                    Err(rusqlite::Error::SqliteFailure(error, _))
                        if error.code == rusqlite::ErrorCode::ConstraintViolation =>
                    {
                        return Err(StoreError::Conflict {
                            doc: id.to_owned(),
                            revision,
                        });
                    }
                    Err(error) => return Err(error.into()),
                }
            }
            let mut snapshot = transaction.prepare(
                "INSERT OR REPLACE INTO snapshots (doc, revision, body) VALUES (?1, ?2, ?3)",
            )?;
            for (revision, body) in snapshots {
                snapshot.execute(params![id, *revision as i64, json(body)])?;
            }
        }
        transaction.commit()?;
        Ok(())
        // region: stub
        // todo!("Stage 2 and 14: store the edits in one transaction (chapter A-editor, section \"Stage 14: Durability\")")
        // endregion
    }

    /// Names revision `revision` of `id`.
    pub fn name(&self, id: &str, name: &str, revision: u64) -> Result<(), StoreError> {
        self.connection().execute(
            "INSERT OR REPLACE INTO names (doc, name, revision) VALUES (?1, ?2, ?3)",
            params![id, name, revision as i64],
        )?;
        Ok(())
    }

    /// Loads document `id`, or `None` when there is no such document.
    pub fn load(&self, id: &str) -> Result<Option<(Doc, Access)>, StoreError> {
        let connection = self.connection();
        let Some(access) = connection
            .query_row(
                "SELECT access FROM documents WHERE id = ?1",
                params![id],
                |row| row.get::<_, String>(0),
            )
            .optional()?
        else {
            return Ok(None);
        };
        let access: Access = serde_json::from_str(&access).map_err(|e| corrupt(id, e))?;
        let mut log = Vec::new();
        let mut statement = connection.prepare(
            "SELECT revision, client, seq, edit FROM edits WHERE doc = ?1 ORDER BY revision",
        )?;
        let rows = statement.query_map(params![id], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, String>(3)?,
            ))
        })?;
        for row in rows {
            let (revision, client, seq, edit) = row?;
            if revision != log.len() as i64 + 1 {
                return Err(corrupt(
                    id,
                    format!("revision {} is missing", log.len() + 1),
                ));
            }
            let edit: Edit = serde_json::from_str(&edit).map_err(|e| corrupt(id, e))?;
            log.push(Entry {
                edit,
                client,
                seq: u64::try_from(seq).map_err(|e| corrupt(id, e))?,
            });
        }
        let mut snapshots = BTreeMap::new();
        let mut statement =
            connection.prepare("SELECT revision, body FROM snapshots WHERE doc = ?1")?;
        let rows = statement.query_map(params![id], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
        })?;
        for row in rows {
            let (revision, body) = row?;
            let body: RichText = serde_json::from_str(&body).map_err(|e| corrupt(id, e))?;
            snapshots.insert(u64::try_from(revision).map_err(|e| corrupt(id, e))?, body);
        }
        let mut names = BTreeMap::new();
        let mut statement =
            connection.prepare("SELECT name, revision FROM names WHERE doc = ?1")?;
        let rows = statement.query_map(params![id], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
        })?;
        for row in rows {
            let (name, revision) = row?;
            names.insert(name, u64::try_from(revision).map_err(|e| corrupt(id, e))?);
        }
        let doc =
            Doc::from_parts(log, snapshots, names).map_err(|error: DocError| corrupt(id, error))?;
        Ok(Some((doc, access)))
    }
}
