//! The dashboard's clock: the wall clock in production, a clock the tests
//! move in grading.
//!
//! Every time the dashboard reasons about — "now" for retention, a rule's
//! `for: 5m`, a silence's expiry, a repeat interval — comes from one
//! [`Clock`]. A test that checks `for: 5m` sets a [`Clock::manual`] clock
//! and moves it five minutes in a millisecond; code that reads
//! `SystemTime::now()` behind the clock's back is caught, because the
//! manual clock starts in another year.
//!
//! Times are milliseconds since the Unix epoch (`i64`), the unit of the
//! wire protocol and of the browser's `Date.now()`.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

/// A clock: the system's, or one that only moves when told.
#[derive(Debug, Clone)]
pub struct Clock {
    manual: Option<Arc<watch::Sender<Millis>>>,
}

impl Clock {
    /// The wall clock.
    pub fn system() -> Self {
        Self { manual: None }
    }

    /// A clock that shows `start` until [`Clock::set`] or
    /// [`Clock::advance`] moves it.
    pub fn manual(start: Millis) -> Self {
        Self {
            manual: Some(Arc::new(watch::Sender::new(start))),
        }
    }

    /// Is this a manual (test) clock?
    pub fn is_manual(&self) -> bool {
        self.manual.is_some()
    }

    /// The time now.
    pub fn now(&self) -> Millis {
        match &self.manual {
            Some(manual) => *manual.borrow(),
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |since| since.as_millis() as Millis),
        }
    }

    /// Moves a manual clock to `now` (never backwards: an earlier time is
    /// ignored). Returns `false` on the system clock, which nobody moves.
    pub fn set(&self, now: Millis) -> bool {
        match &self.manual {
            Some(manual) => {
                manual.send_if_modified(|current| {
                    let later = now > *current;
                    if later {
                        *current = now;
                    }
                    later
                });
                true
            }
            None => false,
        }
    }

    /// Moves a manual clock forward by `by`.
    pub fn advance(&self, by: Duration) -> bool {
        self.set(self.now().saturating_add(by.as_millis() as Millis))
    }

    /// Waits until the clock shows `deadline` or later. On the system clock
    /// this is a timer; on a manual clock it returns when somebody moves the
    /// clock far enough.
    pub async fn sleep_until(&self, deadline: Millis) {
        match &self.manual {
            Some(manual) => {
                let mut changes = manual.subscribe();
                // The sender lives as long as this clock: `wait_for` only
                // fails when every sender is gone, which cannot happen here.
                let _ = changes.wait_for(|now| *now >= deadline).await;
            }
            None => {
                let wait = deadline.saturating_sub(self.now()).max(0) as u64;
                tokio::time::sleep(Duration::from_millis(wait)).await;
            }
        }
    }
}

/// Parses a duration as rule files and the protocol write it: a number and
/// a unit, `ms`, `s`, `m`, `h` or `d`, possibly several (`1m30s`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("an empty duration (write e.g. `30s`, `5m`, `1h`)".into());
    }
    let mut total: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("{text:?}: expected a number at {rest:?}"));
        }
        let number: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("{text:?}: the number is too large"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "" => {
                return Err(format!(
                    "{text:?}: a number needs a unit (ms, s, m, h or d)"
                ));
            }
            other => {
                return Err(format!(
                    "{text:?}: unknown unit {other:?} (ms, s, m, h or d)"
                ));
            }
        };
        rest = &rest[unit_len..];
        total = number
            .checked_mul(unit)
            .and_then(|ms| total.checked_add(ms))
            .ok_or_else(|| format!("{text:?}: the duration is too long"))?;
    }
    Ok(Duration::from_millis(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        for bad in ["", "5", "m", "5x", "1.5m"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_manual_clock_wakes_its_sleepers_when_moved() {
        let clock = Clock::manual(1_000);
        let sleeper = tokio::spawn({
            let clock = clock.clone();
            async move { clock.sleep_until(61_000).await }
        });
        tokio::task::yield_now().await;
        assert!(clock.advance(Duration::from_secs(30)));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        assert!(clock.set(61_000));
        clock.set(0);
        assert_eq!(clock.now(), 61_000, "a manual clock never goes back");
        tokio::time::timeout(Duration::from_secs(5), sleeper)
            .await
            .expect("the sleeper wakes")
            .expect("the sleeper ends");
    }
}
