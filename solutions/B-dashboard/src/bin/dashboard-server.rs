//! The live monitoring dashboard's server.
//!
//! ```text
//! dashboard-server [--listen 127.0.0.1:8080] [--rules rules.toml] [--state alerts.sqlite]
//!                  [--rollups rollups.sqlite] [--demo] [--no-host] [--test-clock MS]
//! ```
//!
//! `--rules` names the alert rules (TOML; edits are picked up while it
//! runs, a bad edit is refused and the old rules stay), `--state` the
//! SQLite file that keeps the alerts' state and history across restarts,
//! `--rollups` the SQLite file that keeps the minute tier (a day of history
//! at one-minute resolution) across restarts.
//! `--demo` adds the synthetic sources (a sine, a square wave, a random
//! walk, bursts) so that the page moves without any other program.
//! This host's CPU, memory, network and disk are collected every second
//! unless `--no-host`. `--test-clock MS` starts a manual clock at `MS` that only
//! `POST /api/test/clock` moves (for tests).
//!
//! It prints `listening on http://ADDRESS` once it accepts connections, and
//! shuts down cleanly (every client gets Close 1001) on Ctrl+C.

use std::net::SocketAddr;
use std::process::ExitCode;

use dashboard::{Clock, Config, Server};

const USAGE: &str = "usage: dashboard-server [--listen ADDRESS] [--rules FILE] [--state FILE] [--rollups FILE] [--demo] [--no-host] [--test-clock MS]";

fn main() -> ExitCode {
    let mut listen: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 8080));
    let mut config = Config::default();
    let mut host = true;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => match args.next().map(|value| value.parse()) {
                Some(Ok(address)) => listen = address,
                Some(Err(error)) => {
                    eprintln!("--listen: {error}\n{USAGE}");
                    return ExitCode::from(2);
                }
                None => {
                    eprintln!("--listen needs an address\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "--rules" | "--state" | "--rollups" => match args.next() {
                Some(path) if arg == "--rules" => config.rules = Some(path.into()),
                Some(path) if arg == "--state" => config.state = Some(path.into()),
                Some(path) => config.rollups = Some(path.into()),
                None => {
                    eprintln!("{arg} needs a file\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "--demo" => config.sources.extend(dashboard::sources::demo(1)),
            "--no-host" => host = false,
            "--test-clock" => match args.next().map(|value| value.parse()) {
                Some(Ok(start)) => config.clock = Clock::manual(start),
                _ => {
                    eprintln!("--test-clock needs a time in milliseconds since the epoch\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    if host {
        config.sources.push(Box::new(dashboard::host::Host::new()));
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("could not start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let server = match Server::start(listen, config).await {
            Ok(server) => server,
            Err(error) => {
                eprintln!("{error}");
                return ExitCode::FAILURE;
            }
        };
        println!("listening on {}", server.url());
        if let Err(error) = tokio::signal::ctrl_c().await {
            eprintln!("could not wait for Ctrl+C: {error}");
        }
        server.shutdown().await;
        ExitCode::SUCCESS
    })
}
