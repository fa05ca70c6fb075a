//! The editor's server: HTTP for documents, members and versions,
//! WebSockets for editing together.
//!
//! * [`document`]: one task per open document owns it; sessions and API
//!   calls talk to it through its inbox.
//! * [`session`]: one task per WebSocket connection.
//! * [`api`]: the HTTP routes.
//! * [`cluster`] and [`remote`]: several servers sharing documents through
//!   Redis ([`Config::cluster`]): one sequencer per document, holding a
//!   lease; on the other servers, a remote task that forwards.
//!
//! [`Server::shutdown`] stops accepting, closes every connection with 1001
//! and returns when no task of the server is left.

pub(crate) mod api;
pub(crate) mod cluster;
pub(crate) mod document;
pub(crate) mod remote;
pub(crate) mod session;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::store::{Store, StoreError};
use document::Command;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The SQLite database of every document (created if missing).
    pub database: PathBuf,
    /// A document nobody has open is unloaded from memory after this long.
    pub idle_unload: Duration,
    /// Several servers serving the same documents through Redis; `None`
    /// (the default): this server alone.
    pub cluster: Option<ClusterConfig>,
}

impl Config {
    /// The defaults, with the database at `database`.
    pub fn new(database: impl Into<PathBuf>) -> Self {
        Self {
            database: database.into(),
            idle_unload: Duration::from_secs(60),
            cluster: None,
        }
    }
}

/// How a server takes part in a cluster: every server of it uses the same
/// database file and the same Redis.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// Redis, as `HOST:PORT`.
    pub redis: String,
    /// This server's name, for people (logs, the lease's value in Redis); a
    /// random suffix is added, so a restarted server is a new instance.
    pub node: String,
    /// How long a document's lease lasts without renewal: after a server
    /// dies, its documents are served elsewhere within about this long.
    pub lease: Duration,
    /// How often the lease is renewed, and how often the other servers
    /// check who holds it. Well under [`ClusterConfig::lease`], so that a
    /// late renewal or two do not lose it.
    pub renew: Duration,
}

impl ClusterConfig {
    /// Redis at `redis`, this server called `node`; a lease of 2 s renewed
    /// every 500 ms.
    pub fn new(redis: impl Into<String>, node: impl Into<String>) -> Self {
        Self {
            redis: redis.into(),
            node: node.into(),
            lease: Duration::from_secs(2),
            renew: Duration::from_millis(500),
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The address could not be bound.
    #[error("could not listen on {address}: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The database could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Redis could not be reached (a server told to share documents does
    /// not start alone). Is `redis-server` running at that address?
    #[error("could not use Redis at {address}: {source}")]
    Redis {
        /// Redis's address.
        address: String,
        /// Why.
        source: crate::redis::RedisError,
    },
}

/// What every task of the server shares.
pub(crate) struct Shared {
    pub store: Arc<Store>,
    pub config: Config,
    /// `true` once the server is shutting down.
    pub stop: watch::Receiver<bool>,
    /// Open documents: the inbox of each one's task.
    documents: Mutex<HashMap<String, mpsc::Sender<Command>>>,
    /// Every task holds a clone; shutdown waits until all are dropped.
    alive: mpsc::Sender<()>,
    /// Numbers WebSocket connections (in a cluster, from a random start:
    /// the numbers of all servers' connections differ).
    pub connections: AtomicU64,
    /// In a cluster: this server's part.
    pub cluster: Option<Arc<cluster::Cluster>>,
}

impl Shared {
    pub(crate) fn documents(&self) -> MutexGuard<'_, HashMap<String, mpsc::Sender<Command>>> {
        self.documents
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The inbox of document `id`'s task, started (to load it) if it is not
    /// running.
    pub(crate) fn document(self: &Arc<Self>, id: &str) -> mpsc::Sender<Command> {
        let mut documents = self.documents();
        if let Some(inbox) = documents.get(id).filter(|inbox| !inbox.is_closed()) {
            return inbox.clone();
        }
        let (sender, receiver) = mpsc::channel(document::INBOX);
        documents.insert(id.to_owned(), sender.clone());
        let shared = Arc::clone(self);
        let alive = self.alive.clone();
        let id = id.to_owned();
        let inbox = sender.clone();
        tokio::spawn(async move {
            match shared.cluster.clone() {
                None => document::run(id, shared, receiver).await,
                Some(cluster) => match cluster.claim(&id).await {
                    cluster::Claim::Sequencer(lease) => {
                        let inbox = (inbox, receiver);
                        document::run_leased(id, shared, inbox, cluster, lease).await;
                    }
                    cluster::Claim::Member(holder) => {
                        remote::run(id, shared, cluster, holder, receiver).await;
                    }
                    cluster::Claim::Unavailable => {
                        document::refuse_all(&id, &shared, receiver, document::Refused::Unavailable)
                    }
                },
            }
            drop(alive);
        });
        sender
    }

    /// A token for a task that shutdown must wait for.
    pub(crate) fn alive(&self) -> mpsc::Sender<()> {
        self.alive.clone()
    }
}

/// Resolves once the server is shutting down (or its handle is gone).
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is dropped here, before any await.
    let _ = stop.wait_for(|stop| *stop).await.map(|_| ());
}

/// A running editor server.
pub struct Server {
    address: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    serve: JoinHandle<()>,
    alive: mpsc::Receiver<()>,
}

impl Server {
    /// Opens the database and serves on `address` (port 0: any free port).
    pub async fn start(address: SocketAddr, config: Config) -> Result<Self, ServerError> {
        let database = config.database.clone();
        let store = tokio::task::spawn_blocking(move || Store::open(&database))
            .await
            .map_err(|_| ServerError::Bind {
                address,
                source: std::io::Error::other("the runtime is shutting down"),
            })??;
        let listener = TcpListener::bind(address)
            .await
            .map_err(|source| ServerError::Bind { address, source })?;
        let address = listener
            .local_addr()
            .map_err(|source| ServerError::Bind { address, source })?;
        let (stop, stop_signal) = watch::channel(false);
        let (alive, alive_receiver) = mpsc::channel(1);
        let mut subscription = None;
        let mut first_connection = 0;
        if let Some(settings) = &config.cluster {
            let redis = |source| ServerError::Redis {
                address: settings.redis.clone(),
                source,
            };
            let cluster = cluster::Cluster::connect(settings.clone())
                .await
                .map_err(redis)?;
            let messages = cluster::subscribe(&cluster, &stop_signal, alive.clone())
                .await
                .map_err(redis)?;
            subscription = Some((Arc::new(cluster), messages));
            let mut random = [0u8; 4];
            if getrandom::fill(&mut random).is_ok() {
                first_connection = u64::from(u32::from_le_bytes(random)) << 32;
            }
        }
        let shared = Arc::new(Shared {
            store: Arc::new(store),
            config,
            stop: stop_signal.clone(),
            documents: Mutex::new(HashMap::new()),
            alive,
            connections: AtomicU64::new(first_connection),
            cluster: subscription
                .as_ref()
                .map(|(cluster, _)| Arc::clone(cluster)),
        });
        if let Some((cluster, messages)) = subscription {
            let (shared, alive) = (Arc::clone(&shared), shared.alive());
            tokio::spawn(async move {
                cluster::dispatch(shared, cluster, messages).await;
                drop(alive);
            });
        }
        let router = api::router(Arc::clone(&shared));
        let mut on_stop = stop_signal;
        let serve = tokio::spawn(async move {
            let shutdown = async move { stopped(&mut on_stop).await };
            // Small frames go out at once: with Nagle's algorithm, a
            // broadcast written while the page's acknowledgement of the last
            // one is delayed (up to 40 ms on Linux) would wait for it.
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

    /// How many documents are loaded in memory now.
    pub fn open_documents(&self) -> usize {
        self.shared.documents().len()
    }

    /// Stops accepting, closes every connection with 1001 (going away),
    /// and returns when every task of the server has ended.
    pub async fn shutdown(self) {
        let Server {
            shared,
            stop,
            serve,
            mut alive,
            ..
        } = self;
        stop.send_replace(true);
        if let Err(error) = serve.await {
            tracing::error!(%error, "the HTTP task ended badly");
        }
        // Our own token goes with `shared`; then wait for every task's.
        drop(shared);
        while alive.recv().await.is_some() {}
    }
}
