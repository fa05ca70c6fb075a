//! The store against an oracle: every sample kept in a list, every query
//! answered by a scan of the list. Seeded; `STORE_SEED=N` replays a run.
//! Then the minute tier saved in SQLite (`--rollups`): back after a clean
//! restart, and after a `kill -9` up to the last save.

mod common;

use std::net::SocketAddr;

use common::{EPOCH, Line, Process, advance_to, encode, get, ingest, start_with};
use dashboard::rollups::SAVE_EVERY;
use dashboard::store::{Aggregation, MINUTE_PERIOD, Query, Retention, Sample, Store, Tier};
use dashboard::{Selector, SeriesKey};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn oracle(samples: &[Sample], query: &Query) -> Vec<(i64, f64)> {
    let mut points: Vec<(i64, Vec<Sample>)> = Vec::new();
    for sample in samples {
        let period = query.tier.map_or(1_000, Tier::period);
        let bucket = sample.t.div_euclid(period) * period;
        if bucket < query.start || bucket >= query.end {
            continue;
        }
        let t = query.start + (bucket - query.start) / query.step * query.step;
        match points.iter_mut().find(|(at, _)| *at == t) {
            Some((_, list)) => list.push(*sample),
            None => points.push((t, vec![*sample])),
        }
    }
    points.sort_by_key(|(t, _)| *t);
    points
        .into_iter()
        .map(|(t, list)| {
            let values = list.iter().map(|s| s.v);
            let value = match query.aggregation {
                Aggregation::Avg => values.clone().sum::<f64>() / list.len() as f64,
                Aggregation::Min => values.fold(f64::INFINITY, f64::min),
                Aggregation::Max => values.fold(f64::NEG_INFINITY, f64::max),
                Aggregation::Sum => values.sum(),
                Aggregation::Count => list.len() as f64,
                Aggregation::Last => {
                    // The latest by time; on a tie, the one stored last.
                    let mut last = list[0];
                    for s in &list {
                        if s.t >= last.t {
                            last = *s;
                        }
                    }
                    last.v
                }
            };
            (t, value)
        })
        .collect()
}

#[test]
fn queries_agree_with_a_scan_of_every_sample() {
    let seed = std::env::var("STORE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_u64);
    let mut rng = Rng(seed | 1);
    let now = 10_000_000;
    for round in 0..200 {
        let mut store = Store::new(Retention::default());
        let (id, _) = store
            .intern(&SeriesKey::new("m", [("r", "1")]))
            .expect("a series");
        let mut samples = Vec::new();
        for _ in 0..rng.below(300) {
            // Whole values keep sums exact, whatever the order of addition.
            let sample = Sample {
                t: now - 1_200_000 + rng.below(1_200_000) as i64,
                v: rng.below(100) as f64,
            };
            store.insert(id, sample, now).expect("inside the retention");
            samples.push(sample);
        }
        let aggregations = [
            Aggregation::Avg,
            Aggregation::Min,
            Aggregation::Max,
            Aggregation::Sum,
            Aggregation::Count,
            Aggregation::Last,
        ];
        let tier = if rng.below(2) == 0 {
            Tier::Raw
        } else {
            Tier::Minute
        };
        let period = tier.period();
        let start = (now - 1_200_000 + rng.below(1_200) as i64 * 1_000).div_euclid(period) * period;
        let query = Query {
            start,
            end: start + (1 + rng.below(1_200_000 / period as u64)) as i64 * period,
            step: (1 + rng.below(120)) as i64 * period,
            aggregation: aggregations[rng.below(6) as usize],
            tier: Some(tier),
        };
        let got = store
            .query(&Selector::default(), &query, now)
            .expect("a valid query");
        assert_eq!(
            got.series[0].points,
            oracle(&samples, &query),
            "seed {seed}, round {round}, {query:?}"
        );
    }
}

#[test]
fn the_minute_tier_answers_old_and_whole_minute_ranges() {
    let mut store = Store::new(Retention::default());
    let (id, _) = store
        .intern(&SeriesKey::new("m", [("r", "1")]))
        .expect("a series");
    let now = 100 * 3_600_000;
    for second in 0..7_200 {
        let t = now - 7_200_000 + second * 1_000;
        store
            .insert(id, Sample { t, v: 1.0 }, now)
            .expect("inside the retention");
    }
    let old = Query {
        start: now - 7_200_000,
        end: now,
        step: 60_000,
        aggregation: Aggregation::Count,
        tier: None,
    };
    let result = store
        .query(&Selector::default(), &old, now)
        .expect("a valid query");
    assert_eq!(result.tier, Tier::Minute);
    assert_eq!(result.series[0].points.len(), 120);
    assert!(
        result.series[0]
            .points
            .iter()
            .all(|&(_, count)| count == 60.0)
    );
    let raw = Query {
        start: now - 7_200_000,
        end: now,
        step: 1_000,
        aggregation: Aggregation::Count,
        tier: Some(Tier::Raw),
    };
    let result = store
        .query(&Selector::default(), &raw, now)
        .expect("a valid query");
    assert_eq!(
        result.series[0].points.len(),
        3_600,
        "the raw tier keeps an hour"
    );
}

/// The start of [`EPOCH`]'s minute.
const M0: i64 = EPOCH - EPOCH % MINUTE_PERIOD;

const HOST_A: &[(&str, &str)] = &[("host", "a")];

/// `selector` from the tier `tier` over the five minutes up to the end of
/// `M0`'s, one point per minute under `aggregation`: `(series, t, value)`.
async fn points(
    address: SocketAddr,
    selector: &str,
    tier: &str,
    aggregation: &str,
) -> Vec<(String, i64, f64)> {
    let step = if tier == "raw" { 1_000 } else { MINUTE_PERIOD };
    let path = format!(
        "/api/query?match={}&start={}&end={}&step={step}&aggregation={aggregation}&tier={tier}",
        encode(selector),
        M0 - 4 * MINUTE_PERIOD,
        M0 + MINUTE_PERIOD,
    );
    let (status, result) = get(address, &path).await;
    assert_eq!(status, 200, "{result}");
    let mut points = Vec::new();
    for series in result["series"].as_array().expect("series") {
        let name = series["series"]["name"].as_str().unwrap_or_default();
        for point in series["points"].as_array().expect("points") {
            let (t, v) = (point[0].as_i64(), point[1].as_f64());
            points.push((name.to_owned(), t.expect("a time"), v.expect("a value")));
        }
    }
    points
}

/// Everything the minute tier says about every series: count, sum, min,
/// max and last of each minute.
async fn minute_tier(address: SocketAddr) -> Vec<Vec<(String, i64, f64)>> {
    let mut all = Vec::new();
    for aggregation in ["count", "sum", "min", "max", "last"] {
        all.push(points(address, "{}", "minute", aggregation).await);
    }
    all
}

#[tokio::test]
async fn the_minute_tier_is_back_after_a_clean_restart() {
    let dir = tempfile::tempdir().expect("a directory");
    let path = dir.path().join("rollups.sqlite");
    let server = start_with(|config| config.rollups = Some(path.clone())).await;
    let address = server.local_addr();
    // Three minutes of cpu, a sample every 10 s; one sample of mem.
    let lines: Vec<Line> = (0..18)
        .map(|i| ("cpu", HOST_A, M0 - 2 * MINUTE_PERIOD + i * 10_000, i as f64))
        .collect();
    ingest(address, &lines).await;
    ingest(address, &[("mem", HOST_A, M0, 5.0)]).await;
    advance_to(address, EPOCH + SAVE_EVERY).await;
    // After that save: a late sample in the first minute, and one more in
    // the current minute. Only the clean stop saves them.
    ingest(
        address,
        &[
            ("cpu", HOST_A, M0 - 2 * MINUTE_PERIOD + 1, 100.0),
            ("cpu", HOST_A, M0 + 30_000, -7.0),
        ],
    )
    .await;
    let before = minute_tier(address).await;
    assert_eq!(before[0].len(), 4, "3 minutes of cpu, 1 of mem: {before:?}");
    server.shutdown().await;

    let server = start_with(|config| config.rollups = Some(path.clone())).await;
    let address = server.local_addr();
    assert_eq!(
        minute_tier(address).await,
        before,
        "every minute bucket, the late sample's and the current minute's included"
    );
    assert_eq!(
        points(address, "cpu", "raw", "count").await,
        vec![],
        "the raw tier is not saved"
    );
    // New samples add to the restored buckets.
    ingest(address, &[("mem", HOST_A, M0 + 1_000, 9.0)]).await;
    assert_eq!(
        points(address, "mem", "minute", "sum").await,
        vec![("mem".to_owned(), M0, 14.0)]
    );
    server.shutdown().await;
}

#[tokio::test]
async fn kill_9_loses_only_the_samples_after_the_last_save() {
    let dir = tempfile::tempdir().expect("a directory");
    let path = dir.path().join("rollups.sqlite");
    let args = ["--rollups".as_ref(), path.as_os_str()];
    let server = Process::spawn(&args);
    let address = server.address;
    let lines: Vec<Line> = (0..6)
        .map(|i| ("cpu", HOST_A, M0 - MINUTE_PERIOD + i * 10_000, i as f64))
        .chain([("cpu", HOST_A, M0, 10.0)])
        .collect();
    ingest(address, &lines).await;
    advance_to(address, EPOCH + SAVE_EVERY).await;
    let saved = minute_tier(address).await;
    ingest(address, &[("cpu", HOST_A, M0 + 1_000, 20.0)]).await;
    assert_ne!(minute_tier(address).await, saved);
    server.kill_9();

    let server = Process::spawn(&args);
    let address = server.address;
    assert_eq!(
        minute_tier(address).await,
        saved,
        "the minute tier as saved {SAVE_EVERY} ms into the clock"
    );
    server.kill_9();
}

#[tokio::test]
async fn a_file_that_is_not_rollups_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("a directory");
    let path = dir.path().join("alerts.sqlite");
    drop(dashboard::alerts::AlertStore::open(&path).expect("an alert database"));
    let mut config = dashboard::Config {
        rollups: Some(path),
        ..dashboard::Config::default()
    };
    config.clock = dashboard::Clock::manual(EPOCH);
    let address: SocketAddr = "127.0.0.1:0".parse().expect("an address");
    let error = dashboard::Server::start(address, config)
        .await
        .expect_err("the alert state is not a rollups file");
    let error = error.to_string();
    assert!(
        error.contains("alerts.sqlite") && error.contains("--rollups"),
        "{error}"
    );
}
