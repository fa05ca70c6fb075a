//! The upgraded TCP stream, with a frame counter on its read side.
//!
//! tungstenite stops parsing at the close handshake and may have buffered
//! bytes it never parses, so it cannot say whether the client sent a second
//! Close or data after its Close. [`TappedStream`] sees every byte exactly
//! once (whether tungstenite or the close-tail reads it) and counts frame
//! headers on the wire. It also keeps the `TcpStream` reachable, which the
//! close logic needs (`peek` for an early FIN, `take_error` for a reset).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Counts WebSocket frame headers in a byte stream without buffering payloads.
#[derive(Debug, Default)]
pub(crate) struct FrameScanner {
    header: [u8; 14],
    have: usize,
    need: usize,
    skip: u64,
    /// Close frames seen.
    pub(crate) close_frames: u32,
    /// Data frames (text/binary starts) seen after the first Close frame.
    pub(crate) data_after_close: u64,
}

impl FrameScanner {
    pub(crate) fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.skip > 0 {
                let n = usize::try_from(self.skip)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                self.skip -= n as u64;
                bytes = &bytes[n..];
                continue;
            }
            if self.need == 0 {
                self.need = 2;
            }
            let n = (self.need - self.have).min(bytes.len());
            self.header[self.have..self.have + n].copy_from_slice(&bytes[..n]);
            self.have += n;
            bytes = &bytes[n..];
            if self.have < self.need {
                return;
            }
            if self.need == 2 {
                let extended = match self.header[1] & 0x7f {
                    126 => 2,
                    127 => 8,
                    _ => 0,
                };
                let mask = if self.header[1] & 0x80 != 0 { 4 } else { 0 };
                self.need = 2 + extended + mask;
                if self.have < self.need {
                    continue;
                }
            }
            self.on_header();
        }
    }

    fn on_header(&mut self) {
        let length = match self.header[1] & 0x7f {
            126 => u64::from(u16::from_be_bytes([self.header[2], self.header[3]])),
            127 => {
                let mut eight = [0u8; 8];
                eight.copy_from_slice(&self.header[2..10]);
                u64::from_be_bytes(eight)
            }
            short => u64::from(short),
        };
        match self.header[0] & 0x0f {
            0x8 => self.close_frames = self.close_frames.saturating_add(1),
            0x1 | 0x2 if self.close_frames > 0 => self.data_after_close += 1,
            _ => {}
        }
        self.skip = length;
        self.have = 0;
        self.need = 2;
    }
}

/// The TCP stream of one WebSocket connection.
pub(crate) struct TappedStream {
    /// Bytes hyper read past the HTTP request (the client may pipeline).
    prefix: Vec<u8>,
    prefix_pos: usize,
    pub(crate) tcp: TcpStream,
    pub(crate) scanner: FrameScanner,
}

impl TappedStream {
    pub(crate) fn new(tcp: TcpStream, prefix: Vec<u8>) -> Self {
        TappedStream {
            prefix,
            prefix_pos: 0,
            tcp,
            scanner: FrameScanner::default(),
        }
    }

    /// Whether the client already ended its side (FIN) with nothing unread,
    /// checked without waiting and without consuming bytes.
    pub(crate) fn peer_finished(&self) -> bool {
        if self.prefix_pos < self.prefix.len() {
            return false;
        }
        let mut byte = [0u8; 1];
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut buf = ReadBuf::new(&mut byte);
        matches!(self.tcp.poll_peek(&mut cx, &mut buf), Poll::Ready(Ok(0)))
    }
}

impl AsyncRead for TappedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.prefix_pos < this.prefix.len() {
            let rest = &this.prefix[this.prefix_pos..];
            let n = rest.len().min(buf.remaining());
            buf.put_slice(&rest[..n]);
            this.scanner.feed(&rest[..n]);
            this.prefix_pos += n;
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.tcp).poll_read(cx, buf))?;
        this.scanner.feed(&buf.filled()[before..]);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for TappedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::FrameScanner;

    #[test]
    fn counts_close_and_data_after_close_across_splits() {
        // masked text "hi", close(1000), text "x" after close; fed byte by byte.
        let mut wire = vec![0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2];
        wire.extend([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]);
        wire.extend([0x81, 0x81, 0, 0, 0, 0, b'x']);
        let mut scanner = FrameScanner::default();
        for byte in &wire {
            scanner.feed(std::slice::from_ref(byte));
        }
        assert_eq!(scanner.close_frames, 1);
        assert_eq!(scanner.data_after_close, 1);
    }

    #[test]
    fn skips_long_payloads() {
        let mut wire = vec![0x82, 0x80 | 126, 0x01, 0x00, 0, 0, 0, 0];
        wire.extend(vec![0x88; 256]);
        wire.extend([0x88, 0x80, 0, 0, 0, 0]);
        let mut scanner = FrameScanner::default();
        scanner.feed(&wire);
        assert_eq!(scanner.close_frames, 1);
    }
}
