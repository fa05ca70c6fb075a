//! An independent load client for the testkit's echo: many connections, small
//! messages, each waiting for its echo before sending the next. It measures
//! the testkit's `/ws` and a minimal tokio-tungstenite echo server (the
//! baseline, started in the same run) alternately and prints both throughputs
//! and their ratio (issue 11: the goal is ≥ 0.9, the stretch 1.0).
//!
//! Unlike `benches/echo.rs` (4 connections, client and servers on one
//! runtime), the client here runs on a runtime of its own, as an outside load
//! client would, with many more connections.
//!
//! ```text
//! cargo run --release -p testkit --example echo_load
//! cargo run --release -p testkit --example echo_load -- --connections 100 --messages 200 --rounds 7
//! cargo run --release -p testkit --example echo_load -- --only testkit --rounds 1   # for a profiler
//! ```
//!
//! `--only testkit|minimal` measures one server `--rounds` times (no
//! warm-up, no baseline): a fixed amount of work for
//! `valgrind --tool=callgrind`.
//!
//! The minimal server uses tungstenite's default configuration, whose
//! 128 KiB read buffer is zeroed before every read; the testkit reads with
//! `testkit::READ_BUFFER_SIZE`. `--minimal-read-buffer 8192` gives the
//! minimal server the testkit's buffer, which isolates the testkit's own
//! per-message work (recording, counters, fault options).

#[path = "../benches/baseline/mod.rs"]
mod baseline;

use std::time::{Duration, Instant};

use baseline::{median, minimal_echo_server};
use futures_util::{SinkExt, StreamExt};
use tokio::runtime::Runtime;
use tokio_tungstenite::tungstenite::Message;

/// Every network wait of the client gives up after this long.
const WAIT: Duration = Duration::from_secs(10);
/// The size of every message, in bytes (the issue's load: 20 B).
const MESSAGE_BYTES: usize = 20;
/// The servers' runtime threads are named so (at most 15 bytes, as Linux
/// keeps them), so that their CPU time can be told from the client's.
const SERVER_THREADS: &str = "echo-servers";

struct Options {
    connections: usize,
    messages: usize,
    rounds: usize,
    only: Option<Server>,
    /// tungstenite's default when `None`.
    minimal_read_buffer: Option<usize>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Server {
    Testkit,
    Minimal,
}

impl Server {
    fn name(self) -> &'static str {
        match self {
            Server::Testkit => "testkit /ws",
            Server::Minimal => "minimal echo server",
        }
    }
}

fn usage(problem: &str) -> String {
    format!(
        "{problem}\nusage: echo_load [--connections N] [--messages N per connection] \
         [--rounds N] [--only testkit|minimal] [--minimal-read-buffer BYTES]"
    )
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        connections: 100,
        messages: 200,
        rounds: 7,
        only: None,
        minimal_read_buffer: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .ok_or_else(|| usage(&format!("`{flag}` needs a value")))?;
        let number = || {
            value
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| usage(&format!("`{flag}`: expected a number ≥ 1, got `{value}`")))
        };
        match flag.as_str() {
            "--connections" => options.connections = number()?,
            "--messages" => options.messages = number()?,
            "--rounds" => options.rounds = number()?,
            "--minimal-read-buffer" => options.minimal_read_buffer = Some(number()?),
            "--only" => {
                options.only = Some(match value.as_str() {
                    "testkit" => Server::Testkit,
                    "minimal" => Server::Minimal,
                    _ => return Err(usage(&format!("`--only`: unknown server `{value}`"))),
                });
            }
            _ => return Err(usage(&format!("unknown option `{flag}`"))),
        }
    }
    Ok(options)
}

/// A 20-byte text unique to the connection and the message.
fn payload(connection: usize, seq: usize) -> String {
    let text = format!("c{connection:05} m{seq:012}");
    debug_assert_eq!(text.len(), MESSAGE_BYTES);
    text
}

async fn timed<T>(what: &str, future: impl Future<Output = T>) -> Result<T, String> {
    tokio::time::timeout(WAIT, future)
        .await
        .map_err(|_| format!("{what}: no answer within {WAIT:?}"))
}

/// One measurement of one server.
struct Sample {
    /// Round trips per second.
    rate: f64,
    /// The servers' CPU time per round trip, in µs (Linux only).
    server_cpu_us: Option<f64>,
}

/// CPU time, in ns, of this process's threads whose name starts with
/// `prefix`, from `/proc/self/task/*/schedstat` (`None` without it).
fn threads_cpu_ns(prefix: &str) -> Option<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir("/proc/self/task").ok()? {
        let dir = entry.ok()?.path();
        // A thread may end while we read: skip it.
        let Ok(name) = std::fs::read_to_string(dir.join("comm")) else {
            continue;
        };
        if !name.starts_with(prefix) {
            continue;
        }
        let Ok(schedstat) = std::fs::read_to_string(dir.join("schedstat")) else {
            continue;
        };
        total += schedstat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total)
}

/// All connections open first, then each sends `messages` messages, one at a
/// time; the clock (and the servers' CPU time) runs from the first message
/// until every echo is in, before any connection closes.
async fn measure(url: &str, options: &Options) -> Result<Sample, String> {
    let mut sockets = Vec::with_capacity(options.connections);
    for _ in 0..options.connections {
        let (ws, _) = timed(
            "connect",
            tokio_tungstenite::connect_async_with_config(url, None, true),
        )
        .await?
        .map_err(|e| format!("connect to {url}: {e}"))?;
        sockets.push(ws);
    }
    let messages = options.messages;
    let cpu_before = threads_cpu_ns(SERVER_THREADS);
    let started = Instant::now();
    let clients: Vec<_> = sockets
        .into_iter()
        .enumerate()
        .map(|(connection, mut ws)| {
            tokio::spawn(async move {
                for seq in 0..messages {
                    let text = payload(connection, seq);
                    timed("send", ws.send(Message::text(text.as_str())))
                        .await?
                        .map_err(|e| format!("send: {e}"))?;
                    match timed("echo", ws.next()).await? {
                        Some(Ok(Message::Text(echo))) if echo.as_str() == text => {}
                        other => return Err(format!("expected the echo {text:?}, got {other:?}")),
                    }
                }
                Ok::<_, String>(ws)
            })
        })
        .collect();
    let mut sockets = Vec::with_capacity(clients.len());
    for client in clients {
        sockets.push(client.await.map_err(|e| e.to_string())??);
    }
    let elapsed = started.elapsed().max(Duration::from_micros(1));
    let cpu_after = threads_cpu_ns(SERVER_THREADS);
    for mut ws in sockets {
        let _ = timed("close", ws.close(None)).await;
    }
    let round_trips = (options.connections * messages) as f64;
    let server_cpu_us = cpu_before
        .zip(cpu_after)
        .map(|(before, after)| after.saturating_sub(before) as f64 / 1000.0 / round_trips);
    Ok(Sample {
        rate: round_trips / elapsed.as_secs_f64(),
        server_cpu_us,
    })
}

fn micros(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".to_owned(), |us| format!("{us:.1} µs"))
}

/// Median and spread of `values` (sorted in place).
fn summary(values: &mut [f64]) -> String {
    let middle = median(values);
    let (low, high) = (values[0], values[values.len() - 1]);
    format!("{middle:.2} (spread {low:.2}–{high:.2})")
}

/// Medians over the rounds, and the two ratios: throughput (testkit/minimal)
/// and CPU efficiency (minimal's server CPU / testkit's), both ≥ 1 when the
/// testkit is as good as the minimal server.
fn report(rounds: &[(Sample, Sample)]) {
    let n = rounds.len();
    let mut tk: Vec<f64> = rounds.iter().map(|(tk, _)| tk.rate).collect();
    let mut min: Vec<f64> = rounds.iter().map(|(_, min)| min.rate).collect();
    let mut ratios: Vec<f64> = rounds.iter().map(|(tk, min)| tk.rate / min.rate).collect();
    println!("median of {n} rounds:");
    println!(
        "  testkit /ws          {:>8.0} round trips/s",
        median(&mut tk)
    );
    println!(
        "  minimal echo server  {:>8.0} round trips/s",
        median(&mut min)
    );
    println!(
        "  throughput ratio testkit/minimal  {}",
        summary(&mut ratios)
    );
    let cpu: Option<Vec<(f64, f64)>> = rounds
        .iter()
        .map(|(tk, min)| tk.server_cpu_us.zip(min.server_cpu_us))
        .collect();
    if let Some(cpu) = cpu.filter(|cpu| cpu.iter().all(|(tk, _)| *tk > 0.0)) {
        let mut tk: Vec<f64> = cpu.iter().map(|(tk, _)| *tk).collect();
        let mut min: Vec<f64> = cpu.iter().map(|(_, min)| *min).collect();
        let mut ratios: Vec<f64> = cpu.iter().map(|(tk, min)| min / tk).collect();
        println!(
            "  server CPU per round trip: testkit {:.1} µs, minimal {:.1} µs",
            median(&mut tk),
            median(&mut min)
        );
        println!(
            "  CPU ratio minimal/testkit         {}",
            summary(&mut ratios)
        );
    }
}

fn runtime(name: &str) -> Result<Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .thread_name(name)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

fn run(options: &Options) -> Result<(), String> {
    // The servers on one runtime, the client on another: like an outside
    // load client, the client's work does not run on the servers' threads.
    let servers = runtime(SERVER_THREADS)?;
    let client = runtime("echo-load-client")?;
    let testkit = servers
        .block_on(testkit::TestServer::start())
        .map_err(|e| e.to_string())?;
    let minimal = servers
        .block_on(minimal_echo_server(options.minimal_read_buffer))
        .map_err(|e| e.to_string())?;
    let url = |server: Server| match server {
        Server::Testkit => testkit.ws_url("/ws"),
        Server::Minimal => format!("ws://{minimal}/ws"),
    };
    let (connections, messages) = (options.connections, options.messages);
    println!(
        "echo load: {connections} connections × {messages} messages of {MESSAGE_BYTES} B, \
         one in flight per connection"
    );
    println!(
        "read buffers: testkit {} B, minimal {}",
        testkit::READ_BUFFER_SIZE,
        options.minimal_read_buffer.map_or_else(
            || "tungstenite's default".to_owned(),
            |size| format!("{size} B")
        )
    );
    if let Some(server) = options.only {
        for _ in 0..options.rounds {
            let sample = client.block_on(measure(&url(server), options))?;
            println!(
                "  {:<20} {:>8.0} round trips/s  server CPU {}",
                server.name(),
                sample.rate,
                micros(sample.server_cpu_us)
            );
        }
    } else {
        // Warm up both, then alternate which goes first so that drift in the
        // machine's load hits both alike.
        client.block_on(measure(&url(Server::Testkit), options))?;
        client.block_on(measure(&url(Server::Minimal), options))?;
        let mut rounds = Vec::new();
        for round in 0..options.rounds {
            let order = if round % 2 == 0 {
                [Server::Testkit, Server::Minimal]
            } else {
                [Server::Minimal, Server::Testkit]
            };
            let (mut tk, mut min) = (None, None);
            for server in order {
                let sample = client.block_on(measure(&url(server), options))?;
                match server {
                    Server::Testkit => tk = Some(sample),
                    Server::Minimal => min = Some(sample),
                }
            }
            let (Some(tk), Some(min)) = (tk, min) else {
                unreachable!("both servers were measured");
            };
            println!(
                "  round {}: testkit {:>6.0}/s  minimal {:>6.0}/s  ratio {:.2}   \
                 server CPU per round trip: testkit {}  minimal {}",
                round + 1,
                tk.rate,
                min.rate,
                tk.rate / min.rate,
                micros(tk.server_cpu_us),
                micros(min.server_cpu_us)
            );
            rounds.push((tk, min));
        }
        report(&rounds);
    }
    servers.block_on(testkit.shutdown());
    Ok(())
}

fn main() {
    let result = parse_options().and_then(|options| run(&options));
    if let Err(error) = result {
        eprintln!("echo_load: {error}");
        std::process::exit(1);
    }
}
