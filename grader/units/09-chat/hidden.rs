//! Hidden checks of unit 09: every graded behaviour of the chat system and
//! the lessons this unit owns (slow clients, broadcast lag, blocking in the
//! read loop, size limits with fragments, resets, one writer, shutdown).
//! Each check starts its own server on `127.0.0.1:0` with a fresh database
//! in a temporary directory; every network wait has a time limit.

use std::time::Duration;

use chat::{
    ATTACHMENT_LIMIT, AttachmentInfo, ChatClient, ChatMessage, Config, Conversation, Draft, Event,
    MessageKind, QUICK_REPLIES, Server, ServerMessage, Status, Store, TYPING_TIMEOUT,
    TypingTracker, UploadHeader, encode_binary, expand_shortcodes, quick_reply,
};
use checkkit::within;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

checkkit::checks! {
    shortcode_edge_cases,
    quick_replies_are_sent_expanded,
    typing_renewal_and_stop,
    typing_reaches_the_others_only,
    rendering_of_many_typists_and_files,
    messages_are_ordered_per_room,
    late_joiner_gets_history,
    receipts_flow_back_to_the_sender,
    attachment_whole_and_in_fragments,
    oversize_attachment_is_refused_and_the_connection_stays,
    over_the_transport_limit_closes_with_1009,
    search_finds_by_words,
    history_survives_a_restart,
    slow_client_is_closed_and_fast_client_gets_everything,
    paused_client_is_never_left_silent,
    reset_client_does_not_disturb_the_others,
    reset_client_leaves_the_cpu_idle,
    one_writer_and_close_last,
    slow_search_does_not_block_other_clients,
    shutdown_closes_every_client_with_1001,
    bad_requests_get_an_error_not_a_hangup,
}

/// The check binary's heap, counted: the slow-client check measures how
/// much the server keeps for a client that never reads.
#[global_allocator]
static HEAP: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);

/// Generous for anything on loopback.
const WAIT: Duration = Duration::from_secs(5);

type Raw = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A server on a fresh database; the directory lives as long as the pair.
async fn start_with(configure: impl FnOnce(&mut Config)) -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut config = Config::new(dir.path().join("chat.db"));
    configure(&mut config);
    let server = within(WAIT, "Server::start", Server::start(config))
        .await
        .unwrap_or_else(|error| {
            panic!("the server must start: {error} (chapter 09, \"Task 7: Start and shut down\")")
        });
    (server, dir)
}

async fn start() -> (Server, tempfile::TempDir) {
    start_with(|_| {}).await
}

async fn connect(server: &Server, user: &str) -> ChatClient {
    within(WAIT, "connecting", ChatClient::connect(&server.url(), user))
        .await
        .unwrap_or_else(|error| {
            panic!(
                "{user} must be able to connect: {error} (chapter 09, \"Task 6: The connection\")"
            )
        })
}

async fn join(client: &mut ChatClient, room: &str) -> Vec<ChatMessage> {
    within(WAIT, "the answer to a join", client.join(room))
        .await
        .unwrap_or_else(|error| {
            panic!("joining {room} must answer with the history: {error} (chapter 09, \"Task 5: Rooms and fan-out\")")
        })
}

async fn raw(server: &Server, user: &str) -> Raw {
    let url = format!("{}?user={user}", server.url());
    within(WAIT, "connecting", tokio_tungstenite::connect_async(url))
        .await
        .unwrap_or_else(|error| panic!("{user} must be able to connect: {error}"))
        .0
}

async fn raw_send(socket: &mut Raw, message: &serde_json::Value) {
    within(
        WAIT,
        "sending",
        socket.send(Message::text(message.to_string())),
    )
    .await
    .expect("sending on an open connection succeeds");
}

async fn event(client: &mut ChatClient, what: &str) -> Event {
    within(WAIT, what, client.next_event())
        .await
        .unwrap_or_else(|error| panic!("waiting for {what}, the connection failed: {error}"))
}

/// Reads events until one matches; returns it.
async fn until(client: &mut ChatClient, what: &str, wanted: impl Fn(&Event) -> bool) -> Event {
    loop {
        let next = event(client, what).await;
        if wanted(&next) {
            return next;
        }
        if let Event::Closed { code, reason } = next {
            panic!("waiting for {what}, the server closed the connection ({code} {reason:?})");
        }
    }
}

/// Reads until the next chat message and returns it.
async fn next_message(client: &mut ChatClient, what: &str) -> ChatMessage {
    match until(client, what, |e| {
        matches!(e, Event::Server(ServerMessage::Message { .. }))
    })
    .await
    {
        Event::Server(ServerMessage::Message { message }) => message,
        _ => unreachable!(),
    }
}

fn fragments(payload: Vec<u8>, count: usize) -> Vec<Message> {
    let size = payload.len().div_ceil(count);
    let chunks: Vec<&[u8]> = payload.chunks(size).collect();
    let last = chunks.len() - 1;
    chunks
        .iter()
        .enumerate()
        .map(|(index, chunk)| {
            let opcode = if index == 0 {
                OpCode::Data(Data::Binary)
            } else {
                OpCode::Data(Data::Continue)
            };
            Message::Frame(Frame::message(
                Bytes::copy_from_slice(chunk),
                opcode,
                index == last,
            ))
        })
        .collect()
}

fn upload(room: &str, client_id: &str, name: &str, bytes: &[u8]) -> Vec<u8> {
    upload_as(
        room,
        client_id,
        MessageKind::Image,
        name,
        "image/png",
        bytes,
    )
}

fn upload_as(
    room: &str,
    client_id: &str,
    kind: MessageKind,
    name: &str,
    mime: &str,
    bytes: &[u8],
) -> Vec<u8> {
    let header = UploadHeader {
        room: room.into(),
        client_id: client_id.into(),
        kind,
        name: name.into(),
        mime: mime.into(),
    };
    encode_binary(&header, bytes)
}

/// An attachment as the history shows it: name, type and size.
type Kept = (String, String, u64);

/// Milliseconds since the Unix epoch, as `sent_at` counts them.
fn wall_clock_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

// ------------------------------------------------------------ pure parts

async fn shortcode_edge_cases() {
    let section = "(chapter 09, \"Task 1: Emoji and quick replies\")";
    for (input, expected) in [
        ("::smile:", ":😄"),
        (":smile", ":smile"),
        ("a:b:smile:c", "a:b😄c"),
        (":+1: :heart:", "👍 ❤️"),
        ("", ""),
        (":::", ":::"),
        ("ünï :tada: cödé", "ünï 🎉 cödé"),
    ] {
        assert_eq!(
            expand_shortcodes(input),
            expected,
            "expand_shortcodes({input:?}): scan left to right; a colon that starts no known shortcode stays and the scan goes on from the next character {section}"
        );
    }
    assert_eq!(
        quick_reply(QUICK_REPLIES.len()),
        QUICK_REPLIES.last().copied(),
        "the last quick reply is number QUICK_REPLIES.len() {section}"
    );
    assert_eq!(
        quick_reply(QUICK_REPLIES.len() + 1),
        None,
        "past the last quick reply there is none {section}"
    );
}

async fn quick_replies_are_sent_expanded() {
    let (server, _dir) = start().await;
    let mut alice = connect(&server, "alice").await;
    let mut bob = connect(&server, "bob").await;
    join(&mut alice, "lobby").await;
    join(&mut bob, "lobby").await;
    let number = QUICK_REPLIES
        .iter()
        .position(|reply| reply.contains(":smile:"))
        .expect("a quick reply with :smile:")
        + 1;
    within(WAIT, "sending", alice.send_quick_reply("lobby", number))
        .await
        .expect("sending a quick reply");
    let message = next_message(&mut bob, "the quick reply").await;
    assert_eq!(
        message.text,
        expand_shortcodes(QUICK_REPLIES[number - 1]),
        "the server expands :shortcodes: in every text message before storing and sending it (chapter 09, \"Task 6: The connection\")"
    );
    server.shutdown().await;
}

async fn typing_renewal_and_stop() {
    tokio::time::pause();
    let section = "(chapter 09, \"Task 2: Typing that expires\")";
    let mut tracker = TypingTracker::new();
    assert_eq!(
        tracker.next_expiry(),
        None,
        "nobody typing: no expiry {section}"
    );
    let start = Instant::now();
    tracker.typing("carol", start);
    tokio::time::advance(Duration::from_secs(2)).await;
    tracker.typing("carol", Instant::now());
    tracker.typing("dave", Instant::now());
    tokio::time::advance(TYPING_TIMEOUT - Duration::from_millis(500)).await;
    assert_eq!(
        tracker.typing_users(Instant::now()),
        ["carol", "dave"],
        "a repeated typing event renews the indicator: it lasts TYPING_TIMEOUT from the *last* event {section}"
    );
    assert_eq!(
        tracker.next_expiry(),
        Some(start + Duration::from_secs(2) + TYPING_TIMEOUT),
        "next_expiry is the earliest end of a current indicator {section}"
    );
    tracker.stopped("dave");
    assert_eq!(
        tracker.typing_users(Instant::now()),
        ["carol"],
        "a stop event ends the indicator at once {section}"
    );
    tokio::time::advance(Duration::from_millis(500)).await;
    assert!(
        tracker.typing_users(Instant::now()).is_empty(),
        "TYPING_TIMEOUT after the last event, the indicator is gone {section}"
    );
    assert_eq!(
        tracker.next_expiry(),
        None,
        "expired indicators are forgotten {section}"
    );
}

async fn typing_reaches_the_others_only() {
    let (server, _dir) = start().await;
    let mut alice = connect(&server, "alice").await;
    let mut bob = connect(&server, "bob").await;
    join(&mut alice, "lobby").await;
    join(&mut bob, "lobby").await;
    within(WAIT, "typing", alice.typing("lobby"))
        .await
        .expect("typing");
    let typing = event(&mut bob, "alice's typing event").await;
    assert_eq!(
        typing,
        Event::Server(ServerMessage::Typing {
            room: "lobby".into(),
            user: "alice".into()
        }),
        "the others in the room learn who is typing (chapter 09, \"Task 5: Rooms and fan-out\")"
    );
    within(WAIT, "stop", alice.stop_typing("lobby"))
        .await
        .expect("stop typing");
    within(WAIT, "sending", alice.send_text("lobby", "done"))
        .await
        .expect("sending");
    let next = event(&mut bob, "alice's stop event").await;
    assert!(
        matches!(next, Event::Server(ServerMessage::StopTyping { ref user, .. }) if user == "alice"),
        "a stop event reaches the others too, got {next:?} (chapter 09, \"Task 5: Rooms and fan-out\")"
    );
    // Alice's own stream: the Sent ack and her message, no typing echo.
    let mut seen = Vec::new();
    loop {
        let next = event(&mut alice, "alice's own message").await;
        let done = matches!(next, Event::Server(ServerMessage::Message { .. }));
        seen.push(next);
        if done {
            break;
        }
    }
    assert!(
        !seen.iter().any(|e| matches!(
            e,
            Event::Server(ServerMessage::Typing { .. } | ServerMessage::StopTyping { .. })
        )),
        "the typist must not get their own typing events back, got {seen:?} (chapter 09, \"Task 5: Rooms and fan-out\")"
    );
    server.shutdown().await;
}

fn chat_message(id: i64, user: &str, text: &str, status: Status) -> ChatMessage {
    ChatMessage {
        id,
        room: "ops".into(),
        seq: id,
        user: user.into(),
        kind: MessageKind::Text,
        text: text.into(),
        attachment: None,
        sent_at: 1_700_000_000_000 + id * 60_000,
        status,
    }
}

async fn rendering_of_many_typists_and_files() {
    tokio::time::pause();
    let section = "(chapter 09, \"Task 3: The conversation on screen\")";
    let now = Instant::now();
    let mut view = Conversation::new("ops", "erin");
    let mut report = chat_message(2, "frank", "", Status::Sent);
    report.kind = MessageKind::File;
    report.attachment = Some(AttachmentInfo {
        name: "report.pdf".into(),
        mime: "application/pdf".into(),
        size: 3 * 1024 * 1024 / 2,
    });
    let mut tiny = chat_message(4, "erin", "", Status::Sent);
    tiny.kind = MessageKind::File;
    tiny.attachment = Some(AttachmentInfo {
        name: "a.txt".into(),
        mime: "text/plain".into(),
        size: 512,
    });
    view.apply(
        &ServerMessage::Joined {
            room: "ops".into(),
            history: vec![
                chat_message(1, "erin", "deploying", Status::Read),
                report,
                chat_message(3, "erin", "ack", Status::Delivered),
            ],
        },
        now,
    );
    view.apply(&ServerMessage::Message { message: tiny }, now);
    // Another room's events change nothing here.
    view.apply(
        &ServerMessage::Typing {
            room: "elsewhere".into(),
            user: "zed".into(),
        },
        now,
    );
    for user in ["gina", "frank", "hal", "ivan", "erin"] {
        view.apply(
            &ServerMessage::Typing {
                room: "ops".into(),
                user: user.into(),
            },
            now,
        );
    }
    let expected = "# ops\n\
                    [22:15] frank: 📎 report.pdf (1.5 MiB)\n\
                    [22:16] erin: ack ✓✓\n\
                    [22:17] erin: 📎 a.txt (512 B) ✓\n\
                    frank, gina and 2 others are typing…";
    assert_eq!(
        view.render(3, now),
        expected,
        "render(3, now): the last 3 messages; files as 📎 name (size); from four typists on, \"first, second and N others are typing…\" (never yourself) {section}"
    );
    // Three typists; then they all expire.
    view.apply(
        &ServerMessage::StopTyping {
            room: "ops".into(),
            user: "ivan".into(),
        },
        now,
    );
    assert!(
        view.render(1, now)
            .ends_with("frank, gina and hal are typing…"),
        "three typists: \"frank, gina and hal are typing…\", got {:?} {section}",
        view.render(1, now)
    );
    assert_eq!(
        view.render(1, now + TYPING_TIMEOUT),
        "# ops\n[22:17] erin: 📎 a.txt (512 B) ✓",
        "after TYPING_TIMEOUT without news the typing line goes away by itself {section}"
    );
    let mut pair = Conversation::new("ops", "erin");
    for user in ["frank", "gina"] {
        pair.apply(
            &ServerMessage::Typing {
                room: "ops".into(),
                user: user.into(),
            },
            now,
        );
    }
    assert_eq!(
        pair.render(5, now),
        "# ops\nfrank and gina are typing…",
        "two typists: \"frank and gina are typing…\" {section}"
    );
    assert_eq!(
        chat::message_line(&chat_message(1, "erin", "x", Status::Read), "erin"),
        "[22:14] erin: x ✓✓ read",
        "read is marked \"✓✓ read\" {section}"
    );
}

// ------------------------------------------------------------ the server

async fn messages_are_ordered_per_room() {
    let (server, _dir) = start().await;
    let mut alice = connect(&server, "alice").await;
    let mut bob = connect(&server, "bob").await;
    let mut carol = connect(&server, "carol").await;
    for client in [&mut alice, &mut bob, &mut carol] {
        join(client, "lobby").await;
    }
    join(&mut carol, "other").await;
    join(&mut alice, "other").await;
    const EACH: usize = 50;
    let sending = async {
        for i in 0..EACH {
            alice
                .send_text("lobby", &format!("a{i}"))
                .await
                .expect("alice sends");
            bob.send_text("lobby", &format!("b{i}"))
                .await
                .expect("bob sends");
        }
        alice.send_text("other", "x").await.ok();
    };
    within(WAIT, "sending 100 messages", sending).await;
    let mut lobby = Vec::new();
    let mut other = Vec::new();
    while lobby.len() < 2 * EACH || other.is_empty() {
        let message = next_message(&mut carol, "the 100 messages").await;
        if message.room == "lobby" {
            lobby.push(message);
        } else {
            other.push(message);
        }
    }
    let seqs: Vec<i64> = lobby.iter().map(|m| m.seq).collect();
    let expected: Vec<i64> = (1..=2 * EACH as i64).collect();
    assert_eq!(
        seqs, expected,
        "every member receives a room's messages in seq order, 1, 2, 3 … without gaps (chapter 09, \"Task 5: Rooms and fan-out\")"
    );
    for author in ["a", "b"] {
        let texts: Vec<&str> = lobby
            .iter()
            .map(|m| m.text.as_str())
            .filter(|t| t.starts_with(author))
            .collect();
        let sent: Vec<String> = (0..EACH).map(|i| format!("{author}{i}")).collect();
        assert_eq!(
            texts, sent,
            "each author's messages keep the order they were sent in (chapter 09, \"Task 5: Rooms and fan-out\")"
        );
    }
    assert_eq!(
        other[0].seq, 1,
        "seq counts per room: the first message of another room is 1 (chapter 09, \"Task 4: History in SQLite\")"
    );
    server.shutdown().await;
}

async fn late_joiner_gets_history() {
    let (server, _dir) = start().await;
    let mut alice = connect(&server, "alice").await;
    join(&mut alice, "lobby").await;
    let before = wall_clock_ms();
    for i in 1..=chat::HISTORY_LIMIT + 5 {
        within(WAIT, "sending", alice.send_text("lobby", &format!("m{i}")))
            .await
            .expect("sending");
    }
    // Wait until the last one is stored (alice gets her own messages).
    loop {
        let message = next_message(&mut alice, "alice's own messages").await;
        if message.seq == (chat::HISTORY_LIMIT + 5) as i64 {
            break;
        }
    }
    let after = wall_clock_ms();
    let mut late = connect(&server, "late").await;
    let history = join(&mut late, "lobby").await;
    let outside: Vec<i64> = history
        .iter()
        .map(|m| m.sent_at)
        .filter(|at| !(before - 1_000..=after + 1_000).contains(at))
        .collect();
    assert!(
        outside.is_empty(),
        "sent_at is when the server stored the message, in milliseconds since the Unix epoch, and it is stored with it: the messages were sent between {before} and {after}, but the history has sent_at {outside:?} (chapter 09, \"The protocol\" and \"Task 4: History in SQLite\")"
    );
    let seqs: Vec<i64> = history.iter().map(|m| m.seq).collect();
    let expected: Vec<i64> = (6..=(chat::HISTORY_LIMIT + 5) as i64).collect();
    assert_eq!(
        seqs, expected,
        "a late joiner gets the last HISTORY_LIMIT messages, oldest first (chapter 09, \"Task 5: Rooms and fan-out\")"
    );
    assert_eq!(
        history.last().map(|m| m.text.as_str()),
        Some(format!("m{}", chat::HISTORY_LIMIT + 5).as_str()),
        "history carries the messages' text"
    );
    within(WAIT, "sending", alice.send_text("lobby", "after"))
        .await
        .expect("sending");
    let live = next_message(&mut late, "the first live message").await;
    assert_eq!(
        (live.seq, live.text.as_str()),
        ((chat::HISTORY_LIMIT + 6) as i64, "after"),
        "after the history, the joiner gets new messages live: none missed, none twice (chapter 09, \"Task 5: Rooms and fan-out\")"
    );
    server.shutdown().await;
}

async fn receipts_flow_back_to_the_sender() {
    let section = "(chapter 09, \"Task 6: The connection\")";
    let (server, _dir) = start().await;
    let mut alice = connect(&server, "alice").await;
    let mut bob = connect(&server, "bob").await;
    // Alice on a second device: receipts go to every connection of the
    // author in the room.
    let mut alice_phone = connect(&server, "alice").await;
    join(&mut alice, "lobby").await;
    join(&mut bob, "lobby").await;
    join(&mut alice_phone, "lobby").await;
    let client_id = within(
        WAIT,
        "sending",
        alice.send_text("lobby", "did you get this?"),
    )
    .await
    .expect("sending");
    let sent = event(&mut alice, "the Sent acknowledgement").await;
    let Event::Server(ServerMessage::Sent {
        client_id: acked,
        id,
        ..
    }) = sent
    else {
        panic!("the author's first answer is Sent with its client_id, got {sent:?} {section}");
    };
    assert_eq!(
        acked, client_id,
        "Sent carries the author's client_id {section}"
    );
    let own = next_message(&mut alice, "alice's own message").await;
    assert_eq!(
        own.status,
        Status::Sent,
        "a new message has status sent {section}"
    );
    // Bob's client sends `delivered` when it receives the message.
    let received = next_message(&mut bob, "alice's message").await;
    assert_eq!(received.id, id);
    let delivered = event(&mut alice, "the delivered receipt").await;
    assert_eq!(
        delivered,
        Event::Server(ServerMessage::Receipt {
            id,
            room: "lobby".into(),
            status: Status::Delivered
        }),
        "when another member's client has the message, the author gets a delivered receipt {section}"
    );
    let on_phone = until(
        &mut alice_phone,
        "the receipt on alice's second connection in the room (receipts go to every connection of the author there)",
        |e| matches!(e, Event::Server(ServerMessage::Receipt { .. })),
    )
    .await;
    assert_eq!(
        on_phone,
        Event::Server(ServerMessage::Receipt {
            id,
            room: "lobby".into(),
            status: Status::Delivered
        }),
        "the author's other connection in the room gets the receipt too: receipts go to every connection of the author in that room {section}"
    );
    let history = join(&mut alice_phone, "lobby").await;
    assert_eq!(
        history.iter().find(|m| m.id == id).map(|m| m.status),
        Some(Status::Delivered),
        "the status is stored at every step: after the delivered receipt, the history shows the message as delivered {section}"
    );
    within(WAIT, "read", bob.mark_read(id))
        .await
        .expect("mark_read");
    within(WAIT, "read again", bob.mark_read(id))
        .await
        .expect("mark_read");
    let read = event(&mut alice, "the read receipt").await;
    assert_eq!(
        read,
        Event::Server(ServerMessage::Receipt {
            id,
            room: "lobby".into(),
            status: Status::Read
        }),
        "when another member reads it, the author gets a read receipt {section}"
    );
    // The author reading their own message, and a repeated read, change nothing;
    // the next thing alice sees is her next message.
    within(WAIT, "own read", alice.mark_read(id))
        .await
        .expect("mark_read");
    within(WAIT, "sending", bob.send_text("lobby", "yes"))
        .await
        .expect("sending");
    let next = event(&mut alice, "bob's reply").await;
    assert!(
        matches!(next, Event::Server(ServerMessage::Message { ref message }) if message.text == "yes"),
        "a status only moves forward, once: no receipt for a repeated read or the author's own, got {next:?} {section}"
    );
    let bob_events: Vec<Event> = {
        let mut seen = Vec::new();
        loop {
            let e = event(&mut bob, "bob's own message").await;
            let done = matches!(e, Event::Server(ServerMessage::Message { ref message }) if message.text == "yes");
            seen.push(e);
            if done {
                break seen;
            }
        }
    };
    assert!(
        !bob_events
            .iter()
            .any(|e| matches!(e, Event::Server(ServerMessage::Receipt { .. }))),
        "receipts go to the author only, but bob got {bob_events:?} {section}"
    );
    let history = join(&mut alice, "lobby").await;
    assert_eq!(
        history.first().map(|m| m.status),
        Some(Status::Read),
        "the status is stored: history shows it {section}"
    );
    server.shutdown().await;
    store_advances_only_forward_for_members_other_than_the_author().await;
}

/// `Store::advance`, case by case: who may move a status, and which way.
async fn store_advances_only_forward_for_members_other_than_the_author() {
    let section = "(chapter 09, \"Receipts\" and \"Task 4: History in SQLite\")";
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = within(
        WAIT,
        "Store::open",
        Store::open(&dir.path().join("receipts.db")),
    )
    .await
    .unwrap_or_else(|error| panic!("Store::open must create the database: {error} {section}"));
    let mut ids = Vec::new();
    for (room, text) in [("lobby", "one"), ("kitchen", "two")] {
        let draft = Draft {
            room: room.into(),
            user: "alice".into(),
            kind: MessageKind::Text,
            text: text.into(),
            attachment: None,
        };
        let stored = within(WAIT, "Store::insert", store.insert(draft))
            .await
            .unwrap_or_else(|error| panic!("Store::insert stores a message: {error} {section}"));
        ids.push(stored.id);
    }
    let (one, two) = (ids[0], ids[1]);
    let lobby = ["lobby".to_owned()];
    let kitchen = ["kitchen".to_owned()];
    let both = ["kitchen".to_owned(), "lobby".to_owned()];
    let moved = |status| Some(("lobby".to_owned(), "alice".to_owned(), status));
    let steps: [(i64, Status, &str, &[String], _, &str); 9] = [
        (
            one,
            Status::Read,
            "alice",
            &lobby,
            None,
            "the author's own receipt changes nothing",
        ),
        (
            one,
            Status::Read,
            "carol",
            &kitchen,
            None,
            "carol is not in the message's room",
        ),
        (one, Status::Read, "carol", &[], None, "carol is in no room"),
        (
            one + two + 100,
            Status::Read,
            "bob",
            &both,
            None,
            "no message has this id",
        ),
        (
            one,
            Status::Delivered,
            "bob",
            &both,
            moved(Status::Delivered),
            "a member delivers it: sent → delivered",
        ),
        (
            one,
            Status::Delivered,
            "carol",
            &lobby,
            None,
            "already delivered: a status moves once",
        ),
        (
            one,
            Status::Read,
            "bob",
            &lobby,
            moved(Status::Read),
            "a member reads it: delivered → read",
        ),
        (
            one,
            Status::Delivered,
            "carol",
            &lobby,
            None,
            "read is further than delivered: a status never goes back",
        ),
        (one, Status::Read, "carol", &lobby, None, "already read"),
    ];
    for (id, status, by, rooms, expected, why) in steps {
        let got = within(WAIT, "Store::advance", store.advance(id, status, by, rooms))
            .await
            .unwrap_or_else(|error| panic!("Store::advance works: {error} {section}"))
            .map(|advanced| (advanced.room, advanced.author, advanced.status));
        assert_eq!(
            got, expected,
            "advance(message {id}, {status:?}, by {by:?}, rooms {rooms:?}): {why} {section}"
        );
    }
    let got = within(
        WAIT,
        "Store::advance",
        store.advance(two, Status::Read, "bob", &both),
    )
    .await
    .unwrap_or_else(|error| panic!("Store::advance works: {error} {section}"))
    .map(|advanced| (advanced.room, advanced.author, advanced.status));
    assert_eq!(
        got,
        Some(("kitchen".to_owned(), "alice".to_owned(), Status::Read)),
        "a member reads the kitchen's message: sent → read, and the answer names its room {section}"
    );
    let statuses = |history: Vec<ChatMessage>| history.iter().map(|m| m.status).collect::<Vec<_>>();
    let lobby_history = within(WAIT, "Store::history", store.history("lobby", 10))
        .await
        .unwrap_or_else(|error| panic!("Store::history works: {error} {section}"));
    assert_eq!(
        statuses(lobby_history),
        [Status::Read],
        "the stored status of the lobby's message is read {section}"
    );
}

async fn attachment_whole_and_in_fragments() {
    let section = "(chapter 09, \"Task 6: The connection\")";
    let (server, _dir) = start().await;
    let mut bob = connect(&server, "bob").await;
    join(&mut bob, "lobby").await;
    let mut alice = raw(&server, "alice").await;
    raw_send(
        &mut alice,
        &serde_json::json!({"type": "join", "room": "lobby"}),
    )
    .await;
    let image: Vec<u8> = (0..900 * 1024).map(|i| (i % 251) as u8).collect();
    let frame = upload("lobby", "whole", "whole.png", &image);
    within(
        WAIT,
        "sending 900 KiB",
        alice.send(Message::binary(frame.clone())),
    )
    .await
    .expect("sending");
    within(WAIT, "sending 30 fragments", async {
        for fragment in fragments(frame, 30) {
            alice.send(fragment).await.expect("sending a fragment");
        }
    })
    .await;
    for name in ["whole.png", "whole.png"] {
        let message = next_message(&mut bob, "the image message").await;
        assert_eq!(
            (
                message.kind,
                message
                    .attachment
                    .as_ref()
                    .map(|a| (a.name.as_str(), a.size))
            ),
            (MessageKind::Image, Some((name, image.len() as u64))),
            "a 900 KiB image is under the 1 MiB limit, whole or in 30 fragments: the room gets an image message with its name and size {section}"
        );
        let (header, bytes) = within(WAIT, "fetching the bytes", bob.fetch(message.id))
            .await
            .unwrap_or_else(|error| panic!("fetch must return the bytes: {error} {section}"));
        assert_eq!(header.name, name);
        assert!(
            bytes == image,
            "the fetched attachment must be byte for byte what was sent ({} bytes back, {} sent) {section}",
            bytes.len(),
            image.len()
        );
    }
    // Exactly the limit is still allowed; and a file is a file.
    let exact = vec![1u8; ATTACHMENT_LIMIT];
    let notes = b"minutes of the meeting".to_vec();
    for frame in [
        upload("lobby", "exact", "exact.png", &exact),
        upload_as(
            "lobby",
            "notes",
            MessageKind::File,
            "notes.txt",
            "text/plain",
            &notes,
        ),
    ] {
        within(WAIT, "sending", alice.send(Message::binary(frame)))
            .await
            .expect("sending");
    }
    let exact_message = next_message(&mut bob, "the image of exactly ATTACHMENT_LIMIT bytes").await;
    assert_eq!(
        exact_message.attachment.as_ref().map(|a| a.size),
        Some(ATTACHMENT_LIMIT as u64),
        "an attachment of exactly ATTACHMENT_LIMIT bytes is within the limit and is stored; only a bigger one is refused {section}"
    );
    next_message(&mut bob, "the file message").await;
    let mut carol = connect(&server, "carol").await;
    let history = join(&mut carol, "lobby").await;
    let kept: Vec<(MessageKind, Option<Kept>)> = history
        .iter()
        .map(|m| {
            (
                m.kind,
                m.attachment
                    .as_ref()
                    .map(|a| (a.name.clone(), a.mime.clone(), a.size)),
            )
        })
        .collect();
    let png = |name: &str, size: usize| {
        (
            MessageKind::Image,
            Some((name.to_owned(), "image/png".to_owned(), size as u64)),
        )
    };
    assert_eq!(
        kept,
        [
            png("whole.png", image.len()),
            png("whole.png", image.len()),
            png("exact.png", ATTACHMENT_LIMIT),
            (
                MessageKind::File,
                Some((
                    "notes.txt".to_owned(),
                    "text/plain".to_owned(),
                    notes.len() as u64
                ))
            ),
        ],
        "the store keeps each message's kind (image, file) and its attachment's name, type and size: a late joiner's history shows them as they were sent {section}"
    );
    server.shutdown().await;
}

async fn oversize_attachment_is_refused_and_the_connection_stays() {
    let section = "(chapter 09, \"Task 6: The connection\")";
    let (server, _dir) = start().await;
    let mut alice = raw(&server, "alice").await;
    raw_send(
        &mut alice,
        &serde_json::json!({"type": "join", "room": "lobby"}),
    )
    .await;
    let big = vec![7u8; 2 * ATTACHMENT_LIMIT];
    let frame = upload("lobby", "big-1", "big.png", &big);
    within(WAIT, "sending 2 MiB", alice.send(Message::binary(frame)))
        .await
        .expect("sending");
    let fragmented = upload("lobby", "big-2", "big.png", &big);
    within(WAIT, "sending 2 MiB in 64 fragments", async {
        for fragment in fragments(fragmented, 64) {
            alice.send(fragment).await.expect("sending a fragment");
        }
    })
    .await;
    raw_send(
        &mut alice,
        &serde_json::json!({"type": "text", "room": "lobby", "client_id": "after", "text": "still here"}),
    )
    .await;
    let mut refusals = Vec::new();
    let mut acked = false;
    while !acked {
        let frame = within(WAIT, "the server's answers", alice.next())
            .await
            .unwrap_or_else(|| panic!("the connection must stay open after an oversize attachment {section}"))
            .unwrap_or_else(|error| panic!("the connection must stay open after an oversize attachment, got {error} {section}"));
        let Message::Text(text) = frame else {
            if let Message::Close(close) = frame {
                panic!(
                    "an oversize attachment must be refused with an error message, not by closing ({close:?}) {section}"
                );
            }
            continue;
        };
        let message: ServerMessage = serde_json::from_str(&text).expect("server JSON");
        match message {
            ServerMessage::Error {
                code,
                message,
                client_id,
            } => refusals.push((code, message, client_id)),
            ServerMessage::Sent { client_id, .. } if client_id == "after" => acked = true,
            ServerMessage::Sent { client_id, .. } => {
                panic!("the oversize attachment {client_id} must not be stored {section}")
            }
            _ => {}
        }
    }
    assert_eq!(
        refusals.len(),
        2,
        "both 2 MiB attachments (one frame, 64 fragments) must be refused, got {refusals:?} {section}"
    );
    for ((code, message, client_id), expected_id) in refusals.iter().zip(["big-1", "big-2"]) {
        assert_eq!(
            code, "attachment_too_large",
            "the error code names the problem {section}"
        );
        assert_eq!(
            client_id.as_deref(),
            Some(expected_id),
            "the error carries the upload's client_id {section}"
        );
        assert!(
            message.contains(&ATTACHMENT_LIMIT.to_string())
                && message.contains(&big.len().to_string()),
            "the error message says how big the attachment was and what the limit is, got {message:?} {section}"
        );
    }
    server.shutdown().await;
}

async fn over_the_transport_limit_closes_with_1009() {
    let (server, _dir) = start().await;
    let mut bob = connect(&server, "bob").await;
    join(&mut bob, "lobby").await;
    let mut alice = raw(&server, "alice").await;
    let huge = vec![1u8; 2 * chat::MAX_MESSAGE_SIZE];
    // The send may fail once the server has closed: that is fine. It may
    // also not finish: whether the 4 MiB past the limit fit in the kernel's
    // buffers while the server is not reading them depends on the machine
    // (`tcp_rmem`, `tcp_wmem`), not on the server, so running out of time
    // here is not a failure either; the Close is what this check is about.
    let _ = tokio::time::timeout(WAIT, alice.send(Message::binary(huge))).await;
    let close = within(WAIT, "the Close frame", async {
        loop {
            match alice.next().await {
                Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => {}
                Some(Err(error)) => panic!("expected Close(1009), the connection failed first: {error} (chapter 09, \"Task 6: The connection\")"),
                None => panic!("expected Close(1009), the connection ended without one (chapter 09, \"Task 6: The connection\")"),
            }
        }
    })
    .await;
    assert_eq!(
        close,
        Some(1009),
        "a message over MAX_MESSAGE_SIZE is closed with 1009 (chapter 09, \"Task 6: The connection\")"
    );
    within(WAIT, "sending", bob.send_text("lobby", "unaffected"))
        .await
        .expect("bob sends");
    let message = next_message(&mut bob, "bob's message").await;
    assert_eq!(
        message.text, "unaffected",
        "other connections are not affected"
    );
    server.shutdown().await;
}

async fn search_finds_by_words() {
    let section = "(chapter 09, \"Task 4: History in SQLite\")";
    let (server, _dir) = start().await;
    let mut alice = connect(&server, "alice").await;
    join(&mut alice, "lobby").await;
    join(&mut alice, "other").await;
    for (room, text) in [
        ("lobby", "The deploy is done"),
        ("lobby", "concatenate the strings"),
        ("lobby", "is the DEPLOY done yet?"),
        ("lobby", "cat pictures"),
        ("other", "deploy done elsewhere"),
    ] {
        within(WAIT, "sending", alice.send_text(room, text))
            .await
            .expect("sending");
    }
    let mut stored = 0;
    while stored < 5 {
        next_message(&mut alice, "alice's messages").await;
        stored += 1;
    }
    let texts = |messages: Vec<ChatMessage>| -> Vec<String> {
        messages.into_iter().map(|m| m.text).collect()
    };
    let found = within(WAIT, "search", alice.search("lobby", "done deploy"))
        .await
        .expect("search");
    assert_eq!(
        texts(found),
        ["The deploy is done", "is the DEPLOY done yet?"],
        "search finds the room's messages with every word, any order, any case, oldest first {section}"
    );
    let found = within(WAIT, "search", alice.search("lobby", "cat"))
        .await
        .expect("search");
    assert_eq!(
        texts(found),
        ["cat pictures"],
        "search is by words: \"cat\" must not find \"concatenate\" {section}"
    );
    let found = within(WAIT, "search", alice.search("lobby", "\"deploy\" * (done"))
        .await
        .expect("search");
    assert_eq!(
        texts(found).len(),
        2,
        "quotes and operators in a query are not syntax: only its words count {section}"
    );
    for query in ["deploy OR cat", "deploy NOT yet", "NEAR(deploy done)"] {
        let found = within(WAIT, "search", alice.search("lobby", query))
            .await
            .expect("search");
        assert_eq!(
            texts(found),
            Vec::<String>::new(),
            "in {query:?} every word is a word, each in double quotes, not an FTS5 operator: no message in the room has all of them {section}"
        );
    }
    let found = within(WAIT, "search", alice.search("lobby", "?!"))
        .await
        .expect("search");
    assert!(
        found.is_empty(),
        "a query without words finds nothing {section}"
    );
    server.shutdown().await;
}

async fn history_survives_a_restart() {
    let section = "(chapter 09, \"Task 4: History in SQLite\")";
    let dir = tempfile::tempdir().expect("a temporary directory");
    let database = dir.path().join("chat.db");
    let server = within(WAIT, "start", Server::start(Config::new(&database)))
        .await
        .expect("the server starts");
    let mut alice = connect(&server, "alice").await;
    join(&mut alice, "lobby").await;
    for text in ["before", "the", "restart"] {
        within(WAIT, "sending", alice.send_text("lobby", text))
            .await
            .expect("sending");
    }
    let mut stored = 0;
    while stored < 3 {
        next_message(&mut alice, "alice's messages").await;
        stored += 1;
    }
    within(WAIT, "shutdown", server.shutdown()).await;
    drop(alice);
    let server = within(WAIT, "restart", Server::start(Config::new(&database)))
        .await
        .expect("the server starts again on the same database");
    let mut bob = connect(&server, "bob").await;
    let history = join(&mut bob, "lobby").await;
    assert_eq!(
        history.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
        ["before", "the", "restart"],
        "after a restart on the same database, the history is still there {section}"
    );
    within(WAIT, "sending", bob.send_text("lobby", "after"))
        .await
        .expect("sending");
    let message = next_message(&mut bob, "bob's message").await;
    assert_eq!(
        message.seq, 4,
        "after a restart, a room's seq goes on from where it was {section}"
    );
    server.shutdown().await;
}

// ------------------------------------------------------------ the lessons

/// A fast client that posts messages of one size to a room, each once the
/// previous one was acknowledged, and reads (checking their order) its own
/// copies.
struct Publisher {
    socket: Raw,
    room: String,
    body: String,
    /// Messages posted.
    sent: i64,
    /// The last seq it received.
    last: i64,
}

impl Publisher {
    async fn join(server: &Server, room: &str, size: usize) -> Self {
        let mut socket = raw(server, "publisher").await;
        raw_send(
            &mut socket,
            &serde_json::json!({"type": "join", "room": room}),
        )
        .await;
        Self {
            socket,
            room: room.to_owned(),
            body: "x".repeat(size),
            sent: 0,
            last: 0,
        }
    }

    /// Posts one message and waits for its acknowledgement.
    async fn post(&mut self, section: &str) {
        let client_id = format!("p{}", self.sent);
        let message = serde_json::json!({"type": "text", "room": self.room, "client_id": client_id, "text": format!("{} {}", self.sent, self.body)});
        within(WAIT, "publishing", async {
            self.socket
                .send(Message::text(message.to_string()))
                .await
                .expect("publishing");
            read_own(&mut self.socket, &mut self.last, Some(&client_id), section).await;
        })
        .await;
        self.sent += 1;
    }

    /// Reads its own copies of everything it posted.
    async fn drain(&mut self, section: &str) {
        within(WAIT, "the publisher's own copies", async {
            while self.last < self.sent {
                read_own(&mut self.socket, &mut self.last, None, section).await;
            }
        })
        .await;
    }
}

/// Reads the publisher's frames until `client_id` is acknowledged (or, with
/// `None`, one more message arrived), checking that messages come in order.
async fn read_own(socket: &mut Raw, last: &mut i64, client_id: Option<&str>, section: &str) {
    loop {
        let next = socket.next().await;
        let Some(Ok(Message::Text(text))) = next else {
            panic!(
                "the publisher, a fast client, must stay connected, got {next:?} after seq {last} {section}"
            );
        };
        match serde_json::from_str(&text) {
            Ok(ServerMessage::Message { message }) => {
                assert_eq!(
                    message.seq,
                    *last + 1,
                    "fast clients get every message in order {section}"
                );
                *last = message.seq;
                if client_id.is_none() {
                    return;
                }
            }
            Ok(ServerMessage::Sent {
                client_id: acked, ..
            }) if Some(acked.as_str()) == client_id => return,
            _ => {}
        }
    }
}

/// A raw client that reads slowly or not at all, made slow by construction:
/// its socket's receive buffer is set small before it connects (which also
/// stops the kernel from growing it), so what the server writes to it piles
/// up in the server's send buffer and then in the server's queue, whatever
/// the machine's `tcp_rmem` allows. Returns the socket and the receive
/// buffer the kernel granted. See `checkkit::net`.
async fn slow_raw(server: &Server, user: &str) -> (Raw, u64) {
    let (tcp, granted) = within(
        WAIT,
        "connecting",
        checkkit::net::connect_with_small_receive_buffer(server.local_addr()),
    )
    .await
    .unwrap_or_else(|error| panic!("{user} must be able to connect: {error}"));
    let url = format!("{}?user={user}", server.url());
    let socket = within(
        WAIT,
        "the handshake",
        tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(tcp)),
    )
    .await
    .unwrap_or_else(|error| panic!("{user} must be able to connect: {error}"))
    .0;
    (socket, granted)
}

/// Reads what a slow client got after seq `last`: a gap-free run of messages,
/// then how the connection ended ("everything" once `complete` arrived,
/// or the Close frame's code). A gap fails the check: a server must never
/// drop a member's message and keep it in the room.
async fn read_the_rest(
    socket: &mut Raw,
    mut last: i64,
    complete: i64,
    who: &str,
    section: &str,
) -> (i64, String) {
    if last == complete {
        return (last, "everything".to_owned());
    }
    let ending = async {
        loop {
            let next = tokio::time::timeout(WAIT, socket.next()).await.unwrap_or_else(|_| {
                panic!(
                    "{who} got messages up to seq {last} of {complete}, then nothing for {WAIT:?}: \
                     neither the next message nor a Close frame. A server that drops a member's \
                     messages and keeps it in the room leaves it silent: close it with 1013 instead {section}"
                )
            });
            match next {
                Some(Ok(Message::Text(text))) => {
                    if let Ok(ServerMessage::Message { message }) = serde_json::from_str(&text) {
                        assert_eq!(
                            message.seq,
                            last + 1,
                            "{who} must never silently miss messages and carry on: after seq {last} it got {}; \
                             a member whose queue is full is closed (1013), not skipped {section}",
                            message.seq
                        );
                        last = message.seq;
                        if last == complete {
                            break "everything".to_owned();
                        }
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    break format!("close {:?}", frame.map(|f| u16::from(f.code)));
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => panic!("{who} must get a Close with a code, the connection failed after seq {last}: {error} {section}"),
                None => panic!("{who} must get a Close with a code, the connection just ended after seq {last} {section}"),
            }
        }
    }
    .await;
    (last, ending)
}

/// Messages of the slow-client check: 16 KiB.
const SLOW_MESSAGE: usize = 16 * 1024;

/// How long after its queue certainly overflowed a client that never reads
/// must be out of the room (the syllabus's 5 s). The reference removes it
/// the moment its queue is full.
const LEAVE_WITHIN: Duration = Duration::from_secs(5);

/// How much the heap may grow while a client that never reads is sent
/// messages (the syllabus's "server memory grows < 50 MB"). The reference
/// keeps at most its queue (256 × 16 KiB = 4 MiB) and a frame or two.
const SLOW_CLIENT_MEMORY: usize = 50 * 1000 * 1000;

/// A server that keeps every message for a client that never reads holds
/// at least this many bytes by the end of a check that publishes this much
/// more than the buffers on the way can hold: more than the limit.
const PUBLISHED_PAST_THE_BUFFERS: u64 = 64 << 20;

async fn slow_client_is_closed_and_fast_client_gets_everything() {
    // The heap is the whole process's: measure where no other check runs.
    if !checkkit::alone("slow_client_is_closed_and_fast_client_gets_everything") {
        return;
    }
    let section = "(chapter 09, \"Slow clients and lag\")";
    let (server, _dir) = start().await;
    let (mut slow, buffer) = slow_raw(&server, "slow").await;
    raw_send(
        &mut slow,
        &serde_json::json!({"type": "join", "room": "lobby"}),
    )
    .await;
    let mut fast = raw(&server, "fast").await;
    raw_send(
        &mut fast,
        &serde_json::json!({"type": "join", "room": "lobby"}),
    )
    .await;
    let mut publisher = Publisher::join(&server, "lobby", SLOW_MESSAGE).await;
    server_waits(&server, "lobby", 3).await;
    // After this many, the slow client's queue has certainly overflowed on
    // this machine, whatever its kernel buffers (see `checkkit::net`).
    let overflow = i64::try_from(checkkit::net::messages_to_overflow(
        buffer,
        chat::CLIENT_QUEUE as u64,
        SLOW_MESSAGE as u64,
    ))
    .unwrap_or(i64::MAX);
    // Enough to show a server that keeps everything for the slow client.
    let enough = i64::try_from(checkkit::net::messages_to_overflow(
        buffer + PUBLISHED_PAST_THE_BUFFERS,
        0,
        SLOW_MESSAGE as u64,
    ))
    .unwrap_or(i64::MAX);
    let baseline = HEAP.allocated();
    let mut highest = baseline;
    let (total, mut total_seen) = tokio::sync::watch::channel(None::<i64>);
    let reading = async {
        let mut last = 0;
        loop {
            if total_seen.borrow().is_some_and(|total| last >= total) {
                break;
            }
            tokio::select! {
                next = fast.next() => {
                    let Some(Ok(Message::Text(text))) = next else {
                        panic!("the fast client's connection must stay open, got {next:?} after seq {last} {section}");
                    };
                    if let Ok(ServerMessage::Message { message }) = serde_json::from_str(&text) {
                        assert_eq!(
                            message.seq,
                            last + 1,
                            "the fast client gets every message in order {section}"
                        );
                        last = message.seq;
                    }
                }
                _ = total_seen.changed() => {}
            }
        }
    };
    let publishing = async {
        // Publish until the slow client is out of the room, and at most
        // `overflow` messages and then LEAVE_WITHIN more time (and at least
        // `enough`, which a correct server never lets the check reach).
        let mut overflowed_at = None;
        let mut late = false;
        while server.members("lobby").await == 3 {
            if publisher.sent == overflow {
                overflowed_at = Some(Instant::now());
            }
            late = overflowed_at.is_some_and(|at| at.elapsed() > LEAVE_WITHIN);
            if late && publisher.sent >= enough {
                break;
            }
            publisher.post(section).await;
            highest = highest.max(HEAP.allocated());
        }
        publisher.drain(section).await;
        let _ = total.send(Some(publisher.sent));
        late
    };
    let (late, ()) = tokio::join!(publishing, reading);
    let growth = highest.saturating_sub(baseline);
    assert!(
        growth < SLOW_CLIENT_MEMORY,
        "the server's memory must stay bounded while a client never reads: it grew by {} MB \
         (allowed: {} MB) over {} messages of {} KiB. Give every connection a bounded queue and \
         close the client whose queue is full with 1013 {section}",
        growth / 1_000_000,
        SLOW_CLIENT_MEMORY / 1_000_000,
        publisher.sent,
        SLOW_MESSAGE / 1024
    );
    let members = server.members("lobby").await;
    assert!(
        members == 2 && !late,
        "a client that never reads must be closed once its queue is full: {} messages of {} KiB were published \
         ({overflow} fill every kernel buffer on the way and the queue on this machine), and {LEAVE_WITHIN:?} later \
         it was still in the room {section}",
        publisher.sent,
        SLOW_MESSAGE / 1024
    );
    // Now read the slow client: what it got, then a Close with 1008/1013.
    let (last, ending) =
        read_the_rest(&mut slow, 0, publisher.sent, "the slow client", section).await;
    assert!(
        ending == "close Some(1013)" || ending == "close Some(1008)",
        "a client that falls too far behind is closed with 1013 (or 1008), got {ending} after seq {last} {section}"
    );
    server.shutdown().await;
}

/// Waits until `room` has `count` members.
async fn server_waits(server: &Server, room: &str, count: usize) {
    within(WAIT, "the room's membership", async {
        while server.members(room).await != count {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

/// Messages of the lag check: 64 KiB, so that few fill the buffers.
const LAG_MESSAGE: usize = 64 * 1024;

/// The lag check's write time limit: an hour, so that only the queue
/// decides when a client that reads late is too far behind. (With the usual
/// 2 s, a stalled write would close the client too, at a moment that
/// depends on the machine's buffers, and hide a server that drops messages
/// from a full queue.)
const LAG_WRITE_TIMEOUT: Duration = Duration::from_secs(3600);

async fn paused_client_is_never_left_silent() {
    let section = "(chapter 09, \"Slow clients and lag\")";
    const QUEUE: usize = 16;
    let (server, _dir) = start_with(|config| {
        config.client_queue = QUEUE;
        config.write_timeout = LAG_WRITE_TIMEOUT;
    })
    .await;
    let (mut paused, buffer) = slow_raw(&server, "paused").await;
    raw_send(
        &mut paused,
        &serde_json::json!({"type": "join", "room": "lobby"}),
    )
    .await;
    let mut publisher = Publisher::join(&server, "lobby", LAG_MESSAGE).await;
    server_waits(&server, "lobby", 2).await;
    // More than the buffers on the way and its queue hold: while the client
    // is paused, its queue overflows for certain (see `checkkit::net`).
    let behind = i64::try_from(checkkit::net::messages_to_overflow(
        buffer,
        QUEUE as u64,
        LAG_MESSAGE as u64,
    ))
    .unwrap_or(i64::MAX);
    // The client reads nothing while they are published (the server may
    // close it meanwhile: then the publishing stops).
    while publisher.sent < behind && server.members("lobby").await == 2 {
        publisher.post(section).await;
    }
    publisher.drain(section).await;
    // It wakes up: a gap-free run, then either everything or a Close with a
    // code; a gap, or silence before the last one, fails.
    let (last, ending) =
        read_the_rest(&mut paused, 0, publisher.sent, "the paused client", section).await;
    assert!(
        ending == "everything" || ending == "close Some(1013)" || ending == "close Some(1008)",
        "a client paused while {} messages are published gets either every message or a Close \
         1013/1008, got {ending} after seq {last} {section}",
        publisher.sent
    );
    server.shutdown().await;
}

/// Ten members of "lobby", and an eleventh that sends half a message and
/// resets its connection (TCP RST through SO_LINGER 0). Returns the ten.
async fn ten_members_and_a_reset(server: &Server) -> Vec<ChatClient> {
    let mut clients = Vec::new();
    for i in 0..10 {
        let mut client = connect(server, &format!("user{i}")).await;
        join(&mut client, "lobby").await;
        clients.push(client);
    }
    let mut victim = raw(server, "victim").await;
    raw_send(
        &mut victim,
        &serde_json::json!({"type": "join", "room": "lobby"}),
    )
    .await;
    server_waits(server, "lobby", 11).await;
    // Half a message, then a TCP reset.
    within(WAIT, "half a frame", async {
        let frame = Frame::message(
            Bytes::from_static(b"{\"type\":\"te"),
            OpCode::Data(Data::Text),
            false,
        );
        victim
            .send(Message::Frame(frame))
            .await
            .expect("sending a fragment");
    })
    .await;
    if let MaybeTlsStream::Plain(tcp) = victim.get_ref() {
        tcp.set_zero_linger().expect("SO_LINGER 0");
    }
    drop(victim);
    clients
}

/// The first client posts to "lobby"; every client must get it.
async fn all_still_served(clients: &mut [ChatClient], section: &str) {
    within(
        WAIT,
        "sending",
        clients[0].send_text("lobby", "still serving"),
    )
    .await
    .expect("sending");
    for client in clients {
        let message = next_message(client, "the message after the reset").await;
        assert_eq!(
            message.text, "still serving",
            "the other clients are still served {section}"
        );
    }
}

async fn reset_client_does_not_disturb_the_others() {
    let section = "(chapter 09, \"Errors end a connection, not the server\")";
    let (server, _dir) = start().await;
    let mut clients = ten_members_and_a_reset(&server).await;
    let started = Instant::now();
    within(
        Duration::from_secs(1),
        "the reset connection's task to end",
        async {
            while server.connections() != 10 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        },
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "the dead connection's task ends within 1 s {section}"
    );
    all_still_served(&mut clients, section).await;
    assert_eq!(
        server.members("lobby").await,
        10,
        "the reset client has left the room {section}"
    );
    server.shutdown().await;
}

async fn one_writer_and_close_last() {
    let section = "(chapter 09, \"Task 6: The connection\")";
    let (server, _dir) = start().await;
    let mut alice = raw(&server, "alice").await;
    raw_send(
        &mut alice,
        &serde_json::json!({"type": "join", "room": "lobby"}),
    )
    .await;
    const COUNT: usize = 500;
    within(WAIT, "sending 500", async {
        for i in 0..COUNT {
            let message = serde_json::json!({"type": "text", "room": "lobby", "client_id": format!("c{i}"), "text": format!("m{i}")});
            alice.send(Message::text(message.to_string())).await.expect("sending");
        }
    })
    .await;
    let mut acks = 0;
    let mut messages = 0;
    within(WAIT, "500 acknowledgements and 500 messages", async {
        while acks < COUNT || messages < COUNT {
            match alice.next().await {
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<ServerMessage>(&text) {
                    Ok(ServerMessage::Sent { .. }) => acks += 1,
                    Ok(ServerMessage::Message { .. }) => messages += 1,
                    Ok(_) => {}
                    Err(error) => panic!("every frame must be one well-formed message, got {error} in {text:?} {section}"),
                },
                Some(Ok(_)) => {}
                other => panic!("the connection must stay open, got {other:?} {section}"),
            }
        }
    })
    .await;
    let shutdown = tokio::spawn(server.shutdown());
    let close = within(WAIT, "the Close frame", alice.next()).await;
    assert!(
        matches!(close, Some(Ok(Message::Close(Some(ref frame)))) if u16::from(frame.code) == 1001),
        "after everything was written, shutdown sends Close(1001), got {close:?} {section}"
    );
    let after = within(WAIT, "the end of the stream", alice.next()).await;
    assert!(
        !matches!(after, Some(Ok(Message::Text(_) | Message::Binary(_)))),
        "nothing may follow the Close frame, got {after:?} {section}"
    );
    within(WAIT, "shutdown", shutdown)
        .await
        .expect("shutdown task");
}

async fn slow_search_does_not_block_other_clients() {
    let section = "(chapter 09, \"Blocking in the read loop\")";
    let (server, _dir) = start_with(|config| config.search_cost = Duration::from_secs(3)).await;
    let mut alice = connect(&server, "alice").await;
    let mut bob = connect(&server, "bob").await;
    join(&mut alice, "lobby").await;
    join(&mut bob, "lobby").await;
    let started = Instant::now();
    let search = tokio::spawn(async move {
        let found = alice.search("lobby", "anything").await;
        (alice, found, started.elapsed())
    });
    // Ten messages from bob, 100 ms apart, while alice's 3 s search runs.
    let mut latencies = Vec::with_capacity(10);
    for i in 0..10 {
        let sent = Instant::now();
        within(
            WAIT,
            "sending",
            bob.send_text("lobby", &format!("ping {i}")),
        )
        .await
        .expect("sending");
        until(&mut bob, "the Sent acknowledgement", |e| {
            matches!(e, Event::Server(ServerMessage::Sent { .. }))
        })
        .await;
        latencies.push(sent.elapsed());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let window = started.elapsed();
    latencies.sort();
    let (median, worst) = (
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1],
    );
    // Real time, so each bound has a margin on both sides. A search on the
    // async thread stops the whole runtime (the check's current-thread
    // runtime runs the server) for the full 3 s: one acknowledgement, or
    // one of the 100 ms pauses, takes 3 s, and the ten rounds at least
    // 3 s + 9 × 100 ms. A server that keeps the search off the async thread
    // acknowledges on loopback in a few ms, even on a loaded 2-core
    // machine. So: the median (the syllabus's 100 ms, robust to one slow
    // moment of the machine), the worst under 1 s (a third of the search),
    // and the ten rounds under 2.5 s (1 s of pauses, 1.5 s to spare).
    assert!(
        median < Duration::from_millis(100)
            && worst < Duration::from_secs(1)
            && window < Duration::from_millis(2_500),
        "while a 3 s search runs for alice, bob's messages must be acknowledged within 100 ms \
         (the median; no single one may take a second), but the median took {median:?}, the worst \
         {worst:?}, and ten of them, 100 ms apart, took {window:?} (allowed: 2.5 s): the slow work \
         must not run on the async threads {section}"
    );
    let (_alice, found, took) = within(WAIT, "the slow search", search)
        .await
        .expect("search task");
    assert!(found.is_ok(), "the slow search itself still answers");
    assert!(
        took >= Duration::from_millis(2_900),
        "Config::search_cost (3 s here) is how this check makes a search slow: every search must take at least that long, but this one answered after {took:?} {section}"
    );
    server.shutdown().await;
}

async fn shutdown_closes_every_client_with_1001() {
    let section = "(chapter 09, \"Task 7: Start and shut down\")";
    let (server, _dir) = start().await;
    let mut clients = Vec::new();
    for i in 0..3 {
        let mut client = raw(&server, &format!("user{i}")).await;
        raw_send(
            &mut client,
            &serde_json::json!({"type": "join", "room": "lobby"}),
        )
        .await;
        clients.push(client);
    }
    server_waits(&server, "lobby", 3).await;
    let started = Instant::now();
    let shutdown = tokio::spawn(server.shutdown());
    for client in &mut clients {
        let close = within(Duration::from_secs(2), "Close(1001)", async {
            loop {
                match client.next().await {
                    Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
                    Some(Ok(_)) => {}
                    other => panic!("every client must get Close(1001), got {other:?} {section}"),
                }
            }
        })
        .await;
        assert_eq!(
            close,
            Some(1001),
            "on shutdown every client gets Close(1001) {section}"
        );
    }
    within(Duration::from_secs(5), "shutdown to return", shutdown)
        .await
        .expect("the shutdown task");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown returns within 5 s {section}"
    );
    // Shutdown returns when no task of the server is left: at that moment
    // its listener is closed. The connect blocks on purpose, so that no
    // task of this (single-threaded) runtime runs before it.
    let (server, _dir) = start().await;
    let address = server.local_addr();
    within(WAIT, "shutdown to return", server.shutdown()).await;
    let after = std::net::TcpStream::connect_timeout(&address, Duration::from_secs(1));
    assert!(
        after.is_err(),
        "when shutdown returns, the server has stopped: no task of it is left and its listener is closed, but a new connection to {address} was still accepted; shutdown must wait for the accept loop to end {section}"
    );
}

async fn bad_requests_get_an_error_not_a_hangup() {
    let section = "(chapter 09, \"Task 6: The connection\")";
    let (server, _dir) = start().await;
    let refused = within(
        WAIT,
        "the handshake without a user",
        tokio_tungstenite::connect_async(server.url()),
    )
    .await;
    let status = match &refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Some(response.status().as_u16())
        }
        _ => None,
    };
    assert_eq!(
        status,
        Some(400),
        "a connection without ?user= is refused at the handshake with HTTP 400, got the status {status:?} (None: no HTTP refusal, the handshake {}) {section}",
        if refused.is_ok() {
            "succeeded"
        } else {
            "failed otherwise"
        }
    );
    // An attachment in a room alice is not in, for her fetch below.
    let mut bob = connect(&server, "bob").await;
    join(&mut bob, "secret").await;
    within(
        WAIT,
        "bob's upload",
        bob.send_attachment(
            "secret",
            MessageKind::File,
            "plan.txt",
            "text/plain",
            b"the plan",
        ),
    )
    .await
    .expect("sending");
    let secret = next_message(&mut bob, "bob's file").await;

    let mut alice = raw(&server, "alice").await;
    let json = |value: serde_json::Value| Message::text(value.to_string());
    let image = |room: &str, name: &str, kind: MessageKind| {
        Message::binary(upload_as(room, "up", kind, name, "image/png", b"bytes"))
    };
    let room_32 = "r".repeat(32);
    // Bad input before joining anything, then inside a room.
    let outside = [
        (
            "text that is not JSON",
            Message::text("not json"),
            "bad_request",
        ),
        (
            "a text to a room not joined",
            json(
                serde_json::json!({"type": "text", "room": "nowhere", "client_id": "x", "text": "hi"}),
            ),
            "not_joined",
        ),
        (
            "a binary frame with a broken header",
            Message::binary(vec![0u8, 0, 0]),
            "bad_request",
        ),
        (
            "a join with an empty room name",
            json(serde_json::json!({"type": "join", "room": ""})),
            "bad_request",
        ),
        (
            "a join with a room name of 33 bytes (MAX_USER_NAME is 32)",
            json(serde_json::json!({"type": "join", "room": "r".repeat(33)})),
            "bad_request",
        ),
        (
            "typing in a room not joined",
            json(serde_json::json!({"type": "typing", "room": "nowhere"})),
            "not_joined",
        ),
        (
            "an upload to a room not joined",
            image("nowhere", "a.png", MessageKind::Image),
            "not_joined",
        ),
        (
            "a fetch of an attachment in a room not joined",
            json(serde_json::json!({"type": "fetch", "id": secret.id})),
            "not_found",
        ),
    ];
    for (what, frame, code) in outside {
        expect_error(&mut alice, what, frame, code, section).await;
    }
    for room in ["lobby", room_32.as_str()] {
        raw_send(
            &mut alice,
            &serde_json::json!({"type": "join", "room": room}),
        )
        .await;
        let answer = server_answer(&mut alice, "the join answer", section).await;
        assert!(
            matches!(answer, ServerMessage::Joined { room: ref joined, .. } if joined == room),
            "after the errors the connection still works, and a room name of 1 to 32 bytes (MAX_USER_NAME) can be joined: joining {room:?} got {answer:?} {section}"
        );
    }
    let inside = [
        (
            "an upload of kind text",
            image("lobby", "a.png", MessageKind::Text),
            "bad_request",
        ),
        (
            "an image upload without a name",
            image("lobby", "", MessageKind::Image),
            "bad_request",
        ),
    ];
    for (what, frame, code) in inside {
        expect_error(&mut alice, what, frame, code, section).await;
    }
    // Leaving one room leaves that room only.
    raw_send(
        &mut alice,
        &serde_json::json!({"type": "leave", "room": "lobby"}),
    )
    .await;
    expect_error(
        &mut alice,
        "a text to a room just left",
        json(serde_json::json!({"type": "text", "room": "lobby", "client_id": "y", "text": "hi"})),
        "not_joined",
        section,
    )
    .await;
    raw_send(
        &mut alice,
        &serde_json::json!({"type": "text", "room": room_32, "client_id": "z", "text": "still in"}),
    )
    .await;
    let answer = server_answer(&mut alice, "the Sent acknowledgement", section).await;
    assert!(
        matches!(answer, ServerMessage::Sent { ref client_id, .. } if client_id == "z"),
        "after leaving \"lobby\" alice is still in the other room she joined, so her text there is stored: got {answer:?} {section}"
    );
    server.shutdown().await;
}

/// The next message the server sends on `socket` (other frames skipped).
async fn server_answer(socket: &mut Raw, what: &str, section: &str) -> ServerMessage {
    within(WAIT, what, async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Text(text))) => match serde_json::from_str(&text) {
                    Ok(message) => return message,
                    Err(error) => panic!("the server sent {text:?}, which is not a ServerMessage: {error} {section}"),
                },
                Some(Ok(_)) => {}
                other => panic!(
                    "bad input must be answered with an error, not a hangup: waiting for {what}, got {other:?} {section}"
                ),
            }
        }
    })
    .await
}

/// Sends `frame` and expects an `error` answer with `code`.
async fn expect_error(socket: &mut Raw, what: &str, frame: Message, code: &str, section: &str) {
    within(WAIT, "sending", socket.send(frame))
        .await
        .expect("sending");
    let answer = server_answer(socket, what, section).await;
    let got = match &answer {
        ServerMessage::Error { code, .. } => Some(code.as_str()),
        _ => None,
    };
    assert_eq!(
        got,
        Some(code),
        "{what} gets an error with the code {code:?} and the connection goes on, but the server answered {answer:?} {section}"
    );
}

async fn reset_client_leaves_the_cpu_idle() {
    let section = "(chapter 09, \"Errors end a connection, not the server\")";
    let (server, _dir) = start().await;
    let mut clients = ten_members_and_a_reset(&server).await;
    // Give the server the time the chapter allows to notice (1 s); whether
    // it did is `reset_client_does_not_disturb_the_others`'s business.
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while server.connections() != 10 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    // A quiet second, measured on this thread, which runs the code under
    // test too (`checkkit::cpu` says why the bound holds on any machine).
    let quiet = checkkit::cpu::quiet_second().await;
    let checkkit::cpu::Quiet {
        used,
        allowed,
        share,
    } = quiet;
    assert!(
        quiet.is_idle(),
        "after a client reset its connection, nothing happened for {:?}, yet the server \
         used {used:?} of CPU time in it (allowed: {allowed:?}, a fifth of the {:.0}% of a \
         core this thread gets now; a task that spins uses all of it): something polls a dead \
         connection again and again, e.g. a read loop that `continue`s after an error or \
         after the end of the stream instead of ending {section}",
        checkkit::cpu::QUIET,
        share * 100.0
    );
    all_still_served(&mut clients, section).await;
    server.shutdown().await;
}
