//! Silences: "I know, stop telling me", for a while.
//!
//! A silence is a set of matchers over an alert's labels (the series'
//! labels, the rule's `labels` and `alertname`) and a time window
//! `[starts, ends)`. While it is active, the alerts it matches are left out
//! of notifications; their state does not change (the page still shows
//! them, with `silenced: true`), so that when the silence ends, the truth is
//! still there.

use serde::{Deserialize, Serialize};

use crate::clock::Millis;
use crate::labels::{Selector, SeriesKey};

/// The most silences kept at once (active, pending or recently expired): a
/// bound on memory and on the work of matching every alert against every
/// silence at each evaluation.
pub const MAX_SILENCES: usize = 1_000;
/// The longest comment, in bytes: a sentence or a ticket link, not a file.
pub const MAX_COMMENT_LEN: usize = 1_000;
/// How long an expired silence stays listed (24 h), so people can see what
/// was silenced last night.
pub const EXPIRED_RETENTION: Millis = 24 * 3_600_000;

/// Where a silence is in its life at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SilenceState {
    /// `now < starts`.
    Pending,
    /// `starts <= now < ends`: it mutes.
    Active,
    /// `ends <= now`.
    Expired,
}

/// A silence as the page sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SilenceView {
    /// Its id (increasing).
    pub id: u64,
    /// The matchers, as a selector's text, e.g. `{alertname="HighCpu"}`.
    pub matchers: Selector,
    /// Start, inclusive (ms).
    pub starts: Millis,
    /// End, exclusive (ms).
    pub ends: Millis,
    /// Who and why.
    pub comment: String,
    /// Its state at the time asked.
    pub state: SilenceState,
}

/// A silence that is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SilenceError {
    /// `{}` would silence everything: almost always a mistake.
    #[error(
        "a silence needs at least one matcher, e.g. {{alertname=\"HighCpu\"}}; an empty one would hide every alert"
    )]
    NoMatchers,
    /// `ends <= starts`.
    #[error("a silence must end after it starts (starts {starts} ms, ends {ends} ms)")]
    EndsBeforeStarts {
        /// Start.
        starts: Millis,
        /// End.
        ends: Millis,
    },
    /// `ends <= now`: it would never mute anything.
    #[error("the silence ends at {ends} ms, which is already past (now is {now} ms)")]
    AlreadyOver {
        /// End.
        ends: Millis,
        /// Now.
        now: Millis,
    },
    /// The comment is longer than [`MAX_COMMENT_LEN`].
    #[error("the comment is {0} bytes; the most is {MAX_COMMENT_LEN}")]
    CommentTooLong(usize),
    /// [`MAX_SILENCES`] exist already.
    #[error("there are already {MAX_SILENCES} silences; expire some first")]
    TooMany,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Silence {
    pub(crate) id: u64,
    pub(crate) matchers: Selector,
    pub(crate) starts: Millis,
    pub(crate) ends: Millis,
    pub(crate) comment: String,
}

impl Silence {
    fn state(&self, now: Millis) -> SilenceState {
        if now < self.starts {
            SilenceState::Pending
        } else if now < self.ends {
            SilenceState::Active
        } else {
            SilenceState::Expired
        }
    }
}

/// Every silence, by id.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Silences {
    pub(crate) list: Vec<Silence>,
    pub(crate) next_id: u64,
}

impl Default for Silences {
    fn default() -> Self {
        Self {
            list: Vec::new(),
            next_id: 1,
        }
    }
}

impl Silences {
    /// Adds a silence over `[starts, ends)` and returns its id; refuses one
    /// without matchers, ending at or before it starts or at or before
    /// `now`, with a comment longer than [`MAX_COMMENT_LEN`], or when
    /// [`MAX_SILENCES`] are kept even after [`Silences::prune`].
    pub(crate) fn add(
        &mut self,
        matchers: Selector,
        starts: Millis,
        ends: Millis,
        comment: String,
        now: Millis,
    ) -> Result<u64, SilenceError> {
        todo!(
            "Stage 14: refuse a silence without matchers, ending before it starts or already over, with too long a comment, or beyond MAX_SILENCES; else keep it under the next id (chapter B, section \"Stage 14: Silences\")"
        )
    }

    /// Ends a silence now; `false` if there is none with that id or it is
    /// already over.
    pub(crate) fn expire(&mut self, id: u64, now: Millis) -> bool {
        todo!(
            "Stage 14: end the silence now (it no longer mutes); false when there is none with that id or it is already over (chapter B, section \"Stage 14: Silences\")"
        )
    }

    pub(crate) fn views(&self, now: Millis) -> Vec<SilenceView> {
        self.list
            .iter()
            .map(|silence| SilenceView {
                id: silence.id,
                matchers: silence.matchers.clone(),
                starts: silence.starts,
                ends: silence.ends,
                comment: silence.comment.clone(),
                state: silence.state(now),
            })
            .collect()
    }

    /// Does an active silence match these alert labels?
    pub(crate) fn mutes(&self, labels: &SeriesKey, now: Millis) -> bool {
        todo!(
            "Stage 14: does a silence active at now (starts <= now < ends) match these labels? (chapter B, section \"Stage 14: Silences\")"
        )
    }

    /// Forgets silences expired longer than [`EXPIRED_RETENTION`] ago;
    /// `true` if any went.
    pub(crate) fn prune(&mut self, now: Millis) -> bool {
        let before = self.list.len();
        self.list
            .retain(|silence| silence.ends > now.saturating_sub(EXPIRED_RETENTION));
        self.list.len() != before
    }
}
