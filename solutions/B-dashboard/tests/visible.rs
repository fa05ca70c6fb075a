//! Visible stages of capstone B: the server boots and lists its sources,
//! posted samples are read back, a subscription gets its samples in order.
//! Run them with `cargo test -p dashboard`; `cargo grade B` runs these and
//! the hidden stages, in order, and names the first one that fails.
//!
//! Every stage starts your server in-process on 127.0.0.1 with a *manual*
//! clock that starts in 2001 (`EPOCH`) and moves only when the check says
//! so (`POST /api/test/clock`), so times are exact and nothing waits for
//! real minutes.

use std::net::SocketAddr;
use std::time::Duration;

use checkkit::within;
use dashboard::protocol::{ClientMessage, Mode, Policy, ServerMessage};
use dashboard::sources::{Bursts, Sine, Step};
use dashboard::{Clock, Config, Selector, SeriesKey, Server};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

checkkit::checks! {
    the_server_boots_and_lists_its_sources,
    ingested_samples_are_read_back,
    a_subscription_gets_its_samples_in_order,
}

/// The manual clock's start: 2001-09-09T01:47:00Z, a whole minute.
const EPOCH: i64 = 1_000_000_020_000;
const WAIT: Duration = Duration::from_secs(5);

fn chapter(section: &str) -> String {
    format!("(chapter B, section \"{section}\")")
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

/// `METHOD path` with a body: the status and the body (JSON, or a string).
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
async fn clock(address: SocketAddr, now: i64) {
    let (status, body) = http(
        address,
        "POST",
        "/api/test/clock",
        "application/json",
        &format!(r#"{{"now":{now}}}"#),
    )
    .await;
    assert_eq!(status, 200, "POST /api/test/clock answered {status} {body}");
}

/// Percent-encodes a query-string value.
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

/// `(labels, points)` of every series a query answers.
async fn query(address: SocketAddr, selector: &str, rest: &str) -> Vec<(Value, Vec<(i64, f64)>)> {
    let path = format!("/api/query?match={}&{rest}", encode(selector));
    let (status, body) = get(address, &path).await;
    assert_eq!(status, 200, "GET {path} answered {status} {body}");
    body["series"]
        .as_array()
        .unwrap_or_else(|| panic!("a query's answer has `series`: {body}"))
        .iter()
        .map(|series| {
            let points = serde_json::from_value(series["points"].clone())
                .unwrap_or_else(|error| panic!("points are [[t, v], …] ({error}): {series}"));
            (series["series"]["labels"].clone(), points)
        })
        .collect()
}

/// Stage 1: the page, the health check, and the synthetic sources' series
/// with their values at the clock's time.
async fn the_server_boots_and_lists_its_sources() {
    let key = |shape: &str| SeriesKey::new("wave", [("shape", shape)]);
    let server = start(|config| {
        config.sources.push(Box::new(Step {
            key: key("step"),
            period: 10_000,
            low: 1.0,
            high: 2.0,
        }));
        config.sources.push(Box::new(Sine {
            key: key("sine"),
            period: 20_000,
            amplitude: 3.0,
            offset: 10.0,
        }));
        config.sources.push(Box::new(Bursts {
            key: key("bursts"),
            base: 5.0,
            burst: 50.0,
            every: 20_000,
            length: 3_000,
        }));
    })
    .await;
    let address = server.local_addr();
    let (status, health) = get(address, "/health").await;
    assert!(
        status == 200 && health["status"] == "ok",
        "GET /health answers 200 {{\"status\":\"ok\",…}}, got {status} {health} {}",
        chapter("Stage 1: Boot and catalogue")
    );
    let (status, page) = get(address, "/").await;
    assert!(
        status == 200 && page.as_str().is_some_and(|page| page.contains("<html")),
        "GET / serves the page, got {status} {}",
        chapter("Stage 1: Boot and catalogue")
    );
    // The sources are collected at start (EPOCH), at EPOCH + 3 s (the
    // bursts' first 3 s are over: base again) and at EPOCH + 5 s.
    clock(address, EPOCH).await;
    clock(address, EPOCH + 3_000).await;
    clock(address, EPOCH + 5_000).await;
    let (_, catalogue) = get(address, &format!("/api/series?match={}", encode("wave"))).await;
    let mut shapes: Vec<&str> = catalogue["series"]
        .as_array()
        .map_or_else(Vec::new, |series| {
            series
                .iter()
                .filter_map(|s| s["labels"]["shape"].as_str())
                .collect()
        });
    shapes.sort_unstable();
    assert_eq!(
        shapes,
        ["bursts", "sine", "step"],
        "the catalogue lists the three sources' series, got {catalogue} {}",
        chapter("Stage 1: Boot and catalogue")
    );
    let sine_at_3s = 10.0 + 3.0 * (std::f64::consts::TAU * 3_000.0 / 20_000.0).sin();
    let expected = [
        (
            "step",
            vec![(EPOCH, 1.0), (EPOCH + 3_000, 1.0), (EPOCH + 5_000, 2.0)],
        ),
        (
            "sine",
            vec![
                (EPOCH, 10.0),
                (EPOCH + 3_000, sine_at_3s),
                (EPOCH + 5_000, 13.0),
            ],
        ),
        (
            "bursts",
            vec![(EPOCH, 50.0), (EPOCH + 3_000, 5.0), (EPOCH + 5_000, 5.0)],
        ),
    ];
    for (shape, want) in expected {
        let answer = query(
            address,
            &format!("wave{{shape=\"{shape}\"}}"),
            &format!(
                "start={EPOCH}&end={}&step=1000&tier=raw&aggregation=last",
                EPOCH + 10_000
            ),
        )
        .await;
        let got = answer
            .first()
            .map(|(_, points)| points.clone())
            .unwrap_or_default();
        let close = got.len() == want.len()
            && got
                .iter()
                .zip(&want)
                .all(|(g, w)| g.0 == w.0 && (g.1 - w.1).abs() < 1e-9);
        assert!(
            close,
            "the {shape} source at EPOCH, EPOCH + 3 s and EPOCH + 5 s gives {want:?}, the store holds {got:?} {}",
            chapter("Stage 1: Boot and catalogue")
        );
    }
    server.shutdown().await;
}

/// Stage 2: JSON lines and Prometheus text are stored and read back; bad
/// lines are listed with their number and lose nothing else.
async fn ingested_samples_are_read_back() {
    let server = start(|_| {}).await;
    let address = server.local_addr();
    // 3 hosts × 20 seconds, values from the time: easy to check.
    let value = |host: usize, second: i64| (host * 1_000) as f64 + second as f64 / 4.0;
    let mut body = String::new();
    for second in 0..20 {
        for host in 0..3 {
            body.push_str(&format!(
                "{{\"name\":\"load\",\"labels\":{{\"host\":\"h{host}\"}},\"t\":{},\"v\":{}}}\n",
                EPOCH - 20_000 + second * 1_000,
                value(host, second)
            ));
        }
    }
    body.push_str(
        "{\"name\":\"load\",\"labels\":{\"host\":\"h0\"},\"t\":1000000000000,\"v\":\"high\"}\n",
    );
    body.push_str(&format!(
        "{{\"name\":\"load\",\"labels\":{{\"host\":\"h0\"}},\"t\":{},\"v\":1}}\n",
        EPOCH + 3_600_000
    ));
    let (status, answer) = http(address, "POST", "/api/ingest", "application/json", &body).await;
    assert_eq!(
        status,
        200,
        "POST /api/ingest with good lines answers 200, got {answer} {}",
        chapter("Stage 2: Ingest and read back")
    );
    let rejected: Vec<i64> = answer["rejected"].as_array().map_or_else(Vec::new, |r| {
        r.iter().filter_map(|r| r["line"].as_i64()).collect()
    });
    assert!(
        answer["accepted"] == 60 && rejected == [61, 62],
        "60 good lines are stored and lines 61 (a string value) and 62 (an hour ahead of the clock) are refused by number, got {answer} {}",
        chapter("Stage 2: Ingest and read back")
    );
    let exposition = format!(
        "# TYPE disk_free gauge\ndisk_free{{mount=\"/\"}} 512 {}\ndisk_free{{mount=\"/home\"}} 1024 {}\n",
        EPOCH - 1_000,
        EPOCH - 1_000
    );
    let (status, answer) = http(
        address,
        "POST",
        "/api/ingest",
        "text/plain; version=0.0.4",
        &exposition,
    )
    .await;
    assert!(
        status == 200 && answer["accepted"] == 2,
        "Prometheus text with Content-Type text/plain is stored, got {status} {answer} {}",
        chapter("Stage 2: Ingest and read back")
    );

    let answer = query(
        address,
        "load",
        &format!("start={}&end={EPOCH}&step=1000&tier=raw", EPOCH - 20_000),
    )
    .await;
    assert_eq!(
        answer.len(),
        3,
        "the query matches the 3 hosts' series {}",
        chapter("Stage 2: Ingest and read back")
    );
    for (labels, points) in &answer {
        let host: usize = labels["host"]
            .as_str()
            .and_then(|h| h.strip_prefix('h'))
            .and_then(|n| n.parse().ok())
            .unwrap_or(9);
        let want: Vec<(i64, f64)> = (0..20)
            .map(|second| (EPOCH - 20_000 + second * 1_000, value(host, second)))
            .collect();
        assert_eq!(
            points,
            &want,
            "host h{host}'s samples read back one a second, in order {}",
            chapter("Stage 2: Ingest and read back")
        );
    }
    let answer = query(
        address,
        "load{host=\"h1\"}",
        &format!(
            "start={}&end={EPOCH}&step=5000&tier=raw&aggregation=max",
            EPOCH - 20_000
        ),
    )
    .await;
    let want: Vec<(i64, f64)> = (0..4)
        .map(|k| (EPOCH - 20_000 + k * 5_000, value(1, k * 5 + 4)))
        .collect();
    assert_eq!(
        answer.first().map(|a| &a.1),
        Some(&want),
        "a 5 s step with `max` gives the largest sample of each 5 s {}",
        chapter("Stage 2: Ingest and read back")
    );
    let answer = query(
        address,
        "disk_free",
        &format!("start={}&end={EPOCH}&step=1000&tier=raw", EPOCH - 2_000),
    )
    .await;
    assert_eq!(
        answer.len(),
        2,
        "both disk_free series are read back, got {answer:?} {}",
        chapter("Stage 2: Ingest and read back")
    );
    server.shutdown().await;
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn next(socket: &mut Socket) -> ServerMessage {
    loop {
        let frame = within(WAIT, "a message from the server", socket.next())
            .await
            .expect("the connection stays open")
            .expect("a frame");
        match frame {
            Message::Text(text) => {
                return serde_json::from_str(text.as_str()).unwrap_or_else(|error| {
                    panic!("not a message of the protocol ({error}): {text}")
                });
            }
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

/// Stage 3: subscribed, then the series, then its samples in order with
/// seq 1, 2, 3… and nothing of the series it did not ask for.
async fn a_subscription_gets_its_samples_in_order() {
    let server = start(|_| {}).await;
    let address = server.local_addr();
    let (mut socket, _) = within(
        WAIT,
        "the WebSocket handshake",
        tokio_tungstenite::connect_async(format!("ws://{address}/ws")),
    )
    .await
    .expect("GET /ws upgrades to a WebSocket");
    let subscribe = ClientMessage::Subscribe {
        id: "cpu-a".into(),
        selector: Selector::parse(r#"cpu{host="a"}"#).expect("a selector"),
        since: None,
        policy: Policy {
            mode: Mode::All,
            max_hz: None,
        },
    };
    socket
        .send(Message::Text(
            serde_json::to_string(&subscribe).expect("encodes").into(),
        ))
        .await
        .expect("sends");
    let first = next(&mut socket).await;
    assert!(
        matches!(&first, ServerMessage::Subscribed { id } if id == "cpu-a"),
        "the first answer is `subscribed` with the id, got {first:?} {}",
        chapter("Stage 3: Subscribe in order")
    );
    let mut sent = Vec::new();
    for batch in 0..5 {
        let mut body = String::new();
        for i in 0..20 {
            let t = EPOCH - 100_000 + (batch * 20 + i) * 1_000;
            let v = (batch * 20 + i) as f64;
            body.push_str(&format!(
                "{{\"name\":\"cpu\",\"labels\":{{\"host\":\"a\"}},\"t\":{t},\"v\":{v}}}\n"
            ));
            body.push_str(&format!(
                "{{\"name\":\"cpu\",\"labels\":{{\"host\":\"b\"}},\"t\":{t},\"v\":-1}}\n"
            ));
            sent.push((t, v));
        }
        let (status, answer) =
            http(address, "POST", "/api/ingest", "application/json", &body).await;
        assert_eq!(status, 200, "ingest answered {answer}");
    }
    let mut series = None;
    let mut seen = Vec::new();
    let mut seq = 0;
    while seen.len() < sent.len() {
        match next(&mut socket).await {
            ServerMessage::Series {
                id,
                series: announced,
            } if id == "cpu-a" => {
                assert!(
                    announced.len() == 1
                        && announced[0].labels.get("host").map(String::as_str) == Some("a"),
                    "`series` announces cpu{{host=\"a\"}} only, got {announced:?} {}",
                    chapter("Stage 3: Subscribe in order")
                );
                series = Some(announced[0].id);
            }
            ServerMessage::Data {
                id,
                seq: got,
                points,
                ..
            } if id == "cpu-a" => {
                assert!(
                    series.is_some(),
                    "`series` comes before the first points of a series {}",
                    chapter("Stage 3: Subscribe in order")
                );
                assert_eq!(
                    got,
                    seq + 1,
                    "a subscription's seq goes 1, 2, 3… with no gap {}",
                    chapter("Stage 3: Subscribe in order")
                );
                seq = got;
                for (id, t, v) in points {
                    assert_eq!(
                        Some(id),
                        series,
                        "only cpu{{host=\"a\"}}'s points come, got series {id} {}",
                        chapter("Stage 3: Subscribe in order")
                    );
                    seen.push((t, v));
                }
            }
            other => panic!(
                "unexpected {other:?} {}",
                chapter("Stage 3: Subscribe in order")
            ),
        }
    }
    assert_eq!(
        seen,
        sent,
        "every sample arrives once, in order {}",
        chapter("Stage 3: Subscribe in order")
    );
    server.shutdown().await;
}
