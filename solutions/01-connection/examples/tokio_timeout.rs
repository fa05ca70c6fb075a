//! `tokio::time::timeout` puts a limit on how long you wait for a future.
//!
//! Run it in `exercises/01-connection`: `cargo run --example tokio_timeout`.

use std::time::Duration;

use tokio::time::error::Elapsed;

/// Stands in for a server that answers after `delay`.
async fn slow_answer(delay: Duration) -> &'static str {
    tokio::time::sleep(delay).await;
    "hello"
}

/// Waits for the answer, but at most `limit`.
pub async fn ask(delay: Duration, limit: Duration) -> Result<&'static str, Elapsed> {
    tokio::time::timeout(limit, slow_answer(delay)).await
}

#[tokio::main]
async fn main() {
    let limit = Duration::from_millis(500);
    for delay in [Duration::from_millis(100), Duration::from_secs(2)] {
        match ask(delay, limit).await {
            Ok(answer) => println!("answer after {delay:?}: {answer}"),
            Err(elapsed) => println!("no answer within {limit:?} ({elapsed})"),
        }
    }
}
