//! The terminal client's view of one room: messages with timestamps and
//! status marks, and the "who is typing" line. Pure: a [`Conversation`] is
//! fed [`ServerMessage`]s and rendered to a `String`, so the layout is
//! snapshot-tested without a terminal.

use tokio::time::Instant;

use crate::protocol::{ChatMessage, MessageKind, ServerMessage, Status};
use crate::typing::TypingTracker;

// ANCHOR: marks
/// The mark after one's own message: `✓` sent, `✓✓` delivered, `✓✓ read`.
/// (WhatsApp's grey tick, grey double tick, blue double tick, in a terminal
/// without colour.)
pub fn status_mark(status: Status) -> &'static str {
    // region: solution
    match status {
        Status::Sent => "✓",
        Status::Delivered => "✓✓",
        Status::Read => "✓✓ read",
    }
    // region: stub
    // todo!("Task 3: the status marks (chapter 09, section \"Task 3: The conversation on screen\")")
    // endregion
}

/// `HH:MM` (UTC) of a time in milliseconds since the Unix epoch.
pub fn clock(sent_at_ms: i64) -> String {
    // region: solution
    let minutes_of_day = sent_at_ms.div_euclid(60_000).rem_euclid(24 * 60);
    format!("{:02}:{:02}", minutes_of_day / 60, minutes_of_day % 60)
    // region: stub
    // todo!("Task 3: the clock (chapter 09, section \"Task 3: The conversation on screen\")")
    // endregion
}

/// The typing line for the users listed (sorted, without oneself):
/// nothing, `alice is typing…`, `alice and bob are typing…`,
/// `alice, bob and carol are typing…`, and from four on
/// `alice, bob and 2 others are typing…`.
pub fn typing_line(users: &[String]) -> Option<String> {
    // region: solution
    match users {
        [] => None,
        [one] => Some(format!("{one} is typing…")),
        [first, second] => Some(format!("{first} and {second} are typing…")),
        [first, second, third] => Some(format!("{first}, {second} and {third} are typing…")),
        [first, second, rest @ ..] => Some(format!(
            "{first}, {second} and {} others are typing…",
            rest.len()
        )),
    }
    // region: stub
    // todo!("Task 3: the typing line (chapter 09, section \"Task 3: The conversation on screen\")")
    // endregion
}

/// One message as a line: `[HH:MM] user: text`, attachments as
/// `🖼 name (size)` or `📎 name (size)`, and after one's own messages a
/// space and the [`status_mark`].
pub fn message_line(message: &ChatMessage, me: &str) -> String {
    // region: solution
    let body = match (&message.kind, &message.attachment) {
        (MessageKind::Image, Some(file)) => format!("🖼 {} ({})", file.name, human_size(file.size)),
        (MessageKind::File, Some(file)) => format!("📎 {} ({})", file.name, human_size(file.size)),
        _ => message.text.clone(),
    };
    let mut line = format!("[{}] {}: {body}", clock(message.sent_at), message.user);
    if message.user == me {
        line.push(' ');
        line.push_str(status_mark(message.status));
    }
    line
    // region: stub
    // todo!("Task 3: one message line (chapter 09, section \"Task 3: The conversation on screen\")")
    // endregion
}
// ANCHOR_END: marks

/// Sizes as people read them: `512 B`, `12.0 KiB`, `1.5 MiB`.
pub fn human_size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * KIB;
    // Precision loss above 2^52 bytes is irrelevant for a size label.
    #[allow(clippy::cast_precision_loss)]
    let value = bytes as f64;
    if bytes < KIB {
        format!("{bytes} B")
    } else if bytes < MIB {
        format!("{:.1} KiB", value / KIB as f64)
    } else {
        format!("{:.1} MiB", value / MIB as f64)
    }
}

/// One room as the terminal client shows it.
#[derive(Debug, Clone)]
pub struct Conversation {
    /// The room.
    pub room: String,
    /// Who is looking (their messages get status marks).
    pub me: String,
    /// The messages, in `seq` order.
    pub messages: Vec<ChatMessage>,
    /// Who is typing.
    pub typing: TypingTracker,
}

impl Conversation {
    /// An empty view of `room` for user `me`.
    pub fn new(room: &str, me: &str) -> Self {
        Self {
            room: room.to_owned(),
            me: me.to_owned(),
            messages: Vec::new(),
            typing: TypingTracker::new(),
        }
    }

    /// Takes in one event from the server, received at `now`. Events of
    /// other rooms are ignored.
    pub fn apply(&mut self, event: &ServerMessage, now: Instant) {
        match event {
            ServerMessage::Joined { room, history } if *room == self.room => {
                self.messages.clone_from(history);
            }
            ServerMessage::Message { message } if message.room == self.room => {
                // Their message arrived: they are no longer typing it.
                self.typing.stopped(&message.user);
                if !self.messages.iter().any(|known| known.id == message.id) {
                    self.messages.push(message.clone());
                    self.messages.sort_by_key(|known| known.seq);
                }
            }
            ServerMessage::Receipt { id, room, status } if *room == self.room => {
                if let Some(message) = self.messages.iter_mut().find(|known| known.id == *id) {
                    message.status = message.status.max(*status);
                }
            }
            ServerMessage::Typing { room, user } if *room == self.room && *user != self.me => {
                self.typing.typing(user, now);
            }
            ServerMessage::StopTyping { room, user } if *room == self.room => {
                self.typing.stopped(user);
            }
            _ => {}
        }
    }

    /// The room as text: a `# room` title, the last `max_lines` messages,
    /// and the typing line if anyone is typing at `now`.
    pub fn render(&mut self, max_lines: usize, now: Instant) -> String {
        let mut lines = vec![format!("# {}", self.room)];
        let skip = self.messages.len().saturating_sub(max_lines);
        lines.extend(
            self.messages[skip..]
                .iter()
                .map(|message| message_line(message, &self.me)),
        );
        if let Some(line) = typing_line(&self.typing.typing_users(now)) {
            lines.push(line);
        }
        lines.join("\n")
    }
}
