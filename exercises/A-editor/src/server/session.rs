//! One WebSocket connection: frames in, the document task's messages out.
//!
//! The connection's messages come from the document task through a bounded
//! queue; a page that does not keep up is closed (1008) rather than
//! buffered without end. A ping goes out every [`PING_EVERY`]; a page not
//! heard from for [`GONE_AFTER`] (no frame, no pong: a dropped network) is
//! taken for gone, so its cursor disappears from the others' screens within
//! two seconds, as when it closes properly.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::Shared;
use super::document::{Command, Outgoing};
use crate::protocol::{ClientMessage, ServerMessage};

/// A ping this often.
pub const PING_EVERY: Duration = Duration::from_millis(500);

/// Silent this long: the page is gone.
pub const GONE_AFTER: Duration = Duration::from_millis(1500);

/// A frame that cannot be written in this time means a stuck connection.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// A member's place in a document task, given up when dropped (also when
/// the upgrade never happens).
pub(crate) struct Membership {
    pub conn: u64,
    pub client: String,
    pub inbox: mpsc::Sender<Command>,
}

impl Drop for Membership {
    fn drop(&mut self) {
        let leave = Command::Leave {
            conn: self.conn,
            client: std::mem::take(&mut self.client),
        };
        if let Err(mpsc::error::TrySendError::Full(leave)) = self.inbox.try_send(leave) {
            let inbox = self.inbox.clone();
            tokio::spawn(async move {
                let _ = inbox.send(leave).await;
            });
        }
    }
}

/// Runs one connection until either side closes or the server stops.
pub(crate) async fn run(
    socket: WebSocket,
    shared: Arc<Shared>,
    membership: Membership,
    mut outbox: mpsc::Receiver<Outgoing>,
) {
    let (mut sink, mut stream) = socket.split();
    let mut stop = shared.stop.clone();
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut heard = Instant::now();
    let close = loop {
        tokio::select! {
            outgoing = outbox.recv() => match outgoing {
                Some(Outgoing::Message(message)) => {
                    let frame = Message::Text(message.to_json().into());
                    if !matches!(tokio::time::timeout(WRITE_TIMEOUT, sink.send(frame)).await, Ok(Ok(()))) {
                        break None;
                    }
                }
                Some(Outgoing::Frame(text)) => {
                    if !matches!(tokio::time::timeout(WRITE_TIMEOUT, sink.send(Message::Text(text))).await, Ok(Ok(()))) {
                        break None;
                    }
                }
                Some(Outgoing::Close(code, reason)) => break Some((code, reason)),
                None => break Some((1008, "dropped by the document".to_owned())),
            },
            incoming = stream.next() => {
                heard = Instant::now();
                match incoming {
                    Some(Ok(Message::Text(text))) => {
                        let reply = match serde_json::from_str::<ClientMessage>(text.as_str()) {
                            Ok(message) => {
                                forward(&membership, message).await;
                                None
                            }
                            Err(error) => Some(bad_request(&format!(
                                "not a message of the editor's protocol: {error}"
                            ))),
                        };
                        if let Some(reply) = reply {
                            let frame = Message::Text(reply.to_json().into());
                            if !matches!(tokio::time::timeout(WRITE_TIMEOUT, sink.send(frame)).await, Ok(Ok(()))) {
                                break None;
                            }
                        }
                    }
                    Some(Ok(Message::Binary(_))) => {
                        let reply = bad_request("the editor's messages are JSON text frames");
                        if sink.send(Message::Text(reply.to_json().into())).await.is_err() {
                            break None;
                        }
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Close(_))) | None => break None,
                    Some(Err(error)) => {
                        break too_big(error).then(|| (1009, "message too big".to_owned()));
                    }
                }
            }
            _ = ping.tick() => {
                if heard.elapsed() >= GONE_AFTER {
                    break None;
                }
                if sink.send(Message::Ping(Vec::new().into())).await.is_err() {
                    break None;
                }
            }
            () = super::stopped(&mut stop) => break Some((1001, "the server is shutting down".to_owned())),
        }
    };
    // Leave first: the others see this cursor go at once.
    drop(membership);
    if let Some((code, reason)) = close {
        let frame = Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }));
        let closed = async {
            sink.send(frame).await.ok()?;
            // Read until the page's Close: then the connection ends cleanly.
            while let Some(Ok(message)) = stream.next().await {
                if matches!(message, Message::Close(_)) {
                    break;
                }
            }
            Some(())
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), closed).await;
    }
}

async fn forward(membership: &Membership, message: ClientMessage) {
    let command = match message {
        ClientMessage::Edit { seq, base, edit } => Command::Edit {
            client: membership.client.clone(),
            seq,
            base,
            edit,
        },
        ClientMessage::Select { selection } => Command::Select {
            client: membership.client.clone(),
            selection,
        },
    };
    // The document task is gone only when it failed or the server stops:
    // the outbox ends then too, and the loop with it.
    let _ = membership.inbox.send(command).await;
}

fn bad_request(message: &str) -> ServerMessage {
    ServerMessage::Error {
        code: "bad_request".to_owned(),
        message: message.to_owned(),
    }
}

/// Whether a read error is a message over the size limit.
fn too_big(error: axum::Error) -> bool {
    matches!(
        error
            .into_inner()
            .downcast::<tokio_tungstenite::tungstenite::Error>()
            .map(|error| *error),
        Ok(tokio_tungstenite::tungstenite::Error::Capacity(_))
    )
}
