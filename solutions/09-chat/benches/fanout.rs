// region: stub
// //! The maintainers' fan-out bench lives in `solutions/09-chat/benches/fanout.rs`;
// //! it is not part of the exercise.
// endregion
// region: solution
//! Fan-out bench (maintainers only; not a test): one chat message fanned
//! out to 1 000 connected local clients, against a bare broadcast loop over
//! the same sockets in the same run.
//!
//! * **chat**: a client posts a text message; the server parses it, expands
//!   shortcodes, stores it in SQLite, acknowledges it and fans it out.
//! * **bare**: the server pushes one ready-made frame onto the same 1 000
//!   queues (`Server::broadcast_raw`): no parsing, no database, nothing else.
//!
//! Each round is timed from the trigger until the *last* client has read
//! the frame. Rounds alternate so that both see the same machine state;
//! the medians are compared as a throughput ratio `bare / chat` (1.0: the
//! chat costs nothing over a bare loop; the target is at least 0.8).
//!
//! Run: `cargo bench -p chat --bench fanout` (loopback only; needs about
//! 2 × 1 000 file descriptors, raised from the soft to the hard limit with
//! `prlimit` when the soft one is lower).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chat::{Config, Server};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message;

/// The clients the issue asks for.
const CLIENTS: usize = 1_000;
/// Rounds of each kind (after the warm-up).
const ROUNDS: usize = 40;
/// Warm-up rounds of each kind, not counted.
const WARMUP: usize = 5;
/// No round may take longer than this.
const ROUND_LIMIT: Duration = Duration::from_secs(10);
/// The fan-out target from the issue.
const TARGET_RATIO: f64 = 0.8;

fn main() {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("could not start a runtime: {error}");
            std::process::exit(1);
        }
    };
    if let Err(error) = runtime.block_on(run()) {
        eprintln!("bench failed: {error}");
        std::process::exit(1);
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Counts the frames the clients read in the current round.
struct Round {
    received: AtomicUsize,
    all_in: Notify,
}

async fn run() -> Result<(), BoxError> {
    ensure_file_descriptors(2 * CLIENTS + 200);
    let dir = tempfile::tempdir()?;
    let server = Server::start(Config::new(dir.path().join("bench.db"))).await?;
    let url = server.url();

    let round = Arc::new(Round {
        received: AtomicUsize::new(0),
        all_in: Notify::new(),
    });
    let mut readers = tokio::task::JoinSet::new();
    for i in 0..CLIENTS {
        let (mut socket, _) = tokio_tungstenite::connect_async(format!("{url}?user=c{i}")).await?;
        socket
            .send(Message::text(r#"{"type":"join","room":"bench"}"#))
            .await?;
        // The first frame is the join's answer; after it, count.
        socket.next().await.ok_or("closed before joining")??;
        let round = Arc::clone(&round);
        readers.spawn(async move {
            while let Some(Ok(frame)) = socket.next().await {
                if matches!(frame, Message::Text(_))
                    && round.received.fetch_add(1, Ordering::SeqCst) + 1 == CLIENTS
                {
                    round.all_in.notify_one();
                }
            }
        });
    }
    // The poster is a member too, but not one of the counted clients.
    let (mut poster, _) = tokio_tungstenite::connect_async(format!("{url}?user=poster")).await?;
    poster
        .send(Message::text(r#"{"type":"join","room":"bench"}"#))
        .await?;
    poster.next().await.ok_or("closed before joining")??;
    let (mut poster_sink, mut poster_stream) = poster.split();
    readers.spawn(async move { while let Some(Ok(_)) = poster_stream.next().await {} });
    while server.members("bench").await < CLIENTS + 1 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let bare_frame = r#"{"type":"message","message":{"id":0,"room":"bench","seq":0,"user":"poster","kind":"text","text":"hello everyone 😄","attachment":null,"sent_at":0,"status":"sent"}}"#;
    let mut chat_times = Vec::new();
    let mut bare_times = Vec::new();
    for index in 0..WARMUP + ROUNDS {
        let chat = timed(&round, async {
            let text = format!(
                r#"{{"type":"text","room":"bench","client_id":"b{index}","text":"hello everyone :smile:"}}"#
            );
            poster_sink.send(Message::text(text)).await
        })
        .await?;
        let bare = timed(&round, async {
            server.broadcast_raw("bench", bare_frame).await;
            Ok::<(), std::convert::Infallible>(())
        })
        .await?;
        if index >= WARMUP {
            chat_times.push(chat);
            bare_times.push(bare);
        }
    }

    let chat = median(&mut chat_times);
    let bare = median(&mut bare_times);
    let ratio = bare.as_secs_f64() / chat.as_secs_f64();
    println!("fan-out to {CLIENTS} local clients, {ROUNDS} rounds each (medians):");
    println!(
        "  chat message (parse, SQLite, ack, fan-out): last client has it after {chat:?} (max {:?})",
        chat_times.last().copied().unwrap_or_default()
    );
    println!(
        "  bare broadcast loop, same sockets:          last client has it after {bare:?} (max {:?})",
        bare_times.last().copied().unwrap_or_default()
    );
    println!(
        "  throughput ratio chat/bare = {ratio:.2} (target >= {TARGET_RATIO}): {}",
        if ratio >= TARGET_RATIO {
            "met"
        } else {
            "NOT met"
        }
    );

    drop(poster_sink);
    server.shutdown().await;
    readers.shutdown().await;
    Ok(())
}

/// Runs `trigger` and waits until every client has read one frame.
async fn timed<E: std::error::Error + Send + Sync + 'static>(
    round: &Round,
    trigger: impl Future<Output = Result<(), E>>,
) -> Result<Duration, BoxError> {
    round.received.store(0, Ordering::SeqCst);
    let started = Instant::now();
    trigger.await?;
    tokio::time::timeout(ROUND_LIMIT, round.all_in.notified())
        .await
        .map_err(|_| "a round did not reach every client in time")?;
    Ok(started.elapsed())
}

/// Sorts the samples and returns the middle one.
fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

/// Raises the soft limit on open files to the hard limit with `prlimit`
/// when it is below `needed` (no `unsafe`, no extra dependency); reports
/// when that is not possible.
fn ensure_file_descriptors(needed: usize) {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .unwrap_or_default();
    // "Max open files  <soft>  <hard>  files"
    let fields: Vec<&str> = line.split_whitespace().collect();
    let soft = fields.get(3).and_then(|soft| soft.parse::<usize>().ok());
    let hard = fields.get(4).copied().unwrap_or("unlimited");
    match soft {
        Some(soft) if soft >= needed => {}
        Some(soft) => {
            let pid = std::process::id().to_string();
            let raised = std::process::Command::new("prlimit")
                .args(["--pid", &pid, &format!("--nofile={hard}:")])
                .status();
            println!(
                "open-file soft limit {soft} < {needed}: raising it to the hard limit with prlimit: {raised:?}"
            );
        }
        None => println!("could not read the open-file limit; {needed} descriptors are needed"),
    }
}
// endregion
