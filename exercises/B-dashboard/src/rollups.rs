//! The minute tier in SQLite, so that the history survives a restart
//! (`dashboard-server --rollups FILE`).
//!
//! The store keeps every series in memory; without this file, a restart
//! starts with no history at all. With it, the server saves the minute
//! tier's buckets and loads them back at start, as far back as the minute
//! tier's retention (a day by default). The raw tier (per second, an hour)
//! is not saved: after a restart, the last hour is there at minute
//! resolution only.
//!
//! What is saved, and when:
//! * the minute buckets of every minute that a sample changed since the
//!   last save, the current minute's included (upserted: a bucket saved
//!   while its minute was running is replaced by its newer sums). A late
//!   sample (`POST /api/ingest` with an older timestamp) marks its own
//!   minute, and only that one, so it is saved too;
//! * every [`SAVE_EVERY`] on the server's clock, and once more at a clean
//!   shutdown. A `kill -9` loses at most the samples of the last
//!   [`SAVE_EVERY`]; a clean stop loses nothing.
//!
//! Two tables: `series` (a number per series, its key as JSON) and
//! `minute` (one row per bucket, keyed by start then series, so that the
//! buckets past the retention are one range to delete, and the load reads
//! them in time order).
//!
//! The same durability as the alert state ([`crate::alerts::AlertStore`]):
//! WAL with `synchronous = NORMAL`, so a committed save survives the death
//! of the process.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{Connection, params};

use crate::clock::Millis;
use crate::labels::SeriesKey;
use crate::store::{Bucket, MINUTE_PERIOD, Store};

/// How often (on the server's clock) the changed minute buckets are saved.
pub const SAVE_EVERY: Millis = 10_000;
/// The layout version in `PRAGMA user_version`.
pub const SCHEMA_VERSION: i64 = 1;
/// `PRAGMA application_id` of a rollups file ("WSWR"): another SQLite
/// file, such as the alert state, is refused rather than written into.
pub const APPLICATION_ID: i64 = 0x5753_5752;

/// The rollups file could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
pub enum RollupError {
    /// SQLite said no.
    #[error("the rollups database failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Another program's SQLite file (or the alert state's).
    #[error(
        "the file is an SQLite database of something else (application id {found:#x}), not the dashboard's rollups; give --rollups a file of its own"
    )]
    NotRollups {
        /// Its `application_id`.
        found: i64,
    },
    /// Another layout version.
    #[error(
        "the rollups database has layout version {found}, this program writes version {SCHEMA_VERSION}; move the file away to start afresh"
    )]
    Version {
        /// The file's `user_version`.
        found: i64,
    },
    /// A stored row is not what this version writes.
    #[error(
        "the rollups database holds a row this version cannot read ({0}); move the file away to start afresh"
    )]
    Corrupt(String),
}

/// The rollups file: one SQLite database.
#[derive(Debug)]
pub struct RollupStore {
    connection: Connection,
    /// The number of each series in the `series` table.
    ids: HashMap<SeriesKey, i64>,
}

impl RollupStore {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, RollupError> {
        let connection = Connection::open(path)?;
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        let application: i64 =
            connection.pragma_query_value(None, "application_id", |row| row.get(0))?;
        let version: i64 = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
        match (application, version) {
            (0, 0) => {
                let tables: i64 =
                    connection
                        .query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))?;
                if tables > 0 {
                    return Err(RollupError::NotRollups { found: 0 });
                }
                connection.pragma_update(None, "journal_mode", "WAL")?;
                connection.execute_batch(&format!(
                    "BEGIN;
                     CREATE TABLE series (
                         id INTEGER PRIMARY KEY,
                         key TEXT NOT NULL UNIQUE
                     );
                     CREATE TABLE minute (
                         start INTEGER NOT NULL,
                         series INTEGER NOT NULL REFERENCES series (id),
                         count INTEGER NOT NULL,
                         sum REAL NOT NULL,
                         min REAL NOT NULL,
                         max REAL NOT NULL,
                         last REAL NOT NULL,
                         last_t INTEGER NOT NULL,
                         PRIMARY KEY (start, series)
                     ) WITHOUT ROWID;
                     PRAGMA application_id = {APPLICATION_ID};
                     PRAGMA user_version = {SCHEMA_VERSION};
                     COMMIT;"
                ))?;
            }
            (APPLICATION_ID, SCHEMA_VERSION) => {
                connection.pragma_update(None, "journal_mode", "WAL")?;
            }
            (APPLICATION_ID, found) => return Err(RollupError::Version { found }),
            (found, _) => return Err(RollupError::NotRollups { found }),
        }
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        Ok(Self {
            connection,
            ids: HashMap::new(),
        })
    }

    /// Puts the saved buckets back into `store` (normally a new, empty
    /// one): those the minute tier still keeps at `now`; the older rows are
    /// deleted. Returns how many buckets were restored.
    pub fn load(&mut self, store: &mut Store, now: Millis) -> Result<usize, RollupError> {
        let oldest = store.minute_oldest(now);
        self.connection
            .execute("DELETE FROM minute WHERE start < ?1", params![oldest])?;
        let mut keys = HashMap::new();
        {
            let mut select = self.connection.prepare("SELECT id, key FROM series")?;
            let mut rows = select.query([])?;
            while let Some(row) = rows.next()? {
                let id: i64 = row.get(0)?;
                let json: String = row.get(1)?;
                let key: SeriesKey = serde_json::from_str(&json)
                    .map_err(|error| RollupError::Corrupt(format!("series {id}: {error}")))?;
                self.ids.insert(key.clone(), id);
                keys.insert(id, key);
            }
        }
        let mut select = self.connection.prepare(
            "SELECT start, series, count, sum, min, max, last, last_t FROM minute
             WHERE start >= ?1 ORDER BY start, series",
        )?;
        let mut rows = select.query(params![oldest])?;
        let mut restored = 0;
        while let Some(row) = rows.next()? {
            let series: i64 = row.get(1)?;
            let count: i64 = row.get(2)?;
            let bucket = Bucket {
                start: row.get(0)?,
                count: count.try_into().unwrap_or(0),
                sum: row.get(3)?,
                min: row.get(4)?,
                max: row.get(5)?,
                last: row.get(6)?,
                last_t: row.get(7)?,
            };
            let corrupt = |why: &str| {
                RollupError::Corrupt(format!(
                    "the bucket of series {series} at {} {why}",
                    bucket.start
                ))
            };
            let Some(key) = keys.get(&series) else {
                return Err(corrupt("names no series"));
            };
            if !plausible(&bucket) {
                return Err(corrupt("is not a minute's summary"));
            }
            if store
                .restore_minute(key, bucket, now)
                .map_err(|error| corrupt(&error.to_string()))?
            {
                restored += 1;
            }
        }
        Ok(restored)
    }

    /// Saves `buckets` (inserted, or replacing the saved bucket of the same
    /// series and minute) and deletes those that start before `oldest`, in
    /// one transaction: on an error nothing is written, and the next save
    /// can write the same buckets again.
    pub fn save(
        &mut self,
        buckets: &[(SeriesKey, Bucket)],
        oldest: Millis,
    ) -> Result<(), RollupError> {
        let transaction = self.connection.transaction()?;
        // The numbers of new series count only once the transaction is
        // committed: a rolled-back number may be given to another series.
        let mut added = HashMap::new();
        {
            let mut add_series =
                transaction.prepare("INSERT INTO series (key) VALUES (?1) RETURNING id")?;
            let mut upsert = transaction.prepare(
                "INSERT INTO minute (start, series, count, sum, min, max, last, last_t)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (start, series) DO UPDATE SET
                     count = excluded.count, sum = excluded.sum, min = excluded.min,
                     max = excluded.max, last = excluded.last, last_t = excluded.last_t",
            )?;
            for (key, bucket) in buckets {
                let id = match self.ids.get(key).or_else(|| added.get(key)) {
                    Some(&id) => id,
                    None => {
                        let json = serde_json::to_string(key)
                            .map_err(|error| RollupError::Corrupt(error.to_string()))?;
                        let id: i64 = add_series.query_row(params![json], |row| row.get(0))?;
                        added.insert(key.clone(), id);
                        id
                    }
                };
                upsert.execute(params![
                    bucket.start,
                    id,
                    i64::try_from(bucket.count).unwrap_or(i64::MAX),
                    bucket.sum,
                    bucket.min,
                    bucket.max,
                    bucket.last,
                    bucket.last_t,
                ])?;
            }
        }
        transaction.execute("DELETE FROM minute WHERE start < ?1", params![oldest])?;
        transaction.commit()?;
        self.ids.extend(added);
        Ok(())
    }
}

/// Could `bucket` be a minute's summary, as the store writes it?
fn plausible(bucket: &Bucket) -> bool {
    bucket.start % MINUTE_PERIOD == 0
        && bucket.count > 0
        && [bucket.sum, bucket.min, bucket.max, bucket.last]
            .iter()
            .all(|value| value.is_finite())
        && bucket.min <= bucket.max
}
