//! Listeners for client-side failure tests: nobody listening, and a server
//! that accepts and never answers.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Connections a [`SilentListener`] holds open; later ones are accepted and
/// dropped (a connect-timeout test needs one).
const SILENT_MAX_HELD: usize = 1024;

/// A loopback address on which nothing listens (bind 127.0.0.1:0, note the
/// port, drop the listener): connecting gets "connection refused".
pub async fn refused_addr() -> SocketAddr {
    let fallback = SocketAddr::from((Ipv4Addr::LOCALHOST, 9));
    match TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await {
        Ok(listener) => listener.local_addr().unwrap_or(fallback),
        // Port 9 (discard) is almost never served on loopback.
        Err(_) => fallback,
    }
}

/// A TCP listener on 127.0.0.1:0 that accepts connections and never answers
/// (for connect- and handshake-timeout tests). Dropping it stops it and
/// closes every connection it accepted.
pub struct SilentListener {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl SilentListener {
    /// Starts listening.
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::Relaxed);
                if held.len() < SILENT_MAX_HELD {
                    held.push(stream);
                }
            }
        });
        Ok(SilentListener {
            addr,
            accepted,
            task,
        })
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ws://127.0.0.1:PORT/ws`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::Relaxed)
    }
}

impl Drop for SilentListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `url("ws", "127.0.0.1:80", "ws")` is `"ws://127.0.0.1:80/ws"`: a leading
/// slash on the path is optional.
pub(crate) fn url(scheme: &str, authority: &str, path_and_query: &str) -> String {
    let slash = if path_and_query.starts_with('/') {
        ""
    } else {
        "/"
    };
    format!("{scheme}://{authority}{slash}{path_and_query}")
}

/// Accepts connections on `listener` and runs `serve` on each, in a task
/// that owns them all: aborting the returned task (`JoinHandle::abort`;
/// dropping the handle only detaches it) drops the `JoinSet`, which aborts every
/// connection task. Nothing outlives the loop.
pub(crate) fn spawn_accept_loop<F, Fut>(listener: TcpListener, mut serve: F) -> JoinHandle<()>
where
    F: FnMut(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { break };
                    connections.spawn(serve(stream));
                }
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
    })
}
