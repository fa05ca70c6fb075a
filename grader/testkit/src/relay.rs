//! [`IdleCutRelay`]: a TCP relay that cuts connections after a stretch of
//! silence, like the proxies, load balancers and NAT boxes between a client
//! and a server in real life (commonly after 30–60 s; tests use much less).
//!
//! It forwards bytes both ways, unchanged, between each accepted client and
//! a new TCP connection to the target (a [`TestServer`](crate::TestServer)).
//! When no byte has crossed in either direction for `idle_cut`, it drops
//! both sockets without a word: the client sees EOF or a reset, never a
//! Close frame. A client that pings keeps bytes flowing and is never cut.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Bytes read at a time in each direction.
const RELAY_CHUNK: usize = 16 * 1024;

/// Counters of a relay, shared with its tasks.
#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicUsize,
    cut: AtomicUsize,
}

/// A relay on 127.0.0.1:0 in front of `target` that cuts a connection after
/// `idle_cut` without a byte in either direction. Dropping it stops it and
/// closes every connection it relays.
#[derive(Debug)]
pub struct IdleCutRelay {
    addr: SocketAddr,
    counters: Arc<Counters>,
    task: JoinHandle<()>,
}

impl IdleCutRelay {
    /// Starts relaying to `target`.
    pub async fn start(target: SocketAddr, idle_cut: Duration) -> std::io::Result<IdleCutRelay> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let counters = Arc::new(Counters::default());
        let shared = Arc::clone(&counters);
        let task = crate::util::spawn_accept_loop(listener, move |client| {
            shared.accepted.fetch_add(1, Ordering::Relaxed);
            relay(client, target, idle_cut, Arc::clone(&shared))
        });
        Ok(IdleCutRelay {
            addr,
            counters,
            task,
        })
    }

    /// The relay's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ws_url("/ws")` is `"ws://127.0.0.1:RELAY_PORT/ws"`, relayed to the target.
    pub fn ws_url(&self, path_and_query: &str) -> String {
        crate::util::url("ws", &self.addr.to_string(), path_and_query)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.counters.accepted.load(Ordering::Relaxed)
    }

    /// Connections cut for silence so far.
    pub fn cuts(&self) -> usize {
        self.counters.cut.load(Ordering::Relaxed)
    }
}

impl Drop for IdleCutRelay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Relays one connection until either side ends or the silence is too long.
async fn relay(
    mut client: TcpStream,
    target: SocketAddr,
    idle_cut: Duration,
    counters: Arc<Counters>,
) {
    let Ok(mut upstream) = TcpStream::connect(target).await else {
        return;
    };
    let mut from_client = vec![0u8; RELAY_CHUNK];
    let mut from_upstream = vec![0u8; RELAY_CHUNK];
    let mut deadline = Instant::now() + idle_cut;
    loop {
        // Both reads are cancel-safe; the writes run in the branch bodies,
        // which select! never cancels.
        tokio::select! {
            read = client.read(&mut from_client) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if upstream.write_all(&from_client[..n]).await.is_err() {
                        return;
                    }
                    deadline = Instant::now() + idle_cut;
                }
            },
            read = upstream.read(&mut from_upstream) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if client.write_all(&from_upstream[..n]).await.is_err() {
                        return;
                    }
                    deadline = Instant::now() + idle_cut;
                }
            },
            () = tokio::time::sleep_until(deadline) => {
                counters.cut.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(?idle_cut, "relay: connection cut for silence");
                return;
            }
        }
    }
}
