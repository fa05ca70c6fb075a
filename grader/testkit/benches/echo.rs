//! Echo round trips per second: the testkit's `/ws` against a minimal
//! tokio-tungstenite echo server (accept_async + forward loop), same process,
//! same client. The testkit records every frame, so it does more work per
//! message; the target is at least 0.9 × the minimal server.
//!
//! Run with `cargo bench -p testkit --bench echo`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

/// Concurrent client connections.
const CONNECTIONS: usize = 4;
/// Sequential round trips per connection (20 000 in all).
const ROUND_TRIPS: usize = 5_000;
/// Measured runs per server; the best counts (the least disturbed by noise).
const RUNS: usize = 3;

async fn minimal_echo_server() -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                while let Some(Ok(message)) = ws.next().await {
                    if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    Ok(addr)
}

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

async fn bench() -> Result<(), String> {
    let testkit = testkit::TestServer::start()
        .await
        .map_err(|e| e.to_string())?;
    let minimal = minimal_echo_server().await.map_err(|e| e.to_string())?;
    let testkit_url = testkit.ws_url("/ws");
    let minimal_url = format!("ws://{minimal}/ws");
    // Warm up both (connection setup, allocator, caches).
    measure(&testkit_url).await?;
    measure(&minimal_url).await?;
    let (mut best_testkit, mut best_minimal) = (0.0f64, 0.0f64);
    for _ in 0..RUNS {
        best_testkit = best_testkit.max(measure(&testkit_url).await?);
        best_minimal = best_minimal.max(measure(&minimal_url).await?);
    }
    println!("echo round trips ({CONNECTIONS} connections × {ROUND_TRIPS}, best of {RUNS}):");
    println!("  testkit /ws          {best_testkit:>10.0} round trips/s");
    println!("  minimal echo server  {best_minimal:>10.0} round trips/s");
    println!("  ratio testkit/minimal {:.2}", best_testkit / best_minimal);
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
