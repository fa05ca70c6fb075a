//! `outbox-sender`: drives a [`Client`] from standard input, one command a
//! line. The crash check of chapter 12 starts it, kills it with SIGKILL in
//! the middle of sending, and starts it again on the same outbox.
//!
//! ```text
//! outbox-sender <url> <client-name> <outbox-dir> [online|offline]
//!   send <to> <body>   accept a message; prints "accepted <seq> <id>"
//!   online | offline   a network change (Wi-Fi / none)
//!   drain              wait until the server acknowledged everything; prints "drained"
//!   (end of input)     shut down with Close(1001)
//! ```

use std::io::Write;
use std::process::ExitCode;

use offline::{AppState, Client, ClientOptions, Conditions, Network};
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, client, dir, rest @ ..] = args.as_slice() else {
        eprintln!("usage: outbox-sender <url> <client-name> <outbox-dir> [online|offline]");
        return ExitCode::from(2);
    };
    let network = match rest.first().map(String::as_str) {
        Some("offline") => Network::Offline,
        _ => Network::Wifi,
    };
    let options = ClientOptions {
        url: url.clone(),
        client: client.clone(),
        outbox_dir: dir.into(),
        conditions: Conditions::new(network, AppState::Foreground),
        resume_from: 0,
    };
    let mut client = match Client::start(options).await {
        Ok(client) => client,
        Err(error) => {
            eprintln!("outbox-sender: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut stdout = std::io::stdout();
    while let Ok(Some(line)) = lines.next_line().await {
        let reply = match line.split_once(' ').unwrap_or((line.as_str(), "")) {
            ("send", rest) => {
                let (to, body) = rest.split_once(' ').unwrap_or((rest, ""));
                match client.send(to, body).await {
                    Ok(entry) => format!("accepted {} {}", entry.seq, entry.id),
                    Err(error) => format!("error {error}"),
                }
            }
            ("online", _) => {
                client.set_conditions(Conditions::new(Network::Wifi, AppState::Foreground));
                "ok".to_owned()
            }
            ("offline", _) => {
                client.set_conditions(Conditions::new(Network::Offline, AppState::Foreground));
                "ok".to_owned()
            }
            ("drain", _) => {
                client.wait_until_drained().await;
                "drained".to_owned()
            }
            (other, _) => format!("error unknown command {other:?}"),
        };
        if writeln!(stdout, "{reply}")
            .and_then(|()| stdout.flush())
            .is_err()
        {
            break;
        }
    }
    client.shutdown().await;
    ExitCode::SUCCESS
}
