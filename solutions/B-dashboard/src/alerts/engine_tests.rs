// region: solution
//! The engine's behaviours, driven with numbers for `now`.

use std::collections::BTreeMap;

use super::*;
use crate::labels::Selector;
use crate::store::Sample;

const MIN: Millis = 60_000;
/// A start far from 0, so that "0 means unset" bugs show.
const T0: Millis = 1_700_000_000_000;

/// The series and their latest samples: a stand-in for the store.
#[derive(Default)]
struct World {
    samples: BTreeMap<SeriesKey, Sample>,
}

impl World {
    fn set(&mut self, host: &str, t: Millis, v: f64) {
        self.samples
            .insert(SeriesKey::new("cpu", [("host", host)]), Sample { t, v });
    }

    fn eval(&self, engine: &mut Engine, now: Millis) -> Evaluation {
        engine.evaluate(now, &|selector: &Selector| {
            self.samples
                .iter()
                .filter(|(key, _)| selector.matches(key))
                .map(|(key, sample)| (key.clone(), *sample))
                .collect()
        })
    }

    /// Sets host `a` to `v` at `now` and evaluates.
    fn tick(&mut self, engine: &mut Engine, now: Millis, v: f64) -> Evaluation {
        self.set("a", now, v);
        self.eval(engine, now)
    }
}

fn rules(extra_rule: &str, notify: &str) -> RuleSet {
    let text = format!(
        "[notify]\n{notify}\n[[rule]]\nname = \"HighCpu\"\nselector = 'cpu'\nop = \">\"\nthreshold = 0.9\n{extra_rule}"
    );
    match RuleSet::parse(&text) {
        Ok(rules) => rules,
        Err(error) => panic!("the test's rules are wrong: {error}\n{text}"),
    }
}

fn engine(extra_rule: &str) -> Engine {
    Engine::new(rules(extra_rule, ""))
}

fn states(engine: &Engine) -> Vec<AlertState> {
    engine.alerts().iter().map(|alert| alert.state).collect()
}

fn count(evaluations: &[Evaluation], status: NotificationStatus) -> usize {
    evaluations
        .iter()
        .flat_map(|evaluation| &evaluation.notifications)
        .filter(|notification| notification.status == status)
        .count()
}

#[test]
fn an_alert_is_pending_before_for_and_fires_at_exactly_for() {
    let mut engine = engine("for = \"5m\"");
    let mut world = World::default();
    let first = world.tick(&mut engine, T0, 0.95);
    assert_eq!(states(&engine), [AlertState::Pending]);
    assert!(first.notifications.is_empty(), "pending is never notified");
    let almost = world.tick(&mut engine, T0 + 5 * MIN - 1, 0.95);
    assert_eq!(
        states(&engine),
        [AlertState::Pending],
        "1 ms before `for` it still waits"
    );
    assert!(almost.notifications.is_empty());
    let fired = world.tick(&mut engine, T0 + 5 * MIN, 0.95);
    assert_eq!(
        states(&engine),
        [AlertState::Firing],
        "fires at exactly `for`"
    );
    assert_eq!(fired.notifications.len(), 1);
    assert_eq!(fired.notifications[0].status, NotificationStatus::Firing);
    let alert = &engine.alerts()[0];
    assert_eq!(
        (alert.active_at, alert.fired_at),
        (Some(T0), Some(T0 + 5 * MIN))
    );
    let why = &alert.why;
    assert_eq!(why.len(), 2, "inactive→pending, pending→firing: {why:?}");
    assert!(
        why[1].reason.contains("0.95 > 0.9") && why[1].reason.contains("5m0s"),
        "the reason shows the value, the condition and the duration: {}",
        why[1].reason
    );
    assert_eq!(engine.history(10).len(), 2);
}

#[test]
fn pending_goes_back_to_inactive_without_a_word() {
    let mut engine = engine("for = \"5m\"");
    let mut world = World::default();
    let mut evaluations = vec![world.tick(&mut engine, T0, 0.95)];
    evaluations.push(world.tick(&mut engine, T0 + 2 * MIN, 0.5));
    assert!(
        engine.alerts().is_empty(),
        "an inactive alert is not listed"
    );
    assert!(evaluations.iter().all(|e| e.notifications.is_empty()));
    let last = &engine.history(1)[0];
    assert_eq!(
        (last.from, last.to),
        (AlertState::Pending, AlertState::Inactive)
    );
}

/// A value alternating above and below the threshold at every evaluation.
fn flap(engine: &mut Engine) -> Vec<Evaluation> {
    let mut world = World::default();
    (0..30)
        .map(|i| {
            let v = if i % 2 == 0 { 0.95 } else { 0.5 };
            world.tick(engine, T0 + i * 10_000, v)
        })
        .collect()
}

#[test]
fn keep_firing_for_stops_flapping() {
    let evaluations = flap(&mut engine("keep_firing_for = \"1m\""));
    assert_eq!(
        count(&evaluations, NotificationStatus::Firing),
        1,
        "one firing notification"
    );
    assert_eq!(
        count(&evaluations, NotificationStatus::Resolved),
        0,
        "no resolve while flapping"
    );

    let without = flap(&mut engine(""));
    assert!(
        count(&without, NotificationStatus::Resolved) > 1,
        "without keep_firing_for the same input flaps (else this test proves nothing)"
    );
}

#[test]
fn keep_firing_for_resolves_after_the_condition_stays_false() {
    let mut engine = engine("keep_firing_for = \"1m\"");
    let mut world = World::default();
    world.tick(&mut engine, T0, 0.95);
    world.tick(&mut engine, T0 + 10_000, 0.5);
    world.tick(&mut engine, T0 + 10_000 + MIN - 1, 0.5);
    assert_eq!(states(&engine), [AlertState::Firing]);
    let resolved = world.tick(&mut engine, T0 + 10_000 + MIN, 0.5);
    assert_eq!(states(&engine), [AlertState::Resolved]);
    assert_eq!(resolved.notifications.len(), 1);
    assert_eq!(
        resolved.notifications[0].status,
        NotificationStatus::Resolved
    );
    let forgotten = T0 + 10_000 + MIN + RESOLVED_RETENTION;
    world.tick(&mut engine, forgotten, 0.5);
    assert!(
        engine.alerts().is_empty(),
        "a resolved alert is forgotten after a while"
    );
}

#[test]
fn hysteresis_holds_a_firing_alert_until_clear() {
    let mut engine = engine("clear = 0.8");
    let mut world = World::default();
    let mut evaluations = vec![world.tick(&mut engine, T0, 0.95)];
    for (i, v) in [0.85, 0.89, 0.92, 0.81].into_iter().enumerate() {
        evaluations.push(world.tick(&mut engine, T0 + (i as Millis + 1) * 1_000, v));
        assert_eq!(
            states(&engine),
            [AlertState::Firing],
            "{v} has not crossed clear = 0.8"
        );
    }
    evaluations.push(world.tick(&mut engine, T0 + 10_000, 0.8));
    assert_eq!(states(&engine), [AlertState::Resolved], "0.8 is clear");
    assert!(engine.history(1)[0].reason.contains("clear"));
    assert_eq!(count(&evaluations, NotificationStatus::Firing), 1);
    assert_eq!(count(&evaluations, NotificationStatus::Resolved), 1);
    world.tick(&mut engine, T0 + 11_000, 0.85);
    assert!(
        engine.alerts()[0].state == AlertState::Resolved,
        "a resolved alert needs the threshold again, not just `clear`"
    );
}

#[test]
fn alerts_are_grouped_by_group_by() {
    for (group_by, expected) in [("[\"alertname\"]", 1), ("[\"host\"]", 2)] {
        let mut engine = Engine::new(rules("", &format!("group_by = {group_by}")));
        let mut world = World::default();
        world.set("a", T0, 0.95);
        world.set("b", T0, 0.97);
        let evaluation = world.eval(&mut engine, T0);
        assert_eq!(
            evaluation.notifications.len(),
            expected,
            "group_by = {group_by}"
        );
        let listed: usize = evaluation
            .notifications
            .iter()
            .map(|n| n.alerts.len())
            .sum();
        assert_eq!(listed, 2, "every firing alert is listed once");
        if expected == 2 {
            assert_eq!(
                evaluation.notifications[0]
                    .group
                    .get("host")
                    .map(String::as_str),
                Some("a")
            );
        }
    }
}

#[test]
fn a_firing_group_repeats_at_exactly_the_repeat_interval() {
    let mut engine = Engine::new(rules("", "repeat_interval = \"1h\""));
    let mut world = World::default();
    assert_eq!(world.tick(&mut engine, T0, 0.95).notifications.len(), 1);
    let hour = 60 * MIN;
    assert!(
        world
            .tick(&mut engine, T0 + hour - 1, 0.95)
            .notifications
            .is_empty()
    );
    let repeat = world.tick(&mut engine, T0 + hour, 0.95);
    assert_eq!(repeat.notifications.len(), 1, "a reminder at exactly 1h");
    assert!(
        world
            .tick(&mut engine, T0 + hour + 1_000, 0.95)
            .notifications
            .is_empty()
    );
}

#[test]
fn silences_hide_notifications_until_they_expire() {
    let mut engine = engine("");
    let mut world = World::default();
    let matchers = Selector::parse(r#"{alertname="HighCpu"}"#).expect("a selector");
    let id = engine
        .add_silence(matchers.clone(), T0, T0 + 60 * MIN, "deploying".into(), T0)
        .expect("a good silence");
    let silenced = world.tick(&mut engine, T0, 0.95);
    assert!(
        silenced.notifications.is_empty(),
        "a silenced alert is not notified"
    );
    assert_eq!(
        states(&engine),
        [AlertState::Firing],
        "a silence does not change the state"
    );
    assert!(engine.alerts()[0].silenced);
    assert_eq!(engine.silences(T0)[0].state, SilenceState::Active);

    assert!(engine.expire_silence(id, T0 + MIN));
    assert!(!engine.expire_silence(id, T0 + MIN), "already expired");
    let told = world.tick(&mut engine, T0 + MIN + 1_000, 0.95);
    assert_eq!(
        told.notifications.len(),
        1,
        "it was never told: notified now"
    );
    assert!(!told.notifications[0].alerts[0].silenced);
    assert_eq!(engine.silences(T0 + MIN)[0].state, SilenceState::Expired);

    let empty = Selector::parse("{}").expect("a selector");
    assert_eq!(
        engine.add_silence(empty, T0, T0 + MIN, String::new(), T0),
        Err(SilenceError::NoMatchers)
    );
    assert!(matches!(
        engine.add_silence(matchers.clone(), T0 + MIN, T0 + MIN, String::new(), T0),
        Err(SilenceError::EndsBeforeStarts { .. })
    ));
    assert!(matches!(
        engine.add_silence(matchers.clone(), T0, T0 + MIN, String::new(), T0 + 2 * MIN),
        Err(SilenceError::AlreadyOver { .. })
    ));
    let next = engine.add_silence(matchers, T0, T0 + 3 * MIN, String::new(), T0 + 2 * MIN);
    assert_eq!(next, Ok(id + 1), "ids increase");
}

#[test]
fn a_series_without_samples_for_five_minutes_counts_as_false() {
    let mut engine = engine("");
    let mut world = World::default();
    world.tick(&mut engine, T0, 0.95);
    world.samples.clear();
    world.eval(&mut engine, T0 + STALE_AFTER);
    assert_eq!(
        states(&engine),
        [AlertState::Firing],
        "missing, but not yet stale"
    );
    world.eval(&mut engine, T0 + STALE_AFTER + 1);
    assert_eq!(states(&engine), [AlertState::Resolved]);
    assert!(engine.history(1)[0].reason.contains("stale"));
}

#[test]
fn a_reload_keeps_the_state_of_rules_that_stay() {
    let mut engine = engine("for = \"5m\"");
    let mut world = World::default();
    world.tick(&mut engine, T0, 0.95);
    engine.replace_rules(rules("for = \"5m\"\nsummary = \"hot\"", ""));
    world.tick(&mut engine, T0 + 5 * MIN, 0.95);
    let alert = &engine.alerts()[0];
    assert_eq!(alert.state, AlertState::Firing, "the pending time was kept");
    assert_eq!(
        alert.summary.as_deref(),
        Some("hot"),
        "the new rule applies"
    );

    let other =
        RuleSet::parse("[[rule]]\nname = \"Other\"\nselector = 'mem'\nop = \">\"\nthreshold = 1")
            .expect("valid rules");
    engine.replace_rules(other);
    let removed = world.eval(&mut engine, T0 + 6 * MIN);
    assert_eq!(states(&engine), [AlertState::Resolved]);
    assert_eq!(removed.transitions[0].reason, "rule removed");
    assert_eq!(
        removed.notifications[0].status,
        NotificationStatus::Resolved
    );
}

#[test]
fn a_firing_alert_is_still_firing_after_a_crash() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("alerts.db");
    let rules = || {
        rules(
            "for = \"5m\"\nkeep_firing_for = \"2m\"",
            "repeat_interval = \"1h\"",
        )
    };
    let mut world = World::default();
    {
        let store = AlertStore::open(&path)?;
        let mut engine = Engine::restore(rules(), &store)?;
        world.tick(&mut engine, T0, 0.95);
        let fired = world.tick(&mut engine, T0 + 5 * MIN, 0.95);
        assert_eq!(fired.notifications.len(), 1);
        assert!(engine.save_to(&store)?, "a change is saved");
        assert!(!engine.save_to(&store)?, "nothing new: nothing written");
        // The crash: the engine and the connection go without a word.
    }
    let store = AlertStore::open(&path)?;
    let mut engine = Engine::restore(rules(), &store)?;
    assert_eq!(
        states(&engine),
        [AlertState::Firing],
        "restored firing, not pending"
    );
    let after = world.tick(&mut engine, T0 + 6 * MIN, 0.95);
    assert_eq!(
        states(&engine),
        [AlertState::Firing],
        "its `for` is not served again"
    );
    assert!(
        after.notifications.is_empty(),
        "a restart is no news: no new notification"
    );
    assert_eq!(engine.history(10).len(), 2, "the history came back");

    // The keep_firing_for countdown continues from the stored time.
    world.tick(&mut engine, T0 + 7 * MIN, 0.5);
    engine.save_to(&store)?;
    drop((engine, store));
    let store = AlertStore::open(&path)?;
    let mut engine = Engine::restore(rules(), &store)?;
    world.tick(&mut engine, T0 + 9 * MIN - 1, 0.5);
    assert_eq!(states(&engine), [AlertState::Firing]);
    let resolved = world.tick(&mut engine, T0 + 9 * MIN, 0.5);
    assert_eq!(
        states(&engine),
        [AlertState::Resolved],
        "2m after the condition stopped"
    );
    assert_eq!(
        resolved.notifications[0].status,
        NotificationStatus::Resolved
    );
    Ok(())
}

#[test]
fn a_restored_group_repeats_on_schedule_and_silences_survive()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("alerts.db");
    let rules = || rules("labels = { team = \"web\" }", "repeat_interval = \"1h\"");
    let mut world = World::default();
    {
        let store = AlertStore::open(&path)?;
        let mut engine = Engine::restore(rules(), &store)?;
        world.tick(&mut engine, T0, 0.95);
        let matchers = Selector::parse(r#"{team="db"}"#)?;
        engine.add_silence(matchers, T0, T0 + 120 * MIN, "db work".into(), T0)?;
        engine.save_to(&store)?;
    }
    let store = AlertStore::open(&path)?;
    let mut engine = Engine::restore(rules(), &store)?;
    assert_eq!(engine.silences(T0).len(), 1);
    let id = engine.add_silence(
        Selector::parse(r#"{team="x"}"#)?,
        T0,
        T0 + MIN,
        String::new(),
        T0,
    )?;
    assert_eq!(id, 2, "the next silence id was restored");
    assert!(
        world
            .tick(&mut engine, T0 + 60 * MIN - 1, 0.95)
            .notifications
            .is_empty()
    );
    assert_eq!(
        world
            .tick(&mut engine, T0 + 60 * MIN, 0.95)
            .notifications
            .len(),
        1
    );
    Ok(())
}

#[test]
fn the_wire_shapes_are_stable() -> Result<(), serde_json::Error> {
    let mut engine = engine("summary = \"CPU above 90 %\"");
    let mut world = World::default();
    let evaluation = world.tick(&mut engine, T0, 0.95);
    let json = serde_json::to_value(&evaluation.notifications[0])?;
    assert_eq!(json["status"], "firing");
    assert_eq!(json["group"], serde_json::json!({"alertname": "HighCpu"}));
    let alert = &json["alerts"][0];
    assert_eq!(alert["state"], "firing");
    assert_eq!(
        alert["series"],
        serde_json::json!({"name": "cpu", "labels": {"host": "a"}})
    );
    assert_eq!(alert["labels"]["alertname"], "HighCpu");
    assert_eq!(alert["why"][0]["from"], "inactive");
    assert_eq!(alert["why"][0]["to"], "firing");
    Ok(())
}

#[test]
fn a_restart_with_an_empty_store_does_not_resolve_a_firing_alert()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("alerts.db");
    let mut world = World::default();
    let last = T0 + 6 * MIN;
    {
        let store = AlertStore::open(&path)?;
        let mut engine = Engine::restore(rules("", ""), &store)?;
        for t in (T0..=last).step_by(10_000) {
            world.tick(&mut engine, t, 0.95);
            engine.save_to(&store)?;
        }
    }
    let store = AlertStore::open(&path)?;
    let mut engine = Engine::restore(rules("", ""), &store)?;
    // The in-memory store restarted empty: the collectors have not pushed yet.
    let evaluation = World::default().eval(&mut engine, last + 10_000);
    assert_eq!(
        states(&engine),
        [AlertState::Firing],
        "judged on a recent saved sample, not on the one of 6 minutes ago: {:?}",
        evaluation.transitions
    );
    Ok(())
}
// endregion
