//! One connection: the handshake, one reader, one writer.
//!
//! * **One writer.** Everything for this client — replies, room messages,
//!   receipts, the final Close — goes through one bounded queue that one
//!   writer drains. No `Arc<Mutex<SplitSink>>` shared by tasks: frames
//!   cannot interleave, and a Close is always the last frame.
//! * **A reader that never blocks.** Database work is awaited (it runs on
//!   the blocking pool, see [`crate::store`]), never done inline.
//! * **Errors end the connection, not the server.** A reset, a protocol
//!   error or a message over the transport limit ends this loop; nothing is
//!   `unwrap`ped, nothing spins.
//! * **A clear refusal.** An attachment over the limit is answered with an
//!   [`ServerMessage::Error`] and the connection stays open: the limit is
//!   the application's, on the whole message after its fragments were put
//!   together. Only a message over the *transport* limit (which bounds the
//!   memory one message can take) closes the connection with 1009.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, timeout};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};

use super::Shared;
use super::config::{CLOSE_TIMEOUT, CLOSE_WRITE_TIMEOUT, HANDSHAKE_TIMEOUT, MAX_USER_NAME};
use super::rooms::{Closing, Member, deliver, frame};
use crate::emoji::expand_shortcodes;
use crate::protocol::{
    AttachmentInfo, ClientMessage, DownloadHeader, MessageKind, ServerMessage, Status,
    UploadHeader, decode_binary, encode_binary,
};
use crate::render::human_size;
use crate::store::Draft;

type Socket = WebSocketStream<TcpStream>;

/// How the reader loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// The peer closed, or the server closed and the peer answered.
    Closed,
    /// A message over the transport limit: 1009 was asked for; the rest of
    /// the message is still on the wire and must be drained.
    TooBig,
    /// Reset, protocol error, or no Close reply in time.
    Broken,
}

/// Serves one accepted TCP connection until it ends.
pub(crate) async fn serve(stream: TcpStream, shared: Arc<Shared>, shutdown: watch::Receiver<bool>) {
    let Ok(Ok((socket, user))) = timeout(HANDSHAKE_TIMEOUT, handshake(stream, &shared)).await
    else {
        tracing::debug!("handshake failed or timed out");
        return;
    };
    let connection = shared.next_connection.fetch_add(1, Ordering::Relaxed);
    shared.live.fetch_add(1, Ordering::SeqCst);
    let (queue, outgoing) = mpsc::channel(shared.config.client_queue);
    let (closing, closing_seen) = watch::channel(None);
    let me = Member {
        connection,
        user,
        queue,
        closing: Arc::new(closing),
    };
    let (sink, source) = socket.split();
    let mut reader = Reader {
        shared: &shared,
        me: me.clone(),
        joined: Vec::new(),
    };
    let writer = write_loop(
        sink,
        outgoing,
        closing_seen.clone(),
        shutdown.clone(),
        shared.config.write_timeout,
    );
    let writing = async {
        let sink = writer.await;
        // However the writer ended (a stalled or failed write included),
        // the reader stops too: a connection that can no longer be written
        // to must not stay in its rooms, waiting for the peer to speak.
        me.close(Closing::quiet());
        sink
    };
    let (sink, (source, ending)) =
        tokio::join!(writing, reader.run(source, closing_seen, shutdown));
    for room in &reader.joined {
        shared.rooms.leave(room, connection).await;
    }
    if ending == Ending::TooBig
        && let Ok(socket) = sink.reunite(source)
    {
        drain(socket.into_inner()).await;
    }
    shared.live.fetch_sub(1, Ordering::SeqCst);
    tracing::debug!(connection, ?ending, "connection ended");
}

/// The WebSocket handshake, with the transport limits, and the user name
/// from the `user` query parameter (`ws://host/?user=alice`).
// The callback's signature (an HTTP response as the error) is tungstenite's.
#[allow(clippy::result_large_err)]
async fn handshake(stream: TcpStream, shared: &Shared) -> Result<(Socket, String), WsError> {
    let mut user = None;
    let config = WebSocketConfig::default()
        .max_message_size(Some(shared.config.max_message_size))
        .max_frame_size(Some(shared.config.max_message_size));
    let check = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        match user_name(request.uri().query().unwrap_or("")) {
            Some(name) => {
                user = Some(name);
                Ok(response)
            }
            None => {
                let mut refusal = ErrorResponse::new(Some(format!(
                    "the query parameter `user` is required: 1 to {MAX_USER_NAME} letters, digits, '-', '_' or '.'"
                )));
                *refusal.status_mut() = StatusCode::BAD_REQUEST;
                Err(refusal)
            }
        }
    };
    let socket =
        tokio_tungstenite::accept_hdr_async_with_config(stream, check, Some(config)).await?;
    // `check` accepted, so the name is there.
    let user = user.unwrap_or_default();
    Ok((socket, user))
}

/// The `user` parameter of a query string, if it is a valid name.
fn user_name(query: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == "user")
        .map(|(_, value)| value)
        .filter(|name| {
            !name.is_empty()
                && name.len() <= MAX_USER_NAME
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        })
        .map(str::to_owned)
}

/// Waits until the connection must close: a reason was set (slow client,
/// message too big, reader finished) or the server is shutting down.
async fn must_close(
    closing: &mut watch::Receiver<Option<Closing>>,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<Closing> {
    tokio::select! {
        reason = closing.wait_for(Option::is_some) => reason.ok().and_then(|reason| reason.clone()),
        _ = shutdown.wait_for(|down| *down) => Some(Closing {
            code: 1001,
            reason: "server shutting down".into(),
        }),
    }
}

// ANCHOR: writer
/// The one writer: drains the queue into the socket until the connection
/// must close, then sends the Close frame (if there is a reason to give)
/// as the last frame. A write that takes longer than `write_timeout`
/// ([`WRITE_TIMEOUT`](super::config::WRITE_TIMEOUT) unless the
/// [`Config`](super::Config) says otherwise)
/// means the client stopped reading: it is closed as too slow.
async fn write_loop(
    mut sink: SplitSink<Socket, Message>,
    mut outgoing: mpsc::Receiver<Message>,
    mut closing: watch::Receiver<Option<Closing>>,
    mut shutdown: watch::Receiver<bool>,
    write_timeout: Duration,
) -> SplitSink<Socket, Message> {
    todo!("Task 6: the one writer (chapter 09, section \"Task 6: The connection\")")
}
// ANCHOR_END: writer

/// Reads the rest of an over-long message off the wire, with a time limit,
/// after the Close(1009): closing a socket with unread bytes makes the
/// kernel send a reset, which could destroy the Close before the client
/// reads it.
async fn drain(mut stream: TcpStream) {
    let deadline = Instant::now() + CLOSE_TIMEOUT;
    let _ = stream.shutdown().await;
    let mut buffer = vec![0u8; 64 * 1024];
    while let Ok(Ok(read)) = tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
        if read == 0 {
            break;
        }
    }
}

/// The reading half of a connection and what it knows.
struct Reader<'a> {
    shared: &'a Shared,
    me: Member,
    joined: Vec<String>,
}

impl Reader<'_> {
    /// Reads and handles frames until the connection ends.
    async fn run(
        &mut self,
        mut source: SplitStream<Socket>,
        mut closing: watch::Receiver<Option<Closing>>,
        mut shutdown: watch::Receiver<bool>,
    ) -> (SplitStream<Socket>, Ending) {
        let ending = loop {
            let next = tokio::select! {
                biased;
                next = source.next() => next,
                _ = must_close(&mut closing, &mut shutdown) => {
                    break self.await_close_reply(&mut source).await;
                }
            };
            match next {
                None | Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) => {
                    break Ending::Closed;
                }
                Some(Err(WsError::Capacity(CapacityError::MessageTooLong { size, max_size }))) => {
                    self.me.close(Closing {
                        code: 1009,
                        reason: format!("message of {size} bytes is over the limit of {max_size}"),
                    });
                    break Ending::TooBig;
                }
                Some(Err(error)) => {
                    tracing::debug!(%error, "read failed");
                    break Ending::Broken;
                }
                Some(Ok(message)) => self.handle(message).await,
            }
        };
        // However it ended, the writer stops now (first reason wins).
        self.me.close(Closing::quiet());
        (source, ending)
    }

    /// The server is closing: the writer sends the Close; read (and drop)
    /// until the peer's reply, at most [`CLOSE_TIMEOUT`].
    async fn await_close_reply(&mut self, source: &mut SplitStream<Socket>) -> Ending {
        let deadline = Instant::now() + CLOSE_TIMEOUT;
        loop {
            match tokio::time::timeout_at(deadline, source.next()).await {
                Ok(Some(Ok(_))) => {}
                Ok(None | Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed))) => {
                    return Ending::Closed;
                }
                Ok(Some(Err(_))) | Err(_) => return Ending::Broken,
            }
        }
    }

    /// Puts one frame on this connection's own queue.
    fn reply(&self, message: &ServerMessage) {
        deliver(&self.me, frame(message));
    }

    fn refuse(&self, code: &str, message: String, client_id: Option<String>) {
        self.reply(&ServerMessage::Error {
            code: code.to_owned(),
            message,
            client_id,
        });
    }

    fn is_in(&self, room: &str) -> bool {
        self.joined.iter().any(|joined| joined == room)
    }

    fn not_joined(&self, room: &str, client_id: Option<String>) {
        self.refuse(
            "not_joined",
            format!("join the room {room:?} before using it"),
            client_id,
        );
    }

    // ANCHOR: handle
    /// Handles one frame from the client.
    async fn handle(&mut self, message: Message) {
        todo!("Task 6: handle a frame (chapter 09, section \"Task 6: The connection\")")
    }
    // ANCHOR_END: handle
}
