//! The HTTP routes: users, documents, members, versions, and the WebSocket
//! upgrade.
//!
//! | Route | What it does |
//! |---|---|
//! | `GET /health` | `ok` |
//! | `POST /api/users` `{"name"}` | a new user: `{"id","name","token"}` |
//! | `POST /api/docs` `{"id"?}` | a new document, owned by the caller: `{"id"}` |
//! | `POST /api/docs/{id}/links` `{"role"}` | a share link (owner): `{"code"}` |
//! | `POST /api/docs/{id}/join` `{"code"}` | join through a link: `{"role"}` |
//! | `PUT /api/docs/{id}/members/{user}` `{"role"}` | change a role, `null` removes (owner) |
//! | `GET /api/docs/{id}/versions` | `{"revision","names":{name: revision}}` |
//! | `POST /api/docs/{id}/versions` `{"name","revision"}` | name a version (editor) |
//! | `GET /api/docs/{id}/versions/{revision}` | the document at that revision |
//! | `GET /api/docs/{id}/diff?from=A&to=B` | the edit from version A to version B |
//! | `POST /api/docs/{id}/restore` `{"revision"}` | restore, as a new edit (editor): `{"revision"}` |
//! | `GET /ws/{id}?token=…&client=…[&since=…]` | the editing connection ([`crate::protocol`]) |
//!
//! In a cluster, every server answers every route: a document's routes
//! go to its task, which may forward them to the server that sequences
//! the document ([`super::remote`]).
//!
//! Every `/api` route but `POST /api/users` takes the user's token as
//! `Authorization: Bearer TOKEN`. Errors are `{"error": code, "message"}`
//! with 400, 401 (no or bad token), 403 (not allowed), 404 or 503.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::{mpsc, oneshot};

use super::Shared;
use super::document::{Command, Joining, OUTBOX, Refused};
use super::session::{self, Membership};
use crate::access::{Access, Role};
use crate::protocol::MAX_MESSAGE;
use crate::store::User;

/// How long an API call waits for a document's task.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/", get(page))
        .route("/d/{id}", get(page))
        .route("/static/{*file}", get(static_file))
        .route("/api/users", post(create_user))
        .route("/api/docs", post(create_document))
        .route("/api/docs/{id}/links", post(share))
        .route("/api/docs/{id}/join", post(join_link))
        .route("/api/docs/{id}/members/{user}", put(set_role))
        .route("/api/docs/{id}/versions", get(versions).post(name_version))
        .route("/api/docs/{id}/versions/{revision}", get(version))
        .route("/api/docs/{id}/diff", get(diff))
        .route("/api/docs/{id}/restore", post(restore))
        .route("/ws/{id}", get(websocket))
        .with_state(shared)
}

/// The page: one HTML file for the start page and every document
/// (`/d/ID`); its script reads the address.
async fn page() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        crate::page::INDEX_HTML,
    )
}

/// The page's script, style and WebAssembly, built into the server.
async fn static_file(Path(file): Path<String>) -> Response {
    let (kind, body): (&str, &'static [u8]) = match file.as_str() {
        "editor.js" => ("text/javascript", crate::page::EDITOR_JS),
        "editor.css" => ("text/css", crate::page::EDITOR_CSS),
        "pkg/editor_wasm.js" => ("text/javascript", crate::page::WASM_GLUE),
        "pkg/editor_wasm_bg.wasm" => ("application/wasm", crate::page::WASM),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

/// An API error: its status, code and message.
#[derive(Debug)]
pub(crate) struct ApiError(StatusCode, &'static str, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let ApiError(status, code, message) = self;
        (status, Json(json!({"error": code, "message": message}))).into_response()
    }
}

impl From<Refused> for ApiError {
    fn from(refused: Refused) -> Self {
        let message = refused.to_string();
        match refused {
            Refused::NotFound => ApiError(StatusCode::NOT_FOUND, "not_found", message),
            Refused::Forbidden(_) => ApiError(StatusCode::FORBIDDEN, "forbidden", message),
            Refused::BadRequest(_) => ApiError(StatusCode::BAD_REQUEST, "bad_request", message),
            Refused::Unavailable => {
                ApiError(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
            }
        }
    }
}

fn bad_request(message: &str) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, "bad_request", message.to_owned())
}

fn unavailable() -> ApiError {
    Refused::Unavailable.into()
}

/// A name of 1 to 64 letters, digits, `-` or `_` (document and client ids).
fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

async fn user_of(shared: &Shared, token: Option<&str>) -> Result<User, ApiError> {
    let unauthorized = || {
        ApiError(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid access token is needed (POST /api/users makes one)".to_owned(),
        )
    };
    let token = token
        .filter(|token| !token.is_empty())
        .ok_or_else(unauthorized)?;
    let store = Arc::clone(&shared.store);
    let token = token.to_owned();
    match tokio::task::spawn_blocking(move || store.user(&token)).await {
        Ok(Ok(Some(user))) => Ok(user),
        Ok(Ok(None)) => Err(unauthorized()),
        Ok(Err(error)) => {
            tracing::error!(%error, "the users table could not be read");
            Err(unavailable())
        }
        Err(_) => Err(unavailable()),
    }
}

async fn caller(shared: &Shared, headers: &HeaderMap) -> Result<User, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    user_of(shared, token).await
}

/// Asks document `id`'s task and waits for its answer.
async fn ask<T>(
    shared: &Arc<Shared>,
    id: &str,
    command: impl FnOnce(oneshot::Sender<Result<T, Refused>>) -> Command,
) -> Result<T, ApiError> {
    if !valid_id(id) {
        return Err(Refused::NotFound.into());
    }
    let (reply, answer) = oneshot::channel();
    let inbox = shared.document(id);
    inbox
        .send(command(reply))
        .await
        .map_err(|_| unavailable())?;
    match tokio::time::timeout(ANSWER_TIMEOUT, answer).await {
        Ok(Ok(result)) => Ok(result?),
        _ => Err(unavailable()),
    }
}

#[derive(Deserialize)]
struct NewUser {
    name: String,
}

async fn create_user(
    State(shared): State<Arc<Shared>>,
    Json(body): Json<NewUser>,
) -> Result<impl IntoResponse, ApiError> {
    let name = body.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 40 {
        return Err(bad_request("a name has 1 to 40 characters"));
    }
    let store = Arc::clone(&shared.store);
    let (user, token) = tokio::task::spawn_blocking(move || store.create_user(&name))
        .await
        .map_err(|_| unavailable())?
        .map_err(|_| unavailable())?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": user.id, "name": user.name, "token": token})),
    ))
}

#[derive(Deserialize)]
struct NewDocument {
    id: Option<String>,
}

async fn create_document(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(body): Json<NewDocument>,
) -> Result<impl IntoResponse, ApiError> {
    let user = caller(&shared, &headers).await?;
    let id = body
        .id
        .unwrap_or_else(|| crate::access::token()[..12].to_owned());
    if !valid_id(&id) {
        return Err(bad_request(
            "a document id has 1 to 64 letters, digits, '-' or '_'",
        ));
    }
    let store = Arc::clone(&shared.store);
    let access = Access::new(&user.id);
    let key = id.clone();
    let created = tokio::task::spawn_blocking(move || store.create(&key, &access))
        .await
        .map_err(|_| unavailable())?
        .map_err(|_| unavailable())?;
    if !created {
        return Err(ApiError(
            StatusCode::CONFLICT,
            "exists",
            format!("a document called {id:?} exists already"),
        ));
    }
    Ok((StatusCode::CREATED, Json(json!({"id": id}))))
}

#[derive(Deserialize)]
struct NewLink {
    role: Role,
}

async fn share(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<NewLink>,
) -> Result<impl IntoResponse, ApiError> {
    let user = caller(&shared, &headers).await?;
    let code = ask(&shared, &id, |reply| Command::Share {
        user: user.id,
        role: body.role,
        reply,
    })
    .await?;
    Ok((StatusCode::CREATED, Json(json!({"code": code}))))
}

#[derive(Deserialize)]
struct UseLink {
    code: String,
}

async fn join_link(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<UseLink>,
) -> Result<impl IntoResponse, ApiError> {
    let user = caller(&shared, &headers).await?;
    let role = ask(&shared, &id, |reply| Command::JoinLink {
        user: user.id,
        code: body.code,
        reply,
    })
    .await?;
    Ok(Json(json!({"role": role})))
}

#[derive(Deserialize)]
struct NewRole {
    role: Option<Role>,
}

async fn set_role(
    State(shared): State<Arc<Shared>>,
    Path((id, member)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<NewRole>,
) -> Result<impl IntoResponse, ApiError> {
    let user = caller(&shared, &headers).await?;
    ask(&shared, &id, |reply| Command::SetRole {
        by: user.id,
        user: member,
        role: body.role,
        reply,
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn versions(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let user = caller(&shared, &headers).await?;
    let (revision, names) = ask(&shared, &id, |reply| Command::Versions {
        user: user.id,
        reply,
    })
    .await?;
    let names: serde_json::Map<String, serde_json::Value> = names
        .into_iter()
        .map(|(name, revision)| (name, json!(revision)))
        .collect();
    Ok(Json(json!({"revision": revision, "names": names})))
}

#[derive(Deserialize)]
struct NameVersion {
    name: String,
    revision: u64,
}

async fn name_version(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<NameVersion>,
) -> Result<impl IntoResponse, ApiError> {
    let user = caller(&shared, &headers).await?;
    if body.name.trim().is_empty() || body.name.chars().count() > 80 {
        return Err(bad_request("a version name has 1 to 80 characters"));
    }
    ask(&shared, &id, |reply| Command::Name {
        user: user.id,
        name: body.name,
        revision: body.revision,
        reply,
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn version(
    State(shared): State<Arc<Shared>>,
    Path((id, revision)): Path<(String, u64)>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let user = caller(&shared, &headers).await?;
    let doc = ask(&shared, &id, |reply| Command::Version {
        user: user.id,
        revision,
        reply,
    })
    .await?;
    Ok(Json(doc))
}

#[derive(Deserialize)]
struct Between {
    from: u64,
    to: u64,
}

async fn diff(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Query(between): Query<Between>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let user = caller(&shared, &headers).await?;
    let edit = ask(&shared, &id, |reply| Command::Diff {
        user: user.id,
        from: between.from,
        to: between.to,
        reply,
    })
    .await?;
    Ok(Json(edit))
}

#[derive(Deserialize)]
struct Restore {
    revision: u64,
}

async fn restore(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Restore>,
) -> Result<impl IntoResponse, ApiError> {
    let user = caller(&shared, &headers).await?;
    let revision = ask(&shared, &id, |reply| Command::Restore {
        user: user.id,
        revision: body.revision,
        reply,
    })
    .await?;
    Ok(Json(json!({"revision": revision})))
}

#[derive(Deserialize)]
struct Connect {
    token: Option<String>,
    client: Option<String>,
    since: Option<u64>,
}

async fn websocket(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Query(connect): Query<Connect>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let user = user_of(&shared, connect.token.as_deref()).await?;
    let client = connect
        .client
        .filter(|client| valid_id(client))
        .ok_or_else(|| {
            bad_request("the connection needs a client id (1 to 64 letters, digits, '-' or '_')")
        })?;
    if !valid_id(&id) {
        return Err(Refused::NotFound.into());
    }
    let (outbox, messages) = mpsc::channel(OUTBOX);
    let conn = shared.connections.fetch_add(1, Ordering::Relaxed);
    let inbox = shared.document(&id);
    let membership = Membership {
        conn,
        client: client.clone(),
        inbox: inbox.clone(),
    };
    let (reply, answer) = oneshot::channel();
    let joining = Joining {
        conn,
        client,
        user,
        since: connect.since,
        outbox,
    };
    inbox
        .send(Command::Join(joining, reply))
        .await
        .map_err(|_| unavailable())?;
    match tokio::time::timeout(ANSWER_TIMEOUT, answer).await {
        Ok(Ok(result)) => result?,
        _ => return Err(unavailable()),
    }
    let alive = shared.alive();
    Ok(upgrade
        .max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE)
        .on_upgrade(move |socket| async move {
            session::run(socket, shared, membership, messages).await;
            drop(alive);
        }))
}
