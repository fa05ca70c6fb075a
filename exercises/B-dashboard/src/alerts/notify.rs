//! The webhook: each [`Notification`] POSTed as JSON by a task of its own.
//!
//! The engine must never wait for the network: a receiver that hangs would
//! otherwise stop evaluation, and with it every other alert. So
//! [`Notifier::send`] only puts the notification in a bounded queue and
//! returns; a task delivers. When the queue is full the *oldest* entry is
//! dropped with a warning: a newer notification of the same group says more
//! than an older one, and the repeat interval resends what still fires.
//!
//! The client is a minimal HTTP/1.1 one on a plain `TcpStream` (the course
//! has no HTTP client dependency, and a POST with `Connection: close` is a
//! dozen lines): it writes the request, reads the status line, and treats
//! `2xx` as delivered. Every network wait is under
//! [`NotifierConfig::timeout`]; a failure is retried with a doubling backoff,
//! except a `4xx` (the receiver refuses this message; sending it again will
//! not change its mind).

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio::time::timeout;

use super::Notification;

/// The longest status line read (8 KiB, the usual header line limit).
const MAX_STATUS_LINE: u64 = 8 * 1024;

/// A webhook address: `http://host[:port][/path]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    /// The host name or address (an IPv6 address without brackets).
    pub host: String,
    /// The port (80 when not written).
    pub port: u16,
    /// The path with its query, starting with `/`.
    pub path: String,
}

/// Why a webhook address is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{url:?} is not a webhook address this client can use: {problem} (expected http://host:port/path)"
)]
pub struct UrlError {
    url: String,
    problem: &'static str,
}

impl WebhookUrl {
    /// Parses `http://host[:port][/path]`; `https://` is refused: this
    /// minimal client speaks plain HTTP (put a TLS-terminating relay in
    /// front of a remote receiver).
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        let fail = |problem| UrlError {
            url: url.to_owned(),
            problem,
        };
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| fail("only http:// is supported (no TLS in this client)"))?;
        let (authority, path) = match rest.find(['/', '?']) {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, "/"),
        };
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_owned()
        };
        if authority.contains('@') {
            return Err(fail(
                "user names and passwords in the address are not supported",
            ));
        }
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            let (host, after) = bracketed
                .split_once(']')
                .ok_or_else(|| fail("the IPv6 address' `]` is missing"))?;
            (host, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(fail("the host is missing"));
        }
        let port = match port {
            None => 80,
            Some(port) => port
                .parse::<u16>()
                .ok()
                .filter(|port| *port > 0)
                .ok_or_else(|| fail("the port is not a number from 1 to 65535"))?,
        };
        if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(fail("the path has spaces or control characters"));
        }
        Ok(Self {
            host: host.to_owned(),
            port,
            path,
        })
    }

    fn host_header(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}{}", self.host_header(), self.path)
    }
}

/// Why one delivery attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// Connecting, writing or reading failed.
    #[error("the webhook connection failed: {0}")]
    Io(#[from] std::io::Error),
    /// A network wait took longer than the timeout.
    #[error("the webhook did not answer in time ({0})")]
    Timeout(&'static str),
    /// The answer is not HTTP.
    #[error("the webhook's answer is not an HTTP status line: {0:?}")]
    BadResponse(String),
    /// The receiver answered with a status other than 2xx.
    #[error("the webhook answered {0}")]
    Status(u16),
}

impl DeliveryError {
    /// Can trying again help? Not after a 4xx other than 408 and 429.
    fn is_retryable(&self) -> bool {
        match self {
            DeliveryError::Status(status) => {
                !(400..500).contains(status) || [408, 429].contains(status)
            }
            _ => true,
        }
    }
}

/// The notifier's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotifierConfig {
    /// Every network wait (connect, write, read): 5 s by default, long
    /// enough for a busy receiver, short enough that a dead one is noticed
    /// within an evaluation's minute.
    pub timeout: Duration,
    /// Attempts per notification (4: the first and three retries).
    pub attempts: u32,
    /// The first retry's delay, doubled each time (1 s, 2 s, 4 s).
    pub first_backoff: Duration,
    /// Queued notifications at most (256: several evaluations' worth of
    /// every group changing at once).
    pub queue_capacity: usize,
    /// After shutdown, how long the task may still try to deliver what is
    /// queued (one attempt each): 10 s.
    pub shutdown_grace: Duration,
}

impl Default for NotifierConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            attempts: 4,
            first_backoff: Duration::from_secs(1),
            queue_capacity: 256,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

#[derive(Debug)]
struct Shared {
    queue: Mutex<VecDeque<Notification>>,
    wake: Notify,
}

/// The sending side: cheap to call, never blocks. Dropping it (or
/// [`Notifier::shutdown`]) ends the task after a bounded last attempt.
#[derive(Debug)]
pub struct Notifier {
    shared: Arc<Shared>,
    capacity: usize,
    /// Dropped with the notifier: the task sees the channel close.
    _open: watch::Sender<()>,
}

impl Notifier {
    /// Starts the delivery task for `url`.
    pub fn spawn(url: WebhookUrl, config: NotifierConfig) -> (Self, JoinHandle<()>) {
        let shared = Arc::new(Shared {
            queue: Mutex::new(VecDeque::new()),
            wake: Notify::new(),
        });
        let (open, closed) = watch::channel(());
        let task = tokio::spawn(deliver_all(url, config, Arc::clone(&shared), closed));
        let notifier = Self {
            shared,
            capacity: config.queue_capacity.max(1),
            _open: open,
        };
        (notifier, task)
    }

    /// Queues a notification; when the queue is full, the oldest queued one
    /// is dropped (and logged).
    pub fn send(&self, notification: Notification) {
        {
            let mut queue = self
                .shared
                .queue
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if queue.len() >= self.capacity
                && let Some(dropped) = queue.pop_front()
            {
                tracing::warn!(
                    group = ?dropped.group,
                    at = dropped.at,
                    "the webhook queue is full ({} notifications); dropped the oldest",
                    self.capacity
                );
            }
            queue.push_back(notification);
        }
        self.shared.wake.notify_one();
    }

    /// Stops the task: it tries what is queued once more, within the
    /// shutdown grace, then ends. Await the `JoinHandle` to wait for it.
    pub fn shutdown(self) {}
}

async fn deliver_all(
    url: WebhookUrl,
    config: NotifierConfig,
    shared: Arc<Shared>,
    mut closed: watch::Receiver<()>,
) {
    let pop = || {
        shared
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front()
    };
    loop {
        if let Some(notification) = pop() {
            deliver(&url, &config, &notification, &mut closed).await;
            continue;
        }
        tokio::select! {
            () = shared.wake.notified() => {}
            _ = closed.changed() => break,
        }
    }
    // Shut down: one attempt each for what is left, within the grace.
    let drain = async {
        while let Some(notification) = pop() {
            if let Err(error) = post(&url, &config, &notification).await {
                tracing::warn!(%url, %error, "shutting down: a notification was not delivered");
            }
        }
    };
    if timeout(config.shutdown_grace, drain).await.is_err() {
        tracing::warn!(%url, "shutting down: gave up on the queued notifications");
    }
}

/// Delivers one notification with retries; stops retrying at shutdown.
async fn deliver(
    url: &WebhookUrl,
    config: &NotifierConfig,
    notification: &Notification,
    closed: &mut watch::Receiver<()>,
) {
    todo!(
        "Stage 13: post the notification, retrying a failure that is_retryable after first_backoff, doubled each time, up to config.attempts, and no more once closed changes (chapter B, section \"Stage 13: Grouping and repeat\")"
    )
}

/// One POST; `Ok` on a 2xx.
async fn post(
    url: &WebhookUrl,
    config: &NotifierConfig,
    notification: &Notification,
) -> Result<(), DeliveryError> {
    todo!(
        "Stage 13: POST the notification as JSON with HTTP/1.1 (Host, Content-Type, Content-Length, Connection: close) on a TcpStream, each wait under config.timeout; Ok on a 2xx status line (chapter B, section \"Stage 13: Grouping and repeat\")"
    )
}
