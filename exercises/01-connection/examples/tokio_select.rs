//! `tokio::select!` waits for several futures at once and runs the branch of
//! the first one that is ready. In a loop, it is the heart of a task that
//! must react to more than one source (unit 01: the socket and the handle's
//! commands).
//!
//! Run it in `exercises/01-connection`: `cargo run --example tokio_select`.

use std::time::Duration;

use tokio::sync::mpsc;

/// Reacts to a tick every `every` and to each command, until the command
/// channel is closed. Prints each line and returns them all.
pub async fn run(mut commands: mpsc::Receiver<String>, every: Duration) -> Vec<String> {
    let start = tokio::time::Instant::now();
    let mut lines = Vec::new();
    let mut note = |what: String| {
        // Rounded to 10 ms: a real timer fires a millisecond or two late.
        let ms = (start.elapsed().as_millis() + 5) / 10 * 10;
        let line = format!("{ms:>4} ms  {what}");
        println!("{line}");
        lines.push(line);
    };
    let mut ticks = tokio::time::interval(every);
    loop {
        tokio::select! {
            // `pattern = future => handler`: the future that finishes first
            // wins; the other one is dropped (and made anew next time round).
            _ = ticks.tick() => note("tick".to_owned()),
            command = commands.recv() => match command {
                Some(text) => note(format!("command: {text}")),
                None => {
                    // Every sender is gone: nobody can ask anything anymore.
                    note("commands closed; stopping".to_owned());
                    break;
                }
            },
        }
    }
    lines
}

/// Sends "hello" after 250 ms and "world" 300 ms later, then hangs up.
pub async fn send_two(commands: mpsc::Sender<String>) {
    for (pause, text) in [(250, "hello"), (300, "world")] {
        tokio::time::sleep(Duration::from_millis(pause)).await;
        if commands.send(text.to_owned()).await.is_err() {
            return;
        }
    }
    // `commands` is dropped here, which closes the channel.
}

#[tokio::main]
async fn main() {
    let (commands, receiver) = mpsc::channel(8);
    tokio::spawn(send_two(commands));
    run(receiver, Duration::from_millis(200)).await;
}
