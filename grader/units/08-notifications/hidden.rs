//! Hidden checks of unit 08: the mapping's defaults, priority order, dedup
//! by tag, dismissal after 5 s on tokio's paused clock (with the history
//! keeping what was dismissed), do-not-disturb, the bounded searchable
//! history, the sinks (with recording fakes: no real OS notification), and
//! the close and click interactions.
//!
//! Run against the reference solution by `cargo test -p notifications --test
//! hidden`; the grader runs them against a learner's `src/`.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use notifications::{
    ClickAction, DesktopApi, DesktopNotification, DesktopSink, HISTORY_LIMIT, Level, Message,
    MessageKind, Notification, NotificationCentre, NotificationType, Outcome, Priority, Sink,
    Sound, SoundPlayer, SoundSink, TOAST_DURATION, TerminalSink, render, run,
};
use serde_json::json;
use tokio::sync::mpsc;

checkkit::checks! {
    mapping_defaults_and_unknown_values,
    higher_priority_shown_first,
    duplicate_tags_collapse,
    toast_dismissed_after_5s_history_keeps_it,
    driver_dismisses_on_time_from_the_stream,
    do_not_disturb_silences_sinks_not_history,
    history_is_bounded_and_searchable,
    desktop_sound_and_terminal_sinks,
    close_and_click_actions,
}

// ---------------------------------------------------------------- helpers

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

/// A system notification with a given id, data merged over a title.
fn system(id: &str, data: serde_json::Value) -> Notification {
    let mut full = json!({ "title": format!("notice {id}") });
    if let (Some(full), Some(extra)) = (full.as_object_mut(), data.as_object()) {
        full.extend(extra.clone());
    }
    map(&message(id, MessageKind::System, full))
}

fn ids(list: &[&Notification]) -> Vec<String> {
    list.iter().map(|n| n.id.clone()).collect()
}

type Shared<T> = Arc<Mutex<Vec<T>>>;

fn take<T: Clone>(shared: &Shared<T>) -> Vec<T> {
    shared
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// A sink that notes the id of every notification it is given.
struct Recorder(Shared<String>);

impl Sink for Recorder {
    fn name(&self) -> &'static str {
        "recorder"
    }
    fn deliver(&mut self, notification: &Notification) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(notification.id.clone());
    }
}

fn recorder() -> (Recorder, Shared<String>) {
    let seen = Shared::default();
    (Recorder(Arc::clone(&seen)), seen)
}

/// Runs until every other task is idle; on a paused clock that also lets a
/// due timer fire.
async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

// ---------------------------------------------------------------- mapping

async fn mapping_defaults_and_unknown_values() {
    let section = "(chapter 08, \"The mapping\")";
    let n = map(&message(
        "s-1",
        MessageKind::System,
        json!({ "content": "hi" }),
    ));
    assert_eq!(
        n.title, "system notification",
        "a system message without a title gets \"system notification\" {section}"
    );
    assert_eq!(
        n.level,
        Level::Info,
        "without data.level the level is info {section}"
    );
    assert_eq!(
        n.action,
        ClickAction::FocusWindow,
        "a system message without an action only focuses the window {section}"
    );

    let n = map(&message(
        "s-2",
        MessageKind::System,
        json!({ "level": "LOUD" }),
    ));
    assert_eq!(
        n.level,
        Level::Info,
        "an unknown level becomes info {section}"
    );
    assert_eq!(
        n.kind,
        NotificationType::System,
        "an unknown level keeps the type system {section}"
    );

    let n = map(&message(
        "s-3",
        MessageKind::System,
        json!({ "level": "error", "title": "Disk full" }),
    ));
    assert_eq!(
        n.kind,
        NotificationType::Error,
        "a system message of level error is of type error {section}"
    );
    assert_eq!(n.priority, Priority::Urgent, "an error is urgent {section}");

    let n = map(&message(
        "s-4",
        MessageKind::System,
        json!({ "tag": "deploy", "priority": "low", "action": "open_conversation" }),
    ));
    assert_eq!(n.tag, "deploy", "data.tag is the tag {section}");
    assert_eq!(
        n.priority,
        Priority::Low,
        "data.priority overrides the level's priority {section}"
    );
    assert_eq!(
        n.action,
        ClickAction::FocusWindow,
        "open_conversation without a conversationId only focuses the window {section}"
    );

    let n = map(&message(
        "s-5",
        MessageKind::System,
        json!({ "action": "open_conversation", "conversationId": "c-9" }),
    ));
    assert_eq!(
        n.action,
        ClickAction::OpenConversation("c-9".to_owned()),
        "a system message can open a conversation {section}"
    );

    let n = map(&message(
        "m-2",
        MessageKind::Text,
        json!({ "content": "no conversation" }),
    ));
    assert_eq!(
        n.action,
        ClickAction::FocusWindow,
        "a text message without conversationId only focuses the window {section}"
    );

    // data.priority when it names one, for every type; otherwise the default.
    for (kind, data, priority) in [
        (
            MessageKind::Text,
            json!({ "priority": "high" }),
            Priority::High,
        ),
        (
            MessageKind::Text,
            json!({ "priority": "urgent" }),
            Priority::Urgent,
        ),
        (
            MessageKind::Text,
            json!({ "priority": "bogus" }),
            Priority::Normal,
        ),
        (
            MessageKind::System,
            json!({ "level": "warning" }),
            Priority::High,
        ),
        (
            MessageKind::System,
            json!({ "level": "warning", "priority": "bogus" }),
            Priority::High,
        ),
        (
            MessageKind::System,
            json!({ "level": "error", "priority": "bogus" }),
            Priority::Urgent,
        ),
        (
            MessageKind::System,
            json!({ "level": "success" }),
            Priority::Normal,
        ),
        (
            MessageKind::System,
            json!({ "level": "error", "priority": "low" }),
            Priority::Low,
        ),
        (
            MessageKind::System,
            json!({ "level": "error", "priority": "normal" }),
            Priority::Normal,
        ),
        (
            MessageKind::System,
            json!({ "level": "warning", "priority": "normal" }),
            Priority::Normal,
        ),
    ] {
        let n = map(&message("p-1", kind, data.clone()));
        assert_eq!(
            n.priority, priority,
            "a {kind:?} message with data {data} must have priority {priority:?}: data.priority \
             when it names one, else urgent for an error, high for a warning, normal otherwise \
             {section}"
        );
    }

    let beat = message("h-1", MessageKind::Heartbeat, json!({}));
    assert_eq!(
        Notification::from_message(&beat),
        None,
        "a heartbeat never becomes a notification {section}"
    );
}

// ---------------------------------------------------------------- centre

async fn higher_priority_shown_first() {
    let section = "(chapter 08, \"Task 3: The centre\")";
    let mut centre = NotificationCentre::new();
    centre.notify(system("a", json!({})));
    centre.notify(system("b", json!({ "level": "error" })));
    centre.notify(system("c", json!({ "priority": "low" })));
    centre.notify(system("d", json!({})));
    centre.notify(system("e", json!({ "level": "warning" })));
    assert_eq!(
        ids(&centre.toasts()),
        ["b", "e", "d", "a", "c"],
        "toasts are ordered by priority (urgent, high, normal, low), newest first among equals {section}"
    );
    assert_eq!(
        ids(&centre.history()),
        ["e", "d", "c", "b", "a"],
        "the history is in order of arrival, newest first, whatever the priority {section}"
    );

    // Many mixes of priorities, from a fixed seed: the order is always
    // priority first, then newest first.
    let mut seed: u64 = 0x0808_2026;
    for round in 0..20 {
        let mut centre = NotificationCentre::new();
        let mut arrived = Vec::new();
        for n in 0..12 {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let (name, rank) = [("urgent", 0), ("high", 1), ("normal", 2), ("low", 3)]
                [usize::try_from(seed >> 62).unwrap_or(0)];
            let id = format!("r{round}-{n}");
            centre.notify(system(&id, json!({ "priority": name })));
            arrived.push((rank, n, id));
        }
        arrived.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let expected: Vec<String> = arrived.into_iter().map(|(_, _, id)| id).collect();
        assert_eq!(
            ids(&centre.toasts()),
            expected,
            "toasts are ordered by priority (urgent, high, normal, low), newest first among \
             equals; the notifications arrived in the order of their numbers {section}"
        );
    }
}

async fn duplicate_tags_collapse() {
    let section = "(chapter 08, \"Task 3: The centre\")";
    tokio::time::pause();
    let start = tokio::time::Instant::now();
    let mut centre = NotificationCentre::new();
    let (sink, seen) = recorder();
    centre.add_sink(sink);
    let first = centre.notify(system("u-1", json!({ "tag": "upload", "content": "10%" })));
    let other = centre.notify(system("x-1", json!({ "content": "unrelated" })));
    tokio::time::advance(Duration::from_secs(3)).await;
    let second = centre.notify(system("u-2", json!({ "tag": "upload", "content": "60%" })));
    assert_eq!(
        first,
        Outcome::Shown,
        "the first of a tag is shown {section}"
    );
    assert_eq!(other, Outcome::Shown, "another tag is shown {section}");
    assert_eq!(
        second,
        Outcome::Replaced,
        "the second of a tag replaces the first {section}"
    );
    let toasts = centre.toasts();
    assert_eq!(
        ids(&toasts),
        ["u-2", "x-1"],
        "one toast per tag: the newer one replaces the older and counts as new {section}"
    );
    assert_eq!(
        toasts[0].content, "60%",
        "the replacing toast shows the new content {section}"
    );
    assert_eq!(
        ids(&centre.history()),
        ["u-2", "x-1"],
        "the history keeps one entry per tag, the newest {section}"
    );
    assert_eq!(
        take(&seen),
        ["u-1", "x-1", "u-2"],
        "every sink gets the replacing notification too {section}"
    );
    // The replacing toast counts as new: its 5 s start when it replaced.
    tokio::time::advance(Duration::from_secs(2)).await;
    let gone: Vec<String> = centre.expire().into_iter().map(|n| n.id).collect();
    assert_eq!(
        (gone, ids(&centre.toasts())),
        (vec!["x-1".to_owned()], vec!["u-2".to_owned()]),
        "at 5 s the toast shown at 0 s expires, but the one that replaced the tag at 3 s stays: \
         a replacement counts as new and its timer restarts {section}"
    );
    assert_eq!(
        centre.next_expiry(),
        Some(start + Duration::from_secs(3) + TOAST_DURATION),
        "the replacing toast is due 5 s after it replaced the old one, at 8 s {section}"
    );
    tokio::time::advance(Duration::from_millis(2_999)).await;
    assert!(
        centre.expire().is_empty(),
        "at 7.999 s the replacing toast (shown at 3 s) is still up {section}"
    );
    tokio::time::advance(Duration::from_millis(1)).await;
    let gone: Vec<String> = centre.expire().into_iter().map(|n| n.id).collect();
    assert_eq!(
        gone,
        ["u-2"],
        "at 8 s, 5 s after it replaced the old one, the replacing toast expires {section}"
    );
}

async fn toast_dismissed_after_5s_history_keeps_it() {
    let section = "(chapter 08, \"Task 4: Dismissal on time\")";
    tokio::time::pause();
    let start = tokio::time::Instant::now();
    let mut centre = NotificationCentre::new();
    assert_eq!(
        TOAST_DURATION,
        Duration::from_secs(5),
        "toasts stay for the course's 5 s {section}"
    );
    assert_eq!(
        centre.next_expiry(),
        None,
        "without toasts nothing is due {section}"
    );
    centre.notify(system("a", json!({})));
    tokio::time::advance(Duration::from_secs(2)).await;
    centre.notify(system("b", json!({})));
    assert_eq!(
        centre.next_expiry(),
        Some(start + TOAST_DURATION),
        "the next expiry is 5 s after the oldest toast was shown {section}"
    );

    tokio::time::advance(Duration::from_millis(2_999)).await;
    assert!(
        centre.expire().is_empty(),
        "at 4.999 s nothing has expired yet {section}"
    );
    assert_eq!(
        ids(&centre.toasts()),
        ["b", "a"],
        "both toasts are still on screen at 4.999 s {section}"
    );

    tokio::time::advance(Duration::from_millis(1)).await;
    let gone: Vec<String> = centre.expire().into_iter().map(|n| n.id).collect();
    assert_eq!(
        gone,
        ["a"],
        "at 5 s the first toast expires, not the second {section}"
    );
    assert_eq!(
        ids(&centre.toasts()),
        ["b"],
        "the expired toast is off screen {section}"
    );

    tokio::time::advance(Duration::from_secs(2)).await;
    centre.expire();
    assert!(
        centre.toasts().is_empty(),
        "7 s after the start both have expired {section}"
    );
    assert_eq!(
        ids(&centre.history()),
        ["b", "a"],
        "the history keeps dismissed notifications {section}"
    );
}

async fn driver_dismisses_on_time_from_the_stream() {
    let section = "(chapter 08, \"Task 4: Dismissal on time\")";
    tokio::time::pause();
    let centre = Arc::new(Mutex::new(NotificationCentre::new()));
    let (sender, messages) = mpsc::channel(8);
    let driver = tokio::spawn(run(Arc::clone(&centre), messages));
    let lock = || centre.lock().unwrap_or_else(PoisonError::into_inner);

    let send = |m: Message| {
        sender
            .try_send(m)
            .unwrap_or_else(|error| panic!("the test could not send a message: {error}"))
    };
    send(message(
        "m-1",
        MessageKind::Text,
        json!({ "content": "first" }),
    ));
    send(message("t-1", MessageKind::Typing, json!({})));
    settle().await;
    assert_eq!(
        ids(&lock().toasts()),
        ["m-1"],
        "run() takes the stream's messages into the centre, skipping those that do not notify {section}"
    );

    tokio::time::sleep(Duration::from_secs(1)).await;
    send(message(
        "m-2",
        MessageKind::Text,
        json!({ "content": "second" }),
    ));
    settle().await;
    tokio::time::sleep(Duration::from_millis(3_900)).await;
    settle().await;
    assert_eq!(
        ids(&lock().toasts()),
        ["m-2", "m-1"],
        "4.9 s after the first message both toasts are still up {section}"
    );

    tokio::time::sleep(Duration::from_millis(200)).await;
    settle().await;
    assert_eq!(
        ids(&lock().toasts()),
        ["m-2"],
        "5.1 s after the first message run() has dismissed it on its own {section}"
    );

    tokio::time::sleep(Duration::from_secs(1)).await;
    settle().await;
    assert!(
        lock().toasts().is_empty(),
        "6.1 s after the start both toasts are gone {section}"
    );
    assert_eq!(
        ids(&lock().history()),
        ["m-2", "m-1"],
        "the history keeps what run() dismissed {section}"
    );

    drop(sender);
    checkkit::within(
        Duration::from_secs(5),
        "run() to end when the stream ends",
        driver,
    )
    .await
    .unwrap_or_else(|error| panic!("run() panicked: {error} {section}"));
}

async fn do_not_disturb_silences_sinks_not_history() {
    let section = "(chapter 08, \"Do-not-disturb\")";
    let mut centre = NotificationCentre::new();
    let (sink, seen) = recorder();
    centre.add_sink(sink);
    centre.set_do_not_disturb(true);
    assert!(
        centre.do_not_disturb(),
        "set_do_not_disturb(true) turns it on {section}"
    );
    let outcome = centre.notify(system("quiet", json!({ "level": "error" })));
    assert_eq!(
        outcome,
        Outcome::Silenced,
        "under do-not-disturb a notification is silenced {section}"
    );
    assert!(
        take(&seen).is_empty(),
        "under do-not-disturb no sink is called {section}"
    );
    assert!(
        centre.toasts().is_empty(),
        "under do-not-disturb no toast is shown {section}"
    );
    assert_eq!(
        ids(&centre.history()),
        ["quiet"],
        "under do-not-disturb the history still records it {section}"
    );

    centre.set_do_not_disturb(false);
    assert!(
        !centre.do_not_disturb(),
        "set_do_not_disturb(false) turns it off {section}"
    );
    assert_eq!(
        centre.notify(system("loud", json!({}))),
        Outcome::Shown,
        "after do-not-disturb notifications are shown again {section}"
    );
    assert_eq!(
        take(&seen),
        ["loud"],
        "after do-not-disturb the sinks are called again {section}"
    );
    assert_eq!(
        ids(&centre.history()),
        ["loud", "quiet"],
        "the history has both {section}"
    );
}

async fn history_is_bounded_and_searchable() {
    let section = "(chapter 08, \"The history\")";
    let mut small = NotificationCentre::with_history_limit(3);
    for i in 1..=5 {
        small.notify(system(&format!("n{i}"), json!({})));
    }
    assert_eq!(
        ids(&small.history()),
        ["n5", "n4", "n3"],
        "a history of 3 keeps the 3 newest {section}"
    );

    assert_eq!(HISTORY_LIMIT, 100, "the default limit is 100 {section}");
    let mut centre = NotificationCentre::new();
    for i in 0..250 {
        centre.notify(system(
            &format!("n{i}"),
            json!({ "content": format!("item {i}") }),
        ));
    }
    let history = centre.history();
    assert_eq!(
        history.len(),
        HISTORY_LIMIT,
        "the default history holds at most HISTORY_LIMIT entries {section}"
    );
    assert_eq!(history[0].id, "n249", "the newest is first {section}");

    let mut centre = NotificationCentre::new();
    centre.notify(map(&message(
        "m-1",
        MessageKind::Text,
        json!({ "title": "Ada", "content": "Lunch at noon?" }),
    )));
    centre.notify(system(
        "s-1",
        json!({ "title": "Backup done", "content": "all files saved" }),
    ));
    centre.notify(system(
        "s-2",
        json!({ "title": "LUNCH menu", "level": "error" }),
    ));
    assert_eq!(
        ids(&centre.search("lunch")),
        ["s-2", "m-1"],
        "search matches title or content, ignoring case, newest first {section}"
    );
    assert!(
        centre.search("dinner").is_empty(),
        "a search without a match is empty {section}"
    );
    for (kind, expected) in [
        (NotificationType::System, ["s-1"]),
        (NotificationType::Error, ["s-2"]),
        (NotificationType::Message, ["m-1"]),
    ] {
        assert_eq!(
            ids(&centre.category(kind)),
            expected,
            "category({kind:?}) filters by type {section}"
        );
    }
}

// ---------------------------------------------------------------- sinks

struct FakeDesktop {
    permitted: bool,
    shown: Shared<DesktopNotification>,
}

impl DesktopApi for FakeDesktop {
    fn permitted(&self) -> bool {
        self.permitted
    }
    fn show(&mut self, notification: DesktopNotification) {
        self.shown
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(notification);
    }
}

struct FakeSpeaker(Shared<Sound>);

impl SoundPlayer for FakeSpeaker {
    fn play(&mut self, sound: Sound) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(sound);
    }
}

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn desktop_sound_and_terminal_sinks() {
    let section = "(chapter 08, \"Task 5: Desktop and sound\")";
    let shown = Shared::default();
    let refused = Shared::default();
    let sounds = Shared::default();
    let screen = Buffer::default();
    let mut centre = NotificationCentre::new();
    centre.add_sink(DesktopSink::new(FakeDesktop {
        permitted: true,
        shown: Arc::clone(&shown),
    }));
    centre.add_sink(DesktopSink::new(FakeDesktop {
        permitted: false,
        shown: Arc::clone(&refused),
    }));
    centre.add_sink(SoundSink::new(FakeSpeaker(Arc::clone(&sounds))));
    centre.add_sink(TerminalSink::new(screen.clone()));

    let chat = map(&message(
        "m-1",
        MessageKind::Text,
        json!({ "title": "Ada", "content": "hi" }),
    ));
    let error = system(
        "e-1",
        json!({ "title": "Disk full", "content": "2% left", "level": "error" }),
    );
    centre.notify(chat.clone());
    centre.notify(error.clone());

    assert_eq!(
        take(&shown),
        [
            DesktopNotification {
                title: "💬 Ada".to_owned(),
                body: "hi".to_owned(),
                tag: "m-1".to_owned(),
                require_interaction: false,
            },
            DesktopNotification {
                title: "❌ Disk full".to_owned(),
                body: "2% left".to_owned(),
                tag: "e-1".to_owned(),
                require_interaction: true,
            },
        ],
        "the desktop gets icon + title, the content, tag = id, and require_interaction for errors {section}"
    );
    assert!(
        take(&refused).is_empty(),
        "without permission the desktop sink shows nothing {section}"
    );
    assert_eq!(
        take(&sounds),
        [Sound::Chime, Sound::Alert],
        "a chime for a message, an alert for an error {section}"
    );
    for (level, sound) in [
        (Level::Info, Sound::Chime),
        (Level::Success, Sound::Chime),
        (Level::Warning, Sound::Alert),
        (Level::Error, Sound::Alert),
    ] {
        assert_eq!(
            Sound::for_level(level),
            sound,
            "the sound for {level:?}: an alert for warnings and errors, a chime otherwise {section}"
        );
    }
    let tagged = system(
        "w-1",
        json!({ "title": "Upload", "content": "60%", "tag": "upload", "level": "warning" }),
    );
    assert_eq!(
        DesktopNotification::for_notification(&tagged),
        DesktopNotification {
            title: "⚠️ Upload".to_owned(),
            body: "60%".to_owned(),
            tag: "upload".to_owned(),
            require_interaction: false,
        },
        "the desktop notification's tag is the notification's tag (data.tag, here \"upload\"), \
         so that the OS replaces it too; a warning does not require interaction, only an error \
         {section}"
    );
    let written = String::from_utf8(take(&screen.0)).unwrap_or_default();
    assert_eq!(
        written,
        "💬 Ada\n   hi\n   [info · normal]  view details →  ✕\n\n\
         ❌ Disk full\n   2% left\n   [error · urgent]  view details →  ✕\n\n",
        "the terminal sink writes each toast followed by a blank line (chapter 08, \"Task 2: The terminal toast\")"
    );
    assert_eq!(
        render(&error),
        "❌ Disk full\n   2% left\n   [error · urgent]  view details →  ✕",
        "the error toast (chapter 08, \"Task 2: The terminal toast\")"
    );
}

// ---------------------------------------------------------------- interaction

async fn close_and_click_actions() {
    let section = "(chapter 08, \"Closing and clicking\")";
    let mut centre = NotificationCentre::new();
    centre.notify(map(&message(
        "m-1",
        MessageKind::Text,
        json!({ "conversationId": "c-3" }),
    )));
    centre.notify(system("s-1", json!({ "action": "open_settings" })));
    centre.notify(system("s-2", json!({})));

    assert!(
        centre.dismiss("s-2"),
        "dismiss() of a toast on screen returns true {section}"
    );
    assert!(
        !centre.dismiss("s-2"),
        "dismiss() of a toast no longer on screen returns false {section}"
    );
    let click = centre.click("m-1");
    assert_eq!(
        click,
        Some(ClickAction::OpenConversation("c-3".to_owned())),
        "clicking returns the toast's action {section}"
    );
    assert_eq!(
        click.and_then(|action| action.target()).as_deref(),
        Some("/chat?conversation=c-3"),
        "which leads to the conversation {section}"
    );
    assert_eq!(
        centre.click("s-1"),
        Some(ClickAction::OpenSettings),
        "open_settings {section}"
    );
    assert_eq!(
        centre.click("s-1"),
        None,
        "a clicked toast is closed {section}"
    );
    assert!(
        centre.toasts().is_empty(),
        "closing and clicking take toasts off screen {section}"
    );
    assert_eq!(
        centre.history().len(),
        3,
        "closing and clicking keep the history {section}"
    );
}
