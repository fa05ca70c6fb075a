//! The state shared by the accept loop, the HTTP routes, every WebSocket task
//! and the [`TestServer`](crate::TestServer) handle.
//!
//! Counters are atomics and each connection has its own small lock, so the
//! echo path never contends on one global lock (the benchmark's lesson).
//! Every change bumps the `changed` watch channel, which is what
//! `TestServer::wait_until` waits on instead of polling.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
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
    /// while `Some`.
    pub(crate) delay_override: Mutex<Option<Duration>>,
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
            shutdown: watch::Sender::new(false),
            rooms: Mutex::new(HashMap::new()),
            tasks: Tasks::new(),
            record_budget: AtomicUsize::new(RECORD_BUDGET_BYTES),
            delay_override: Mutex::new(None),
        })
    }

    /// Tells every `wait_until` that something changed.
    pub(crate) fn bump(&self) {
        self.changed
            .send_modify(|version| *version = version.wrapping_add(1));
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
