//! Where samples come from besides the ingest endpoint: synthetic sources.
//!
//! A [`Source`] is asked for its values every collection tick, at the
//! clock's time; the server stores what it returns as if it had been
//! posted. Synthetic sources make a demo move without any other program,
//! and their values are a function of the time (and a seed), so a test
//! knows what they must show.

use std::f64::consts::TAU;

use crate::clock::Millis;
use crate::labels::SeriesKey;

/// Something that produces samples when asked.
pub trait Source: Send + 'static {
    /// The values at `now`.
    fn collect(&mut self, now: Millis) -> Vec<(SeriesKey, f64)>;
}

/// `offset + amplitude · sin(2π t / period)`.
#[derive(Debug, Clone)]
pub struct Sine {
    /// The series.
    pub key: SeriesKey,
    /// The period, in ms.
    pub period: Millis,
    /// The amplitude.
    pub amplitude: f64,
    /// The centre line.
    pub offset: f64,
}

impl Source for Sine {
    fn collect(&mut self, now: Millis) -> Vec<(SeriesKey, f64)> {
        todo!(
            "Stage 1: offset + amplitude · sin(2π · phase), phase = where now falls in the period (chapter B, section \"Stage 1: Boot and catalogue\")"
        )
    }
}

/// `low` and `high` in turn, each for half of `period`: a square wave, the
/// input that makes a threshold alert fire and resolve on a schedule.
#[derive(Debug, Clone)]
pub struct Step {
    /// The series.
    pub key: SeriesKey,
    /// The full period, in ms.
    pub period: Millis,
    /// The first half's value.
    pub low: f64,
    /// The second half's value.
    pub high: f64,
}

impl Source for Step {
    fn collect(&mut self, now: Millis) -> Vec<(SeriesKey, f64)> {
        todo!(
            "Stage 1: low in the first half of each period, high in the second (chapter B, section \"Stage 1: Boot and catalogue\")"
        )
    }
}

/// A random walk from a seed: each tick adds a step in `[-size, size]`,
/// kept within `[min, max]`.
#[derive(Debug, Clone)]
pub struct RandomWalk {
    /// The series.
    pub key: SeriesKey,
    /// The largest step.
    pub size: f64,
    /// The lowest value.
    pub min: f64,
    /// The highest value.
    pub max: f64,
    value: f64,
    state: u64,
}

impl RandomWalk {
    /// A walk starting at `start`, reproducible from `seed`.
    pub fn new(key: SeriesKey, seed: u64, start: f64, size: f64, min: f64, max: f64) -> Self {
        Self {
            key,
            size,
            min,
            max,
            value: start,
            state: seed | 1,
        }
    }

    /// The next number in `[0, 1)` (xorshift64*).
    fn next_unit(&mut self) -> f64 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        (self.state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

impl Source for RandomWalk {
    fn collect(&mut self, _now: Millis) -> Vec<(SeriesKey, f64)> {
        let step = (self.next_unit() * 2.0 - 1.0) * self.size;
        self.value = (self.value + step).clamp(self.min, self.max);
        vec![(self.key.clone(), self.value)]
    }
}

/// Quiet at `base`, then `burst` for `length` ms every `every` ms: the
/// traffic spike that tests a rate cap and a slow client.
#[derive(Debug, Clone)]
pub struct Bursts {
    /// The series.
    pub key: SeriesKey,
    /// The quiet value.
    pub base: f64,
    /// The value during a burst.
    pub burst: f64,
    /// How often a burst starts, in ms.
    pub every: Millis,
    /// How long it lasts, in ms.
    pub length: Millis,
}

impl Source for Bursts {
    fn collect(&mut self, now: Millis) -> Vec<(SeriesKey, f64)> {
        todo!(
            "Stage 1: burst for the first length ms of every period, base otherwise (chapter B, section \"Stage 1: Boot and catalogue\")"
        )
    }
}

/// The demo's sources: a sine, a square wave, a random walk and bursts.
pub fn demo(seed: u64) -> Vec<Box<dyn Source>> {
    let key =
        |name: &str, shape: &str| SeriesKey::new(name, [("source", "synthetic"), ("shape", shape)]);
    vec![
        Box::new(Sine {
            key: key("demo_wave", "sine"),
            period: 60_000,
            amplitude: 40.0,
            offset: 50.0,
        }),
        Box::new(Step {
            key: key("demo_wave", "step"),
            period: 120_000,
            low: 20.0,
            high: 95.0,
        }),
        Box::new(RandomWalk::new(
            key("demo_walk", "walk"),
            seed,
            50.0,
            5.0,
            0.0,
            100.0,
        )),
        Box::new(Bursts {
            key: key("demo_requests", "bursts"),
            base: 10.0,
            burst: 500.0,
            every: 30_000,
            length: 3_000,
        }),
    ]
}
