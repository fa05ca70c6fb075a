//! The state shared by the accept loop, the HTTP routes, every WebSocket task
//! and the [`TestServer`](crate::TestServer) handle.
//!
//! Counters are atomics and each connection has its own small lock, so the
//! echo path never contends on one global lock (the benchmark's lesson).
//! Every change bumps the `changed` watch channel, which is what
//! `TestServer::wait_until` waits on instead of polling; while nobody waits,
//! a bump is a fence and a load (see [`Shared::bump`]).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering, fence};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{Semaphore, broadcast, watch};
use tokio_tungstenite::tungstenite::Message;

use crate::config::{
    Config, MAX_CONNECTION_RECORDS, MAX_HTTP_CONNECTIONS, MAX_RECORDED_FRAMES, RECORD_BUDGET_BYTES,
};
use crate::records::{ConnectionRecord, Frame, Stats};
use crate::tasks::Tasks;

/// Locks a mutex, ignoring poisoning: the data under these locks stays
/// consistent even if a holder panicked, and a test server must not cascade.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `Shared::delay_override` when `TestServer::set_delay` set none.
const NO_DELAY_OVERRIDE: u64 = u64::MAX;

/// Counters behind [`Stats`].
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) connections_open: AtomicUsize,
    pub(crate) connections_total: AtomicUsize,
    pub(crate) frames_in: AtomicU64,
    pub(crate) frames_out: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) error_reports: AtomicUsize,
}

/// One WebSocket connection's record.
pub(crate) struct ConnSlot {
    pub(crate) record: Mutex<ConnectionRecord>,
    /// Bytes of `received`, returned to the budget when the record is evicted.
    recorded_bytes: AtomicUsize,
}

/// A broadcast room: its sender; members hold receivers.
pub(crate) type Room = broadcast::Sender<Message>;

pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) counters: Counters,
    pub(crate) connections: Mutex<VecDeque<Arc<ConnSlot>>>,
    next_connection_id: AtomicU64,
    pub(crate) error_reports: Mutex<Vec<serde_json::Value>>,
    pub(crate) changed: watch::Sender<u64>,
    /// Live [`Waiter`]s (`wait_until` calls); `bump` wakes nobody while 0.
    waiters: AtomicUsize,
    pub(crate) shutdown: watch::Sender<bool>,
    pub(crate) rooms: Mutex<HashMap<String, Room>>,
    /// `/ws/topics`: every published `"<topic> <text>"`; each connection
    /// keeps the ones it subscribed to.
    pub(crate) topics: Room,
    pub(crate) ws_permits: Arc<Semaphore>,
    pub(crate) http_permits: Arc<Semaphore>,
    pub(crate) tasks: Arc<Tasks>,
    record_budget: AtomicUsize,
    /// `TestServer::set_delay`: replaces every echo connection's `delay_ms`
    /// while set. Nanoseconds, [`NO_DELAY_OVERRIDE`] for none: an atomic,
    /// because every echo reads it.
    delay_override: AtomicU64,
}

impl Shared {
    pub(crate) fn new(config: Config) -> Arc<Self> {
        Arc::new(Shared {
            ws_permits: Arc::new(Semaphore::new(config.max_connections)),
            topics: broadcast::channel(config.room_capacity.max(1)).0,
            http_permits: Arc::new(Semaphore::new(MAX_HTTP_CONNECTIONS)),
            config,
            counters: Counters::default(),
            connections: Mutex::new(VecDeque::new()),
            next_connection_id: AtomicU64::new(1),
            error_reports: Mutex::new(Vec::new()),
            changed: watch::Sender::new(0),
            waiters: AtomicUsize::new(0),
            shutdown: watch::Sender::new(false),
            rooms: Mutex::new(HashMap::new()),
            tasks: Tasks::new(),
            record_budget: AtomicUsize::new(RECORD_BUDGET_BYTES),
            delay_override: AtomicU64::new(NO_DELAY_OVERRIDE),
        })
    }

    /// See [`TestServer::set_delay`](crate::TestServer::set_delay). A delay
    /// beyond `u64::MAX - 1` ns (584 years) is cut to that.
    pub(crate) fn set_delay_override(&self, delay: Option<Duration>) {
        let nanos = delay.map_or(NO_DELAY_OVERRIDE, |delay| {
            u64::try_from(delay.as_nanos())
                .map_or(NO_DELAY_OVERRIDE - 1, |n| n.min(NO_DELAY_OVERRIDE - 1))
        });
        self.delay_override.store(nanos, Ordering::Release);
    }

    /// The delay set by `TestServer::set_delay`, if any.
    pub(crate) fn delay_override(&self) -> Option<Duration> {
        match self.delay_override.load(Ordering::Acquire) {
            NO_DELAY_OVERRIDE => None,
            nanos => Some(Duration::from_nanos(nanos)),
        }
    }

    /// Tells every `wait_until` that something changed; called after the
    /// change. Sending on the watch channel takes its lock and every shard of
    /// its notifier, twice per echo, so it is skipped while nobody waits.
    /// The fence pairs with the one in [`Shared::waiter`] (the store-buffer
    /// pattern): either this load sees the new waiter, or the waiter's next
    /// check of its condition, after its fence, sees this change.
    pub(crate) fn bump(&self) {
        fence(Ordering::SeqCst);
        if self.waiters.load(Ordering::Relaxed) > 0 {
            self.changed
                .send_modify(|version| *version = version.wrapping_add(1));
        }
    }

    /// Registers a `wait_until`: every change after this call wakes
    /// `Waiter::changes` (check the condition after calling this).
    pub(crate) fn waiter(&self) -> Waiter<'_> {
        let changes = self.changed.subscribe();
        self.waiters.fetch_add(1, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        Waiter {
            shared: self,
            changes,
        }
    }

    pub(crate) fn reject(&self) {
        self.counters.rejected.fetch_add(1, Ordering::Relaxed);
        self.bump();
    }

    pub(crate) fn stats(&self) -> Stats {
        let c = &self.counters;
        Stats {
            connections_open: c.connections_open.load(Ordering::Relaxed),
            connections_total: c.connections_total.load(Ordering::Relaxed),
            frames_in: c.frames_in.load(Ordering::Relaxed),
            frames_out: c.frames_out.load(Ordering::Relaxed),
            rejected: c.rejected.load(Ordering::Relaxed),
            error_reports: c.error_reports.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn connection_records(&self) -> Vec<ConnectionRecord> {
        lock(&self.connections)
            .iter()
            .map(|slot| lock(&slot.record).clone())
            .collect()
    }

    /// Records a newly upgraded connection and counts it as open.
    pub(crate) fn open_connection(&self, path: String, query: String) -> Arc<ConnSlot> {
        let id = self.next_connection_id.fetch_add(1, Ordering::Relaxed);
        let slot = Arc::new(ConnSlot {
            record: Mutex::new(ConnectionRecord::new(id, path, query)),
            recorded_bytes: AtomicUsize::new(0),
        });
        {
            let mut connections = lock(&self.connections);
            if connections.len() >= MAX_CONNECTION_RECORDS {
                let finished = connections
                    .iter()
                    .position(|slot| lock(&slot.record).ending.is_some());
                if let Some(evicted) = finished.and_then(|index| connections.remove(index)) {
                    let bytes = evicted.recorded_bytes.load(Ordering::Relaxed);
                    self.record_budget.fetch_add(bytes, Ordering::Relaxed);
                }
            }
            connections.push_back(Arc::clone(&slot));
        }
        self.counters
            .connections_open
            .fetch_add(1, Ordering::Relaxed);
        self.counters
            .connections_total
            .fetch_add(1, Ordering::Relaxed);
        self.bump();
        slot
    }

    /// Records a data frame from a client (counted always, stored while the
    /// per-connection and global limits allow).
    pub(crate) fn record_in(&self, slot: &ConnSlot, message: &Message, after_close: bool) {
        self.counters.frames_in.fetch_add(1, Ordering::Relaxed);
        let size = message.len();
        let mut record = lock(&slot.record);
        if after_close {
            record.data_after_close += 1;
        }
        if record.received.len() < MAX_RECORDED_FRAMES && self.take_budget(size) {
            slot.recorded_bytes.fetch_add(size, Ordering::Relaxed);
            match message {
                Message::Text(text) => record.received.push(Frame::Text(text.as_str().to_owned())),
                Message::Binary(bytes) => record.received.push(Frame::Binary(bytes.to_vec())),
                _ => {}
            }
        }
        drop(record);
        self.bump();
    }

    fn take_budget(&self, size: usize) -> bool {
        self.record_budget
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(size)
            })
            .is_ok()
    }

    /// Counts a data frame sent to a client.
    pub(crate) fn record_out(&self, slot: &ConnSlot) {
        self.counters.frames_out.fetch_add(1, Ordering::Relaxed);
        lock(&slot.record).frames_out += 1;
        self.bump();
    }

    /// Changes a connection's record and wakes the waiters.
    pub(crate) fn update(&self, slot: &ConnSlot, change: impl FnOnce(&mut ConnectionRecord)) {
        change(&mut lock(&slot.record));
        self.bump();
    }
}

/// A `wait_until` in progress (see [`Shared::waiter`]).
pub(crate) struct Waiter<'a> {
    shared: &'a Shared,
    pub(crate) changes: watch::Receiver<u64>,
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        self.shared.waiters.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Counts a connection as open until dropped, also when its task is aborted.
pub(crate) struct OpenGuard(pub(crate) Arc<Shared>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0
            .counters
            .connections_open
            .fetch_sub(1, Ordering::Relaxed);
        self.0.bump();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bump_wakes_waiters_and_only_them() {
        let shared = Shared::new(Config::default());
        shared.bump();
        assert_eq!(*shared.changed.borrow(), 0, "nobody waits: no send");
        let mut waiter = shared.waiter();
        assert!(!waiter.changes.has_changed().expect("sender alive"));
        shared.bump();
        assert!(waiter.changes.has_changed().expect("sender alive"));
        waiter.changes.borrow_and_update();
        let second = shared.waiter();
        drop(waiter);
        shared.bump();
        assert!(second.changes.has_changed().expect("sender alive"));
        drop(second);
        let version = *shared.changed.borrow();
        shared.bump();
        assert_eq!(*shared.changed.borrow(), version, "the last waiter left");
    }

    #[test]
    fn delay_override_round_trips() {
        let shared = Shared::new(Config::default());
        assert_eq!(shared.delay_override(), None);
        for delay in [
            Duration::ZERO,
            Duration::from_nanos(1),
            Duration::from_millis(5),
        ] {
            shared.set_delay_override(Some(delay));
            assert_eq!(shared.delay_override(), Some(delay));
        }
        shared.set_delay_override(Some(Duration::MAX));
        let longest = shared
            .delay_override()
            .expect("a huge delay is still a delay");
        assert!(longest > Duration::from_secs(500 * 365 * 24 * 3600));
        shared.set_delay_override(None);
        assert_eq!(shared.delay_override(), None);
    }
}
