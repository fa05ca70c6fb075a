//! The connection handle: [`connect`], [`Connection::send_text`],
//! [`Connection::next_event`] and [`Connection::close`].
//!
//! A [`Connection`] owns no socket. The socket belongs to one background task
//! (see [`crate::io_task`]); the handle talks to it through two bounded
//! channels, commands in and events out. That is the whole design of the
//! unit, and the reasons are in the chapter, "Why one I/O task".

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::error::{CloseError, ConnectError, SendError};
use crate::io_task::{Command, IoTask, Socket};

// ANCHOR: constants
/// How long [`connect`] waits for TCP *and* the opening handshake together.
///
/// Browsers leave this to the operating system (a TCP connect can hang for
/// minutes); a user at a terminal who sees "connecting" for that long will
/// think the program froze. Five seconds is plenty on any network the course
/// runs on, and short enough to report "no answer" while the user still waits.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long [`Connection::close`] waits for the peer's Close frame.
///
/// RFC 6455 §7.1.1 asks the client to wait for the server's Close (and for
/// the server to close TCP first), but sets no number; a peer that never
/// answers must not keep us waiting forever. Same reasoning as
/// [`CONNECT_TIMEOUT`].
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// How many events may wait for [`Connection::next_event`].
///
/// Bounded on purpose: when the user stops reading, the I/O task stops
/// reading the socket too and TCP flow control slows the server down, instead
/// of our memory growing without limit. 64 absorbs any burst the course's
/// servers send.
pub const EVENT_BUFFER: usize = 64;

/// How many commands (sends, a close) may wait for the I/O task.
///
/// Bounded for the same reason: a caller that sends faster than the network
/// takes is slowed down at `send_text(..).await`.
pub const COMMAND_BUFFER: usize = 16;

/// The longest close reason: a control frame carries at most 125 bytes
/// (RFC 6455 §5.5), and the close code takes two of them.
pub const MAX_CLOSE_REASON: usize = 123;
// ANCHOR_END: constants

// ANCHOR: event
/// What happened on the connection, in order.
///
/// The stream always starts with [`Event::Opened`] and always ends with
/// exactly one [`Event::Closed`], after which [`Connection::next_event`]
/// returns `None`. Pings and Pongs never show up here: answering them is
/// the I/O task's job, not the user's.
#[derive(Debug)]
pub enum Event {
    /// The connection is open (the opening handshake succeeded).
    Opened,
    /// A text message arrived.
    Text(String),
    /// A binary message arrived.
    Binary(Vec<u8>),
    /// The connection ended. After a Close frame, its code and reason (1005
    /// if the frame carried no code); when the connection broke without a
    /// Close frame, 1006, the code RFC 6455 reserves for exactly that report.
    Closed {
        /// The close code.
        code: u16,
        /// The close reason, possibly empty.
        reason: String,
    },
    /// Reading failed (a reset, a protocol violation); a `Closed` with 1006
    /// follows. The error keeps its cause: print it with
    /// [`error_chain`](crate::error_chain).
    Error(tokio_tungstenite::tungstenite::Error),
}
// ANCHOR_END: event

// ANCHOR: connection
/// An open WebSocket connection, or one that has ended.
///
/// Sending takes `&self`, reading events takes `&mut self`. Dropping the
/// handle closes the connection (Close 1001, "going away") and ends the
/// background task: nothing keeps running after the handle is gone.
#[derive(Debug)]
pub struct Connection {
    /// Commands for the I/O task; closed when the task has ended.
    commands: mpsc::Sender<Command>,
    /// Events from the I/O task; ends after `Event::Closed`.
    events: mpsc::Receiver<Event>,
}
// ANCHOR_END: connection

// ANCHOR: connect
/// Opens a WebSocket connection to `url` (a `ws://` URL), giving up after
/// [`CONNECT_TIMEOUT`].
pub async fn connect(url: &str) -> Result<Connection, ConnectError> {
    connect_with_timeout(url, CONNECT_TIMEOUT).await
}

/// Opens a WebSocket connection to `url`, giving up after `limit`.
///
/// Each failure is its own [`ConnectError`] variant: a malformed or non-`ws`
/// URL is `InvalidUrl` (checked before touching the network), a refused TCP
/// connect is `Refused`, no finished handshake within `limit` is `Timeout`,
/// an HTTP answer that is not an upgrade is `Handshake`, anything else is `Io`.
pub async fn connect_with_timeout(url: &str, limit: Duration) -> Result<Connection, ConnectError> {
    // ANCHOR_END: connect
    todo!("Task 1: connect and classify the errors (chapter 01, section \"Task 1: Connecting\")")
}

impl Connection {
    /// Spawns the I/O task for a freshly opened socket and returns its handle.
    ///
    /// The task is not kept as a `JoinHandle`: it ends on its own when the
    /// connection ends or when this handle (and with it the command sender)
    /// is dropped.
    pub(crate) fn start(socket: Socket) -> Connection {
        let (commands, command_receiver) = mpsc::channel(COMMAND_BUFFER);
        let (event_sender, events) = mpsc::channel(EVENT_BUFFER);
        tokio::spawn(IoTask::new(socket, command_receiver, event_sender).run());
        Connection { commands, events }
    }

    // ANCHOR: next_event
    /// The next event, or `None` once the connection has ended and its
    /// [`Event::Closed`] has been returned.
    ///
    /// You do not have to call this for the connection to work: the I/O
    /// task reads (and answers pings) on its own. But events queue up to
    /// [`EVENT_BUFFER`]; a client that receives data should keep reading.
    pub async fn next_event(&mut self) -> Option<Event> {
        self.events.recv().await
    }
    // ANCHOR_END: next_event

    // ANCHOR: send
    /// Sends a text message. Returns once the frame has been written to the
    /// socket, or [`SendError::Closed`] if the connection has ended.
    pub async fn send_text(&self, text: impl Into<String>) -> Result<(), SendError> {
        self.send(Message::text(text.into())).await
    }

    /// Sends a binary message; see [`Connection::send_text`].
    pub async fn send_binary(&self, bytes: impl Into<Vec<u8>>) -> Result<(), SendError> {
        self.send(Message::binary(bytes.into())).await
    }

    /// Hands `message` to the I/O task and waits for its answer.
    async fn send(&self, message: Message) -> Result<(), SendError> {
        // ANCHOR_END: send
        todo!("Task 3: send through the I/O task (chapter 01, section \"Task 3: Sending\")")
    }

    // ANCHOR: close
    /// Closes the connection: sends a Close frame with `code` and `reason`
    /// and returns once the peer's Close frame has arrived (or after
    /// [`CLOSE_TIMEOUT`]). Use 1000 for a normal close.
    pub async fn close(&self, code: u16, reason: &str) -> Result<(), CloseError> {
        // ANCHOR_END: close
        todo!(
            "Task 4: close and wait for the reply (chapter 01, section \"Task 4: Closing properly\")"
        )
    }
}
