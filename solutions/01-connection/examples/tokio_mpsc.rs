//! A bounded `mpsc` channel: many senders, one receiver. `recv()` returns
//! `None` once every sender is gone, and `send` fails once the receiver is.
//!
//! Run it in `exercises/01-connection`: `cargo run --example tokio_mpsc`.

use tokio::sync::mpsc;

/// Two producer tasks send three messages each through a channel that holds
/// at most `capacity`; returns everything the receiver got, in order.
pub async fn collect_from_two_producers(capacity: usize) -> Vec<String> {
    let (sender, mut receiver) = mpsc::channel::<String>(capacity);
    for name in ["a", "b"] {
        let sender = sender.clone();
        tokio::spawn(async move {
            for i in 1..=3 {
                // `send` waits while the channel is full: backpressure.
                if sender.send(format!("{name}{i}")).await.is_err() {
                    return; // the receiver is gone: nobody wants more
                }
            }
            // This clone of the sender is dropped here.
        });
    }
    // Drop our own sender: only the producers' clones are left, so `recv()`
    // returns `None` once both producers have finished.
    drop(sender);

    let mut received = Vec::new();
    while let Some(message) = receiver.recv().await {
        received.push(message);
    }
    received
}

/// Sends into a channel whose receiver has been dropped.
pub async fn send_without_receiver() -> Result<(), mpsc::error::SendError<String>> {
    let (sender, receiver) = mpsc::channel::<String>(8);
    drop(receiver);
    sender.send("anyone there?".to_owned()).await
}

#[tokio::main]
async fn main() {
    let received = collect_from_two_producers(2).await;
    println!("received {received:?}");
    println!("recv() returned None: every sender is gone");

    match send_without_receiver().await {
        Ok(()) => println!("sent?"),
        Err(error) => println!("send failed: {error}, and gave back {:?}", error.0),
    }
}
