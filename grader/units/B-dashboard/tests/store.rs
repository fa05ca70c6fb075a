//! The store against an oracle: every sample kept in a list, every query
//! answered by a scan of the list. Seeded; `STORE_SEED=N` replays a run.

use dashboard::store::{Aggregation, Query, Retention, Sample, Store, Tier};
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
