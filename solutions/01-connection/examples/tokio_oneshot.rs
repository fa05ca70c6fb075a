//! A `oneshot` channel carries exactly one value: the answer to one
//! request. A request that carries its own `oneshot::Sender` gets its own
//! answer, which is how unit 01's handle talks to its I/O task.
//!
//! Run it in `exercises/01-connection`: `cargo run --example tokio_oneshot`.

use tokio::sync::{mpsc, oneshot};

/// A request to the counter task: add `amount`, answer with the new total.
#[derive(Debug)]
pub struct Add {
    /// How much to add.
    pub amount: u64,
    /// Where the new total goes.
    pub reply: oneshot::Sender<u64>,
}

/// The task that owns the counter: nobody else touches `total`.
pub async fn counter_task(mut requests: mpsc::Receiver<Add>) {
    let mut total = 0;
    while let Some(Add { amount, reply }) = requests.recv().await {
        total += amount;
        // `send` fails only if the asker stopped waiting: not our problem.
        let _ = reply.send(total);
    }
}

/// Asks the counter task to add `amount` and waits for the answer;
/// `None` when the task has ended.
pub async fn add(requests: &mpsc::Sender<Add>, amount: u64) -> Option<u64> {
    let (reply, answer) = oneshot::channel();
    // Fails when the task has ended (its receiver is gone).
    requests.send(Add { amount, reply }).await.ok()?;
    // Fails when the task dropped `reply` without answering.
    answer.await.ok()
}

#[tokio::main]
async fn main() {
    let (requests, receiver) = mpsc::channel(16);
    let task = tokio::spawn(counter_task(receiver));

    println!("add 2 -> {:?}", add(&requests, 2).await);
    println!("add 3 -> {:?}", add(&requests, 3).await);

    // End the task; every later request finds it gone.
    task.abort();
    let _ = task.await;
    println!(
        "add 1 after the task ended -> {:?}",
        add(&requests, 1).await
    );
}
