//! The chat system from a terminal.
//!
//! ```text
//! chat-cli serve [ADDR] [DATABASE]     run a server (default 127.0.0.1:8009, chat.db) until Ctrl-C
//! chat-cli join URL USER ROOM          the terminal client
//! ```
//!
//! In the client, a line of text is a message; commands start with `/`:
//! `/join ROOM`, `/search WORDS`, `/quick` (list), `/q N` (send quick reply
//! N), `/typing`, `/read` (mark the room read), `/attach PATH`, `/quit`.
//! The screen is redrawn after every event: the room's last lines with
//! status marks, and who is typing.

use std::net::SocketAddr;
use std::time::Duration;

use chat::{ChatClient, Config, Conversation, Event, MessageKind, QUICK_REPLIES, Server};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::time::Instant;

/// Lines of the room shown at once.
const SCREEN_LINES: usize = 20;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["serve", rest @ ..] => serve(rest.first().copied(), rest.get(1).copied()).await,
        ["join", url, user, room] => join(url, user, room).await,
        _ => Err("usage: chat-cli serve [ADDR] [DATABASE] | chat-cli join URL USER ROOM".into()),
    };
    if let Err(error) = outcome {
        eprintln!("chat-cli: {error}");
        std::process::exit(1);
    }
}

type BoxError = Box<dyn std::error::Error>;

async fn serve(addr: Option<&str>, database: Option<&str>) -> Result<(), BoxError> {
    let mut config = Config::new(database.unwrap_or("chat.db"));
    config.addr = addr.unwrap_or("127.0.0.1:8009").parse::<SocketAddr>()?;
    let server = Server::start(config).await?;
    println!(
        "chat server on {} — connect with: chat-cli join {} NAME ROOM",
        server.url(),
        server.url()
    );
    tokio::signal::ctrl_c().await?;
    println!("shutting down");
    server.shutdown().await;
    Ok(())
}

async fn join(url: &str, user: &str, room: &str) -> Result<(), BoxError> {
    let mut client = ChatClient::connect(url, user).await?;
    let mut view = Conversation::new(room, user);
    let history = client.join(room).await?;
    view.apply(
        &chat::ServerMessage::Joined {
            room: room.to_owned(),
            history,
        },
        Instant::now(),
    );
    let mut status = String::from(
        "type a message, or /quick, /q N, /search WORDS, /join ROOM, /read, /attach PATH, /quit",
    );
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    loop {
        draw(&mut view, &status);
        // Wake up when the next typing indicator ends, to redraw without it.
        let redraw = view
            .typing
            .next_expiry()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            line = lines.next_line() => {
                let Some(line) = line? else { break };
                match command(&mut client, &mut view, line.trim()).await {
                    Ok(Some(text)) => status = text,
                    Ok(None) => break,
                    Err(error) => status = format!("error: {error}"),
                }
            }
            event = client.next_event() => match event? {
                Event::Server(message) => {
                    if let chat::ServerMessage::Error { message, .. } = &message {
                        status = format!("refused: {message}");
                    }
                    view.apply(&message, Instant::now());
                }
                Event::Attachment { header, bytes } => {
                    status = format!("fetched {} ({} bytes)", header.name, bytes.len());
                }
                Event::Closed { code, reason } => {
                    println!("the server closed the connection: {code} {reason}");
                    return Ok(());
                }
            },
            () = tokio::time::sleep_until(redraw) => {}
        }
    }
    client.close().await?;
    Ok(())
}

/// Runs one input line; `Ok(None)` means quit, `Ok(Some(status))` a new
/// status line.
async fn command(
    client: &mut ChatClient,
    view: &mut Conversation,
    line: &str,
) -> Result<Option<String>, BoxError> {
    let room = view.room.clone();
    let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
    let status = match verb {
        "" => String::new(),
        "/quit" => return Ok(None),
        "/quick" => QUICK_REPLIES
            .iter()
            .enumerate()
            .map(|(index, reply)| format!("/q {}: {reply}", index + 1))
            .collect::<Vec<_>>()
            .join("   "),
        "/q" => {
            client.send_quick_reply(&room, rest.trim().parse()?).await?;
            String::new()
        }
        "/typing" => {
            client.typing(&room).await?;
            String::new()
        }
        "/search" => {
            let found = client.search(&room, rest).await?;
            let lines: Vec<String> = found
                .iter()
                .map(|m| chat::message_line(m, client.user()))
                .collect();
            format!("{} found:\n{}", found.len(), lines.join("\n"))
        }
        "/join" => {
            let history = client.join(rest.trim()).await?;
            *view = Conversation::new(rest.trim(), client.user());
            view.apply(
                &chat::ServerMessage::Joined {
                    room: rest.trim().to_owned(),
                    history,
                },
                Instant::now(),
            );
            format!("joined {}", rest.trim())
        }
        "/read" => {
            let unread: Vec<i64> = view
                .messages
                .iter()
                .filter(|m| m.user != client.user())
                .map(|m| m.id)
                .collect();
            for id in &unread {
                client.mark_read(*id).await?;
            }
            format!("marked {} messages read", unread.len())
        }
        "/attach" => {
            let path = std::path::Path::new(rest.trim());
            let bytes = tokio::fs::read(path).await?;
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
            let (kind, mime) = match path.extension().and_then(|e| e.to_str()) {
                Some("png") => (MessageKind::Image, "image/png"),
                Some("jpg" | "jpeg") => (MessageKind::Image, "image/jpeg"),
                Some("gif") => (MessageKind::Image, "image/gif"),
                _ => (MessageKind::File, "application/octet-stream"),
            };
            client
                .send_attachment(&room, kind, name, mime, &bytes)
                .await?;
            format!("sending {name}")
        }
        _ if line.starts_with('/') => format!("unknown command {verb}"),
        _ => {
            client.send_text(&room, line).await?;
            String::new()
        }
    };
    Ok(Some(status))
}

fn draw(view: &mut Conversation, status: &str) {
    // Clear the screen and go home, then the room and the status line.
    print!("\x1b[2J\x1b[H");
    println!("{}", view.render(SCREEN_LINES, Instant::now()));
    if !status.is_empty() {
        println!("\n{status}");
    }
    print!("> ");
    use std::io::Write;
    let _ = std::io::stdout().flush();
}
