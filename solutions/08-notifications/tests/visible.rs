//! Visible checks of unit 08, for the first tasks: the mapping from
//! messages to notifications, icons and click targets, and the terminal
//! toast. They are pure: no server, no clock. Run them with `cargo test`;
//! `cargo grade 08` runs these and the hidden checks.

use notifications::{
    ClickAction, Level, Message, MessageKind, Notification, NotificationType, Priority, render,
};
use serde_json::json;

checkkit::checks! {
    text_and_system_messages_become_notifications,
    icons_and_click_targets,
    terminal_toast_rendering,
}

fn message(id: &str, kind: MessageKind, data: serde_json::Value) -> Message {
    Message {
        id: id.to_owned(),
        kind,
        action: "notify".to_owned(),
        data,
        timestamp: 1_700_000_000_000,
    }
}

fn map(message: &Message) -> Notification {
    Notification::from_message(message).unwrap_or_else(|| {
        panic!(
            "a {:?} message must become a notification, but from_message returned None \
             (chapter 08, \"Task 1: From message to notification\")",
            message.kind
        )
    })
}

async fn text_and_system_messages_become_notifications() {
    let text = message(
        "m-1",
        MessageKind::Text,
        json!({ "content": "lunch?", "conversationId": "c-42" }),
    );
    let n = map(&text);
    let section = "(chapter 08, \"Task 1: From message to notification\")";
    assert_eq!(
        n.id, "m-1",
        "the notification keeps the message's id {section}"
    );
    assert_eq!(
        n.kind,
        NotificationType::Message,
        "a text message is of type message {section}"
    );
    assert_eq!(
        n.title, "new message",
        "a text message without a title gets \"new message\" {section}"
    );
    assert_eq!(n.content, "lunch?", "the content is data.content {section}");
    assert_eq!(
        n.timestamp, 1_700_000_000_000,
        "the timestamp is the message's {section}"
    );
    assert_eq!(n.level, Level::Info, "the level defaults to info {section}");
    assert_eq!(n.tag, "m-1", "without data.tag the tag is the id {section}");
    assert_eq!(
        n.priority,
        Priority::Normal,
        "a text message is of normal priority {section}"
    );
    assert_eq!(
        n.action,
        ClickAction::OpenConversation("c-42".to_owned()),
        "a text message with a conversationId opens that conversation {section}"
    );
    assert_eq!(n.data, text.data, "data is kept whole {section}");

    let system = message(
        "s-1",
        MessageKind::System,
        json!({ "title": "Maintenance at 22:00", "content": "Save your work.",
                "level": "warning", "action": "open_settings" }),
    );
    let n = map(&system);
    assert_eq!(
        n.kind,
        NotificationType::System,
        "a system message is of type system {section}"
    );
    assert_eq!(
        n.title, "Maintenance at 22:00",
        "data.title is the title {section}"
    );
    assert_eq!(
        n.level,
        Level::Warning,
        "data.level \"warning\" is Level::Warning {section}"
    );
    assert_eq!(
        n.priority,
        Priority::High,
        "a warning is of high priority {section}"
    );
    assert_eq!(
        n.action,
        ClickAction::OpenSettings,
        "\"open_settings\" is ClickAction::OpenSettings {section}"
    );

    let typing = message("t-1", MessageKind::Typing, json!({ "userId": "u-1" }));
    assert_eq!(
        Notification::from_message(&typing),
        None,
        "a typing message never becomes a notification {section}"
    );
}

async fn icons_and_click_targets() {
    let section = "(chapter 08, \"Task 1: From message to notification\")";
    let cases = [
        (MessageKind::Text, json!({}), "💬"),
        (MessageKind::System, json!({}), "ℹ️"),
        (MessageKind::System, json!({ "level": "warning" }), "⚠️"),
        (MessageKind::System, json!({ "level": "error" }), "❌"),
        (MessageKind::System, json!({ "level": "success" }), "📢"),
    ];
    for (kind, data, icon) in cases {
        let n = map(&message("x", kind, data.clone()));
        assert_eq!(
            n.icon(),
            icon,
            "the icon of a {kind:?} message with data {data} {section}"
        );
    }
    assert_eq!(
        ClickAction::OpenConversation("c-7".to_owned())
            .target()
            .as_deref(),
        Some("/chat?conversation=c-7"),
        "open_conversation leads to /chat?conversation=<id> {section}"
    );
    assert_eq!(
        ClickAction::OpenSettings.target().as_deref(),
        Some("/settings"),
        "open_settings leads to /settings {section}"
    );
    assert_eq!(
        ClickAction::FocusWindow.target(),
        None,
        "without an action a click only focuses the window {section}"
    );
}

async fn terminal_toast_rendering() {
    let section = "(chapter 08, \"Task 2: The terminal toast\")";
    let chat = map(&message(
        "m-1",
        MessageKind::Text,
        json!({ "title": "Ada", "content": "lunch?", "conversationId": "c-42" }),
    ));
    assert_eq!(
        render(&chat),
        "💬 Ada\n   lunch?\n   [info · normal]  view details →  ✕",
        "the toast of a chat message {section}"
    );
    let empty = map(&message(
        "s-1",
        MessageKind::System,
        json!({ "level": "success" }),
    ));
    assert_eq!(
        render(&empty),
        "📢 system notification\n   [success · normal]  view details →  ✕",
        "without content the second line is left out {section}"
    );
}
