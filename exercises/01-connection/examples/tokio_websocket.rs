//! A `WebSocketStream` is both a `Stream` of incoming messages (read them
//! with `StreamExt::next`) and a `Sink` of outgoing ones (write them with
//! `SinkExt::send`); `split()` cuts it into a write half and a read half.
//!
//! Run it in `exercises/01-connection`: `cargo run --example tokio_websocket`
//! (it starts the course's testkit server itself, on a free port). Add
//! `-- sink-close` to end the connection with `SinkExt::close` instead.

use futures_util::{SinkExt, StreamExt};
use testkit::TestServer;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error, Message};

/// How [`talk`] ends the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Send `Message::Close` with code 1000 and a reason.
    CloseFrame,
    /// Call `SinkExt::close` on the write half.
    SinkClose,
}

/// Sends a text and a binary message to the echo endpoint at `url`, reads
/// what comes back, closes as `ending` says and reads until the stream ends.
/// Returns every message read, in order.
pub async fn talk(url: &str, ending: Ending) -> Result<Vec<Message>, Error> {
    let (socket, _response) = tokio_tungstenite::connect_async(url).await?;
    let (mut write, mut read) = socket.split();

    // `send` writes the message and flushes it.
    write.send(Message::text("hello")).await?;
    write.send(Message::binary(vec![1, 2, 3])).await?;

    let mut received = Vec::new();
    // `next` is `None` once the stream has ended; each item is a `Result`.
    while received.len() < 2 {
        match read.next().await {
            Some(message) => received.push(message?),
            None => return Ok(received),
        }
    }

    match ending {
        Ending::CloseFrame => {
            let frame = CloseFrame {
                code: CloseCode::Normal,
                reason: "bye".into(),
            };
            write.send(Message::Close(Some(frame))).await?;
        }
        Ending::SinkClose => write.close().await?,
    }
    // The close handshake: read on until the server's Close, and the end.
    while let Some(message) = read.next().await {
        received.push(message?);
    }
    Ok(received)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ending = match std::env::args().nth(1).as_deref() {
        Some("sink-close") => Ending::SinkClose,
        _ => Ending::CloseFrame,
    };
    let server = TestServer::start().await?;
    for message in talk(&server.ws_url("/ws"), ending).await? {
        match message {
            Message::Text(text) => println!("received Text {:?}", text.as_str()),
            Message::Binary(bytes) => println!("received Binary {:?}", &bytes[..]),
            Message::Close(Some(frame)) => {
                let code = u16::from(frame.code);
                println!("received Close {code} {:?}", frame.reason.as_str());
            }
            Message::Close(None) => println!("received Close without a code"),
            other => println!("received {other:?}"),
        }
    }
    // The server records every connection; ours is the first.
    if let Some(record) = server.connections().first()
        && let Some(close) = &record.close_received
    {
        println!("the server got our Close with code {}", close.code);
    }
    Ok(())
}
