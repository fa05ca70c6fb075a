//! The examples of the chapter "Just enough tokio" (`book/just-enough-tokio.md`),
//! which live in `solutions/01-connection/examples/` and are copied to the
//! learner's `exercises/01-connection/examples/`.
//!
//! Each example runs as the learner runs it (`cargo run --example …`) and must
//! print what the chapter shows; and each is compiled here as a module, so that
//! what the chapter says about it is asserted on its functions (on a paused
//! clock where time matters, so those assertions hold on any machine). This runs
//! in the maintainers' suite against the reference solution; it is not a graded
//! check, and the learner's copy of the examples is theirs to change.

#![allow(missing_docs)]

use std::time::Duration;

#[path = "../../../solutions/01-connection/examples/tokio_mpsc.rs"]
#[allow(dead_code)] // `main` runs as a program, below
mod tokio_mpsc;
#[path = "../../../solutions/01-connection/examples/tokio_oneshot.rs"]
#[allow(dead_code)] // `main` runs as a program, below
mod tokio_oneshot;
#[path = "../../../solutions/01-connection/examples/tokio_select.rs"]
#[allow(dead_code)] // `main` runs as a program, below
mod tokio_select;
#[path = "../../../solutions/01-connection/examples/tokio_spawn.rs"]
#[allow(dead_code)] // `main` runs as a program, below
mod tokio_spawn;
#[path = "../../../solutions/01-connection/examples/tokio_timeout.rs"]
#[allow(dead_code)] // `main` runs as a program, below
mod tokio_timeout;
#[path = "../../../solutions/01-connection/examples/tokio_websocket.rs"]
#[allow(dead_code)] // `main` runs as a program, below
mod tokio_websocket;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

const fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// Runs `cargo run --example <name> -- <args>` on the reference solution's
/// copy and returns its standard output. The examples are built already when
/// `cargo test` runs every target; otherwise this builds them.
fn run_example(name: &str, args: &[&str]) -> String {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args([
            "run",
            "--quiet",
            "--manifest-path",
            manifest,
            "--example",
            name,
            "--",
        ])
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("could not start cargo for the example {name}: {error}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "`cargo run --example {name}` failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// What the chapter shows each example printing. Lines that depend on the
/// scheduler (the interleaving of two producers, timers a millisecond late)
/// are checked on the paused clock below instead.
#[test]
fn every_example_runs_and_prints_what_the_chapter_shows() {
    let spawn = run_example("tokio_spawn", &[]);
    assert_eq!(
        spawn,
        "spawned; finished yet? false\nthe task returned 6\naborted: is_cancelled() = true\n"
    );
    let mpsc = run_example("tokio_mpsc", &[]);
    let lines: Vec<&str> = mpsc.lines().collect();
    assert_eq!(lines.len(), 3, "{mpsc}");
    assert!(
        lines[0].starts_with("received [") && lines[0].contains("\"a3\""),
        "{mpsc}"
    );
    assert_eq!(lines[1], "recv() returned None: every sender is gone");
    assert_eq!(
        lines[2],
        "send failed: channel closed, and gave back \"anyone there?\""
    );
    assert_eq!(
        run_example("tokio_oneshot", &[]),
        "add 2 -> Some(2)\nadd 3 -> Some(5)\nadd 1 after the task ended -> None\n"
    );
    assert_eq!(
        run_example("tokio_timeout", &[]),
        "answer after 100ms: hello\nno answer within 500ms (deadline has elapsed)\n"
    );
    let select = run_example("tokio_select", &[]);
    let events: Vec<&str> = select
        .lines()
        .filter_map(|l| l.split_once("ms  "))
        .map(|(_, e)| e)
        .collect();
    assert_eq!(
        events,
        [
            "tick",
            "tick",
            "command: hello",
            "tick",
            "command: world",
            "commands closed; stopping"
        ],
        "{select}"
    );
    assert_eq!(
        run_example("tokio_websocket", &[]),
        "received Text \"hello\"\nreceived Binary [1, 2, 3]\nreceived Close 1000 \"bye\"\n\
         the server got our Close with code 1000\n"
    );
    assert_eq!(
        run_example("tokio_websocket", &["sink-close"]),
        "received Text \"hello\"\nreceived Binary [1, 2, 3]\nreceived Close without a code\n\
         the server got our Close with code 1005\n"
    );
}

#[tokio::test(start_paused = true)]
async fn spawn_returns_the_value_through_the_join_handle() {
    let start = Instant::now();
    let handle = tokio_spawn::spawn_sum(3, ms(100));
    assert!(
        !handle.is_finished(),
        "spawn returns before the task is done"
    );
    assert_eq!(handle.await.ok(), Some(6));
    assert_eq!(start.elapsed(), ms(300), "three steps of 100 ms");
}

/// The chapter says: dropping a `JoinHandle` does not stop the task.
#[tokio::test(start_paused = true)]
async fn dropping_a_join_handle_detaches_the_task() {
    let (done, finished) = oneshot::channel();
    drop(tokio::spawn(async move {
        tokio::time::sleep(ms(50)).await;
        let _ = done.send("still ran");
    }));
    assert_eq!(finished.await.ok(), Some("still ran"));
}

/// The chapter says: a panic in a task is an `Err` from its handle.
#[tokio::test]
async fn a_panicking_task_is_an_error_of_its_handle() {
    let error = tokio::spawn(async { panic!("on purpose (a test)") })
        .await
        .expect_err("the task panicked");
    assert!(error.is_panic());
}

#[tokio::test(start_paused = true)]
async fn mpsc_delivers_each_producer_in_order_and_ends_with_none() {
    for capacity in [1, 2, 8] {
        let received = tokio_mpsc::collect_from_two_producers(capacity).await;
        for producer in ["a", "b"] {
            let own: Vec<&str> = received
                .iter()
                .map(String::as_str)
                .filter(|m| m.starts_with(producer))
                .collect();
            let expected: Vec<String> = (1..=3).map(|i| format!("{producer}{i}")).collect();
            assert_eq!(own, expected, "capacity {capacity}: {received:?}");
        }
        assert_eq!(received.len(), 6);
    }
    let error = tokio_mpsc::send_without_receiver()
        .await
        .expect_err("no receiver");
    assert_eq!(
        error.0, "anyone there?",
        "a failed send gives the value back"
    );
}

/// The chapter's "Try it": while one sender is alive, `recv()` never returns `None`.
#[tokio::test(start_paused = true)]
async fn recv_waits_while_a_sender_is_alive() {
    let (sender, mut receiver) = mpsc::channel::<String>(1);
    let waited = tokio::time::timeout(Duration::from_secs(3600), receiver.recv()).await;
    assert!(
        waited.is_err(),
        "recv() returned although a sender is alive"
    );
    drop(sender);
    assert_eq!(receiver.recv().await, None);
}

/// The chapter says: `send` on a full bounded channel waits for room.
#[tokio::test(start_paused = true)]
async fn send_waits_while_the_channel_is_full() {
    let (sender, mut receiver) = mpsc::channel::<u8>(1);
    sender.send(1).await.expect("room for one");
    let second = tokio::time::timeout(Duration::from_secs(3600), sender.send(2)).await;
    assert!(second.is_err(), "send did not wait for room");
    assert_eq!(receiver.recv().await, Some(1));
    sender.send(2).await.expect("room again");
}

#[tokio::test(start_paused = true)]
async fn oneshot_answers_each_request_and_none_once_the_task_ended() {
    let (requests, receiver) = mpsc::channel(16);
    let task = tokio::spawn(tokio_oneshot::counter_task(receiver));
    assert_eq!(tokio_oneshot::add(&requests, 2).await, Some(2));
    assert_eq!(tokio_oneshot::add(&requests, 3).await, Some(5));
    task.abort();
    let _ = task.await;
    assert_eq!(tokio_oneshot::add(&requests, 1).await, None);
}

/// The chapter says: a reply sender dropped unanswered makes the receiver fail.
#[tokio::test(start_paused = true)]
async fn a_reply_dropped_unanswered_is_none() {
    let (requests, mut receiver) = mpsc::channel::<tokio_oneshot::Add>(1);
    tokio::spawn(async move {
        while let Some(request) = receiver.recv().await {
            drop(request.reply);
        }
    });
    assert_eq!(tokio_oneshot::add(&requests, 1).await, None);
}

#[tokio::test(start_paused = true)]
async fn timeout_gives_the_answer_in_time_or_elapsed_at_the_limit() {
    let start = Instant::now();
    assert_eq!(
        tokio_timeout::ask(ms(100), ms(500)).await.ok(),
        Some("hello")
    );
    assert_eq!(start.elapsed(), ms(100));
    let start = Instant::now();
    let error = tokio_timeout::ask(Duration::from_secs(2), ms(500))
        .await
        .expect_err("too slow");
    assert_eq!(
        start.elapsed(),
        ms(500),
        "timeout stops waiting at the limit"
    );
    assert_eq!(error.to_string(), "deadline has elapsed");
    // The chapter's "Try it": with a 3 s limit the slow answer arrives.
    assert_eq!(
        tokio_timeout::ask(Duration::from_secs(2), Duration::from_secs(3))
            .await
            .ok(),
        Some("hello")
    );
}

/// The chapter says: on timeout, the inner future is dropped, so the rest of its work never runs.
#[tokio::test(start_paused = true)]
async fn timeout_drops_the_inner_future() {
    let (done, mut finished) = oneshot::channel::<()>();
    let work = async move {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let _ = done.send(());
    };
    assert!(tokio::time::timeout(ms(500), work).await.is_err());
    assert!(
        matches!(
            finished.try_recv(),
            Err(oneshot::error::TryRecvError::Closed)
        ),
        "the future was dropped, and its sender with it"
    );
}

#[tokio::test(start_paused = true)]
async fn select_prints_the_timeline_of_the_chapter() {
    let (commands, receiver) = mpsc::channel(8);
    tokio::spawn(tokio_select::send_two(commands));
    let lines = tokio_select::run(receiver, ms(200)).await;
    assert_eq!(
        lines,
        [
            "   0 ms  tick",
            " 200 ms  tick",
            " 250 ms  command: hello",
            " 400 ms  tick",
            " 550 ms  command: world",
            " 550 ms  commands closed; stopping",
        ]
    );
}

/// `SinkExt::send` / `StreamExt::next` on the split halves, and the close code
/// each way of closing puts on the wire (real sockets, real time).
#[tokio::test]
async fn websocket_echo_and_the_close_code_of_each_ending() {
    use tokio_websocket::{Ending, talk};
    for (ending, code, reason) in [
        (Ending::CloseFrame, 1000, "bye"),
        (Ending::SinkClose, 1005, ""),
    ] {
        let server = testkit::TestServer::start()
            .await
            .expect("start the testkit");
        let received =
            tokio::time::timeout(Duration::from_secs(10), talk(&server.ws_url("/ws"), ending))
                .await
                .expect("talk finished within 10 s")
                .expect("talk succeeded");
        assert_eq!(received.len(), 3, "{ending:?}: {received:?}");
        assert_eq!(received[0], Message::text("hello"));
        assert_eq!(received[1], Message::binary(vec![1, 2, 3]));
        assert!(
            matches!(received[2], Message::Close(_)),
            "{ending:?}: {received:?}"
        );
        let records = server.connections();
        let close = records[0]
            .close_received
            .as_ref()
            .expect("the server got a Close");
        assert_eq!(
            (close.code, close.reason.as_str()),
            (code, reason),
            "{ending:?}"
        );
    }
}
