//! Every task the server spawns goes through [`Tasks`], so that shutdown and
//! `Drop` can stop all of them and tell when none is left.
//!
//! A dropped `JoinHandle` detaches its task (the "orphaned tasks" lesson);
//! here each task carries a guard that counts it as live until its future is
//! dropped (finished or aborted), and its `AbortHandle` is kept for `Drop`.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::AbortHandle;

/// The server's task set.
pub(crate) struct Tasks {
    list: Mutex<TaskList>,
    live: watch::Sender<usize>,
}

struct TaskList {
    handles: Vec<AbortHandle>,
    closed: bool,
}

/// Counts one task as live until dropped together with the task's future.
struct LiveGuard(Arc<Tasks>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.live.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl Tasks {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Tasks {
            list: Mutex::new(TaskList {
                handles: Vec::new(),
                closed: false,
            }),
            live: watch::Sender::new(0),
        })
    }

    /// Spawns `future` as a tracked task; `false` (and nothing spawned) once
    /// the set is closed by shutdown or `Drop`.
    pub(crate) fn spawn<F>(self: &Arc<Self>, future: F) -> bool
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let mut list = self.list.lock().unwrap_or_else(PoisonError::into_inner);
        if list.closed {
            return false;
        }
        list.handles.retain(|handle| !handle.is_finished());
        self.live.send_modify(|n| *n += 1);
        let guard = LiveGuard(Arc::clone(self));
        let handle = tokio::spawn(async move {
            let _guard = guard;
            future.await;
        });
        list.handles.push(handle.abort_handle());
        true
    }

    /// Tasks whose future has not been dropped yet.
    pub(crate) fn live(&self) -> usize {
        *self.live.borrow()
    }

    /// Refuses new tasks and aborts every running one.
    pub(crate) fn close_and_abort(&self) {
        let mut list = self.list.lock().unwrap_or_else(PoisonError::into_inner);
        list.closed = true;
        for handle in list.handles.drain(..) {
            handle.abort();
        }
    }

    /// Waits until no task is live; `false` if `limit` passed first.
    pub(crate) async fn wait_idle(&self, limit: Duration) -> bool {
        let mut live = self.live.subscribe();
        tokio::time::timeout(limit, live.wait_for(|n| *n == 0))
            .await
            .is_ok()
    }
}
