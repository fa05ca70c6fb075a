//! Whether code is idle: the CPU time the check's thread uses over a quiet
//! second.
//!
//! A check runs on a current-thread tokio runtime, so the code under test
//! (a server, a reporter) runs on the check's own thread, and that thread's
//! CPU time counts it and nothing of other checks running beside it under
//! `cargo test`. Idleness cannot be measured on a paused clock, so this is
//! real time, and the bound is a fact about the code on any machine: a task
//! that spins (polls a dead socket again and again) keeps the thread busy
//! the whole second, so it uses all the CPU the thread can get (a whole
//! core on an idle machine, less on a loaded one, which [`quiet_second`]
//! measures just before), while idle code uses well under a millisecond.
//! The bound is a fifth of what the thread can get, and never less than
//! 10 ms.

use std::time::{Duration, Instant};

/// How long the quiet interval is.
pub const QUIET: Duration = Duration::from_secs(1);

/// The share of the thread's available CPU the quiet second may use.
pub const IDLE_FRACTION: f64 = 0.2;

/// The least the quiet second may use, whatever the machine.
pub const IDLE_FLOOR: Duration = Duration::from_millis(10);

/// How long [`share`] spins to see what the thread can get.
pub const CALIBRATION: Duration = Duration::from_millis(200);

/// CPU time of the calling thread.
pub fn thread_time() -> Duration {
    cpu_time::ThreadTime::now().as_duration()
}

/// The share of a core this thread gets now: CPU time over real time of a
/// busy loop (1.0 on an idle machine, less when other processes compete
/// for the cores). A spinning task gets about this share too, so comparing
/// with it keeps a check meaningful on a loaded machine.
pub fn share() -> f64 {
    let start = Instant::now();
    let cpu = thread_time();
    let mut spins = 0_u64;
    while start.elapsed() < CALIBRATION {
        spins = std::hint::black_box(spins.wrapping_add(1));
    }
    let used = thread_time().saturating_sub(cpu);
    (used.as_secs_f64() / start.elapsed().as_secs_f64()).clamp(0.0, 1.0)
}

/// What a quiet second cost.
#[derive(Debug, Clone, Copy)]
pub struct Quiet {
    /// CPU time the thread used while nothing happened for [`QUIET`].
    pub used: Duration,
    /// What it may use: [`IDLE_FRACTION`] of what it could get, at least
    /// [`IDLE_FLOOR`].
    pub allowed: Duration,
    /// The share of a core the thread could get just before (0.0–1.0).
    pub share: f64,
}

impl Quiet {
    /// Whether the code was idle.
    pub fn is_idle(&self) -> bool {
        self.used < self.allowed
    }
}

/// Lets the runtime run for [`QUIET`] of real time with nothing to do but
/// what the code under test does by itself, and measures the CPU time the
/// thread used.
pub async fn quiet_second() -> Quiet {
    let share = share();
    let allowed = QUIET.mul_f64(share * IDLE_FRACTION).max(IDLE_FLOOR);
    let before = thread_time();
    tokio::time::sleep(QUIET).await;
    Quiet {
        used: thread_time().saturating_sub(before),
        allowed,
        share,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_idle_runtime_is_idle_and_a_spinning_task_is_not() {
        let idle = quiet_second().await;
        assert!(idle.is_idle(), "{idle:?}");
        let spinning = tokio::spawn(async {
            loop {
                tokio::task::yield_now().await;
            }
        });
        let busy = quiet_second().await;
        spinning.abort();
        assert!(!busy.is_idle(), "{busy:?}");
    }
}
