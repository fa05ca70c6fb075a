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
        // region: solution
        if loss >= POOR_LOSS || smoothed.is_some_and(|rtt| rtt > POOR_RTT) {
            Quality::Poor
        } else if loss < GOOD_LOSS && smoothed.is_some_and(|rtt| rtt <= GOOD_RTT) {
            Quality::Good
        } else {
            Quality::Fair
        }
        // region: stub
        // todo!("Task 2: judge the link (chapter 11, \"Task 2: The adaptive policy\")")
        // endregion
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
        // region: solution
        let seq = self.next_seq;
        self.next_seq += 1;
        self.sent += 1;
        self.in_flight.insert(seq, now);
        let sent_ms = now.duration_since(self.started).as_millis();
        Heartbeat {
            seq,
            sent_ms: u64::try_from(sent_ms).unwrap_or(u64::MAX),
        }
        // region: stub
        // todo!("Task 3: number and remember the heartbeat (chapter 11, \"Task 3: Heartbeats in, samples out\")")
        // endregion
    }

    /// The echo of heartbeat `seq` arrived at `now`. The echo server sends
    /// back in order, so every heartbeat still in flight with a smaller
    /// number was dropped: each is settled as lost (a sequence gap), in
    /// order, before this one is settled as received.
    pub fn on_echo(&mut self, seq: u64, now: Instant) -> Echo {
        // region: solution
        let Some(sent) = self.in_flight.remove(&seq) else {
            if seq < self.next_seq && seq > 0 {
                self.late += 1;
                return Echo::Late;
            }
            return Echo::Unknown;
        };
        let skipped: Vec<u64> = self.in_flight.range(..seq).map(|(seq, _)| *seq).collect();
        for gap in skipped {
            self.in_flight.remove(&gap);
            self.settle(None);
        }
        let rtt = now.saturating_duration_since(sent);
        self.settle(Some(rtt));
        Echo::Sample(rtt)
        // region: stub
        // todo!("Task 3: a sample, a gap, a late or an unknown echo (chapter 11, \"Task 3: Heartbeats in, samples out\")")
        // endregion
    }

    /// Time passed: every heartbeat in flight for at least the heartbeat
    /// timeout is settled as lost (missed), oldest first. Returns how many.
    pub fn on_tick(&mut self, now: Instant) -> u64 {
        // region: solution
        let timeout = self.config.heartbeat_timeout;
        let missed: Vec<u64> = self
            .in_flight
            .iter()
            .filter(|(_, sent)| now.saturating_duration_since(**sent) >= timeout)
            .map(|(seq, _)| *seq)
            .collect();
        for seq in &missed {
            self.in_flight.remove(seq);
            self.settle(None);
        }
        missed.len() as u64
        // region: stub
        // todo!("Task 3: missed heartbeats (chapter 11, \"Task 3: Heartbeats in, samples out\")")
        // endregion
    }

    /// The share of the last [`LOSS_WINDOW`] settled heartbeats that were
    /// lost (0.0 when none is settled).
    pub fn loss_ratio(&self) -> f64 {
        // region: solution
        if self.recent.is_empty() {
            return 0.0;
        }
        let lost = self.recent.iter().filter(|lost| **lost).count();
        lost as f64 / self.recent.len() as f64
        // region: stub
        // todo!("Task 3: recent loss (chapter 11, \"Task 3: Heartbeats in, samples out\")")
        // endregion
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
        // region: solution
        match outcome {
            Some(rtt) => {
                self.received += 1;
                self.rtt.record(rtt);
            }
            None => self.lost += 1,
        }
        if self.recent.len() == LOSS_WINDOW {
            self.recent.pop_front();
        }
        self.recent.push_back(outcome.is_none());
        if let Some((from, to)) = self.policy.observe(self.quality()) {
            if self.changes.len() == MAX_CHANGES_KEPT {
                self.changes.pop_front();
            }
            self.changes.push_back(PolicyChange {
                sample: self.received + self.lost,
                from,
                to,
            });
        }
        // region: stub
        // todo!("Task 3: count, window, judge (chapter 11, \"Task 3: Heartbeats in, samples out\")")
        // endregion
    }

    /// Everything the monitor knows, as numbers.
    pub fn report(&self) -> Report {
        // region: solution
        let settled = self.received + self.lost;
        Report {
            sent: self.sent,
            received: self.received,
            lost: self.lost,
            late: self.late,
            in_flight: self.in_flight.len() as u64,
            loss_ratio: self.loss_ratio(),
            total_loss_ratio: if settled == 0 {
                0.0
            } else {
                self.lost as f64 / settled as f64
            },
            rtt: self.rtt.summary(),
            samples: self.rtt.samples(),
            quality: self.quality(),
            level: self.policy.level(),
            step: self.policy.step(),
            changes: self.changes.iter().copied().collect(),
        }
        // region: stub
        // todo!("Task 3: the report (chapter 11, \"Task 3: Heartbeats in, samples out\")")
        // endregion
    }
}
// ANCHOR_END: monitor
