//! One WebSocket client: a reader that handles its requests and a writer
//! that empties its outbox.
//!
//! The writer is the only place that waits for the client. While it waits
//! (the client reads slowly, or not at all), ingest goes on filling the
//! outbox, which the hub keeps bounded; once the client can take more, the
//! writer takes everything owed in one go, so a slow client gets fewer,
//! bigger messages rather than an ever longer queue.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::time::Instant;

use super::{Shared, stopped};
use crate::hub::{ClientId, Close, Outbox, SubscribeError};
use crate::protocol::{ClientMessage, ServerMessage};

/// A send that makes no progress for this long ends the connection: the
/// client is gone or stuck, and holding its socket helps nobody.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// The code the reader records when the client closed first (1000); the
/// writer then only completes the handshake.
const PEER_CLOSED: u16 = 1000;
/// How long a Close handshake may take before the socket is dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Serves one client until either side closes or the server stops.
pub(super) async fn run(socket: WebSocket, shared: Arc<Shared>) {
    let (client, outbox) = shared.hub().connect();
    let (sink, stream) = socket.split();
    let writer = write(sink, &outbox, &shared);
    let reader = read(stream, client, &outbox, &shared);
    // The reader ends when the client closes (it then asks the writer to
    // finish the handshake); the writer ends on a close from anywhere.
    let ((), ()) = tokio::join!(writer, reader);
    shared.hub().disconnect(client);
}

async fn read(
    mut stream: SplitStream<WebSocket>,
    client: ClientId,
    outbox: &Outbox,
    shared: &Shared,
) {
    let mut closing = outbox.closing();
    loop {
        let incoming = tokio::select! {
            incoming = stream.next() => incoming,
            _ = closing.wait_for(Option::is_some) => return,
        };
        match incoming {
            Some(Ok(Message::Text(text))) => handle(text.as_str(), client, outbox, shared),
            Some(Ok(Message::Binary(_))) => outbox.send(error(
                None,
                "bad_message",
                "the dashboard's messages are JSON text frames",
            )),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            Some(Ok(Message::Close(_))) | None => {
                outbox.close(Close {
                    code: PEER_CLOSED,
                    reason: String::new(),
                });
                return;
            }
            Some(Err(failure)) => {
                let (code, reason) = if too_big(failure) {
                    (
                        1009,
                        format!("a message is at most {} bytes", super::MAX_MESSAGE),
                    )
                } else {
                    (1002, "the WebSocket stream broke".to_owned())
                };
                outbox.close(Close { code, reason });
                return;
            }
        }
    }
}

fn error(id: Option<String>, code: &str, message: &str) -> ServerMessage {
    ServerMessage::Error {
        id,
        code: code.to_owned(),
        message: message.to_owned(),
    }
}

/// Handles one request; answers and errors go through the outbox, in order.
fn handle(text: &str, client: ClientId, outbox: &Outbox, shared: &Shared) {
    let message = match serde_json::from_str::<ClientMessage>(text) {
        Ok(message) => message,
        Err(failure) => {
            let code = if failure.to_string().contains("selector") {
                "bad_selector"
            } else {
                "bad_message"
            };
            // Name the subscription or query the error is about, when the
            // message is JSON with an `id`, so the client can tell which.
            let id = serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .and_then(|value| value.get("id")?.as_str().map(str::to_owned));
            return outbox.send(error(
                id,
                code,
                &format!("not a message of the dashboard's protocol: {failure}"),
            ));
        }
    };
    let now = shared.clock.now();
    match message {
        ClientMessage::Subscribe {
            id,
            selector,
            since,
            policy,
        } => {
            if let Some(hz) = policy.max_hz
                && !(hz.is_finite() && hz > 0.0)
            {
                return outbox.send(error(
                    Some(id),
                    "bad_message",
                    "max_hz is a number of messages a second, above 0",
                ));
            }
            let result = shared
                .hub()
                .subscribe(client, &id, selector, since, policy, now);
            match result {
                Ok(()) => {}
                Err(refused @ SubscribeError::TooMany(_)) => outbox.send(error(
                    Some(id),
                    "too_many_subscriptions",
                    &refused.to_string(),
                )),
                Err(SubscribeError::NoClient) => {}
            }
        }
        ClientMessage::Unsubscribe { id } => {
            if !shared.hub().unsubscribe(client, &id) {
                outbox.send(error(
                    Some(id),
                    "unknown_subscription",
                    "there is no subscription with this id",
                ));
            }
        }
        ClientMessage::Query {
            id,
            selector,
            query,
        } => {
            let answer = shared.hub().store().query(&selector, &query, now);
            outbox.send(match answer {
                Ok(result) => ServerMessage::Result {
                    id,
                    tier: result.tier,
                    series: result.series,
                },
                Err(refused) => error(Some(id), "bad_query", &refused.to_string()),
            });
        }
        ClientMessage::WatchAlerts => {
            outbox.watch_alerts();
            outbox.send_alerts(super::alerting::current(shared));
        }
    }
}

async fn write(mut sink: SplitSink<WebSocket, Message>, outbox: &Outbox, shared: &Shared) {
    let mut stop = shared.stop.clone();
    let mut closing = outbox.closing();
    let close = 'run: loop {
        let batch = outbox.take(Instant::now());
        if batch.messages.is_empty() {
            let wake_at = batch.wake_at;
            tokio::select! {
                () = outbox.woken() => {}
                () = async {
                    match wake_at {
                        Some(at) => tokio::time::sleep_until(at).await,
                        None => std::future::pending().await,
                    }
                } => {}
                _ = closing.wait_for(Option::is_some) => {}
                () = stopped(&mut stop) => break Close {
                    code: 1001,
                    reason: "the server is shutting down".to_owned(),
                },
            }
            if let Some(close) = closing.borrow().clone() {
                break close;
            }
            continue;
        }
        for message in batch.messages {
            let text = match serde_json::to_string(&message) {
                Ok(text) => text,
                Err(failure) => {
                    tracing::error!(%failure, "a message could not be encoded");
                    continue;
                }
            };
            tokio::select! {
                sent = tokio::time::timeout(WRITE_TIMEOUT, sink.send(Message::Text(text.into()))) => {
                    if !matches!(sent, Ok(Ok(()))) {
                        return;
                    }
                }
                // Closed while the client was not reading: do not wait for
                // it to read what came before.
                closed = closing.wait_for(Option::is_some) => {
                    if let Ok(close) = closed
                        && let Some(close) = close.clone()
                    {
                        break 'run close;
                    }
                }
                () = stopped(&mut stop) => break 'run Close {
                    code: 1001,
                    reason: "the server is shutting down".to_owned(),
                },
            }
        }
    };
    // The reader also watches `closing`: make sure it stops too.
    outbox.close(close.clone());
    if close.code == PEER_CLOSED {
        // The client closed: the library has queued its reply to the
        // client's Close frame; flushing sends it, and that completes the
        // handshake (a Close of our own now would be refused).
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, sink.close()).await;
        return;
    }
    let frame = Message::Close(Some(CloseFrame {
        code: close.code,
        reason: close.reason.into(),
    }));
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
        sink.send(frame).await?;
        sink.close().await
    })
    .await;
}

/// Whether a read error is a message over the size limit.
fn too_big(failure: axum::Error) -> bool {
    matches!(
        failure
            .into_inner()
            .downcast::<tokio_tungstenite::tungstenite::Error>()
            .map(|failure| *failure),
        Ok(tokio_tungstenite::tungstenite::Error::Capacity(_))
    )
}
