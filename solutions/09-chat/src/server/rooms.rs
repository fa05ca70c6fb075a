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
    // region: solution
    match member.queue.try_send(frame) {
        Ok(()) => true,
        Err(mpsc::error::TrySendError::Full(_)) => {
            tracing::info!(
                user = %member.user,
                connection = member.connection,
                "queue full: closing a slow client with 1013"
            );
            member.close(Closing::too_slow());
            false
        }
        Err(mpsc::error::TrySendError::Closed(_)) => false,
    }
    // region: stub
    // todo!("Task 5: deliver without waiting (chapter 09, section \"Task 5: Rooms and fan-out\")")
    // endregion
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
        // region: solution
        self.members
            .retain(|member| !to(member) || deliver(member, frame.clone()));
        // region: stub
        // todo!("Task 5: fan out (chapter 09, section \"Task 5: Rooms and fan-out\")")
        // endregion
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
        // region: solution
        let room_lock = self.room(room);
        let mut members = room_lock.lock().await;
        let history = store.history(room, HISTORY_LIMIT).await?;
        members
            .members
            .retain(|known| known.connection != member.connection);
        let joined = ServerMessage::Joined {
            room: room.to_owned(),
            history,
        };
        if deliver(&member, frame(&joined)) {
            members.members.push(member);
        }
        Ok(())
        // region: stub
        // todo!("Task 5: join with history (chapter 09, section \"Task 5: Rooms and fan-out\")")
        // endregion
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
        // region: solution
        let room_lock = self.room(&draft.room);
        let mut members = room_lock.lock().await;
        let message = store.insert(draft).await?;
        deliver(
            author,
            frame(&ServerMessage::Sent {
                client_id,
                id: message.id,
                room: message.room.clone(),
                seq: message.seq,
            }),
        );
        members.fan_out(&frame(&ServerMessage::Message { message }), |_| true);
        Ok(())
        // region: stub
        // todo!("Task 5: store, then fan out in order (chapter 09, section \"Task 5: Rooms and fan-out\")")
        // endregion
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
        // region: solution
        let receipt = ServerMessage::Receipt {
            id,
            room: room.to_owned(),
            status,
        };
        let room_lock = self.room(room);
        let mut members = room_lock.lock().await;
        members.fan_out(&frame(&receipt), |member| member.user == author);
        // region: stub
        // todo!("Task 6: receipts back to the author (chapter 09, section \"Task 6: The connection\")")
        // endregion
    }

    /// How many connections are in `room`.
    pub(crate) async fn member_count(&self, room: &str) -> usize {
        let room_lock = self.room(room);
        let members = room_lock.lock().await;
        members.members.len()
    }

    // region: solution
    /// The bench's baseline: the same frame pushed onto every member's
    /// queue with nothing else — no parsing, no database, no receipts.
    pub(crate) async fn broadcast_raw(&self, room: &str, frame: &Message) {
        let room_lock = self.room(room);
        let mut members = room_lock.lock().await;
        members.fan_out(frame, |_| true);
    }
    // endregion
}
// ANCHOR_END: rooms
