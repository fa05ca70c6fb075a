//! Capstone B's page in real Chromium, against a server on a test clock:
//! a panel's chart draws its samples and redraws on a step change; a rule
//! fires and its alert appears on the page; the page's "Silence 1 h" button
//! keeps the silenced alert out of the webhook's notifications (proved by
//! order: a marker alert of another group arrives next) and the page shows
//! it silenced. A screenshot is saved at the end: to
//! `book/screenshots/B-dashboard.png` with `WSW_SCREENSHOTS=1` (the picture
//! in the book), else to a temporary folder.
//!
//! Chromium and chromedriver: Debian's `chromium` and `chromium-driver`.
//! Without them the test says it is skipped; under `CI=true` it fails.
//!
//! Every wait is bounded: a look at the page (through `execute/sync`) again
//! each time the page changes or draws a frame, or the webhook's channel;
//! nothing sleeps in the hope that something happened.

mod common;

#[path = "../../../webdriver.rs"]
mod webdriver;

use std::time::{Duration, Instant};

use common::{EPOCH, Line, advance_to, ingest, receiver, start_with, within};
use serde_json::Value;
use tokio::sync::mpsc;
use webdriver::{Session, browser, start_driver};

/// Two groups (`group_by` is `alertname` by default): `HighCpu`, which the
/// test silences for one host, and `Marker`, which it fires afterwards to
/// prove by order that nothing about the silenced alert was sent.
const RULES: &str = r#"
[notify]
webhook = "WEBHOOK"
repeat_interval = "1m"

[[rule]]
name = "HighCpu"
selector = "cpu"
op = ">"
threshold = 90
summary = "CPU above 90"

[[rule]]
name = "Marker"
selector = "marker"
op = ">"
threshold = 0
"#;

/// How long the page may take to show what a step waits for.
const POLL_LIMIT: Duration = Duration::from_secs(10);
/// The panel under test.
const PANEL: &str = r#"section.panel[data-metric="cpu"]"#;
/// The window's size, and so the screenshot's.
const WINDOW: (u32, u32) = (1200, 800);

/// Asks `check` until it answers `Ok`, and fails after [`POLL_LIMIT`] with
/// its last answer. Between two looks it waits for the page: a change of
/// its document, or a frame drawn (the page's `dashboard:frame` event), or
/// at most a second.
fn poll<T>(page: &Session, what: &str, mut check: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + POLL_LIMIT;
    loop {
        match check() {
            Ok(value) => return value,
            Err(last) if Instant::now() >= deadline => {
                panic!("waited {POLL_LIMIT:?} for {what}; the last look: {last}")
            }
            Err(_) => page.next_change_or_event("dashboard:frame"),
        }
    }
}

/// The next notification the webhook receives.
fn next_notification(
    runtime: &tokio::runtime::Runtime,
    notifications: &mut mpsc::UnboundedReceiver<Value>,
    what: &str,
) -> Value {
    runtime
        .block_on(within(what, notifications.recv()))
        .expect("the receiver is still running")
}

/// The `host` label of each alert a notification lists.
fn hosts(notification: &Value) -> Vec<String> {
    notification["alerts"]
        .as_array()
        .map(|alerts| {
            alerts
                .iter()
                .map(|alert| {
                    alert["series"]["labels"]["host"]
                        .as_str()
                        .unwrap_or("")
                        .to_owned()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// How many points the page holds for `metric` (`None`: no panel yet).
fn points(page: &Session, metric: &str) -> Option<u64> {
    page.run(&format!(
        "return window.dashboard?.panels().find((p) => p.name === '{metric}')?.points ?? null;"
    ))
    .as_u64()
}

/// What the panel's canvas shows: its size, how many pixels carry each
/// series' colour (uPlot's strokes: the page's first two colours), and a
/// signature of where those pixels are. The background is transparent and
/// the axes and grid are grey, so the coloured pixels are the data.
#[derive(Debug, Clone, PartialEq)]
struct Chart {
    width: u64,
    height: u64,
    series: [u64; 2],
    signature: u64,
}

fn chart(page: &Session) -> Result<Chart, String> {
    let value = page.run(&format!(
        "const canvas = document.querySelector('{PANEL} canvas');
        if (!canvas || !canvas.width || !canvas.height) return null;
        const {{ data }} = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
        const colours = [[0x1f, 0x77, 0xb4], [0xd6, 0x27, 0x28]];
        const series = [0, 0];
        let signature = 0x811c9dc5;
        for (let i = 0; i < data.length; i += 4) {{
            if (data[i + 3] < 160) continue;
            const k = colours.findIndex(([r, g, b]) =>
                Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b) < 60);
            if (k < 0) continue;
            series[k] += 1;
            signature = Math.imul(signature ^ (i / 4 * 2 + k), 0x01000193) >>> 0;
        }}
        return {{ width: canvas.width, height: canvas.height, series, signature }};"
    ));
    if value.is_null() {
        return Err("no canvas in the panel yet".into());
    }
    let number = |v: &Value| v.as_u64().ok_or_else(|| format!("not a number in {value}"));
    Ok(Chart {
        width: number(&value["width"])?,
        height: number(&value["height"])?,
        series: [number(&value["series"][0])?, number(&value["series"][1])?],
        signature: number(&value["signature"])?,
    })
}

/// The page's alert list as its DOM hooks show it.
#[derive(Debug)]
struct Row {
    rule: String,
    state: String,
    silenced: String,
    series: String,
    can_silence: bool,
}

fn alert_rows(page: &Session) -> Vec<Row> {
    let rows = page.run(
        "return [...document.querySelectorAll('li.alert')].map((li) => ({
            rule: li.dataset.rule, state: li.dataset.state, silenced: li.dataset.silenced,
            series: li.querySelector('code')?.textContent ?? '',
            can_silence: li.querySelector('button[data-action=silence]') !== null,
        }));",
    );
    rows.as_array()
        .map(|rows| {
            rows.iter()
                .map(|row| Row {
                    rule: row["rule"].as_str().unwrap_or_default().to_owned(),
                    state: row["state"].as_str().unwrap_or_default().to_owned(),
                    silenced: row["silenced"].as_str().unwrap_or_default().to_owned(),
                    series: row["series"].as_str().unwrap_or_default().to_owned(),
                    can_silence: row["can_silence"].as_bool().unwrap_or(false),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until the alert of `rule` on `host` is on the page as `wanted`
/// says.
fn wait_for_alert(
    page: &Session,
    what: &str,
    rule: &str,
    host: &str,
    wanted: impl Fn(&Row) -> bool,
) {
    let series = format!("host=\"{host}\"");
    poll(page, what, || {
        let rows = alert_rows(page);
        if rows
            .iter()
            .any(|row| row.rule == rule && row.series.contains(&series) && wanted(row))
        {
            Ok(())
        } else {
            Err(format!("the page's alerts: {rows:?}"))
        }
    });
}

#[test]
fn the_dashboard_draws_alerts_and_silences_in_chromium() {
    let Some((chromium, driver)) = browser() else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (hook, mut notifications) = runtime.block_on(receiver());
    let rules = dir.path().join("rules.toml");
    std::fs::write(&rules, RULES.replace("WEBHOOK", &hook)).expect("the rules are written");
    let server = runtime.block_on(start_with(|config| {
        config.rules = Some(rules.clone());
        config.state = Some(dir.path().join("alerts.sqlite"));
    }));
    let address = server.local_addr();

    // Two minutes of history for two hosts, up to the server's "now" (the
    // page subscribes from its /health `now` minus five minutes).
    let history: Vec<(f64, f64)> = (0..120)
        .map(|i| {
            let i = f64::from(i);
            (30.0 + 10.0 * (i / 10.0).sin(), 50.0 + 5.0 * (i / 7.0).cos())
        })
        .collect();
    let lines: Vec<Line<'_>> = history
        .iter()
        .enumerate()
        .flat_map(|(i, (a, b))| {
            let t = EPOCH - 119_000 + 1_000 * i as i64;
            [
                ("cpu", &[("host", "a")][..], t, *a),
                ("cpu", &[("host", "b")][..], t, *b),
            ]
        })
        .collect();
    let answer = runtime.block_on(ingest(address, &lines));
    assert_eq!(answer["accepted"], 240, "{answer}");

    let started = Instant::now();
    let (_driver, driver_address) = start_driver(&driver);
    let page = Session::start(&driver_address, &chromium, "main");
    page.set_window_size(WINDOW.0, WINDOW.1);
    page.open(&format!("http://{address}/"));
    poll(&page, "the page to connect", || {
        let state = page.run("return document.querySelector('#status')?.dataset.state ?? '';");
        let connected = page.run("return window.dashboard?.connected() ?? false;");
        if state == "connected" && connected == true {
            Ok(())
        } else {
            Err(format!(
                "#status[data-state={state}], connected() = {connected}"
            ))
        }
    });

    // 1. The chart draws the backfill: a panel, its points, coloured pixels.
    poll(
        &page,
        "the cpu panel with its 240 points",
        || match points(&page, "cpu") {
            Some(240) => Ok(()),
            other => Err(format!(
                "points: {other:?}; panels: {}",
                page.run("return window.dashboard.panels();")
            )),
        },
    );
    let before = poll(&page, "the chart to draw both series", || {
        let chart = chart(&page)?;
        if chart.series.iter().all(|&pixels| pixels >= 100) {
            Ok(chart)
        } else {
            Err(format!("{chart:?}"))
        }
    });
    assert!(
        before.width >= 300 && before.height >= 100,
        "a chart of a useful size: {before:?}"
    );

    // A step change, live: host a jumps to 95. The clock moves first (the
    // evaluation at that time still sees the old value), then one sample
    // per request, each waited for on the page (the page's "latest" policy
    // would conflate samples posted at once into one).
    runtime.block_on(advance_to(address, EPOCH + 5_000));
    for k in 1..=5 {
        runtime.block_on(ingest(
            address,
            &[("cpu", &[("host", "a")], EPOCH + k * 1_000, 95.0)],
        ));
        let wanted = 240 + k as u64;
        poll(&page, "the step's sample on the page", || {
            match points(&page, "cpu") {
                Some(points) if points >= wanted => Ok(()),
                other => Err(format!("points: {other:?}, want {wanted}")),
            }
        });
    }
    let after = poll(&page, "the chart to redraw with the step", || {
        let chart = chart(&page)?;
        if chart.signature != before.signature && chart.series.iter().all(|&pixels| pixels >= 100) {
            Ok(chart)
        } else {
            Err(format!("before {before:?}, now {chart:?}"))
        }
    });
    assert_ne!(after, before, "the canvas changed");
    eprintln!("the chart before the step: {before:?}; after: {after:?}");

    // 2. The rule fires when the clock moves, and the page lists the alert.
    runtime.block_on(advance_to(address, EPOCH + 6_000));
    let first = next_notification(&runtime, &mut notifications, "HighCpu's notification");
    assert_eq!(first["status"], "firing", "{first}");
    assert_eq!(first["group"]["alertname"], "HighCpu", "{first}");
    assert_eq!(hosts(&first), ["a"], "{first}");
    wait_for_alert(
        &page,
        "HighCpu on host a, firing, on the page",
        "HighCpu",
        "a",
        |row| row.state == "firing" && row.silenced == "false" && row.can_silence,
    );
    let firing = page.run(
        "return document.querySelectorAll('li.alert[data-rule=\"HighCpu\"][data-state=\"firing\"]').length;",
    );
    assert_eq!(firing, 1, "one firing HighCpu row");

    // 3. The page's silence button: the page POSTs /api/silences, then
    // lists the silence.
    page.click_css(
        r#"li.alert[data-rule="HighCpu"][data-state="firing"] button[data-action="silence"]"#,
    );
    poll(&page, "the page to list the silence", || {
        let silences = page.run(
            "return [...document.querySelectorAll('li.silence')].map((li) => ({
                id: li.dataset.silenceId, state: li.dataset.state,
                matchers: li.querySelector('code')?.textContent ?? '' }));",
        );
        let listed = silences.as_array().is_some_and(|silences| {
            silences.len() == 1
                && silences[0]["state"] == "active"
                && silences[0]["matchers"].as_str().is_some_and(|m| {
                    m.contains("alertname=\"HighCpu\"") && m.contains("host=\"a\"")
                })
        });
        if listed {
            Ok(())
        } else {
            Err(format!("li.silence: {silences}"))
        }
    });
    let (_, alerts) = runtime.block_on(common::get(address, "/api/alerts"));
    let silenced_on_server = alerts["alerts"].as_array().is_some_and(|alerts| {
        alerts.iter().any(|alert| {
            alert["rule"] == "HighCpu"
                && alert["series"]["labels"]["host"] == "a"
                && alert["silenced"] == true
        })
    });
    assert!(
        silenced_on_server,
        "the server has the alert silenced: {alerts}"
    );

    // The repeat interval passes with host a still firing: the silence
    // keeps the reminder back. The marker, another group, fires after it,
    // and its notification is the next to arrive: nothing came before it.
    runtime.block_on(async {
        advance_to(address, EPOCH + 70_000).await;
        ingest(address, &[("cpu", &[("host", "a")], EPOCH + 70_000, 96.0)]).await;
        advance_to(address, EPOCH + 71_000).await;
        ingest(address, &[("marker", &[], EPOCH + 71_000, 1.0)]).await;
        advance_to(address, EPOCH + 72_000).await;
    });
    let marker = next_notification(&runtime, &mut notifications, "the marker's notification");
    assert_eq!(
        marker["group"]["alertname"], "Marker",
        "the next notification after the silence is the marker's, not a reminder of the silenced alert: {marker}"
    );

    // A second alert of the same group fires: the group is notified, and
    // lists host b only.
    runtime.block_on(async {
        ingest(address, &[("cpu", &[("host", "b")], EPOCH + 72_000, 97.0)]).await;
        advance_to(address, EPOCH + 73_000).await;
    });
    let second = next_notification(
        &runtime,
        &mut notifications,
        "HighCpu's notification for host b",
    );
    assert_eq!(second["group"]["alertname"], "HighCpu", "{second}");
    assert_eq!(
        hosts(&second),
        ["b"],
        "the silenced alert is left out: {second}"
    );

    // The page shows host a's alert silenced (no button any more), host b's
    // firing and not silenced, and the marker. (Checked here, after
    // evaluations that changed the alerts: the server pushes the alerts to
    // the page only then, not when a silence is added, and the page takes
    // the alerts from the socket while it is connected.)
    wait_for_alert(
        &page,
        "HighCpu on host a shown silenced",
        "HighCpu",
        "a",
        |row| row.state == "firing" && row.silenced == "true" && !row.can_silence,
    );
    wait_for_alert(
        &page,
        "HighCpu on host b, firing, not silenced",
        "HighCpu",
        "b",
        |row| row.state == "firing" && row.silenced == "false" && row.can_silence,
    );
    poll(&page, "the marker's alert on the page", || {
        let rows = alert_rows(&page);
        if rows
            .iter()
            .any(|row| row.rule == "Marker" && row.state == "firing")
        {
            Ok(())
        } else {
            Err(format!("{rows:?}"))
        }
    });
    let leftover: Vec<Value> = std::iter::from_fn(|| notifications.try_recv().ok()).collect();
    assert!(
        leftover.iter().all(|n| !hosts(n).contains(&"a".to_owned())),
        "no notification lists the silenced alert: {leftover:?}"
    );

    // 4. A screenshot, once every sample is on the page and drawn (a
    // promise that an executed script returns is awaited): for the book
    // with WSW_SCREENSHOTS=1, else thrown away with the temporary folder.
    poll(&page, "every sample on the page", || {
        match points(&page, "cpu") {
            Some(247) => Ok(()),
            other => Err(format!("points: {other:?}, want 240 + 5 + 2")),
        }
    });
    page.run("return new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(true))));");
    let png = page.screenshot();
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    let path = if std::env::var("WSW_SCREENSHOTS").is_ok_and(|v| v == "1") {
        let book = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../book/screenshots");
        std::fs::create_dir_all(&book).expect("a folder for the book's screenshots");
        book.join("B-dashboard.png")
    } else {
        dir.path().join("B-dashboard.png")
    };
    std::fs::write(&path, &png).expect("the screenshot is saved");
    eprintln!(
        "the browser part took {:?}; screenshot ({} bytes) at {}",
        started.elapsed(),
        png.len(),
        path.display()
    );

    drop(page);
    runtime.block_on(server.shutdown());
}
