//! One WebSocket connection: a single task owns the stream and reacts to
//! whichever comes first — a client frame, a delayed echo falling due, a ping
//! tick, a room message, a scheduled Close, or the server's shutdown.
//!
//! One owner means one writer: no lock around the sink, and the order of
//! frames on the wire is the order of the code below.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::{broadcast, watch};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Bytes, Error as WsError, Message};

use super::pings::Pings;
use super::tap::TappedStream;
pub(crate) use super::wait::signalled;
use super::wait::{Shutdown, at, recv_room, tick};
use crate::config::{MAX_PENDING_ECHOES, ROOM_WRITE_TIMEOUT, SHUTDOWN_GRACE};
use crate::options::{EchoOptions, TopicOptions};
use crate::records::CloseRecord;
use crate::state::{ConnSlot, OpenGuard, Room, Shared, lock};

/// What the connection does with the client's messages.
pub(crate) enum Behaviour {
    /// `/ws` and an authorized `/ws/auth`.
    Echo(EchoOptions),
    /// `/ws/close` and a refused `/ws/auth`: Close with this code and reason
    /// after `after`.
    CloseSoon {
        code: u16,
        reason: String,
        after: Duration,
    },
    /// `/ws/room/{name}`.
    Room {
        name: String,
        room: Room,
        /// Subscribed when the request is accepted, so the room cannot be
        /// removed between the request and the upgrade.
        joined: Option<broadcast::Receiver<Message>>,
    },
    /// `/ws/topics`: `subscribe <topic>`, `unsubscribe <topic>` and
    /// `publish <topic> <text>`; a connection receives `"<topic> <text>"`
    /// for the topics it subscribed to, and a new connection to none.
    Topics {
        options: TopicOptions,
        subscribed: HashSet<String>,
        /// The server's topic channel, subscribed when the request is accepted.
        joined: Option<broadcast::Receiver<Message>>,
    },
}

/// Why the main loop stopped; `ending.rs` turns it into an [`Ending`](crate::Ending).
pub(super) enum End {
    /// The client sent Close first; tungstenite has queued the reply.
    PeerClosed(Option<CloseFrame>),
    /// The client answered our Close (or the stream reported its end).
    ReplyReceived,
    /// The client did not answer our Close in time.
    ReplyTimeout,
    Read(WsError),
    Write(WsError),
    /// `silent_after` reached: go half-open.
    Silent,
    /// A room message could not be written within `ROOM_WRITE_TIMEOUT`.
    TooSlowWrite,
}

enum Outgoing {
    Data(Message),
    Close,
}

enum Event {
    Shutdown,
    ReplyTimeout,
    EchoDue,
    CloseNow,
    PingTick,
    Room(Result<Message, broadcast::error::RecvError>),
    Incoming(Option<Result<Message, WsError>>),
}

/// Our Close is out; waiting for the client's reply until `deadline`.
pub(super) struct Closing {
    deadline: Instant,
}

pub(crate) struct Session {
    pub(super) ws: WebSocketStream<TappedStream>,
    pub(super) shared: Arc<Shared>,
    pub(super) slot: Arc<ConnSlot>,
    pub(super) behaviour: Behaviour,
    pub(super) shutdown: watch::Receiver<bool>,
    pub(super) shutting_down: bool,
    pub(super) too_slow: bool,
    pub(super) closing: Option<Closing>,
    pub(super) pings: Pings,
    room_rx: Option<broadcast::Receiver<Message>>,
    data_count: u64,
    queue: VecDeque<(Instant, Outgoing)>,
    close_at: Option<Instant>,
    _open: OpenGuard,
}

impl Session {
    pub(crate) fn new(
        ws: WebSocketStream<TappedStream>,
        shared: Arc<Shared>,
        slot: Arc<ConnSlot>,
        mut behaviour: Behaviour,
    ) -> Self {
        let now = Instant::now();
        let mut interval = None;
        let mut close_at = None;
        let mut room_rx = None;
        match &mut behaviour {
            Behaviour::Echo(options) => {
                interval = options.ping_every.map(|every| {
                    let mut interval = tokio::time::interval_at(now + every, every);
                    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
                    interval
                });
            }
            Behaviour::CloseSoon { after, .. } => close_at = Some(now + *after),
            Behaviour::Room { joined, .. } | Behaviour::Topics { joined, .. } => {
                room_rx = joined.take();
            }
        }
        Session {
            ws,
            shutdown: shared.shutdown.subscribe(),
            _open: OpenGuard(Arc::clone(&shared)),
            shared,
            slot,
            behaviour,
            shutting_down: false,
            too_slow: false,
            closing: None,
            pings: Pings::new(interval),
            room_rx,
            data_count: 0,
            queue: VecDeque::new(),
            close_at,
        }
    }

    pub(crate) async fn run(mut self) {
        let silent_at_once =
            matches!(&self.behaviour, Behaviour::Echo(o) if o.silent_after == Some(0));
        let end = if silent_at_once {
            End::Silent
        } else {
            self.main_loop().await
        };
        let ending = self.finish(end).await;
        let late = self.pings.late_at_end(Instant::now());
        let scanner = &self.ws.get_ref().scanner;
        let (close_frames, data_after_close) = (scanner.close_frames, scanner.data_after_close);
        self.shared.update(&self.slot, |record| {
            record.late_pongs += late;
            record.close_frames_received = record.close_frames_received.max(close_frames);
            record.data_after_close += data_after_close;
            record.ending = Some(ending);
        });
        self.leave_room();
    }

    fn leave_room(&mut self) {
        self.room_rx = None;
        if let Behaviour::Room { name, room, .. } = &self.behaviour {
            let mut rooms = lock(&self.shared.rooms);
            let ours = rooms.get(name).is_some_and(|r| r.same_channel(room));
            if ours && room.receiver_count() == 0 {
                rooms.remove(name);
            }
        }
    }

    async fn main_loop(&mut self) -> End {
        // One shutdown future for the whole loop: made anew on every turn, it
        // registered and removed a waiter on the shared channel per event.
        let mut stop = Shutdown::new(&self.shutdown);
        loop {
            let open = self.closing.is_none();
            let reading = self.queue.len() < MAX_PENDING_ECHOES;
            let echo_due = self.queue.front().map(|(due, _)| *due).filter(|_| open);
            let close_at = self.close_at.filter(|_| open);
            let reply_deadline = self.closing.as_ref().map(|closing| closing.deadline);
            let event = tokio::select! {
                biased;
                // Disabled once it has fired: a finished future is not polled again.
                () = &mut stop, if !self.shutting_down => Event::Shutdown,
                // The conditions only spare polling futures that are
                // pending forever (each message polls every enabled branch).
                () = at(reply_deadline), if reply_deadline.is_some() => Event::ReplyTimeout,
                () = at(echo_due), if echo_due.is_some() => Event::EchoDue,
                () = at(close_at), if close_at.is_some() => Event::CloseNow,
                () = tick(&mut self.pings.interval), if open && self.pings.interval.is_some() => {
                    Event::PingTick
                }
                message = recv_room(&mut self.room_rx), if open && self.room_rx.is_some() => {
                    Event::Room(message)
                }
                message = self.ws.next(), if reading => Event::Incoming(message),
            };
            if let Some(end) = self.handle(event).await {
                return end;
            }
        }
    }

    async fn handle(&mut self, event: Event) -> Option<End> {
        match event {
            Event::Shutdown => {
                self.shutting_down = true;
                // Leave time inside the grace period for the reply and TCP end.
                let deadline = Instant::now() + SHUTDOWN_GRACE * 3 / 4;
                match &mut self.closing {
                    Some(closing) => closing.deadline = closing.deadline.min(deadline),
                    None => {
                        return self
                            .start_close(1001, "server shutting down", deadline)
                            .await;
                    }
                }
                None
            }
            Event::ReplyTimeout => Some(End::ReplyTimeout),
            Event::EchoDue => match self.queue.pop_front() {
                Some((_, Outgoing::Data(message))) => self.send_data(message).await,
                Some((_, Outgoing::Close)) => self.close_as_configured().await,
                None => None,
            },
            Event::CloseNow => {
                self.close_at = None;
                self.close_as_configured().await
            }
            Event::PingTick => {
                let (seq, now) = self.pings.next(Instant::now());
                self.shared.update(&self.slot, |record| {
                    record.pings_sent += 1;
                    record.late_pongs += self.pings.take_newly_late(now);
                });
                let payload = Bytes::copy_from_slice(&seq.to_be_bytes());
                self.ws
                    .send(Message::Ping(payload))
                    .await
                    .err()
                    .map(End::Write)
            }
            Event::Room(Ok(message)) => {
                if !self.wants(&message) {
                    return None;
                }
                match tokio::time::timeout(ROOM_WRITE_TIMEOUT, self.send_data(message)).await {
                    Ok(end) => end,
                    Err(_) => Some(End::TooSlowWrite),
                }
            }
            Event::Room(Err(broadcast::error::RecvError::Lagged(_))) => {
                self.too_slow = true;
                let deadline = Instant::now() + crate::config::CLOSE_REPLY_TIMEOUT;
                self.start_close(1008, "too slow", deadline).await
            }
            Event::Room(Err(broadcast::error::RecvError::Closed)) => {
                self.room_rx = None;
                None
            }
            Event::Incoming(None) => Some(End::ReplyReceived),
            Event::Incoming(Some(Err(error))) => Some(End::Read(error)),
            Event::Incoming(Some(Ok(message))) => self.on_message(message).await,
        }
    }

    async fn on_message(&mut self, message: Message) -> Option<End> {
        match message {
            Message::Text(_) | Message::Binary(_) => {
                let after_close = self.closing.is_some();
                self.shared.record_in(&self.slot, &message, after_close);
                if after_close {
                    return None;
                }
                self.data_count += 1;
                self.on_data(message).await
            }
            Message::Ping(_) => {
                self.shared
                    .update(&self.slot, |record| record.client_pings += 1);
                None
            }
            Message::Pong(payload) => {
                let now = Instant::now();
                if let Some(delay) = self.pings.on_pong(&payload, now) {
                    self.shared.update(&self.slot, |record| {
                        record.pongs_received += 1;
                        record.max_pong_delay = record.max_pong_delay.max(Some(delay.value));
                        record.late_pongs += u64::from(delay.newly_late);
                    });
                }
                None
            }
            Message::Close(frame) => {
                let seen = close_record(frame.as_ref());
                let wire_count = self.ws.get_ref().scanner.close_frames.max(1);
                self.shared.update(&self.slot, |record| {
                    record.close_frames_received = wire_count;
                    record.close_received.get_or_insert(seen);
                });
                Some(match self.closing {
                    Some(_) => End::ReplyReceived,
                    None => End::PeerClosed(frame),
                })
            }
            Message::Frame(_) => None,
        }
    }

    async fn on_data(&mut self, message: Message) -> Option<End> {
        let options = match &self.behaviour {
            Behaviour::Echo(options) => options,
            Behaviour::CloseSoon { .. } => return None,
            Behaviour::Room { room, .. } => {
                // Err only when no member is left, and we are one.
                let _ = room.send(message);
                return None;
            }
            Behaviour::Topics { .. } => return self.on_topic_request(message).await,
        };
        let count = self.data_count;
        let dropped = options.drop_every.is_some_and(|n| count.is_multiple_of(n));
        let close_now = options.close_after == Some(count);
        let silent_now = options.silent_after == Some(count);
        let delay = self.shared.delay_override().unwrap_or(options.delay);
        let echo = options.echo && !dropped;
        if echo && let Some(end) = self.schedule(delay, Outgoing::Data(message)).await {
            return Some(end);
        }
        if close_now && let Some(end) = self.schedule(delay, Outgoing::Close).await {
            return Some(end);
        }
        silent_now.then_some(End::Silent)
    }

    /// `/ws/topics`: a published message goes to this connection only if it
    /// subscribed to the message's topic (its first word).
    fn wants(&self, message: &Message) -> bool {
        match (&self.behaviour, message) {
            (Behaviour::Topics { subscribed, .. }, Message::Text(text)) => {
                let topic = text.as_str().split(' ').next().unwrap_or_default();
                subscribed.contains(topic)
            }
            (Behaviour::Topics { .. }, _) => false,
            _ => true,
        }
    }

    async fn on_topic_request(&mut self, message: Message) -> Option<End> {
        let count = self.data_count;
        let Behaviour::Topics {
            options,
            subscribed,
            ..
        } = &mut self.behaviour
        else {
            return None;
        };
        let close_now = options.close_after == Some(count);
        if let Message::Text(text) = &message {
            match text.as_str().split_once(' ') {
                Some(("subscribe", topic)) => {
                    subscribed.insert(topic.to_owned());
                }
                Some(("unsubscribe", topic)) => {
                    subscribed.remove(topic);
                }
                Some(("publish", published)) => {
                    // Err only when no connection listens, and we do.
                    let _ = self.shared.topics.send(Message::text(published));
                }
                _ => {}
            }
        }
        if close_now {
            return self.close_as_configured().await;
        }
        None
    }

    /// Sends at once when nothing waits before it, else queues for later.
    async fn schedule(&mut self, delay: Duration, item: Outgoing) -> Option<End> {
        if delay.is_zero() && self.queue.is_empty() {
            return match item {
                Outgoing::Data(message) => self.send_data(message).await,
                Outgoing::Close => self.close_as_configured().await,
            };
        }
        self.queue.push_back((Instant::now() + delay, item));
        None
    }

    async fn send_data(&mut self, message: Message) -> Option<End> {
        match self.ws.send(message).await {
            Ok(()) => {
                self.shared.record_out(&self.slot);
                None
            }
            Err(error) => Some(End::Write(error)),
        }
    }

    async fn close_as_configured(&mut self) -> Option<End> {
        let (code, reason) = match &self.behaviour {
            Behaviour::Echo(options) => (options.code, options.reason.clone()),
            Behaviour::CloseSoon { code, reason, .. } => (*code, reason.clone()),
            Behaviour::Topics { .. } => (1000, String::new()),
            Behaviour::Room { .. } => return None,
        };
        let deadline = Instant::now() + crate::config::CLOSE_REPLY_TIMEOUT;
        self.start_close(code, &reason, deadline).await
    }

    /// Sends the server's Close; the loop then waits for the reply.
    pub(super) async fn start_close(
        &mut self,
        code: u16,
        reason: &str,
        deadline: Instant,
    ) -> Option<End> {
        if self.closing.is_some() {
            return None;
        }
        self.closing = Some(Closing { deadline });
        self.queue.clear();
        self.shared.update(&self.slot, |record| {
            record.close_sent = Some(CloseRecord {
                code,
                reason: reason.to_owned(),
            });
        });
        let frame = CloseFrame {
            code: code.into(),
            reason: reason.to_owned().into(),
        };
        self.ws
            .send(Message::Close(Some(frame)))
            .await
            .err()
            .map(End::Write)
    }
}

/// How a Close frame is recorded: code 1005 when it carried none.
pub(super) fn close_record(frame: Option<&CloseFrame>) -> CloseRecord {
    match frame {
        Some(frame) => CloseRecord {
            code: frame.code.into(),
            reason: frame.reason.as_str().to_owned(),
        },
        None => CloseRecord {
            code: 1005,
            reason: String::new(),
        },
    }
}
