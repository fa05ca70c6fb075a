//! The `ping_ms` option: the server pings, matches Pongs by sequence number
//! and measures how long each took.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::{Instant, Interval};

use crate::config::LATE_PONG;

struct Outstanding {
    seq: u64,
    sent: Instant,
    /// Already counted as late (older than `LATE_PONG` without a Pong).
    late: bool,
}

/// Pings in flight; the payload of ping `n` is `n` as 8 big-endian bytes.
pub(super) struct Pings {
    pub(super) interval: Option<Interval>,
    next_seq: u64,
    outstanding: VecDeque<Outstanding>,
}

/// A matched Pong.
pub(super) struct PongDelay {
    pub(super) value: Duration,
    /// Late and not counted as late before.
    pub(super) newly_late: bool,
}

/// Pings kept in flight; older ones are forgotten (and were counted late).
const MAX_OUTSTANDING: usize = 1024;

impl Pings {
    pub(super) fn new(interval: Option<Interval>) -> Self {
        Pings {
            interval,
            next_seq: 0,
            outstanding: VecDeque::new(),
        }
    }

    /// Registers the next ping; returns its sequence number.
    pub(super) fn next(&mut self, now: Instant) -> (u64, Instant) {
        let seq = self.next_seq;
        self.next_seq += 1;
        if self.outstanding.len() >= MAX_OUTSTANDING {
            self.outstanding.pop_front();
        }
        self.outstanding.push_back(Outstanding {
            seq,
            sent: now,
            late: false,
        });
        (seq, now)
    }

    /// Counts pings that passed `LATE_PONG` without a Pong (once each).
    pub(super) fn take_newly_late(&mut self, now: Instant) -> u64 {
        let mut late = 0;
        for ping in &mut self.outstanding {
            if !ping.late && now.duration_since(ping.sent) > LATE_PONG {
                ping.late = true;
                late += 1;
            }
        }
        late
    }

    /// Late pings at the end of the connection (never answered).
    pub(super) fn late_at_end(&mut self, now: Instant) -> u64 {
        self.take_newly_late(now)
    }

    /// Matches a Pong; `None` for an unsolicited or unknown one.
    pub(super) fn on_pong(&mut self, payload: &[u8], now: Instant) -> Option<PongDelay> {
        let seq = u64::from_be_bytes(payload.try_into().ok()?);
        let index = self.outstanding.iter().position(|ping| ping.seq == seq)?;
        let ping = self.outstanding.remove(index)?;
        let value = now.duration_since(ping.sent);
        Some(PongDelay {
            value,
            newly_late: !ping.late && value > LATE_PONG,
        })
    }
}
