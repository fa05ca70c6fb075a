//! From a message to a notification: the course's mapping, with its default
//! titles, its default level, its click actions and its icons, plus what the
//! course listed as requirements: a priority and a tag to collapse duplicates.
//!
//! The course built notifications as loose objects (`type: string`,
//! `level?: string`). Here each field that has a fixed set of values is an
//! enum, so an unknown level cannot travel further than the mapping: it
//! becomes the default, `info`, right there.

use serde_json::Value;

use crate::message::{Message, MessageKind};

// ANCHOR: types
/// The course's default title of a text message without one.
pub const DEFAULT_MESSAGE_TITLE: &str = "new message";
/// The course's default title of a system message without one.
pub const DEFAULT_SYSTEM_TITLE: &str = "system notification";

/// The notification's type, its category: `message`, `system` or `error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotificationType {
    /// From a text message.
    Message,
    /// From a system message.
    System,
    /// From a system message whose level is `error`.
    Error,
}

/// How serious it is. A level the mapping does not know becomes [`Level::Info`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Level {
    /// The default.
    #[default]
    Info,
    /// Something worked.
    Success,
    /// Something may need attention.
    Warning,
    /// Something failed.
    Error,
}

impl Level {
    /// `"info"`, `"success"`, `"warning"` or `"error"`.
    pub fn name(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Success => "success",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// Which toast comes first. Ordered: `Low < Normal < High < Urgent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Only when the message asks for it.
    Low,
    /// Text messages, info and success.
    Normal,
    /// Warnings.
    High,
    /// Errors.
    Urgent,
}

impl Priority {
    /// `"low"`, `"normal"`, `"high"` or `"urgent"`.
    pub fn name(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }
}

/// What a click on the toast ("view details →") does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClickAction {
    /// `open_conversation`: go to the conversation.
    OpenConversation(String),
    /// `open_settings`: go to the settings.
    OpenSettings,
    /// No action: bring the window to the front.
    FocusWindow,
}

/// A notification: what the user is told, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// The message's id.
    pub id: String,
    /// `data.title`, or the default title of the message's kind.
    pub title: String,
    /// `data.content`, or empty.
    pub content: String,
    /// The message's timestamp, in milliseconds since the Unix epoch.
    pub timestamp: u64,
    /// The category.
    pub kind: NotificationType,
    /// `data.level`, `info` if missing or unknown.
    pub level: Level,
    /// From `data.action` (and `data.conversationId`).
    pub action: ClickAction,
    /// The message's `data`, kept whole for "view details".
    pub data: Value,
    /// Notifications with the same tag are one notification: `data.tag`, or the id.
    pub tag: String,
    /// `data.priority`, or what the level implies.
    pub priority: Priority,
}
// ANCHOR_END: types

/// A string field of `data`, if it is there and a string.
fn text_field<'a>(data: &'a Value, key: &str) -> Option<&'a str> {
    data.get(key).and_then(Value::as_str)
}

impl Level {
    // ANCHOR: level_parse
    /// The level named `name`; anything else (or nothing) is [`Level::Info`].
    pub fn parse(name: Option<&str>) -> Level {
        // ANCHOR_END: level_parse
        todo!(
            "Task 1: parse the level (chapter 08, section \"Task 1: From message to notification\")"
        )
    }
}

impl Priority {
    // ANCHOR: priority_for
    /// The priority named `name` (`"low"` … `"urgent"`); without a known
    /// name, what the level implies: errors are urgent, warnings high,
    /// everything else normal.
    pub fn parse_or_for_level(name: Option<&str>, level: Level) -> Priority {
        // ANCHOR_END: priority_for
        todo!("Task 1: the priority (chapter 08, section \"Task 1: From message to notification\")")
    }
}

impl ClickAction {
    // ANCHOR: click_target
    /// Where a click leads: `/chat?conversation=<id>`, `/settings`, or
    /// `None` for [`ClickAction::FocusWindow`] (stay, and focus the window).
    pub fn target(&self) -> Option<String> {
        // ANCHOR_END: click_target
        todo!(
            "Task 1: the click target (chapter 08, section \"Task 1: From message to notification\")"
        )
    }
}

impl Notification {
    // ANCHOR: from_message
    /// The notification for a message, or `None` for kinds that never
    /// notify (typing, heartbeat). See the chapter's mapping table.
    pub fn from_message(message: &Message) -> Option<Notification> {
        // ANCHOR_END: from_message
        todo!(
            "Task 1: map the message (chapter 08, section \"Task 1: From message to notification\")"
        )
    }

    // ANCHOR: icon
    /// The icon: 💬 for a message, ❌ for an error, and for system
    /// notifications by level: ⚠️ warning, ❌ error, ℹ️ info, 📢 otherwise.
    pub fn icon(&self) -> &'static str {
        // ANCHOR_END: icon
        todo!("Task 1: the icon (chapter 08, section \"Task 1: From message to notification\")")
    }
}
