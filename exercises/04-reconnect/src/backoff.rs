//! How long to wait before reconnection attempt *n*: capped exponential
//! backoff with jitter.
//!
//! Two mistakes make reconnecting clients dangerous. Retrying at a fixed
//! short interval hammers a server that is down (and a server that comes
//! back up meets every client at once). Retrying at the *same* moments as
//! every other client, even with growing delays, keeps them in lockstep: a
//! thousand clients dropped by one restart come back as a thousand
//! simultaneous handshakes, again and again (the "thundering herd"). The
//! fix is to let the delay grow, cap it, and spread it with randomness.
//!
//! The randomness is a parameter ([`RandomSource`]) rather than a call to a
//! global generator, for the same reason the state machine takes `now`: a
//! test can seed it and know what to expect.

use std::time::Duration;

// ANCHOR: constants
/// The delay before the first reconnection attempt (before jitter).
///
/// Short, because most drops are one-off (a server restart, a proxy
/// recycling connections) and the user is waiting.
pub const INITIAL_DELAY: Duration = Duration::from_millis(500);

/// Each attempt waits this many times longer than the one before.
///
/// Doubling is the usual choice (TCP's retransmission timer, AWS's
/// architecture blog "Exponential Backoff And Jitter"): the load a client
/// puts on a down server halves with every attempt.
pub const BACKOFF_FACTOR: u32 = 2;

/// The longest delay between two attempts (the cap).
///
/// Without a cap, attempt 15 would wait 0.5 s × 2¹⁴ ≈ 2¼ hours. Thirty
/// seconds keeps a recovered server reachable quickly, and with
/// [`MAX_RECONNECT_ATTEMPTS`](crate::MAX_RECONNECT_ATTEMPTS) the client
/// gives up after about four minutes.
pub const MAX_DELAY: Duration = Duration::from_secs(30);

/// How much of a delay jitter may take away: the delay for an attempt lies
/// between `(1 − JITTER) × base` and `base`.
///
/// Taking away (never adding) keeps every delay at or under the cap, and
/// still spreads clients across a fifth of the interval. Because
/// `BACKOFF_FACTOR × (1 − JITTER) = 1.6`, each delay is still at least 1.5
/// times the one before, until the cap.
pub const JITTER: f64 = 0.2;
// ANCHOR_END: constants

// ANCHOR: policy
/// A backoff policy: the delay before each reconnection attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackoffPolicy {
    /// The base delay of attempt 1.
    pub initial: Duration,
    /// The factor between two attempts' base delays.
    pub factor: u32,
    /// The cap: no delay is longer.
    pub max: Duration,
    /// The share of the base delay jitter may take away, from 0.0 to 1.0.
    pub jitter: f64,
}

impl Default for BackoffPolicy {
    /// The course's policy: [`INITIAL_DELAY`], [`BACKOFF_FACTOR`],
    /// [`MAX_DELAY`], [`JITTER`].
    fn default() -> Self {
        BackoffPolicy {
            initial: INITIAL_DELAY,
            factor: BACKOFF_FACTOR,
            max: MAX_DELAY,
            jitter: JITTER,
        }
    }
}
// ANCHOR_END: policy

impl BackoffPolicy {
    // ANCHOR: base_delay
    /// The delay before attempt `attempt` (1-based) without jitter:
    /// `initial × factor^(attempt − 1)`, but never more than `max`.
    /// Attempt 0 is treated as attempt 1. Must not overflow or panic for
    /// any `attempt`.
    pub fn base_delay(&self, attempt: u32) -> Duration {
        // ANCHOR_END: base_delay
        todo!(
            "Task 2: capped exponential backoff (chapter 04, section \"Task 2: Backoff and jitter\")"
        )
    }

    // ANCHOR: delay
    /// The delay before attempt `attempt` with jitter: the base delay less a
    /// random share of it, `base × (1 − jitter × fraction)`, where
    /// `fraction` is a random number in `[0, 1)` (values outside are
    /// clamped). The result lies in `[(1 − jitter) × base, base]`.
    pub fn delay(&self, attempt: u32, fraction: f64) -> Duration {
        // ANCHOR_END: delay
        todo!("Task 2: jitter (chapter 04, section \"Task 2: Backoff and jitter\")")
    }
}

// ANCHOR: random
/// Where the jitter's randomness comes from.
///
/// A trait, so that the driver can be handed a seeded generator in a test
/// (two clients with different seeds must wait differently) and a randomly
/// seeded one in a program.
pub trait RandomSource {
    /// A number in `[0, 1)`.
    fn fraction(&mut self) -> f64;
}

/// A small, fast, seedable generator (SplitMix64, by Sebastiano Vigna):
/// plenty for spreading retries, not for cryptography.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator that always produces the same numbers for `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// A generator seeded differently in every process and every call,
    /// from the standard library's randomly keyed hasher (no extra crate).
    pub fn from_entropy() -> SplitMix64 {
        use std::hash::{BuildHasher, RandomState};
        SplitMix64::new(RandomState::new().hash_one(std::time::SystemTime::now()))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl RandomSource for SplitMix64 {
    fn fraction(&mut self) -> f64 {
        // The top 53 bits make an f64 in [0, 1) with every value equally likely.
        (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64
    }
}
// ANCHOR_END: random
