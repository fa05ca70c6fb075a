//! [`TestServer`], the handle a test or the grader holds.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

use crate::accept::accept_loop;
use crate::config::{Config, SHUTDOWN_GRACE};
use crate::http::router;
use crate::records::{ConnectionRecord, Stats};
use crate::state::{Shared, lock};

/// How long `shutdown` waits for aborted tasks to be dropped. Aborting is
/// immediate; this only guards against a runtime that no longer polls.
const ABORT_WAIT: Duration = Duration::from_secs(1);

/// A running test server. Dropping it stops it (abruptly); call
/// [`shutdown`](TestServer::shutdown) for a graceful stop.
pub struct TestServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
}

/// [`TestServer::wait_until`]'s condition did not become true in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitTimeout;

impl fmt::Display for WaitTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("condition not met within the time limit given to wait_until")
    }
}

impl std::error::Error for WaitTimeout {}

/// A read-only view of a server's state that outlives the [`TestServer`]:
/// to check what happened after `shutdown().await` or a drop.
#[derive(Clone)]
pub struct ServerProbe {
    shared: Arc<Shared>,
}

impl ServerProbe {
    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// A snapshot of the WebSocket connections, in order of opening.
    pub fn connections(&self) -> Vec<ConnectionRecord> {
        self.shared.connection_records()
    }

    /// Tasks of the server still running (0 once it is fully stopped).
    pub fn live_tasks(&self) -> usize {
        self.shared.tasks.live()
    }

    /// Waits until no task of the server is left; `false` after `limit`.
    pub async fn wait_stopped(&self, limit: Duration) -> bool {
        self.shared.tasks.wait_idle(limit).await
    }
}

impl fmt::Debug for TestServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestServer")
            .field("addr", &self.addr)
            .finish()
    }
}

impl TestServer {
    /// Starts a server with [`Config::default()`] on a free loopback port.
    pub async fn start() -> std::io::Result<TestServer> {
        Self::start_with(Config::default()).await
    }

    /// Starts a server with `config`.
    pub async fn start_with(config: Config) -> std::io::Result<TestServer> {
        let listener = TcpListener::bind(config.addr).await?;
        let addr = listener.local_addr()?;
        let shared = Shared::new(config);
        let app = router(Arc::clone(&shared));
        shared
            .tasks
            .spawn(accept_loop(listener, Arc::clone(&shared), app));
        tracing::info!(%addr, "testkit server listening");
        Ok(TestServer { shared, addr })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ws_url("/ws?delay_ms=5")` is `"ws://127.0.0.1:PORT/ws?delay_ms=5"`.
    pub fn ws_url(&self, path_and_query: &str) -> String {
        let slash = if path_and_query.starts_with('/') {
            ""
        } else {
            "/"
        };
        format!("ws://{}{slash}{path_and_query}", self.addr)
    }

    /// `http_url("/api/v1/errors")` is `"http://127.0.0.1:PORT/api/v1/errors"`.
    pub fn http_url(&self, path: &str) -> String {
        let slash = if path.starts_with('/') { "" } else { "/" };
        format!("http://{}{slash}{path}", self.addr)
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// A snapshot of the WebSocket connections, in order of opening.
    pub fn connections(&self) -> Vec<ConnectionRecord> {
        self.shared.connection_records()
    }

    /// The bodies POSTed to `/api/v1/errors`, in order.
    pub fn error_reports(&self) -> Vec<serde_json::Value> {
        lock(&self.shared.error_reports).clone()
    }

    /// Changes the link while connections are open: from the next message
    /// on, every echo (`/ws`, `/ws/auth`) on every connection, open or
    /// future, waits `delay` instead of its own `delay_ms`; `None` gives each
    /// connection its own option back. Echoes already waiting keep their
    /// time, and echoes never overtake each other.
    pub fn set_delay(&self, delay: Option<Duration>) {
        self.shared.set_delay_override(delay);
    }

    /// Publishes `text` on `topic` of `/ws/topics`, as a client's
    /// `publish <topic> <text>` does: every connection subscribed to `topic`
    /// receives `"<topic> <text>"`.
    pub fn publish(&self, topic: &str, text: &str) {
        // Err only when no connection listens: nobody to deliver to.
        let _ = self
            .shared
            .topics
            .send(Message::text(format!("{topic} {text}")));
    }

    /// A view of the server's state that stays readable after shutdown.
    pub fn probe(&self) -> ServerProbe {
        ServerProbe {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Waits until `condition(self)` is true, re-checking every time the
    /// server's recorded state changes (no polling). `Err` after `limit`.
    pub async fn wait_until(
        &self,
        limit: Duration,
        mut condition: impl FnMut(&TestServer) -> bool,
    ) -> Result<(), WaitTimeout> {
        let mut waiter = self.shared.waiter();
        let changes = &mut waiter.changes;
        let wait = async {
            loop {
                changes.borrow_and_update();
                if condition(self) {
                    return;
                }
                if changes.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::time::timeout(limit, wait)
            .await
            .map_err(|_| WaitTimeout)
    }

    /// Graceful stop: stop accepting, send Close(1001, "server shutting
    /// down") to every open WebSocket, wait (at most `SHUTDOWN_GRACE`) for
    /// them to end, then stop every task. Returns when no task is left.
    pub async fn shutdown(self) {
        self.shared.shutdown.send_replace(true);
        if !self.shared.tasks.wait_idle(SHUTDOWN_GRACE).await {
            tracing::warn!("tasks still running after the grace period; aborting them");
        }
        self.shared.tasks.close_and_abort();
        if !self.shared.tasks.wait_idle(ABORT_WAIT).await {
            tracing::error!("aborted tasks did not stop");
        }
    }
}

impl Drop for TestServer {
    /// Stops accepting and aborts every task of the server.
    fn drop(&mut self) {
        self.shared.shutdown.send_replace(true);
        self.shared.tasks.close_and_abort();
    }
}
