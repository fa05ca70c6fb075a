//! The terminal client: a tiny `wscat` on top of [`Connection`].
//!
//! The original course's page had a status line, a log, a text box that sends
//! on Enter, and Connect/Disconnect buttons that were disabled in the wrong
//! state. Here the log is the terminal, the text box is standard input, and
//! the buttons are the commands `/connect [url]` and `/disconnect`, which
//! refuse with a message (a terminal cannot grey out a command).
//!
//! All the logic is in [`run`], which reads lines from any [`AsyncBufRead`]
//! and writes the log to any [`AsyncWrite`]: the `wsterm` binary passes
//! stdin and stdout, the tests pass in-memory pipes.

use std::fmt;
use std::io;
use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite};

use crate::client::{CONNECT_TIMEOUT, Connection, Event};
// region: solution
use crate::client::connect_with_timeout;
use crate::error::SendError;
// endregion

/// Where `/connect` goes without an argument: the original course's address,
/// where `cargo grade serve` runs the testkit server.
pub const DEFAULT_URL: &str = "ws://127.0.0.1:8000/ws";

/// The lines `/help` prints.
const HELP: [&str; 6] = [
    "type a line and press Enter to send it as a text message",
    "/connect [url]   open a connection (default: the URL given at start)",
    "/disconnect      close the connection (Close 1000, waits for the reply)",
    "/status          show the status",
    "/quit            close and leave (so does the end of input, Ctrl-D)",
    "//text           send a line that starts with '/'",
];

// ANCHOR: options
/// How the terminal client starts.
#[derive(Debug, Clone)]
pub struct Options {
    /// The URL for `/connect` without an argument (and for the start).
    pub url: String,
    /// Prefix each log line with the time, `[HH:MM:SS.mmm]` (UTC). Tests turn
    /// this off to compare lines exactly.
    pub timestamps: bool,
    /// Connect to `url` right away, as `wscat -c url` does.
    pub connect_on_start: bool,
    /// The connect timeout, [`CONNECT_TIMEOUT`] by default.
    pub connect_timeout: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            url: DEFAULT_URL.to_owned(),
            timestamps: true,
            connect_on_start: true,
            connect_timeout: CONNECT_TIMEOUT,
        }
    }
}
// ANCHOR_END: options

// ANCHOR: status
/// The course's three statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// No connection.
    Disconnected,
    /// `connect` is in progress.
    Connecting,
    /// The connection is open.
    Connected,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Disconnected => "disconnected",
            Status::Connecting => "connecting",
            Status::Connected => "connected",
        })
    }
}
// ANCHOR_END: status

mod log;

pub(crate) use log::Log;

/// What the main loop does after a line.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// Read the next line.
    Continue,
    /// Leave (after closing the connection).
    Quit,
}

// ANCHOR: terminal
/// The terminal client's state.
struct Terminal<W> {
    /// Where the lines go.
    log: Log<W>,
    /// How we were started.
    options: Options,
    /// The open connection, if any: `Some` means "connected".
    connection: Option<Connection>,
    /// The URL of the current (or last) connection.
    url: String,
}
// ANCHOR_END: terminal

// ANCHOR: run
/// Runs the terminal client until `/quit` or the end of `input`, then closes
/// the connection, if any, properly.
pub async fn run<I, O>(input: I, output: O, options: Options) -> io::Result<()>
where
    I: AsyncBufRead + Unpin,
    O: AsyncWrite + Unpin,
{
    let url = options.url.clone();
    let log = Log::new(output, options.timestamps);
    let mut terminal = Terminal {
        log,
        options,
        connection: None,
        url,
    };
    terminal.log.status(Status::Disconnected).await?;
    if terminal.options.connect_on_start {
        terminal.connect(terminal.options.url.clone()).await?;
    }
    let mut lines = input.lines();
    loop {
        // Whatever comes first: a typed line or an event. Both are cancel-safe.
        tokio::select! {
            line = lines.next_line() => match line? {
                Some(line) => {
                    if terminal.on_line(&line).await? == Step::Quit {
                        break;
                    }
                }
                None => break,
            },
            event = next_event(&mut terminal.connection) => terminal.on_event(event).await?,
        }
    }
    if terminal.connection.is_some() {
        terminal.disconnect().await?;
    }
    Ok(())
}

/// The next event of the connection; never ready while there is none.
async fn next_event(connection: &mut Option<Connection>) -> Option<Event> {
    match connection {
        Some(connection) => connection.next_event().await,
        None => std::future::pending().await,
    }
}
// ANCHOR_END: run

impl<W: AsyncWrite + Unpin> Terminal<W> {
    /// The status, as `/status` shows it.
    fn status(&self) -> Status {
        if self.connection.is_some() {
            Status::Connected
        } else {
            Status::Disconnected
        }
    }

    // ANCHOR: on_line
    /// Handles one typed line: a command, or text to send.
    async fn on_line(&mut self, line: &str) -> io::Result<Step> {
        // ANCHOR_END: on_line
        // region: solution
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            return Ok(Step::Continue);
        }
        if let Some(text) = line.strip_prefix("//") {
            self.send(format!("/{text}")).await?;
            return Ok(Step::Continue);
        }
        let Some(command) = line.strip_prefix('/') else {
            self.send(line.to_owned()).await?;
            return Ok(Step::Continue);
        };
        let mut words = command.split_whitespace();
        match (words.next(), words.next()) {
            (Some("connect"), url) => {
                if self.connection.is_some() {
                    let why = format!("already connected to {}; type /disconnect first", self.url);
                    self.log.refused(&why).await?;
                } else {
                    let url = url.unwrap_or(&self.options.url).to_owned();
                    self.connect(url).await?;
                }
            }
            (Some("disconnect"), _) => {
                if self.connection.is_some() {
                    self.disconnect().await?;
                } else {
                    self.log
                        .refused("not connected; there is nothing to disconnect")
                        .await?;
                }
            }
            (Some("status"), _) => self.log.status(self.status()).await?,
            (Some("help"), _) => {
                for line in HELP {
                    self.log.info(line).await?;
                }
            }
            (Some("quit" | "exit"), _) => return Ok(Step::Quit),
            _ => {
                self.log
                    .refused(&format!("unknown command {line:?}; type /help"))
                    .await?
            }
        }
        Ok(Step::Continue)
        // region: stub
        // todo!("Task 5: commands and sending (chapter 01, section \"Task 5: The terminal client\")")
        // endregion
    }

    // region: solution
    /// Sends a typed line, or refuses when there is no connection.
    async fn send(&mut self, text: String) -> io::Result<()> {
        let Some(connection) = &self.connection else {
            return self.log.refused(&SendError::NotConnected.to_string()).await;
        };
        match connection.send_text(text.as_str()).await {
            Ok(()) => self.log.sent(&text).await,
            Err(error) => self.log.error(&error).await,
        }
    }

    /// Writes the log line for one event.
    async fn log_event(&mut self, event: &Event) -> io::Result<()> {
        match event {
            Event::Opened => self.log.opened(&self.url).await,
            Event::Text(text) => self.log.received(text).await,
            Event::Binary(bytes) => self.log.received_binary(bytes).await,
            Event::Closed { code, reason } => self.log.closed(*code, reason).await,
            Event::Error(error) => self.log.error(error).await,
        }
    }
    // endregion

    // ANCHOR: connect
    /// Connects to `url`, showing `connecting`, then `connected` or the error.
    async fn connect(&mut self, url: String) -> io::Result<()> {
        // ANCHOR_END: connect
        // region: solution
        self.log.status(Status::Connecting).await?;
        match connect_with_timeout(&url, self.options.connect_timeout).await {
            Ok(connection) => {
                self.connection = Some(connection);
                self.url = url;
                self.log.status(Status::Connected).await
            }
            Err(error) => {
                self.log.error(&error).await?;
                self.log.status(Status::Disconnected).await
            }
        }
        // region: stub
        // todo!("Task 5: connect from the terminal (chapter 01, section \"Task 5: The terminal client\")")
        // endregion
    }

    // ANCHOR: disconnect
    /// Closes the connection with 1000, logs what was still on its way
    /// (the events up to and including `Closed`), and shows `disconnected`.
    async fn disconnect(&mut self) -> io::Result<()> {
        // ANCHOR_END: disconnect
        // region: solution
        let Some(mut connection) = self.connection.take() else {
            return Ok(());
        };
        if let Err(error) = connection.close(1000, "").await {
            self.log.error(&error).await?;
        }
        while let Some(event) = connection.next_event().await {
            self.log_event(&event).await?;
        }
        self.log.status(Status::Disconnected).await
        // region: stub
        // todo!("Task 5: disconnect from the terminal (chapter 01, section \"Task 5: The terminal client\")")
        // endregion
    }

    // ANCHOR: on_event
    /// Logs one event; `Closed` (or the end of the events) means the
    /// connection is gone and the status goes back to `disconnected`.
    async fn on_event(&mut self, event: Option<Event>) -> io::Result<()> {
        // ANCHOR_END: on_event
        // region: solution
        let ended = match &event {
            Some(event) => {
                self.log_event(event).await?;
                matches!(event, Event::Closed { .. })
            }
            None => true,
        };
        if ended {
            self.connection = None;
            self.log.status(Status::Disconnected).await?;
        }
        Ok(())
        // region: stub
        // todo!("Task 5: log the events (chapter 01, section \"Task 5: The terminal client\")")
        // endregion
    }
}
