//! The editor's server: HTTP for documents, members and versions,
//! WebSockets for editing together.
//!
//! * [`document`]: one task per open document owns it; sessions and API
//!   calls talk to it through its inbox.
//! * [`session`]: one task per WebSocket connection.
//! * [`api`]: the HTTP routes.
//!
//! [`Server::shutdown`] stops accepting, closes every connection with 1001
//! and returns when no task of the server is left.

pub(crate) mod api;
pub(crate) mod document;
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
}

impl Config {
    /// The defaults, with the database at `database`.
    pub fn new(database: impl Into<PathBuf>) -> Self {
        Self {
            database: database.into(),
            idle_unload: Duration::from_secs(60),
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
    /// Numbers WebSocket connections.
    pub connections: AtomicU64,
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
        tokio::spawn(async move {
            document::run(id, shared, receiver).await;
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
        let shared = Arc::new(Shared {
            store: Arc::new(store),
            config,
            stop: stop_signal.clone(),
            documents: Mutex::new(HashMap::new()),
            alive,
            connections: AtomicU64::new(0),
        });
        let router = api::router(Arc::clone(&shared));
        let mut on_stop = stop_signal;
        let serve = tokio::spawn(async move {
            let shutdown = async move { stopped(&mut on_stop).await };
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
