//! The connection task: one per URL, the only owner of its socket.
//!
//! It connects, then handles whatever comes first: a message from the
//! server (fanned out to every subscriber), a command (a new subscriber, a
//! message to write), the ping timer, or the health-check deadline. It is
//! the only writer, so concurrent sends are written one whole frame after
//! another. It reconnects when the socket is lost, and it ends, after a
//! polite close, when the last subscription is dropped. Nothing else is
//! spawned: when this task returns, nothing of the connection is left.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use crate::error::SendError;
use crate::manager::ManagerOptions;
use crate::subscription::{Event, Status};

/// The socket type `connect_async` produces.
type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long one connection attempt (TCP and handshake) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long we wait for the server's Close reply when we close.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// First wait before reconnecting; doubled after each failed attempt.
pub const RECONNECT_INITIAL: Duration = Duration::from_millis(100);

/// Longest wait between reconnection attempts (unit 04 adds jitter and a
/// limit; this unit keeps the simplest policy that cannot hammer a server).
pub const RECONNECT_MAX: Duration = Duration::from_secs(5);

// ANCHOR: command
/// What subscriptions ask of the connection task.
#[derive(Debug)]
pub(crate) enum Command {
    /// A new subscriber: its id and the sending half of its own bounded queue.
    Subscribe {
        /// The subscription's id.
        id: u64,
        /// Its queue.
        queue: mpsc::Sender<Event>,
    },
    /// Subscriber `id` subscribes to a topic with `request`: remember it for
    /// reconnects, and send it now if the socket is open.
    Topic {
        /// The subscription's id.
        id: u64,
        /// The message that subscribes.
        request: String,
        /// Where the outcome goes.
        reply: oneshot::Sender<Result<(), SendError>>,
    },
    /// Write one message; the outcome goes back on `reply`.
    Send {
        /// The message.
        message: Message,
        /// Where the outcome goes.
        reply: oneshot::Sender<Result<(), SendError>>,
    },
}
// ANCHOR_END: command

// ANCHOR: tls
/// The TLS set-up for `wss://` URLs. With no extra roots, `None`: tungstenite
/// then trusts the web's roots (the `rustls-tls-webpki-roots` feature). With
/// extra roots (DER), a rustls client that trusts exactly those, as a client
/// of a private certificate authority does. `ws://` URLs ignore it.
pub fn tls_connector(
    root_certificates: &[Vec<u8>],
) -> Result<Option<Connector>, tungstenite::Error> {
    // ANCHOR_END: tls
    todo!(
        "Task 6: trust the given roots for wss:// (chapter 06, \"Task 6: wss:// with your own root\")"
    )
}

// ANCHOR: subscriber
/// A subscriber as the task sees it.
#[derive(Debug)]
pub(crate) struct Subscriber {
    /// Its subscription's id.
    pub(crate) id: u64,
    /// Its queue.
    pub(crate) queue: mpsc::Sender<Event>,
    /// Messages dropped for it since it last received one.
    pub(crate) missed: u64,
    /// Its topic requests, in order, sent again after every reconnect.
    pub(crate) topics: Vec<String>,
}
// ANCHOR_END: subscriber

/// Why serving an open socket stopped.
#[derive(Debug, PartialEq, Eq)]
enum Ended {
    /// The socket is gone (closed, failed, or the peer went silent): reconnect.
    Lost,
    /// Every subscription was dropped: the task ends.
    Unsubscribed,
}

/// The task's state.
pub(crate) struct ConnectionTask {
    url: String,
    options: ManagerOptions,
    commands: mpsc::Receiver<Command>,
    status: watch::Sender<Status>,
    subscribers: Vec<Subscriber>,
}

impl ConnectionTask {
    /// A task for `url`; [`ConnectionTask::run`] does the work.
    pub(crate) fn new(
        url: &str,
        options: ManagerOptions,
        commands: mpsc::Receiver<Command>,
        status: watch::Sender<Status>,
    ) -> ConnectionTask {
        ConnectionTask {
            url: url.to_owned(),
            options,
            commands,
            status,
            subscribers: Vec::new(),
        }
    }

    /// Connects, serves, reconnects with doubling delays, until the last
    /// subscription is dropped or the very first attempt fails.
    pub(crate) async fn run(mut self) {
        let mut delay = RECONNECT_INITIAL;
        let mut ever_connected = false;
        loop {
            match self.open().await {
                Ok(mut socket) => {
                    delay = RECONNECT_INITIAL;
                    // The server has forgotten the old socket's topics: send
                    // them again before anything else. Failing to is losing
                    // this socket too.
                    if !ever_connected || self.restore_topics(&mut socket).await {
                        self.status.send_replace(Status::Connected);
                        if ever_connected {
                            self.fan_out(Event::Reconnected);
                        }
                        ever_connected = true;
                        if self.serve(socket).await == Ended::Unsubscribed {
                            break;
                        }
                    }
                }
                Err(error) if !ever_connected => {
                    tracing::debug!(url = %self.url, %error, "the first attempt failed");
                    self.status.send_replace(Status::Failed(Arc::new(error)));
                    break;
                }
                Err(error) => {
                    tracing::debug!(url = %self.url, %error, "reconnecting failed");
                }
            }
            self.status.send_replace(Status::Reconnecting);
            if self.pause(delay).await == Ended::Unsubscribed {
                break;
            }
            delay = (delay * 2).min(RECONNECT_MAX);
        }
        tracing::debug!(url = %self.url, "the connection task has ended");
    }

    /// One connection attempt, limited to [`CONNECT_TIMEOUT`].
    async fn open(&self) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
        let connector = tls_connector(&self.options.root_certificates)?;
        let attempt = tokio_tungstenite::connect_async_tls_with_config(
            self.url.as_str(),
            None,
            false,
            connector,
        );
        match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
            Ok(outcome) => outcome.map(|(socket, _response)| socket),
            Err(_) => Err(std::io::Error::from(std::io::ErrorKind::TimedOut).into()),
        }
    }

    // ANCHOR: serve
    /// Serves an open socket until it is lost or nobody is subscribed.
    async fn serve(&mut self, mut socket: Socket) -> Ended {
        // ANCHOR_END: serve
        todo!("Task 3: serve the socket (chapter 06, section \"Task 3: The health check\")")
    }

    /// A message from the server: data goes to every subscriber; control
    /// frames are tungstenite's business (it queues Pongs and the Close reply,
    /// which the next read flushes).
    fn on_message(&mut self, message: Message) {
        match message {
            Message::Text(text) => self.fan_out(Event::Text(text.as_str().to_owned())),
            Message::Binary(bytes) => self.fan_out(Event::Binary(bytes.to_vec())),
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) | Message::Frame(_) => {}
        }
    }

    /// Carries out a command; `false` when writing failed (the socket is lost).
    async fn on_command(&mut self, socket: &mut Socket, command: Command) -> bool {
        match command {
            Command::Subscribe { id, queue } => {
                self.add_subscriber(id, queue);
                true
            }
            Command::Topic { id, request, reply } => {
                self.remember_topic(id, &request);
                let outcome = socket
                    .send(Message::text(request))
                    .await
                    .map_err(SendError::Failed);
                let written = outcome.is_ok();
                let _ = reply.send(outcome);
                written
            }
            Command::Send { message, reply } => {
                let outcome = socket.send(message).await.map_err(SendError::Failed);
                let written = outcome.is_ok();
                // The sender may have stopped waiting; its loss.
                let _ = reply.send(outcome);
                written
            }
        }
    }

    fn add_subscriber(&mut self, id: u64, queue: mpsc::Sender<Event>) {
        self.subscribers.push(Subscriber {
            id,
            queue,
            missed: 0,
            topics: Vec::new(),
        });
    }

    fn remember_topic(&mut self, id: u64, request: &str) {
        if let Some(subscriber) = self.subscribers.iter_mut().find(|s| s.id == id) {
            subscriber.topics.push(request.to_owned());
        }
    }

    // ANCHOR: restore_topics
    /// After a reconnect, before anything else: sends the topic requests of
    /// every **live** subscriber again, each subscriber's in the order it
    /// made them. The server forgot them with the old socket; a dropped
    /// subscription's topics must not come back. `false` when writing fails
    /// (this socket is lost too).
    async fn restore_topics(&mut self, socket: &mut Socket) -> bool {
        // ANCHOR_END: restore_topics
        todo!(
            "Task 7: restore the topics (chapter 06, section \"Task 7: Subscriptions survive a reconnect\")"
        )
    }

    // ANCHOR: fan_out
    /// Gives `event` to every subscriber without ever waiting: a full queue
    /// counts a missed message for that subscriber alone, reported as
    /// [`Event::Lagged`] before the next event that fits. Subscribers whose
    /// subscription was dropped are removed.
    fn fan_out(&mut self, event: Event) {
        // ANCHOR_END: fan_out
        todo!(
            "Task 2: fan out without blocking (chapter 06, section \"Task 2: Fan-out and slow subscribers\")"
        )
    }

    /// Waits `delay` before the next attempt. Commands keep being handled:
    /// subscribers join, sends fail with `NotConnected`, and when the last
    /// subscription is dropped the wait ends with `Unsubscribed`.
    async fn pause(&mut self, delay: Duration) -> Ended {
        let until = Instant::now() + delay;
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(until) => return Ended::Lost,
                command = self.commands.recv() => match command {
                    Some(Command::Subscribe { id, queue }) => self.add_subscriber(id, queue),
                    Some(Command::Topic { id, request, reply }) => {
                        // Remembered: the reconnect sends it.
                        self.remember_topic(id, &request);
                        let _ = reply.send(Ok(()));
                    }
                    Some(Command::Send { reply, .. }) => {
                        let _ = reply.send(Err(SendError::NotConnected));
                    }
                    None => return Ended::Unsubscribed,
                },
            }
        }
    }
}

// ANCHOR: close
/// The last subscription is gone: close politely (1000) and wait, at most
/// [`CLOSE_TIMEOUT`], for the server's reply and the end of the stream.
/// A silent peer gets the timeout; the socket is dropped either way.
async fn close(socket: &mut Socket) {
    // ANCHOR_END: close
    todo!(
        "Task 5: close when the last subscriber leaves (chapter 06, section \"Task 5: Nothing left behind\")"
    )
}
