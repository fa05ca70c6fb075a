//! The adaptive policy, pure: how fast the application may send, judged
//! from the link's quality. On a bad link, sending less often and in bigger
//! batches means fewer frames, less to queue and less to retransmit (the
//! course's "lower resource use"); when the link recovers the updates come
//! back to full speed.

use std::time::Duration;

use crate::config::{STEP_DOWN_AFTER, STEP_UP_AFTER};
use crate::monitor::Quality;

// ANCHOR: step
/// One rung of the [`LADDER`]: how often the application sends updates and
/// how many it puts in one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Time between two updates.
    pub update_interval: Duration,
    /// Updates per frame.
    pub batch_size: usize,
}

/// The policy's rungs, best first. Rung 1 is unit 05's batching (10
/// messages or 100 ms); rung 0 sends every update alone, 20 a second.
pub const LADDER: [Step; 4] = [
    Step {
        update_interval: Duration::from_millis(50),
        batch_size: 1,
    },
    Step {
        update_interval: Duration::from_millis(100),
        batch_size: 10,
    },
    Step {
        update_interval: Duration::from_millis(250),
        batch_size: 25,
    },
    Step {
        update_interval: Duration::from_secs(1),
        batch_size: 50,
    },
];

/// A step the policy took: after which settled heartbeat (1-based, counted
/// by the monitor), and from which rung of the [`LADDER`] to which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyChange {
    /// The settled heartbeat (received or lost, 1-based) that caused it.
    pub sample: u64,
    /// The rung before.
    pub from: usize,
    /// The rung after.
    pub to: usize,
}
// ANCHOR_END: step

// ANCHOR: policy
/// Steps down one rung after [`STEP_DOWN_AFTER`] Poor judgements in a row,
/// up one rung after [`STEP_UP_AFTER`] Good judgements in a row; a Fair
/// judgement ends both streaks. Starts at rung 0, the best.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdaptivePolicy {
    level: usize,
    poor_streak: u32,
    good_streak: u32,
}

impl AdaptivePolicy {
    /// A policy at rung 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// The current rung (0 is the best).
    pub fn level(&self) -> usize {
        self.level
    }

    /// The current step, `LADDER[level]`.
    pub fn step(&self) -> Step {
        LADDER[self.level]
    }

    /// Takes one judgement; returns `Some((from, to))` when it changed rung.
    /// At the bottom (or top) of the ladder a full streak changes nothing
    /// and starts counting again.
    pub fn observe(&mut self, quality: Quality) -> Option<(usize, usize)> {
        // region: solution
        let from = self.level;
        match quality {
            Quality::Poor => {
                self.good_streak = 0;
                self.poor_streak += 1;
                if self.poor_streak >= STEP_DOWN_AFTER {
                    self.poor_streak = 0;
                    self.level = (self.level + 1).min(LADDER.len() - 1);
                }
            }
            Quality::Good => {
                self.poor_streak = 0;
                self.good_streak += 1;
                if self.good_streak >= STEP_UP_AFTER {
                    self.good_streak = 0;
                    self.level = self.level.saturating_sub(1);
                }
            }
            Quality::Fair => {
                self.poor_streak = 0;
                self.good_streak = 0;
            }
        }
        (self.level != from).then_some((from, self.level))
        // region: stub
        // todo!("Task 2: streaks and steps (chapter 11, \"Task 2: The adaptive policy\")")
        // endregion
    }
}
// ANCHOR_END: policy
