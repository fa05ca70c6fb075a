//! The engine: rules in, transitions and notifications out.
//!
//! Pure and deterministic: it never reads the clock (every call takes
//! `now`) nor the store (evaluation takes a function that answers "the
//! latest sample of each series this selector matches"). The server owns the
//! clock, the store and the sockets; the engine owns the decisions, so a test
//! of `for = "5m"` is a few calls with numbers, not five minutes.
//!
//! # Notifications, precisely
//! After the states are updated, the alerts are grouped by `group_by`. A
//! group is notified at this evaluation when
//! * one of its firing, unsilenced alerts has not been told yet (it just
//!   fired, or a silence over it just ended), or
//! * one of its alerts that *was* told resolved (even if a silence covers it
//!   now: the receiver has an open incident that only this closes), or
//! * one of its alerts fires unsilenced and `repeat_interval` has passed
//!   since the group's last notification.
//!
//! The notification lists every firing, unsilenced alert of the group and
//! the told alerts that just resolved; its status is `resolved` only when
//! none fires. "Told" is persisted with the alert, and so is the group's last
//! notification time: after a restart, a firing alert that was already
//! notified is **not** notified again before `repeat_interval` (a restart is
//! no news to the people on call). Delivery is at most once across a crash:
//! the state is saved before the webhook is called, and the repeat interval
//! is the backstop for a message lost with the process.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use super::rules::{ALERTNAME, Rule, RuleSet};
use super::silence::{SilenceError, SilenceView, Silences};
use super::{AlertState, AlertView, Evaluation, Notification, NotificationStatus, Transition};
use crate::clock::Millis;
use crate::labels::{Selector, SeriesKey};
use crate::store::{Sample, Store};

/// A series whose latest sample is older than this (5 minutes, Prometheus'
/// staleness) counts as gone: its condition does not hold.
pub const STALE_AFTER: Millis = 5 * 60_000;
/// How long a resolved alert stays on the page (15 minutes) before it is
/// forgotten.
pub const RESOLVED_RETENTION: Millis = 15 * 60_000;
/// How many transitions the engine keeps (and persists): a day of a busy
/// rules file, and a bound on the database.
pub const HISTORY_LIMIT: usize = 10_000;
/// How many transitions of its own an alert carries in `why`.
pub const WHY_LIMIT: usize = 8;
/// A new sample alone (no state change) is worth a save once a minute: the
/// saved `sample_t` is what a restart judges a series missing from the
/// (empty, restarted) store on, so it must stay well within
/// [`STALE_AFTER`], but saving every second for it would be waste.
pub const SAMPLE_SAVE_EVERY: Millis = 60_000;

/// The latest sample of every series of `store` that `selector` matches:
/// the function [`Engine::evaluate`] wants, over the dashboard's store.
pub fn store_latest(store: &Store, selector: &Selector) -> Vec<(SeriesKey, Sample)> {
    store
        .select(selector)
        .filter_map(|(id, key)| store.latest(id).map(|sample| (key.clone(), sample)))
        .collect()
}

/// One alert, as the engine keeps (and persists) it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Alert {
    rule: String,
    series: SeriesKey,
    labels: BTreeMap<String, String>,
    summary: Option<String>,
    state: AlertState,
    since: Millis,
    active_at: Option<Millis>,
    fired_at: Option<Millis>,
    resolved_at: Option<Millis>,
    /// A firing alert whose condition stopped holding: since when (the
    /// `keep_firing_for` countdown).
    failing_since: Option<Millis>,
    value: f64,
    sample_t: Millis,
    silenced: bool,
    /// Has a notification listed it as firing (since it last fired)?
    told_firing: bool,
    /// It resolved after being told: the group owes a "resolved".
    owes_resolved: bool,
    why: VecDeque<Transition>,
    /// The `sample_t` last marked for saving (not itself saved: 0 after a
    /// restore, so the first evaluation saves a fresh one).
    #[serde(skip)]
    saved_sample_t: Millis,
}

impl Alert {
    fn view(&self) -> AlertView {
        AlertView {
            rule: self.rule.clone(),
            series: self.series.clone(),
            labels: self.labels.clone(),
            state: self.state,
            since: self.since,
            active_at: self.active_at,
            fired_at: self.fired_at,
            resolved_at: self.resolved_at,
            value: self.value,
            sample_t: self.sample_t,
            silenced: self.silenced,
            summary: self.summary.clone(),
            why: self.why.iter().cloned().collect(),
        }
    }

    /// The labels silences match and groups are made of, with the name.
    fn label_key(&self) -> SeriesKey {
        SeriesKey {
            name: self.series.name.clone(),
            labels: self.labels.clone(),
        }
    }

    /// Moves to `to`, returning the transition.
    fn set(&mut self, to: AlertState, now: Millis, reason: String) -> Transition {
        let transition = Transition {
            at: now,
            rule: self.rule.clone(),
            series: self.series.clone(),
            from: self.state,
            to,
            value: self.value,
            sample_t: self.sample_t,
            reason,
        };
        self.state = to;
        self.since = now;
        if self.why.len() >= WHY_LIMIT {
            self.why.pop_front();
        }
        self.why.push_back(transition.clone());
        transition
    }
}

/// The group a notification is about: the values of `group_by`.
pub(crate) type GroupKey = BTreeMap<String, String>;

/// What the engine persists (see [`super::persist`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct EngineState {
    pub(crate) alerts: Vec<Alert>,
    /// Each group's last notification time.
    pub(crate) groups: Vec<(GroupKey, Millis)>,
    pub(crate) silences: Silences,
}

/// The alerting engine. See the [module docs](self) and [`super`].
#[derive(Debug)]
pub struct Engine {
    rules: RuleSet,
    alerts: BTreeMap<(String, SeriesKey), Alert>,
    groups: BTreeMap<GroupKey, Millis>,
    silences: Silences,
    history: VecDeque<Transition>,
    /// How many of the newest transitions are not saved yet.
    pub(crate) unsaved_history: usize,
    /// Has anything persisted changed since the last save?
    pub(crate) dirty: bool,
}

impl Engine {
    /// An engine with no alerts.
    pub fn new(rules: RuleSet) -> Self {
        Self {
            rules,
            alerts: BTreeMap::new(),
            groups: BTreeMap::new(),
            silences: Silences::default(),
            history: VecDeque::new(),
            unsaved_history: 0,
            dirty: false,
        }
    }

    /// Hot reload: alerts of rules whose name still exists keep their state
    /// (the new condition applies from the next evaluation); alerts of
    /// removed rules are settled at the next evaluation, which has a `now`
    /// to stamp it with: a pending one goes inactive, a firing one resolves
    /// with the reason "rule removed" (and its group is told).
    pub fn replace_rules(&mut self, rules: RuleSet) {
        self.rules = rules;
    }

    /// The rules in force.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// One evaluation at `now`. `latest(selector)` returns the matching
    /// series and their latest samples.
    pub fn evaluate(
        &mut self,
        now: Millis,
        latest: &dyn Fn(&Selector) -> Vec<(SeriesKey, Sample)>,
    ) -> Evaluation {
        // region: solution
        let mut transitions = Vec::new();
        let mut changed = false;
        let mut seen = BTreeSet::new();
        for rule in &self.rules.rules {
            for (series, sample) in latest(&rule.selector) {
                let key = (rule.name.clone(), series);
                if !seen.insert(key.clone()) {
                    continue;
                }
                let alert = match self.alerts.get_mut(&key) {
                    Some(alert) => alert,
                    None => {
                        let fresh = sample.t >= now.saturating_sub(STALE_AFTER);
                        if !(fresh && rule.holds(sample.v, false)) {
                            continue;
                        }
                        let (rule_name, series) = key.clone();
                        self.alerts.entry(key.clone()).or_insert(Alert {
                            rule: rule_name,
                            series,
                            labels: BTreeMap::new(),
                            summary: None,
                            state: AlertState::Inactive,
                            since: now,
                            active_at: None,
                            fired_at: None,
                            resolved_at: None,
                            failing_since: None,
                            value: sample.v,
                            sample_t: sample.t,
                            silenced: false,
                            told_firing: false,
                            owes_resolved: false,
                            why: VecDeque::new(),
                            saved_sample_t: sample.t,
                        })
                    }
                };
                let outcome = step(alert, rule, Some(sample), now);
                changed |= outcome.changed;
                transitions.extend(outcome.transition);
                if outcome.forget {
                    self.alerts.remove(&key);
                }
            }
        }
        // The alerts not seen: their series is missing from the store, or
        // their rule is gone.
        let unseen: Vec<_> = self
            .alerts
            .keys()
            .filter(|key| !seen.contains(*key))
            .cloned()
            .collect();
        for key in unseen {
            let Some(alert) = self.alerts.get_mut(&key) else {
                continue;
            };
            let outcome = match self.rules.rule(&key.0) {
                Some((_, rule)) => step(alert, rule, None, now),
                None => orphan_step(alert, now),
            };
            changed |= outcome.changed;
            transitions.extend(outcome.transition);
            if outcome.forget {
                self.alerts.remove(&key);
            }
        }
        changed |= self.silences.prune(now);
        self.refresh_silenced(now);
        let notifications = self.notify(now, &mut changed);
        for transition in &transitions {
            if self.history.len() >= HISTORY_LIMIT {
                self.history.pop_front();
            }
            self.history.push_back(transition.clone());
        }
        self.unsaved_history = (self.unsaved_history + transitions.len()).min(HISTORY_LIMIT);
        changed |= !transitions.is_empty();
        self.dirty |= changed;
        Evaluation {
            transitions,
            notifications,
            changed,
        }
        // region: stub
        // if self.rules.rules.is_empty() && self.alerts.is_empty() {
        //     // No rules yet (stages 1 to 10): nothing to judge.
        //     return Evaluation::default();
        // }
        // todo!("Stage 11: judge each rule's series: create, step and forget the alerts (a series missing from the store is judged on its last sample), record the transitions; notify from Stage 13 on (chapter B, section \"Stage 11: The alert lifecycle\")")
        // endregion
    }

    /// Every alert that is not inactive, in rule order, then series order.
    pub fn alerts(&self) -> Vec<AlertView> {
        self.ordered().into_iter().map(Alert::view).collect()
    }

    /// The latest `limit` transitions, newest last.
    pub fn history(&self, limit: usize) -> Vec<Transition> {
        let skip = self.history.len().saturating_sub(limit);
        self.history.iter().skip(skip).cloned().collect()
    }

    /// Adds a silence over `[starts, ends)`; its id.
    pub fn add_silence(
        &mut self,
        matchers: Selector,
        starts: Millis,
        ends: Millis,
        comment: String,
        now: Millis,
    ) -> Result<u64, SilenceError> {
        let id = self.silences.add(matchers, starts, ends, comment, now)?;
        self.refresh_silenced(now);
        self.dirty = true;
        Ok(id)
    }

    /// Ends a silence now; `false` when there is none with that id or it
    /// has already ended. Alerts it hid are notified at the next
    /// evaluation.
    pub fn expire_silence(&mut self, id: u64, now: Millis) -> bool {
        let expired = self.silences.expire(id, now);
        if expired {
            self.refresh_silenced(now);
            self.dirty = true;
        }
        expired
    }

    /// Every silence, with its state at `now`.
    pub fn silences(&self, now: Millis) -> Vec<SilenceView> {
        self.silences.views(now)
    }

    /// Has anything that is persisted changed since the last save?
    pub fn needs_save(&self) -> bool {
        self.dirty
    }

    fn refresh_silenced(&mut self, now: Millis) {
        for alert in self.alerts.values_mut() {
            alert.silenced = self.silences.mutes(&alert.label_key(), now);
        }
    }

    /// The alerts in rule order, then series order (orphans last).
    fn ordered(&self) -> Vec<&Alert> {
        let mut alerts: Vec<&Alert> = self.alerts.values().collect();
        alerts.sort_by_cached_key(|alert| {
            let index = self.rules.rule(&alert.rule).map_or(usize::MAX, |(i, _)| i);
            (index, alert.rule.clone(), alert.series.clone())
        });
        alerts
    }

    /// The group of `alert`: the value of each `group_by` label (`""` when
    /// it has none).
    fn group_of(&self, alert: &Alert) -> GroupKey {
        // region: solution
        let labels = alert.label_key();
        self.rules
            .notify
            .group_by
            .iter()
            .map(|name| (name.clone(), labels.get(name).to_owned()))
            .collect()
        // region: stub
        // todo!("Stage 13: the alert's group: each group_by label with its value in the alert's labels (chapter B, section \"Stage 13: Grouping and repeat\")")
        // endregion
    }

    /// The notifications of this evaluation (see the [module docs](self)):
    /// per group, when an unsilenced firing alert was not told yet, a told
    /// one resolved, or `repeat_interval` passed since the group's last
    /// notification while one fires. Marks what it lists as told, stamps
    /// the groups, forgets the groups without alerts; sets `changed` when
    /// any of that changed.
    fn notify(&mut self, now: Millis, changed: &mut bool) -> Vec<Notification> {
        // region: solution
        let mut members: BTreeMap<GroupKey, Vec<(String, SeriesKey)>> = BTreeMap::new();
        for alert in self.ordered() {
            members
                .entry(self.group_of(alert))
                .or_default()
                .push((alert.rule.clone(), alert.series.clone()));
        }
        let repeat = self.rules.notify.repeat_interval_ms;
        let mut notifications = Vec::new();
        for (group, keys) in &members {
            let alerts: Vec<&Alert> = keys.iter().filter_map(|key| self.alerts.get(key)).collect();
            let firing: Vec<&Alert> = alerts
                .iter()
                .copied()
                .filter(|alert| alert.state == AlertState::Firing && !alert.silenced)
                .collect();
            let resolved: Vec<&Alert> = alerts
                .iter()
                .copied()
                .filter(|alert| alert.owes_resolved)
                .collect();
            let news = firing.iter().any(|alert| !alert.told_firing);
            let due = !firing.is_empty()
                && self
                    .groups
                    .get(group)
                    .is_none_or(|last| now.saturating_sub(*last) >= repeat);
            if !(news || due || !resolved.is_empty()) {
                continue;
            }
            notifications.push(Notification {
                status: if firing.is_empty() {
                    NotificationStatus::Resolved
                } else {
                    NotificationStatus::Firing
                },
                group: group.clone(),
                alerts: firing
                    .iter()
                    .chain(&resolved)
                    .map(|alert| alert.view())
                    .collect(),
                at: now,
            });
        }
        for notification in &notifications {
            for view in &notification.alerts {
                if let Some(alert) = self
                    .alerts
                    .get_mut(&(view.rule.clone(), view.series.clone()))
                {
                    alert.told_firing = alert.state == AlertState::Firing;
                    alert.owes_resolved = false;
                }
            }
            self.groups.insert(notification.group.clone(), now);
            *changed = true;
        }
        let before = self.groups.len();
        self.groups.retain(|group, _| members.contains_key(group));
        *changed |= self.groups.len() != before;
        notifications
        // region: stub
        // todo!("Stage 13: group the alerts by group_by; notify a group when an alert starts firing, a told one resolves, or repeat_interval has passed while one fires; silenced alerts are left out (chapter B, section \"Stage 13: Grouping and repeat\")")
        // endregion
    }

    pub(crate) fn state(&self) -> EngineState {
        EngineState {
            alerts: self.alerts.values().cloned().collect(),
            groups: self.groups.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            silences: self.silences.clone(),
        }
    }

    pub(crate) fn unsaved_transitions(&self) -> impl Iterator<Item = &Transition> {
        self.history
            .iter()
            .skip(self.history.len().saturating_sub(self.unsaved_history))
    }

    pub(crate) fn from_state(rules: RuleSet, state: EngineState, history: Vec<Transition>) -> Self {
        let mut engine = Self::new(rules);
        engine.alerts = state
            .alerts
            .into_iter()
            .map(|alert| ((alert.rule.clone(), alert.series.clone()), alert))
            .collect();
        engine.groups = state.groups.into_iter().collect();
        engine.silences = state.silences;
        engine.history = history.into();
        engine
    }
}

/// What one step of one alert did.
#[derive(Default)]
struct Outcome {
    transition: Option<Transition>,
    changed: bool,
    /// The alert goes inactive: forget it.
    forget: bool,
}

/// One evaluation of one alert; `sample` is `None` when its series is not
/// in the store (then its last known sample is judged, until stale).
fn step(alert: &mut Alert, rule: &Rule, sample: Option<Sample>, now: Millis) -> Outcome {
    // region: solution
    if let Some(sample) = sample.filter(|sample| sample.t >= alert.sample_t) {
        alert.value = sample.v;
        alert.sample_t = sample.t;
    }
    let mut labels = alert.series.labels.clone();
    labels.extend(rule.labels.clone());
    labels.insert(ALERTNAME.to_owned(), rule.name.clone());
    let mut outcome = Outcome {
        changed: labels != alert.labels || alert.summary != rule.summary,
        ..Outcome::default()
    };
    alert.labels = labels;
    alert.summary.clone_from(&rule.summary);
    if alert.sample_t.saturating_sub(alert.saved_sample_t) >= SAMPLE_SAVE_EVERY {
        alert.saved_sample_t = alert.sample_t;
        outcome.changed = true;
    }
    let stale = alert.sample_t < now.saturating_sub(STALE_AFTER);
    // Not firing: a firing alert is judged by `resolves_since`.
    let holds = !stale && rule.holds(alert.value, false);
    let seen = format!("{} = {}", alert.series, alert.value);
    let at = format!("sample at t={}", alert.sample_t);
    let condition = format!("{} {}", rule.op, rule.threshold);
    match alert.state {
        AlertState::Inactive | AlertState::Resolved if holds => {
            alert.active_at = Some(now);
            alert.fired_at = None;
            alert.resolved_at = None;
            alert.failing_since = None;
            if rule.for_ms == 0 {
                alert.fired_at = Some(now);
                let reason = format!("{seen} {condition} ({at}); for = 0s: fires at once");
                outcome.transition = Some(alert.set(AlertState::Firing, now, reason));
            } else {
                let reason = format!(
                    "{seen} {condition} ({at}); pending until it holds for {}",
                    duration(rule.for_ms)
                );
                outcome.transition = Some(alert.set(AlertState::Pending, now, reason));
            }
        }
        AlertState::Inactive => outcome.forget = true,
        AlertState::Resolved => {
            if now.saturating_sub(alert.resolved_at.unwrap_or(alert.since)) >= RESOLVED_RETENTION {
                outcome.forget = true;
                outcome.changed = true;
            }
        }
        AlertState::Pending => {
            let active_at = alert.active_at.unwrap_or(alert.since);
            if !holds {
                let why = not_holding(&seen, &at, stale, &condition, None);
                let reason = format!("{why}, after {} pending", duration(now - active_at));
                outcome.transition = Some(alert.set(AlertState::Inactive, now, reason));
                outcome.forget = true;
            } else if now.saturating_sub(active_at) >= rule.for_ms {
                alert.fired_at = Some(now);
                let reason = format!(
                    "{seen} {condition} ({at}), held for {} since t={active_at} (for = {})",
                    duration(now - active_at),
                    duration(rule.for_ms)
                );
                outcome.transition = Some(alert.set(AlertState::Firing, now, reason));
            }
        }
        AlertState::Firing => {
            if let Some(since) = resolves_since(alert, rule, stale, now, &mut outcome.changed) {
                let why = not_holding(&seen, &at, stale, &condition, rule.clear);
                let reason = format!(
                    "{why}, since t={since} (keep_firing_for = {})",
                    duration(rule.keep_firing_for_ms)
                );
                alert.resolved_at = Some(now);
                alert.failing_since = None;
                alert.owes_resolved = alert.told_firing;
                alert.told_firing = false;
                outcome.transition = Some(alert.set(AlertState::Resolved, now, reason));
            }
        }
    }
    outcome.changed |= outcome.transition.is_some();
    outcome
    // region: stub
    // todo!("Stage 11: one alert at one evaluation: take the newer sample, pending when the condition holds, firing once it held for `for`, resolved when it stops, stale after 5 min, forgotten when inactive or resolved for 15 min (chapter B, section \"Stage 11: The alert lifecycle\")")
    // endregion
}

/// Anti-flap, for a firing alert: does it resolve at this evaluation?
///
/// Its condition holds unless its sample is `stale`, and with `clear`
/// (hysteresis) until the value crosses `clear` ([`Rule::holds`] with
/// `firing`). It resolves only once the condition has not held for
/// `keep_firing_for`, counted from the first evaluation at which it stopped
/// holding (`failing_since`, forgotten when it holds again; `changed` is set
/// when that countdown starts or stops). Returns that first evaluation's
/// time when it resolves now.
fn resolves_since(
    alert: &mut Alert,
    rule: &Rule,
    stale: bool,
    now: Millis,
    changed: &mut bool,
) -> Option<Millis> {
    // region: solution
    if !stale && rule.holds(alert.value, true) {
        *changed |= alert.failing_since.take().is_some();
        return None;
    }
    let since = match alert.failing_since {
        Some(since) => since,
        None => {
            *changed = true;
            *alert.failing_since.insert(now)
        }
    };
    (now.saturating_sub(since) >= rule.keep_firing_for_ms).then_some(since)
    // region: stub
    // todo!("Stage 12: a firing alert holds until its value crosses `clear` (if any); it resolves once it has not held for keep_firing_for, counted from the first evaluation it stopped holding (chapter B, section \"Stage 12: Anti-flap\")")
    // endregion
}

/// An alert whose rule was removed (by a reload, or while the server was
/// down).
fn orphan_step(alert: &mut Alert, now: Millis) -> Outcome {
    // region: solution
    let mut outcome = Outcome::default();
    match alert.state {
        AlertState::Firing => {
            alert.resolved_at = Some(now);
            alert.failing_since = None;
            alert.owes_resolved = alert.told_firing;
            alert.told_firing = false;
            outcome.transition =
                Some(alert.set(AlertState::Resolved, now, "rule removed".to_owned()));
        }
        AlertState::Pending | AlertState::Inactive => {
            outcome.transition =
                Some(alert.set(AlertState::Inactive, now, "rule removed".to_owned()));
            outcome.forget = true;
        }
        AlertState::Resolved => {
            outcome.forget =
                now.saturating_sub(alert.resolved_at.unwrap_or(alert.since)) >= RESOLVED_RETENTION;
        }
    }
    outcome.changed = outcome.transition.is_some() || outcome.forget;
    outcome
    // region: stub
    // todo!("Stage 11: settle an alert whose rule was removed: a firing one resolves and a pending one goes inactive, with the reason \"rule removed\" (chapter B, section \"Stage 11: The alert lifecycle\")")
    // endregion
}

fn not_holding(seen: &str, at: &str, stale: bool, condition: &str, clear: Option<f64>) -> String {
    match (stale, clear) {
        (true, _) => format!(
            "{seen} ({at}): no newer sample for more than {} (stale)",
            duration(STALE_AFTER)
        ),
        (false, Some(clear)) => format!("{seen} ({at}) crossed clear = {clear}"),
        (false, None) => format!("{seen} ({at}), no longer {condition}"),
    }
}

/// `5m0s`, `1h0m0s`, `250ms`: the way Prometheus writes a duration.
fn duration(ms: Millis) -> String {
    if ms < 1_000 {
        return format!("{ms}ms");
    }
    let (h, m, s, rest) = (
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1_000 % 60,
        ms % 1_000,
    );
    let seconds = if rest == 0 {
        format!("{s}s")
    } else {
        format!("{s}.{rest:03}s")
    };
    match (h, m) {
        (0, 0) => seconds,
        (0, m) => format!("{m}m{seconds}"),
        (h, m) => format!("{h}h{m}m{seconds}"),
    }
}
