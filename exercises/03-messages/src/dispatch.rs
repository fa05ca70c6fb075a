//! The typed dispatcher: action → async handler, checked by the compiler.
//!
//! The course's registry was a map from an action's name to a function that
//! took "a message", whatever its type. Here an action is a *type*
//! ([`Action`]) that names the payload its handler receives, so
//! `dispatcher.on(NewMessage, handler)` only compiles when `handler` takes an
//! [`Incoming<ChatMessage>`](Incoming). The dispatcher erases that type when
//! it stores the handler, and restores it when a message arrives: a message
//! whose data does not fit the action never reaches the handler.
//!
//! Every handler runs in its own tokio task. That is what makes a panic in
//! a handler a report ([`Outcome::Panicked`]) instead of the end of the
//! program, and it is why a handler must be `Send`: a task may move between
//! threads. The compiler checks that too.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use crate::decode::{DecodeError, decode};
use crate::wire::{
    Body, ChatMessage, Envelope, Heartbeat, Id, MessageKind, ReadReceipt, Sender, SystemNotice,
    TypingIndicator,
};

// ANCHOR: action
/// An action of the protocol: its name on the wire and the payload its
/// handler receives. Implement it for a unit struct to add an action.
///
/// ```
/// use messages::{Action, ReadReceipt};
///
/// /// `message_read`: someone read a conversation.
/// struct MessageRead;
///
/// impl Action for MessageRead {
///     const NAME: &'static str = "message_read";
///     type Payload = ReadReceipt;
/// }
/// ```
pub trait Action: 'static {
    /// The value of `action` on the wire.
    const NAME: &'static str;
    /// What its handler receives.
    type Payload: Payload;
}

/// `new_message`: a chat message of any of the four chat types.
#[derive(Debug, Clone, Copy)]
pub struct NewMessage;

impl Action for NewMessage {
    const NAME: &'static str = "new_message";
    type Payload = ChatMessage;
}

/// `typing_status`: someone started or stopped typing.
#[derive(Debug, Clone, Copy)]
pub struct TypingStatus;

impl Action for TypingStatus {
    const NAME: &'static str = "typing_status";
    type Payload = TypingIndicator;
}

/// `system_notification`: a notice from the server.
#[derive(Debug, Clone, Copy)]
pub struct SystemNotification;

impl Action for SystemNotification {
    const NAME: &'static str = "system_notification";
    type Payload = SystemNotice;
}
// ANCHOR_END: action

// ANCHOR: payload
/// The data of some message types, taken out of a [`Body`].
pub trait Payload: Sized + Send + 'static {
    /// The message types that carry this payload.
    const KINDS: &'static [MessageKind];

    /// The payload of `body`, or `body` back unchanged when it is of
    /// another type.
    fn from_body(body: Body) -> Result<Self, Body>;
}

/// The worked example: the four chat types carry a `ChatMessage`.
impl Payload for ChatMessage {
    const KINDS: &'static [MessageKind] = &[
        MessageKind::Text,
        MessageKind::Image,
        MessageKind::File,
        MessageKind::Audio,
    ];

    fn from_body(body: Body) -> Result<Self, Body> {
        match body {
            Body::Text(message)
            | Body::Image(message)
            | Body::File(message)
            | Body::Audio(message) => Ok(message),
            other => Err(other),
        }
    }
}

impl Payload for TypingIndicator {
    const KINDS: &'static [MessageKind] = &[MessageKind::Typing];

    fn from_body(body: Body) -> Result<Self, Body> {
        todo!(
            "Task 4: like ChatMessage's from_body (chapter 03, section \"Task 4: Typed handlers\")"
        )
    }
}

impl Payload for SystemNotice {
    const KINDS: &'static [MessageKind] = &[MessageKind::System];

    fn from_body(body: Body) -> Result<Self, Body> {
        todo!(
            "Task 4: like ChatMessage's from_body (chapter 03, section \"Task 4: Typed handlers\")"
        )
    }
}

impl Payload for ReadReceipt {
    const KINDS: &'static [MessageKind] = &[MessageKind::Read];

    fn from_body(body: Body) -> Result<Self, Body> {
        todo!(
            "Task 4: like ChatMessage's from_body (chapter 03, section \"Task 4: Typed handlers\")"
        )
    }
}

impl Payload for Heartbeat {
    const KINDS: &'static [MessageKind] = &[MessageKind::Heartbeat];

    fn from_body(body: Body) -> Result<Self, Body> {
        todo!(
            "Task 4: like ChatMessage's from_body (chapter 03, section \"Task 4: Typed handlers\")"
        )
    }
}

/// Any message: for an action whose handler looks at the `Body` itself.
impl Payload for Body {
    const KINDS: &'static [MessageKind] = &MessageKind::ALL;

    fn from_body(body: Body) -> Result<Self, Body> {
        Ok(body)
    }
}
// ANCHOR_END: payload

// ANCHOR: incoming
/// What a handler receives: the envelope's fields and the typed payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming<P> {
    /// The message's id.
    pub id: Id,
    /// Its type (for a [`ChatMessage`], which of the four).
    pub kind: MessageKind,
    /// Its action.
    pub action: String,
    /// When it was sent, in milliseconds since the Unix epoch.
    pub timestamp: u64,
    /// Who sent it.
    pub sender: Option<Sender>,
    /// Its data.
    pub payload: P,
}

/// What a handler returns.
pub type HandlerResult = Result<(), HandlerError>;

/// A handler's failure, as a message.
///
/// Any error converts into it with `?`, keeping its causes in the text, so
/// handlers can use whatever error types they like and the dispatcher still
/// has one type to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerError {
    message: String,
}

impl HandlerError {
    /// A failure described by `message`.
    pub fn new(message: impl Into<String>) -> HandlerError {
        HandlerError {
            message: message.into(),
        }
    }

    /// The description.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl<E: std::error::Error> From<E> for HandlerError {
    fn from(error: E) -> HandlerError {
        let mut message = error.to_string();
        let mut cause = error.source();
        while let Some(inner) = cause {
            message.push_str(": ");
            message.push_str(&inner.to_string());
            cause = inner.source();
        }
        HandlerError { message }
    }
}

impl std::fmt::Display for HandlerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
// ANCHOR_END: incoming

// ANCHOR: outcome
/// What became of one message. The dispatcher also logs every outcome that
/// is not `Handled`, with `tracing`.
#[derive(Debug)]
pub enum Outcome {
    /// The action's handler ran and returned `Ok`.
    Handled {
        /// The action.
        action: String,
    },
    /// No handler for the action: the fallback ran (by default it only logs
    /// a warning) and returned `Ok`.
    Fallback {
        /// The unknown action.
        action: String,
    },
    /// The handler (or the fallback) returned an error.
    Failed {
        /// The action.
        action: String,
        /// What it returned.
        error: HandlerError,
    },
    /// The handler (or the fallback) panicked. The dispatcher goes on.
    Panicked {
        /// The action.
        action: String,
        /// The panic's message.
        message: String,
    },
    /// The action has a handler, but for another message type (a `typing`
    /// message with the action `new_message`); no handler ran.
    WrongKind {
        /// The action.
        action: String,
        /// The types its handler takes.
        expected: &'static [MessageKind],
        /// The message's type.
        found: MessageKind,
    },
    /// The frame did not decode; no handler ran.
    Rejected(DecodeError),
}

impl Outcome {
    /// `true` for `Handled` and `Fallback`.
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Handled { .. } | Outcome::Fallback { .. })
    }
}
// ANCHOR_END: outcome

/// A handler's future, boxed so that handlers of different types fit in one
/// map.
type HandlerFuture = Pin<Box<dyn Future<Output = HandlerResult> + Send + 'static>>;

/// A stored handler with its payload type erased: it takes the whole
/// envelope, and answers with the envelope's type when that is not one the
/// handler takes.
type ErasedHandler = Box<dyn Fn(Envelope) -> Result<HandlerFuture, MessageKind> + Send + Sync>;

/// The stored fallback.
type ErasedFallback = Box<dyn Fn(Envelope) -> HandlerFuture + Send + Sync>;

// ANCHOR: dispatcher
/// Routes each message to the handler registered for its action.
///
/// ```no_run
/// use messages::{Dispatcher, NewMessage, TypingStatus};
///
/// let mut dispatcher = Dispatcher::new();
/// dispatcher
///     .on(NewMessage, |message| async move {
///         println!("{}: {}", message.payload.conversation_id, message.payload.content);
///         Ok(())
///     })
///     .on(TypingStatus, |typing| async move {
///         println!("typing: {}", typing.payload.is_typing);
///         Ok(())
///     });
/// ```
pub struct Dispatcher {
    /// One handler per action name.
    handlers: HashMap<&'static str, Route>,
    /// For actions without a handler.
    fallback: ErasedFallback,
}

/// A handler and the message types it takes (for [`Outcome::WrongKind`]).
struct Route {
    expects: &'static [MessageKind],
    handler: ErasedHandler,
}
// ANCHOR_END: dispatcher

impl Default for Dispatcher {
    fn default() -> Self {
        Dispatcher::new()
    }
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut actions: Vec<_> = self.handlers.keys().collect();
        actions.sort();
        f.debug_struct("Dispatcher")
            .field("actions", &actions)
            .finish_non_exhaustive()
    }
}

impl Dispatcher {
    /// A dispatcher with no handlers, whose fallback logs a warning.
    pub fn new() -> Dispatcher {
        Dispatcher {
            handlers: HashMap::new(),
            fallback: Box::new(|envelope: Envelope| {
                tracing::warn!(action = %envelope.action, id = %envelope.id, "no handler for this action");
                Box::pin(async { Ok(()) })
            }),
        }
    }

    // ANCHOR: on
    /// Registers `handler` for the action `A`, replacing an earlier one.
    ///
    /// The bounds are the lesson of the unit. `handler` takes the payload
    /// `A` names, so a handler for another kind of message does not
    /// compile (E0631, type mismatch in closure arguments):
    ///
    /// ```compile_fail,E0631
    /// use messages::{Dispatcher, Incoming, NewMessage, TypingIndicator};
    ///
    /// let mut dispatcher = Dispatcher::new();
    /// dispatcher.on(NewMessage, |typing: Incoming<TypingIndicator>| async move { Ok(()) });
    /// ```
    ///
    /// An `async fn` of the wrong kind is refused the same way (E0631, type
    /// mismatch in function arguments):
    ///
    /// ```compile_fail,E0631
    /// use messages::{Dispatcher, HandlerResult, Incoming, NewMessage, TypingIndicator};
    ///
    /// async fn on_typing(_typing: Incoming<TypingIndicator>) -> HandlerResult {
    ///     Ok(())
    /// }
    ///
    /// let mut dispatcher = Dispatcher::new();
    /// dispatcher.on(NewMessage, on_typing);
    /// ```
    ///
    /// It runs in its own task, which may move between threads, so the
    /// handler and the future it returns must be `Send`. Capturing an `Rc`
    /// does not compile (E0277, `Rc<…>` cannot be sent between threads
    /// safely):
    ///
    /// ```compile_fail,E0277
    /// use std::rc::Rc;
    /// use messages::{Dispatcher, NewMessage};
    ///
    /// let seen = Rc::new(std::cell::Cell::new(0));
    /// let mut dispatcher = Dispatcher::new();
    /// dispatcher.on(NewMessage, move |_message| {
    ///     seen.set(seen.get() + 1);
    ///     async { Ok(()) }
    /// });
    /// ```
    ///
    /// and neither does a future that holds an `Rc` across an `.await`
    /// (rustc says "future cannot be sent between threads safely", an E0277
    /// note without its own code):
    ///
    /// ```compile_fail
    /// use std::rc::Rc;
    /// use messages::{Dispatcher, NewMessage};
    ///
    /// let mut dispatcher = Dispatcher::new();
    /// dispatcher.on(NewMessage, |message| async move {
    ///     let content = Rc::new(message.payload.content);
    ///     tokio::task::yield_now().await;
    ///     println!("{content}");
    ///     Ok(())
    /// });
    /// ```
    ///
    /// The same handlers written the right way compile:
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use messages::{ChatMessage, Dispatcher, HandlerResult, Incoming, NewMessage};
    ///
    /// async fn on_message(message: Incoming<ChatMessage>) -> HandlerResult {
    ///     println!("{}", message.payload.content);
    ///     Ok(())
    /// }
    ///
    /// let seen = Arc::new(AtomicUsize::new(0));
    /// let mut dispatcher = Dispatcher::new();
    /// dispatcher.on(NewMessage, move |message: Incoming<ChatMessage>| {
    ///     seen.fetch_add(1, Ordering::Relaxed);
    ///     async move {
    ///         let content = Arc::new(message.payload.content);
    ///         tokio::task::yield_now().await;
    ///         println!("{content}");
    ///         Ok(())
    ///     }
    /// });
    /// dispatcher.on(NewMessage, on_message);
    /// ```
    pub fn on<A, F, Fut>(&mut self, action: A, handler: F) -> &mut Self
    where
        A: Action,
        F: Fn(Incoming<A::Payload>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        // ANCHOR_END: on
        todo!(
            "Task 4: erase the payload type and store the handler (chapter 03, section \"Task 4: Typed handlers\")"
        )
    }

    // ANCHOR: fallback
    /// Sets the handler for actions that have none; it receives the whole
    /// envelope. Without one, unknown actions are logged as warnings.
    pub fn fallback<F, Fut>(&mut self, handler: F) -> &mut Self
    where
        F: Fn(Envelope) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        // ANCHOR_END: fallback
        todo!(
            "Task 5: store the fallback like a handler (chapter 03, section \"Task 5: Dispatching\")"
        )
    }

    // ANCHOR: dispatch
    /// Runs the handler for `envelope`'s action (or the fallback) in its own
    /// task and waits for it. An error or a panic is logged and returned as
    /// the [`Outcome`]; the dispatcher stays usable either way.
    pub async fn dispatch(&self, envelope: Envelope) -> Outcome {
        // ANCHOR_END: dispatch
        todo!(
            "Task 5: run the handler in its own task and report what happened (chapter 03, section \"Task 5: Dispatching\")"
        )
    }

    // ANCHOR: dispatch_frame
    /// Decodes a frame's text (or bytes) and dispatches it; a frame that
    /// does not decode is logged and returned as [`Outcome::Rejected`].
    pub async fn dispatch_frame(&self, frame: impl AsRef<[u8]>) -> Outcome {
        match decode(frame) {
            Ok(envelope) => self.dispatch(envelope).await,
            Err(error) => {
                tracing::warn!(%error, "a frame was rejected");
                Outcome::Rejected(error)
            }
        }
    }
    // ANCHOR_END: dispatch_frame
}
