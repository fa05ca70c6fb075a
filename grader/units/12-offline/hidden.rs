//! Hidden checks of unit 12: the strategy's reactions, delivery exactly once
//! after being offline, a client killed with SIGKILL in the middle of
//! sending, the server's replay, dedup by id, push records, and Close(1001)
//! on shutdown.

use std::time::Duration;

use checkkit::within;
use futures_util::{SinkExt, StreamExt};
use offline::{
    AppState, Client, ClientFrame, ClientOptions, Conditions, Network, OUTBOX_FILE, Outbox,
    OutboxError, Reaction, RelayServer, ServerFrame, Strategy,
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio_tungstenite::tungstenite::Message;

checkkit::checks! {
    strategy_reacts_to_network_and_app_changes,
    offline_messages_are_delivered_once_in_order,
    killed_mid_send_loses_nothing,
    server_replays_what_the_client_missed,
    client_resumes_from_the_last_delivery,
    duplicate_ids_are_ignored,
    offline_recipient_gets_a_push_record,
    server_shutdown_closes_with_going_away,
    running_client_follows_the_strategy,
    outbox_drops_a_torn_tail_and_reports_corruption,
}

/// Generous for anything on loopback.
const WAIT: Duration = Duration::from_secs(5);
/// The step of the paused clock in `running_client_follows_the_strategy`:
/// far below the client's shortest timer (1 s), so that the clock never
/// jumps past one of them while a frame is on its way.
const TICK: Duration = Duration::from_millis(10);

fn secs(seconds: u64) -> Duration {
    Duration::from_secs(seconds)
}

fn conditions(network: Network, app: AppState) -> Conditions {
    Conditions::new(network, app)
}

async fn strategy_reacts_to_network_and_app_changes() {
    use AppState::{Background, Foreground};
    use Network::{Cellular, Offline, Wifi};
    let mut strategy = Strategy::new(conditions(Wifi, Foreground));
    let delays: Vec<_> = (0..7).map(|_| strategy.on_failure()).collect();
    let expected: Vec<_> = [1, 2, 4, 8, 16, 30, 30].map(|s| Some(secs(s))).to_vec();
    assert_eq!(
        delays, expected,
        "on Wi-Fi in the foreground reconnect delays double from 1 s up to 30 s (chapter 12, \"Task 1: The strategy\")"
    );
    strategy.on_connected();
    assert_eq!(
        strategy.on_failure(),
        Some(secs(1)),
        "after a successful connection the delays start again from the first (chapter 12, \"Task 1: The strategy\")"
    );
    strategy.on_failure();
    let steps = [
        (
            conditions(Cellular, Foreground),
            Reaction::ReconnectNow,
            "a new network asks for a connection now",
        ),
        (
            conditions(Cellular, Foreground),
            Reaction::Keep,
            "the same conditions again change nothing",
        ),
        (
            conditions(Cellular, Background),
            Reaction::Disconnect,
            "cellular in the background holds no socket",
        ),
        (
            conditions(Cellular, Background),
            Reaction::Keep,
            "still disconnected: nothing to do",
        ),
        (
            conditions(Wifi, Background),
            Reaction::ReconnectNow,
            "Wi-Fi in the background connects",
        ),
        (
            conditions(Wifi, Foreground),
            Reaction::Retune,
            "coming to the foreground changes the heartbeat",
        ),
        (
            conditions(Wifi, Foreground),
            Reaction::Keep,
            "the same conditions again change nothing",
        ),
        (
            conditions(Offline, Foreground),
            Reaction::Disconnect,
            "offline holds no socket",
        ),
    ];
    for (next, expected, why) in steps {
        let before = strategy.conditions();
        let got = strategy.on_conditions(next);
        assert_eq!(
            got, expected,
            "from {before:?} to {next:?}: {why} (chapter 12, \"Task 1: The strategy\")"
        );
    }
    assert_eq!(
        strategy.on_failure(),
        None,
        "offline, on_failure must say None: no attempts until a network comes back (chapter 12, \"Task 1: The strategy\")"
    );
    assert_eq!(
        strategy.on_conditions(conditions(Cellular, Foreground)),
        Reaction::ReconnectNow,
        "a network coming back asks for a connection now (chapter 12, \"Task 1: The strategy\")"
    );
    assert_eq!(
        strategy.on_failure(),
        Some(secs(2)),
        "a network change forgets earlier failures: cellular starts at 2 s (chapter 12, \"Task 1: The strategy\")"
    );

    // Each connecting policy doubles from its own first delay to its own cap.
    for (start, delays) in [
        (conditions(Cellular, Foreground), [2, 4, 8, 16, 32, 60, 60]),
        (
            conditions(Wifi, Background),
            [30, 60, 120, 240, 300, 300, 300],
        ),
    ] {
        let mut strategy = Strategy::new(start);
        let got: Vec<_> = (0..7).map(|_| strategy.on_failure()).collect();
        let expected: Vec<_> = delays.map(|s| Some(secs(s))).to_vec();
        assert_eq!(
            got, expected,
            "under {start:?} reconnect delays double from the policy's reconnect_first up to its reconnect_max (chapter 12, \"The strategy\" and \"Task 1: The strategy\")"
        );
    }
    for start in [
        conditions(Cellular, Background),
        conditions(Offline, Foreground),
        conditions(Offline, Background),
    ] {
        assert_eq!(
            Strategy::new(start).on_failure(),
            None,
            "under {start:?} the policy holds no socket, so on_failure must say None: no attempts (chapter 12, \"Task 1: The strategy\")"
        );
    }

    // Opening the app on cellular: the same network, but no socket before.
    let mut strategy = Strategy::new(conditions(Cellular, Background));
    let steps = [
        (
            conditions(Offline, Background),
            Reaction::Keep,
            "no socket before and none after: nothing to do",
        ),
        (
            conditions(Cellular, Background),
            Reaction::Keep,
            "no socket before and none after: nothing to do",
        ),
        (
            conditions(Cellular, Foreground),
            Reaction::ReconnectNow,
            "a socket after none before asks for a connection now, on the same network too",
        ),
    ];
    for (next, expected, why) in steps {
        let before = strategy.conditions();
        let got = strategy.on_conditions(next);
        assert_eq!(
            got, expected,
            "from {before:?} to {next:?}: {why} (chapter 12, \"Task 1: The strategy\")"
        );
    }
    let delays: Vec<_> = (0..3).map(|_| strategy.on_failure()).collect();
    assert_eq!(
        delays,
        [2, 4, 8].map(|s| Some(secs(s))).to_vec(),
        "on cellular in the foreground reconnect delays start at 2 s and double (chapter 12, \"Task 1: The strategy\")"
    );
    assert_eq!(
        strategy.on_conditions(conditions(Cellular, Foreground)),
        Reaction::Keep,
        "the same conditions again change nothing (chapter 12, \"Task 1: The strategy\")"
    );
    assert_eq!(
        strategy.on_failure(),
        Some(secs(16)),
        "conditions that change nothing keep the failures: after 2, 4 and 8 s comes 16 s (chapter 12, \"Task 1: The strategy\")"
    );
    strategy.on_conditions(conditions(Wifi, Foreground));
    assert_eq!(
        strategy.on_conditions(conditions(Wifi, Background)),
        Reaction::Retune,
        "from Wi-Fi in the foreground to the background: the same socket with the 120 s heartbeat, a Retune (chapter 12, \"Task 1: The strategy\")"
    );
}

fn bodies(server: &RelayServer, recipient: &str) -> Vec<String> {
    server
        .mailbox(recipient)
        .into_iter()
        .map(|message| message.body)
        .collect()
}

fn options(
    server: &RelayServer,
    name: &str,
    dir: &std::path::Path,
    network: Network,
) -> ClientOptions {
    ClientOptions {
        url: server.url(),
        client: name.to_owned(),
        outbox_dir: dir.to_owned(),
        conditions: conditions(network, AppState::Foreground),
        resume_from: 0,
    }
}

async fn offline_messages_are_delivered_once_in_order() {
    let server = RelayServer::start().await.expect("the relay server starts");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut alice = within(
        WAIT,
        "Client::start",
        Client::start(options(&server, "alice", dir.path(), Network::Offline)),
    )
    .await
    .expect("the client starts while offline (chapter 12, \"Task 3: The client\")");
    let sent: Vec<String> = (1..=5).map(|n| format!("offline {n}")).collect();
    for body in &sent {
        within(WAIT, "send while offline", alice.send("bob", body))
            .await
            .expect("send accepts a message while offline (chapter 12, \"Task 3: The client\")");
    }
    assert_eq!(
        alice.pending_count(),
        5,
        "five messages accepted offline wait in the outbox (chapter 12, \"Task 3: The client\")"
    );
    alice.set_conditions(conditions(Network::Wifi, AppState::Foreground));
    within(
        WAIT,
        "the outbox to drain after going online",
        alice.wait_until_drained(),
    )
    .await;
    assert_eq!(
        bodies(&server, "bob"),
        sent,
        "after going online the messages written offline arrive exactly once, in order (chapter 12, \"Task 3: The client\")"
    );
    // Another network change: a reconnect must not send acknowledged
    // messages as new ones.
    alice.set_conditions(conditions(Network::Cellular, AppState::Foreground));
    within(
        WAIT,
        "send after a network change",
        alice.send("bob", "after the change"),
    )
    .await
    .expect("send succeeds (chapter 12, \"Task 3: The client\")");
    within(
        WAIT,
        "the outbox to drain after a network change",
        alice.wait_until_drained(),
    )
    .await;
    let mut expected = sent.clone();
    expected.push("after the change".to_owned());
    assert_eq!(
        bodies(&server, "bob"),
        expected,
        "after a network change the recipient still has every message exactly once, in order (chapter 12, \"Task 3: The client\")"
    );
    within(WAIT, "shutdown", alice.shutdown()).await;
}

/// The `outbox-sender` binary, driven line by line.
struct SenderProcess {
    child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    stdout: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

impl SenderProcess {
    fn spawn(server: &RelayServer, dir: &std::path::Path, network: &str) -> Self {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_outbox-sender"))
            .arg(server.url())
            .arg("alice")
            .arg(dir)
            .arg(network)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the outbox-sender binary starts");
        let stdin = child.stdin.take().expect("its standard input is piped");
        let stdout = child.stdout.take().expect("its standard output is piped");
        Self {
            child,
            stdin,
            stdout: BufReader::new(stdout).lines(),
        }
    }

    async fn command(&mut self, line: &str) -> String {
        self.stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .expect("outbox-sender reads its standard input");
        within(WAIT, "a reply from outbox-sender", self.stdout.next_line())
            .await
            .expect("outbox-sender's output can be read")
            .unwrap_or_else(|| panic!("outbox-sender ended instead of answering {line:?}"))
    }

    async fn accept(&mut self, body: &str) {
        let reply = self.command(&format!("send bob {body}")).await;
        assert!(
            reply.starts_with("accepted "),
            "outbox-sender should accept {body:?}, it said {reply:?} (chapter 12, \"Task 3: The client\")"
        );
    }

    async fn kill(mut self) {
        self.child.start_kill().expect("SIGKILL can be sent");
        let status = within(WAIT, "the killed process to end", self.child.wait())
            .await
            .expect("the killed process can be waited for");
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(
                status.signal(),
                Some(9),
                "the sender was killed by SIGKILL, not ended otherwise ({status})"
            );
        }
        #[cfg(not(unix))]
        let _ = status;
    }
}

async fn killed_mid_send_loses_nothing() {
    let server = RelayServer::start().await.expect("the relay server starts");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut expected = Vec::new();
    let mut next = 1..;
    let mut accept =
        async |sender: &mut SenderProcess, count: usize, expected: &mut Vec<String>| {
            for n in next.by_ref().take(count) {
                let body = format!("message-{n}");
                sender.accept(&body).await;
                expected.push(body);
            }
        };

    // Run 1: five messages accepted offline, then killed: they exist only
    // in the outbox on disk.
    let mut sender = SenderProcess::spawn(&server, dir.path(), "offline");
    accept(&mut sender, 5, &mut expected).await;
    sender.kill().await;

    // Run 2: the same outbox, online; five more. The server stalls after
    // handling four frames, so the rest are in flight when the kill comes.
    server.stall_after(4);
    let mut sender = SenderProcess::spawn(&server, dir.path(), "online");
    accept(&mut sender, 5, &mut expected).await;
    within(
        WAIT,
        "the server to handle 4 messages",
        server.wait_received(4),
    )
    .await;
    sender.kill().await;

    // Run 3: ten more; killed after the server handled three more frames.
    let stall = server.received() + 3;
    server.stall_after(stall);
    let mut sender = SenderProcess::spawn(&server, dir.path(), "online");
    accept(&mut sender, 10, &mut expected).await;
    within(
        WAIT,
        "the server to handle 3 more",
        server.wait_received(stall),
    )
    .await;
    sender.kill().await;

    // Run 4: five more, then wait until everything is acknowledged.
    let mut sender = SenderProcess::spawn(&server, dir.path(), "online");
    accept(&mut sender, 5, &mut expected).await;
    let reply = within(Duration::from_secs(10), "drain", sender.command("drain")).await;
    assert_eq!(reply, "drained", "outbox-sender drains its outbox");
    let SenderProcess {
        mut child, stdin, ..
    } = sender;
    drop(stdin);
    let status = within(
        WAIT,
        "outbox-sender to exit after its input ends",
        child.wait(),
    )
    .await
    .expect("outbox-sender can be waited for");
    assert!(
        status.success(),
        "outbox-sender exits cleanly after its input ends ({status})"
    );

    assert_eq!(
        bodies(&server, "bob"),
        expected,
        "after two SIGKILLs in the middle of sending, every accepted message must arrive exactly once and in order: accept must fsync before it returns, the outbox must be read back after a restart, and pending entries sent again (chapter 12, \"Task 2: The outbox\" and \"Task 3: The client\")"
    );
}

type Raw =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A hand-written client speaking the protocol, to test the server alone.
async fn raw(server: &RelayServer, name: &str, resume_from: u64) -> Raw {
    let (mut socket, _) = within(
        WAIT,
        "connect",
        tokio_tungstenite::connect_async(server.url()),
    )
    .await
    .expect("the relay server accepts a WebSocket connection");
    let hello = ClientFrame::Hello {
        client: name.to_owned(),
        resume_from,
    };
    socket
        .send(Message::text(hello.to_json()))
        .await
        .expect("hello can be sent");
    socket
}

async fn next_frame(socket: &mut Raw) -> ServerFrame {
    loop {
        let message = within(WAIT, "a frame from the server", socket.next())
            .await
            .expect("the server keeps the connection open")
            .expect("the connection works");
        if let Message::Text(text) = message {
            return serde_json::from_str(text.as_str()).unwrap_or_else(|error| {
                panic!("the server sent {text:?}, not a protocol frame: {error}")
            });
        }
    }
}

/// Sends `send` frames and waits for their acks, skipping deliveries.
async fn raw_send(socket: &mut Raw, messages: &[(u64, &str, &str, &str)]) {
    for (seq, id, to, body) in messages {
        let frame = ClientFrame::Send {
            seq: *seq,
            id: (*id).to_owned(),
            to: (*to).to_owned(),
            body: (*body).to_owned(),
        };
        socket
            .send(Message::text(frame.to_json()))
            .await
            .expect("send works");
    }
    for (seq, ..) in messages {
        // Deliveries to this client may come in between; they are not
        // what this waits for.
        let mut frame = next_frame(socket).await;
        while matches!(frame, ServerFrame::Deliver(_)) {
            frame = next_frame(socket).await;
        }
        assert_eq!(
            frame,
            ServerFrame::Ack { seq: *seq },
            "every send frame is acknowledged with its seq, duplicates too (chapter 12, \"Task 4: The relay server\")"
        );
    }
}

async fn deliveries(socket: &mut Raw, count: usize) -> Vec<(u64, String)> {
    let mut got = Vec::new();
    while got.len() < count {
        match next_frame(socket).await {
            ServerFrame::Deliver(delivery) => got.push((delivery.seq, delivery.body)),
            other => panic!("expected a deliver frame, got {other:?}"),
        }
    }
    got
}

fn numbered(items: &[(u64, &str)]) -> Vec<(u64, String)> {
    items
        .iter()
        .map(|(seq, body)| (*seq, (*body).to_owned()))
        .collect()
}

async fn server_replays_what_the_client_missed() {
    let server = RelayServer::start().await.expect("the relay server starts");
    let mut alice = raw(&server, "alice", 0).await;
    raw_send(
        &mut alice,
        &[
            (1, "a-1", "bob", "one"),
            (2, "a-2", "bob", "two"),
            (3, "a-3", "bob", "three"),
        ],
    )
    .await;
    let mut bob = raw(&server, "bob", 0).await;
    assert_eq!(
        deliveries(&mut bob, 3).await,
        numbered(&[(1, "one"), (2, "two"), (3, "three")]),
        "a client resuming from 0 gets its whole mailbox, numbered from 1 (chapter 12, \"Task 4: The relay server\")"
    );
    let _ = bob.close(None).await;
    raw_send(
        &mut alice,
        &[(4, "a-4", "bob", "four"), (5, "a-5", "bob", "five")],
    )
    .await;
    let mut bob = raw(&server, "bob", 3).await;
    assert_eq!(
        deliveries(&mut bob, 2).await,
        numbered(&[(4, "four"), (5, "five")]),
        "a client resuming from 3 gets exactly what came after 3 (chapter 12, \"Task 4: The relay server\")"
    );
    raw_send(&mut alice, &[(6, "a-6", "bob", "six")]).await;
    assert_eq!(
        deliveries(&mut bob, 1).await,
        numbered(&[(6, "six")]),
        "after the replay, new messages follow live (chapter 12, \"Task 4: The relay server\")"
    );
}

async fn client_resumes_from_the_last_delivery() {
    let server = RelayServer::start().await.expect("the relay server starts");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut bob = within(
        WAIT,
        "Client::start",
        Client::start(options(&server, "bob", dir.path(), Network::Wifi)),
    )
    .await
    .expect("the client starts (chapter 12, \"Task 3: The client\")");
    let mut alice = raw(&server, "alice", 0).await;
    raw_send(
        &mut alice,
        &[(1, "a-1", "bob", "one"), (2, "a-2", "bob", "two")],
    )
    .await;
    let mut received = Vec::new();
    for _ in 0..2 {
        let delivery = within(WAIT, "a delivery", bob.next_delivery())
            .await
            .expect(
                "the client delivers what the server sent (chapter 12, \"Task 3: The client\")",
            );
        received.push(delivery.body);
    }
    bob.set_conditions(conditions(Network::Offline, AppState::Foreground));
    raw_send(
        &mut alice,
        &[(3, "a-3", "bob", "three"), (4, "a-4", "bob", "four")],
    )
    .await;
    bob.set_conditions(conditions(Network::Wifi, AppState::Foreground));
    for _ in 0..2 {
        let delivery = within(
            WAIT,
            "a delivery after going online again",
            bob.next_delivery(),
        )
        .await
        .expect("the client delivers what it missed (chapter 12, \"Task 3: The client\")");
        received.push(delivery.body);
    }
    raw_send(&mut alice, &[(5, "a-5", "bob", "five")]).await;
    let delivery = within(WAIT, "a live delivery", bob.next_delivery())
        .await
        .expect("the client delivers live messages (chapter 12, \"Task 3: The client\")");
    received.push(delivery.body);
    assert_eq!(
        received,
        ["one", "two", "three", "four", "five"],
        "after being offline the client gets what it missed, once each: its hello must resume from the last delivery it saw (chapter 12, \"Task 3: The client\")"
    );
    within(WAIT, "shutdown", bob.shutdown()).await;
}

async fn duplicate_ids_are_ignored() {
    let server = RelayServer::start().await.expect("the relay server starts");
    let mut alice = raw(&server, "alice", 0).await;
    raw_send(
        &mut alice,
        &[
            (1, "a-1", "bob", "one"),
            (2, "a-1", "bob", "one again"),
            (3, "a-2", "bob", "two"),
            (2, "a-2", "bob", "two"),
        ],
    )
    .await;
    assert_eq!(
        bodies(&server, "bob"),
        ["one", "two"],
        "a message whose id was already stored must be acknowledged but not stored again, whatever its seq (chapter 12, \"Task 4: The relay server\")"
    );
    // Ids are kept per sender: the same id from two senders is two messages.
    let mut bob = raw(&server, "bob", 0).await;
    raw_send(&mut bob, &[(1, "m-1", "carol", "from bob")]).await;
    raw_send(&mut alice, &[(4, "m-1", "carol", "from alice")]).await;
    raw_send(&mut bob, &[(1, "m-1", "carol", "from bob")]).await;
    assert_eq!(
        bodies(&server, "carol"),
        ["from bob", "from alice"],
        "the ids already stored are kept per sender: alice's m-1 is not bob's m-1, but bob's second m-1 is a duplicate (chapter 12, \"Task 4: The relay server\")"
    );
}

async fn offline_recipient_gets_a_push_record() {
    let server = RelayServer::start().await.expect("the relay server starts");
    let mut alice = raw(&server, "alice", 0).await;
    raw_send(&mut alice, &[(1, "a-1", "dave", "are you there?")]).await;
    let records = server.push_records();
    assert_eq!(
        records.len(),
        1,
        "a message for a recipient who is not connected leaves one push record, got {records:?} (chapter 12, \"Task 4: The relay server\")"
    );
    let record = &records[0];
    assert_eq!(
        (
            record.to.as_str(),
            record.from.as_str(),
            record.id.as_str(),
            record.seq
        ),
        ("dave", "alice", "a-1", 1),
        "the push record names the recipient, the sender, the id and the mailbox position (chapter 12, \"Task 4: The relay server\")"
    );
    // Bob is connected (his own acknowledged send proves the hello was
    // handled): no push for him, the message goes straight to his socket.
    let mut bob = raw(&server, "bob", 0).await;
    raw_send(&mut bob, &[(1, "b-1", "alice", "hi alice")]).await;
    raw_send(&mut alice, &[(2, "a-2", "bob", "hi bob")]).await;
    let got = deliveries(&mut bob, 1).await;
    assert_eq!(
        got,
        numbered(&[(1, "hi bob")]),
        "a connected recipient gets the message at once"
    );
    assert_eq!(
        server.push_records().len(),
        1,
        "a connected recipient gets no push record (chapter 12, \"Task 4: The relay server\")"
    );
    assert_eq!(
        (
            server.received(),
            server.is_online("alice"),
            server.is_online("bob"),
            server.is_online("dave")
        ),
        (3, true, true, false),
        "three sends handled; alice and bob connected, dave not (chapter 12, \"Task 4: The \
         relay server\")"
    );
    // Bob leaves: he is offline again, and the next message for him is a
    // push record.
    let _ = within(WAIT, "bob's Close", bob.close(None)).await;
    within(WAIT, "the server to see bob leave", async {
        while server.is_online("bob") {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    raw_send(&mut alice, &[(3, "a-3", "bob", "still there?")]).await;
    let records = server.push_records();
    assert_eq!(
        records.iter().map(|r| r.to.as_str()).collect::<Vec<_>>(),
        ["dave", "bob"],
        "bob left, so a message for him leaves a push record (chapter 12, \"Task 4: The relay \
         server\")"
    );
}

async fn server_shutdown_closes_with_going_away() {
    let server = RelayServer::start().await.expect("the relay server starts");
    let mut alice = raw(&server, "alice", 0).await;
    raw_send(&mut alice, &[(1, "a-1", "bob", "hello")]).await;
    let read_close = within(Duration::from_secs(2), "the server's Close", async {
        loop {
            match alice.next().await {
                Some(Ok(Message::Close(frame))) => {
                    // Keep reading: that sends our reply and ends the
                    // handshake.
                    while let Some(Ok(_)) = alice.next().await {}
                    return frame;
                }
                Some(Ok(_)) => {}
                other => panic!(
                    "the connection ended without a Close frame: {other:?} (chapter 12, \"Task 4: The relay server\")"
                ),
            }
        }
    });
    // Read while the server shuts down: it waits for our reply to its Close.
    let ((), close) = tokio::join!(
        within(WAIT, "RelayServer::shutdown", server.shutdown()),
        read_close
    );
    let code = close.map(|frame| u16::from(frame.code));
    assert_eq!(
        code,
        Some(1001),
        "on shutdown the server closes every connection with 1001, going away (chapter 12, \"Task 4: The relay server\")"
    );
}

/// What the check's own WebSocket server saw from the client, with the
/// time on the (paused) clock.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    /// Connection `n` was opened (numbered from 0).
    Connected(usize),
    /// A Ping frame on connection `n`.
    Ping(usize),
    /// The client's Close frame on connection `n`, with its code.
    Closed(usize, Option<u16>),
    /// A Text frame (the hello, a send) on connection `n`.
    Text(usize),
    /// The hello on connection `n`, with its `resume_from`.
    Hello(usize, u64),
    /// A `send` of outbox entry `seq` on connection `n`.
    Sent(usize, u64),
}

/// A plain WebSocket server that answers pings (tungstenite does that while
/// it reads) and writes down what the client does, to check the *running*
/// client's heartbeat, closes and reconnects rather than the strategy alone.
struct Probe {
    url: String,
    seen: std::sync::Arc<std::sync::Mutex<Vec<(tokio::time::Instant, Seen)>>>,
    changed: tokio::sync::watch::Receiver<usize>,
    /// The connection that stops reading, so stops answering pings (none
    /// when `usize::MAX`): a link that went silent.
    mute: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// Connections from this one on read nothing at all once open: no
    /// frame, no pong, from the start (none when `usize::MAX`).
    mute_from: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// Frames for the client, by connection.
    to_client: std::sync::Arc<std::sync::Mutex<Vec<tokio::sync::mpsc::UnboundedSender<Message>>>>,
}

impl Probe {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the check's server binds a loopback port");
        let url = format!(
            "ws://{}/",
            listener
                .local_addr()
                .expect("the check's server has an address")
        );
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (count, changed) = tokio::sync::watch::channel(0);
        let mute = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(usize::MAX));
        let count = std::sync::Arc::new(count);
        let record = {
            let seen = std::sync::Arc::clone(&seen);
            move |event: Seen| {
                let mut seen = seen.lock().expect("the log of the check's server");
                seen.push((tokio::time::Instant::now(), event));
                count.send_replace(seen.len());
            }
        };
        let muted = std::sync::Arc::clone(&mute);
        let mute_from = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(usize::MAX));
        let silent_from = std::sync::Arc::clone(&mute_from);
        let to_client = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let senders = std::sync::Arc::clone(&to_client);
        tokio::spawn(async move {
            for connection in 0.. {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let record = record.clone();
                let muted = std::sync::Arc::clone(&muted);
                let silent = connection >= silent_from.load(std::sync::atomic::Ordering::Relaxed);
                let (sender, mut outgoing) = tokio::sync::mpsc::unbounded_channel();
                senders
                    .lock()
                    .expect("the senders of the check's server")
                    .push(sender);
                tokio::spawn(async move {
                    // Our frames go out at once, not after a real-time
                    // delayed ACK (Nagle), which the paused clock would
                    // turn into minutes.
                    let _ = stream.set_nodelay(true);
                    let Ok(mut socket) = tokio_tungstenite::accept_async(stream).await else {
                        return;
                    };
                    record(Seen::Connected(connection));
                    if silent {
                        // Open (the socket is held here), and silent from
                        // the first byte on.
                        std::future::pending::<()>().await;
                    }
                    // Reading on answers pings, and after a Close sends
                    // tungstenite's reply.
                    loop {
                        let message = tokio::select! {
                            message = socket.next() => message,
                            Some(frame) = outgoing.recv() => {
                                if socket.send(frame).await.is_err() {
                                    return;
                                }
                                continue;
                            }
                        };
                        let Some(Ok(message)) = message else {
                            return;
                        };
                        if muted.load(std::sync::atomic::Ordering::Relaxed) == connection {
                            // Silent from now on: the socket stays open,
                            // nothing is read, no pong goes out.
                            std::future::pending::<()>().await;
                        }
                        match message {
                            Message::Ping(_) => record(Seen::Ping(connection)),
                            Message::Close(frame) => record(Seen::Closed(
                                connection,
                                frame.map(|frame| u16::from(frame.code)),
                            )),
                            // Answered with an unsolicited Pong (RFC 6455,
                            // 5.5.3), which carries the TCP acknowledgement:
                            // the client's next small frame is not held
                            // back by Nagle's algorithm until a delayed ACK
                            // comes, some 40 ms of real time, which on the
                            // paused clock could be any number of seconds.
                            message => {
                                if let Message::Text(text) = &message {
                                    record(Seen::Text(connection));
                                    if let Ok(ClientFrame::Hello { resume_from, .. }) =
                                        serde_json::from_str(text.as_str())
                                    {
                                        record(Seen::Hello(connection, resume_from));
                                    }
                                    if let Ok(ClientFrame::Send { seq, .. }) =
                                        serde_json::from_str(text.as_str())
                                    {
                                        record(Seen::Sent(connection, seq));
                                    }
                                }
                                if socket.send(Message::Pong(Vec::new().into())).await.is_err() {
                                    return;
                                }
                            }
                        }
                    }
                });
            }
        });
        Self {
            url,
            seen,
            changed,
            mute,
            mute_from,
            to_client,
        }
    }

    fn seen_since(&self, since: tokio::time::Instant) -> Vec<(Duration, Seen)> {
        self.seen
            .lock()
            .expect("the log of the check's server")
            .iter()
            .filter(|(at, _)| *at >= since)
            .map(|(at, event)| (*at - since, event.clone()))
            .collect()
    }

    /// Waits (on the paused clock, at most `limit`) until `event` was seen
    /// at or after `since`; how long after `since` it came.
    async fn wait_for(
        &mut self,
        since: tokio::time::Instant,
        limit: Duration,
        event: impl Fn(&Seen) -> bool,
    ) -> Option<Duration> {
        let found = tokio::time::timeout(limit, async {
            loop {
                if let Some((after, _)) = self
                    .seen_since(since)
                    .into_iter()
                    .find(|(_, seen)| event(seen))
                {
                    return after;
                }
                if self.changed.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        });
        found.await.ok()
    }

    /// Sends `frame` to the client on connection `connection`.
    fn send(&self, connection: usize, frame: &ServerFrame) {
        let senders = self
            .to_client
            .lock()
            .expect("the senders of the check's server");
        let _ = senders[connection].send(Message::text(frame.to_json()));
    }

    fn connections(&self) -> usize {
        self.seen
            .lock()
            .expect("the log of the check's server")
            .iter()
            .filter(|(_, seen)| matches!(seen, Seen::Connected(_)))
            .count()
    }
}

/// The times (after `since`) of the Ping frames seen on each connection.
fn pings_since(probe: &Probe, since: tokio::time::Instant) -> Vec<(usize, Duration)> {
    probe
        .seen_since(since)
        .into_iter()
        .filter_map(|(after, seen)| match seen {
            Seen::Ping(connection) => Some((connection, after)),
            _ => None,
        })
        .collect()
}

/// The shortest gap between two pings of the same connection.
fn shortest_gap(pings: &[(usize, Duration)]) -> Option<Duration> {
    pings
        .windows(2)
        .filter(|pair| pair[0].0 == pair[1].0)
        .map(|pair| pair[1].1 - pair[0].1)
        .min()
}

/// Lets `span` pass on the paused clock and returns the pings seen in it.
async fn pings_during(probe: &Probe, span: Duration) -> Vec<(usize, Duration)> {
    let since = tokio::time::Instant::now();
    tokio::time::sleep(span).await;
    pings_since(probe, since)
}

fn seconds(pings: &[(usize, Duration)]) -> Vec<u64> {
    pings.iter().map(|(_, after)| after.as_secs()).collect()
}

/// Changes the conditions of a connected client and expects it to close its
/// connection `connection` with 1001 (going away).
async fn expect_going_away(
    probe: &mut Probe,
    client: &Client,
    connection: usize,
    next: Conditions,
    why: &str,
) {
    let since = tokio::time::Instant::now();
    client.set_conditions(next);
    let closed = probe
        .wait_for(
            since,
            Duration::from_secs(60),
            |seen| matches!(seen, Seen::Closed(n, _) if *n == connection),
        )
        .await;
    assert!(
        closed.is_some(),
        "{why}: the client must close its connection with Close(1001), going away, but it sent no Close frame (chapter 12, \"Going away (1001)\" and \"Task 3: The client\")"
    );
    let code = probe
        .seen_since(since)
        .into_iter()
        .find_map(|(_, seen)| match seen {
            Seen::Closed(n, code) if n == connection => Some(code),
            _ => None,
        });
    assert_eq!(
        code,
        Some(Some(1001)),
        "{why}: the client must close with code 1001, going away; its Close carried {code:?} (chapter 12, \"Going away (1001)\")"
    );
}

async fn running_client_follows_the_strategy() {
    use AppState::{Background, Foreground};
    use Network::{Cellular, Offline, Wifi};
    // Heartbeats of 25 s and 120 s, observed over minutes: on tokio's paused
    // clock, which jumps to the next timer whenever every task waits, also
    // while a frame is on its way through loopback. A ticker keeps the next
    // timer close, so each such jump is at most TICK: a ping and its pong
    // take a fraction of a second on the clock, not the client's whole
    // silence deadline.
    tokio::time::pause();
    tokio::spawn(async {
        let mut ticker = tokio::time::interval(TICK);
        loop {
            ticker.tick().await;
        }
    });
    let mut probe = Probe::start().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let start = tokio::time::Instant::now();
    let mut client = within(
        WAIT,
        "Client::start",
        Client::start(ClientOptions {
            url: probe.url.clone(),
            client: "alice".to_owned(),
            outbox_dir: dir.path().to_owned(),
            conditions: conditions(Wifi, Foreground),
            resume_from: 0,
        }),
    )
    .await
    .expect("the client starts (chapter 12, \"Task 3: The client\")");
    let minute = Duration::from_secs(60);
    assert!(
        probe
            .wait_for(start, minute, |seen| *seen == Seen::Connected(0))
            .await
            .is_some(),
        "on Wi-Fi in the foreground the client connects (chapter 12, \"Task 3: The client\")"
    );
    assert!(
        probe
            .wait_for(start, minute, |seen| *seen == Seen::Hello(0, 0))
            .await
            .is_some(),
        "the client's first hello resumes from ClientOptions::resume_from, 0 here (chapter 12, \"Task 3: The client\")"
    );

    // Deliveries, one of them twice and an old one again (a replay can
    // overlap what the client has): each is passed on once, in order.
    for (seq, body) in [(1, "one"), (2, "two"), (2, "two"), (1, "one"), (3, "three")] {
        let delivery = offline::Delivery {
            seq,
            id: format!("bob-{seq}"),
            from: "bob".to_owned(),
            body: body.to_owned(),
        };
        probe.send(0, &ServerFrame::Deliver(delivery));
    }
    let mut received = Vec::new();
    for _ in 0..3 {
        let delivery = within(minute, "a delivery", client.next_delivery())
            .await
            .expect("the client passes deliveries on (chapter 12, \"Task 3: The client\")");
        received.push(delivery.body);
    }
    let again = tokio::time::timeout(Duration::from_secs(5), client.next_delivery()).await;
    assert_eq!(
        (received, again.ok().flatten().map(|delivery| delivery.seq)),
        (
            vec!["one".to_owned(), "two".to_owned(), "three".to_owned()],
            None
        ),
        "the server sent deliveries 1, 2, 2, 1, 3: a delivery whose seq is not after the last one passed on is skipped, so the client passes on one, two, three and nothing more (chapter 12, \"Task 3: The client\")"
    );

    // Three messages, one at a time, on the open connection: each wake-up
    // sends only the entries not sent yet on this connection.
    let mut seqs = Vec::new();
    for body in ["a", "b", "c"] {
        let entry = within(WAIT, "Client::send", client.send("bob", body))
            .await
            .expect("the client accepts a message (chapter 12, \"Task 3: The client\")");
        seqs.push(entry.seq);
    }
    let last_seq = seqs[2];
    assert!(
        probe
            .wait_for(start, minute, |seen| *seen == Seen::Sent(0, last_seq))
            .await
            .is_some(),
        "a message accepted while connected goes out at once: the server never saw outbox entry {last_seq} (chapter 12, \"Task 3: The client\": the wake-up)"
    );
    // Frames arrive in order, so every earlier send is in the log by now.
    let sent: Vec<u64> = probe
        .seen_since(start)
        .into_iter()
        .filter_map(|(_, seen)| match seen {
            Seen::Sent(0, seq) => Some(seq),
            _ => None,
        })
        .collect();
    assert_eq!(
        sent, seqs,
        "three messages sent one after the other on one connection: the server should see each outbox entry once, {seqs:?}, but saw {sent:?}; a wake-up sends the entries after the last one sent, not that one again (chapter 12, \"Task 3: The client\")"
    );
    probe.send(0, &ServerFrame::Ack { seq: last_seq });
    within(
        minute,
        "the acks to empty the outbox",
        client.wait_until_drained(),
    )
    .await;

    // The foreground heartbeat: 25 s.
    let pings = pings_during(&probe, Duration::from_secs(150)).await;
    let gap = shortest_gap(&pings);
    assert!(
        pings.len() >= 4 && gap.is_none_or(|gap| gap >= Duration::from_secs(20)),
        "on Wi-Fi in the foreground the heartbeat is 25 s, so in 150 s the client should ping about 6 times; it pinged at {:?} s (chapter 12, \"The strategy\" and \"Task 3: The client\")",
        seconds(&pings)
    );

    // To the background on Wi-Fi: the same socket, pinged every 120 s.
    client.set_conditions(conditions(Wifi, Background));
    let pings = pings_during(&probe, Duration::from_secs(600)).await;
    let gap = shortest_gap(&pings);
    assert!(
        pings.len() >= 2 && gap.is_some_and(|gap| gap >= Duration::from_secs(100)),
        "after going to the background on Wi-Fi the heartbeat is 120 s (a Retune: the running connection must ping at the new policy's heartbeat), so in 600 s the client should ping about 5 times; it pinged at {:?} s (chapter 12, \"The strategy\" and \"Task 3: The client\")",
        seconds(&pings)
    );

    // Back to the foreground: 25 s again.
    client.set_conditions(conditions(Wifi, Foreground));
    let pings = pings_during(&probe, Duration::from_secs(150)).await;
    let gap = shortest_gap(&pings);
    assert!(
        pings.len() >= 4 && gap.is_none_or(|gap| gap >= Duration::from_secs(20)),
        "back in the foreground on Wi-Fi the heartbeat is 25 s again, so in 150 s the client should ping about 6 times; it pinged at {:?} s (chapter 12, \"The strategy\" and \"Task 3: The client\")",
        seconds(&pings)
    );

    // Offline: Close(1001), then no attempts at all.
    let connection = probe.connections() - 1;
    expect_going_away(
        &mut probe,
        &client,
        connection,
        conditions(Offline, Foreground),
        "when the network goes away",
    )
    .await;
    let connections = probe.connections();
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert_eq!(
        probe.connections(),
        connections,
        "offline, the client must not try to connect (chapter 12, \"The strategy\": \"Offline, do not try\")"
    );

    // A network comes back, in the background: connect at once, and the new
    // connection pings at the background heartbeat from the start.
    let since = tokio::time::Instant::now();
    client.set_conditions(conditions(Wifi, Background));
    let connected = probe
        .wait_for(since, minute, |seen| *seen == Seen::Connected(connections))
        .await;
    assert!(
        connected.is_some_and(|after| after < Duration::from_secs(1)),
        "when a network comes back the client connects at once, without a backoff delay; it connected {connected:?} later (chapter 12, \"The strategy\": \"A new network resets the backoff\")"
    );
    let hello = probe
        .wait_for(
            since,
            minute,
            |seen| matches!(seen, Seen::Hello(n, _) if *n == connections),
        )
        .await
        .and_then(|_| {
            probe
                .seen_since(since)
                .into_iter()
                .find_map(|(_, seen)| match seen {
                    Seen::Hello(n, resume_from) if n == connections => Some(resume_from),
                    _ => None,
                })
        });
    assert_eq!(
        hello,
        Some(3),
        "after reconnecting, the hello resumes from the last delivery passed on, 3 (chapter 12, \"Task 3: The client\")"
    );
    let pings = pings_during(&probe, Duration::from_secs(600)).await;
    let gap = shortest_gap(&pings);
    assert!(
        pings.len() >= 2
            && pings[0].1 >= Duration::from_secs(100)
            && gap.is_some_and(|gap| gap >= Duration::from_secs(100)),
        "a connection opened in the background on Wi-Fi pings every 120 s from the start, so in 600 s about 5 times; it pinged at {:?} s (chapter 12, \"The strategy\" and \"Task 3: The client\")",
        seconds(&pings)
    );

    // A new network while connected: Close(1001) and a new connection now.
    let connection = probe.connections() - 1;
    let since = tokio::time::Instant::now();
    expect_going_away(
        &mut probe,
        &client,
        connection,
        conditions(Cellular, Foreground),
        "when the phone changes networks",
    )
    .await;
    let next = connection + 1;
    let connected = probe
        .wait_for(since, minute, |seen| *seen == Seen::Connected(next))
        .await;
    assert!(
        connected.is_some_and(|after| after < Duration::from_secs(1)),
        "on a new network the client reconnects at once (a ReconnectNow); it connected {connected:?} later (chapter 12, \"The strategy\": \"A new network resets the backoff\")"
    );

    assert!(
        probe
            .wait_for(since, minute, |seen| *seen == Seen::Text(next))
            .await
            .is_some(),
        "after reconnecting the client says hello (chapter 12, \"Task 3: The client\")"
    );

    // Cellular in the background: Close(1001), push takes over.
    expect_going_away(
        &mut probe,
        &client,
        next,
        conditions(Cellular, Background),
        "in the background on cellular",
    )
    .await;
    let connections = probe.connections();
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert_eq!(
        probe.connections(),
        connections,
        "in the background on cellular the client holds no socket and makes no attempts (chapter 12, \"The strategy\")"
    );

    // Shutdown closes the open connection with 1001 too.
    let since = tokio::time::Instant::now();
    client.set_conditions(conditions(Cellular, Foreground));
    let last = connections;
    assert!(
        probe
            .wait_for(since, minute, |seen| *seen == Seen::Text(last))
            .await
            .is_some(),
        "back in the foreground on cellular the client connects and says hello (chapter 12, \"The strategy\" and \"Task 3: The client\")"
    );

    // The server goes silent (a half-open link): after heartbeat +
    // PONG_TIMEOUT without a word the connection counts as lost.
    let since = tokio::time::Instant::now();
    probe.mute.store(last, std::sync::atomic::Ordering::Relaxed);
    let last = last + 1;
    let reconnected = probe
        .wait_for(since, minute, |seen| *seen == Seen::Text(last))
        .await;
    assert!(
        reconnected.is_some(),
        "the server stopped answering (no pong, nothing at all): after the heartbeat (25 s) plus PONG_TIMEOUT (10 s) of silence the client must count the connection lost and connect again, but no new connection came within 60 s (chapter 12, \"Task 3: The client\": the silence deadline)"
    );

    let since = tokio::time::Instant::now();
    within(minute, "Client::shutdown", client.shutdown()).await;
    let code = probe
        .seen_since(since)
        .into_iter()
        .find_map(|(_, seen)| match seen {
            Seen::Closed(n, code) if n == last => Some(code),
            _ => None,
        });
    assert_eq!(
        code,
        Some(Some(1001)),
        "Client::shutdown closes the connection with Close(1001), going away; the server saw {code:?} (None: no Close at all) (chapter 12, \"Going away (1001)\")"
    );

    // A server that accepts and then says nothing at all, not even a pong:
    // the silence deadline counts from the connection, before any frame.
    let first = probe.connections();
    probe
        .mute_from
        .store(first, std::sync::atomic::Ordering::Relaxed);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let since = tokio::time::Instant::now();
    let client = within(
        WAIT,
        "Client::start",
        Client::start(ClientOptions {
            url: probe.url.clone(),
            client: "carol".to_owned(),
            outbox_dir: dir.path().to_owned(),
            conditions: conditions(Wifi, Foreground),
            resume_from: 0,
        }),
    )
    .await
    .expect("the client starts (chapter 12, \"Task 3: The client\")");
    let opened = probe
        .wait_for(since, minute, |seen| *seen == Seen::Connected(first))
        .await;
    let again = probe
        .wait_for(since, 2 * minute, |seen| {
            *seen == Seen::Connected(first + 1)
        })
        .await;
    let silence = opened.zip(again).map(|(opened, again)| again - opened);
    assert!(
        silence.is_some_and(
            |silence| silence >= Duration::from_secs(34) && silence <= Duration::from_secs(60)
        ),
        "the server accepted the connection and then said nothing at all: the client must count it lost after the heartbeat (25 s) plus PONG_TIMEOUT (10 s) from the moment it opened, then reconnect after a backoff of a second or so; it reconnected {silence:?} after the connection opened (None: not within two minutes) (chapter 12, \"Task 3: The client\": the silence deadline)"
    );
    within(minute, "Client::shutdown", client.shutdown()).await;
}

fn pending_bodies(outbox: &Outbox) -> Vec<String> {
    outbox.pending().map(|entry| entry.body.clone()).collect()
}

fn accept_all(outbox: &mut Outbox, bodies: &[&str]) {
    for body in bodies {
        outbox
            .accept("bob", body)
            .expect("accept succeeds (chapter 12, \"Task 2: The outbox\")");
    }
}

async fn outbox_drops_a_torn_tail_and_reports_corruption() {
    // A log that cannot be read (here a directory in its place) is an
    // error, not an empty outbox: only a missing file is a new outbox.
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::create_dir(dir.path().join(OUTBOX_FILE)).expect("a directory named like the log");
    assert!(
        Outbox::open(dir.path(), "alice").is_err(),
        "an outbox log that exists but cannot be read must fail to open, not start empty \
         (chapter 12, \"Task 2: The outbox\")"
    );
    // last_acked follows ack_up_to, and survives a reopen.
    let dir = tempfile::tempdir().expect("a temporary directory");
    {
        let mut outbox = Outbox::open(dir.path(), "alice").expect("a new outbox opens");
        accept_all(&mut outbox, &["one", "two", "three"]);
        assert_eq!(
            outbox.last_acked(),
            0,
            "nothing acknowledged yet: last_acked() is 0"
        );
        outbox.ack_up_to(2).expect("ack_up_to succeeds");
        assert_eq!(
            outbox.last_acked(),
            2,
            "after ack_up_to(2), last_acked() is 2 (chapter 12, \"Task 2: The outbox\")"
        );
    }
    let outbox = Outbox::open(dir.path(), "alice").expect("the outbox reopens");
    assert_eq!(
        outbox.last_acked(),
        2,
        "last_acked() is read back from the log on reopen (chapter 12, \"Task 2: The outbox\")"
    );
    // Both shapes of a torn last line: an append cut before its newline,
    // and half a record that does end the file with a newline.
    for torn in [
        &b"{\"accepted\":{\"seq\":3,\"id\":\"al"[..],
        &b"{\"accepted\":{\"se\n"[..],
    ] {
        let shown = String::from_utf8_lossy(torn);
        let dir = tempfile::tempdir().expect("a temporary directory");
        let log = dir.path().join(OUTBOX_FILE);
        {
            let mut outbox = Outbox::open(dir.path(), "alice")
                .expect("a new outbox opens (chapter 12, \"Task 2: The outbox\")");
            accept_all(&mut outbox, &["one", "two"]);
        }
        let mut bytes = std::fs::read(&log).expect("the outbox log exists after accept");
        bytes.extend_from_slice(torn);
        std::fs::write(&log, &bytes).expect("the check appends a torn record");
        let mut outbox = Outbox::open(dir.path(), "alice").unwrap_or_else(|error| {
            panic!("a torn last line ({shown:?}) is what a crash leaves: open must drop it, not fail with {error} (chapter 12, \"An append-only log and its torn tail\")")
        });
        assert_eq!(
            pending_bodies(&outbox),
            ["one", "two"],
            "after dropping a torn last line ({shown:?}) the whole records before it are pending (chapter 12, \"An append-only log and its torn tail\")"
        );
        let third = outbox
            .accept("bob", "three")
            .expect("accept succeeds after a torn tail (chapter 12, \"Task 2: The outbox\")");
        assert_eq!(
            third.seq, 3,
            "the torn record was never accepted, so the next message is number 3 (chapter 12, \"Task 2: The outbox\")"
        );
        drop(outbox);
        let outbox = Outbox::open(dir.path(), "alice").unwrap_or_else(|error| {
            panic!("after a torn tail was dropped and one more message accepted, the outbox must open again, it failed with {error}: open must cut the torn bytes off (compact) so the next record does not land behind them (chapter 12, \"An append-only log and its torn tail\")")
        });
        assert_eq!(
            pending_bodies(&outbox),
            ["one", "two", "three"],
            "the message accepted after a torn tail survives the next reopen (chapter 12, \"An append-only log and its torn tail\")"
        );
    }

    // A bad line anywhere but last is not a crash artefact.
    for bad_line in [1, 2, 3] {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let log = dir.path().join(OUTBOX_FILE);
        {
            let mut outbox = Outbox::open(dir.path(), "alice")
                .expect("a new outbox opens (chapter 12, \"Task 2: The outbox\")");
            accept_all(&mut outbox, &["one", "two", "three", "four"]);
        }
        let text = std::fs::read_to_string(&log).expect("the outbox log is text");
        let mut lines: Vec<&str> = text.lines().collect();
        assert!(
            lines.len() > bad_line,
            "four accepted messages leave at least four records in {OUTBOX_FILE}, one a line, found {} lines (chapter 12, \"An append-only log and its torn tail\")",
            lines.len()
        );
        lines[bad_line - 1] = "not a record";
        std::fs::write(&log, lines.join("\n") + "\n").expect("the check damages a line");
        match Outbox::open(dir.path(), "alice") {
            Err(OutboxError::Corrupt { line, .. }) => assert_eq!(
                line, bad_line,
                "OutboxError::Corrupt names the 1-based number of the bad line (chapter 12, \"An append-only log and its torn tail\")"
            ),
            Err(other) => panic!(
                "a bad line {bad_line} before the last is OutboxError::Corrupt, not {other} (chapter 12, \"An append-only log and its torn tail\")"
            ),
            Ok(outbox) => panic!(
                "a bad line {bad_line} before the last is damage, not a torn tail: open must fail with OutboxError::Corrupt, it opened with {:?} pending (chapter 12, \"An append-only log and its torn tail\")",
                pending_bodies(&outbox)
            ),
        }
    }

    // Sequence numbers continue when everything was acknowledged, and the
    // compacted log keeps only what is pending and the watermark.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let log = dir.path().join(OUTBOX_FILE);
    let mut next = 1;
    for round in 1..=3 {
        let mut outbox = Outbox::open(dir.path(), "alice")
            .expect("the outbox opens again (chapter 12, \"Task 2: The outbox\")");
        for _ in 0..5 {
            let entry = outbox
                .accept("bob", &format!("message {next}"))
                .expect("accept succeeds (chapter 12, \"Task 2: The outbox\")");
            assert_eq!(
                (entry.seq, entry.id.as_str()),
                (next, format!("alice-{next}").as_str()),
                "in round {round}, after every earlier message was acknowledged and the outbox reopened, sequence numbers continue: they are never reused, or the server would drop the new message as a duplicate (chapter 12, \"Task 2: The outbox\")"
            );
            next += 1;
        }
        outbox
            .ack_up_to(next - 1)
            .expect("ack_up_to succeeds (chapter 12, \"Task 2: The outbox\")");
        drop(outbox);
        // Opened once more without a new message: the log now holds only
        // what the compaction kept.
        Outbox::open(dir.path(), "alice")
            .expect("the outbox opens again (chapter 12, \"Task 2: The outbox\")");
    }
    let outbox = Outbox::open(dir.path(), "alice")
        .expect("the outbox opens again (chapter 12, \"Task 2: The outbox\")");
    assert_eq!(
        outbox.pending().count(),
        0,
        "everything was acknowledged: nothing is pending (chapter 12, \"Task 2: The outbox\")"
    );
    let lines = std::fs::read_to_string(&log)
        .expect("the outbox log is text")
        .lines()
        .count();
    assert!(
        lines <= 1,
        "open compacts the log: with nothing pending it keeps at most the acknowledged watermark, one line, but {OUTBOX_FILE} has {lines} lines after 15 messages were acknowledged (chapter 12, \"An append-only log and its torn tail\")"
    );
    assert!(
        !dir.path().join(format!("{OUTBOX_FILE}.tmp")).exists(),
        "the compacted log is written to {OUTBOX_FILE}.tmp and renamed over the log; none may be left behind (chapter 12, \"An append-only log and its torn tail\")"
    );
}
