//! How a connection ends, and how the server tells the endings apart.
//!
//! The close handshake is where client bugs show (unit 01): an empty Close
//! (recorded as 1005), a socket dropped before the server's reply (Reset), a
//! second Close or data after Close (counted on the wire by the tap). After
//! the handshake the server ends its side of TCP (RFC 6455 §7.1.1: the server
//! closes first) and reads the raw socket until the client's end:
//! EOF is Clean; a reset, or a FIN that arrived *before* the reply was
//! written, is Reset. Reading alone cannot see the latter — after a FIN,
//! Linux reports EOF even once the RST arrived — hence the `peek` before the
//! reply and `take_error` after.

use std::io;

use futures_util::SinkExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::error::{CapacityError, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::session::{Behaviour, End, Session, close_record, signalled};
use crate::config::{CLOSE_TAIL_TIMEOUT, TAIL_MAX_BYTES};
use crate::records::{CloseRecord, Ending};

/// How the raw TCP connection ended after the close handshake.
#[derive(PartialEq, Eq)]
enum Tail {
    Eof,
    Reset,
    /// The client kept TCP open past `CLOSE_TAIL_TIMEOUT` (or flooded it).
    Open,
}

fn is_reset(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::NotConnected
    )
}

/// Longest reason that fits a Close frame, cut at a character boundary.
fn fit_reason(text: &str) -> String {
    let mut end = text.len().min(123);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

impl Session {
    pub(super) async fn finish(&mut self, end: End) -> Ending {
        match end {
            End::PeerClosed(frame) => self.reply_to_close(frame).await,
            End::ReplyReceived if self.shutting_down => {
                // The grace period is short: end TCP, do not wait for the client's end.
                let _ = self.ws.get_mut().shutdown().await;
                Ending::ServerShutdown
            }
            End::ReplyReceived => {
                let tail = self.tail().await;
                self.after_our_close(if tail == Tail::Reset {
                    Ending::Reset
                } else {
                    Ending::Clean
                })
            }
            End::ReplyTimeout => self.after_our_close(Ending::NoCloseFrame),
            End::Read(error) => self.after_read_error(error).await,
            End::Write(error) => {
                tracing::debug!(%error, "write failed");
                self.after_our_close(Ending::Reset)
            }
            End::Silent => {
                // Half-open: no reads, no writes, no FIN, until the server stops.
                signalled(&mut self.shutdown).await;
                Ending::ServerShutdown
            }
            End::TooSlowWrite => {
                self.shared.update(&self.slot, |record| {
                    record.close_sent.get_or_insert(CloseRecord {
                        code: 1008,
                        reason: "too slow".to_owned(),
                    });
                });
                Ending::TooSlow
            }
        }
    }

    /// When the server sent the first Close, its reason decides the ending.
    fn after_our_close(&self, otherwise: Ending) -> Ending {
        if self.shutting_down {
            Ending::ServerShutdown
        } else if self.too_slow {
            Ending::TooSlow
        } else {
            otherwise
        }
    }

    async fn reply_to_close(&mut self, frame: Option<CloseFrame>) -> Ending {
        let delay = match &self.behaviour {
            Behaviour::Echo(options) => options.close_reply_delay,
            _ => std::time::Duration::ZERO,
        };
        if !delay.is_zero() {
            // Do not touch the stream: tungstenite would flush the queued reply.
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = signalled(&mut self.shutdown) => {}
            }
        }
        let gone_early = self.ws.get_ref().peer_finished();
        // tungstenite's reply mirrors the client's Close (1002 for a code
        // that may not be sent).
        let reply = frame.map(|frame| {
            if frame.code.is_allowed() {
                frame
            } else {
                CloseFrame {
                    code: CloseCode::Protocol,
                    reason: "Protocol violation".into(),
                }
            }
        });
        self.shared.update(&self.slot, |record| {
            record.close_sent = Some(close_record(reply.as_ref()));
            record.close_reply_sent = true;
        });
        if let Err(error) = self.ws.flush().await {
            tracing::debug!(%error, "writing the Close reply failed");
            return Ending::Reset;
        }
        let tail = self.tail().await;
        if gone_early || tail == Tail::Reset {
            Ending::Reset
        } else {
            Ending::Clean
        }
    }

    async fn after_read_error(&mut self, error: WsError) -> Ending {
        let (code, ending) = match &error {
            WsError::Capacity(CapacityError::MessageTooLong { .. }) => (1009, Ending::TooBig),
            WsError::Capacity(other) => (1009, Ending::ProtocolError(other.to_string())),
            WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
                return self.after_our_close(Ending::NoCloseFrame);
            }
            WsError::Io(io_error) if self.shutting_down || is_reset(io_error) => {
                return self.after_our_close(Ending::Reset);
            }
            WsError::Io(io_error) if io_error.kind() == io::ErrorKind::UnexpectedEof => {
                return self.after_our_close(Ending::NoCloseFrame);
            }
            WsError::ConnectionClosed | WsError::AlreadyClosed => {
                return self.after_our_close(Ending::Clean);
            }
            WsError::Utf8(_) => (1007, Ending::ProtocolError(error.to_string())),
            _ => (1002, Ending::ProtocolError(error.to_string())),
        };
        if self.closing.is_none() {
            let reason = match &ending {
                Ending::TooBig => "message too big".to_owned(),
                _ => fit_reason(&error.to_string()),
            };
            self.shared.update(&self.slot, |record| {
                record.close_sent = Some(CloseRecord {
                    code,
                    reason: reason.clone(),
                });
            });
            let frame = CloseFrame {
                code: code.into(),
                reason: reason.into(),
            };
            let sent = tokio::time::timeout(
                CLOSE_TAIL_TIMEOUT,
                self.ws.send(Message::Close(Some(frame))),
            )
            .await;
            if !matches!(sent, Ok(Ok(()))) {
                return self.after_our_close(ending);
            }
        }
        // Let the client read our Close before TCP ends: drain what it sends.
        self.tail().await;
        self.after_our_close(ending)
    }

    /// Ends our side of TCP, then reads (and discards) until the client ends
    /// its side, at most `CLOSE_TAIL_TIMEOUT`.
    async fn tail(&mut self) -> Tail {
        let stream = self.ws.get_mut();
        if let Err(error) = stream.shutdown().await {
            return if is_reset(&error) {
                Tail::Reset
            } else {
                Tail::Open
            };
        }
        let read_to_end = async {
            let mut buf = vec![0u8; 16 * 1024];
            let mut total = 0usize;
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) => return Tail::Eof,
                    Ok(n) => {
                        total += n;
                        if total > TAIL_MAX_BYTES {
                            return Tail::Open;
                        }
                    }
                    Err(error) if is_reset(&error) => return Tail::Reset,
                    Err(_) => return Tail::Open,
                }
            }
        };
        let tail = tokio::time::timeout(CLOSE_TAIL_TIMEOUT, read_to_end)
            .await
            .unwrap_or(Tail::Open);
        match stream.tcp.take_error() {
            Ok(Some(error)) if is_reset(&error) => Tail::Reset,
            _ => tail,
        }
    }
}
