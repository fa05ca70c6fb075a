//! The dashboard's server: HTTP, the WebSocket, the collectors.
//!
//! ```text
//!  sources ──tick──┐
//!  POST /api/ingest ┼──▶ Hub (one lock) ──▶ Store (raw + minute tiers)
//!                   │         │
//!                   │         └──▶ Outbox per client ──▶ writer task ──▶ WebSocket
//!  GET /api/query ──┘                    (bounded, conflated, rate-capped)
//! ```
//!
//! One task accepts connections (axum), one collects from the sources,
//! evaluates the alerts and saves the rollups (`--rollups`) on the clock's
//! ticks, and each WebSocket runs a reader and a writer. The hub's lock is
//! held only for in-memory work, never across an `.await`.

mod alerting;
mod api;
mod socket;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::alerts::{PersistError, RuleError};
use crate::clock::{Clock, Millis};
use crate::hub::{self, Hub};
use crate::rollups::{self, RollupError, RollupStore};
use crate::sources::Source;
use crate::store::{MINUTE_PERIOD, Retention, Store};

/// The largest WebSocket message a client may send (a subscription or a
/// query is small); bigger ones close the connection with 1009.
pub const MAX_MESSAGE: usize = 64 * 1024;
/// The largest ingest body.
pub const MAX_INGEST: usize = 16 * 1024 * 1024;

/// How the server runs.
pub struct Config {
    /// Its clock: [`Clock::system`] in production, [`Clock::manual`] in
    /// tests (which also opens `POST /api/test/clock`).
    pub clock: Clock,
    /// How long the store keeps each tier.
    pub retention: Retention,
    /// Slow-client limits.
    pub hub: hub::Config,
    /// Sources collected every [`Config::collect_every`].
    pub sources: Vec<Box<dyn Source>>,
    /// The collection tick, on the clock.
    pub collect_every: Duration,
    /// The alert rules (TOML), reloaded when the file changes; none: no
    /// rules.
    pub rules: Option<PathBuf>,
    /// The alerts' state and history (SQLite), restored at start; none:
    /// kept in memory only.
    pub state: Option<PathBuf>,
    /// The minute tier (SQLite), saved every [`rollups::SAVE_EVERY`] and at
    /// shutdown, loaded at start; none: the history is in memory only.
    pub rollups: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            clock: Clock::system(),
            retention: Retention::default(),
            hub: hub::Config::default(),
            sources: Vec::new(),
            collect_every: Duration::from_secs(1),
            rules: None,
            state: None,
            rollups: None,
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("clock", &self.clock)
            .field("retention", &self.retention)
            .field("hub", &self.hub)
            .field("sources", &self.sources.len())
            .field("collect_every", &self.collect_every)
            .field("rules", &self.rules)
            .field("state", &self.state)
            .field("rollups", &self.rollups)
            .finish()
    }
}

/// The server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The address is taken or not ours.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The rules file is missing or refused.
    #[error("the alert rules: {0}")]
    Rules(#[source] RuleError),
    /// The alerts' database cannot be opened or read.
    #[error("the alert state in {path}: {source}", path = path.display())]
    State {
        /// The file.
        path: PathBuf,
        /// Why.
        source: PersistError,
    },
    /// The rollups database cannot be opened or read.
    #[error("the rollups in {path}: {source}", path = path.display())]
    Rollups {
        /// The file.
        path: PathBuf,
        /// Why.
        source: RollupError,
    },
}

/// What every task of the server shares.
pub(crate) struct Shared {
    hub: Mutex<Hub>,
    alerting: Mutex<alerting::Alerting>,
    /// Evaluations asked for by `POST /api/test/clock` (a count).
    evaluations_asked: std::sync::atomic::AtomicU64,
    /// Wakes the evaluation loop for such a request.
    evaluate_now: tokio::sync::Notify,
    /// The count of requests covered by the latest finished evaluation.
    evaluated: watch::Sender<u64>,
    /// Where the minute tier is saved (none: not saved).
    rollups: Option<Mutex<RollupStore>>,
    /// The minutes (their starts) that samples changed since the last save
    /// of the rollups. At most one per minute of the minute tier's
    /// retention: only stored samples are counted.
    unsaved: Mutex<BTreeSet<Millis>>,
    pub(crate) clock: Clock,
    pub(crate) stop: watch::Receiver<bool>,
    /// Every task holds a clone; `shutdown` waits until all are dropped.
    alive: mpsc::Sender<()>,
}

impl Shared {
    /// The hub, locked. Never hold the guard across an `.await`.
    pub(crate) fn hub(&self) -> MutexGuard<'_, Hub> {
        // Every hub operation leaves it consistent between statements that
        // could panic, so a poisoned lock is still usable.
        self.hub
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn alive(&self) -> mpsc::Sender<()> {
        self.alive.clone()
    }

    /// Records that samples at `times` were stored: their minutes are
    /// saved with the next rollups.
    pub(crate) fn stored(&self, times: impl IntoIterator<Item = Millis>) {
        if self.rollups.is_some() {
            self.unsaved_minutes().extend(
                times
                    .into_iter()
                    .map(|t| t.div_euclid(MINUTE_PERIOD) * MINUTE_PERIOD),
            );
        }
    }

    fn unsaved_minutes(&self) -> MutexGuard<'_, BTreeSet<Millis>> {
        // An insert into a set cannot leave it half-changed.
        self.unsaved
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Resolves when the stop signal is set (or its sender is gone).
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// A running dashboard server.
pub struct Server {
    address: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    serve: JoinHandle<()>,
    ticks: JoinHandle<()>,
    alive: mpsc::Receiver<()>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Serves on `address` (port 0: any free port).
    pub async fn start(address: SocketAddr, config: Config) -> Result<Self, ServerError> {
        let listener = TcpListener::bind(address)
            .await
            .map_err(|source| ServerError::Bind { address, source })?;
        let address = listener
            .local_addr()
            .map_err(|source| ServerError::Bind { address, source })?;
        let (stop, stop_signal) = watch::channel(false);
        let (alive, alive_receiver) = mpsc::channel(1);
        let Config {
            clock,
            retention,
            hub: limits,
            sources,
            collect_every,
            rules,
            state,
            rollups,
        } = config;
        let now = clock.now();
        let (alerts, (store, rollups)) = tokio::task::spawn_blocking(move || {
            Ok::<_, ServerError>((
                alerting::Alerting::open(rules, state)?,
                open_rollups(rollups, retention, now)?,
            ))
        })
        .await
        .map_err(|_| ServerError::Bind {
            address,
            source: std::io::Error::other("the runtime is shutting down"),
        })??;
        let shared = Arc::new(Shared {
            hub: Mutex::new(Hub::new(store, limits)),
            alerting: Mutex::new(alerts),
            rollups: rollups.map(Mutex::new),
            unsaved: Mutex::new(BTreeSet::new()),
            evaluations_asked: std::sync::atomic::AtomicU64::new(0),
            evaluate_now: tokio::sync::Notify::new(),
            evaluated: watch::Sender::new(0),
            clock,
            stop: stop_signal.clone(),
            alive,
        });
        let ticks = {
            let (shared, alive) = (Arc::clone(&shared), shared.alive());
            tokio::spawn(async move {
                ticks(&shared, sources, collect_every).await;
                alerting::Alerting::close(&shared).await;
                drop(alive);
            })
        };
        let router = api::router(Arc::clone(&shared));
        let mut on_stop = stop_signal;
        let serve = tokio::spawn(async move {
            let shutdown = async move { stopped(&mut on_stop).await };
            // Small frames go out at once rather than waiting for the
            // client's delayed acknowledgement (Nagle's algorithm).
            let listener = axum::serve::ListenerExt::tap_io(listener, |stream| {
                if let Err(error) = stream.set_nodelay(true) {
                    tracing::debug!(%error, "TCP_NODELAY could not be set");
                }
            });
            if let Err(error) = axum::serve(listener, router)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!(%error, "the HTTP server stopped");
            }
        });
        Ok(Self {
            address,
            shared,
            stop,
            serve,
            ticks,
            alive: alive_receiver,
        })
    }

    /// Where it listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// `http://ADDRESS`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// `ws://ADDRESS/ws`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.address)
    }

    /// The server's clock (a test moves a manual one).
    pub fn clock(&self) -> &Clock {
        &self.shared.clock
    }

    /// How many WebSocket clients are connected.
    pub fn clients(&self) -> usize {
        self.shared.hub().clients()
    }

    /// Stops accepting, closes every WebSocket with 1001 (going away), saves
    /// the rollups a last time, and returns when every task of the server
    /// has ended.
    pub async fn shutdown(self) {
        let Server {
            shared,
            stop,
            serve,
            ticks,
            mut alive,
            ..
        } = self;
        stop.send_replace(true);
        let _ = serve.await;
        let _ = ticks.await;
        // No request and no source can store a sample any more.
        let now = shared.clock.now();
        save_rollups(&shared, now).await;
        drop(shared);
        // `recv` returns `None` once every task's sender is dropped.
        while alive.recv().await.is_some() {}
    }
}

/// The clock's ticks, until the server stops: the sources are collected
/// every `collect_every` and the alerts evaluated every evaluation
/// interval. On a manual clock every move of the clock is a tick (the
/// alerts are evaluated at that very time, the sources collected when a
/// collection is due), and `POST /api/test/clock` asks for one at once and
/// answers when it is done: a test reads the state *at* the time it set.
async fn ticks(shared: &Arc<Shared>, mut sources: Vec<Box<dyn Source>>, collect_every: Duration) {
    let every = (collect_every.as_millis() as Millis).max(1);
    let manual = shared.clock.is_manual();
    let mut stop = shared.stop.clone();
    let mut next_collect = shared.clock.now();
    let mut last_evaluation: Option<Millis> = None;
    let mut last_save = shared.clock.now();
    loop {
        let next_evaluation = match last_evaluation {
            None => shared.clock.now(),
            Some(last) if manual => last + 1,
            Some(last) => last + alerting::interval(shared),
        };
        let next = if sources.is_empty() {
            next_evaluation
        } else {
            next_evaluation.min(next_collect)
        };
        tokio::select! {
            () = shared.clock.sleep_until(next) => {}
            () = shared.evaluate_now.notified() => {}
            () = stopped(&mut stop) => return,
        }
        // Every request made before this load is answered by this tick,
        // which starts after it.
        let asked = shared.evaluations_asked.load(Ordering::SeqCst);
        let now = shared.clock.now();
        if !sources.is_empty() && now >= next_collect {
            collect(shared, &mut sources, now);
            // After a long pause (a manual clock moved by an hour), the
            // next collection is the next one after now, not every missed
            // one.
            next_collect = (now / every + 1) * every;
        }
        if manual || now >= next_evaluation {
            alerting::evaluate(shared, now).await;
            last_evaluation = Some(now);
        }
        if now >= last_save + rollups::SAVE_EVERY {
            save_rollups(shared, now).await;
            last_save = now;
        }
        shared.evaluated.send_replace(asked);
    }
}

/// Collects every source at `now` and stores what they return.
fn collect(shared: &Shared, sources: &mut [Box<dyn Source>], now: Millis) {
    let samples: Vec<_> = sources
        .iter_mut()
        .flat_map(|source| source.collect(now))
        .collect();
    let mut hub = shared.hub();
    let mut stored = false;
    for (key, value) in samples {
        let sample = crate::store::Sample { t: now, v: value };
        match hub.ingest(&key, sample, now) {
            Ok(()) => stored = true,
            Err(error) => tracing::warn!(%key, %error, "a source's sample was refused"),
        }
    }
    if stored {
        shared.stored([now]);
    }
}

/// Opens the rollups file (if any) and loads it into a new store.
fn open_rollups(
    path: Option<PathBuf>,
    retention: Retention,
    now: Millis,
) -> Result<(Store, Option<RollupStore>), ServerError> {
    let mut store = Store::new(retention);
    let Some(path) = path else {
        return Ok((store, None));
    };
    let rollups = RollupStore::open(&path)
        .and_then(|mut rollups| {
            rollups.load(&mut store, now)?;
            Ok(rollups)
        })
        .map_err(|source| ServerError::Rollups { path, source })?;
    tracing::info!(
        series = store.len(),
        buckets = store.buckets().1,
        "the minute tier is restored"
    );
    Ok((store, Some(rollups)))
}

/// Saves the minute buckets of the minutes that samples changed since the
/// last save, on a blocking thread. On failure the minutes stay marked,
/// for the next save.
async fn save_rollups(shared: &Arc<Shared>, now: Millis) {
    if shared.rollups.is_none() {
        return;
    }
    // Taken before the store is read: a sample stored after this marks
    // its minute again, for the next save.
    let minutes = std::mem::take(&mut *shared.unsaved_minutes());
    if minutes.is_empty() {
        return;
    }
    let worker = Arc::clone(shared);
    let marked = minutes.clone();
    let saved = tokio::task::spawn_blocking(move || {
        let (buckets, oldest) = {
            let hub = worker.hub();
            let store = hub.store();
            let buckets: Vec<_> = marked
                .iter()
                .flat_map(|&minute| store.minute_buckets(minute..=minute))
                .collect();
            (buckets, store.minute_oldest(now))
        };
        match &worker.rollups {
            Some(rollups) => rollups
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .save(&buckets, oldest),
            None => Ok(()),
        }
    })
    .await;
    let failed = match saved {
        Ok(Ok(())) => return,
        Ok(Err(error)) => error.to_string(),
        Err(error) => error.to_string(),
    };
    tracing::error!(
        error = failed,
        "the rollups could not be saved; retried at the next save"
    );
    shared.unsaved_minutes().extend(minutes);
}
