//! Rooms: who is in each one, and fan-out with bounded queues.
//!
//! A room is a list of [`Member`]s behind a `tokio::sync::Mutex`. Posting
//! holds the room's lock while the message is stored and fanned out, so the
//! order in which members receive a room's messages is the order of their
//! `seq` — per-room ordering without a task per room. (tokio's mutex is
//! fair: posters are served in the order they asked.) Different rooms do
//! not wait for each other.
//!
//! Fan-out never waits for a member: each member has a bounded queue that
//! its connection's writer drains, and [`deliver`] uses `try_send`. A member
//! whose queue is full is too slow for this room: it is removed and told to
//! close with 1013 ("try again later"), and when it reconnects and joins,
//! the history brings it back in step. The alternative — waiting for its
//! queue — would let one stalled phone hold up the whole room, and an
//! unbounded queue would let it eat the server's memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

use crate::protocol::{ServerMessage, Status};
use crate::store::{Draft, HISTORY_LIMIT, Store, StoreError};

/// Why the server is closing a connection; the writer sends it as the
/// Close frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Closing {
    /// The close code.
    pub(crate) code: u16,
    /// The reason, for people.
    pub(crate) reason: String,
}

impl Closing {
    /// No Close frame to send: the reader saw the peer close, or the
    /// connection broke. (1000 is never sent by this server otherwise.)
    pub(crate) fn quiet() -> Self {
        Self {
            code: 1000,
            reason: String::new(),
        }
    }

    /// Whether this is [`Closing::quiet`].
    pub(crate) fn is_quiet(&self) -> bool {
        self.code == 1000
    }

    /// 1013 "try again later": the client fell too far behind.
    pub(crate) fn too_slow() -> Self {
        Self {
            code: 1013,
            reason: "too slow: your queue is full; reconnect and join again to resync".into(),
        }
    }
}

/// One connection's place in a room: where to put its frames and how to
/// ask it to close.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    /// The connection's number, unique for the server's life.
    pub(crate) connection: u64,
    /// The user behind it.
    pub(crate) user: String,
    /// Its bounded queue of outgoing frames.
    pub(crate) queue: mpsc::Sender<Message>,
    /// Set once to make its writer send a Close frame and stop.
    pub(crate) closing: Arc<watch::Sender<Option<Closing>>>,
}

impl Member {
    /// Asks the connection to close with `closing`, unless a reason to
    /// close was already given (the first one wins).
    pub(crate) fn close(&self, closing: Closing) {
        self.closing.send_if_modified(|current| {
            if current.is_some() {
                return false;
            }
            *current = Some(closing);
            true
        });
    }
}

/// Puts `frame` on `member`'s queue without waiting. Returns whether the
/// member is still fine: `false` when its connection is gone, or when its
/// queue was full, in which case it has been told to close with 1013.
pub(crate) fn deliver(member: &Member, frame: Message) -> bool {
    todo!("Task 5: deliver without waiting (chapter 09, section \"Task 5: Rooms and fan-out\")")
}

/// A server message as a text frame. Serialised once per fan-out; the
/// frame's bytes are shared by every clone.
pub(crate) fn frame(message: &ServerMessage) -> Message {
    // Our own enum of strings and numbers always serialises.
    Message::text(serde_json::to_string(message).unwrap_or_default())
}

/// The members of one room.
#[derive(Debug, Default)]
struct Room {
    members: Vec<Member>,
}

impl Room {
    /// Sends `frame` to every member `to` selects; drops the ones that are
    /// gone or too slow.
    fn fan_out(&mut self, frame: &Message, to: impl Fn(&Member) -> bool) {
        todo!("Task 5: fan out (chapter 09, section \"Task 5: Rooms and fan-out\")")
    }
}

// ANCHOR: rooms
/// Every room of the server, created on first join.
#[derive(Debug, Default)]
pub(crate) struct Rooms {
    rooms: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Room>>>>,
}

impl Rooms {
    fn room(&self, name: &str) -> Arc<tokio::sync::Mutex<Room>> {
        let mut rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(rooms.entry(name.to_owned()).or_default())
    }

    /// `member` joins `room`: it gets the room's history (a
    /// [`ServerMessage::Joined`]) and from then on every new message —
    /// none missed, none twice, because both happen under the room's lock.
    pub(crate) async fn join(
        &self,
        store: &Store,
        room: &str,
        member: Member,
    ) -> Result<(), StoreError> {
        todo!("Task 5: join with history (chapter 09, section \"Task 5: Rooms and fan-out\")")
    }

    /// Connection `connection` leaves `room`.
    pub(crate) async fn leave(&self, room: &str, connection: u64) {
        let room_lock = self.room(room);
        let mut members = room_lock.lock().await;
        members
            .members
            .retain(|member| member.connection != connection);
    }

    /// Stores `draft` and sends it to every member of its room, in `seq`
    /// order; the author's connection first gets [`ServerMessage::Sent`].
    pub(crate) async fn post(
        &self,
        store: &Store,
        draft: Draft,
        client_id: String,
        author: &Member,
    ) -> Result<(), StoreError> {
        todo!(
            "Task 5: store, then fan out in order (chapter 09, section \"Task 5: Rooms and fan-out\")"
        )
    }

    /// Tells the other members of `room` that `typist` is typing (or
    /// stopped).
    pub(crate) async fn typing(&self, room: &str, typist: &Member, typing: bool) {
        let event = if typing {
            ServerMessage::Typing {
                room: room.to_owned(),
                user: typist.user.clone(),
            }
        } else {
            ServerMessage::StopTyping {
                room: room.to_owned(),
                user: typist.user.clone(),
            }
        };
        let room_lock = self.room(room);
        let mut members = room_lock.lock().await;
        members.fan_out(&frame(&event), |member| {
            member.connection != typist.connection
        });
    }

    /// Tells `author`'s connections in `room` that message `id` is now
    /// `status`.
    pub(crate) async fn receipt(&self, room: &str, author: &str, id: i64, status: Status) {
        todo!(
            "Task 6: receipts back to the author (chapter 09, section \"Task 6: The connection\")"
        )
    }

    /// How many connections are in `room`.
    pub(crate) async fn member_count(&self, room: &str) -> usize {
        let room_lock = self.room(room);
        let members = room_lock.lock().await;
        members.members.len()
    }
}
// ANCHOR_END: rooms
