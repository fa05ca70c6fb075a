//! Hidden stages of capstone B, in the order the chapter builds them. Each
//! starts the learner's server in-process on 127.0.0.1 with a manual clock
//! at `EPOCH` (2001), except the restart stage, which runs the
//! `dashboard-server` binary and kills it. Every wait has a time limit.
//! Random data comes from a seed that a failure prints (`DASHBOARD_SEED=N`
//! replays it).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use checkkit::within;
use dashboard::protocol::{ClientMessage, Mode, Policy, ServerMessage};
use dashboard::store::{Aggregation, Retention};
use dashboard::{CLOSE_TOO_SLOW, Clock, Config, Selector, Server};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

checkkit::checks! {
    subscriptions_share_one_socket_and_stop_on_unsubscribe,
    the_server_filters_by_selector,
    range_queries_match_the_oracle,
    tiers_and_retention_hold,
    backfill_hands_over_to_live_without_gap_or_duplicate,
    a_slow_consumer_is_bounded_and_slows_nobody,
    max_hz_caps_each_subscription,
    an_alert_goes_pending_firing_resolved_on_the_test_clock,
    a_flapping_value_fires_once,
    notifications_are_grouped_and_repeated,
    silences_hide_notifications_until_they_expire,
    a_firing_alert_survives_kill_9,
    host_values_match_the_kernel,
}

/// The manual clock's start: 2001-09-09T01:47:00Z, a whole minute.
const EPOCH: i64 = 1_000_000_020_000;
const WAIT: Duration = Duration::from_secs(5);
const MINUTE: i64 = 60_000;

fn chapter(section: &str) -> String {
    format!("(chapter B, section \"{section}\")")
}

// ------------------------------------------------------------- plumbing

/// A small seeded random generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn seeded() -> (Rng, u64) {
        let seed = std::env::var("DASHBOARD_SEED")
            .ok()
            .and_then(|seed| seed.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            });
        (Rng(seed | 1), seed)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

async fn start(configure: impl FnOnce(&mut Config)) -> Server {
    let mut config = Config {
        clock: Clock::manual(EPOCH),
        ..Config::default()
    };
    configure(&mut config);
    let address: SocketAddr = "127.0.0.1:0".parse().expect("an address");
    within(WAIT, "the server to start", Server::start(address, config))
        .await
        .expect("the server starts on 127.0.0.1")
}

async fn http(
    address: SocketAddr,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
) -> (u16, Value) {
    within(WAIT, &format!("{method} {path}"), async {
        let mut stream = TcpStream::connect(address).await.expect("connects");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.expect("sends the request");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.expect("reads the answer");
        let response = String::from_utf8_lossy(&response).into_owned();
        let status = response.split_whitespace().nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
        let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
        let value = serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_owned()));
        (status, value)
    })
    .await
}

async fn get(address: SocketAddr, path: &str) -> (u16, Value) {
    http(address, "GET", path, "application/json", "").await
}

/// Moves the test clock to `now`; the server answers after collecting and
/// evaluating at that time.
async fn clock(address: SocketAddr, now: i64, section: &str) {
    let (status, body) = http(
        address,
        "POST",
        "/api/test/clock",
        "application/json",
        &format!(r#"{{"now":{now}}}"#),
    )
    .await;
    assert_eq!(
        status,
        200,
        "POST /api/test/clock to {now} answered {status} {body} {}",
        chapter(section)
    );
}

/// One JSON line.
fn line(name: &str, labels: &[(&str, &str)], t: i64, v: f64) -> String {
    let labels: serde_json::Map<String, Value> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
        .collect();
    format!(
        "{}\n",
        json!({"name": name, "labels": labels, "t": t, "v": v})
    )
}

async fn ingest(address: SocketAddr, body: &str, section: &str) -> Value {
    let (status, answer) = http(address, "POST", "/api/ingest", "application/json", body).await;
    assert_eq!(
        status,
        200,
        "POST /api/ingest answered {status} {answer} {}",
        chapter(section)
    );
    answer
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            byte => format!("%{byte:02X}"),
        })
        .collect()
}

/// The answer of `GET /api/query`: `(status, tier, [(labels, points)])`.
async fn query(
    address: SocketAddr,
    selector: &str,
    rest: &str,
) -> (
    u16,
    String,
    Vec<(BTreeMap<String, String>, Vec<(i64, f64)>)>,
) {
    let path = format!("/api/query?match={}&{rest}", encode(selector));
    let (status, body) = get(address, &path).await;
    let tier = body["tier"].as_str().unwrap_or_default().to_owned();
    let series = body["series"]
        .as_array()
        .map(|series| {
            series
                .iter()
                .map(|series| {
                    let labels = serde_json::from_value(series["series"]["labels"].clone())
                        .unwrap_or_default();
                    let points =
                        serde_json::from_value(series["points"].clone()).unwrap_or_default();
                    (labels, points)
                })
                .collect()
        })
        .unwrap_or_default();
    (status, tier, series)
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A client of the dashboard's WebSocket that counts what it receives.
struct Client {
    socket: Socket,
    bytes: usize,
    /// Messages `until` read past, handed out first by `next`.
    skipped: std::collections::VecDeque<ServerMessage>,
}

impl Client {
    async fn connect(address: SocketAddr) -> Client {
        let (socket, _) = within(
            WAIT,
            "the WebSocket handshake",
            tokio_tungstenite::connect_async(format!("ws://{address}/ws")),
        )
        .await
        .expect("GET /ws upgrades to a WebSocket");
        Client {
            socket,
            bytes: 0,
            skipped: std::collections::VecDeque::new(),
        }
    }

    async fn send(&mut self, message: &ClientMessage) {
        let text = serde_json::to_string(message).expect("encodes");
        within(WAIT, "a send", self.socket.send(Message::Text(text.into())))
            .await
            .expect("the message is sent");
    }

    async fn subscribe(
        &mut self,
        id: &str,
        selector: &str,
        since: Option<i64>,
        policy: Policy,
        section: &str,
    ) {
        self.send(&ClientMessage::Subscribe {
            id: id.to_owned(),
            selector: Selector::parse(selector).expect("a selector"),
            since,
            policy,
        })
        .await;
        let answer = self
            .until(|m| {
                matches!(
                    m,
                    ServerMessage::Subscribed { .. } | ServerMessage::Error { .. }
                )
            })
            .await;
        assert!(
            matches!(&answer, ServerMessage::Subscribed { id: got } if got == id),
            "subscribing {id} to {selector} answers `subscribed`, got {answer:?} {}",
            chapter(section)
        );
    }

    async fn next(&mut self) -> ServerMessage {
        if let Some(message) = self.skipped.pop_front() {
            return message;
        }
        loop {
            // A second past WAIT: a caller's own `within(WAIT, …)`, which
            // says what it waits for, times out first.
            let frame = within(
                WAIT + Duration::from_secs(1),
                "a message from the server",
                self.socket.next(),
            )
            .await
            .expect("the connection stays open")
            .expect("a frame");
            match frame {
                Message::Text(text) => {
                    self.bytes += text.len();
                    return serde_json::from_str(text.as_str()).unwrap_or_else(|error| {
                        panic!("not a message of the protocol ({error}): {text}")
                    });
                }
                Message::Ping(_) | Message::Pong(_) => {}
                Message::Close(frame) => panic!("the server closed the connection: {frame:?}"),
                other => panic!("expected a text message, got {other:?}"),
            }
        }
    }

    /// The first message `wanted` accepts; the others are kept for `next`.
    async fn until(&mut self, wanted: impl Fn(&ServerMessage) -> bool) -> ServerMessage {
        if let Some(at) = self.skipped.iter().position(&wanted) {
            return self.skipped.remove(at).expect("a message at that index");
        }
        let mut passed = Vec::new();
        let found = loop {
            let message = self.read().await;
            if wanted(&message) {
                break message;
            }
            passed.push(message);
        };
        self.skipped.extend(passed);
        found
    }

    /// The next message from the socket itself.
    async fn read(&mut self) -> ServerMessage {
        let skipped = std::mem::take(&mut self.skipped);
        let message = self.next().await;
        self.skipped = skipped;
        message
    }

    /// Reads until the server closes; its close code.
    async fn close_code(&mut self, limit: Duration) -> Option<u16> {
        within(limit, "the server to close the connection", async {
            while let Some(frame) = self.socket.next().await {
                match frame {
                    Ok(Message::Close(frame)) => return frame.map(|frame| u16::from(frame.code)),
                    Ok(_) => {}
                    Err(_) => return None,
                }
            }
            None
        })
        .await
    }
}

/// What one subscription received: its series (id → labels), its points
/// in order, and checks as it goes that seq has no gap.
#[derive(Default)]
struct Received {
    series: BTreeMap<u64, (String, BTreeMap<String, String>)>,
    points: Vec<(u64, i64, f64)>,
    messages: usize,
    dropped: u64,
    seq: u64,
    backfill_after_live: bool,
    live_started: bool,
}

impl Received {
    fn take(&mut self, message: &ServerMessage, section: &str) {
        match message {
            ServerMessage::Series { series, .. } => {
                for info in series {
                    self.series
                        .insert(info.id, (info.name.clone(), info.labels.clone()));
                }
            }
            ServerMessage::Data {
                seq,
                points,
                dropped,
                backfill,
                ..
            } => {
                assert_eq!(
                    *seq,
                    self.seq + 1,
                    "a subscription's seq goes 1, 2, 3… with no gap {}",
                    chapter(section)
                );
                self.seq = *seq;
                self.messages += 1;
                self.dropped += dropped;
                if *backfill && self.live_started {
                    self.backfill_after_live = true;
                }
                if !backfill {
                    self.live_started = true;
                }
                for point in points {
                    assert!(
                        self.series.contains_key(&point.0),
                        "series {} got a point before its `series` announcement {}",
                        point.0,
                        chapter(section)
                    );
                }
                self.points.extend(points.iter().copied());
            }
            _ => {}
        }
    }
}

/// Reads `client` until `done(received)` holds, sorting messages by
/// subscription id.
async fn read_until(
    client: &mut Client,
    received: &mut BTreeMap<String, Received>,
    section: &str,
    done: impl Fn(&BTreeMap<String, Received>) -> bool,
) {
    while !done(received) {
        let message = client.next().await;
        let id = match &message {
            ServerMessage::Series { id, .. } | ServerMessage::Data { id, .. } => id.clone(),
            ServerMessage::Error { message, .. } => panic!(
                "the server answered an error: {message} {}",
                chapter(section)
            ),
            _ => continue,
        };
        received.entry(id).or_default().take(&message, section);
    }
}

fn all() -> Policy {
    Policy {
        mode: Mode::All,
        max_hz: None,
    }
}

// --------------------------------------------- stage 4: multiplex, unsubscribe

async fn subscriptions_share_one_socket_and_stop_on_unsubscribe() {
    const SECTION: &str = "Stage 4: Multiplex and unsubscribe";
    let server = start(|_| {}).await;
    let address = server.local_addr();
    let mut client = Client::connect(address).await;
    client
        .subscribe("one", r#"m{k="1"}"#, None, all(), SECTION)
        .await;
    client
        .subscribe("two", r#"m{k="2"}"#, None, all(), SECTION)
        .await;
    client
        .subscribe("both", r#"m{k=~"1|2"}"#, None, all(), SECTION)
        .await;
    let mut body = String::new();
    for i in 0..30 {
        body.push_str(&line(
            "m",
            &[("k", "1")],
            EPOCH - 60_000 + i * 1_000,
            i as f64,
        ));
        body.push_str(&line(
            "m",
            &[("k", "2")],
            EPOCH - 60_000 + i * 1_000,
            -(i as f64),
        ));
    }
    ingest(address, &body, SECTION).await;
    let mut received = BTreeMap::new();
    read_until(
        &mut client,
        &mut received,
        SECTION,
        |r: &BTreeMap<String, Received>| {
            r.get("one").is_some_and(|r| r.points.len() >= 30)
                && r.get("two").is_some_and(|r| r.points.len() >= 30)
                && r.get("both").is_some_and(|r| r.points.len() >= 60)
        },
    )
    .await;
    for (id, sign) in [("one", 1.0), ("two", -1.0)] {
        let values: Vec<f64> = received[id].points.iter().map(|p| p.2).collect();
        let want: Vec<f64> = (0..30).map(|i| sign * i as f64).collect();
        assert_eq!(
            values,
            want,
            "subscription {id} gets its series' samples, in order, each once {}",
            chapter(SECTION)
        );
    }
    assert_eq!(
        received["both"].series.len(),
        2,
        "subscription `both` was told of both series {}",
        chapter(SECTION)
    );

    client
        .send(&ClientMessage::Unsubscribe { id: "one".into() })
        .await;
    ingest(address, &line("m", &[("k", "1")], EPOCH, 100.0), SECTION).await;
    ingest(address, &line("m", &[("k", "2")], EPOCH, 200.0), SECTION).await;
    let mut unsubscribed = false;
    let mut after = Vec::new();
    while !unsubscribed
        || !after.contains(&("two".to_owned(), 200.0))
        || !after.contains(&("both".to_owned(), 100.0))
    {
        match client.next().await {
            ServerMessage::Unsubscribed { id } if id == "one" => unsubscribed = true,
            ServerMessage::Data { id, points, .. } => {
                assert!(
                    !(id == "one" && unsubscribed),
                    "nothing comes for a subscription after its `unsubscribed` {}",
                    chapter(SECTION)
                );
                if id == "one" {
                    panic!(
                        "the sample posted after `unsubscribe` reached the stopped subscription {}",
                        chapter(SECTION)
                    );
                }
                after.extend(points.iter().map(|p| (id.clone(), p.2)));
            }
            _ => {}
        }
    }
    assert!(
        after.contains(&("two".to_owned(), 200.0)) && after.contains(&("both".to_owned(), 100.0)),
        "the other subscriptions go on, got {after:?} {}",
        chapter(SECTION)
    );

    client
        .send(&ClientMessage::Unsubscribe { id: "one".into() })
        .await;
    let error = client
        .until(|m| matches!(m, ServerMessage::Error { .. }))
        .await;
    assert!(
        matches!(&error, ServerMessage::Error { code, .. } if code == "unknown_subscription"),
        "unsubscribing twice answers `unknown_subscription`, got {error:?} {}",
        chapter(SECTION)
    );

    // The id is free again: a subscription under it gets its own
    // selector's series, and nothing of the old one's.
    client
        .subscribe("one", r#"m{k="2"}"#, None, all(), SECTION)
        .await;
    ingest(
        address,
        &line("m", &[("k", "1")], EPOCH + 1_000, 111.0),
        SECTION,
    )
    .await;
    ingest(
        address,
        &line("m", &[("k", "2")], EPOCH + 1_000, 222.0),
        SECTION,
    )
    .await;
    let mut seen = Vec::new();
    while !seen.contains(&("one".to_owned(), 222.0)) || !seen.contains(&("both".to_owned(), 111.0))
    {
        if let ServerMessage::Data { id, points, .. } = client.next().await {
            seen.extend(points.iter().map(|p| (id.clone(), p.2)));
        }
    }
    assert!(
        !seen.contains(&("one".to_owned(), 111.0)),
        "`one`, subscribed again to m{{k=\"2\"}}, got a sample of m{{k=\"1\"}}, which only the \
         unsubscribed `one` matched: unsubscribing must remove the subscription's routes {}",
        chapter(SECTION)
    );

    // A client that leaves leaves nothing behind.
    let mut other = Client::connect(address).await;
    other.subscribe("x", "m", None, all(), SECTION).await;
    let _ = other.socket.close(None).await;
    drop(other);
    within(WAIT, "the server to forget a client that left", async {
        loop {
            let (_, health) = get(address, "/health").await;
            if health["clients"] == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    ingest(address, &line("m", &[("k", "2")], EPOCH, 300.0), SECTION).await;
    let message = client
        .until(|m| matches!(m, ServerMessage::Data { .. }))
        .await;
    assert!(
        matches!(message, ServerMessage::Data { .. }),
        "the remaining client still gets its data {}",
        chapter(SECTION)
    );
    server.shutdown().await;
}

// ------------------------------------------------- stage 5: filtering

async fn the_server_filters_by_selector() {
    const SECTION: &str = "Stage 5: Filtering on the server";
    let server = start(|_| {}).await;
    let address = server.local_addr();
    type Rule = fn(&str, usize, &str) -> bool;
    let selectors: [(&str, &str, Rule); 7] = [
        ("eu", r#"cpu{region="eu"}"#, |n, _, r| {
            n == "cpu" && r == "eu"
        }),
        (
            "not_h3",
            r#"{__name__=~"cpu|mem", host!="h3"}"#,
            |_, h, _| h != 3,
        ),
        ("low_mem", r#"mem{host=~"h[0-4]"}"#, |n, h, _| {
            n == "mem" && h <= 4
        }),
        ("h9_cpu", r#"cpu{host!~"h[0-8]"}"#, |n, h, _| {
            n == "cpu" && h == 9
        }),
        ("no_rack", r#"cpu{rack=""}"#, |n, _, _| n == "cpu"),
        ("one", r#"{region="us", host="h1"}"#, |_, h, r| {
            r == "us" && h == 1
        }),
        ("unanchored", r#"cpu{host=~"h"}"#, |_, _, _| false),
    ];
    let mut client = Client::connect(address).await;
    let mut everything = Client::connect(address).await;
    everything
        .subscribe("all", "{}", None, all(), SECTION)
        .await;
    let mut narrow = Client::connect(address).await;
    narrow
        .subscribe("one", r#"{region="us", host="h1"}"#, None, all(), SECTION)
        .await;
    let series: Vec<(&str, usize, &str)> = ["cpu", "mem"]
        .into_iter()
        .flat_map(|name| {
            (0..10).flat_map(move |host| {
                ["eu", "us"]
                    .into_iter()
                    .map(move |region| (name, host, region))
            })
        })
        .collect();
    let body = |second: i64, part: &[(&str, usize, &str)]| -> String {
        part.iter()
            .map(|(name, host, region)| {
                line(
                    name,
                    &[("host", &format!("h{host}")), ("region", region)],
                    EPOCH - 60_000 + second * 1_000,
                    second as f64,
                )
            })
            .collect()
    };
    // Half the series exist before the subscriptions, half appear after.
    let (before, after) = series.split_at(series.len() / 2);
    ingest(address, &body(0, before), SECTION).await;
    for (id, selector, _) in &selectors {
        client.subscribe(id, selector, None, all(), SECTION).await;
    }
    ingest(address, &body(1, after), SECTION).await;
    ingest(address, &body(2, &series), SECTION).await;
    let expected: BTreeMap<&str, BTreeSet<String>> = selectors
        .iter()
        .map(|(id, _, rule)| {
            let mut want = BTreeSet::new();
            for (second, part) in [(1, after), (2, &series[..])] {
                for (name, host, region) in part.iter().filter(|(n, h, r)| rule(n, *h, r)) {
                    want.insert(format!("{name}/h{host}/{region}@{second}"));
                }
            }
            (*id, want)
        })
        .collect();
    let total: usize = expected.values().map(BTreeSet::len).sum();
    let mut received = BTreeMap::new();
    read_until(
        &mut client,
        &mut received,
        SECTION,
        |r: &BTreeMap<String, Received>| r.values().map(|r| r.points.len()).sum::<usize>() >= total,
    )
    .await;
    // A marker subscribed last proves nothing more is on its way.
    ingest(address, &line("marker", &[], EPOCH, 0.0), SECTION).await;
    client
        .subscribe("marker", "marker", None, all(), SECTION)
        .await;
    ingest(address, &line("marker", &[], EPOCH, 1.0), SECTION).await;
    read_until(
        &mut client,
        &mut received,
        SECTION,
        |r: &BTreeMap<String, Received>| r.get("marker").is_some_and(|r| !r.points.is_empty()),
    )
    .await;
    for (id, selector, _) in &selectors {
        let got = received.remove(*id).unwrap_or_default();
        let got: BTreeSet<String> = got
            .points
            .iter()
            .map(|(series, _, v)| {
                let (name, labels) = got.series.get(series).cloned().unwrap_or_default();
                format!(
                    "{name}/{}/{}@{v}",
                    labels.get("host").map_or("", String::as_str),
                    labels.get("region").map_or("", String::as_str)
                )
            })
            .collect();
        let want = &expected[id];
        let extra: Vec<&String> = got.difference(want).take(3).collect();
        let missing: Vec<&String> = want.difference(&got).take(3).collect();
        assert!(
            extra.is_empty() && missing.is_empty(),
            "{selector} receives the samples of exactly the series it matches, also those that appear after it; extra {extra:?}, missing {missing:?} {}",
            chapter(SECTION)
        );
    }
    let mut all_received = BTreeMap::new();
    read_until(
        &mut everything,
        &mut all_received,
        SECTION,
        |r: &BTreeMap<String, Received>| {
            r.get("all")
                .is_some_and(|r| r.points.len() >= series.len() * 2)
        },
    )
    .await;
    let mut narrow_received = BTreeMap::new();
    read_until(
        &mut narrow,
        &mut narrow_received,
        SECTION,
        |r: &BTreeMap<String, Received>| r.get("one").is_some_and(|r| r.points.len() >= 2),
    )
    .await;
    assert!(
        narrow.bytes * 4 < everything.bytes,
        "a client subscribed to 1 series of 40 received {} bytes, one subscribed to all {}: filter on the server {}",
        narrow.bytes,
        everything.bytes,
        chapter(SECTION)
    );
    server.shutdown().await;
}

// ------------------------------------------------- stage 6: range queries

/// The oracle: every sample kept in a list, a query answered by a scan.
fn oracle(
    samples: &[(i64, f64)],
    start: i64,
    end: i64,
    step: i64,
    aggregation: Aggregation,
) -> Vec<(i64, f64)> {
    let mut steps: BTreeMap<i64, Vec<(i64, f64)>> = BTreeMap::new();
    for &(t, v) in samples {
        let second = t.div_euclid(1_000) * 1_000;
        if second >= start && second < end {
            steps
                .entry(start + (second - start) / step * step)
                .or_default()
                .push((t, v));
        }
    }
    steps
        .into_iter()
        .map(|(at, list)| {
            let values = list.iter().map(|s| s.1);
            let value = match aggregation {
                Aggregation::Avg => values.sum::<f64>() / list.len() as f64,
                Aggregation::Min => values.fold(f64::INFINITY, f64::min),
                Aggregation::Max => values.fold(f64::NEG_INFINITY, f64::max),
                Aggregation::Sum => values.sum(),
                Aggregation::Count => list.len() as f64,
                // The latest by time; on a tie, the one posted last.
                Aggregation::Last => {
                    list.iter()
                        .fold(list[0], |last, s| if s.0 >= last.0 { *s } else { last })
                        .1
                }
            };
            (at, value)
        })
        .collect()
}

fn close(a: &[(i64, f64)], b: &[(i64, f64)]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.0 == y.0 && (x.1 - y.1).abs() <= 1e-9 * y.1.abs().max(1.0))
}

async fn range_queries_match_the_oracle() {
    const SECTION: &str = "Stage 6: Range queries";
    let (mut rng, seed) = Rng::seeded();
    let server = start(|_| {}).await;
    let address = server.local_addr();
    // Three series over the last 20 minutes, several samples a second at
    // any millisecond, in random order, with samples exactly on the
    // boundaries the queries will use.
    let mut samples: BTreeMap<&str, Vec<(i64, f64)>> = BTreeMap::new();
    let from = EPOCH - 20 * MINUTE;
    for name in ["a", "b", "c"] {
        let mut body = String::new();
        for _ in 0..1_500 {
            let t = from + rng.below(20 * MINUTE as u64) as i64;
            let v = rng.below(1_000) as f64 / 8.0;
            samples.entry(name).or_default().push((t, v));
            body.push_str(&line("q", &[("s", name)], t, v));
        }
        for t in [from, from + 999, from + 1_000, EPOCH - 1, EPOCH - 1_000] {
            let v = rng.below(100) as f64;
            samples.entry(name).or_default().push((t, v));
            body.push_str(&line("q", &[("s", name)], t, v));
        }
        ingest(address, &body, SECTION).await;
    }
    let aggregations = [
        ("avg", Aggregation::Avg),
        ("min", Aggregation::Min),
        ("max", Aggregation::Max),
        ("sum", Aggregation::Sum),
        ("count", Aggregation::Count),
        ("last", Aggregation::Last),
    ];
    let mut client = Client::connect(address).await;
    for round in 0..40 {
        let start = from + rng.below(1_200) as i64 * 1_000;
        let end = (start + (1 + rng.below(1_200)) as i64 * 1_000).min(EPOCH);
        let step = [1_000, 2_000, 5_000, 7_000, 30_000][rng.below(5) as usize];
        let (name, aggregation) = aggregations[rng.below(6) as usize];
        let rest = format!("start={start}&end={end}&step={step}&aggregation={name}&tier=raw");
        let (status, _, answer) = query(address, "q", &rest).await;
        assert_eq!(
            status,
            200,
            "GET /api/query?{rest} is a valid query {}",
            chapter(SECTION)
        );
        for (labels, points) in &answer {
            let series = labels.get("s").map_or("", String::as_str);
            let want = oracle(&samples[series], start, end, step, aggregation);
            assert!(
                close(points, &want),
                "seed {seed} (DASHBOARD_SEED={seed} replays it), round {round}: [{start}, {end}) step {step} {name} of series {series}: expected {} points starting {:?}, got {} starting {:?}. The point at t aggregates the samples of [t, t + step), the range is start inclusive, end exclusive {}",
                want.len(),
                want.iter().take(3).collect::<Vec<_>>(),
                points.len(),
                points.iter().take(3).collect::<Vec<_>>(),
                chapter(SECTION)
            );
        }
        if round % 8 == 0 {
            // The same query over the socket gives the same answer.
            let query = dashboard::store::Query {
                start,
                end,
                step,
                aggregation,
                tier: Some(dashboard::Tier::Raw),
            };
            client
                .send(&ClientMessage::Query {
                    id: format!("r{round}"),
                    selector: Selector::parse(r#"q{s="a"}"#).expect("a selector"),
                    query,
                })
                .await;
            let answer = client
                .until(|m| {
                    matches!(
                        m,
                        ServerMessage::Result { .. } | ServerMessage::Error { .. }
                    )
                })
                .await;
            let ServerMessage::Result { id, series, .. } = answer else {
                panic!(
                    "a `query` over the socket answers `result`, got {answer:?} {}",
                    chapter(SECTION)
                );
            };
            assert_eq!(
                id,
                format!("r{round}"),
                "the result carries the query's id {}",
                chapter(SECTION)
            );
            let want = oracle(&samples["a"], start, end, step, aggregation);
            assert!(
                series.len() == 1 && close(&series[0].points, &want),
                "seed {seed}: the socket's answer to [{start}, {end}) step {step} {name} differs from the oracle {}",
                chapter(SECTION)
            );
        }
    }
    for bad in [
        format!("start={EPOCH}&end={EPOCH}&step=1000"),
        format!("start={EPOCH}&end={}&step=0", EPOCH + 1_000),
        format!("start={}&end={EPOCH}&step=1000&tier=raw", EPOCH - 500),
    ] {
        let (status, _, _) = query(address, "q", &bad).await;
        assert_eq!(
            status,
            400,
            "GET /api/query?{bad} is refused with 400 {}",
            chapter(SECTION)
        );
    }
    server.shutdown().await;
}

// ------------------------------------------------- stage 7: tiers and retention

async fn tiers_and_retention_hold() {
    const SECTION: &str = "Stage 7: Tiers and retention";
    let server = start(|config| {
        config.retention = Retention {
            raw: Duration::from_secs(600),
            minute: Duration::from_secs(3_600),
        };
    })
    .await;
    let address = server.local_addr();
    // One sample every 10 s over the last 50 minutes.
    let body: String = (0..300)
        .map(|i| line("t", &[], EPOCH - 50 * MINUTE + i * 10_000, 1.0))
        .collect();
    let answer = ingest(address, &body, SECTION).await;
    assert_eq!(
        answer["accepted"],
        300,
        "samples within the minute tier's hour are stored, got {answer} {}",
        chapter(SECTION)
    );

    let (status, tier, series) = query(
        address,
        "t",
        &format!(
            "start={}&end={EPOCH}&step=60000&aggregation=count",
            EPOCH - 50 * MINUTE
        ),
    )
    .await;
    let counts: Vec<f64> = series
        .first()
        .map(|s| s.1.iter().map(|p| p.1).collect())
        .unwrap_or_default();
    assert!(
        status == 200 && tier == "minute" && counts.len() == 50 && counts.iter().all(|c| *c == 6.0),
        "whole minutes over 50 minutes come from the minute tier, 6 samples a minute; got {status} tier {tier:?} counts {counts:?} {}",
        chapter(SECTION)
    );
    let (_, tier, _) = query(
        address,
        "t",
        &format!(
            "start={}&end={EPOCH}&step=10000",
            EPOCH - 5 * MINUTE + 10_000
        ),
    )
    .await;
    assert_eq!(
        tier,
        "raw",
        "a recent range in seconds comes from the raw tier {}",
        chapter(SECTION)
    );
    // Whole minutes (start and step) take the minute tier even when recent;
    // a step in seconds takes the raw tier from its oldest second on.
    for (start, step, want) in [
        (EPOCH - 5 * MINUTE, MINUTE, "minute"),
        (EPOCH - 5 * MINUTE, 10_000, "raw"),
        (EPOCH - 10 * MINUTE, 1_000, "raw"),
    ] {
        let (status, tier, _) = query(
            address,
            "t",
            &format!("start={start}&end={EPOCH}&step={step}"),
        )
        .await;
        assert!(
            status == 200 && tier == want,
            "a query from now - {} s every {step} ms, naming no tier, is answered from the {want} \
             tier (the raw tier keeps t >= now - 600 s), got {status} {tier:?} {}",
            (EPOCH - start) / 1_000,
            chapter(SECTION)
        );
    }
    let (status, tier, _) = query(
        address,
        "t",
        &format!(
            "start={}&end={EPOCH}&step=60000",
            EPOCH - 30 * MINUTE + 1_000
        ),
    )
    .await;
    assert!(
        status == 400 && tier.is_empty(),
        "a start older than the raw tier keeps needs the minute tier, so whole minutes: {status} {}",
        chapter(SECTION)
    );
    let (_, _, series) = query(
        address,
        "t",
        &format!(
            "start={}&end={EPOCH}&step=1000&tier=raw&aggregation=count",
            EPOCH - 50 * MINUTE
        ),
    )
    .await;
    let raw: Vec<i64> = series
        .first()
        .map(|s| s.1.iter().map(|p| p.0).collect())
        .unwrap_or_default();
    assert!(
        raw.len() == 60 && raw.first() == Some(&(EPOCH - 10 * MINUTE)),
        "the raw tier keeps 10 minutes: t >= now - 10 min, 60 samples from {}, got {} from {:?} {}",
        EPOCH - 10 * MINUTE,
        raw.len(),
        raw.first(),
        chapter(SECTION)
    );

    // The raw tier's window moves with the clock, to the second: at
    // now + 5.5 s a sample of a new second pushes out the seconds before
    // now + 5.5 s - 10 min; half a second later, the second that was the
    // oldest kept is past the retention, and a sample in it goes to the
    // minute tier only.
    clock(address, EPOCH + 5_500, SECTION).await;
    // Two samples of one second: one bucket.
    ingest(
        address,
        &format!(
            "{}{}",
            line("t", &[], EPOCH - 5_000, 1.0),
            line("t", &[], EPOCH - 4_500, 1.0)
        ),
        SECTION,
    )
    .await;
    clock(address, EPOCH + 6_000, SECTION).await;
    let (_, before) = get(address, "/health").await;
    ingest(address, &line("t", &[], EPOCH - 595_000, 1.0), SECTION).await;
    let (_, after) = get(address, "/health").await;
    assert!(
        before["buckets"]["raw"] == 60 && after["buckets"]["raw"] == 60,
        "at now = {} the raw tier keeps t >= {} only: a sample at {} is not added to it \
         (/health counted {} raw buckets before, {} after; 60 both times: the second pushed out \
         the oldest one, and two samples of one second share a bucket) {}",
        EPOCH + 6_000,
        EPOCH + 6_000 - 10 * MINUTE,
        EPOCH - 595_000,
        before["buckets"]["raw"],
        after["buckets"]["raw"],
        chapter(SECTION)
    );

    // 30 minutes later: the raw tier is empty, the minute tier still holds
    // the last 60 minutes.
    clock(address, EPOCH + 30 * MINUTE, SECTION).await;
    let (_, _, series) = query(
        address,
        "t",
        &format!(
            "start={}&end={}&step=1000&tier=raw",
            EPOCH - 50 * MINUTE,
            EPOCH + 30 * MINUTE
        ),
    )
    .await;
    assert!(
        series.iter().all(|s| s.1.is_empty()),
        "nothing older than the raw tier's retention is answered from it {}",
        chapter(SECTION)
    );
    let (_, _, series) = query(
        address,
        "t",
        &format!(
            "start={}&end={}&step=60000&aggregation=count",
            EPOCH - 50 * MINUTE,
            EPOCH + 30 * MINUTE
        ),
    )
    .await;
    let minutes = series.first().map_or(0, |s| s.1.len());
    assert_eq!(
        minutes,
        30,
        "the minute tier keeps an hour: the minutes from now - 60 min, 30 of them with data {}",
        chapter(SECTION)
    );
    let answer = ingest(
        address,
        &format!(
            "{}{}",
            line("t", &[], EPOCH - 40 * MINUTE, 1.0),
            line("t", &[], EPOCH + 30 * MINUTE, 2.0)
        ),
        SECTION,
    )
    .await;
    let rejected: Vec<i64> = answer["rejected"].as_array().map_or_else(Vec::new, |r| {
        r.iter().filter_map(|r| r["line"].as_i64()).collect()
    });
    assert!(
        answer["accepted"] == 1 && rejected == [1],
        "a sample older than every tier keeps is refused (line 1), the next is stored; got {answer} {}",
        chapter(SECTION)
    );
    // Retention bounds the memory: the new sample's buckets pushed out
    // every bucket older than its tier keeps. Raw: its own second only;
    // minute: the 30 minutes still within the hour, and its own.
    let (_, health) = get(address, "/health").await;
    assert!(
        health["buckets"]["raw"] == 1 && health["buckets"]["minute"] == 31,
        "after the new sample, the store holds 1 raw bucket (its second; the rest is older than 10 min) \
         and 31 minute buckets (30 within the hour, and its minute): a bucket past its tier's retention \
         is dropped, not only hidden from queries; /health says {} {}",
        health["buckets"],
        chapter(SECTION)
    );
    server.shutdown().await;
}

// ------------------------------------------------- stage 8: backfill

async fn backfill_hands_over_to_live_without_gap_or_duplicate() {
    const SECTION: &str = "Stage 8: Backfill then live";
    let (mut rng, seed) = Rng::seeded();
    let server = start(|_| {}).await;
    let address = server.local_addr();
    // One sample a second, and one extra sample in the second of `since`,
    // before it.
    let first = EPOCH - 120_000;
    let body: String = (0..60)
        .map(|i| line("b", &[("k", "x")], first + i * 1_000, i as f64))
        .collect();
    ingest(address, &body, SECTION).await;
    // A writer keeps posting the next seconds while clients subscribe.
    let writer = tokio::spawn(async move {
        for i in 60..120 {
            let (status, _) = http(
                address,
                "POST",
                "/api/ingest",
                "application/json",
                &line("b", &[("k", "x")], first + i * 1_000, i as f64),
            )
            .await;
            assert_eq!(status, 200);
            tokio::task::yield_now().await;
        }
    });
    let mut rounds = Vec::new();
    for round in 0..6 {
        let since = first + rng.below(50) as i64 * 1_000 + [0, 1, 500][rng.below(3) as usize];
        let mut client = Client::connect(address).await;
        client
            .subscribe("b", "b", Some(since), all(), SECTION)
            .await;
        rounds.push((round, since, client));
        tokio::task::yield_now().await;
    }
    within(Duration::from_secs(30), "the writer", writer)
        .await
        .expect("the writer posts every sample");
    for (round, since, mut client) in rounds {
        let want: Vec<i64> = (0..120)
            .map(|i| first + i * 1_000)
            .filter(|t| *t >= since)
            .collect();
        let mut received = BTreeMap::new();
        read_until(
            &mut client,
            &mut received,
            SECTION,
            |r: &BTreeMap<String, Received>| {
                r.get("b").is_some_and(|r| {
                    r.points.len() >= want.len()
                        || r.points.last().is_some_and(|p| p.1 >= first + 119_000)
                })
            },
        )
        .await;
        let got = received.remove("b").unwrap_or_default();
        let times: Vec<i64> = got.points.iter().map(|p| p.1).collect();
        assert!(
            times == want,
            "seed {seed}, round {round}: with since = {since}, the samples from since on arrive once each, in order (backfill, then live); expected {} from {:?}, got {} from {:?}, duplicates {:?}, missing {:?} {}",
            want.len(),
            want.first(),
            times.len(),
            times.first(),
            duplicates(&times),
            want.iter()
                .filter(|t| !times.contains(t))
                .take(3)
                .collect::<Vec<_>>(),
            chapter(SECTION)
        );
        assert!(
            !got.backfill_after_live,
            "backfill messages come before any live one {}",
            chapter(SECTION)
        );
    }
    server.shutdown().await;
}

fn duplicates(times: &[i64]) -> Vec<i64> {
    let mut seen = BTreeSet::new();
    times
        .iter()
        .filter(|t| !seen.insert(**t))
        .take(3)
        .copied()
        .collect()
}

// ------------------------------------------------- stage 9: slow consumers

async fn a_slow_consumer_is_bounded_and_slows_nobody() {
    const SECTION: &str = "Stage 9: Slow consumers";
    let hard_cap = 2_000;
    let server = start(|config| config.hub.hard_cap = hard_cap).await;
    let address = server.local_addr();

    // `latest`: one POST of 2 000 samples of 10 series reaches a client as
    // at most one point per series per message, the rest counted dropped.
    let mut gauges = Client::connect(address).await;
    gauges
        .subscribe(
            "g",
            "gauge",
            None,
            Policy {
                mode: Mode::Latest,
                max_hz: None,
            },
            SECTION,
        )
        .await;
    let body: String = (0..2_000)
        .map(|i| {
            line(
                "gauge",
                &[("n", &(i % 10).to_string())],
                EPOCH - 100_000 + i,
                i as f64,
            )
        })
        .collect();
    ingest(address, &body, SECTION).await;
    let mut received = BTreeMap::new();
    read_until(
        &mut gauges,
        &mut received,
        SECTION,
        |r: &BTreeMap<String, Received>| {
            r.get("g")
                .is_some_and(|g| g.points.len() as u64 + g.dropped >= 2_000)
        },
    )
    .await;
    let g = &received["g"];
    assert!(
        g.points.len() as u64 + g.dropped == 2_000
            && g.dropped > 0
            && g.points.len() <= 10 * g.messages,
        "under `latest`, each message holds at most one point per series and `dropped` counts the replaced ones: {} points in {} messages, dropped {} (2 000 sent) {}",
        g.points.len(),
        g.messages,
        g.dropped,
        chapter(SECTION)
    );
    let mut last: BTreeMap<u64, f64> = BTreeMap::new();
    for (series, _, v) in &g.points {
        last.insert(*series, *v);
    }
    assert!(
        last.values().all(|v| *v >= 1_990.0),
        "the latest value of each series arrives, got {last:?} {}",
        chapter(SECTION)
    );

    // `all`: a client that never reads is closed with 1008 once it is
    // `hard_cap` points behind, while a fast client gets every point.
    let (stream, receive_buffer) = checkkit::net::connect_with_small_receive_buffer(address)
        .await
        .expect("connects");
    let (mut slow, _) = within(
        WAIT,
        "the slow client's handshake",
        tokio_tungstenite::client_async(
            format!("ws://{address}/ws"),
            MaybeTlsStream::Plain(stream),
        ),
    )
    .await
    .expect("the handshake succeeds");
    let subscribe = serde_json::to_string(&ClientMessage::Subscribe {
        id: "s".into(),
        selector: Selector::parse("load").expect("a selector"),
        since: None,
        policy: all(),
    })
    .expect("encodes");
    slow.send(Message::Text(subscribe.into()))
        .await
        .expect("sends");
    let mut fast = Client::connect(address).await;
    fast.subscribe("f", "load", None, all(), SECTION).await;
    // Enough points to fill every buffer on the way (each point is at least
    // 20 bytes on the wire), then the cap: the check makes its own
    // back-pressure whatever this machine's buffers are.
    let needed = checkkit::net::messages_to_overflow(receive_buffer, hard_cap as u64, 20) as usize;
    let mut sent = 0;
    let mut t = EPOCH - 3_000_000;
    let mut fast_received = BTreeMap::new();
    while sent < needed {
        let batch: String = (0..2_000).map(|i| line("load", &[], t + i, 1.0)).collect();
        t += 2_000;
        ingest(address, &batch, SECTION).await;
        sent += 2_000;
        read_until(
            &mut fast,
            &mut fast_received,
            SECTION,
            |r: &BTreeMap<String, Received>| r.get("f").is_some_and(|f| f.points.len() >= sent),
        )
        .await;
    }
    let mut slow = Client {
        socket: slow,
        bytes: 0,
        skipped: std::collections::VecDeque::new(),
    };
    // Its buffers were full, so the Close frame may not have got through
    // before the server dropped the connection: either ends it, but it must
    // end, and soon.
    let code = slow.close_code(Duration::from_secs(10)).await;
    assert!(
        code.is_none_or(|code| code == CLOSE_TOO_SLOW),
        "a client that reads nothing while {sent} points are published to it is closed with {CLOSE_TOO_SLOW} once it is {hard_cap} behind (its queue is bounded), got {code:?} {}",
        chapter(SECTION)
    );
    server.shutdown().await;
}

// ------------------------------------------------- stage 10: rate cap

async fn max_hz_caps_each_subscription() {
    const SECTION: &str = "Stage 10: Rate cap";
    let server = start(|_| {}).await;
    let address = server.local_addr();
    let mut client = Client::connect(address).await;
    client
        .subscribe(
            "capped",
            "r",
            None,
            Policy {
                mode: Mode::All,
                max_hz: Some(10.0),
            },
            SECTION,
        )
        .await;
    client
        .subscribe(
            "latest",
            "r",
            None,
            Policy {
                mode: Mode::Latest,
                max_hz: Some(5.0),
            },
            SECTION,
        )
        .await;
    let started = tokio::time::Instant::now();
    let mut posted = 0;
    let reader = async {
        let mut received = BTreeMap::new();
        read_until(
            &mut client,
            &mut received,
            SECTION,
            |r: &BTreeMap<String, Received>| r.get("capped").is_some_and(|c| c.points.len() >= 150),
        )
        .await;
        (received, started.elapsed())
    };
    let writer = async {
        for i in 0..150 {
            ingest(
                address,
                &line("r", &[], EPOCH - 200_000 + i * 1_000, i as f64),
                SECTION,
            )
            .await;
            posted += 1;
            tokio::time::sleep(Duration::from_millis(8)).await;
        }
    };
    let ((received, elapsed), ()) = tokio::join!(reader, writer);
    let capped = &received["capped"];
    let allowed = (elapsed.as_secs_f64() * 10.0).ceil() as usize + 1;
    assert!(
        capped.messages <= allowed,
        "max_hz 10 allows at most {allowed} messages in {elapsed:?}; the subscription got {} for {posted} posts {}",
        capped.messages,
        chapter(SECTION)
    );
    let values: Vec<f64> = capped.points.iter().map(|p| p.2).collect();
    assert_eq!(
        values,
        (0..150).map(f64::from).collect::<Vec<_>>(),
        "under `all`, the points between two messages are batched, none lost {}",
        chapter(SECTION)
    );
    let latest = received.get("latest");
    let messages = latest.map_or(0, |l| l.messages);
    assert!(
        messages <= (elapsed.as_secs_f64() * 5.0).ceil() as usize + 1,
        "max_hz 5 under `latest` allows at most {} messages, got {messages} {}",
        (elapsed.as_secs_f64() * 5.0).ceil() as usize + 1,
        chapter(SECTION)
    );
    server.shutdown().await;
}

// ------------------------------------------------- alerts: plumbing

/// A webhook receiver on 127.0.0.1: its URL and every body posted to it.
async fn webhook() -> (String, mpsc::UnboundedReceiver<Value>) {
    webhook_answering(&[]).await
}

/// A webhook receiver that answers its first requests with `statuses`, in
/// order of arrival, and every later one with 200. Each request's body is
/// sent on, whatever the answer.
async fn webhook_answering(statuses: &[u16]) -> (String, mpsc::UnboundedReceiver<Value>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let url = format!("http://{}/hook", listener.local_addr().expect("an address"));
    let (bodies, received) = mpsc::unbounded_channel();
    let statuses = statuses.to_vec();
    let answered = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let bodies = bodies.clone();
            let statuses = statuses.clone();
            let answered = Arc::clone(&answered);
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0; 8192];
                while let Ok(Ok(read)) = tokio::time::timeout(WAIT, stream.read(&mut buffer)).await
                {
                    if read == 0 {
                        return;
                    }
                    request.extend_from_slice(&buffer[..read]);
                    let text = String::from_utf8_lossy(&request).into_owned();
                    let Some((head, body)) = text.split_once("\r\n\r\n") else {
                        continue;
                    };
                    let length = head
                        .lines()
                        .find_map(|line| {
                            line.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .and_then(|n| n.trim().parse::<usize>().ok())
                        })
                        .unwrap_or(0);
                    if body.len() >= length {
                        let status = statuses
                            .get(answered.fetch_add(1, Ordering::SeqCst))
                            .copied()
                            .unwrap_or(200);
                        let _ = bodies.send(serde_json::from_str(body).unwrap_or(Value::Null));
                        let answer = format!(
                            "HTTP/1.1 {status} Webhook\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        );
                        let _ = stream.write_all(answer.as_bytes()).await;
                        return;
                    }
                }
            });
        }
    });
    (url, received)
}

/// The next notification, within the limit.
async fn notification(notifications: &mut mpsc::UnboundedReceiver<Value>, what: &str) -> Value {
    within(WAIT, what, notifications.recv())
        .await
        .expect("the receiver runs")
}

/// The alerts as `GET /api/alerts` lists them, by `rule/host`.
async fn alerts(address: SocketAddr) -> BTreeMap<String, Value> {
    let (_, body) = get(address, "/api/alerts").await;
    by_alert(body["alerts"].as_array().cloned().unwrap_or_default())
}

/// Alerts by `rule/host`.
fn by_alert(alerts: Vec<Value>) -> BTreeMap<String, Value> {
    alerts
        .into_iter()
        .map(|alert| {
            let host = alert["series"]["labels"]["host"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            (
                format!("{}/{host}", alert["rule"].as_str().unwrap_or_default()),
                alert,
            )
        })
        .collect()
}

async fn state_of(address: SocketAddr, alert: &str) -> String {
    alerts(address)
        .await
        .get(alert)
        .and_then(|a| a["state"].as_str())
        .unwrap_or("inactive")
        .to_owned()
}

/// Replaces the rules file of a running server whole: a new file renamed
/// over the old one, as the chapter asks. A server may read the file at
/// any evaluation, and `std::fs::write` empties the file before it writes.
fn replace_rules(path: &std::path::Path, rules: &str) {
    let new = path.with_extension("toml.new");
    std::fs::write(&new, rules).expect("writes the new rules");
    std::fs::rename(&new, path).expect("renames the new rules over the old");
}

/// A server with `rules` (with `WEBHOOK` replaced by the receiver's URL)
/// and its alert state in `dir`.
async fn start_with_rules(dir: &tempfile::TempDir, rules: &str, url: &str) -> Server {
    let path = dir.path().join("rules.toml");
    std::fs::write(&path, rules.replace("WEBHOOK", url)).expect("writes the rules");
    let state = dir.path().join("alerts.sqlite");
    start(move |config| {
        config.rules = Some(path);
        config.state = Some(state);
    })
    .await
}

/// Moves the clock to `now`, posts `value` for each host at `now`, and
/// has the alerts evaluated.
async fn step(address: SocketAddr, name: &str, hosts: &[(&str, f64)], now: i64, section: &str) {
    // The clock first (a sample may be at most a minute ahead of it), the
    // samples, then an evaluation at that time.
    clock(address, now, section).await;
    let body: String = hosts
        .iter()
        .map(|(host, value)| line(name, &[("host", host)], now, *value))
        .collect();
    if !body.is_empty() {
        ingest(address, &body, section).await;
    }
    clock(address, now, section).await;
}

/// The `rule/host` names and the status of a notification.
fn summary(notification: &Value) -> (String, Vec<String>) {
    let status = notification["status"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut alerts: Vec<String> = notification["alerts"]
        .as_array()
        .map(|alerts| {
            alerts
                .iter()
                .map(|a| {
                    format!(
                        "{}/{}",
                        a["rule"].as_str().unwrap_or_default(),
                        a["series"]["labels"]["host"].as_str().unwrap_or_default()
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    alerts.sort();
    (status, alerts)
}

// ------------------------------------------------- stage 11: lifecycle

/// The next `alerts` message a client watching the alerts gets, by
/// `rule/host`.
async fn watched(page: &mut Client, what: &str) -> BTreeMap<String, Value> {
    let list = match within(
        WAIT,
        what,
        page.until(|m| matches!(m, ServerMessage::Alerts { .. })),
    )
    .await
    {
        ServerMessage::Alerts { alerts } => alerts,
        _ => Vec::new(),
    };
    by_alert(list)
}

/// After an evaluation that changed nothing: the page is sent no `alerts`.
/// An unknown subscription is unsubscribed and its `error` awaited, so an
/// `alerts` sent by then is seen now (or, sent with the error, read by the
/// next [`watched`] in place of the change it waits for).
async fn no_alerts_sent(page: &mut Client, section: &str) {
    page.send(&ClientMessage::Unsubscribe {
        id: "probe".to_owned(),
    })
    .await;
    loop {
        match page.read().await {
            ServerMessage::Error { .. } => return,
            ServerMessage::Alerts { alerts } => {
                let states: Vec<String> = alerts
                    .iter()
                    .map(|a| {
                        format!(
                            "{}/{} {}",
                            a["rule"].as_str().unwrap_or_default(),
                            a["series"]["labels"]["host"].as_str().unwrap_or_default(),
                            a["state"].as_str().unwrap_or_default()
                        )
                    })
                    .collect();
                panic!(
                    "an evaluation that changed no alert sent `alerts` to the page watching \
                     them ({states:?}); they go out when they change {}",
                    chapter(section)
                )
            }
            _ => {}
        }
    }
}

const LIFECYCLE: &str = r#"
[[rule]]
name = "HighLoad"
selector = "load"
op = ">"
threshold = 90
for = "5m"
"#;

async fn an_alert_goes_pending_firing_resolved_on_the_test_clock() {
    const SECTION: &str = "Stage 11: The alert lifecycle";
    let dir = tempfile::tempdir().expect("a directory");
    let server = start_with_rules(&dir, LIFECYCLE, "").await;
    let address = server.local_addr();
    // h1 goes above 90 and stays; h2 goes above for 2 minutes only.
    let mut now = EPOCH;
    while now < EPOCH + 5 * MINUTE {
        let h2 = if now < EPOCH + 2 * MINUTE { 95.0 } else { 10.0 };
        step(address, "load", &[("h1", 95.0), ("h2", h2)], now, SECTION).await;
        let (h1_state, h2_state) = (
            state_of(address, "HighLoad/h1").await,
            state_of(address, "HighLoad/h2").await,
        );
        assert_eq!(
            h1_state,
            "pending",
            "at +{} s with load 95 > 90 for less than `for` (5m), the alert is pending (the clock is the test clock, not the wall clock) {}",
            (now - EPOCH) / 1_000,
            chapter(SECTION)
        );
        let h2_want = if now < EPOCH + 2 * MINUTE {
            "pending"
        } else {
            "inactive"
        };
        assert_eq!(
            h2_state,
            h2_want,
            "at +{} s, h2 (above for 2 minutes, then below) is {h2_want} {}",
            (now - EPOCH) / 1_000,
            chapter(SECTION)
        );
        now += 30_000;
    }
    step(
        address,
        "load",
        &[("h1", 95.0)],
        EPOCH + 5 * MINUTE - 1,
        SECTION,
    )
    .await;
    assert_eq!(
        state_of(address, "HighLoad/h1").await,
        "pending",
        "1 ms before `for` has passed, still pending {}",
        chapter(SECTION)
    );
    clock(address, EPOCH + 5 * MINUTE, SECTION).await;
    let firing = alerts(address)
        .await
        .remove("HighLoad/h1")
        .unwrap_or_default();
    assert!(
        firing["state"] == "firing"
            && firing["active_at"] == EPOCH
            && firing["fired_at"] == EPOCH + 5 * MINUTE,
        "exactly 5 minutes after it became pending (active_at {EPOCH}), the alert fires (fired_at {}); got {firing} {}",
        EPOCH + 5 * MINUTE,
        chapter(SECTION)
    );
    step(
        address,
        "load",
        &[("h1", 40.0)],
        EPOCH + 6 * MINUTE,
        SECTION,
    )
    .await;
    assert_eq!(
        state_of(address, "HighLoad/h1").await,
        "resolved",
        "when the load drops below the threshold, the alert resolves {}",
        chapter(SECTION)
    );
    let (_, history) = get(address, "/api/alerts/history?limit=100").await;
    let moves: Vec<(String, String, i64)> = history["history"]
        .as_array()
        .map(|h| {
            h.iter()
                .filter(|t| t["series"]["labels"]["host"] == "h1")
                .map(|t| {
                    (
                        t["from"].as_str().unwrap_or_default().to_owned(),
                        t["to"].as_str().unwrap_or_default().to_owned(),
                        t["at"].as_i64().unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let want = vec![
        ("inactive".to_owned(), "pending".to_owned(), EPOCH),
        (
            "pending".to_owned(),
            "firing".to_owned(),
            EPOCH + 5 * MINUTE,
        ),
        (
            "firing".to_owned(),
            "resolved".to_owned(),
            EPOCH + 6 * MINUTE,
        ),
    ];
    assert_eq!(
        moves,
        want,
        "the history records each move of h1's alert with its time (\"why did this fire\") {}",
        chapter(SECTION)
    );

    // The rules file is reloaded when it changes. A bad file is refused and
    // the old rules stay: h1, above again, goes pending and fires.
    let path = dir.path().join("rules.toml");
    replace_rules(&path, "[[rule]]\nname = \"HighLoad\"\nop = \"~\"\n");
    step(
        address,
        "load",
        &[("h1", 95.0)],
        EPOCH + 7 * MINUTE,
        SECTION,
    )
    .await;
    step(
        address,
        "load",
        &[("h1", 95.0)],
        EPOCH + 12 * MINUTE,
        SECTION,
    )
    .await;
    assert_eq!(
        state_of(address, "HighLoad/h1").await,
        "firing",
        "a rules file that does not parse is refused and the old rules stay: h1 fires again {}",
        chapter(SECTION)
    );
    // A valid file without the rule: its firing alert resolves, and says why.
    replace_rules(
        &path,
        "[[rule]]\nname = \"Other\"\nselector = \"other\"\nop = \">\"\nthreshold = 1\n",
    );
    clock(address, EPOCH + 13 * MINUTE, SECTION).await;
    let (_, history) = get(address, "/api/alerts/history?limit=100").await;
    let last = history["history"]
        .as_array()
        .and_then(|h| h.iter().rfind(|t| t["series"]["labels"]["host"] == "h1"))
        .cloned()
        .unwrap_or_default();
    assert!(
        state_of(address, "HighLoad/h1").await == "resolved"
            && last["from"] == "firing"
            && last["to"] == "resolved"
            && last["at"] == EPOCH + 13 * MINUTE
            && last["reason"]
                .as_str()
                .is_some_and(|r| r.contains("rule removed")),
        "once the reloaded file has no HighLoad, its firing alert resolves at the next \
         evaluation with the reason \"rule removed\"; the last move of h1: {last} {}",
        chapter(SECTION)
    );
    // A page watching the alerts (`watch_alerts`) gets them at once, then
    // only when they change.
    let mut page = Client::connect(address).await;
    page.send(&ClientMessage::WatchAlerts).await;
    let first = watched(&mut page, "`alerts`, the answer to `watch_alerts`").await;
    assert_eq!(
        first.get("HighLoad/h1").map(|a| a["state"].clone()),
        Some(Value::from("resolved")),
        "`watch_alerts` is answered at once with the alerts, h1 resolved among them {}",
        chapter(SECTION)
    );
    clock(address, EPOCH + 14 * MINUTE, SECTION).await;
    assert_eq!(
        state_of(address, "HighLoad/h1").await,
        "resolved",
        "a resolved alert stays on view for 15 minutes, its rule removed or not {}",
        chapter(SECTION)
    );
    // Nothing changed at +14 min: no `alerts`. The next is Other's firing.
    no_alerts_sent(&mut page, SECTION).await;
    ingest(
        address,
        &line("other", &[("host", "o")], EPOCH + 14 * MINUTE, 5.0),
        SECTION,
    )
    .await;
    clock(address, EPOCH + 14 * MINUTE + 1_000, SECTION).await;
    let next = watched(&mut page, "`alerts` after Other/o fired").await;
    assert_eq!(
        next.get("Other/o").map(|a| a["state"].clone()),
        Some(Value::from("firing")),
        "after an evaluation that changed nothing, no `alerts` is sent: the next one shows \
         Other/o firing (its rule has no `for`); got {next:?} {}",
        chapter(SECTION)
    );
    // Other/o is judged again and nothing changes: no `alerts`.
    clock(address, EPOCH + 14 * MINUTE + 2_000, SECTION).await;
    no_alerts_sent(&mut page, SECTION).await;
    // A reload that gives the rule labels, then one that gives it a summary,
    // changes its alert with no move: the page is told each time (h1,
    // resolved, is judged in the same evaluations).
    let other = "[[rule]]\nname = \"Other\"\nselector = \"other\"\nop = \">\"\nthreshold = 1\n\
                 labels = { severity = \"page\" }\n";
    for (rules, now, what) in [
        (other.to_owned(), EPOCH + 15 * MINUTE, "labels"),
        (
            format!("{other}summary = \"other is up\"\n"),
            EPOCH + 15 * MINUTE + 1_000,
            "summary",
        ),
    ] {
        replace_rules(&path, &rules);
        clock(address, now, SECTION).await;
        let next = watched(
            &mut page,
            &format!("`alerts` after a reload that changed the rule's {what}"),
        )
        .await;
        let other = next.get("Other/o").cloned().unwrap_or_default();
        let want = if what == "labels" {
            other["labels"]["severity"] == "page" && other["summary"].is_null()
        } else {
            other["labels"]["severity"] == "page" && other["summary"] == "other is up"
        };
        assert!(
            other["state"] == "firing" && want,
            "a reload that changes a rule's {what} changes its alerts at the next evaluation \
             (labels: the series', the rule's and alertname), and the page watching the alerts \
             is sent them; got {other} {}",
            chapter(SECTION)
        );
    }
    // Other/o's last sample is 6 minutes old at +20 min: stale, it resolves.
    clock(address, EPOCH + 20 * MINUTE, SECTION).await;
    let next = watched(&mut page, "`alerts` after Other/o's sample went stale").await;
    assert_eq!(
        next.get("Other/o").map(|a| a["state"].clone()),
        Some(Value::from("resolved")),
        "Other/o's last sample is more than 5 minutes old: stale, the alert resolves {}",
        chapter(SECTION)
    );
    // h1 resolved at +13 min: at +28 min it leaves the view, and the page
    // is told.
    clock(address, EPOCH + 28 * MINUTE, SECTION).await;
    let next = watched(
        &mut page,
        "`alerts` once h1 had been resolved for 15 minutes",
    )
    .await;
    assert!(
        !next.contains_key("HighLoad/h1") && next.contains_key("Other/o"),
        "a resolved alert is forgotten 15 minutes after it resolved (h1 at +28 min, its rule \
         removed or not), and the page watching the alerts is sent them without it; got {:?} {}",
        next.keys().collect::<Vec<_>>(),
        chapter(SECTION)
    );
    server.shutdown().await;

    // One smoke check on the wall clock: the same engine, a `for` of 1 s,
    // evaluated every 100 ms, fires within a few real seconds.
    let dir = tempfile::tempdir().expect("a directory");
    let rules = dir.path().join("rules.toml");
    let text = "[notify]\nevaluation_interval = \"100ms\"\n\n[[rule]]\nname = \"Live\"\nselector = \"live\"\nop = \">\"\nthreshold = 1\nfor = \"1s\"\n";
    std::fs::write(&rules, text).expect("writes the rules");
    let config = Config {
        rules: Some(rules),
        ..Config::default()
    };
    let live = within(
        WAIT,
        "the server on the system clock",
        Server::start("127.0.0.1:0".parse().expect("an address"), config),
    )
    .await
    .expect("the server starts with the system clock");
    let address = live.local_addr();
    let started = std::time::Instant::now();
    let state = within(
        Duration::from_secs(10),
        "the alert to fire on the wall clock",
        async {
            loop {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as i64);
                ingest(address, &line("live", &[("host", "x")], now, 5.0), SECTION).await;
                let state = state_of(address, "Live/x").await;
                if state == "firing" {
                    break state;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        },
    )
    .await;
    assert!(
        state == "firing" && started.elapsed() >= Duration::from_millis(900),
        "on the system clock, a rule with for = 1s fires after about a second, here after {:?} {}",
        started.elapsed(),
        chapter(SECTION)
    );
    live.shutdown().await;
}

// ------------------------------------------------- stage 12: anti-flap

const FLAPPING: &str = r#"
[[rule]]
name = "Flappy"
selector = "flap"
op = ">"
threshold = 90
for = "1m"
keep_firing_for = "2m"

[[rule]]
name = "Hovering"
selector = "hover"
op = ">"
threshold = 90
clear = 80
"#;

async fn a_flapping_value_fires_once() {
    const SECTION: &str = "Stage 12: Anti-flap";
    let dir = tempfile::tempdir().expect("a directory");
    let server = start_with_rules(&dir, FLAPPING, "").await;
    let address = server.local_addr();
    step(address, "flap", &[("a", 95.0)], EPOCH, SECTION).await;
    step(address, "flap", &[("a", 95.0)], EPOCH + MINUTE, SECTION).await;
    assert_eq!(
        state_of(address, "Flappy/a").await,
        "firing",
        "above the threshold for `for` (1m): firing {}",
        chapter(SECTION)
    );
    // Ten minutes of a value that crosses the threshold every 30 seconds.
    let mut now = EPOCH + MINUTE;
    for i in 0..20 {
        now += 30_000;
        let value = if i % 2 == 0 { 50.0 } else { 95.0 };
        step(address, "flap", &[("a", value)], now, SECTION).await;
        assert_eq!(
            state_of(address, "Flappy/a").await,
            "firing",
            "a value below the threshold for 30 s, less than keep_firing_for (2m), does not resolve the alert (at +{} s) {}",
            (now - EPOCH) / 1_000,
            chapter(SECTION)
        );
    }
    // Below for 2 minutes: resolved, exactly then.
    step(address, "flap", &[("a", 50.0)], now + 30_000, SECTION).await;
    step(
        address,
        "flap",
        &[("a", 50.0)],
        now + 30_000 + 2 * MINUTE - 1,
        SECTION,
    )
    .await;
    assert_eq!(
        state_of(address, "Flappy/a").await,
        "firing",
        "1 ms before keep_firing_for has passed, still firing {}",
        chapter(SECTION)
    );
    step(
        address,
        "flap",
        &[("a", 50.0)],
        now + 30_000 + 2 * MINUTE,
        SECTION,
    )
    .await;
    assert_eq!(
        state_of(address, "Flappy/a").await,
        "resolved",
        "below the threshold for keep_firing_for (2m): resolved {}",
        chapter(SECTION)
    );
    let (_, history) = get(address, "/api/alerts/history?limit=1000").await;
    let fired = history["history"].as_array().map_or(0, |h| {
        h.iter()
            .filter(|t| t["rule"] == "Flappy" && t["to"] == "firing")
            .count()
    });
    assert_eq!(
        fired,
        1,
        "the flapping value made the alert fire once {}",
        chapter(SECTION)
    );

    // Hysteresis: fires above 90, resolves only at or below 80.
    let base = now + 10 * MINUTE;
    step(address, "hover", &[("b", 91.0)], base, SECTION).await;
    assert_eq!(
        state_of(address, "Hovering/b").await,
        "firing",
        "above 90 with `for` 0: firing at once {}",
        chapter(SECTION)
    );
    for (i, value) in [85.0, 89.0, 81.0, 92.0, 80.5].into_iter().enumerate() {
        step(
            address,
            "hover",
            &[("b", value)],
            base + (i as i64 + 1) * 10_000,
            SECTION,
        )
        .await;
        assert_eq!(
            state_of(address, "Hovering/b").await,
            "firing",
            "with clear = 80, a firing alert at {value} (below 90, above 80) stays firing {}",
            chapter(SECTION)
        );
    }
    step(address, "hover", &[("b", 80.0)], base + MINUTE, SECTION).await;
    assert_eq!(
        state_of(address, "Hovering/b").await,
        "resolved",
        "at 80 (crossed `clear`) the alert resolves {}",
        chapter(SECTION)
    );
    server.shutdown().await;
}

// ------------------------------------------------- stage 13: grouping, repeat

const GROUPED: &str = r#"
[notify]
webhook = "WEBHOOK"
group_by = ["alertname", "region"]
repeat_interval = "10m"

[[rule]]
name = "Disk"
selector = "disk"
op = ">="
threshold = 90

[[rule]]
name = "Marker"
selector = "marker"
op = ">"
threshold = 0
"#;

/// Fires the Marker rule for a new host at `now` and returns the next
/// notification that is not the marker's resolve: notifications go out in
/// order, so anything sent before the marker shows up first.
async fn next_besides_marker(
    address: SocketAddr,
    notifications: &mut mpsc::UnboundedReceiver<Value>,
    marker: &str,
    now: i64,
    section: &str,
) -> (String, Vec<String>) {
    let body = line("marker", &[("host", marker), ("region", "m")], now, 1.0);
    ingest(address, &body, section).await;
    clock(address, now, section).await;
    loop {
        let next = summary(&notification(notifications, "a notification").await);
        if next.1.iter().all(|a| a.starts_with("Marker/")) && next.0 == "resolved" {
            continue;
        }
        return next;
    }
}

/// Moves the clock to `now`, posts each `(host, region, value)` of `disk`
/// at `now`, and has the alerts evaluated.
async fn disks(address: SocketAddr, disks: &[(&str, &str, f64)], now: i64, section: &str) {
    clock(address, now, section).await;
    let body: String = disks
        .iter()
        .map(|(host, region, value)| {
            line("disk", &[("host", host), ("region", region)], now, *value)
        })
        .collect();
    ingest(address, &body, section).await;
    clock(address, now, section).await;
}

async fn notifications_are_grouped_and_repeated() {
    const SECTION: &str = "Stage 13: Grouping and repeat";
    let dir = tempfile::tempdir().expect("a directory");
    let (url, mut notifications) = webhook().await;
    let server = start_with_rules(&dir, GROUPED, &url).await;
    let address = server.local_addr();
    let body: String = [("a", "eu"), ("b", "eu"), ("c", "us")]
        .iter()
        .map(|(host, region)| line("disk", &[("host", host), ("region", region)], EPOCH, 95.0))
        .collect();
    ingest(address, &body, SECTION).await;
    clock(address, EPOCH, SECTION).await;
    let mut groups = vec![
        summary(&notification(&mut notifications, "the first group's notification").await),
        summary(&notification(&mut notifications, "the second group's notification").await),
    ];
    groups.sort();
    let want = vec![
        (
            "firing".to_owned(),
            vec!["Disk/a".to_owned(), "Disk/b".to_owned()],
        ),
        ("firing".to_owned(), vec!["Disk/c".to_owned()]),
    ];
    assert_eq!(
        groups,
        want,
        "grouped by alertname and region: one notification for eu's two alerts, one for us's {}",
        chapter(SECTION)
    );
    let marker =
        next_besides_marker(address, &mut notifications, "m1", EPOCH + 1_000, SECTION).await;
    assert_eq!(
        marker,
        ("firing".to_owned(), vec!["Marker/m1".to_owned()]),
        "nothing else is sent while nothing changes {}",
        chapter(SECTION)
    );
    // Keep the disks above 90 until just before the repeat interval.
    for minute in 1..10 {
        disks(
            address,
            &[("a", "eu", 95.0), ("b", "eu", 95.0), ("c", "us", 95.0)],
            EPOCH + minute * MINUTE,
            SECTION,
        )
        .await;
    }
    let marker = next_besides_marker(
        address,
        &mut notifications,
        "m2",
        EPOCH + 10 * MINUTE - 1_000,
        SECTION,
    )
    .await;
    assert_eq!(
        marker.1,
        vec!["Marker/m2".to_owned()],
        "no repeat before repeat_interval (10m) {}",
        chapter(SECTION)
    );
    clock(address, EPOCH + 10 * MINUTE, SECTION).await;
    let mut repeated = BTreeSet::new();
    while repeated.len() < 2 {
        let next =
            summary(&notification(&mut notifications, "the repeats at repeat_interval").await);
        if next.1.iter().any(|a| a.starts_with("Disk/")) {
            assert_eq!(
                next.0,
                "firing",
                "a repeat says the group is still firing {}",
                chapter(SECTION)
            );
            repeated.insert(next.1);
        }
    }
    // One alert of eu resolves: eu is told, still firing (b), us is not.
    disks(
        address,
        &[("a", "eu", 10.0), ("b", "eu", 95.0), ("c", "us", 95.0)],
        EPOCH + 11 * MINUTE,
        SECTION,
    )
    .await;
    let next = loop {
        let next = notification(&mut notifications, "the notification of a resolve").await;
        if summary(&next).1.iter().any(|a| a.starts_with("Disk/")) {
            break next;
        }
    };
    let states: BTreeMap<String, String> = next["alerts"]
        .as_array()
        .map(|alerts| {
            alerts
                .iter()
                .map(|a| {
                    (
                        a["series"]["labels"]["host"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        a["state"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert!(
        next["group"]["region"] == "eu"
            && next["status"] == "firing"
            && states.get("a").map(String::as_str) == Some("resolved")
            && states.get("b").map(String::as_str) == Some("firing"),
        "when a resolves, eu's group is notified with a resolved and b still firing; got {next} {}",
        chapter(SECTION)
    );
    server.shutdown().await;

    // Delivery: a receiver's 503 is retried (after 1 s), its 400 is not.
    let dir = tempfile::tempdir().expect("a directory");
    let (url, mut requests) = webhook_answering(&[503, 400]).await;
    let server = start_with_rules(&dir, GROUPED, &url).await;
    let address = server.local_addr();
    let first = next_besides_marker(address, &mut requests, "m1", EPOCH, SECTION).await;
    let again = summary(
        &notification(
            &mut requests,
            "the notification sent again after the receiver answered 503",
        )
        .await,
    );
    assert_eq!(
        again,
        first,
        "the receiver answered 503 (it may work later): the same notification is retried, \
         before anything else {}",
        chapter(SECTION)
    );
    let next = next_besides_marker(address, &mut requests, "m2", EPOCH + 1_000, SECTION).await;
    assert_eq!(
        next,
        (
            "firing".to_owned(),
            vec!["Marker/m1".to_owned(), "Marker/m2".to_owned()]
        ),
        "the receiver answered the retry with 400 (it refuses that body, and would again): \
         it is not retried, so the next request is m2's notification {}",
        chapter(SECTION)
    );
    server.shutdown().await;
}

// ------------------------------------------------- stage 14: silences

/// `POST /api/silences` with `silence`: the status and the answer.
async fn post_silence(address: SocketAddr, silence: Value) -> (u16, Value) {
    http(
        address,
        "POST",
        "/api/silences",
        "application/json",
        &silence.to_string(),
    )
    .await
}

async fn silences_hide_notifications_until_they_expire() {
    const SECTION: &str = "Stage 14: Silences";
    let dir = tempfile::tempdir().expect("a directory");
    let (url, mut notifications) = webhook().await;
    let server = start_with_rules(
        &dir,
        &GROUPED.replace("repeat_interval = \"10m\"", "repeat_interval = \"1h\""),
        &url,
    )
    .await;
    let address = server.local_addr();
    let (status, answer) = post_silence(
        address,
        json!({
            "matchers": r#"{alertname="Disk",region="eu"}"#,
            "starts": EPOCH,
            "ends": EPOCH + 30 * MINUTE,
            "comment": "maintenance",
        }),
    )
    .await;
    assert_eq!(
        status,
        200,
        "POST /api/silences answers the new silence's id, got {status} {answer} {}",
        chapter(SECTION)
    );
    let bad = json!({"matchers": r#"{alertname="Disk"}"#, "starts": EPOCH, "ends": EPOCH - 1});
    let (status, _) = post_silence(address, bad).await;
    assert_eq!(
        status,
        400,
        "a silence that ends before it starts is refused {}",
        chapter(SECTION)
    );
    // A comment of at most 1 000 bytes (these silences match no alert).
    for (length, want) in [(1_000, 200), (1_001, 400)] {
        let silence = json!({
            "matchers": r#"{alertname="None"}"#,
            "starts": EPOCH,
            "ends": EPOCH + MINUTE,
            "comment": "x".repeat(length),
        });
        let (status, answer) = post_silence(address, silence).await;
        assert_eq!(
            status,
            want,
            "a silence's comment may be up to 1 000 bytes: one of {length} answers {want}, got \
             {status} {answer} {}",
            chapter(SECTION)
        );
    }

    disks(
        address,
        &[("a", "eu", 95.0), ("c", "us", 95.0)],
        EPOCH + 1_000,
        SECTION,
    )
    .await;
    let first = summary(&notification(&mut notifications, "us's notification").await);
    assert_eq!(
        first,
        ("firing".to_owned(), vec!["Disk/c".to_owned()]),
        "the unsilenced group (us) is notified, the silenced one (eu) is not {}",
        chapter(SECTION)
    );
    let listed = alerts(address).await;
    assert!(
        listed
            .get("Disk/a")
            .is_some_and(|a| a["state"] == "firing" && a["silenced"] == true),
        "a silenced alert keeps its state and shows silenced: true; got {:?} {}",
        listed.get("Disk/a"),
        chapter(SECTION)
    );
    let marker =
        next_besides_marker(address, &mut notifications, "m1", EPOCH + 2_000, SECTION).await;
    assert_eq!(
        marker.1,
        vec!["Marker/m1".to_owned()],
        "nothing is sent for the silenced group {}",
        chapter(SECTION)
    );
    // The silence ends at +30 min: the group that was never told is told.
    for minute in (4..30).step_by(4) {
        disks(
            address,
            &[("a", "eu", 95.0), ("c", "us", 95.0)],
            EPOCH + minute * MINUTE,
            SECTION,
        )
        .await;
    }
    disks(
        address,
        &[("a", "eu", 95.0), ("c", "us", 95.0)],
        EPOCH + 30 * MINUTE - 1,
        SECTION,
    )
    .await;
    let marker = next_besides_marker(
        address,
        &mut notifications,
        "m2",
        EPOCH + 30 * MINUTE - 1,
        SECTION,
    )
    .await;
    assert_eq!(
        marker.1,
        vec!["Marker/m2".to_owned()],
        "the silence holds until its end {}",
        chapter(SECTION)
    );
    clock(address, EPOCH + 30 * MINUTE, SECTION).await;
    let told = loop {
        let next = summary(
            &notification(
                &mut notifications,
                "eu's notification once the silence ended",
            )
            .await,
        );
        if next.1.iter().any(|a| a == "Disk/a") {
            break next;
        }
    };
    assert_eq!(
        told.0,
        "firing",
        "when the silence expires, the still-firing group is notified {}",
        chapter(SECTION)
    );
    // A silence can be ended early, once: DELETE answers 200, then 404.
    let silence = json!({
        "matchers": r#"{alertname="Disk",region="us"}"#,
        "duration_ms": 10 * MINUTE,
    });
    let (_, answer) = post_silence(address, silence).await;
    let id = answer["id"].as_u64().unwrap_or_default();
    let path = format!("/api/silences/{id}");
    let (first, answer) = http(address, "DELETE", &path, "application/json", "").await;
    let (again, _) = http(address, "DELETE", &path, "application/json", "").await;
    assert!(
        first == 200 && answer["expired"] == id && again == 404,
        "DELETE {path} ends the silence at once (200 {{\"expired\": {id}}}), and a second DELETE \
         finds nothing left to end (404); got {first} {answer}, then {again} {}",
        chapter(SECTION)
    );
    server.shutdown().await;
}

// ------------------------------------------------- stage 15: restart

const RESTART: &str = r#"
[notify]
webhook = "WEBHOOK"
repeat_interval = "1h"

[[rule]]
name = "Hot"
selector = 'temp{host=~"hot|warm"}'
op = ">"
threshold = 50
for = "5m"

[[rule]]
name = "Cooling"
selector = 'temp{host="cool"}'
op = ">"
threshold = 50
for = "1m"
keep_firing_for = "10m"
"#;

/// The learner's `dashboard-server` with a test clock at `now`; its
/// address.
fn spawn(dir: &std::path::Path, now: i64) -> (Child, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dashboard-server"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--no-host",
            "--test-clock",
            &now.to_string(),
        ])
        .arg("--rules")
        .arg(dir.join("rules.toml"))
        .arg("--state")
        .arg(dir.join("alerts.sqlite"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the dashboard-server binary starts");
    let stdout = child.stdout.take().expect("its output");
    let mut line = String::new();
    // Bounded: the binary prints this line first, or exits (EOF).
    let _ = BufReader::new(stdout).read_line(&mut line);
    let address = line
        .trim()
        .strip_prefix("listening on http://")
        .and_then(|address| address.parse().ok())
        .unwrap_or_else(|| {
            let _ = child.kill();
            panic!(
                "dashboard-server prints `listening on http://ADDRESS` first, got {line:?} {}",
                chapter("Stage 15: Restart while firing")
            )
        });
    (child, address)
}

/// Kills the child on drop, so a failed check leaves no process behind.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The next notification about the `Hot` rule (the `Cooling` rule's are
/// skipped), summarised.
async fn hot_notification(
    notifications: &mut mpsc::UnboundedReceiver<Value>,
    what: &str,
) -> (String, Vec<String>) {
    loop {
        let next = summary(&notification(notifications, what).await);
        if next.1.iter().any(|alert| alert.starts_with("Hot/")) {
            return next;
        }
    }
}

/// Stage 15's values from +5 min 30 s on: hot and warm above the
/// threshold, cool below it.
async fn cooled(address: SocketAddr, now: i64) {
    step(
        address,
        "temp",
        &[("hot", 70.0), ("warm", 60.0), ("cool", 10.0)],
        now,
        "Stage 15: Restart while firing",
    )
    .await;
}

async fn a_firing_alert_survives_kill_9() {
    const SECTION: &str = "Stage 15: Restart while firing";
    let dir = tempfile::tempdir().expect("a directory");
    let (url, mut notifications) = webhook().await;
    std::fs::write(
        dir.path().join("rules.toml"),
        RESTART.replace("WEBHOOK", &url),
    )
    .expect("writes the rules");
    let (child, address) = spawn(dir.path(), EPOCH);
    let server = Process(child);
    // "hot" fires at +5 min; "warm" is 3 minutes into its `for` at the kill;
    // "cool" fires at +1 min, and its value drops at +5 min 30 s, after
    // the last transition: its `keep_firing_for` countdown starts then,
    // with no transition to save it along.
    for i in 0..=10 {
        let now = EPOCH + i * 30_000;
        let warm = if now >= EPOCH + 2 * MINUTE {
            60.0
        } else {
            10.0
        };
        step(
            address,
            "temp",
            &[("hot", 70.0), ("warm", warm), ("cool", 70.0)],
            now,
            SECTION,
        )
        .await;
    }
    cooled(address, EPOCH + 5 * MINUTE + 30_000).await;
    assert_eq!(
        state_of(address, "Cooling/cool").await,
        "firing",
        "below the threshold, but within its keep_firing_for: still firing {}",
        chapter(SECTION)
    );
    assert_eq!(
        state_of(address, "Hot/hot").await,
        "firing",
        "above 50 for 5 minutes: firing {}",
        chapter(SECTION)
    );
    let first = hot_notification(&mut notifications, "the firing notification").await;
    assert_eq!(
        first.0,
        "firing",
        "the firing alert is notified {}",
        chapter(SECTION)
    );
    drop(server); // SIGKILL: no shutdown, nothing flushed by the server.

    let (child, address) = spawn(dir.path(), EPOCH + 5 * MINUTE + 31_000);
    let server = Process(child);
    let (_, history) = get(address, "/api/alerts/history?limit=100").await;
    let fired = history["history"].as_array().is_some_and(|h| {
        h.iter().any(|t| {
            t["rule"] == "Hot"
                && t["series"]["labels"]["host"] == "hot"
                && t["to"] == "firing"
                && t["at"] == EPOCH + 5 * MINUTE
        })
    });
    assert!(
        fired,
        "the history survives kill -9 too: hot's move to firing at +5 min is still listed {}",
        chapter(SECTION)
    );
    let listed = alerts(address).await;
    assert_eq!(
        listed.get("Hot/hot").and_then(|a| a["state"].as_str()),
        Some("firing"),
        "after kill -9 and a restart, the firing alert is still firing, not pending; got {:?} {}",
        listed.get("Hot/hot"),
        chapter(SECTION)
    );
    cooled(address, EPOCH + 5 * MINUTE + 31_000).await;
    assert_eq!(
        state_of(address, "Hot/hot").await,
        "firing",
        "still firing while the condition holds {}",
        chapter(SECTION)
    );
    // warm became pending at +2 min: it fires at +7 min, not 5 minutes
    // after the restart.
    cooled(address, EPOCH + 7 * MINUTE - 1).await;
    assert_eq!(
        state_of(address, "Hot/warm").await,
        "pending",
        "1 ms before its `for` ends, warm is pending {}",
        chapter(SECTION)
    );
    cooled(address, EPOCH + 7 * MINUTE).await;
    assert_eq!(
        state_of(address, "Hot/warm").await,
        "firing",
        "a pending alert keeps its start across the restart: warm fires 5 minutes after it became pending {}",
        chapter(SECTION)
    );
    let next = hot_notification(&mut notifications, "warm's firing notification").await;
    assert_eq!(
        next.1,
        vec!["Hot/hot".to_owned(), "Hot/warm".to_owned()],
        "the next notification is warm's (its group lists both); the restart did not notify hot again {}",
        chapter(SECTION)
    );
    // cool's countdown started at +5 min 30 s, before the kill: it resolves
    // 10 minutes after that, not 10 minutes after the restart.
    for (now, want) in [
        (EPOCH + 15 * MINUTE + 30_000 - 1, "firing"),
        (EPOCH + 15 * MINUTE + 30_000, "resolved"),
    ] {
        cooled(address, now).await;
        assert_eq!(
            state_of(address, "Cooling/cool").await,
            want,
            "cool stopped holding at +5 min 30 s, before the kill, and keep_firing_for is 10 min: \
             at +{} ms it is {want}; a countdown that started without a transition must be saved \
             too {}",
            now - EPOCH,
            chapter(SECTION)
        );
    }
    // cool fires again, stops holding at `stops` (a countdown starts), holds
    // again 30 s later (the countdown stops: no move, and that must be saved
    // too), and the server is killed. After the restart cool stops holding
    // at `again`: its countdown starts there, not at `stops`.
    let fires = EPOCH + 16 * MINUTE;
    let stops = fires + MINUTE + 1_000;
    let holds = stops + 30_000;
    for (now, value) in [
        (fires, 70.0),
        (fires + MINUTE, 70.0),
        (stops, 10.0),
        (holds, 70.0),
    ] {
        step(address, "temp", &[("cool", value)], now, SECTION).await;
    }
    assert_eq!(
        state_of(address, "Cooling/cool").await,
        "firing",
        "cool is above 50 again for its `for` (1 min), then below for 30 s (less than its \
         keep_firing_for), then above: firing {}",
        chapter(SECTION)
    );
    drop(server); // SIGKILL again.

    let (child, address) = spawn(dir.path(), holds + 1_000);
    let _server = Process(child);
    let again = holds + 30_000;
    step(address, "temp", &[("cool", 10.0)], again, SECTION).await;
    clock(address, stops + 10 * MINUTE, SECTION).await;
    assert_eq!(
        state_of(address, "Cooling/cool").await,
        "firing",
        "cool's countdown that started at +{} ms stopped 30 s later when it held again, before \
         the kill; after the restart it stopped holding at +{} ms, so it fires until 10 minutes \
         after that. A countdown that stops must be saved too {}",
        stops - EPOCH,
        again - EPOCH,
        chapter(SECTION)
    );
}

// ------------------------------------------------- stage 16: host values

async fn host_values_match_the_kernel() {
    const SECTION: &str = "Stage 16: Host values";
    let server = start(|config| config.sources.push(Box::new(dashboard::host::Host::new()))).await;
    let address = server.local_addr();
    clock(address, EPOCH + 1_000, SECTION).await;
    clock(address, EPOCH + 2_000, SECTION).await;
    let latest = |name: &'static str| async move {
        let (status, _, series) = query(
            address,
            name,
            &format!(
                "start={EPOCH}&end={}&step=1000&tier=raw&aggregation=last",
                EPOCH + 3_000
            ),
        )
        .await;
        assert_eq!(status, 200, "a query for {name} {}", chapter(SECTION));
        series
    };
    let memory = latest("host_memory_total_bytes").await;
    let total = memory.first().and_then(|s| s.1.last()).map_or(0.0, |p| p.1);
    if let Some(kernel) = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines().find_map(|line| {
                line.strip_prefix("MemTotal:").and_then(|rest| {
                    rest.trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<f64>()
                        .ok()
                })
            })
        })
    {
        let kernel = kernel * 1_024.0;
        assert!(
            (total - kernel).abs() <= kernel * 0.01,
            "host_memory_total_bytes is {total}, the kernel says {kernel} (/proc/meminfo) {}",
            chapter(SECTION)
        );
    } else {
        assert!(
            total > 0.0,
            "host_memory_total_bytes is {total} {}",
            chapter(SECTION)
        );
    }
    let used = latest("host_memory_used_bytes")
        .await
        .first()
        .and_then(|s| s.1.last())
        .map_or(-1.0, |p| p.1);
    assert!(
        used > 0.0 && used <= total,
        "host_memory_used_bytes ({used}) is within (0, total] {}",
        chapter(SECTION)
    );
    let cpu = latest("host_cpu_usage_percent").await;
    let cpu_value = cpu.first().and_then(|s| s.1.last()).map(|p| p.1);
    assert!(
        cpu_value.is_some_and(|cpu| (0.0..=100.0).contains(&cpu)),
        "host_cpu_usage_percent is a share in [0, 100] after two readings, got {cpu_value:?} {}",
        chapter(SECTION)
    );
    let host = sysinfo::System::host_name().unwrap_or_else(|| "localhost".to_owned());
    assert!(
        cpu.iter().all(|s| s.0.get("host") == Some(&host)),
        "every host series carries the machine's name, host=\"{host}\", got {:?} {}",
        cpu.iter().map(|s| &s.0).collect::<Vec<_>>(),
        chapter(SECTION)
    );
    let disks = latest("host_disk_total_bytes").await;
    assert!(
        disks.iter().all(|s| s.0.contains_key("mount")),
        "host_disk_total_bytes has a series per mount (the grader's sandbox may show none) {}",
        chapter(SECTION)
    );
    let received = latest("host_network_receive_bytes_per_second").await;
    assert!(
        received
            .iter()
            .all(|s| s.0.contains_key("interface") && s.1.iter().all(|p| p.1 >= 0.0)),
        "network rates are per interface and never negative {}",
        chapter(SECTION)
    );
    server.shutdown().await;
}
