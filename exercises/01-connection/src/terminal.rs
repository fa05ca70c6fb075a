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
        todo!("Task 5: commands and sending (chapter 01, section \"Task 5: The terminal client\")")
    }

    // ANCHOR: connect
    /// Connects to `url`, showing `connecting`, then `connected` or the error.
    async fn connect(&mut self, url: String) -> io::Result<()> {
        // ANCHOR_END: connect
        todo!(
            "Task 5: connect from the terminal (chapter 01, section \"Task 5: The terminal client\")"
        )
    }

    // ANCHOR: disconnect
    /// Closes the connection with 1000, logs what was still on its way
    /// (the events up to and including `Closed`), and shows `disconnected`.
    async fn disconnect(&mut self) -> io::Result<()> {
        // ANCHOR_END: disconnect
        todo!(
            "Task 5: disconnect from the terminal (chapter 01, section \"Task 5: The terminal client\")"
        )
    }

    // ANCHOR: on_event
    /// Logs one event; `Closed` (or the end of the events) means the
    /// connection is gone and the status goes back to `disconnected`.
    async fn on_event(&mut self, event: Option<Event>) -> io::Result<()> {
        // ANCHOR_END: on_event
        todo!("Task 5: log the events (chapter 01, section \"Task 5: The terminal client\")")
    }
}
