//! Subscriptions, and what each client is owed.
//!
//! The [`Hub`] owns the [`Store`] and every client's subscriptions. A sample
//! goes into the store and, in the same step under the same lock, into the
//! [`Outbox`] of every subscription whose selector matches its series. That
//! one lock is what makes a subscription's *backfill then live* exact: a
//! subscribe reads the stored samples and registers for live ones without
//! any sample slipping in between (a gap) or being sent twice (a duplicate).
//!
//! Nothing in here ever waits for a client. Ingest only *records* what a
//! client is owed in its outbox; each client's own writer task (in
//! `server`) takes what is owed when its socket can take more. So a client
//! that never reads slows nobody else; what it is owed is bounded:
//!
//! | policy | while the client is behind | bound |
//! |---|---|---|
//! | `latest` | a newer sample of a series replaces the unsent one; `dropped` counts the replaced | one point per series |
//! | `all` | every sample is kept, in order | [`Config::hard_cap`] points in all; past it the client is closed with [`CLOSE_TOO_SLOW`] |
//! | `max_hz` | what arrives between two messages waits for the next one (batched, or conflated under `latest`) | as above |

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use crate::clock::Millis;
use crate::labels::{Selector, SeriesKey};
use crate::protocol::{Mode, Policy, SeriesInfo, ServerMessage};
use crate::store::{IngestError, Sample, SeriesId, Store};

/// By default, a client in `all` mode this many points behind is closed.
pub const HARD_CAP: usize = 100_000;
/// The close code for a client too slow for its subscriptions (1008,
/// policy violation: it did not read what it asked for).
pub const CLOSE_TOO_SLOW: u16 = 1008;
/// The most subscriptions one client may hold at once.
pub const MAX_SUBSCRIPTIONS: usize = 100;
/// The most messages (answers, errors) waiting for a client before it is
/// closed as too slow: a client that sends queries and never reads the
/// answers cannot grow the server's memory either.
pub const CONTROL_CAP: usize = 1_000;
/// A backfill is sent in messages of at most this many points.
pub const BACKFILL_CHUNK: usize = 5_000;

/// One point on the wire: `(series, time, value)`.
pub type Point = (SeriesId, Millis, f64);

/// A client's number.
pub type ClientId = u64;

/// The hub's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Points an `all`-mode client may be behind before it is closed.
    pub hard_cap: usize,
    /// Subscriptions per client.
    pub max_subscriptions: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            hard_cap: HARD_CAP,
            max_subscriptions: MAX_SUBSCRIPTIONS,
        }
    }
}

/// Why a client's connection is being closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Close {
    /// The WebSocket close code.
    pub code: u16,
    /// The reason, for people.
    pub reason: String,
}

/// What one subscription has not sent yet.
#[derive(Debug)]
enum Pending {
    All(Vec<Point>),
    Latest {
        /// Where each series' point is in `points`.
        at: HashMap<SeriesId, usize>,
        points: Vec<Point>,
    },
}

impl Pending {
    fn new(mode: Mode) -> Self {
        match mode {
            Mode::All => Pending::All(Vec::new()),
            Mode::Latest => Pending::Latest {
                at: HashMap::new(),
                points: Vec::new(),
            },
        }
    }

    fn len(&self) -> usize {
        match self {
            Pending::All(points) | Pending::Latest { points, .. } => points.len(),
        }
    }

    fn take(&mut self) -> Vec<Point> {
        match self {
            Pending::All(points) => std::mem::take(points),
            Pending::Latest { at, points } => {
                at.clear();
                std::mem::take(points)
            }
        }
    }
}

/// One subscription's side of the outbox.
#[derive(Debug)]
struct Owed {
    policy: Policy,
    /// The `seq` of the last `data` message taken.
    seq: u64,
    /// Series to announce before the next points.
    announce: Vec<SeriesInfo>,
    /// Stored samples, sent before anything live.
    backfill: VecDeque<Vec<Point>>,
    pending: Pending,
    /// Samples replaced unsent since the last message.
    dropped: u64,
    /// The earliest time of the next `data` message (`max_hz`).
    next_at: Option<Instant>,
}

impl Owed {
    fn interval(&self) -> Option<Duration> {
        self.policy
            .max_hz
            .filter(|hz| hz.is_finite() && *hz > 0.0)
            .map(|hz| Duration::from_secs_f64(1.0 / hz))
    }
}

#[derive(Debug, Default)]
struct OutboxState {
    control: VecDeque<ServerMessage>,
    owed: BTreeMap<String, Owed>,
    /// The latest alerts, conflated: only the newest state matters.
    alerts: Option<Vec<serde_json::Value>>,
    /// Did the client ask for the alerts (`watch_alerts`)?
    watching: bool,
    /// Points pending in `all` subscriptions.
    pending_all: usize,
    hard_cap: usize,
}

/// What one client is owed, filled by the hub and emptied by the client's
/// writer. Every method takes the outbox's own short lock; none waits.
#[derive(Debug)]
pub struct Outbox {
    state: Mutex<OutboxState>,
    wake: Notify,
    close: watch::Sender<Option<Close>>,
}

/// What the writer should send now.
#[derive(Debug, Default)]
pub struct Batch {
    /// The messages, in order.
    pub messages: Vec<ServerMessage>,
    /// When a rate-capped subscription may send again, if one waits.
    pub wake_at: Option<Instant>,
}

impl Outbox {
    fn new(hard_cap: usize) -> Self {
        Self {
            state: Mutex::new(OutboxState {
                hard_cap,
                ..OutboxState::default()
            }),
            wake: Notify::new(),
            close: watch::Sender::new(None),
        }
    }

    fn lock(&self) -> MutexGuard<'_, OutboxState> {
        // A panic while holding this lock leaves the state consistent
        // (every update is one assignment or push), so poisoning is ignored.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues a message that is not a subscription's data (an answer, an
    /// error, `subscribed`…), in order.
    pub fn send(&self, message: ServerMessage) {
        let over = {
            let mut state = self.lock();
            state.control.push_back(message);
            state.control.len() > CONTROL_CAP
        };
        if over {
            self.close(Close {
                code: CLOSE_TOO_SLOW,
                reason: format!("more than {CONTROL_CAP} answers unread"),
            });
        }
        self.wake.notify_one();
    }

    /// The client asked for the alerts (`watch_alerts`).
    pub fn watch_alerts(&self) {
        self.lock().watching = true;
    }

    /// Does the client want the alerts?
    pub fn watching_alerts(&self) -> bool {
        self.lock().watching
    }

    /// Replaces the alerts waiting to be sent with the newest.
    pub fn send_alerts(&self, alerts: Vec<serde_json::Value>) {
        self.lock().alerts = Some(alerts);
        self.wake.notify_one();
    }

    /// Closes the client: its writer sends the Close frame and ends.
    pub fn close(&self, close: Close) {
        self.close.send_if_modified(|current| {
            let first = current.is_none();
            if first {
                *current = Some(close);
            }
            first
        });
        self.wake.notify_one();
    }

    /// Why the client is being closed, once it is.
    pub fn closing(&self) -> watch::Receiver<Option<Close>> {
        self.close.subscribe()
    }

    /// Waits until there may be something to take.
    pub async fn woken(&self) {
        self.wake.notified().await;
    }

    fn open(&self, id: &str, policy: Policy, backfill: VecDeque<Vec<Point>>) {
        let mut state = self.lock();
        state
            .control
            .push_back(ServerMessage::Subscribed { id: id.to_owned() });
        state.owed.insert(
            id.to_owned(),
            Owed {
                policy,
                seq: 0,
                announce: Vec::new(),
                backfill,
                pending: Pending::new(policy.mode),
                dropped: 0,
                next_at: None,
            },
        );
        drop(state);
        self.wake.notify_one();
    }

    fn shut(&self, id: &str) {
        let mut state = self.lock();
        if let Some(owed) = state.owed.remove(id)
            && let Pending::All(points) = &owed.pending
        {
            state.pending_all -= points.len();
        }
        state
            .control
            .push_back(ServerMessage::Unsubscribed { id: id.to_owned() });
        drop(state);
        self.wake.notify_one();
    }

    fn announce(&self, id: &str, series: SeriesInfo) {
        if let Some(owed) = self.lock().owed.get_mut(id) {
            owed.announce.push(series);
        }
    }

    /// Records a live point for subscription `id`.
    fn push(&self, id: &str, point: Point) {
        // region: solution
        let mut state = self.lock();
        let Some(owed) = state.owed.get_mut(id) else {
            return;
        };
        let mut added = 0;
        match &mut owed.pending {
            Pending::All(points) => {
                points.push(point);
                added = 1;
            }
            Pending::Latest { at, points } => match at.get(&point.0) {
                Some(&i) => {
                    // Keep the newer of the two: a sample that arrives late
                    // (an older time) does not replace a newer one.
                    if point.1 >= points[i].1 {
                        points[i] = point;
                    }
                    owed.dropped += 1;
                }
                None => {
                    at.insert(point.0, points.len());
                    points.push(point);
                }
            },
        }
        state.pending_all += added;
        let over = state.pending_all > state.hard_cap;
        let cap = state.hard_cap;
        drop(state);
        if over {
            self.close(Close {
                code: CLOSE_TOO_SLOW,
                reason: format!("too slow: more than {cap} points unread"),
            });
        } else {
            self.wake.notify_one();
        }
        // region: stub
        // todo!("Stage 3: record the point for the subscription: kept in order under all (closing past the hard cap), replacing the series' unsent one under latest (chapter B, section \"Stage 3: Subscribe in order\")")
        // endregion
    }

    /// Takes what may be sent at `now`: control messages first (in order),
    /// then for each subscription its new series, its backfill, and one
    /// `data` message of everything pending, unless its rate cap says wait.
    pub fn take(&self, now: Instant) -> Batch {
        // region: solution
        let mut state = self.lock();
        let state = &mut *state;
        let mut batch = Batch {
            messages: state.control.drain(..).collect(),
            wake_at: None,
        };
        if let Some(alerts) = state.alerts.take() {
            batch.messages.push(ServerMessage::Alerts { alerts });
        }
        for (id, owed) in &mut state.owed {
            if !owed.announce.is_empty() {
                batch.messages.push(ServerMessage::Series {
                    id: id.clone(),
                    series: std::mem::take(&mut owed.announce),
                });
            }
            while let Some(points) = owed.backfill.pop_front() {
                owed.seq += 1;
                batch.messages.push(ServerMessage::Data {
                    id: id.clone(),
                    seq: owed.seq,
                    backfill: true,
                    points,
                    dropped: 0,
                });
            }
            if owed.pending.len() == 0 {
                continue;
            }
            if let Some(next_at) = owed.next_at
                && next_at > now
            {
                batch.wake_at = Some(batch.wake_at.map_or(next_at, |at| at.min(next_at)));
                continue;
            }
            let points = owed.pending.take();
            if owed.policy.mode == Mode::All {
                state.pending_all -= points.len();
            }
            owed.seq += 1;
            batch.messages.push(ServerMessage::Data {
                id: id.clone(),
                seq: owed.seq,
                backfill: false,
                points,
                dropped: std::mem::take(&mut owed.dropped),
            });
            owed.next_at = owed.interval().map(|interval| now + interval);
        }
        batch
        // region: stub
        // todo!("Stage 3: control messages, then per subscription its new series, its backfill and one data message with seq + 1 (chapter B, section \"Stage 3: Subscribe in order\")")
        // endregion
    }
}

/// One subscription, as the hub keeps it.
#[derive(Debug)]
struct Subscription {
    selector: Selector,
    /// The series it matches.
    series: HashSet<SeriesId>,
}

#[derive(Debug)]
struct Client {
    outbox: Arc<Outbox>,
    subscriptions: HashMap<String, Subscription>,
}

/// Where the samples of one series go.
#[derive(Debug, Clone)]
struct Route {
    client: ClientId,
    outbox: Arc<Outbox>,
    subscription: Arc<str>,
}

/// A subscription the hub refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscribeError {
    /// The client holds the most it may.
    #[error("a client may hold at most {0} subscriptions; unsubscribe one first")]
    TooMany(usize),
    /// No such client (it has gone).
    #[error("the client has disconnected")]
    NoClient,
}

/// The store and every client's subscriptions.
#[derive(Debug)]
pub struct Hub {
    config: Config,
    store: Store,
    clients: HashMap<ClientId, Client>,
    next_client: ClientId,
    /// For each series (by id), the subscriptions that receive it.
    routes: Vec<Vec<Route>>,
}

impl Hub {
    /// A hub over `store`.
    pub fn new(store: Store, config: Config) -> Self {
        let routes = vec![Vec::new(); store.len()];
        Self {
            config,
            store,
            clients: HashMap::new(),
            next_client: 1,
            routes,
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// How many clients are connected.
    pub fn clients(&self) -> usize {
        self.clients.len()
    }

    /// Registers a client; returns its id and the outbox its writer empties.
    pub fn connect(&mut self) -> (ClientId, Arc<Outbox>) {
        let id = self.next_client;
        self.next_client += 1;
        let outbox = Arc::new(Outbox::new(self.config.hard_cap));
        self.clients.insert(
            id,
            Client {
                outbox: Arc::clone(&outbox),
                subscriptions: HashMap::new(),
            },
        );
        (id, outbox)
    }

    /// Forgets a client and every subscription it held.
    pub fn disconnect(&mut self, client: ClientId) {
        // region: solution
        if let Some(gone) = self.clients.remove(&client) {
            for subscription in gone.subscriptions.values() {
                self.unroute(client, None, subscription);
            }
        }
        // region: stub
        // todo!("Stage 3: forget the client and remove its routes (chapter B, section \"Stage 3: Subscribe in order\")")
        // endregion
    }

    /// Every client's outbox (to send alerts to the watchers, or close all).
    pub fn outboxes(&self) -> impl Iterator<Item = &Arc<Outbox>> {
        self.clients.values().map(|client| &client.outbox)
    }

    fn unroute(&mut self, client: ClientId, id: Option<&str>, subscription: &Subscription) {
        // region: solution
        for &series in &subscription.series {
            if let Some(routes) = self.routes.get_mut(series as usize) {
                routes.retain(|route| {
                    route.client != client || id.is_some_and(|id| *route.subscription != *id)
                });
            }
        }
        // region: stub
        // todo!("Stage 3: remove the client's routes from every series the subscription matches (chapter B, section \"Stage 3: Subscribe in order\")")
        // endregion
    }

    /// Starts subscription `id` of `client` (replacing one of the same id):
    /// `subscribed`, the matching series, the stored samples at or after
    /// `since`, then every live sample.
    pub fn subscribe(
        &mut self,
        client: ClientId,
        id: &str,
        selector: Selector,
        since: Option<Millis>,
        policy: Policy,
        now: Millis,
    ) -> Result<(), SubscribeError> {
        // region: solution
        let Some(entry) = self.clients.get_mut(&client) else {
            return Err(SubscribeError::NoClient);
        };
        let old = entry.subscriptions.remove(id);
        if old.is_none() && entry.subscriptions.len() >= self.config.max_subscriptions {
            return Err(SubscribeError::TooMany(self.config.max_subscriptions));
        }
        let outbox = Arc::clone(&entry.outbox);
        if let Some(old) = &old {
            self.unroute(client, Some(id), old);
        }
        let matched: Vec<(SeriesId, SeriesInfo)> = self
            .store
            .select(&selector)
            .map(|(series, key)| (series, SeriesInfo::new(series, key)))
            .collect();
        let mut backfill = VecDeque::new();
        if let Some(since) = since {
            let mut points: Vec<Point> = matched
                .iter()
                .flat_map(|(series, _)| {
                    self.store
                        .since(*series, since, now)
                        .into_iter()
                        .map(|sample| (*series, sample.t, sample.v))
                })
                .collect();
            points.sort_by_key(|&(series, t, _)| (t, series));
            backfill.extend(points.chunks(BACKFILL_CHUNK).map(<[Point]>::to_vec));
        }
        let subscription: Arc<str> = Arc::from(id);
        for (series, _) in &matched {
            self.routes[*series as usize].push(Route {
                client,
                outbox: Arc::clone(&outbox),
                subscription: Arc::clone(&subscription),
            });
        }
        outbox.open(id, policy, backfill);
        for (_, info) in &matched {
            outbox.announce(id, info.clone());
        }
        let series = matched.into_iter().map(|(series, _)| series).collect();
        if let Some(entry) = self.clients.get_mut(&client) {
            entry
                .subscriptions
                .insert(id.to_owned(), Subscription { selector, series });
        }
        Ok(())
        // region: stub
        // todo!("Stage 3: match the series, take the backfill, add the routes and open the subscription in the outbox (chapter B, section \"Stage 3: Subscribe in order\")")
        // endregion
    }

    /// Stops subscription `id`; `false` if there was none.
    pub fn unsubscribe(&mut self, client: ClientId, id: &str) -> bool {
        // region: solution
        let Some(entry) = self.clients.get_mut(&client) else {
            return false;
        };
        let Some(subscription) = entry.subscriptions.remove(id) else {
            return false;
        };
        let outbox = Arc::clone(&entry.outbox);
        self.unroute(client, Some(id), &subscription);
        outbox.shut(id);
        true
        // region: stub
        // todo!("Stage 4: remove the subscription's routes, then shut it in the outbox (chapter B, section \"Stage 4: Multiplex and unsubscribe\")")
        // endregion
    }

    /// Stores a sample and hands it to every subscription of its series.
    pub fn ingest(
        &mut self,
        key: &SeriesKey,
        sample: Sample,
        now: Millis,
    ) -> Result<(), IngestError> {
        // region: solution
        self.store.admits(sample, now)?;
        let (series, new) = self.store.intern(key)?;
        if new {
            self.routes.push(Vec::new());
            let info = SeriesInfo::new(series, key);
            for (&client, entry) in &mut self.clients {
                for (id, subscription) in &mut entry.subscriptions {
                    if subscription.selector.matches(key) {
                        subscription.series.insert(series);
                        entry.outbox.announce(id, info.clone());
                        self.routes[series as usize].push(Route {
                            client,
                            outbox: Arc::clone(&entry.outbox),
                            subscription: Arc::from(id.as_str()),
                        });
                    }
                }
            }
        }
        self.store.insert(series, sample, now)?;
        for route in &self.routes[series as usize] {
            route
                .outbox
                .push(&route.subscription, (series, sample.t, sample.v));
        }
        Ok(())
        // region: stub
        // todo!("Stage 3: intern the series (a new one gets the routes of the subscriptions it matches), store the sample, push it to every route (chapter B, section \"Stage 3: Subscribe in order\")")
        // endregion
    }
}

// region: solution
#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Retention;

    fn hub(hard_cap: usize) -> Hub {
        Hub::new(
            Store::new(Retention::default()),
            Config {
                hard_cap,
                ..Config::default()
            },
        )
    }

    fn data(batch: &Batch) -> Vec<(u64, Vec<Point>, u64)> {
        batch
            .messages
            .iter()
            .filter_map(|message| match message {
                ServerMessage::Data {
                    seq,
                    points,
                    dropped,
                    ..
                } => Some((*seq, points.clone(), *dropped)),
                _ => None,
            })
            .collect()
    }

    fn key(host: &str) -> SeriesKey {
        SeriesKey::new("cpu", [("host", host)])
    }

    #[test]
    fn latest_keeps_one_point_per_series_and_counts_the_rest() -> Result<(), IngestError> {
        let mut hub = hub(10);
        let (client, outbox) = hub.connect();
        let selector = Selector::parse("cpu").expect("a selector");
        hub.subscribe(client, "s", selector, None, Policy::default(), 0)
            .expect("subscribed");
        for t in 0..100 {
            hub.ingest(&key("a"), Sample { t, v: t as f64 }, 100)?;
        }
        let batch = outbox.take(Instant::now());
        assert_eq!(data(&batch), vec![(1, vec![(0, 99, 99.0)], 99)]);
        Ok(())
    }

    #[test]
    fn all_mode_past_the_cap_closes_the_client() -> Result<(), IngestError> {
        let mut hub = hub(10);
        let (client, outbox) = hub.connect();
        let policy = Policy {
            mode: Mode::All,
            max_hz: None,
        };
        hub.subscribe(client, "s", Selector::default(), None, policy, 0)
            .expect("subscribed");
        for t in 0..10 {
            hub.ingest(&key("a"), Sample { t, v: 1.0 }, 100)?;
        }
        assert!(outbox.closing().borrow().is_none());
        hub.ingest(&key("a"), Sample { t: 10, v: 1.0 }, 100)?;
        let close = outbox.closing().borrow().clone();
        assert_eq!(close.map(|close| close.code), Some(CLOSE_TOO_SLOW));
        Ok(())
    }

    #[test]
    fn backfill_then_live_has_no_gap_and_no_duplicate() -> Result<(), IngestError> {
        let mut hub = hub(1_000);
        for second in 0..5 {
            hub.ingest(
                &key("a"),
                Sample {
                    t: second * 1_000,
                    v: 1.0,
                },
                10_000,
            )?;
        }
        let (client, outbox) = hub.connect();
        let policy = Policy {
            mode: Mode::All,
            max_hz: None,
        };
        hub.subscribe(
            client,
            "s",
            Selector::default(),
            Some(2_000),
            policy,
            10_000,
        )
        .expect("subscribed");
        hub.ingest(&key("a"), Sample { t: 5_000, v: 1.0 }, 10_000)?;
        let times: Vec<Millis> = data(&outbox.take(Instant::now()))
            .into_iter()
            .flat_map(|(_, points, _)| points.into_iter().map(|point| point.1))
            .collect();
        assert_eq!(times, vec![2_000, 3_000, 4_000, 5_000]);
        Ok(())
    }

    #[test]
    fn a_rate_capped_subscription_waits_for_its_slot() -> Result<(), IngestError> {
        let mut hub = hub(1_000);
        let (client, outbox) = hub.connect();
        let policy = Policy {
            mode: Mode::All,
            max_hz: Some(10.0),
        };
        hub.subscribe(client, "s", Selector::default(), None, policy, 0)
            .expect("subscribed");
        let start = Instant::now();
        hub.ingest(&key("a"), Sample { t: 1, v: 1.0 }, 10)?;
        assert_eq!(data(&outbox.take(start)).len(), 1);
        hub.ingest(&key("a"), Sample { t: 2, v: 1.0 }, 10)?;
        hub.ingest(&key("a"), Sample { t: 3, v: 1.0 }, 10)?;
        let early = outbox.take(start + Duration::from_millis(50));
        assert!(data(&early).is_empty());
        assert_eq!(early.wake_at, Some(start + Duration::from_millis(100)));
        let on_time = outbox.take(start + Duration::from_millis(100));
        assert_eq!(data(&on_time), vec![(2, vec![(0, 2, 1.0), (0, 3, 1.0)], 0)]);
        Ok(())
    }
}
// endregion
