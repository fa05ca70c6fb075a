//! The terminal client's log: every line it prints goes through [`Log`].

use std::io;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::Status;
use crate::error::error_chain;

// ANCHOR: log
/// The log: one line per thing that happened, with a marker in front.
///
/// `> ` sent, `< ` received, `* ` open, close and status, `! ` errors and
/// refusals. One writer for all lines keeps them whole and in order.
pub(crate) struct Log<W> {
    output: W,
    timestamps: bool,
}

impl<W: AsyncWrite + Unpin> Log<W> {
    /// A log writing to `output`, with or without timestamps.
    pub(crate) fn new(output: W, timestamps: bool) -> Log<W> {
        Log { output, timestamps }
    }

    /// Writes one line and flushes it, so a pipe sees it at once.
    async fn line(&mut self, marker: char, text: &str) -> io::Result<()> {
        let mut line = String::new();
        if self.timestamps {
            line.push_str(&format!("[{}] ", clock_time(SystemTime::now())));
        }
        line.push(marker);
        line.push(' ');
        line.push_str(text);
        line.push('\n');
        self.output.write_all(line.as_bytes()).await?;
        self.output.flush().await
    }

    /// `* status: connected`
    pub(crate) async fn status(&mut self, status: Status) -> io::Result<()> {
        self.line('*', &format!("status: {status}")).await
    }

    /// `* open ws://…`
    pub(crate) async fn opened(&mut self, url: &str) -> io::Result<()> {
        self.line('*', &format!("open {url}")).await
    }

    /// `> text` for a message we sent.
    pub(crate) async fn sent(&mut self, text: &str) -> io::Result<()> {
        self.line('>', text).await
    }

    /// `< text` for a text message we received.
    pub(crate) async fn received(&mut self, text: &str) -> io::Result<()> {
        self.line('<', text).await
    }

    /// `< [binary, 3 bytes] 01 02 03` (at most 32 bytes shown).
    pub(crate) async fn received_binary(&mut self, bytes: &[u8]) -> io::Result<()> {
        let shown: Vec<String> = bytes
            .iter()
            .take(32)
            .map(|byte| format!("{byte:02x}"))
            .collect();
        let more = if bytes.len() > 32 { " …" } else { "" };
        let text = format!("[binary, {} bytes] {}{more}", bytes.len(), shown.join(" "));
        self.line('<', &text).await
    }

    /// `* closed 4000 "bye"` (no quotes part when the reason is empty).
    pub(crate) async fn closed(&mut self, code: u16, reason: &str) -> io::Result<()> {
        let text = if reason.is_empty() {
            format!("closed {code}")
        } else {
            format!("closed {code} {reason:?}")
        };
        self.line('*', &text).await
    }

    /// `! error: what: why: root cause`, the whole chain.
    ///
    /// `Send + Sync` so that the future of [`run`](super::run), which holds
    /// the error across an `.await`, can still be spawned on any runtime.
    pub(crate) async fn error(
        &mut self,
        error: &(dyn std::error::Error + Send + Sync),
    ) -> io::Result<()> {
        self.line('!', &format!("error: {}", error_chain(error)))
            .await
    }

    /// `! …` for a command or line refused in the current state.
    pub(crate) async fn refused(&mut self, why: &str) -> io::Result<()> {
        self.line('!', why).await
    }

    /// `* …` for help and other information.
    pub(crate) async fn info(&mut self, text: &str) -> io::Result<()> {
        self.line('*', text).await
    }
}

/// `HH:MM:SS.mmm` in UTC, from the system clock: no date-time crate needed
/// for a log that only has to order lines within a session.
fn clock_time(now: SystemTime) -> String {
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since_epoch.as_secs() % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60,
        since_epoch.subsec_millis()
    )
}
// ANCHOR_END: log
