//! The engine's state in SQLite, so that alerts survive `kill -9`.
//!
//! Two tables:
//! * `engine_state`: one row, the engine's state as JSON (every alert with
//!   its state and times, each group's last notification, the silences and
//!   the next silence id). It is rewritten whole in each save: it is small
//!   (one entry per alert that is not inactive), and one row written in one
//!   transaction can never be half old, half new.
//! * `history`: one row per transition, appended, trimmed to the latest
//!   [`HISTORY_LIMIT`].
//!
//! Both change in one transaction per save. Why this matters: the complaint
//! "after a restart my firing alert went back to pending and paged again"
//! comes from keeping the state in memory only. With the state on disk, a
//! restored firing alert stays firing while its condition holds: its `for`
//! is not served again, its `keep_firing_for` countdown continues from the
//! stored time, and its group is not re-notified before `repeat_interval`.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use super::engine::{Engine, EngineState, HISTORY_LIMIT};
use super::{RuleSet, Transition};

/// The layout version in `PRAGMA user_version`; a database written by
/// another version is refused rather than misread.
pub const SCHEMA_VERSION: i64 = 1;

/// The database could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// SQLite said no.
    #[error("the alert database failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored row is not what this version writes.
    #[error(
        "the alert database holds a row this version cannot read ({0}); move the file away to start afresh"
    )]
    Corrupt(#[from] serde_json::Error),
    /// Another layout version.
    #[error(
        "the alert database has layout version {found}, this program writes version {SCHEMA_VERSION}; move the file away to start afresh"
    )]
    Version {
        /// The file's `user_version`.
        found: i64,
    },
}

/// The alert database: one SQLite file.
#[derive(Debug)]
pub struct AlertStore {
    connection: Connection,
}

impl AlertStore {
    /// Opens (or creates) the database at `path`.
    ///
    /// WAL with `synchronous = NORMAL`: a committed transaction is in the
    /// WAL file, written by `write(2)`, before `COMMIT` returns. The kernel
    /// has it, so it survives the death of the *process* (`kill -9`, a
    /// panic, an OOM kill), which is what this store is for. Only a power
    /// cut or a kernel crash could lose the last transactions (NORMAL skips
    /// the `fsync` per commit); `FULL` would pay an `fsync` every evaluation
    /// that changed something, every second, to cover that too.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, PersistError> {
        let connection = Connection::open(path)?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        let version: i64 = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
        match version {
            0 => {
                connection.execute_batch(
                    "BEGIN;
                     CREATE TABLE IF NOT EXISTS engine_state (
                         id INTEGER PRIMARY KEY CHECK (id = 1),
                         json TEXT NOT NULL
                     );
                     CREATE TABLE IF NOT EXISTS history (
                         seq INTEGER PRIMARY KEY AUTOINCREMENT,
                         at INTEGER NOT NULL,
                         json TEXT NOT NULL
                     );
                     PRAGMA user_version = 1;
                     COMMIT;",
                )?;
            }
            SCHEMA_VERSION => {}
            found => return Err(PersistError::Version { found }),
        }
        Ok(Self { connection })
    }

    /// Writes `engine` in one transaction: its state (one row, replaced)
    /// and its unsaved transitions (appended to `history`, trimmed to the
    /// latest [`HISTORY_LIMIT`]).
    fn save(&self, engine: &Engine) -> Result<(), PersistError> {
        // region: solution
        let state = serde_json::to_string(&engine.state())?;
        let transaction = self.connection.unchecked_transaction()?;
        transaction.execute(
            "INSERT INTO engine_state (id, json) VALUES (1, ?1)
             ON CONFLICT (id) DO UPDATE SET json = excluded.json",
            params![state],
        )?;
        {
            let mut insert =
                transaction.prepare("INSERT INTO history (at, json) VALUES (?1, ?2)")?;
            for transition in engine.unsaved_transitions() {
                insert.execute(params![transition.at, serde_json::to_string(transition)?])?;
            }
        }
        transaction.execute(
            "DELETE FROM history WHERE seq <= (SELECT MAX(seq) FROM history) - ?1",
            params![HISTORY_LIMIT as i64],
        )?;
        transaction.commit()?;
        Ok(())
        // region: stub
        // todo!("Stage 15: in one transaction, write engine.state() as JSON in engine_state and append engine.unsaved_transitions() to history, keeping the latest HISTORY_LIMIT (chapter B, section \"Stage 15: Restart while firing\")")
        // endregion
    }

    // region: solution
    fn load(&self) -> Result<(Option<EngineState>, Vec<Transition>), PersistError> {
        let state: Option<String> = self
            .connection
            .query_row("SELECT json FROM engine_state WHERE id = 1", [], |row| {
                row.get(0)
            })
            .optional()?;
        let state = state.map(|json| serde_json::from_str(&json)).transpose()?;
        let mut select = self.connection.prepare(
            "SELECT json FROM (SELECT seq, json FROM history ORDER BY seq DESC LIMIT ?1)
             ORDER BY seq",
        )?;
        let rows =
            select.query_map(params![HISTORY_LIMIT as i64], |row| row.get::<_, String>(0))?;
        let mut history = Vec::new();
        for json in rows {
            history.push(serde_json::from_str(&json?)?);
        }
        Ok((state, history))
    }
    // endregion
}

impl Engine {
    /// The engine as it was at its last save in `store` (a fresh one if it
    /// never saved), under `rules`. Alerts of rules that no longer exist are
    /// settled at the first evaluation ("rule removed").
    pub fn restore(rules: RuleSet, store: &AlertStore) -> Result<Self, PersistError> {
        // region: solution
        let (state, history) = store.load()?;
        Ok(Engine::from_state(
            rules,
            state.unwrap_or_default(),
            history,
        ))
        // region: stub
        // todo!("Stage 15: read the saved state (if any) and the latest HISTORY_LIMIT transitions, oldest first, back into an engine with Engine::from_state (chapter B, section \"Stage 15: Restart while firing\")")
        // endregion
    }

    /// Saves the engine's state in `store` if it changed since the last
    /// save (one transaction); `true` if it wrote. Call it after every
    /// evaluation and every silence change; before sending notifications.
    pub fn save_to(&mut self, store: &AlertStore) -> Result<bool, PersistError> {
        if !self.dirty {
            return Ok(false);
        }
        store.save(self)?;
        self.dirty = false;
        self.unsaved_history = 0;
        Ok(true)
    }
}

// region: solution
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_database_restores_an_empty_engine() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let store = AlertStore::open(dir.path().join("alerts.db"))?;
        let engine = Engine::restore(RuleSet::default(), &store)?;
        assert!(engine.alerts().is_empty());
        assert!(engine.history(10).is_empty());
        drop(store);
        let reopened = AlertStore::open(dir.path().join("alerts.db"))?;
        assert!(
            Engine::restore(RuleSet::default(), &reopened)?
                .alerts()
                .is_empty()
        );
        Ok(())
    }

    #[test]
    fn another_layout_version_is_refused() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("alerts.db");
        Connection::open(&path)?.pragma_update(None, "user_version", 7)?;
        let error = AlertStore::open(&path).expect_err("version 7 is not ours");
        assert!(error.to_string().contains("version 7"), "{error}");
        Ok(())
    }
}
// endregion
