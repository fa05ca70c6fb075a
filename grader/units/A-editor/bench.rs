//! Maintainers' bench (`cargo bench -p editor`), not a test and not graded.
//! Every figure is measured in this run, against a baseline measured in the
//! same run:
//!
//! 1. **The rope.** The sequential editing trace `seph-blog1` (137 993
//!    edits; data in `grader/units/10-collab/data/`, CC BY 4.0, see its
//!    README) through capstone A's `Text::apply`, against unit 10's
//!    `Operation::apply` on a `String`. Goal: the whole trace in 100 ms.
//! 2. **Versions.** A document of 100 000 of those edits: fetching a
//!    version (a snapshot plus fewer than 100 edits) against replaying from
//!    zero. Goal: at most 1/10.
//! 3. **Replay through the server.** 10 000 edits of the trace sent one at
//!    a time over a WebSocket, each waiting for its ack, against the same
//!    number of round trips to the bundled testkit server's echo; and (3b)
//!    the whole trace typed into a page's `Replica`, which keeps one edit in
//!    flight and composes the rest (the protocol's design), until all is
//!    stored and acknowledged, against one echo round trip per edit. Goal:
//!    at least 0.5×.
//! 4. **Fan-out.** 50 pages typing 5 edits a second each into one
//!    document: the time from sending an edit until every page has applied
//!    it (p50, p99), against the same 50 clients in a testkit room. Goal:
//!    p99 at most 2× the room's + 10 ms.
//! 5. **Memory per idle open document**, from the process's resident size.
//! 6. **Two nodes against one.** 40 documents, two pages typing into each
//!    as fast as the protocol lets them (one edit in flight each), for 4 s:
//!    edits stored and acknowledged per second with two `editor-server`
//!    processes sharing Redis and the database (each sequencing half of
//!    the documents, the pages on the server that sequences theirs), against
//!    one such process. Goal: at least 1.5x. Needs `redis-server` (skipped
//!    without it).
//!
//! Every client here disables Nagle's algorithm (`TCP_NODELAY`), as
//! browsers do for WebSockets, and so do the editor and testkit servers.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use collab::{Operation, char_len};
use editor::{Accepted, Config, Doc, Edit, Replica, RichText, Server, Submitted, Text};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

#[allow(dead_code)] // unit 10's tests use other parts of it
#[path = "../10-collab/trace.rs"]
mod trace;

/// Best of `runs` timings of `f`, and its last result.
fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..runs {
        let start = Instant::now();
        let value = f();
        best = best.min(start.elapsed());
        out = Some(value);
    }
    (best, out.expect("at least one run"))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

fn main() {
    let trace = trace::load("seph-blog1.json.gz");
    let start = trace["startContent"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let end = trace["endContent"].as_str().unwrap_or_default().to_owned();
    let mut ops: Vec<Operation> = Vec::new();
    let mut len = char_len(&start);
    for txn in trace::txns(&trace) {
        for patch in &txn.patches {
            let op = trace::patch_op(len, patch);
            len = op.target_len();
            ops.push(op);
        }
    }
    println!(
        "seph-blog1: {} edits, final text {} characters",
        ops.len(),
        char_len(&end)
    );
    let only = std::env::args().find_map(|arg| arg.strip_prefix("--only=").map(str::to_owned));
    let run = |part: &str| only.as_deref().is_none_or(|only| only == part);
    if run("rope") {
        rope(&start, &end, &ops);
    }
    if run("versions") {
        versions(&start, &ops);
    }
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        if run("replay") {
            replay(&ops).await;
            replay_as_typed(&ops).await;
        }
        if run("fan-out") {
            fan_out().await;
        }
        if run("memory") {
            memory().await;
        }
        if run("nodes") {
            nodes().await;
        }
    });
}

// ---------------------------------------------------------------- 1
fn rope(start: &str, end: &str, ops: &[Operation]) {
    let (string, text) = best(3, || {
        let mut text = start.to_owned();
        for op in ops {
            text = op.apply(&text).expect("the trace applies");
        }
        text
    });
    assert!(text == end, "the String apply reproduces endContent");
    let (rope, text) = best(5, || {
        let mut text = Text::from(start);
        for op in ops {
            text.apply(op).expect("the trace applies");
        }
        text
    });
    assert!(text.to_string() == end, "the rope reproduces endContent");
    println!("\n1. the whole trace");
    println!(
        "   unit 10's Operation::apply on a String: {:8.1} ms",
        ms(string)
    );
    println!(
        "   Text::apply (rope):                     {:8.1} ms   {:.0}x faster; goal 100 ms: {}",
        ms(rope),
        string.as_secs_f64() / rope.as_secs_f64(),
        met(rope <= Duration::from_millis(100))
    );
}

// ---------------------------------------------------------------- 2
fn versions(start: &str, ops: &[Operation]) {
    let count = ops.len().min(100_000);
    let mut doc = Doc::new();
    let prefix = Edit::text(Operation::new().insert(start));
    let submit = |doc: &mut Doc, seq: u64, edit: Edit| {
        let base = doc.revision();
        let accepted = doc.submit(Submitted {
            client: "trace".into(),
            seq,
            base,
            edit,
        });
        assert!(
            matches!(accepted, Ok(Accepted::Applied { .. })),
            "{accepted:?}"
        );
    };
    submit(&mut doc, 1, prefix.clone());
    for (i, op) in ops.iter().take(count - 1).enumerate() {
        submit(&mut doc, i as u64 + 2, Edit::text(op.clone()));
    }
    let picks: Vec<u64> = (1..=20u64).map(|i| i * (count as u64 / 20) - 7).collect();
    let (fetch, _) = best(3, || {
        for &revision in &picks {
            doc.version(revision).expect("the version exists");
        }
    });
    let (replay, _) = best(1, || {
        for &revision in &picks {
            let mut text = RichText::default();
            text.apply(&prefix).expect("applies");
            for op in ops.iter().take(revision as usize - 1) {
                text.apply(&Edit::text(op.clone())).expect("applies");
            }
        }
    });
    let ratio = fetch.as_secs_f64() / replay.as_secs_f64();
    println!("\n2. a version of a {count}-edit document (20 versions, average)");
    println!("   replay from zero:          {:8.3} ms", ms(replay) / 20.0);
    println!(
        "   snapshot + < 100 edits:    {:8.3} ms   ratio {ratio:.4}; goal at most 0.1: {}",
        ms(fetch) / 20.0,
        met(ratio <= 0.1)
    );
}

// ---------------------------------------------------------------- 3
type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn post(address: SocketAddr, path: &str, token: Option<&str>, body: Value) -> Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connects");
    let body = body.to_string();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("sends");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("reads");
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    serde_json::from_str(body).unwrap_or(Value::Null)
}

/// A server on a fresh database with a user and a document `bench`.
async fn editor_server(dir: &tempfile::TempDir) -> (Server, String) {
    let server = Server::start(
        "127.0.0.1:0".parse().expect("an address"),
        Config::new(dir.path().join("bench.sqlite")),
    )
    .await
    .expect("the server starts");
    let user = post(
        server.local_addr(),
        "/api/users",
        None,
        json!({"name": "Bench"}),
    )
    .await;
    let token = user["token"].as_str().expect("a token").to_owned();
    post(
        server.local_addr(),
        "/api/docs",
        Some(&token),
        json!({"id": "bench"}),
    )
    .await;
    (server, token)
}

async fn page(address: SocketAddr, token: &str, client: &str) -> (Socket, Value) {
    let url = format!("ws://{address}/ws/bench?token={token}&client={client}");
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
        .await
        .expect("connects");
    let welcome = next_json(&mut socket).await;
    (socket, welcome)
}

async fn next_json(socket: &mut Socket) -> Value {
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                return serde_json::from_str(text.as_str()).expect("JSON");
            }
            Some(Ok(_)) => {}
            other => panic!("the connection ended: {other:?}"),
        }
    }
}

/// `ops.len()` round trips to the bundled testkit server's echo, one edit
/// message each, one after the other: the baseline of parts 3 and 3b.
async fn echo_round_trips(ops: &[Operation]) -> Duration {
    let echo_server = testkit::TestServer::start().await.expect("testkit starts");
    let (mut echo, _) =
        tokio_tungstenite::connect_async_with_config(echo_server.ws_url("/ws"), None, true)
            .await
            .expect("connects");
    let started = Instant::now();
    for (i, op) in ops.iter().enumerate() {
        let message = json!({"type": "edit", "seq": i + 1, "base": i, "edit": {"text": op}});
        echo.send(Message::text(message.to_string()))
            .await
            .expect("sends");
        loop {
            if let Some(Ok(Message::Text(_))) = echo.next().await {
                break;
            }
        }
    }
    let baseline = started.elapsed();
    drop(echo);
    echo_server.shutdown().await;
    baseline
}

async fn replay(ops: &[Operation]) {
    const EDITS: usize = 10_000;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (server, token) = editor_server(&dir).await;
    let (mut socket, _) = page(server.local_addr(), &token, "replay").await;
    let started = Instant::now();
    let mut len = 0;
    for (i, op) in ops.iter().take(EDITS).enumerate() {
        // The trace starts from an empty document: its ops apply as they are.
        assert_eq!(op.base_len(), len);
        len = op.target_len();
        let message = json!({"type": "edit", "seq": i + 1, "base": i, "edit": {"text": op}});
        socket
            .send(Message::text(message.to_string()))
            .await
            .expect("sends");
        let ack = next_json(&mut socket).await;
        assert_eq!(ack["type"], "ack", "{ack}");
    }
    let editor = started.elapsed();
    drop(socket);
    server.shutdown().await;

    let baseline = echo_round_trips(ops.get(..EDITS).unwrap_or(ops)).await;
    let ratio = baseline.as_secs_f64() / editor.as_secs_f64();
    println!("\n3. {EDITS} edits of the trace, one at a time, each waiting for its answer");
    println!(
        "   testkit echo round trips: {:8.0} ms   ({:.0} per second)",
        ms(baseline),
        EDITS as f64 / baseline.as_secs_f64()
    );
    println!(
        "   editor server (stored, acknowledged): {:8.0} ms   ({:.0} per second); {ratio:.2}x the echo; goal at least 0.5x: {}",
        ms(editor),
        EDITS as f64 / editor.as_secs_f64(),
        met(ratio >= 0.5)
    );
}

/// Part 3, as a page types: the whole trace through a [`Replica`], which
/// keeps one edit in flight and composes what is typed meanwhile into its
/// buffer (the protocol's design), until the server has acknowledged all
/// of it; against one echo round trip per edit of the trace.
async fn replay_as_typed(ops: &[Operation]) {
    use futures_util::FutureExt;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (server, token) = editor_server(&dir).await;
    let (mut socket, _) = page(server.local_addr(), &token, "typist").await;
    let mut replica = Replica::new("typist", RichText::default(), 0, 1);
    let mut sent = 0usize;
    let started = Instant::now();
    for op in ops {
        if let Some(submitted) = replica
            .edit(Edit::text(op.clone()))
            .expect("the trace applies")
        {
            send(&mut socket, &submitted).await;
            sent += 1;
        }
        // Between keystrokes the page's event loop runs (here: the task
        // yields, so the runtime polls the network); then it takes whatever
        // the server has answered meanwhile, without waiting.
        tokio::task::yield_now().await;
        while let Some(frame) = socket.next().now_or_never() {
            let text = match frame {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("the server ended the page: {other:?}"),
            };
            let message: Value = serde_json::from_str(text.as_str()).expect("JSON");
            if message["type"] == "ack"
                && let Some(next) = replica
                    .acknowledge()
                    .expect("an ack for the edit in flight")
            {
                send(&mut socket, &next).await;
                sent += 1;
            }
        }
    }
    let typed = started.elapsed();
    while !replica.is_synchronized() {
        let message = match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                serde_json::from_str::<Value>(text.as_str()).expect("JSON")
            }
            Some(Ok(_)) => continue,
            other => panic!(
                "after typing for {typed:?} (now {:?}), {sent} sent: {other:?}",
                started.elapsed()
            ),
        };
        if message["type"] == "ack"
            && let Some(next) = replica
                .acknowledge()
                .expect("an ack for the edit in flight")
        {
            send(&mut socket, &next).await;
            sent += 1;
        }
    }
    let editor = started.elapsed();
    assert_eq!(
        replica.doc().len_chars(),
        ops.last().map_or(0, Operation::target_len)
    );
    drop(socket);
    server.shutdown().await;

    let baseline = echo_round_trips(ops).await;
    let ratio = baseline.as_secs_f64() / editor.as_secs_f64();
    println!(
        "\n3b. the whole trace ({} edits) typed into a page, which sends one edit at a time and composes the rest",
        ops.len()
    );
    println!(
        "   testkit echo, one round trip per edit: {:8.0} ms   ({:.0} edits per second)",
        ms(baseline),
        ops.len() as f64 / baseline.as_secs_f64()
    );
    println!(
        "   editor server, all stored and acknowledged: {:8.0} ms in {sent} messages   ({:.0} edits per second); {ratio:.2}x the echo; goal at least 0.5x: {}",
        ms(editor),
        ops.len() as f64 / editor.as_secs_f64(),
        met(ratio >= 0.5)
    );
}

// ---------------------------------------------------------------- 4
const PAGES: usize = 50;
const PER_SECOND: u64 = 5;
const TYPING: Duration = Duration::from_secs(6);

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// When each page applied each revision, and when its author sent it.
#[derive(Default)]
struct Times {
    sent: HashMap<u64, Instant>,
    applied: HashMap<u64, Vec<Instant>>,
}

async fn editor_page(address: SocketAddr, token: String, index: usize, times: Arc<Mutex<Times>>) {
    let client = format!("p{index}");
    let (socket, welcome) = page(address, &token, &client).await;
    let (mut sink, mut stream) = socket.split();
    let doc: RichText = serde_json::from_value(welcome["doc"].clone()).expect("the document");
    let revision = welcome["revision"].as_u64().unwrap_or(0);
    let mut replica = Replica::new(&client, doc, revision, 1);
    let mut in_flight_sent: Option<Instant> = None;
    let mut tick = tokio::time::interval(Duration::from_millis(1000 / PER_SECOND));
    tick.tick().await;
    // Spread the pages over the first interval.
    tokio::time::sleep(Duration::from_millis(
        (index as u64 * 197) % (1000 / PER_SECOND),
    ))
    .await;
    let stop = Instant::now() + TYPING;
    let mut typed = 0u64;
    loop {
        tokio::select! {
            _ = tick.tick(), if Instant::now() < stop => {
                let len = replica.doc().len_chars();
                let at = (index * 31 + typed as usize * 17) % (len + 1);
                typed += 1;
                let edit = Edit::text(Operation::new().retain(at).insert("x").retain(len - at));
                if let Some(sent) = replica.edit(edit).expect("a local edit fits") {
                    send(&mut sink, &sent).await;
                    in_flight_sent = Some(Instant::now());
                }
            }
            message = stream.next() => {
                let text = match message {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(_)) => continue,
                    _ => break,
                };
                let value: Value = serde_json::from_str(text.as_str()).expect("JSON");
                let now = Instant::now();
                match value["type"].as_str() {
                    Some("ack") => {
                        let revision = value["revision"].as_u64().unwrap_or(0);
                        {
                            let mut times = times.lock().expect("times");
                            if let Some(sent) = in_flight_sent.take() {
                                times.sent.insert(revision, sent);
                            }
                            times.applied.entry(revision).or_default().push(now);
                        }
                        if let Some(next) = replica.acknowledge().expect("in flight") {
                            send(&mut sink, &next).await;
                            in_flight_sent = Some(Instant::now());
                        }
                    }
                    Some("remote") => {
                        let edit: Edit = serde_json::from_value(value["edit"].clone()).expect("an edit");
                        replica.receive(&edit).expect("fits");
                        let revision = value["revision"].as_u64().unwrap_or(0);
                        times.lock().expect("times").applied.entry(revision).or_default().push(now);
                    }
                    _ => {}
                }
                if Instant::now() > stop + Duration::from_secs(3) && replica.is_synchronized() {
                    break;
                }
            }
            () = tokio::time::sleep_until((stop + Duration::from_secs(3)).into()), if replica.is_synchronized() => break,
        }
    }
}

/// Sends `sent` as the protocol's `edit` message, on a whole socket or its
/// sending half.
async fn send<S>(sink: &mut S, sent: &Submitted)
where
    S: futures_util::Sink<Message, Error = tokio_tungstenite::tungstenite::Error> + Unpin,
{
    let message = json!({"type": "edit", "seq": sent.seq, "base": sent.base, "edit": sent.edit});
    sink.send(Message::text(message.to_string()))
        .await
        .expect("sends");
}

/// Per (client, message number): when it was sent, when each client got it.
type RoomTimes = Arc<Mutex<HashMap<(usize, u64), (Instant, Vec<Instant>)>>>;

async fn room_client(url: String, index: usize, times: RoomTimes) {
    let (socket, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
        .await
        .expect("connects");
    let (mut sink, mut stream) = socket.split();
    let mut tick = tokio::time::interval(Duration::from_millis(1000 / PER_SECOND));
    tick.tick().await;
    tokio::time::sleep(Duration::from_millis(
        (index as u64 * 197) % (1000 / PER_SECOND),
    ))
    .await;
    let stop = Instant::now() + TYPING;
    let mut n = 0u64;
    loop {
        tokio::select! {
            _ = tick.tick(), if Instant::now() < stop => {
                n += 1;
                times.lock().expect("times").insert((index, n), (Instant::now(), Vec::new()));
                let message = json!({"from": index, "n": n, "edit": [5, "x", 20]});
                sink.send(Message::text(message.to_string())).await.expect("sends");
            }
            message = stream.next() => {
                let Some(Ok(Message::Text(text))) = message else { break };
                let value: Value = serde_json::from_str(text.as_str()).unwrap_or(Value::Null);
                let key = (value["from"].as_u64().unwrap_or(0) as usize, value["n"].as_u64().unwrap_or(0));
                if let Some(entry) = times.lock().expect("times").get_mut(&key) {
                    entry.1.push(Instant::now());
                }
            }
            () = tokio::time::sleep_until((stop + Duration::from_secs(2)).into()) => break,
        }
    }
}

async fn fan_out() {
    // The editor.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (server, token) = editor_server(&dir).await;
    let times = Arc::new(Mutex::new(Times::default()));
    let pages: Vec<_> = (0..PAGES)
        .map(|i| {
            tokio::spawn(editor_page(
                server.local_addr(),
                token.clone(),
                i,
                Arc::clone(&times),
            ))
        })
        .collect();
    for page in pages {
        page.await.expect("a page ran");
    }
    server.shutdown().await;
    let (mut editor, sent, counts) = {
        let times = times.lock().expect("times");
        let editor: Vec<Duration> = times
            .sent
            .iter()
            .filter_map(|(revision, sent)| {
                let applied = times.applied.get(revision)?;
                (applied.len() == PAGES)
                    .then(|| applied.iter().max().copied().unwrap_or(*sent) - *sent)
            })
            .collect();
        let counts: Vec<usize> = times.applied.values().map(Vec::len).take(10).collect();
        (editor, times.sent.len(), counts)
    };
    editor.sort();

    // The same clients in a testkit room.
    let room_server = testkit::TestServer::start().await.expect("testkit starts");
    let url = room_server.ws_url("/ws/room/bench");
    let room_times = Arc::new(Mutex::new(HashMap::new()));
    let clients: Vec<_> = (0..PAGES)
        .map(|i| tokio::spawn(room_client(url.clone(), i, Arc::clone(&room_times))))
        .collect();
    for client in clients {
        client.await.expect("a client ran");
    }
    room_server.shutdown().await;
    let room_times = room_times.lock().expect("times");
    let mut room: Vec<Duration> = room_times
        .values()
        .filter(|(_, received)| received.len() >= PAGES - 1)
        .map(|(sent, received)| received.iter().max().copied().unwrap_or(*sent) - *sent)
        .collect();
    room.sort();
    if editor.is_empty() || room.is_empty() {
        println!(
            "\n4. fan-out: no complete measurements (editor {}, room {}; {sent} sent, applied by {counts:?})",
            editor.len(),
            room.len(),
        );
        return;
    }
    let goal = percentile(&room, 0.99) * 2 + Duration::from_millis(10);
    println!(
        "\n4. {PAGES} pages typing {PER_SECOND} edits a second into one document: from sending until every page has it"
    );
    println!(
        "   testkit room:  p50 {:6.2} ms  p99 {:6.2} ms  ({} messages)",
        ms(percentile(&room, 0.5)),
        ms(percentile(&room, 0.99)),
        room.len()
    );
    println!(
        "   editor:        p50 {:6.2} ms  p99 {:6.2} ms  ({} edits); goal p99 at most {:.2} ms: {}",
        ms(percentile(&editor, 0.5)),
        ms(percentile(&editor, 0.99)),
        editor.len(),
        ms(goal),
        met(percentile(&editor, 0.99) <= goal)
    );
}

// ---------------------------------------------------------------- 5
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

async fn memory() {
    const DOCUMENTS: usize = 200;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (server, token) = editor_server(&dir).await;
    let address = server.local_addr();
    for i in 0..DOCUMENTS {
        post(
            address,
            "/api/docs",
            Some(&token),
            json!({"id": format!("d{i}")}),
        )
        .await;
    }
    let Some(before) = resident_bytes() else {
        println!("\n5. memory: /proc/self/statm is not available here");
        return;
    };
    for i in 0..DOCUMENTS {
        let url = format!("ws://{address}/ws/d{i}?token={token}&client=m");
        let (mut socket, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
            .await
            .expect("connects");
        next_json(&mut socket).await;
        let text = "a paragraph of about a hundred characters, typed by someone in a meeting, with a few words. ".repeat(10);
        let message = json!({"type": "edit", "seq": 1, "base": 0, "edit": {"text": [text]}});
        socket
            .send(Message::text(message.to_string()))
            .await
            .expect("sends");
        next_json(&mut socket).await;
    }
    let after = resident_bytes().unwrap_or(before);
    println!(
        "\n5. memory: {DOCUMENTS} open, idle documents of 1 000 characters: {:.1} KiB each (resident size grew {:.1} MiB)",
        after.saturating_sub(before) as f64 / DOCUMENTS as f64 / 1024.0,
        after.saturating_sub(before) as f64 / (1024.0 * 1024.0)
    );
    assert_eq!(server.open_documents(), DOCUMENTS);
    server.shutdown().await;
}

// ---------------------------------------------------------------- 6
const DOCUMENTS: usize = 40;
const NODES_TYPING: Duration = Duration::from_secs(4);

/// A process of the bench, killed when dropped.
struct Process(std::process::Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `redis-server` on a free port: the process and its address.
fn redis_server() -> Option<(Process, String)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .ok()?
        .port();
    let child = std::process::Command::new("redis-server")
        .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .ok()?;
    Some((Process(child), format!("127.0.0.1:{port}")))
}

/// An `editor-server` process in `redis`'s cluster as `name`.
fn node(database: &std::path::Path, redis: &str, name: &str) -> (Process, SocketAddr) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_editor-server"))
        .args(["--listen", "127.0.0.1:0", "--database"])
        .arg(database)
        .args(["--redis", redis, "--node", name])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("editor-server starts");
    let stdout = child.stdout.take().expect("its output");
    let process = Process(child);
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("its first line");
    let address = line
        .trim()
        .strip_prefix("listening on http://")
        .and_then(|address| address.parse().ok())
        .expect("it says where it listens");
    (process, address)
}

/// One page typing into `doc` on `address` as fast as one edit in flight
/// allows, until `stop`; the number of its edits acknowledged.
async fn typist(
    address: SocketAddr,
    token: String,
    doc: String,
    client: String,
    stop: Instant,
) -> u64 {
    let url = format!("ws://{address}/ws/{doc}?token={token}&client={client}");
    let (socket, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
        .await
        .expect("connects");
    let (mut sink, mut stream) = socket.split();
    let welcome = loop {
        match stream.next().await {
            Some(Ok(Message::Text(text))) => {
                break serde_json::from_str::<Value>(text.as_str()).expect("JSON");
            }
            Some(Ok(_)) => {}
            other => panic!("{client}: the connection ended: {other:?}"),
        }
    };
    let text: RichText = serde_json::from_value(welcome["doc"].clone()).expect("the document");
    let revision = welcome["revision"].as_u64().unwrap_or(0);
    let mut replica = Replica::new(&client, text, revision, 1);
    let mut acked = 0;
    let type_one = |replica: &mut Replica| {
        let len = replica.doc().len_chars();
        let edit = Edit::text(Operation::new().retain(len).insert("w "));
        replica.edit(edit).expect("an edit at the end fits")
    };
    if let Some(first) = type_one(&mut replica) {
        send(&mut sink, &first).await;
    }
    while Instant::now() < stop || !replica.is_synchronized() {
        let text = match stream.next().await {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(_)) => continue,
            other => panic!("{client}: the connection ended: {other:?}"),
        };
        let message: Value = serde_json::from_str(text.as_str()).expect("JSON");
        match message["type"].as_str() {
            Some("ack") => {
                acked += 1;
                let mut next = replica.acknowledge().expect("an edit in flight");
                if next.is_none() && Instant::now() < stop {
                    next = type_one(&mut replica);
                }
                if let Some(next) = next {
                    send(&mut sink, &next).await;
                }
            }
            Some("remote") => {
                let edit: Edit = serde_json::from_value(message["edit"].clone()).expect("an edit");
                replica.receive(&edit).expect("a remote edit fits");
            }
            _ => {}
        }
    }
    acked
}

/// Edits acknowledged per second with `servers` nodes: the documents are
/// opened first on node `i % servers`, which then sequences document `i`,
/// and its two pages type there.
async fn nodes_throughput(redis: &str, servers: usize) -> f64 {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let database = dir.path().join("bench.sqlite");
    let nodes: Vec<(Process, SocketAddr)> = (0..servers)
        .map(|i| node(&database, redis, &format!("n{i}")))
        .collect();
    let first = nodes[0].1;
    let user = post(first, "/api/users", None, json!({"name": "Bench"})).await;
    let token = user["token"].as_str().expect("a token").to_owned();
    for i in 0..DOCUMENTS {
        post(
            first,
            "/api/docs",
            Some(&token),
            json!({"id": format!("d{i}")}),
        )
        .await;
    }
    let stop = Instant::now() + NODES_TYPING;
    let started = Instant::now();
    let mut pages = tokio::task::JoinSet::new();
    for i in 0..DOCUMENTS {
        let address = nodes[i % servers].1;
        for page in 0..2 {
            pages.spawn(typist(
                address,
                token.clone(),
                format!("d{i}"),
                format!("p{page}"),
                stop,
            ));
        }
    }
    let mut acked = 0;
    while let Some(page) = pages.join_next().await {
        acked += page.expect("a page");
    }
    acked as f64 / started.elapsed().as_secs_f64()
}

async fn nodes() {
    let Some((_redis, address)) = redis_server() else {
        println!(
            "\n6. two nodes against one: skipped, redis-server is not installed (sudo apt-get install redis-server)"
        );
        return;
    };
    // Let it start listening.
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(&address).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let one = nodes_throughput(&address, 1).await;
    let two = nodes_throughput(&address, 2).await;
    let ratio = two / one;
    println!(
        "\n6. {DOCUMENTS} documents, 2 pages typing into each (one edit in flight), {} s, on {} cores",
        NODES_TYPING.as_secs(),
        std::thread::available_parallelism().map_or(1, usize::from)
    );
    println!("   one editor-server process:   {one:8.0} edits stored and acknowledged per second");
    println!(
        "   two, through Redis:         {two:8.0} edits per second; {ratio:.2}x; goal at least 1.5x: {}",
        met(ratio >= 1.5)
    );
}
