//! Visible checks of unit 09, for the first tasks: shortcodes and quick
//! replies, typing indicators that expire (on tokio's paused clock), the
//! terminal rendering, and the history in SQLite. Run them with
//! `cargo test`; `cargo grade 09` runs these and the hidden checks.

use std::time::Duration;

use chat::{
    AttachmentInfo, ChatMessage, Conversation, Draft, MessageKind, ServerMessage, Status, Store,
    TYPING_TIMEOUT, TypingTracker, expand_shortcodes, quick_reply,
};
use tokio::time::Instant;

checkkit::checks! {
    shortcodes_become_emoji,
    typing_expires_without_a_stop_event,
    conversation_rendering,
    store_keeps_history_in_order,
}

async fn shortcodes_become_emoji() {
    let section = "(chapter 09, \"Task 1: Emoji and quick replies\")";
    for (input, expected) in [
        ("hello :smile:", "hello 😄"),
        (":thumbsup::tada:", "👍🎉"),
        ("no codes here", "no codes here"),
        ("unknown :nope: stays", "unknown :nope: stays"),
        ("time: 12:30", "time: 12:30"),
    ] {
        assert_eq!(
            expand_shortcodes(input),
            expected,
            "expand_shortcodes({input:?}): known :name:s become emoji, anything else stays as typed {section}"
        );
    }
    assert_eq!(
        quick_reply(1),
        Some("👍"),
        "quick reply 1 is the first of QUICK_REPLIES {section}"
    );
    assert_eq!(
        quick_reply(0),
        None,
        "quick replies are numbered from 1; 0 is none {section}"
    );
}

async fn typing_expires_without_a_stop_event() {
    tokio::time::pause();
    let section = "(chapter 09, \"Task 2: Typing that expires\")";
    let mut tracker = TypingTracker::new();
    let start = Instant::now();
    tracker.typing("bob", start);
    tracker.typing("alice", start);
    assert_eq!(
        tracker.typing_users(Instant::now()),
        ["alice", "bob"],
        "right after their typing events both users are typing, sorted by name {section}"
    );
    tokio::time::advance(TYPING_TIMEOUT - Duration::from_millis(1)).await;
    assert_eq!(
        tracker.typing_users(Instant::now()).len(),
        2,
        "an indicator lasts TYPING_TIMEOUT: 1 ms before, both are still typing {section}"
    );
    tokio::time::advance(Duration::from_millis(1)).await;
    assert!(
        tracker.typing_users(Instant::now()).is_empty(),
        "without a stop event, indicators end TYPING_TIMEOUT after the last typing event {section}"
    );
}

fn message(id: i64, seq: i64, user: &str, text: &str, status: Status) -> ChatMessage {
    ChatMessage {
        id,
        room: "lobby".into(),
        seq,
        user: user.into(),
        kind: MessageKind::Text,
        text: text.into(),
        attachment: None,
        // 2023-11-14 22:13:20 UTC, plus a minute per message.
        sent_at: 1_700_000_000_000 + seq * 60_000,
        status,
    }
}

async fn conversation_rendering() {
    tokio::time::pause();
    let section = "(chapter 09, \"Task 3: The conversation on screen\")";
    let now = Instant::now();
    let mut view = Conversation::new("lobby", "alice");
    view.apply(
        &ServerMessage::Joined {
            room: "lobby".into(),
            history: vec![
                message(1, 1, "bob", "hi alice 👋", Status::Read),
                message(2, 2, "alice", "hi bob", Status::Sent),
            ],
        },
        now,
    );
    let mut picture = message(3, 3, "alice", "", Status::Sent);
    picture.kind = MessageKind::Image;
    picture.attachment = Some(AttachmentInfo {
        name: "cat.png".into(),
        mime: "image/png".into(),
        size: 12_800,
    });
    view.apply(&ServerMessage::Message { message: picture }, now);
    view.apply(
        &ServerMessage::Receipt {
            id: 2,
            room: "lobby".into(),
            status: Status::Delivered,
        },
        now,
    );
    view.apply(
        &ServerMessage::Typing {
            room: "lobby".into(),
            user: "bob".into(),
        },
        now,
    );
    let expected = "# lobby\n\
                    [22:14] bob: hi alice 👋\n\
                    [22:15] alice: hi bob ✓✓\n\
                    [22:16] alice: 🖼 cat.png (12.5 KiB) ✓\n\
                    bob is typing…";
    assert_eq!(
        view.render(10, now),
        expected,
        "the rendered room: a title, one line per message ([HH:MM] user: text, a status mark after your own), then who is typing {section}"
    );
}

async fn store_keeps_history_in_order() {
    let section = "(chapter 09, \"Task 4: History in SQLite\")";
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Store::open(&dir.path().join("chat.db"))
        .await
        .unwrap_or_else(|error| panic!("Store::open must create the database: {error} {section}"));
    for (room, text) in [
        ("lobby", "first"),
        ("lobby", "second"),
        ("rust", "elsewhere"),
        ("lobby", "third"),
    ] {
        let draft = Draft {
            room: room.into(),
            user: "alice".into(),
            kind: MessageKind::Text,
            text: text.into(),
            attachment: None,
        };
        store
            .insert(draft)
            .await
            .unwrap_or_else(|error| panic!("insert must store a message: {error} {section}"));
    }
    let history = store
        .history("lobby", 10)
        .await
        .unwrap_or_else(|error| panic!("history must read the room: {error} {section}"));
    let seen: Vec<(i64, &str)> = history
        .iter()
        .map(|message| (message.seq, message.text.as_str()))
        .collect();
    assert_eq!(
        seen,
        [(1, "first"), (2, "second"), (3, "third")],
        "a room's history is its own messages, numbered 1, 2, 3 per room, oldest first {section}"
    );
    assert!(
        history.iter().all(|message| message.status == Status::Sent),
        "a stored message starts with status sent {section}"
    );
    let last_two = store
        .history("lobby", 2)
        .await
        .unwrap_or_else(|error| panic!("history must read the room: {error} {section}"));
    assert_eq!(
        last_two.iter().map(|m| m.seq).collect::<Vec<_>>(),
        [2, 3],
        "history(room, 2) is the *last* two messages, still oldest first {section}"
    );
}
