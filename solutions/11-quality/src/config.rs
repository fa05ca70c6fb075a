//! Every number the monitor uses, with where it comes from.

use std::time::Duration;

// ANCHOR: constants
/// The EWMA's gain: each new sample moves the smoothed RTT 1/8 of the way.
/// The value TCP uses for its smoothed RTT (RFC 6298, section 2).
pub const EWMA_ALPHA: f64 = 0.125;

/// Percentiles, min, max and mean are taken over the last 100 RTT samples:
/// a p99 needs at least 100 samples to mean anything, and a window keeps an
/// old bad minute from hiding a good present.
pub const RTT_WINDOW: usize = 100;

/// The loss ratio that judges the link is taken over the last 20 settled
/// heartbeats (20 s at the default interval); one loss in it is 5 %.
pub const LOSS_WINDOW: usize = 20;

/// At or below this smoothed RTT the link can be Good: interactive updates
/// still feel immediate (ITU-T G.114 puts the comfortable limit for one
/// direction at 150 ms; we ask it of the round trip).
pub const GOOD_RTT: Duration = Duration::from_millis(150);

/// Above this smoothed RTT the link is Poor: 150 ms each way.
pub const POOR_RTT: Duration = Duration::from_millis(300);

/// Below this recent loss ratio the link can be Good: no loss at all in the
/// last [`LOSS_WINDOW`] heartbeats.
pub const GOOD_LOSS: f64 = 0.02;

/// At or above this recent loss ratio the link is Poor: 2 of the last 20.
pub const POOR_LOSS: f64 = 0.10;

/// The policy steps down after this many Poor judgements in a row: fast
/// enough to react within a few seconds, slow enough to ignore one outlier.
pub const STEP_DOWN_AFTER: u32 = 3;

/// The policy steps back up after this many Good judgements in a row: up
/// slowly, down fast, so a link on the edge does not make it flap.
pub const STEP_UP_AFTER: u32 = 10;

/// How often a heartbeat is sent, by default.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);

/// A heartbeat without an echo after this long is counted lost (missed).
pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(3);
// ANCHOR_END: constants

/// How a [`QualityMonitor`](crate::QualityMonitor) and a
/// [`QualityClient`](crate::QualityClient) work; tests shorten both times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonitorConfig {
    /// Time between two heartbeats.
    pub heartbeat_interval: Duration,
    /// Time after which a heartbeat without an echo is lost.
    pub heartbeat_timeout: Duration,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        MonitorConfig {
            heartbeat_interval: HEARTBEAT_INTERVAL,
            heartbeat_timeout: HEARTBEAT_TIMEOUT,
        }
    }
}
