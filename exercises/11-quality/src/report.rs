//! The report: every number the monitor keeps, at one instant, and a
//! plain-text rendering of it for logs and terminals.

use std::fmt;
use std::time::Duration;

use crate::monitor::Quality;
use crate::policy::{PolicyChange, Step};

// ANCHOR: report
/// RTT figures. `count` and `ewma` cover every sample taken; `min`, `max`,
/// `mean` and the percentiles cover the window ([`Report::samples`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RttSummary {
    /// Samples taken since the start.
    pub count: u64,
    /// Smallest in the window.
    pub min: Duration,
    /// Largest in the window.
    pub max: Duration,
    /// Arithmetic mean of the window.
    pub mean: Duration,
    /// The smoothed RTT (EWMA over every sample).
    pub ewma: Duration,
    /// Median of the window (nearest rank).
    pub p50: Duration,
    /// 95th percentile of the window (nearest rank).
    pub p95: Duration,
    /// 99th percentile of the window (nearest rank).
    pub p99: Duration,
}

/// What the monitor knows. `sent == received + lost + in_flight` always.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Heartbeats sent.
    pub sent: u64,
    /// Heartbeats that came back in time: one RTT sample each.
    pub received: u64,
    /// Heartbeats lost: skipped in the sequence, or no echo in time.
    pub lost: u64,
    /// Echoes of heartbeats already counted lost (not in `received`).
    pub late: u64,
    /// Heartbeats sent and not settled yet.
    pub in_flight: u64,
    /// Lost share of the last `LOSS_WINDOW` settled heartbeats.
    pub loss_ratio: f64,
    /// `lost / (received + lost)` since the start (0.0 before any).
    pub total_loss_ratio: f64,
    /// RTT figures; `None` before the first sample.
    pub rtt: Option<RttSummary>,
    /// The RTT samples of the window, oldest first.
    pub samples: Vec<Duration>,
    /// The link's quality now.
    pub quality: Quality,
    /// The policy's rung (0 is the best).
    pub level: usize,
    /// What the policy allows now.
    pub step: Step,
    /// The policy's changes, oldest first (the last 100).
    pub changes: Vec<PolicyChange>,
}
// ANCHOR_END: report

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

impl fmt::Display for Report {
    /// ```text
    /// quality Good, policy rung 0 (every 50 ms, batches of 1)
    /// heartbeats: 40 sent, 30 received, 10 lost (25.0 %, recent 25.0 %), 0 late, 0 in flight
    /// rtt over 30 samples: min 100.2 ms, mean 101.0 ms, p50 100.9 ms, p95 102.3 ms, p99 104.0 ms, max 104.0 ms, smoothed 101.1 ms
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "quality {:?}, policy rung {} (every {} ms, batches of {})",
            self.quality,
            self.level,
            self.step.update_interval.as_millis(),
            self.step.batch_size
        )?;
        write!(
            f,
            "heartbeats: {} sent, {} received, {} lost ({:.1} %, recent {:.1} %), {} late, {} in flight",
            self.sent,
            self.received,
            self.lost,
            self.total_loss_ratio * 100.0,
            self.loss_ratio * 100.0,
            self.late,
            self.in_flight
        )?;
        match &self.rtt {
            None => write!(f, "\nrtt: no samples yet"),
            Some(rtt) => write!(
                f,
                "\nrtt over {} samples: min {:.1} ms, mean {:.1} ms, p50 {:.1} ms, p95 {:.1} ms, \
                 p99 {:.1} ms, max {:.1} ms, smoothed {:.1} ms",
                self.samples.len(),
                ms(rtt.min),
                ms(rtt.mean),
                ms(rtt.p50),
                ms(rtt.p95),
                ms(rtt.p99),
                ms(rtt.max),
                ms(rtt.ewma)
            ),
        }
    }
}
