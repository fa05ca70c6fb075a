//! The WebSocket endpoints' HTTP side: options, the opening handshake
//! (RFC 6455 §4.2), the connection limit, and the hand-over to a
//! [`Session`](crate::ws::session::Session) task.
//!
//! The upgrade is done by hand (`hyper::upgrade::on`) rather than with axum's
//! `WebSocketUpgrade`, because the close logic needs the raw `TcpStream`
//! after the close handshake (see `ws/ending.rs`).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Version, header};
use axum::response::{IntoResponse, Response};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use crate::config::{
    MAX_ROOM_NAME_BYTES, READ_BUFFER_SIZE, UNAUTHORIZED_CLOSE_CODE, UNAUTHORIZED_REASON,
};
use crate::options::{CloseOptions, EchoOptions, TopicOptions, parse_none};
use crate::state::{Shared, lock};
use crate::ws::session::{Behaviour, Session};
use crate::ws::tap::TappedStream;

/// Which WebSocket endpoint a request is for.
pub(crate) enum Endpoint {
    Echo,
    Auth,
    Close,
    Room(String),
    Topics,
}

fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|part| part.trim().eq_ignore_ascii_case(token))
}

fn text(status: StatusCode, message: impl Into<String>) -> Response {
    (status, message.into()).into_response()
}

/// Validates the opening handshake; returns the `Sec-WebSocket-Key`.
fn check_handshake(request: &Request) -> Result<HeaderValue, String> {
    if request.version() != Version::HTTP_11 {
        return Err("WebSocket upgrades need HTTP/1.1".to_owned());
    }
    if !has_token(request.headers(), header::CONNECTION, "upgrade") {
        return Err("the Connection header must contain `Upgrade`".to_owned());
    }
    let version = request.headers().get(header::SEC_WEBSOCKET_VERSION);
    if version.is_none_or(|version| version.as_bytes() != b"13") {
        return Err("Sec-WebSocket-Version must be 13".to_owned());
    }
    match request.headers().get(header::SEC_WEBSOCKET_KEY) {
        // 16 random bytes in base64 are 24 characters ending in "==".
        Some(key) if key.len() == 24 && key.as_bytes().ends_with(b"==") => Ok(key.clone()),
        _ => Err("Sec-WebSocket-Key must be 16 bytes in base64".to_owned()),
    }
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Decides the behaviour from the endpoint and options (HTTP 400 on error).
fn plan(shared: &Shared, request: &Request, endpoint: Endpoint) -> Result<Behaviour, String> {
    let uri = request.uri();
    Ok(match endpoint {
        Endpoint::Echo => {
            let options = EchoOptions::parse(uri)?;
            if options.token.is_some() {
                return Err("option `token` belongs to /ws/auth, not /ws".to_owned());
            }
            Behaviour::Echo(options)
        }
        Endpoint::Auth => {
            let options = EchoOptions::parse(uri)?;
            let tokens = &shared.config.tokens;
            let valid = |token: &str| tokens.iter().any(|known| known == token);
            let authorized = options.token.as_deref().is_some_and(valid)
                || bearer_token(request.headers()).is_some_and(valid);
            if authorized {
                Behaviour::Echo(options)
            } else {
                Behaviour::CloseSoon {
                    code: UNAUTHORIZED_CLOSE_CODE,
                    reason: UNAUTHORIZED_REASON.to_owned(),
                    after: std::time::Duration::ZERO,
                }
            }
        }
        Endpoint::Close => {
            let options = CloseOptions::parse(uri)?;
            Behaviour::CloseSoon {
                code: options.code,
                reason: options.reason,
                after: options.after,
            }
        }
        Endpoint::Room(name) => {
            parse_none(uri)?;
            if name.is_empty() || name.len() > MAX_ROOM_NAME_BYTES {
                return Err(format!(
                    "room name must be 1 to {MAX_ROOM_NAME_BYTES} bytes"
                ));
            }
            let capacity = shared.config.room_capacity.max(1);
            let room = lock(&shared.rooms)
                .entry(name.clone())
                .or_insert_with(|| tokio::sync::broadcast::channel(capacity).0)
                .clone();
            let joined = Some(room.subscribe());
            Behaviour::Room { name, room, joined }
        }
        Endpoint::Topics => Behaviour::Topics {
            options: TopicOptions::parse(uri)?,
            subscribed: std::collections::HashSet::new(),
            // Subscribed before the upgrade, so nothing published after the
            // handshake is missed.
            joined: Some(shared.topics.subscribe()),
        },
    })
}

/// Handles a request to a WebSocket endpoint.
pub(crate) async fn upgrade(
    shared: Arc<Shared>,
    mut request: Request,
    endpoint: Endpoint,
) -> Response {
    let wants_upgrade = has_token(request.headers(), header::UPGRADE, "websocket");
    let behaviour = match plan(&shared, &request, endpoint) {
        Ok(behaviour) => behaviour,
        Err(message) => {
            if wants_upgrade {
                shared.reject();
            }
            return text(StatusCode::BAD_REQUEST, message + "\n");
        }
    };
    if !wants_upgrade {
        let mut response = text(
            StatusCode::UPGRADE_REQUIRED,
            "This is a WebSocket endpoint: connect with a WebSocket client \
             (e.g. tokio-tungstenite, websocat, or `new WebSocket(url)` in a browser), \
             not a plain HTTP request.\n",
        );
        response
            .headers_mut()
            .insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        return response;
    }
    let key = match check_handshake(&request) {
        Ok(key) => key,
        Err(message) => {
            shared.reject();
            return text(StatusCode::BAD_REQUEST, message + "\n");
        }
    };
    let Ok(permit) = Arc::clone(&shared.ws_permits).try_acquire_owned() else {
        shared.reject();
        let limit = shared.config.max_connections;
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("too many WebSocket connections (the limit is {limit})\n"),
        );
    };
    let on_upgrade = hyper::upgrade::on(&mut request);
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let task_shared = Arc::clone(&shared);
    let spawned = shared.tasks.spawn(async move {
        run_upgraded(task_shared, on_upgrade, behaviour, path, query, permit).await;
    });
    if !spawned {
        return text(StatusCode::SERVICE_UNAVAILABLE, "server shutting down\n");
    }
    let accept = derive_accept_key(key.as_bytes());
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::UPGRADE, "websocket")
        .header(header::CONNECTION, "upgrade")
        .header(header::SEC_WEBSOCKET_ACCEPT, accept)
        .body(Body::empty())
        .unwrap_or_else(|_| text(StatusCode::INTERNAL_SERVER_ERROR, "bad response\n"))
}

async fn run_upgraded(
    shared: Arc<Shared>,
    on_upgrade: OnUpgrade,
    behaviour: Behaviour,
    path: String,
    query: String,
    _permit: OwnedSemaphorePermit,
) {
    let upgraded = match tokio::time::timeout(shared.config.handshake_timeout, on_upgrade).await {
        Ok(Ok(upgraded)) => upgraded,
        Ok(Err(error)) => {
            tracing::debug!(%error, "upgrade failed");
            shared.reject();
            return;
        }
        Err(_) => {
            shared.reject();
            return;
        }
    };
    let parts = match upgraded.downcast::<TokioIo<TcpStream>>() {
        Ok(parts) => parts,
        Err(_) => {
            tracing::error!("upgraded connection is not a TcpStream");
            return;
        }
    };
    let stream = TappedStream::new(parts.io.into_inner(), parts.read_buf.to_vec());
    let max = shared.config.max_message_size;
    // Frames are limited too: a single frame cannot be bigger than a message,
    // and the frame limit is checked before its payload is buffered.
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_SIZE)
        .max_message_size(Some(max))
        .max_frame_size(Some(max));
    let ws = WebSocketStream::from_raw_socket(stream, Role::Server, Some(config)).await;
    let slot = shared.open_connection(path, query);
    Session::new(ws, shared, slot, behaviour).run().await;
}
