//! The arithmetic of RTT samples, pure: a smoothed average, percentiles and
//! the window they are taken over.

use std::collections::VecDeque;
use std::time::Duration;

use crate::config::{EWMA_ALPHA, RTT_WINDOW};
use crate::report::RttSummary;

// ANCHOR: ewma
/// An exponentially weighted moving average of durations: each sample moves
/// it `alpha` of the way towards itself, so old samples fade out without a
/// window to keep. The first sample seeds it (as TCP's SRTT does): starting
/// from zero would make a 400 ms link look fast for a dozen samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Ewma {
    alpha: f64,
    /// Seconds; `None` before the first sample.
    value: Option<f64>,
}

impl Ewma {
    /// An empty average with gain `alpha` (0 < alpha ≤ 1).
    pub fn new(alpha: f64) -> Self {
        Ewma { alpha, value: None }
    }

    /// Takes a sample: the first becomes the value, every later one gives
    /// `(1 - alpha) * value + alpha * sample`. Returns the new value.
    pub fn update(&mut self, sample: Duration) -> Duration {
        // region: solution
        let sample = sample.as_secs_f64();
        let value = match self.value {
            None => sample,
            Some(old) => (1.0 - self.alpha) * old + self.alpha * sample,
        };
        self.value = Some(value);
        Duration::from_secs_f64(value)
        // region: stub
        // todo!("Task 1: seed with the first sample, then blend (chapter 11, \"Task 1: Smoothing\")")
        // endregion
    }

    /// The current value, `None` before the first sample.
    pub fn value(&self) -> Option<Duration> {
        self.value.map(Duration::from_secs_f64)
    }
}
// ANCHOR_END: ewma

// ANCHOR: percentile
/// The `p`-th percentile (0 < p ≤ 100) of `sorted` (ascending) by the
/// nearest-rank method: the smallest sample such that at least `p` % of
/// the samples are at or below it, that is `sorted[ceil(p / 100 * n) - 1]`.
/// It is always one of the samples, never an interpolation. `None` when
/// `sorted` is empty.
pub fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    // region: solution
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    // Multiply before dividing: 55 * 100 / 100 is exactly 55, while
    // 55 / 100 * 100 is 55.00000000000001 and would round up a rank too far.
    let rank = (p * n as f64 / 100.0).ceil() as usize;
    sorted.get(rank.clamp(1, n) - 1).copied()
    // region: stub
    // todo!("Task 1: nearest rank, ceil(p / 100 * n) (chapter 11, \"Task 1: Smoothing\")")
    // endregion
}
// ANCHOR_END: percentile

// ANCHOR: rtt_stats
/// Every RTT sample goes through here: the EWMA sees all of them, the
/// window keeps the last [`RTT_WINDOW`] for percentiles, min, max and mean.
#[derive(Debug, Clone)]
pub struct RttStats {
    ewma: Ewma,
    window: VecDeque<Duration>,
    count: u64,
}

impl Default for RttStats {
    fn default() -> Self {
        RttStats {
            ewma: Ewma::new(EWMA_ALPHA),
            window: VecDeque::with_capacity(RTT_WINDOW),
            count: 0,
        }
    }
}

impl RttStats {
    /// Takes one sample: into the EWMA, into the window (dropping the
    /// oldest beyond [`RTT_WINDOW`]), and counted.
    pub fn record(&mut self, rtt: Duration) {
        // region: solution
        self.ewma.update(rtt);
        if self.window.len() == RTT_WINDOW {
            self.window.pop_front();
        }
        self.window.push_back(rtt);
        self.count += 1;
        // region: stub
        // todo!("Task 1: record a sample (chapter 11, \"Task 1: Smoothing\")")
        // endregion
    }

    /// The smoothed RTT, `None` before the first sample.
    pub fn smoothed(&self) -> Option<Duration> {
        self.ewma.value()
    }

    /// The samples in the window, oldest first.
    pub fn samples(&self) -> Vec<Duration> {
        self.window.iter().copied().collect()
    }

    /// Everything at once; `None` before the first sample. `count` and
    /// `ewma` cover every sample ever taken; the others cover the window.
    pub fn summary(&self) -> Option<RttSummary> {
        // region: solution
        let ewma = self.ewma.value()?;
        let mut sorted = self.samples();
        sorted.sort_unstable();
        let total: Duration = sorted.iter().sum();
        // The window holds at most RTT_WINDOW (100) samples: fits in a u32.
        let n = u32::try_from(sorted.len()).ok().filter(|n| *n > 0)?;
        Some(RttSummary {
            count: self.count,
            min: *sorted.first()?,
            max: *sorted.last()?,
            mean: total / n,
            ewma,
            p50: percentile(&sorted, 50.0)?,
            p95: percentile(&sorted, 95.0)?,
            p99: percentile(&sorted, 99.0)?,
        })
        // region: stub
        // todo!("Task 1: summarise the window (chapter 11, \"Task 1: Smoothing\")")
        // endregion
    }
}
// ANCHOR_END: rtt_stats
