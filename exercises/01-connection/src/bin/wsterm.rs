//! `wsterm`: a tiny interactive WebSocket client for the terminal.
//!
//! ```text
//! wsterm [URL] [--no-timestamps] [--no-connect]
//! ```
//!
//! Connects to URL (default `ws://127.0.0.1:8000/ws`), sends every line you
//! type, and logs what happens. `/help` lists the commands. All the logic is
//! in `connection::terminal`; this file only parses arguments and wires
//! standard input and output to it.

use std::process::ExitCode;

use connection::terminal::{self, DEFAULT_URL, Options};
use tokio::io::BufReader;

/// What `--help` and a bad argument print.
const USAGE: &str = "usage: wsterm [URL] [--no-timestamps] [--no-connect]";

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}\n\nURL defaults to {DEFAULT_URL}; type /help once running.");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("wsterm: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("wsterm: could not start the tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let input = BufReader::new(tokio::io::stdin());
    let outcome = runtime.block_on(terminal::run(input, tokio::io::stdout(), options));
    // tokio reads stdin on a blocking thread that cannot be cancelled; after
    // `/quit` at an interactive terminal that read would keep the runtime
    // (and the process) alive until the next Enter. Do not wait for it.
    runtime.shutdown_background();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("wsterm: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `Ok(None)` means `--help`.
fn parse_args(args: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options::default();
    let mut url = None;
    for arg in args {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--no-timestamps" => options.timestamps = false,
            "--no-connect" => options.connect_on_start = false,
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            _ if url.is_some() => return Err(format!("unexpected argument {arg}")),
            _ => url = Some(arg),
        }
    }
    if let Some(url) = url {
        options.url = url;
    }
    Ok(Some(options))
}
