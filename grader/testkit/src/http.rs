//! The HTTP routes: the WebSocket endpoints (handed to [`upgrade`]), the
//! error-report API, stats, health, and the book or an index page.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::config::{MAX_ERROR_REPORT_BYTES, MAX_ERROR_REPORTS};
use crate::state::{Shared, lock};
use crate::static_files;
use crate::upgrade::{Endpoint, upgrade};

type AppState = State<Arc<Shared>>;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/ws", get(ws_echo))
        .route("/ws/auth", get(ws_auth))
        .route("/ws/close", get(ws_close))
        .route("/ws/room/{name}", get(ws_room))
        .route("/ws/topics", get(ws_topics))
        .route("/api/v1/errors", get(list_errors).post(post_error))
        .route("/api/v1/stats", get(stats))
        .route("/health", get(|| async { "ok" }))
        .fallback(fallback)
        .with_state(shared)
}

async fn ws_echo(State(shared): AppState, request: Request) -> Response {
    upgrade(shared, request, Endpoint::Echo).await
}

async fn ws_auth(State(shared): AppState, request: Request) -> Response {
    upgrade(shared, request, Endpoint::Auth).await
}

async fn ws_close(State(shared): AppState, request: Request) -> Response {
    upgrade(shared, request, Endpoint::Close).await
}

async fn ws_room(State(shared): AppState, Path(name): Path<String>, request: Request) -> Response {
    upgrade(shared, request, Endpoint::Room(name)).await
}

async fn ws_topics(State(shared): AppState, request: Request) -> Response {
    upgrade(shared, request, Endpoint::Topics).await
}

async fn stats(State(shared): AppState) -> Json<crate::Stats> {
    Json(shared.stats())
}

async fn list_errors(State(shared): AppState) -> Json<Value> {
    Json(Value::Array(lock(&shared.error_reports).clone()))
}

fn too_large() -> Response {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("an error report may be at most {MAX_ERROR_REPORT_BYTES} bytes\n"),
    )
        .into_response()
}

async fn post_error(State(shared): AppState, request: Request) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared.is_some_and(|length| length > MAX_ERROR_REPORT_BYTES) {
        return too_large();
    }
    let limit = shared.config.handshake_timeout;
    let body = axum::body::to_bytes(request.into_body(), MAX_ERROR_REPORT_BYTES);
    let bytes = match tokio::time::timeout(limit, body).await {
        Ok(Ok(bytes)) => bytes,
        // The only error a complete request can produce is the size limit.
        Ok(Err(_)) => return too_large(),
        Err(_) => return (StatusCode::REQUEST_TIMEOUT, "body too slow\n").into_response(),
    };
    let report: Value = match serde_json::from_slice(&bytes) {
        Ok(report) => report,
        Err(error) => {
            let message = format!("an error report must be a JSON object: {error}\n");
            return (StatusCode::BAD_REQUEST, message).into_response();
        }
    };
    if !report.is_object() {
        let message = "an error report must be a JSON object, e.g. {\"message\": \"…\"}\n";
        return (StatusCode::BAD_REQUEST, message).into_response();
    }
    let id = {
        let mut reports = lock(&shared.error_reports);
        if reports.len() >= MAX_ERROR_REPORTS {
            let message = format!("the server keeps at most {MAX_ERROR_REPORTS} error reports\n");
            return (StatusCode::INSUFFICIENT_STORAGE, message).into_response();
        }
        reports.push(report);
        reports.len()
    };
    shared
        .counters
        .error_reports
        .fetch_add(1, Ordering::Relaxed);
    shared.bump();
    (StatusCode::CREATED, Json(json!({ "id": id }))).into_response()
}

const INDEX: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>WebSocket Workbook test server</title></head>
<body>
<h1>WebSocket Workbook test server</h1>
<ul>
<li><code>GET /ws</code> — echo. Options: <code>delay_ms</code>, <code>close_after</code>
 (with <code>code</code>, <code>reason</code>), <code>drop_every</code>, <code>ping_ms</code>,
 <code>silent_after</code>, <code>close_reply_delay_ms</code>, <code>echo=false</code></li>
<li><code>GET /ws/auth?token=…</code> (or <code>Authorization: Bearer …</code>) — echo for a
 valid token, otherwise Close 4401 "unauthorized"</li>
<li><code>GET /ws/close?code=C&amp;reason=R&amp;after_ms=N</code> — the server closes</li>
<li><code>GET /ws/room/{name}</code> — broadcast room</li>
<li><code>POST /api/v1/errors</code>, <code>GET /api/v1/errors</code> — error reports</li>
<li><code>GET /api/v1/stats</code> — counters; <code>GET /health</code></li>
</ul>
</body></html>
"#;

async fn fallback(State(shared): AppState, request: Request) -> Response {
    let method = request.method();
    if method != axum::http::Method::GET && method != axum::http::Method::HEAD {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    }
    match &shared.config.static_dir {
        Some(dir) => static_files::serve(dir, request.uri().path()).await,
        None if request.uri().path() == "/" => Html(INDEX).into_response(),
        None => (StatusCode::NOT_FOUND, "not found\n").into_response(),
    }
}
