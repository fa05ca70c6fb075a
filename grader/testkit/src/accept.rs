//! The accept loop and the HTTP side of each TCP connection.
//!
//! Our own loop (rather than `axum::serve`) so that the server can cap
//! connections, time out handshakes, count rejected ones, run connections
//! `with_upgrades()`, and track every task it starts.

use std::sync::Arc;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::OwnedSemaphorePermit;

use crate::config::{ACCEPT_BACKOFF_MAX, ACCEPT_BACKOFF_START};
use crate::state::Shared;
use crate::ws::session::signalled;

pub(crate) async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, router: Router) {
    let mut shutdown = shared.shutdown.subscribe();
    let mut backoff = ACCEPT_BACKOFF_START;
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&shared.http_permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
            () = signalled(&mut shutdown) => return,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = signalled(&mut shutdown) => return,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => {
                backoff = ACCEPT_BACKOFF_START;
                stream
            }
            Err(error) => {
                // E.g. out of file descriptors: wait, then try again.
                tracing::warn!(%error, "accept failed; retrying in {backoff:?}");
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = signalled(&mut shutdown) => return,
                }
                backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
                continue;
            }
        };
        // Small frames (echo round trips) must not wait for Nagle's algorithm.
        let _ = stream.set_nodelay(true);
        let task_shared = Arc::clone(&shared);
        let task_router = router.clone();
        shared
            .tasks
            .spawn(serve_connection(stream, task_shared, task_router, permit));
    }
}

async fn serve_connection(
    stream: TcpStream,
    shared: Arc<Shared>,
    router: Router,
    _permit: OwnedSemaphorePermit,
) {
    let mut shutdown = shared.shutdown.subscribe();
    let service = TowerToHyperService::new(router);
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(shared.config.handshake_timeout);
    let connection = builder
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = signalled(&mut shutdown) => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        // A timed-out, unparsable or cut-off request head is a refused
        // handshake; anything else (a client leaving) is not counted.
        if error.is_timeout() || error.is_parse() || error.is_incomplete_message() {
            shared.reject();
        }
        tracing::debug!(%error, "HTTP connection ended with an error");
    }
}
