//! `tokio::spawn` and `JoinHandle`: start a task that runs beside your own
//! code, then collect its result.
//!
//! Run it in `exercises/01-connection`: `cargo run --example tokio_spawn`.

use std::time::Duration;

use tokio::task::JoinHandle;

/// Starts a task that adds up `1..=n`, sleeping `step` before each number,
/// and returns at once with the task's handle.
pub fn spawn_sum(n: u64, step: Duration) -> JoinHandle<u64> {
    // `async move`: the task takes ownership of what it uses (`n`, `step`),
    // because it may outlive the function that spawned it.
    tokio::spawn(async move {
        let mut sum = 0;
        for i in 1..=n {
            tokio::time::sleep(step).await;
            sum += i;
        }
        sum
    })
}

#[tokio::main]
async fn main() {
    let handle = spawn_sum(3, Duration::from_millis(100));
    // The task runs on its own now; `main` could do other work meanwhile.
    println!("spawned; finished yet? {}", handle.is_finished());

    // Awaiting the handle waits for the task's return value.
    match handle.await {
        Ok(sum) => println!("the task returned {sum}"),
        Err(error) => println!("the task failed: {error}"),
    }

    // A task that would never end on its own can be stopped from outside.
    let endless = tokio::spawn(std::future::pending::<()>());
    endless.abort();
    match endless.await {
        Ok(()) => println!("the endless task returned?"),
        Err(error) => println!("aborted: is_cancelled() = {}", error.is_cancelled()),
    }
}
