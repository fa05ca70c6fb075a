//! The reference dashboard server over the wire: HTTP and WebSocket on
//! 127.0.0.1, a manual clock, every wait with a time limit.

mod common;

use std::collections::BTreeMap;

use common::{Client, EPOCH, Line, encode, get, http, ingest, start, start_with};
use dashboard::protocol::{ClientMessage, Mode, Policy, ServerMessage};
use serde_json::Value;

fn all() -> Policy {
    Policy {
        mode: Mode::All,
        max_hz: None,
    }
}

/// Every point a client receives for subscription `id` until `count`
/// points have come: `(series, t, v)` with the seqs checked gapless.
async fn points(
    client: &mut Client,
    id: &str,
    count: usize,
    last_seq: &mut u64,
) -> Vec<(u64, i64, f64)> {
    let mut seen = Vec::new();
    while seen.len() < count {
        if let ServerMessage::Data {
            id: got,
            seq,
            points,
            ..
        } = client.next().await
            && got == id
        {
            assert_eq!(seq, *last_seq + 1, "seq goes 1, 2, 3… with no gap");
            *last_seq = seq;
            seen.extend(points);
        }
    }
    seen
}

#[tokio::test]
async fn the_server_boots_and_serves_the_page() {
    let server = start().await;
    let (status, health) = get(server.local_addr(), "/health").await;
    assert_eq!(status, 200);
    assert_eq!(health["status"], "ok");
    assert_eq!(health["now"], EPOCH);
    let (status, page) = get(server.local_addr(), "/").await;
    assert_eq!(status, 200);
    assert!(
        page.as_str().is_some_and(|page| page.contains("uPlot")),
        "the page loads uPlot"
    );
    for path in [
        "/dashboard.js",
        "/dashboard.css",
        "/vendor/uPlot.iife.min.js",
        "/vendor/uPlot.min.css",
    ] {
        assert_eq!(get(server.local_addr(), path).await.0, 200, "{path}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn ingest_stores_good_lines_and_reports_bad_ones() {
    let server = start().await;
    let address = server.local_addr();
    let body = format!(
        "{}\nnot json\n{}\n{}\n",
        r#"{"name":"cpu","labels":{"host":"a"},"t":1000000020000,"v":0.5}"#,
        r#"{"name":"cpu","labels":{"host":"b"},"t":1000000021000,"v":0.75}"#,
        r#"{"name":"9bad","t":1000000021000,"v":1}"#,
    );
    let (status, answer) = http(address, "POST", "/api/ingest", "application/json", &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["accepted"], 2);
    let lines: Vec<&Value> = answer["rejected"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|r| &r["line"])
        .collect();
    assert_eq!(lines, vec![&Value::from(2), &Value::from(4)]);

    let exposition =
        "# HELP up whether it is up\nup{job=\"api\"} 1 1000000022000\nup{job=\"db\"} 0\n";
    let (status, answer) = http(
        address,
        "POST",
        "/api/ingest",
        "text/plain; version=0.0.4",
        exposition,
    )
    .await;
    assert_eq!(
        (status, &answer["accepted"]),
        (200, &Value::from(2)),
        "{answer}"
    );

    let (_, catalogue) = get(address, &format!("/api/series?match={}", encode("{}"))).await;
    assert_eq!(
        catalogue["series"].as_array().map(Vec::len),
        Some(4),
        "{catalogue}"
    );
    let path = format!(
        "/api/query?match={}&start={}&end={}&step=1000&aggregation=max",
        encode("cpu"),
        EPOCH,
        EPOCH + 2_000
    );
    let (status, result) = get(address, &path).await;
    assert_eq!(status, 200, "{result}");
    let got: BTreeMap<String, Vec<(i64, f64)>> = result["series"]
        .as_array()
        .expect("series")
        .iter()
        .map(|series| {
            let host = series["series"]["labels"]["host"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            (
                host,
                serde_json::from_value(series["points"].clone()).expect("points"),
            )
        })
        .collect();
    assert_eq!(got["a"], vec![(EPOCH, 0.5)]);
    assert_eq!(got["b"], vec![(EPOCH + 1_000, 0.75)]);

    let (status, refused) = get(
        address,
        &format!("/api/query?match=cpu&start={EPOCH}&end={EPOCH}&step=1000"),
    )
    .await;
    assert_eq!(status, 400, "an empty range is refused: {refused}");
    server.shutdown().await;
}

#[tokio::test]
async fn subscriptions_are_multiplexed_filtered_and_stopped() {
    let server = start().await;
    let address = server.local_addr();
    let mut client = Client::connect(&server).await;
    client.subscribe("a", r#"cpu{host="a"}"#, None, all()).await;
    client
        .subscribe("b", r#"cpu{host=~"b|c"}"#, None, all())
        .await;
    ingest(
        address,
        &[
            ("cpu", &[("host", "a")], EPOCH, 1.0),
            ("cpu", &[("host", "b")], EPOCH, 2.0),
            ("cpu", &[("host", "z")], EPOCH, 9.0),
            ("cpu", &[("host", "c")], EPOCH, 3.0),
        ],
    )
    .await;
    let mut by_sub: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    while by_sub.values().map(Vec::len).sum::<usize>() < 3 {
        if let ServerMessage::Data { id, points, .. } = client.next().await {
            by_sub
                .entry(id)
                .or_default()
                .extend(points.iter().map(|p| p.2));
        }
    }
    assert_eq!(by_sub["a"], vec![1.0]);
    assert_eq!(by_sub["b"], vec![2.0, 3.0]);

    client
        .send(&ClientMessage::Unsubscribe { id: "a".into() })
        .await;
    client
        .until(|m| matches!(m, ServerMessage::Unsubscribed { id } if id == "a"))
        .await;
    ingest(
        address,
        &[
            ("cpu", &[("host", "a")], EPOCH + 1_000, 4.0),
            ("cpu", &[("host", "b")], EPOCH + 1_000, 5.0),
        ],
    )
    .await;
    let message = client
        .until(|m| matches!(m, ServerMessage::Data { .. }))
        .await;
    assert!(
        matches!(&message, ServerMessage::Data { id, points, .. } if id == "b" && points.len() == 1),
        "{message:?}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn backfill_hands_over_to_live_without_gap_or_duplicate() {
    let server = start().await;
    let address = server.local_addr();
    let lines: Vec<Line> = (0..30)
        .map(|i| {
            (
                "temp",
                &[("room", "x")][..],
                EPOCH - 30_000 + i * 1_000,
                i as f64,
            )
        })
        .collect();
    ingest(address, &lines).await;
    let mut client = Client::connect(&server).await;
    client
        .subscribe("t", "temp", Some(EPOCH - 20_000), all())
        .await;
    let later: Vec<Line> = (30..40)
        .map(|i| {
            (
                "temp",
                &[("room", "x")][..],
                EPOCH - 30_000 + i * 1_000,
                i as f64,
            )
        })
        .collect();
    ingest(address, &later).await;
    let seen = points(&mut client, "t", 30, &mut 0).await;
    let times: Vec<i64> = seen.iter().map(|p| p.1).collect();
    let expected: Vec<i64> = (10..40).map(|i| EPOCH - 30_000 + i * 1_000).collect();
    assert_eq!(times, expected);
    server.shutdown().await;
}

#[tokio::test]
async fn a_client_that_never_reads_is_closed_and_slows_nobody() {
    let server = start_with(|config| config.hub.hard_cap = 2_000).await;
    let address = server.local_addr();
    let (stream, _) = checkkit::net::connect_with_small_receive_buffer(address)
        .await
        .expect("connects");
    let (mut slow, _) = tokio_tungstenite::client_async(
        server.ws_url(),
        tokio_tungstenite::MaybeTlsStream::Plain(stream),
    )
    .await
    .expect("handshake");
    let subscribe = serde_json::to_string(&ClientMessage::Subscribe {
        id: "all".into(),
        selector: dashboard::Selector::default(),
        since: None,
        policy: all(),
    })
    .expect("encodes");
    futures_util::SinkExt::send(
        &mut slow,
        tokio_tungstenite::tungstenite::Message::Text(subscribe.into()),
    )
    .await
    .expect("sends");
    let mut fast = Client::connect(&server).await;
    fast.subscribe("all", "{}", None, all()).await;
    // Enough bytes to fill every buffer on the way, then the cap.
    let per_point = 40;
    let total = checkkit::net::messages_to_overflow(8 * 1024, 2_000, per_point) as usize;
    let mut sent = 0;
    let mut fast_seq = 0;
    let mut t = EPOCH - 3_000_000;
    while sent < total {
        let batch: Vec<Line> = (0..2_000)
            .map(|i| ("load", &[("n", "1")][..], t + i, 1.0))
            .collect();
        t += 2_000;
        ingest(address, &batch).await;
        sent += batch.len();
        let got = points(&mut fast, "all", batch.len(), &mut fast_seq).await;
        assert_eq!(got.len(), batch.len(), "the fast client gets every point");
    }
    let mut slow = Client { socket: slow };
    // Its buffers are full, so the Close frame may not get through before
    // the server gives up and drops the connection: either way it ends.
    let code = slow_close(&mut slow).await;
    assert!(
        code.is_none_or(|code| code == dashboard::CLOSE_TOO_SLOW),
        "closed with {:?}",
        code
    );
    server.shutdown().await;
}

/// Reads the slow client's backlog until the close frame (its code) or
/// the end of the connection (`None`).
async fn slow_close(client: &mut Client) -> Option<u16> {
    common::within("the slow client's close", async {
        use futures_util::StreamExt;
        while let Some(frame) = client.socket.next().await {
            match frame {
                Ok(tokio_tungstenite::tungstenite::Message::Close(frame)) => {
                    return frame.map(|frame| u16::from(frame.code));
                }
                Ok(_) => {}
                Err(_) => return None,
            }
        }
        None
    })
    .await
}

#[tokio::test]
async fn bad_requests_get_errors_and_oversize_gets_1009() {
    let server = start().await;
    let mut client = Client::connect(&server).await;
    futures_util::SinkExt::send(
        &mut client.socket,
        tokio_tungstenite::tungstenite::Message::Text("{\"type\":\"nope\"}".into()),
    )
    .await
    .expect("sends");
    let error = client.next().await;
    assert!(
        matches!(&error, ServerMessage::Error { code, .. } if code == "bad_message"),
        "{error:?}"
    );
    futures_util::SinkExt::send(
        &mut client.socket,
        tokio_tungstenite::tungstenite::Message::Text(
            r#"{"type":"subscribe","id":"x","selector":"cpu{"}"#.into(),
        ),
    )
    .await
    .expect("sends");
    let error = client.next().await;
    assert!(
        matches!(&error, ServerMessage::Error { code, .. } if code == "bad_selector"),
        "{error:?}"
    );
    client.subscribe("ok", "cpu", None, Policy::default()).await;
    let big = "x".repeat(dashboard::server::MAX_MESSAGE + 1);
    let _ = futures_util::SinkExt::send(
        &mut client.socket,
        tokio_tungstenite::tungstenite::Message::Text(big.into()),
    )
    .await;
    assert_eq!(client.close_code().await, Some(1009));
    let mut other = Client::connect(&server).await;
    other
        .subscribe("still", "cpu", None, Policy::default())
        .await;
    server.shutdown().await;
}

#[tokio::test]
async fn the_test_clock_moves_only_when_told() {
    let server = start().await;
    let address = server.local_addr();
    let (status, now) = http(
        address,
        "POST",
        "/api/test/clock",
        "application/json",
        r#"{"advance_ms":300000}"#,
    )
    .await;
    assert_eq!((status, &now["now"]), (200, &Value::from(EPOCH + 300_000)));
    assert_eq!(get(address, "/health").await.1["now"], EPOCH + 300_000);
    server.shutdown().await;
}
