//! Echo round trips per second: the testkit's `/ws` against a minimal
//! tokio-tungstenite echo server (accept_async + forward loop), same process,
//! same client, same number of messages, measured alternately in the same
//! run. The testkit records every frame, so it does more work per message;
//! the target is at least 0.9 × the minimal server (issue 11).
//!
//! The minimal server runs twice: with tungstenite's default configuration
//! (the baseline) and with the testkit's read buffer
//! (`testkit::READ_BUFFER_SIZE`), which leaves only the testkit's own work
//! (recording, counters, fault options) in the second ratio.
//!
//! Run with `cargo bench -p testkit --bench echo`. On a shared machine the
//! numbers vary from run to run: the ratios printed are medians of paired
//! runs with their spread. An independent check with many connections, the
//! client on a runtime of its own and the servers' CPU time per round trip:
//! `cargo run --release -p testkit --example echo_load`.

mod baseline;

use std::time::{Duration, Instant};

use baseline::{median, minimal_echo_server};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

/// Concurrent client connections.
const CONNECTIONS: usize = 4;
/// Sequential round trips per connection (20 000 in all).
const ROUND_TRIPS: usize = 5_000;
/// Measured runs per server; each run measures every server once.
const RUNS: usize = 5;

async fn client(url: String) -> Result<(), String> {
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
        .await
        .map_err(|e| e.to_string())?;
    for i in 0..ROUND_TRIPS {
        let text = format!("message {i}");
        ws.send(Message::text(text.as_str()))
            .await
            .map_err(|e| e.to_string())?;
        match ws.next().await {
            Some(Ok(Message::Text(echo))) if echo.as_str() == text => {}
            other => return Err(format!("bad echo: {other:?}")),
        }
    }
    let _ = ws.close(None).await;
    Ok(())
}

/// Round trips per second over `CONNECTIONS` concurrent connections.
async fn measure(url: &str) -> Result<f64, String> {
    let started = Instant::now();
    let clients: Vec<_> = (0..CONNECTIONS)
        .map(|_| tokio::spawn(client(url.to_owned())))
        .collect();
    for handle in clients {
        handle.await.map_err(|e| e.to_string())??;
    }
    let elapsed = started.elapsed().max(Duration::from_micros(1));
    Ok((CONNECTIONS * ROUND_TRIPS) as f64 / elapsed.as_secs_f64())
}

/// "median (spread low–high)" of `values`.
fn summary(mut values: Vec<f64>) -> String {
    let middle = median(&mut values);
    let (low, high) = (values[0], values[values.len() - 1]);
    format!("{middle:.2} (spread {low:.2}–{high:.2})")
}

async fn bench() -> Result<(), String> {
    let testkit = testkit::TestServer::start()
        .await
        .map_err(|e| e.to_string())?;
    let minimal = minimal_echo_server(None).await.map_err(|e| e.to_string())?;
    let minimal_same = minimal_echo_server(Some(testkit::READ_BUFFER_SIZE))
        .await
        .map_err(|e| e.to_string())?;
    let urls = [
        testkit.ws_url("/ws"),
        format!("ws://{minimal}/ws"),
        format!("ws://{minimal_same}/ws"),
    ];
    // Warm up every server (connection setup, allocator, caches).
    for url in &urls {
        measure(url).await?;
    }
    // rates[server][run]; the order of the servers turns every run so that
    // drift in the machine's load hits each alike.
    let mut rates = [const { Vec::new() }; 3];
    for run in 0..RUNS {
        for step in 0..urls.len() {
            let server = (run + step) % urls.len();
            rates[server].push(measure(&urls[server]).await?);
        }
    }
    let best = |server: usize| rates[server].iter().copied().fold(0.0, f64::max);
    let ratios = |baseline: usize| -> Vec<f64> {
        (0..RUNS)
            .map(|run| rates[0][run] / rates[baseline][run])
            .collect()
    };
    let size = testkit::READ_BUFFER_SIZE;
    println!("echo round trips ({CONNECTIONS} connections × {ROUND_TRIPS}, best of {RUNS}):");
    let rows = [
        ("testkit /ws".to_owned(), best(0)),
        ("minimal echo server".to_owned(), best(1)),
        (format!("minimal, {size} B read buffer"), best(2)),
    ];
    for (name, rate) in rows {
        println!("  {name:<34}{rate:>8.0} round trips/s");
    }
    println!("ratio testkit/minimal, median of {RUNS} paired runs:");
    println!(
        "  ratio testkit/minimal              {}",
        summary(ratios(1))
    );
    println!(
        "  ratio testkit/minimal-same-buffer  {}",
        summary(ratios(2))
    );
    testkit.shutdown().await;
    Ok(())
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    if let Err(error) = runtime.block_on(bench()) {
        eprintln!("benchmark failed: {error}");
        std::process::exit(1);
    }
}
