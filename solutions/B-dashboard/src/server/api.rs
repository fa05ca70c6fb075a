//! The HTTP side: health, the catalogue, ingest, range queries, the page.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{DefaultBodyLimit, Query as QueryString, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{MAX_INGEST, MAX_MESSAGE, Shared, alerting, socket};
use crate::clock::Millis;
use crate::labels::{MatchOp, Selector, SeriesKey};
use crate::protocol::SeriesInfo;
use crate::store::{Aggregation, Query, Sample, Tier};

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { page(INDEX_HTML, "text/html; charset=utf-8") }),
        )
        .route(
            "/dashboard.js",
            get(|| async { page(DASHBOARD_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/dashboard.css",
            get(|| async { page(DASHBOARD_CSS, "text/css; charset=utf-8") }),
        )
        .route(
            "/vendor/uPlot.iife.min.js",
            get(|| async { page(UPLOT_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/vendor/uPlot.min.css",
            get(|| async { page(UPLOT_CSS, "text/css; charset=utf-8") }),
        )
        .route("/health", get(health))
        .route("/api/series", get(series))
        .route("/api/query", get(query))
        .route("/api/ingest", post(ingest))
        .route("/api/test/clock", post(set_clock))
        .route("/api/alerts", get(alerting::alerts))
        .route("/api/alerts/history", get(alerting::history))
        .route("/api/silences", post(alerting::add_silence))
        .route(
            "/api/silences/{id}",
            axum::routing::delete(alerting::expire_silence),
        )
        .route("/ws", get(websocket))
        .layer(DefaultBodyLimit::max(MAX_INGEST))
        .with_state(shared)
}

use crate::page::{DASHBOARD_CSS, DASHBOARD_JS, INDEX_HTML, UPLOT_CSS, UPLOT_JS};

fn page(body: &'static str, content_type: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// An HTTP error with a JSON body `{"error": "…"}`.
pub(crate) struct ApiError(StatusCode, String);

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self(status, message.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, axum::Json(json!({ "error": self.1 }))).into_response()
    }
}

pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, message.into())
}

async fn health(State(shared): State<Arc<Shared>>) -> Response {
    let hub = shared.hub();
    let (raw, minute) = hub.store().buckets();
    axum::Json(json!({
        "status": "ok",
        "series": hub.store().len(),
        "buckets": { "raw": raw, "minute": minute },
        "clients": hub.clients(),
        "now": shared.clock.now(),
    }))
    .into_response()
}

#[derive(Deserialize)]
struct Match {
    #[serde(rename = "match")]
    selector: Option<String>,
}

fn selector(text: Option<&str>) -> Result<Selector, ApiError> {
    Selector::parse(text.unwrap_or("{}")).map_err(|error| bad_request(error.to_string()))
}

async fn series(
    State(shared): State<Arc<Shared>>,
    QueryString(query): QueryString<Match>,
) -> Result<Response, ApiError> {
    let selector = selector(query.selector.as_deref())?;
    let hub = shared.hub();
    let series: Vec<SeriesInfo> = hub
        .store()
        .select(&selector)
        .map(|(id, key)| SeriesInfo::new(id, key))
        .collect();
    Ok(axum::Json(json!({ "series": series })).into_response())
}

#[derive(Deserialize)]
struct RangeQuery {
    #[serde(rename = "match")]
    selector: Option<String>,
    start: Millis,
    end: Millis,
    step: Millis,
    #[serde(default)]
    aggregation: Aggregation,
    tier: Option<Tier>,
}

async fn query(
    State(shared): State<Arc<Shared>>,
    query: Result<QueryString<RangeQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let QueryString(query) = query.map_err(|error| {
        bad_request(format!(
            "{error}; a query is ?match=SELECTOR&start=MS&end=MS&step=MS[&aggregation=avg|min|max|sum|count|last][&tier=raw|minute]"
        ))
    })?;
    let selector = selector(query.selector.as_deref())?;
    let range = Query {
        start: query.start,
        end: query.end,
        step: query.step,
        aggregation: query.aggregation,
        tier: query.tier,
    };
    let now = shared.clock.now();
    let result = shared
        .hub()
        .store()
        .query(&selector, &range, now)
        .map_err(|error| bad_request(error.to_string()))?;
    Ok(axum::Json(result).into_response())
}

/// One line of a JSON-lines ingest body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    name: String,
    #[serde(default)]
    labels: std::collections::BTreeMap<String, String>,
    /// Milliseconds since the epoch; the clock's time when absent.
    t: Option<Millis>,
    v: f64,
}

#[derive(Serialize)]
struct Rejected {
    /// 1-based line number.
    line: usize,
    error: String,
}

/// `POST /api/ingest`: JSON lines (`{"name":…,"labels":{…},"t":…,"v":…}`),
/// or with `Content-Type: text/plain` the Prometheus text format
/// (`name{label="value"} value [timestamp_ms]`). Every good line is
/// stored; bad lines are listed in the answer with their line number and
/// the reason, and lose nothing else. The answer is 200 unless no line at
/// all was stored (then 400).
async fn ingest(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let text = std::str::from_utf8(&body)
        .map_err(|error| bad_request(format!("the body is not UTF-8: {error}")))?;
    let prometheus = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/plain"));
    let now = shared.clock.now();
    let mut parsed = Vec::new();
    let mut rejected = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || (prometheus && line.starts_with('#')) {
            continue;
        }
        let sample = if prometheus {
            parse_exposition(line, now)
        } else {
            serde_json::from_str::<Line>(line)
                .map(|line| {
                    let key = SeriesKey {
                        name: line.name,
                        labels: line.labels,
                    };
                    (
                        key,
                        Sample {
                            t: line.t.unwrap_or(now),
                            v: line.v,
                        },
                    )
                })
                .map_err(|error| error.to_string())
        };
        match sample {
            Ok(sample) => parsed.push((i + 1, sample)),
            Err(error) => rejected.push(Rejected { line: i + 1, error }),
        }
    }
    let mut accepted = 0;
    let mut stored = Vec::new();
    {
        let mut hub = shared.hub();
        for (line, (key, sample)) in parsed {
            match hub.ingest(&key, sample, now) {
                Ok(()) => {
                    accepted += 1;
                    stored.push(sample.t);
                }
                Err(error) => rejected.push(Rejected {
                    line,
                    error: error.to_string(),
                }),
            }
        }
    }
    shared.stored(stored);
    rejected.sort_by_key(|rejected| rejected.line);
    let status = if accepted == 0 && !rejected.is_empty() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        axum::Json(json!({ "accepted": accepted, "rejected": rejected })),
    )
        .into_response())
}

/// One line of the Prometheus text format: `name{labels} value [time]`.
/// The name and labels are parsed as a selector of `=` matchers.
fn parse_exposition(line: &str, now: Millis) -> Result<(SeriesKey, Sample), String> {
    let split = match line.find('{') {
        Some(_) => line.rfind('}').map(|end| end + 1),
        None => line.find(char::is_whitespace),
    }
    .ok_or("expected `name{labels} value [timestamp]`")?;
    let (series, rest) = line.split_at(split);
    let selector = Selector::parse(series).map_err(|error| error.to_string())?;
    let mut key = SeriesKey::default();
    for matcher in selector.matchers {
        if matcher.op != MatchOp::Equal {
            return Err(format!("{matcher}: a sample's labels use `=` only"));
        }
        if matcher.label == crate::labels::NAME {
            key.name = matcher.value;
        } else {
            key.labels.insert(matcher.label, matcher.value);
        }
    }
    let mut fields = rest.split_whitespace();
    let value = fields.next().ok_or("the value is missing")?;
    let v = match value {
        "NaN" | "+Inf" | "-Inf" => return Err(format!("{value}: only finite values are stored")),
        value => value
            .parse::<f64>()
            .map_err(|error| format!("{value:?}: {error}"))?,
    };
    let t = match fields.next() {
        Some(time) => time
            .parse::<Millis>()
            .map_err(|error| format!("the timestamp {time:?}: {error}"))?,
        None => now,
    };
    if fields.next().is_some() {
        return Err("unexpected text after the timestamp".into());
    }
    Ok((key, Sample { t, v }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetClock {
    now: Option<Millis>,
    advance_ms: Option<Millis>,
}

/// `POST /api/test/clock` `{"now": MS}` or `{"advance_ms": MS}`: moves a
/// manual clock (tests only; 404 on the system clock).
async fn set_clock(
    State(shared): State<Arc<Shared>>,
    body: Result<axum::Json<SetClock>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    if !shared.clock.is_manual() {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            "the clock is the system's; start the server with a test clock to move it".into(),
        ));
    }
    let axum::Json(body) = body.map_err(|error| bad_request(error.body_text()))?;
    match (body.now, body.advance_ms) {
        (Some(now), None) => shared.clock.set(now),
        (None, Some(by)) if by >= 0 => shared.clock.set(shared.clock.now() + by),
        _ => {
            return Err(bad_request(
                "give either `now` or a non-negative `advance_ms`",
            ));
        }
    };
    // Answer once the alerts have been evaluated at the new time, so that
    // a test reads the state *at* that time.
    let now = shared.clock.now();
    if !alerting::evaluate_now(&shared).await {
        return Err(ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            "the clock moved, but the alerts were not evaluated within 5 s".into(),
        ));
    }
    Ok(axum::Json(json!({ "now": now })).into_response())
}

async fn websocket(State(shared): State<Arc<Shared>>, upgrade: WebSocketUpgrade) -> Response {
    let alive = shared.alive();
    upgrade
        .max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE)
        .on_upgrade(move |socket| async move {
            socket::run(socket, shared).await;
            drop(alive);
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_lines_parse() {
        let (key, sample) = parse_exposition(r#"http_requests{code="200",path="/"} 12.5 1000"#, 7)
            .expect("a sample line");
        assert_eq!(key.to_string(), r#"http_requests{code="200",path="/"}"#);
        assert_eq!(sample, Sample { t: 1_000, v: 12.5 });
        let (key, sample) = parse_exposition("up 1", 7).expect("a line without labels");
        assert_eq!((key.name.as_str(), sample.t), ("up", 7));
        for bad in ["up", r#"up{a=~"b"} 1"#, "up NaN", "up 1 2 3", "up x"] {
            assert!(parse_exposition(bad, 0).is_err(), "{bad}");
        }
    }
}
