//! What is queued: a [`Message`], its [`Kind`] and its [`Priority`], and how
//! handling one can fail ([`HandleError`]).

use std::time::Duration;

// ANCHOR: message
/// A message id, unique per message the application sends; the queue uses
/// it to recognise a duplicate.
pub type MessageId = u64;

/// A message's type, which decides how it is processed (the course's
/// `text`, `image`, `file` and `system`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A chat line.
    Text,
    /// An image.
    Image,
    /// A file transfer.
    File,
    /// A control message from the system.
    System,
    /// A type the queue does not know; it is warned about, not processed.
    Unknown(String),
}

impl Kind {
    /// The type's name as on the wire: `"text"`, …, or the unknown name.
    pub fn name(&self) -> &str {
        match self {
            Kind::Text => "text",
            Kind::Image => "image",
            Kind::File => "file",
            Kind::System => "system",
            Kind::Unknown(name) => name,
        }
    }

    /// The course's simulated processing time: text 10 ms, image 50 ms,
    /// file 30 ms, system 5 ms; `None` for an unknown type.
    pub fn simulated_time(&self) -> Option<Duration> {
        match self {
            Kind::Text => Some(Duration::from_millis(10)),
            Kind::Image => Some(Duration::from_millis(50)),
            Kind::File => Some(Duration::from_millis(30)),
            Kind::System => Some(Duration::from_millis(5)),
            Kind::Unknown(_) => None,
        }
    }
}

/// Which lane a message waits in. Higher priorities are served first, but
/// see [`STARVATION_LIMIT`](crate::STARVATION_LIMIT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Priority {
    /// Served first (system messages, acknowledgements).
    High,
    /// The default.
    Normal,
    /// Served when nothing more urgent waits, or when it has waited too long.
    Low,
}

impl Priority {
    /// Every priority, highest first (the order lanes are served in).
    pub const ALL: [Priority; 3] = [Priority::High, Priority::Normal, Priority::Low];

    /// The lane's index in [`Priority::ALL`].
    pub fn lane(self) -> usize {
        match self {
            Priority::High => 0,
            Priority::Normal => 1,
            Priority::Low => 2,
        }
    }
}

/// A message to process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Its id, for de-duplication.
    pub id: MessageId,
    /// Its type.
    pub kind: Kind,
    /// Its lane.
    pub priority: Priority,
    /// What it carries.
    pub payload: String,
}

impl Message {
    /// A message of normal priority.
    pub fn new(id: MessageId, kind: Kind, payload: impl Into<String>) -> Message {
        Message {
            id,
            kind,
            priority: Priority::Normal,
            payload: payload.into(),
        }
    }

    /// The same message in another lane.
    pub fn with_priority(mut self, priority: Priority) -> Message {
        self.priority = priority;
        self
    }
}

/// Why a handler could not process a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandleError {
    /// The message's type is unknown; retrying cannot help, so it goes
    /// straight to the dead-letter list.
    #[error("unknown message type {0:?}")]
    UnknownKind(String),
    /// The handler failed (a send error, a timeout); worth retrying.
    #[error("processing failed: {0}")]
    Failed(String),
    /// The handler panicked; the message is not lost, it is retried.
    #[error("the handler panicked")]
    Panicked,
}

impl HandleError {
    /// Whether another attempt could succeed.
    pub fn is_retryable(&self) -> bool {
        !matches!(self, HandleError::UnknownKind(_))
    }
}
// ANCHOR_END: message
