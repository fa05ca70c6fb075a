//! Throughput of the queue against a plain `tokio::sync::mpsc` pipeline,
//! in the same run: `cargo bench -p queue`. Not a test, not graded; it
//! prints both rates and their ratio, the price of de-duplication,
//! priorities, batching, bounded parallelism and exact statistics.
//!
//! Both pipelines move the same messages to a handler that does nothing,
//! on one current-thread runtime. The producer of the queue pushes 90 at
//! a time (nine full batches, so no 100 ms deadline is ever waited for)
//! and waits until the queue is idle, because the queue drops the oldest
//! when full rather than pushing back; the mpsc pipeline uses a bounded
//! channel of the same capacity, which pushes back on its own.

use std::hint::black_box;
use std::time::{Duration, Instant};

use queue::{HandleError, Handler, Kind, MAX_SIZE, Message, Queue, QueueConfig};

/// Messages per run.
const MESSAGES: u64 = 200_000;
/// Messages pushed before waiting for the queue to drain.
const CHUNK: u64 = 90;

/// A handler that does nothing, so the bench measures the queue.
struct Nothing;

impl Handler for Nothing {
    async fn handle(&self, message: Message) -> Result<(), HandleError> {
        black_box(message);
        Ok(())
    }
}

fn message(id: u64) -> Message {
    Message::new(id, Kind::Text, "x")
}

async fn through_the_queue() -> Duration {
    let queue = Queue::start(QueueConfig::default(), Nothing);
    let started = Instant::now();
    let mut id = 0;
    while id < MESSAGES {
        for _ in 0..CHUNK.min(MESSAGES - id) {
            queue.push(message(id));
            id += 1;
        }
        queue.wait_idle().await;
    }
    let elapsed = started.elapsed();
    let stats = queue.shutdown().await;
    assert_eq!(stats.processed, MESSAGES, "the bench lost messages");
    elapsed
}

async fn through_mpsc() -> Duration {
    let (sender, mut receiver) = tokio::sync::mpsc::channel(MAX_SIZE);
    let consumer = tokio::spawn(async move {
        let handler = Nothing;
        let mut processed = 0_u64;
        while let Some(message) = receiver.recv().await {
            if handler.handle(message).await.is_ok() {
                processed += 1;
            }
        }
        processed
    });
    let started = Instant::now();
    for id in 0..MESSAGES {
        if sender.send(message(id)).await.is_err() {
            break;
        }
    }
    drop(sender);
    let processed = consumer.await.unwrap_or_default();
    let elapsed = started.elapsed();
    assert_eq!(processed, MESSAGES, "the bench lost messages");
    elapsed
}

fn rate(elapsed: Duration) -> f64 {
    MESSAGES as f64 / elapsed.as_secs_f64()
}

fn main() {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("could not start a runtime: {error}");
            return;
        }
    };
    // One warm-up round of each, then the measured ones.
    runtime.block_on(through_the_queue());
    runtime.block_on(through_mpsc());
    let queue = rate(runtime.block_on(through_the_queue()));
    let mpsc = rate(runtime.block_on(through_mpsc()));
    println!("messages:           {MESSAGES}");
    println!("queue (this unit):  {queue:>12.0} items/s");
    println!("plain tokio mpsc:   {mpsc:>12.0} items/s");
    println!("ratio mpsc / queue: {:>12.1}x", mpsc / queue);
}
