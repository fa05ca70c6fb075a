//! The bookkeeping, pure: which heartbeats are in flight, which came back
//! (and how fast), which were lost, how good the link is, and what the
//! policy makes of it. Every method takes `now`; nothing here sleeps or
//! reads a clock, so a test can replay any link with made-up instants.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::config::{GOOD_LOSS, GOOD_RTT, LOSS_WINDOW, MonitorConfig, POOR_LOSS, POOR_RTT};
use crate::policy::{AdaptivePolicy, PolicyChange, Step};
use crate::report::Report;
use crate::stats::RttStats;

/// Policy changes kept for the report; older ones are forgotten, so a
/// client that runs for days does not grow without limit.
const MAX_CHANGES_KEPT: usize = 100;

// ANCHOR: types
/// How good the link is, judged from the smoothed RTT and the recent loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quality {
    /// Smoothed RTT at most [`GOOD_RTT`] and recent loss below [`GOOD_LOSS`].
    Good,
    /// Neither Good nor Poor (also: nothing measured yet).
    Fair,
    /// Smoothed RTT above [`POOR_RTT`] or recent loss at least [`POOR_LOSS`].
    Poor,
}

/// A heartbeat on the wire: a Text message the echo server sends back
/// unchanged, `{"type":"heartbeat","seq":7,"sent_ms":6000}`. `seq` counts
/// from 1; `sent_ms` is the sender's clock (milliseconds since the monitor
/// started), for whoever reads the traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "heartbeat")]
pub struct Heartbeat {
    /// Sequence number, from 1, one more for every heartbeat.
    pub seq: u64,
    /// When it was sent, in milliseconds since the monitor started.
    pub sent_ms: u64,
}

impl Heartbeat {
    /// The Text message to send.
    pub fn to_json(&self) -> String {
        // A struct of two integers always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A heartbeat read back from an echo; `None` for anything else.
    pub fn parse(text: &str) -> Option<Heartbeat> {
        serde_json::from_str(text).ok()
    }
}

/// What [`QualityMonitor::on_echo`] made of an echo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Echo {
    /// A heartbeat in flight came back: its round-trip time.
    Sample(Duration),
    /// A heartbeat already counted lost came back after all: counted as
    /// late, never as received (it was settled once, as lost).
    Late,
    /// A sequence number that was never sent: ignored.
    Unknown,
}
// ANCHOR_END: types

// ANCHOR: judge
impl Quality {
    /// The judgement: Poor when `smoothed` is above [`POOR_RTT`] or `loss`
    /// is at least [`POOR_LOSS`]; Good when `smoothed` is known and at most
    /// [`GOOD_RTT`] and `loss` is below [`GOOD_LOSS`]; Fair otherwise.
    pub fn judge(smoothed: Option<Duration>, loss: f64) -> Quality {
        todo!("Task 2: judge the link (chapter 11, \"Task 2: The adaptive policy\")")
    }
}
// ANCHOR_END: judge

// ANCHOR: monitor
/// The state of one monitored connection.
#[derive(Debug, Clone)]
pub struct QualityMonitor {
    config: MonitorConfig,
    started: Instant,
    next_seq: u64,
    /// Heartbeats sent and not settled yet: sequence number → when sent.
    in_flight: BTreeMap<u64, Instant>,
    rtt: RttStats,
    /// The last [`LOSS_WINDOW`] settled heartbeats, oldest first: `true`
    /// for lost.
    recent: VecDeque<bool>,
    sent: u64,
    received: u64,
    lost: u64,
    late: u64,
    policy: AdaptivePolicy,
    changes: VecDeque<PolicyChange>,
}

impl QualityMonitor {
    /// A monitor started at `now`, nothing sent.
    pub fn new(config: MonitorConfig, now: Instant) -> Self {
        QualityMonitor {
            config,
            started: now,
            next_seq: 1,
            in_flight: BTreeMap::new(),
            rtt: RttStats::default(),
            recent: VecDeque::with_capacity(LOSS_WINDOW),
            sent: 0,
            received: 0,
            lost: 0,
            late: 0,
            policy: AdaptivePolicy::new(),
            changes: VecDeque::new(),
        }
    }

    /// Registers the next heartbeat, sent at `now`; returns what to send.
    pub fn heartbeat(&mut self, now: Instant) -> Heartbeat {
        todo!(
            "Task 3: number and remember the heartbeat (chapter 11, \"Task 3: Heartbeats in, samples out\")"
        )
    }

    /// The echo of heartbeat `seq` arrived at `now`. The echo server sends
    /// back in order, so every heartbeat still in flight with a smaller
    /// number was dropped: each is settled as lost (a sequence gap), in
    /// order, before this one is settled as received.
    pub fn on_echo(&mut self, seq: u64, now: Instant) -> Echo {
        todo!(
            "Task 3: a sample, a gap, a late or an unknown echo (chapter 11, \"Task 3: Heartbeats in, samples out\")"
        )
    }

    /// Time passed: every heartbeat in flight for at least the heartbeat
    /// timeout is settled as lost (missed), oldest first. Returns how many.
    pub fn on_tick(&mut self, now: Instant) -> u64 {
        todo!("Task 3: missed heartbeats (chapter 11, \"Task 3: Heartbeats in, samples out\")")
    }

    /// The share of the last [`LOSS_WINDOW`] settled heartbeats that were
    /// lost (0.0 when none is settled).
    pub fn loss_ratio(&self) -> f64 {
        todo!("Task 3: recent loss (chapter 11, \"Task 3: Heartbeats in, samples out\")")
    }

    /// The link's quality now: [`Quality::judge`] of the smoothed RTT and
    /// the recent loss ratio.
    pub fn quality(&self) -> Quality {
        Quality::judge(self.rtt.smoothed(), self.loss_ratio())
    }

    /// What the policy allows now.
    pub fn step(&self) -> Step {
        self.policy.step()
    }

    /// The policy's rung now (0 is the best).
    pub fn level(&self) -> usize {
        self.policy.level()
    }

    /// Settles one heartbeat: `Some(rtt)` received, `None` lost. Then the
    /// policy judges the link as it is now.
    fn settle(&mut self, outcome: Option<Duration>) {
        todo!("Task 3: count, window, judge (chapter 11, \"Task 3: Heartbeats in, samples out\")")
    }

    /// Everything the monitor knows, as numbers.
    pub fn report(&self) -> Report {
        todo!("Task 3: the report (chapter 11, \"Task 3: Heartbeats in, samples out\")")
    }
}
// ANCHOR_END: monitor
