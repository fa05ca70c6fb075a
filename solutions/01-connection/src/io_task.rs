//! The background task that owns the socket.
//!
//! Exactly one task reads and writes the `WebSocketStream`, for three reasons:
//!
//! * **It always reads.** tungstenite answers a Ping by *queueing* a Pong,
//!   which goes out on the next read or write. A client that only sends, or
//!   that reads only when its user asks, leaves Pongs queued and the server
//!   concludes the client is dead. This task reads whenever nothing else is
//!   happening, so Pongs leave at once.
//! * **It is the only writer.** Sends and the Close frame arrive as
//!   [`Command`]s on one bounded channel and are written in order. No
//!   `Arc<Mutex<SplitSink>>`, no two places that can write a Close.
//! * **Its life is the connection's life.** It ends when the connection ends
//!   (a Close either way, an error) or when the handle is dropped; the
//!   channels closing is how the handle learns it, and every later send is a
//!   typed [`SendError::Closed`].

use std::time::Duration;

use futures_util::StreamExt;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
// region: solution
use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::error::ProtocolError;

use crate::client::CLOSE_TIMEOUT;
// region: stub
// // Tasks 3 and 4 write to the socket: `send` and `close` come from `SinkExt`
// // (reading with `next` comes from `StreamExt`, above).
// #[allow(unused_imports, reason = "Tasks 3 and 4 use it")]
// use futures_util::SinkExt;
// endregion

use crate::client::Event;
use crate::error::{CloseError, SendError};

/// The socket type `connect` produces.
pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// After the close handshake, how long we keep reading while waiting for the
/// server to close TCP (RFC 6455 §7.1.1: the server closes first, so the
/// client's port does not linger in TIME_WAIT). A second is generous on
/// loopback and still short for a user who typed `/disconnect`.
pub(crate) const CLOSE_LINGER: Duration = Duration::from_secs(1);

/// Reported as the code of an [`Event::Closed`] when the peer's Close frame
/// had no code. RFC 6455 §7.1.5 reserves 1005 for this report; it is never
/// sent on the wire.
pub(crate) const NO_STATUS_RECEIVED: u16 = 1005;

/// Reported when the connection ended without a Close frame at all
/// (RFC 6455 §7.1.5 reserves 1006 for this report; never sent on the wire).
pub(crate) const ABNORMAL_CLOSURE: u16 = 1006;

// ANCHOR: command
/// What the handle asks the I/O task to do. Each command carries a oneshot
/// sender for its answer, so the caller learns the exact outcome of *its*
/// send or close.
#[derive(Debug)]
pub(crate) enum Command {
    /// Write one data message.
    Send {
        /// The message to write.
        message: Message,
        /// Where the outcome goes.
        reply: oneshot::Sender<Result<(), SendError>>,
    },
    /// Perform the close handshake, then end.
    Close {
        /// The Close frame to send.
        frame: CloseFrame,
        /// Where the outcome goes.
        reply: oneshot::Sender<Result<(), CloseError>>,
    },
}
// ANCHOR_END: command

/// Whether the task's loop goes on after handling something.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Keep running.
    Continue,
    /// The connection has ended; the task returns.
    Stop,
}

// ANCHOR: io_task
/// The state of the I/O task: the socket and its two channels.
pub(crate) struct IoTask {
    /// The WebSocket; nobody else has it.
    socket: Socket,
    /// Commands from the handle; `recv` gives `None` once the handle is dropped.
    commands: mpsc::Receiver<Command>,
    /// Events for the handle.
    events: mpsc::Sender<Event>,
}
// ANCHOR_END: io_task

impl IoTask {
    /// Wraps a freshly opened socket; [`IoTask::run`] does the work.
    pub(crate) fn new(
        socket: Socket,
        commands: mpsc::Receiver<Command>,
        events: mpsc::Sender<Event>,
    ) -> IoTask {
        IoTask {
            socket,
            commands,
            events,
        }
    }

    // ANCHOR: run
    /// The task's body: report `Opened`, then handle whatever comes first,
    /// a message from the socket or a command from the handle, until the
    /// connection ends.
    pub(crate) async fn run(mut self) {
        // ANCHOR_END: run
        // region: solution
        self.emit(Event::Opened).await;
        loop {
            // Both branches are cancel-safe: a half-read frame stays in
            // tungstenite's buffer, and an unreceived command stays queued.
            let flow = tokio::select! {
                incoming = self.socket.next() => self.on_incoming(incoming).await,
                command = self.commands.recv() => match command {
                    Some(command) => self.on_command(command).await,
                    None => self.on_handle_dropped().await,
                },
            };
            if flow == Flow::Stop {
                break;
            }
        }
        tracing::debug!("the I/O task has ended");
        // region: stub
        // todo!("Task 2: the I/O task's loop (chapter 01, section \"Task 2: The I/O task\")")
        // endregion
    }

    // ANCHOR: on_incoming
    /// Handles what one read of the socket produced (`None`: the stream ended).
    async fn on_incoming(&mut self, incoming: Option<Result<Message, WsError>>) -> Flow {
        // ANCHOR_END: on_incoming
        // region: solution
        match incoming {
            Some(Ok(Message::Close(frame))) => {
                // tungstenite has queued our Close reply (same code); reading
                // on in `linger` sends it. We must not send a second Close.
                tracing::debug!(?frame, "the peer closed the connection");
                self.emit(closed_event(frame)).await;
                self.linger().await;
                Flow::Stop
            }
            Some(Ok(message)) => {
                self.forward(message).await;
                Flow::Continue
            }
            Some(Err(error)) => {
                tracing::debug!(%error, "reading from the socket failed");
                self.emit(Event::Error(error)).await;
                self.emit(lost_event("reading from the socket failed"))
                    .await;
                Flow::Stop
            }
            None => {
                self.emit(lost_event("the connection ended without a Close frame"))
                    .await;
                Flow::Stop
            }
        }
        // region: stub
        // todo!("Task 2: turn what was read into events (chapter 01, section \"Task 2: The I/O task\")")
        // endregion
    }

    // ANCHOR: forward
    /// Forwards a data message as an event. Pings and Pongs are not the
    /// user's business: tungstenite has already queued the Pong.
    async fn forward(&self, message: Message) {
        // ANCHOR_END: forward
        // region: solution
        match message {
            Message::Text(text) => self.emit(Event::Text(text.as_str().to_owned())).await,
            Message::Binary(bytes) => self.emit(Event::Binary(bytes.to_vec())).await,
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) | Message::Frame(_) => {}
        }
        // region: stub
        // todo!("Task 2: forward text and binary messages (chapter 01, section \"Task 2: The I/O task\")")
        // endregion
    }

    /// Carries out one command and sends its outcome back to the caller.
    async fn on_command(&mut self, command: Command) -> Flow {
        match command {
            Command::Send { message, reply } => {
                let outcome = self.write(message).await;
                // The caller may have stopped waiting; its loss.
                let _ = reply.send(outcome);
                Flow::Continue
            }
            Command::Close { frame, reply } => {
                let outcome = self.close_handshake(frame).await;
                let _ = reply.send(outcome);
                Flow::Stop
            }
        }
    }

    /// The handle is gone, so nobody will close the connection: close it
    /// politely ourselves with 1001, "going away" (what a browser sends when
    /// the page is left), instead of dropping the socket on the server.
    async fn on_handle_dropped(&mut self) -> Flow {
        let going_away = CloseFrame {
            code: CloseCode::Away,
            reason: "".into(),
        };
        if let Err(error) = self.close_handshake(going_away).await {
            tracing::debug!(%error, "closing after the handle was dropped failed");
        }
        Flow::Stop
    }

    // ANCHOR: write
    /// Writes and flushes one message.
    async fn write(&mut self, message: Message) -> Result<(), SendError> {
        // ANCHOR_END: write
        // region: solution
        self.socket
            .send(message)
            .await
            .map_err(|error| match error {
                WsError::ConnectionClosed
                | WsError::AlreadyClosed
                | WsError::Protocol(ProtocolError::SendAfterClosing) => SendError::Closed,
                other => SendError::Failed(other),
            })
        // region: stub
        // todo!("Task 3: write the message (chapter 01, section \"Task 3: Sending\")")
        // endregion
    }

    // ANCHOR: close_handshake
    /// Sends our Close frame, waits (at most `CLOSE_TIMEOUT`) for the peer's,
    /// forwarding any data that arrives before it, and reports `Closed`.
    async fn close_handshake(&mut self, frame: CloseFrame) -> Result<(), CloseError> {
        // ANCHOR_END: close_handshake
        // region: solution
        if let Err(error) = self.socket.send(Message::Close(Some(frame))).await {
            self.emit(lost_event("sending the Close frame failed"))
                .await;
            return Err(CloseError::Failed(error));
        }
        let reply = tokio::time::timeout(CLOSE_TIMEOUT, self.wait_for_close_reply())
            .await
            .unwrap_or(Err(CloseError::Timeout {
                after: CLOSE_TIMEOUT,
            }));
        match reply {
            Ok(frame) => {
                self.emit(closed_event(frame)).await;
                self.linger().await;
                Ok(())
            }
            Err(error) => {
                tracing::debug!(%error, "the close handshake did not complete");
                self.emit(lost_event("the close handshake did not complete"))
                    .await;
                Err(error)
            }
        }
        // region: stub
        // todo!("Task 4: the close handshake (chapter 01, section \"Task 4: Closing properly\")")
        // endregion
    }

    // region: solution
    /// Reads until the peer's Close frame. Data may still arrive before it
    /// (the peer sent it before it saw our Close): it is forwarded, not lost.
    async fn wait_for_close_reply(&mut self) -> Result<Option<CloseFrame>, CloseError> {
        loop {
            match self.socket.next().await {
                Some(Ok(Message::Close(frame))) => return Ok(frame),
                Some(Ok(message)) => self.forward(message).await,
                Some(Err(error)) => return Err(CloseError::Failed(error)),
                None => return Err(CloseError::NoReply),
            }
        }
    }
    // endregion

    /// After both Close frames: keep reading until the server closes TCP, or
    /// [`CLOSE_LINGER`] passes. Reading is what makes tungstenite flush a
    /// Close reply it has queued; waiting for the server to close first gives
    /// it an orderly end instead of a reset.
    async fn linger(&mut self) {
        let until_end = async { while self.socket.next().await.is_some() {} };
        if tokio::time::timeout(CLOSE_LINGER, until_end).await.is_err() {
            tracing::debug!("the peer kept TCP open after the close handshake");
        }
    }

    /// Hands an event to the handle. While the buffer is full this waits,
    /// and the task stops reading: that is the backpressure. An error means
    /// the handle is gone and nobody wants the event; the command channel
    /// reports the same thing, and the loop ends there.
    async fn emit(&self, event: Event) {
        if self.events.send(event).await.is_err() {
            tracing::trace!("event dropped: the handle is gone");
        }
    }
}

/// The `Closed` event for a Close frame (1005 when it carried no code).
fn closed_event(frame: Option<CloseFrame>) -> Event {
    match frame {
        Some(frame) => Event::Closed {
            code: frame.code.into(),
            reason: frame.reason.as_str().to_owned(),
        },
        None => Event::Closed {
            code: NO_STATUS_RECEIVED,
            reason: String::new(),
        },
    }
}

/// The `Closed` event for a connection that ended without a Close frame.
fn lost_event(why: &str) -> Event {
    Event::Closed {
        code: ABNORMAL_CLOSURE,
        reason: why.to_owned(),
    }
}
