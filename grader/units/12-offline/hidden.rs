//! Hidden checks of unit 12: the strategy's reactions, delivery exactly once
//! after being offline, a client killed with SIGKILL in the middle of
//! sending, the server's replay, dedup by id, push records, and Close(1001)
//! on shutdown.

use std::time::Duration;

use checkkit::within;
use futures_util::{SinkExt, StreamExt};
use offline::{
    AppState, Client, ClientFrame, ClientOptions, Conditions, Network, Reaction, RelayServer,
    ServerFrame, Strategy,
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
}

/// Generous for anything on loopback.
const WAIT: Duration = Duration::from_secs(5);

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
