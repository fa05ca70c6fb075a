//! The time-series store: every series in memory, in two tiers.
//!
//! * **raw**: one [`Bucket`] per second, kept for [`Retention::raw`]
//!   (an hour by default);
//! * **minute**: one bucket per minute, kept for [`Retention::minute`]
//!   (a day by default).
//!
//! A bucket is kept while the clock shows less than its start plus the
//! retention plus one period: at `now`, the oldest bucket kept is the one
//! holding `now - retention`.
//!
//! A bucket holds the count, sum, minimum, maximum and last value of the
//! samples of its period, so any aggregation over whole buckets is exact:
//! a query never re-reads samples, and memory is bounded by the retention,
//! not by how fast samples come.
//!
//! Each tier of a series is a ring (`VecDeque`) of buckets sorted by time:
//! a sample in order is pushed at the back, the oldest bucket leaves at the
//! front when it falls out of the retention.
//!
//! ## Range queries
//! A [`Query`] asks for `[start, end)`: `start` **inclusive**, `end`
//! **exclusive**, every `step` milliseconds. The point at `t` aggregates the
//! buckets whose period starts in `[t, t + step)` (and before `end`); a
//! step with no data gives no point. `start`, `end` and `step` are whole
//! periods of the tier that answers: seconds for raw, minutes for minute.

use std::collections::{HashMap, VecDeque, vec_deque};
use std::ops::{Bound, RangeBounds};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::Millis;
use crate::labels::{Selector, SeriesKey};

/// A sample: a value at a time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// When, in milliseconds since the epoch.
    pub t: Millis,
    /// The value.
    pub v: f64,
}

/// A series' number in this store; the wire protocol uses it instead of
/// repeating the labels with every sample.
pub type SeriesId = u64;

/// The period of the raw tier: a second.
pub const RAW_PERIOD: Millis = 1_000;
/// The period of the minute tier.
pub const MINUTE_PERIOD: Millis = 60_000;
/// A sample more than this ahead of the clock is refused (so that a wrong
/// timestamp cannot push a series' whole history out of its ring).
pub const MAX_FUTURE: Millis = 60_000;
/// The most points a query may ask for per series: Prometheus's limit
/// (11 000), more than any chart is wide in pixels, so a bigger answer only
/// costs memory and bandwidth.
pub const MAX_POINTS: i64 = 11_000;

/// How long each tier keeps its buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// The raw tier (per second).
    pub raw: Duration,
    /// The minute tier.
    pub minute: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            raw: Duration::from_secs(3_600),
            minute: Duration::from_secs(86_400),
        }
    }
}

/// A tier of the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// One bucket per second.
    Raw,
    /// One bucket per minute.
    Minute,
}

impl Tier {
    /// The tier's name on the wire: `raw` or `minute`.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Raw => "raw",
            Tier::Minute => "minute",
        }
    }

    /// The tier's period in milliseconds.
    pub fn period(self) -> Millis {
        match self {
            Tier::Raw => RAW_PERIOD,
            Tier::Minute => MINUTE_PERIOD,
        }
    }
}

/// How a query's step combines the buckets in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Aggregation {
    /// The mean of every sample.
    #[default]
    Avg,
    /// The smallest sample.
    Min,
    /// The largest sample.
    Max,
    /// The sum of the samples.
    Sum,
    /// How many samples.
    Count,
    /// The latest sample (by time).
    Last,
}

/// The samples of one period, summed up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    /// The period's start (a multiple of the tier's period).
    pub start: Millis,
    /// How many samples.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
    /// The smallest.
    pub min: f64,
    /// The largest.
    pub max: f64,
    /// The latest, by time (on a tie, the one stored last).
    pub last: f64,
    /// The latest sample's time.
    pub last_t: Millis,
}

impl Bucket {
    fn new(start: Millis, sample: Sample) -> Self {
        Self {
            start,
            count: 1,
            sum: sample.v,
            min: sample.v,
            max: sample.v,
            last: sample.v,
            last_t: sample.t,
        }
    }

    fn add(&mut self, sample: Sample) {
        todo!(
            "Stage 2: add the sample to the bucket: count, sum, min, max, and last by time (chapter B, section \"Stage 2: Ingest and read back\")"
        )
    }

    fn merge(&mut self, other: &Bucket) {
        todo!(
            "Stage 6: merge another bucket into this one (chapter B, section \"Stage 6: Range queries\")"
        )
    }

    /// The bucket's value under `aggregation`.
    pub fn value(&self, aggregation: Aggregation) -> f64 {
        todo!(
            "Stage 2: the bucket's value under the aggregation (chapter B, section \"Stage 2: Ingest and read back\")"
        )
    }
}

/// One tier of one series: buckets sorted by start, at most `capacity`
/// periods from the newest.
#[derive(Debug, Clone)]
struct Ring {
    period: Millis,
    /// How long it keeps a bucket, in ms.
    retention: Millis,
    buckets: VecDeque<Bucket>,
    /// The last [`Ring::oldest_kept`] worked out: it changes only when the
    /// clock enters another period, so most samples need no division.
    oldest: Option<Millis>,
}

impl Ring {
    fn new(period: Millis, retention: Duration) -> Self {
        Self {
            period,
            retention: (retention.as_millis() as Millis).max(period),
            buckets: VecDeque::new(),
            oldest: None,
        }
    }

    /// The first period still kept when the clock shows `now`: the one
    /// that holds `now - retention` (a sample is kept while
    /// `t >= now - retention`, to the period).
    fn oldest_kept(&self, now: Millis) -> Millis {
        todo!(
            "Stage 2: the start of the period that holds now - retention (chapter B, section \"Stage 2: Ingest and read back\")"
        )
    }

    /// Adds a sample; `false` when it is older than the retention. A new
    /// bucket at the back pushes out, at the front, those that fell out of
    /// the retention.
    fn add(&mut self, sample: Sample, now: Millis) -> bool {
        todo!(
            "Stage 2: put the sample in its period's bucket, in time order, and drop the buckets older than the retention (chapter B, section \"Stage 2: Ingest and read back\")"
        )
    }

    /// The buckets starting in `[from, to)`, also no older than the
    /// retention at `now`.
    fn range(&self, from: Millis, to: Millis, now: Millis) -> vec_deque::Iter<'_, Bucket> {
        todo!(
            "Stage 2: the buckets starting in [from, to), none older than the retention (chapter B, section \"Stage 2: Ingest and read back\")"
        )
    }
}

#[derive(Debug, Clone)]
struct Series {
    key: SeriesKey,
    raw: Ring,
    minute: Ring,
    latest: Option<Sample>,
}

/// A range query: `[start, end)` every `step`, `aggregation` per step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Query {
    /// First time, inclusive (ms).
    pub start: Millis,
    /// Last time, exclusive (ms).
    pub end: Millis,
    /// The width of a point (ms).
    pub step: Millis,
    /// How the buckets of a step combine.
    #[serde(default)]
    pub aggregation: Aggregation,
    /// The tier that answers; by default the minute tier when `start` and
    /// `step` are whole minutes or `start` is older than the raw tier's
    /// retention, the raw tier otherwise.
    #[serde(default)]
    pub tier: Option<Tier>,
}

/// One series' answer to a query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoints {
    /// The series' number.
    pub id: SeriesId,
    /// Its name and labels.
    pub series: SeriesKey,
    /// `(time, value)` for each step with data, in time order.
    pub points: Vec<(Millis, f64)>,
}

/// The answer to a query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryResult {
    /// The tier that answered.
    pub tier: Tier,
    /// Every matching series, by id.
    pub series: Vec<SeriesPoints>,
}

/// A sample the store refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IngestError {
    /// Not a number, or infinite.
    #[error("the value {0} is not a finite number")]
    NotFinite(f64),
    /// Older than both tiers keep.
    #[error(
        "the sample at {t} ms is older than the retention (nothing before {oldest} ms is kept)"
    )]
    TooOld {
        /// Its time.
        t: Millis,
        /// The oldest time still kept.
        oldest: Millis,
    },
    /// Too far ahead of the clock.
    #[error("the sample at {t} ms is more than {MAX_FUTURE} ms ahead of the clock ({now} ms)")]
    InFuture {
        /// Its time.
        t: Millis,
        /// The clock.
        now: Millis,
    },
    /// A name or label the syntax forbids.
    #[error(transparent)]
    BadSeries(#[from] crate::labels::SelectorError),
}

/// A query the store cannot answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// `end <= start` or `step <= 0`.
    #[error(
        "a query needs start < end and a positive step (got start {start}, end {end}, step {step})"
    )]
    Empty {
        /// Start.
        start: Millis,
        /// End.
        end: Millis,
        /// Step.
        step: Millis,
    },
    /// Not whole periods of the tier.
    #[error(
        "the {tier:?} tier answers in whole periods of {period} ms: start, end and step must be multiples of it"
    )]
    Unaligned {
        /// The tier.
        tier: Tier,
        /// Its period.
        period: Millis,
    },
    /// More than [`MAX_POINTS`] points.
    #[error(
        "the query asks for {0} points per series; the most is {MAX_POINTS} (use a larger step)"
    )]
    TooManyPoints(i64),
}

/// Every series, in memory.
#[derive(Debug, Clone)]
pub struct Store {
    retention: Retention,
    ids: HashMap<SeriesKey, SeriesId>,
    series: Vec<Series>,
}

impl Store {
    /// An empty store.
    pub fn new(retention: Retention) -> Self {
        Self {
            retention,
            ids: HashMap::new(),
            series: Vec::new(),
        }
    }

    /// Its retention.
    pub fn retention(&self) -> Retention {
        self.retention
    }

    /// The series' id, adding the series if it is new (`true` then).
    pub fn intern(&mut self, key: &SeriesKey) -> Result<(SeriesId, bool), IngestError> {
        if let Some(&id) = self.ids.get(key) {
            return Ok((id, false));
        }
        key.validate()?;
        let id = self.series.len() as SeriesId;
        self.series.push(Series {
            key: key.clone(),
            raw: Ring::new(RAW_PERIOD, self.retention.raw),
            minute: Ring::new(MINUTE_PERIOD, self.retention.minute),
            latest: None,
        });
        self.ids.insert(key.clone(), id);
        Ok((id, true))
    }

    /// Would a sample be stored at `now`? The checks of [`Store::insert`]
    /// that do not depend on the series: the hub asks before it creates a
    /// series, so a refused first sample leaves no empty series behind.
    pub fn admits(&self, sample: Sample, now: Millis) -> Result<(), IngestError> {
        if !sample.v.is_finite() {
            return Err(IngestError::NotFinite(sample.v));
        }
        if sample.t > now.saturating_add(MAX_FUTURE) {
            return Err(IngestError::InFuture { t: sample.t, now });
        }
        let oldest = Ring::new(MINUTE_PERIOD, self.retention.minute).oldest_kept(now);
        if sample.t < oldest {
            return Err(IngestError::TooOld {
                t: sample.t,
                oldest,
            });
        }
        Ok(())
    }

    /// Stores a sample of series `id` (from [`Store::intern`]) when the
    /// clock shows `now`.
    pub fn insert(&mut self, id: SeriesId, sample: Sample, now: Millis) -> Result<(), IngestError> {
        todo!(
            "Stage 2: check the sample, then add it to both tiers (chapter B, section \"Stage 2: Ingest and read back\")"
        )
    }

    /// A series' name and labels.
    pub fn key(&self, id: SeriesId) -> Option<&SeriesKey> {
        self.series.get(id as usize).map(|series| &series.key)
    }

    /// How many series there are.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// Is the store empty?
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// How many buckets the store holds, raw and minute, over all series:
    /// what its memory grows with (`/health` shows it). Retention bounds it:
    /// a bucket that fell out of its tier's retention is gone once a newer
    /// one is added to its series.
    pub fn buckets(&self) -> (usize, usize) {
        self.series.iter().fold((0, 0), |(raw, minute), series| {
            (
                raw + series.raw.buckets.len(),
                minute + series.minute.buckets.len(),
            )
        })
    }

    /// The series a selector matches, by id.
    pub fn select<'a>(
        &'a self,
        selector: &'a Selector,
    ) -> impl Iterator<Item = (SeriesId, &'a SeriesKey)> + 'a {
        self.series
            .iter()
            .enumerate()
            .filter(|(_, series)| selector.matches(&series.key))
            .map(|(id, series)| (id as SeriesId, &series.key))
    }

    /// A series' latest sample.
    pub fn latest(&self, id: SeriesId) -> Option<Sample> {
        self.series
            .get(id as usize)
            .and_then(|series| series.latest)
    }

    /// The raw tier's samples of a series at or after `since`: the latest
    /// sample of each second (the raw tier's resolution), in time order.
    /// This is what a subscription's backfill sends.
    pub fn since(&self, id: SeriesId, since: Millis, now: Millis) -> Vec<Sample> {
        todo!(
            "Stage 8: the raw tier's latest sample of each second at or after since (chapter B, section \"Stage 8: Backfill then live\")"
        )
    }

    /// The start of the oldest minute the minute tier keeps at `now`.
    pub fn minute_oldest(&self, now: Millis) -> Millis {
        Ring::new(MINUTE_PERIOD, self.retention.minute).oldest_kept(now)
    }

    /// The minute tier's buckets that start in `starts`, of every series,
    /// with their series' key: what `--rollups` saves ([`crate::rollups`]).
    pub fn minute_buckets(&self, starts: impl RangeBounds<Millis>) -> Vec<(SeriesKey, Bucket)> {
        let mut buckets = Vec::new();
        for series in &self.series {
            let ring = &series.minute.buckets;
            let first = ring.partition_point(|bucket| match starts.start_bound() {
                Bound::Included(&from) => bucket.start < from,
                Bound::Excluded(&from) => bucket.start <= from,
                Bound::Unbounded => false,
            });
            buckets.extend(
                ring.range(first..)
                    .take_while(|bucket| starts.contains(&bucket.start))
                    .map(|bucket| (series.key.clone(), *bucket)),
            );
        }
        buckets
    }

    /// Puts a saved minute bucket back into the series `key` (added if
    /// new), replacing a bucket of the same minute; its last sample becomes
    /// the series' latest if it is newer. `false` (and nothing changes) when
    /// the minute tier no longer keeps its minute at `now`. For
    /// [`crate::rollups`], at start.
    pub fn restore_minute(
        &mut self,
        key: &SeriesKey,
        bucket: Bucket,
        now: Millis,
    ) -> Result<bool, IngestError> {
        if bucket.start < self.minute_oldest(now) {
            return Ok(false);
        }
        let (id, _) = self.intern(key)?;
        let Some(series) = self.series.get_mut(id as usize) else {
            return Ok(false);
        };
        let ring = &mut series.minute.buckets;
        match ring.binary_search_by_key(&bucket.start, |kept| kept.start) {
            Ok(i) => ring[i] = bucket,
            Err(i) => ring.insert(i, bucket),
        }
        if series.latest.is_none_or(|latest| bucket.last_t >= latest.t) {
            series.latest = Some(Sample {
                t: bucket.last_t,
                v: bucket.last,
            });
        }
        Ok(true)
    }

    /// The tier a query is answered from, when it does not name one.
    pub fn tier_for(&self, query: &Query, now: Millis) -> Tier {
        if let Some(tier) = query.tier {
            return tier;
        }
        todo!(
            "Stage 7: the minute tier for whole minutes or a start older than the raw tier keeps (chapter B, section \"Stage 7: Tiers and retention\")"
        )
    }

    /// Answers a range query over the series `selector` matches.
    pub fn query(
        &self,
        selector: &Selector,
        query: &Query,
        now: Millis,
    ) -> Result<QueryResult, QueryError> {
        let Query {
            start, end, step, ..
        } = *query;
        if end <= start || step <= 0 {
            return Err(QueryError::Empty { start, end, step });
        }
        let tier = self.tier_for(query, now);
        let period = tier.period();
        if start % period != 0 || end % period != 0 || step % period != 0 {
            return Err(QueryError::Unaligned { tier, period });
        }
        let points = (end - start + step - 1) / step;
        if points > MAX_POINTS {
            return Err(QueryError::TooManyPoints(points));
        }
        let series = self
            .series
            .iter()
            .enumerate()
            .filter(|(_, series)| selector.matches(&series.key))
            .map(|(id, series)| {
                let ring = match tier {
                    Tier::Raw => &series.raw,
                    Tier::Minute => &series.minute,
                };
                SeriesPoints {
                    id: id as SeriesId,
                    series: series.key.clone(),
                    points: aggregate(ring.range(start, end, now), start, step, query.aggregation),
                }
            })
            .collect();
        Ok(QueryResult { tier, series })
    }
}

/// Folds buckets (sorted by start, all in the query's range) into one point
/// per step.
fn aggregate<'a>(
    buckets: impl Iterator<Item = &'a Bucket>,
    start: Millis,
    step: Millis,
    aggregation: Aggregation,
) -> Vec<(Millis, f64)> {
    todo!(
        "Stage 2: one point per step with data: the buckets of [t, t + step) merged (chapter B, section \"Stage 2: Ingest and read back\")"
    )
}
