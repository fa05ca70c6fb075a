//! [`TlsEndpoint`]: the testkit's `wss://` endpoint.
//!
//! A TLS-terminating front on 127.0.0.1:0 (and on the same port of ::1,
//! where the machine has it), as nginx or a load balancer is
//! in front of a real WebSocket server: it accepts TLS, decrypts, and
//! forwards the plain bytes to a [`TestServer`](crate::TestServer), so every
//! endpoint and fault of the server works over `wss://` unchanged.
//!
//! Its certificate is made at start-up, self-signed, for `localhost` and
//! `127.0.0.1`. A client trusts it only when given
//! [`root_cert_der`](TlsEndpoint::root_cert_der): exactly the set-up a
//! learner meets with a private certificate authority. Nothing is written
//! to disk.
//!
//! Its URL names `localhost`, which a machine may resolve to 127.0.0.1, to
//! ::1, or to both in either order (Debian lists only 127.0.0.1, Fedora and
//! macOS ::1 first). A client that tries only the first address must reach
//! the endpoint either way, so it listens on both loopbacks: which one a
//! client lands on is a fact about the machine, not about the client.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::config::HANDSHAKE_TIMEOUT;

/// Why a [`TlsEndpoint`] could not start.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Making the certificate failed.
    #[error("could not make the test certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    /// rustls refused the certificate or its key.
    #[error("could not configure TLS: {0}")]
    Config(#[from] rustls::Error),
    /// Binding the listener failed.
    #[error("could not listen on 127.0.0.1: {0}")]
    Io(#[from] std::io::Error),
}

/// Counters of an endpoint, shared with its tasks.
#[derive(Debug, Default)]
struct Counters {
    handshakes: AtomicUsize,
    failed_handshakes: AtomicUsize,
}

/// A `wss://` front for a [`TestServer`](crate::TestServer). Dropping it
/// stops it and closes every connection it carries.
#[derive(Debug)]
pub struct TlsEndpoint {
    addr: SocketAddr,
    root: CertificateDer<'static>,
    counters: Arc<Counters>,
    task: JoinHandle<()>,
    /// The accept loop on `[::1]:PORT`, where the machine has IPv6 loopback
    /// and that port is free on it.
    task_v6: Option<JoinHandle<()>>,
}

impl TlsEndpoint {
    /// Makes a certificate for `localhost` and `127.0.0.1` and starts
    /// forwarding decrypted connections to `target` (usually
    /// `server.addr()`).
    pub async fn start(target: SocketAddr) -> Result<TlsEndpoint, TlsError> {
        let certified = rcgen::generate_simple_self_signed(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
        ])?;
        let root = certified.cert.der().clone();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            certified.signing_key.serialize_der(),
        ));
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![root.clone()], key)?;
        let acceptor = TlsAcceptor::from(Arc::new(config));

        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let counters = Arc::new(Counters::default());
        // `localhost` may resolve to ::1 first: listen there too, on the
        // same port, when the machine allows it (best effort: without IPv6
        // a client only ever tries 127.0.0.1).
        let task_v6 = match TcpListener::bind((Ipv6Addr::LOCALHOST, addr.port())).await {
            Ok(listener_v6) => {
                let acceptor = acceptor.clone();
                let shared = Arc::clone(&counters);
                Some(crate::util::spawn_accept_loop(listener_v6, move |client| {
                    let _ = client.set_nodelay(true);
                    forward(client, acceptor.clone(), target, Arc::clone(&shared))
                }))
            }
            Err(_) => None,
        };
        let shared = Arc::clone(&counters);
        let task = crate::util::spawn_accept_loop(listener, move |client| {
            let _ = client.set_nodelay(true);
            forward(client, acceptor.clone(), target, Arc::clone(&shared))
        });
        Ok(TlsEndpoint {
            addr,
            root,
            counters,
            task,
            task_v6,
        })
    }

    /// The endpoint's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `wss_url("/ws")` is `"wss://localhost:PORT/ws"`: the certificate
    /// names `localhost`, and so does the URL, as it would in production.
    pub fn wss_url(&self, path_and_query: &str) -> String {
        let authority = format!("localhost:{}", self.addr.port());
        crate::util::url("wss", &authority, path_and_query)
    }

    /// The self-signed root certificate, DER-encoded: add it to a client's
    /// root store (for rustls, `RootCertStore::add`) to trust this endpoint.
    pub fn root_cert_der(&self) -> &[u8] {
        self.root.as_ref()
    }

    /// TLS handshakes completed so far.
    pub fn handshakes(&self) -> usize {
        self.counters.handshakes.load(Ordering::Relaxed)
    }

    /// TLS handshakes that failed so far (e.g. a client that does not trust
    /// the certificate, or speaks plain `ws://` to it).
    pub fn failed_handshakes(&self) -> usize {
        self.counters.failed_handshakes.load(Ordering::Relaxed)
    }
}

impl Drop for TlsEndpoint {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(task) = &self.task_v6 {
            task.abort();
        }
    }
}

/// Terminates TLS on one connection and copies bytes both ways to `target`.
async fn forward(
    client: TcpStream,
    acceptor: TlsAcceptor,
    target: SocketAddr,
    counters: Arc<Counters>,
) {
    let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(client)).await;
    let mut tls = match handshake {
        Ok(Ok(tls)) => tls,
        Ok(Err(error)) => {
            counters.failed_handshakes.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%error, "tls: handshake failed");
            return;
        }
        Err(_) => {
            counters.failed_handshakes.fetch_add(1, Ordering::Relaxed);
            tracing::debug!("tls: handshake timed out");
            return;
        }
    };
    counters.handshakes.fetch_add(1, Ordering::Relaxed);
    let Ok(mut upstream) = TcpStream::connect(target).await else {
        return;
    };
    let _ = upstream.set_nodelay(true);
    // Ends when either side closes or fails; both sockets drop with it.
    let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
}
