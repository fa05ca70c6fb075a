//! Alerts over the wire: rules from a file, the manual clock, the webhook,
//! silences, and a `kill -9` of the server while an alert fires.

mod common;

use common::{EPOCH, Process, advance_to, get, http, ingest, receiver, start_with, within};

const RULES: &str = r#"
[notify]
webhook = "WEBHOOK"
repeat_interval = "1h"

[[rule]]
name = "HighCpu"
selector = 'cpu{host="a"}'
op = ">"
threshold = 90
for = "5m"
keep_firing_for = "1m"
"#;

async fn state(address: std::net::SocketAddr) -> Option<String> {
    let (_, alerts) = get(address, "/api/alerts").await;
    alerts["alerts"]
        .as_array()
        .and_then(|alerts| alerts.iter().find(|alert| alert["rule"] == "HighCpu"))
        .and_then(|alert| alert["state"].as_str().map(str::to_owned))
}

#[tokio::test]
async fn a_rule_fires_after_its_for_and_notifies_once() {
    let dir = tempfile::tempdir().expect("a directory");
    let (url, mut notifications) = receiver().await;
    let rules = dir.path().join("rules.toml");
    std::fs::write(&rules, RULES.replace("WEBHOOK", &url)).expect("writes");
    let server = start_with(|config| {
        config.rules = Some(rules.clone());
        config.state = Some(dir.path().join("alerts.sqlite"));
    })
    .await;
    let address = server.local_addr();
    let mut now = EPOCH;
    // A sample every 30 s, always above the threshold.
    while now < EPOCH + 300_000 {
        ingest(address, &[("cpu", &[("host", "a")], now, 95.0)]).await;
        advance_to(address, now).await;
        assert_eq!(
            state(address).await.as_deref(),
            Some("pending"),
            "at +{} ms",
            now - EPOCH
        );
        now += 30_000;
    }
    advance_to(address, EPOCH + 299_999).await;
    assert_eq!(state(address).await.as_deref(), Some("pending"));
    advance_to(address, EPOCH + 300_000).await;
    assert_eq!(state(address).await.as_deref(), Some("firing"));
    let notification = within("the webhook", notifications.recv())
        .await
        .expect("a notification");
    assert_eq!(notification["status"], "firing");
    assert_eq!(notification["group"]["alertname"], "HighCpu");

    let (status, silence) = http(
        address,
        "POST",
        "/api/silences",
        "application/json",
        r#"{"matchers":"{alertname=\"HighCpu\"}","duration_ms":60000}"#,
    )
    .await;
    assert_eq!(status, 200, "{silence}");
    let (_, alerts) = get(address, "/api/alerts").await;
    assert_eq!(alerts["alerts"][0]["silenced"], true, "{alerts}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_bad_rules_file_is_refused_at_start_with_its_reason() {
    let dir = tempfile::tempdir().expect("a directory");
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "[[rule]]\nname = \"X\"\nselector = 'cpu{'\nop = \">\"\nthreshold = 1\n",
    )
    .expect("writes");
    let config = dashboard::Config {
        rules: Some(rules),
        ..dashboard::Config::default()
    };
    let refused =
        dashboard::Server::start("127.0.0.1:0".parse().expect("an address"), config).await;
    let error = refused.expect_err("a bad selector is refused").to_string();
    assert!(error.contains("selector") && error.contains('X'), "{error}");
}

/// The binary with the rules and the alert state in `dir`.
fn spawn(dir: &std::path::Path) -> Process {
    let (rules, state) = (dir.join("rules.toml"), dir.join("alerts.sqlite"));
    Process::spawn(&[
        "--rules".as_ref(),
        rules.as_ref(),
        "--state".as_ref(),
        state.as_ref(),
    ])
}

#[tokio::test]
async fn a_firing_alert_is_still_firing_after_kill_9() {
    let dir = tempfile::tempdir().expect("a directory");
    std::fs::write(
        dir.path().join("rules.toml"),
        RULES.replace("webhook = \"WEBHOOK\"\n", ""),
    )
    .expect("writes");
    let server = spawn(dir.path());
    let address = server.address;
    for step in 0..=10 {
        let now = EPOCH + step * 30_000;
        ingest(address, &[("cpu", &[("host", "a")], now, 95.0)]).await;
        advance_to(address, now).await;
    }
    assert_eq!(state(address).await.as_deref(), Some("firing"));
    server.kill_9();
    let server = spawn(dir.path());
    let address = server.address;
    assert_eq!(
        state(address).await.as_deref(),
        Some("firing"),
        "restored as firing, not pending"
    );
    ingest(address, &[("cpu", &[("host", "a")], EPOCH, 95.0)]).await;
    advance_to(address, EPOCH + 1_000).await;
    assert_eq!(
        state(address).await.as_deref(),
        Some("firing"),
        "still firing while the condition holds"
    );
    server.kill_9();
}
