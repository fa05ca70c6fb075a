//! Back-pressure that holds on every machine.
//!
//! A check about slow consumers ("a client that never reads is closed", "a
//! paused client misses nothing silently") needs the server's queue for that
//! client to fill. Between the server's queue and a client that does not read
//! sit two kernel buffers: the server socket's send buffer and the client
//! socket's receive buffer. Their sizes are not facts about the learner's
//! code. Linux grows both on its own ("autotuning") up to `net.ipv4.tcp_wmem`
//! and `net.ipv4.tcp_rmem`; on the machine where the course's checks first
//! went wrong, a receive buffer could take 32 MiB, so the 20 MB a check
//! published never reached the server's queue at all and a broken server
//! passed.
//!
//! The checks therefore make the slow side slow *by construction*:
//!
//! * the slow client's socket gets a small receive buffer before it
//!   connects ([`connect_with_small_receive_buffer`]); setting `SO_RCVBUF`
//!   also turns the receive side's autotuning off, so it stays small;
//! * the server's send buffer cannot be set from outside, but it is bounded:
//!   [`send_buffer_ceiling`] reads that bound from the kernel at run time
//!   (in the check's own network namespace, where the grader runs it);
//! * the check publishes until the server gives up on the slow client, and
//!   at most [`messages_to_overflow`] × 2 messages: twice what every buffer
//!   on the way can hold plus the server's queue. A correct server stops the
//!   publishing early; a wrong one has had every chance to show it.
//!
//! `grader/grader/tests/buffers.rs` runs unit 09's wrong submissions with
//! the kernel's maxima at 4 MiB and at 64 MiB and proves that they fail
//! under both.

use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpSocket, TcpStream};

/// The receive buffer a slow client asks for: 4 KiB (Linux doubles it for
/// its bookkeeping and keeps it there).
pub const SMALL_RECEIVE_BUFFER: u32 = 4 * 1024;

/// What the server's side may add on top of the kernel's buffers: the
/// WebSocket library's write buffer and the frame being written. tungstenite
/// buffers 128 KiB before it writes; 1 MiB leaves room for any setting a
/// learner might choose within reason.
pub const LIBRARY_SLACK: u64 = 1024 * 1024;

/// Used where the kernel's limits cannot be read (not Linux): 64 MiB, more
/// than any common system's default maximum (macOS 4 MiB, Windows 16 MiB
/// with autotuning), so the checks only take longer there, never pass wrong
/// code.
pub const FALLBACK_CEILING: u64 = 64 * 1024 * 1024;

/// Connects to `addr` from a socket whose receive buffer is set to
/// [`SMALL_RECEIVE_BUFFER`] before the handshake (the window is negotiated
/// then), and returns the stream with the receive buffer the kernel
/// actually granted, in bytes.
pub async fn connect_with_small_receive_buffer(addr: SocketAddr) -> io::Result<(TcpStream, u64)> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_recv_buffer_size(SMALL_RECEIVE_BUFFER)?;
    let granted = u64::from(socket.recv_buffer_size()?);
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok((stream, granted))
}

/// The most a server socket can hold in its send buffer on this machine, in
/// bytes: the larger of the autotuning maximum (`net.ipv4.tcp_wmem`, third
/// field) and what a program may set with `SO_SNDBUF` (twice
/// `net.core.wmem_max`), read now. [`FALLBACK_CEILING`] where neither can be
/// read.
pub fn send_buffer_ceiling() -> u64 {
    let autotuned = read_sysctl("/proc/sys/net/ipv4/tcp_wmem", 2);
    let settable = read_sysctl("/proc/sys/net/core/wmem_max", 0).map(|max| max.saturating_mul(2));
    match (autotuned, settable) {
        (None, None) => FALLBACK_CEILING,
        (a, b) => a.unwrap_or(0).max(b.unwrap_or(0)),
    }
}

/// How many messages of `message_bytes` a server must write to a client
/// that does not read before its queue of `queue` messages is certainly
/// full: everything the kernel and the library can hold on the way
/// (`receive_buffer` on the client's side, [`send_buffer_ceiling`] and
/// [`LIBRARY_SLACK`] on the server's), then the queue itself, then one.
pub fn messages_to_overflow(receive_buffer: u64, queue: u64, message_bytes: u64) -> u64 {
    let in_flight = send_buffer_ceiling()
        .saturating_add(receive_buffer)
        .saturating_add(LIBRARY_SLACK);
    in_flight.div_ceil(message_bytes.max(1)) + queue + 1
}

/// Field `index` (0-based, whitespace-separated) of a numeric sysctl file.
fn read_sysctl(path: &str, index: usize) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.split_whitespace().nth(index)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_overflow_count_covers_every_buffer_and_the_queue() {
        let ceiling = send_buffer_ceiling();
        assert!(
            ceiling >= 4096,
            "a send buffer of at least a page: {ceiling}"
        );
        let count = messages_to_overflow(8192, 64, 10_000);
        let bytes = count * 10_000;
        assert!(bytes > ceiling + 8192 + LIBRARY_SLACK + 64 * 10_000);
        // No more than one message and the queue beyond that.
        assert!(bytes <= ceiling + 8192 + LIBRARY_SLACK + 66 * 10_000 + 10_000);
    }

    #[test]
    fn sysctl_fields_are_read_by_position() {
        let dir = std::env::temp_dir().join(format!("checkkit-net-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let file = dir.join("tcp_wmem");
        std::fs::write(&file, "4096\t16384\t4194304\n").expect("write");
        let path = file.to_str().expect("a UTF-8 path");
        assert_eq!(read_sysctl(path, 2), Some(4_194_304));
        assert_eq!(read_sysctl(path, 0), Some(4096));
        assert_eq!(read_sysctl(path, 3), None);
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    #[tokio::test]
    async fn the_small_receive_buffer_is_what_the_kernel_keeps() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind on loopback");
        let addr = listener.local_addr().expect("its address");
        let (accepted, connected) =
            tokio::join!(listener.accept(), connect_with_small_receive_buffer(addr));
        accepted.expect("accepted");
        let (_stream, granted) = connected.expect("connected");
        // Linux doubles the request; other systems keep it.
        assert!(
            (u64::from(SMALL_RECEIVE_BUFFER)..=4 * u64::from(SMALL_RECEIVE_BUFFER))
                .contains(&granted),
            "asked for {SMALL_RECEIVE_BUFFER}, the kernel kept {granted}"
        );
    }
}
