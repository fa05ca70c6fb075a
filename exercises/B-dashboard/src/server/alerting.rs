//! The alerting side of the server: the engine on the clock's ticks, its
//! state in SQLite, the rules file reloaded, the webhook, and the HTTP
//! endpoints for alerts and silences.
//!
//! An evaluation runs on a blocking thread (`spawn_blocking`): it reads the
//! store under the hub's lock, then writes SQLite, and neither belongs on
//! the runtime's threads. The state is saved *before* the notifications go
//! out, so a `kill -9` between the two loses a notification (which the
//! repeat interval sends again), never the state that says it fired.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{Path, Query as QueryString, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::Shared;
use super::api::{ApiError, bad_request};
use crate::alerts::{
    AlertStore, Engine, Notifier, NotifierConfig, RuleSet, RulesFile, WebhookUrl, store_latest,
};
use crate::clock::Millis;
use crate::labels::Selector;

/// The engine with what it needs between ticks.
pub(crate) struct Alerting {
    engine: Engine,
    /// Where its state is saved (none: in memory only).
    database: Option<AlertStore>,
    /// The rules file, reloaded on every tick when it changed.
    rules: Option<RulesFile>,
    notifier: Option<(WebhookUrl, Notifier, JoinHandle<()>)>,
}

impl Alerting {
    /// Loads the rules and restores the state (both optional).
    pub(crate) fn open(
        rules: Option<PathBuf>,
        state: Option<PathBuf>,
    ) -> Result<Self, super::ServerError> {
        let mut file = rules.map(RulesFile::new);
        let ruleset = match &mut file {
            Some(file) => file
                .reload()
                .map_err(super::ServerError::Rules)?
                .unwrap_or_default(),
            None => RuleSet::default(),
        };
        let (engine, database) = match state {
            Some(path) => AlertStore::open(&path)
                .and_then(|database| Ok((Engine::restore(ruleset, &database)?, Some(database))))
                .map_err(|source| super::ServerError::State { path, source })?,
            None => (Engine::new(ruleset), None),
        };
        let mut alerting = Self {
            engine,
            database,
            rules: file,
            notifier: None,
        };
        alerting.follow_webhook();
        Ok(alerting)
    }

    /// Starts, replaces or stops the notifier to match the rules' webhook.
    fn follow_webhook(&mut self) {
        let wanted = self.engine.rules().notify.webhook.clone();
        let current = self.notifier.as_ref().map(|(url, ..)| url.clone());
        if wanted == current {
            return;
        }
        // Dropping the old notifier lets its task end by itself.
        self.notifier = wanted.map(|url| {
            let (notifier, task) = Notifier::spawn(url.clone(), NotifierConfig::default());
            (url, notifier, task)
        });
    }

    fn save(&mut self) {
        if let Some(database) = &self.database
            && let Err(error) = self.engine.save_to(database)
        {
            tracing::error!(%error, "the alert state could not be saved");
        }
    }

    /// One tick at `now`: reload the rules if the file changed, evaluate,
    /// save, notify. Returns the alerts when they changed.
    fn tick(&mut self, now: Millis, shared: &Shared) -> Option<Vec<Value>> {
        if let Some(file) = &mut self.rules {
            match file.reload() {
                Ok(Some(rules)) => {
                    tracing::info!(
                        rules = rules.rules.len(),
                        "the rules file changed; reloaded"
                    );
                    self.engine.replace_rules(rules);
                    self.follow_webhook();
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::error!(%error, "the rules file is refused; the old rules stay");
                }
            }
        }
        let evaluation = {
            let hub = shared.hub();
            let store = hub.store();
            self.engine
                .evaluate(now, &|selector: &Selector| store_latest(store, selector))
        };
        self.save();
        if let Some((_, notifier, _)) = &self.notifier {
            for notification in evaluation.notifications {
                notifier.send(notification);
            }
        }
        evaluation.changed.then(|| self.views())
    }

    fn views(&self) -> Vec<Value> {
        self.engine
            .alerts()
            .iter()
            .filter_map(|alert| serde_json::to_value(alert).ok())
            .collect()
    }

    /// Ends the notifier after its last attempt.
    pub(crate) async fn close(shared: &Shared) {
        let notifier = shared.alerting().notifier.take();
        if let Some((_, notifier, task)) = notifier {
            drop(notifier);
            let _ = task.await;
        }
    }
}

impl Shared {
    pub(crate) fn alerting(&self) -> MutexGuard<'_, Alerting> {
        // Every update of the engine is completed before a panic could
        // happen in between, so a poisoned lock is still usable.
        self.alerting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The alerts as the page and the WebSocket show them.
pub(crate) fn current(shared: &Shared) -> Vec<Value> {
    shared.alerting().views()
}

/// One evaluation at `now`, on a blocking thread (it reads the store under
/// the hub's lock, then writes SQLite); the watchers get the alerts when
/// they changed.
pub(crate) async fn evaluate(shared: &Arc<Shared>, now: Millis) {
    let worker = Arc::clone(shared);
    let changed = tokio::task::spawn_blocking(move || {
        let alerting: &Mutex<Alerting> = &worker.alerting;
        let mut alerting = alerting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        alerting.tick(now, &worker)
    })
    .await;
    match changed {
        Ok(Some(alerts)) => push(shared, &alerts),
        Ok(None) => {}
        Err(error) => tracing::error!(%error, "an alert evaluation failed"),
    }
}

/// Sends `alerts` to every client that watches them.
fn push(shared: &Shared, alerts: &[Value]) {
    let hub = shared.hub();
    for outbox in hub.outboxes().filter(|outbox| outbox.watching_alerts()) {
        outbox.send_alerts(alerts.to_vec());
    }
}

/// The evaluation interval of the rules in force, in ms.
pub(crate) fn interval(shared: &Shared) -> Millis {
    shared
        .alerting()
        .engine
        .rules()
        .notify
        .evaluation_interval_ms
        .max(1)
}

/// `GET /api/alerts`: every alert not inactive, and the silences.
pub(crate) async fn alerts(State(shared): State<Arc<Shared>>) -> Response {
    let now = shared.clock.now();
    let alerting = shared.alerting();
    axum::Json(json!({
        "alerts": alerting.engine.alerts(),
        "silences": alerting.engine.silences(now),
    }))
    .into_response()
}

#[derive(Deserialize)]
pub(crate) struct Limit {
    limit: Option<usize>,
}

/// `GET /api/alerts/history?limit=N`: the newest transitions, oldest first:
/// what moved each alert, with the sample and the times.
pub(crate) async fn history(
    State(shared): State<Arc<Shared>>,
    QueryString(limit): QueryString<Limit>,
) -> Response {
    let limit = limit.limit.unwrap_or(100).min(10_000);
    axum::Json(json!({ "history": shared.alerting().engine.history(limit) })).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewSilence {
    matchers: String,
    starts: Option<Millis>,
    ends: Option<Millis>,
    duration_ms: Option<Millis>,
    #[serde(default)]
    comment: String,
}

/// `POST /api/silences` `{"matchers": "{alertname=\"X\"}", "duration_ms":
/// N | "ends": MS, "starts"?: MS, "comment"?: "…"}` → `{"id": N}`.
pub(crate) async fn add_silence(
    State(shared): State<Arc<Shared>>,
    body: Result<axum::Json<NewSilence>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let axum::Json(silence) = body.map_err(|error| bad_request(error.body_text()))?;
    let matchers =
        Selector::parse(&silence.matchers).map_err(|error| bad_request(error.to_string()))?;
    let now = shared.clock.now();
    let starts = silence.starts.unwrap_or(now);
    let ends = match (silence.ends, silence.duration_ms) {
        (Some(ends), None) => ends,
        (None, Some(duration)) => starts.saturating_add(duration),
        _ => return Err(bad_request("give either `ends` or `duration_ms`")),
    };
    let worker = Arc::clone(&shared);
    let added = tokio::task::spawn_blocking(move || {
        let mut alerting = worker.alerting();
        let id = alerting
            .engine
            .add_silence(matchers, starts, ends, silence.comment, now)?;
        alerting.save();
        Ok::<_, crate::alerts::SilenceError>((id, alerting.views()))
    })
    .await
    .map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down",
        )
    })?
    .map_err(|error| bad_request(error.to_string()))?;
    // The pages show the alert as silenced at once, not at the next change.
    let (added, alerts) = added;
    push(&shared, &alerts);
    Ok(axum::Json(json!({ "id": added })).into_response())
}

/// `DELETE /api/silences/{id}`: expires the silence now.
pub(crate) async fn expire_silence(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<u64>,
) -> Result<Response, ApiError> {
    let now = shared.clock.now();
    let worker = Arc::clone(&shared);
    let expired = tokio::task::spawn_blocking(move || {
        let mut alerting = worker.alerting();
        let expired = alerting.engine.expire_silence(id, now);
        alerting.save();
        (expired, alerting.views())
    })
    .await
    .map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down",
        )
    })?;
    let (expired, alerts) = expired;
    if expired {
        push(&shared, &alerts);
        Ok(axum::Json(json!({ "expired": id })).into_response())
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("there is no active or pending silence {id}"),
        ))
    }
}

/// Asks for a tick now and waits until one that started after this call
/// has finished (what `POST /api/test/clock` answers after).
pub(crate) async fn evaluate_now(shared: &Shared) -> bool {
    let asked = shared
        .evaluations_asked
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        + 1;
    let mut evaluated = shared.evaluated.subscribe();
    shared.evaluate_now.notify_one();
    let done = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        evaluated.wait_for(|covered| *covered >= asked),
    )
    .await;
    matches!(done, Ok(Ok(_)))
}
