//! A chat client over one WebSocket: what the terminal client and the
//! checks use. Given, not a task: read it to see the protocol from the
//! other side.
//!
//! Replies arrive in the same stream as everything else (a message from
//! someone else can come between your search and its results), so the
//! methods that wait for a reply — [`ChatClient::join`],
//! [`ChatClient::search`], [`ChatClient::fetch`] — keep whatever else
//! arrives meanwhile, in order, for [`ChatClient::next_event`].
//!
//! Receiving a message from someone else sends the `delivered` receipt by
//! itself: "delivered" means the other person's app has it, and this is
//! their app. `read` is the user's doing: [`ChatClient::mark_read`].

use std::collections::VecDeque;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::emoji::quick_reply;
use crate::protocol::{
    ChatMessage, ClientMessage, DownloadHeader, MessageKind, ServerMessage, UploadHeader,
    decode_binary, encode_binary,
};

/// Something the server sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A JSON message.
    Server(ServerMessage),
    /// An attachment's bytes, the answer to a fetch.
    Attachment {
        /// Which attachment.
        header: DownloadHeader,
        /// Its bytes.
        bytes: Vec<u8>,
    },
    /// The server closed the connection with this code and reason.
    Closed {
        /// The close code (1005 when the Close frame had none).
        code: u16,
        /// The reason.
        reason: String,
    },
}

/// What went wrong on the client side.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The connection could not be opened.
    #[error("could not connect: {0}")]
    Connect(#[source] WsError),
    /// The connection failed.
    #[error("the connection failed: {0}")]
    Connection(#[source] WsError),
    /// The connection is closed.
    #[error("the connection is closed")]
    Closed,
    /// The server refused a request.
    #[error("the server refused: {code}: {message}")]
    Refused {
        /// The server's error code.
        code: String,
        /// The server's explanation.
        message: String,
    },
    /// The server sent something this client does not understand.
    #[error("unexpected frame from the server: {0}")]
    Protocol(String),
    /// There is no quick reply with that number.
    #[error("there is no quick reply number {0}")]
    NoSuchQuickReply(usize),
}

/// One user's connection to a chat server.
pub struct ChatClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    user: String,
    next_id: u64,
    pending: VecDeque<Event>,
}

impl ChatClient {
    /// Connects to `server_url` (e.g. `ws://127.0.0.1:8000/`) as `user`.
    pub async fn connect(server_url: &str, user: &str) -> Result<Self, ClientError> {
        let url = format!("{server_url}?user={user}");
        let (socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .map_err(ClientError::Connect)?;
        Ok(Self {
            socket,
            user: user.to_owned(),
            next_id: 1,
            pending: VecDeque::new(),
        })
    }

    /// Who this client is.
    pub fn user(&self) -> &str {
        &self.user
    }

    async fn send(&mut self, message: &ClientMessage) -> Result<(), ClientError> {
        let json =
            serde_json::to_string(message).map_err(|e| ClientError::Protocol(e.to_string()))?;
        self.socket
            .send(Message::text(json))
            .await
            .map_err(ClientError::Connection)
    }

    fn client_id(&mut self) -> String {
        let id = format!("{}-{}", self.user, self.next_id);
        self.next_id += 1;
        id
    }

    /// Joins `room` and returns its history, oldest first.
    pub async fn join(&mut self, room: &str) -> Result<Vec<ChatMessage>, ClientError> {
        self.send(&ClientMessage::Join {
            room: room.to_owned(),
        })
        .await?;
        let event = self
            .wait_for(|event| {
                matches!(event, Event::Server(ServerMessage::Joined { room: joined, .. }) if joined == room)
            })
            .await?;
        match event {
            Event::Server(ServerMessage::Joined { history, .. }) => Ok(history),
            other => Err(ClientError::Protocol(format!("{other:?}"))),
        }
    }

    /// Leaves `room`.
    pub async fn leave(&mut self, room: &str) -> Result<(), ClientError> {
        self.send(&ClientMessage::Leave {
            room: room.to_owned(),
        })
        .await
    }

    /// Posts `text` in `room`; returns the `client_id` that the server's
    /// [`ServerMessage::Sent`] will carry.
    pub async fn send_text(&mut self, room: &str, text: &str) -> Result<String, ClientError> {
        let client_id = self.client_id();
        self.send(&ClientMessage::Text {
            room: room.to_owned(),
            client_id: client_id.clone(),
            text: text.to_owned(),
        })
        .await?;
        Ok(client_id)
    }

    /// Posts quick reply number `number` (1-based) in `room`.
    pub async fn send_quick_reply(
        &mut self,
        room: &str,
        number: usize,
    ) -> Result<String, ClientError> {
        let text = quick_reply(number).ok_or(ClientError::NoSuchQuickReply(number))?;
        self.send_text(room, text).await
    }

    /// Posts an attachment as one binary frame; returns its `client_id`.
    pub async fn send_attachment(
        &mut self,
        room: &str,
        kind: MessageKind,
        name: &str,
        mime: &str,
        bytes: &[u8],
    ) -> Result<String, ClientError> {
        let client_id = self.client_id();
        let header = UploadHeader {
            room: room.to_owned(),
            client_id: client_id.clone(),
            kind,
            name: name.to_owned(),
            mime: mime.to_owned(),
        };
        self.socket
            .send(Message::binary(encode_binary(&header, bytes)))
            .await
            .map_err(ClientError::Connection)?;
        Ok(client_id)
    }

    /// Tells the room this user is typing (repeat it while they type).
    pub async fn typing(&mut self, room: &str) -> Result<(), ClientError> {
        self.send(&ClientMessage::Typing {
            room: room.to_owned(),
        })
        .await
    }

    /// Tells the room this user stopped typing.
    pub async fn stop_typing(&mut self, room: &str) -> Result<(), ClientError> {
        self.send(&ClientMessage::StopTyping {
            room: room.to_owned(),
        })
        .await
    }

    /// Marks message `id` as read by this user.
    pub async fn mark_read(&mut self, id: i64) -> Result<(), ClientError> {
        self.send(&ClientMessage::Read { id }).await
    }

    /// Searches `room`'s history for messages with every word of `query`.
    pub async fn search(
        &mut self,
        room: &str,
        query: &str,
    ) -> Result<Vec<ChatMessage>, ClientError> {
        self.send(&ClientMessage::Search {
            room: room.to_owned(),
            query: query.to_owned(),
        })
        .await?;
        let event = self
            .wait_for(|event| {
                matches!(event, Event::Server(ServerMessage::SearchResults { room: r, query: q, .. }) if r == room && q == query)
            })
            .await?;
        match event {
            Event::Server(ServerMessage::SearchResults { messages, .. }) => Ok(messages),
            other => Err(ClientError::Protocol(format!("{other:?}"))),
        }
    }

    /// Fetches the bytes of the attachment of message `id`.
    pub async fn fetch(&mut self, id: i64) -> Result<(DownloadHeader, Vec<u8>), ClientError> {
        self.send(&ClientMessage::Fetch { id }).await?;
        let event = self
            .wait_for(|event| matches!(event, Event::Attachment { header, .. } if header.id == id))
            .await?;
        match event {
            Event::Attachment { header, bytes } => Ok((header, bytes)),
            other => Err(ClientError::Protocol(format!("{other:?}"))),
        }
    }

    /// The next thing the server sent (first whatever a waiting method
    /// kept). After [`Event::Closed`], [`ClientError::Closed`]. Safe to use
    /// in `tokio::select!`: an event is never lost when the future is
    /// dropped.
    pub async fn next_event(&mut self) -> Result<Event, ClientError> {
        match self.pending.pop_front() {
            Some(event) => Ok(event),
            None => self.receive().await,
        }
    }

    /// Closes the connection politely and waits for the server's reply.
    pub async fn close(mut self) -> Result<(), ClientError> {
        self.socket
            .close(None)
            .await
            .map_err(ClientError::Connection)?;
        while let Some(frame) = self.socket.next().await {
            if frame.is_err() {
                break;
            }
        }
        Ok(())
    }

    /// Reads until an event matches; keeps the others for `next_event`. A
    /// refusal of a request (an error without `client_id`) ends the wait.
    async fn wait_for(&mut self, wanted: impl Fn(&Event) -> bool) -> Result<Event, ClientError> {
        if let Some(index) = self.pending.iter().position(&wanted) {
            return self.pending.remove(index).ok_or(ClientError::Closed);
        }
        loop {
            let event = self.receive().await?;
            if wanted(&event) {
                return Ok(event);
            }
            match event {
                Event::Server(ServerMessage::Error {
                    code,
                    message,
                    client_id: None,
                }) => return Err(ClientError::Refused { code, message }),
                Event::Closed { .. } => {
                    self.pending.push_back(event);
                    return Err(ClientError::Closed);
                }
                other => self.pending.push_back(other),
            }
        }
    }

    /// Reads one event off the socket, sending the `delivered` receipt for
    /// other people's messages.
    async fn receive(&mut self) -> Result<Event, ClientError> {
        loop {
            let frame = match self.socket.next().await {
                None | Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) => {
                    return Err(ClientError::Closed);
                }
                Some(Err(error)) => return Err(ClientError::Connection(error)),
                Some(Ok(frame)) => frame,
            };
            match frame {
                Message::Text(text) => {
                    let message: ServerMessage = serde_json::from_str(&text)
                        .map_err(|error| ClientError::Protocol(format!("{error}: {text}")))?;
                    let receipt = match &message {
                        ServerMessage::Message { message: chat } if chat.user != self.user => {
                            Some(chat.id)
                        }
                        _ => None,
                    };
                    let Some(id) = receipt else {
                        return Ok(Event::Server(message));
                    };
                    // Kept first, so that if this future is dropped while
                    // the receipt is being written (a `select!` in a UI),
                    // the message is not lost: the next call returns it.
                    self.pending.push_back(Event::Server(message));
                    self.send(&ClientMessage::Delivered { id }).await?;
                    return self.pending.pop_back().ok_or(ClientError::Closed);
                }
                Message::Binary(bytes) => {
                    let (header, content) = decode_binary::<DownloadHeader>(&bytes)
                        .map_err(|error| ClientError::Protocol(error.to_string()))?;
                    return Ok(Event::Attachment {
                        header,
                        bytes: content.to_vec(),
                    });
                }
                Message::Close(frame) => {
                    let (code, reason) = frame.map_or((1005, String::new()), |frame| {
                        (u16::from(frame.code), frame.reason.to_string())
                    });
                    return Ok(Event::Closed { code, reason });
                }
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
            }
        }
    }
}
