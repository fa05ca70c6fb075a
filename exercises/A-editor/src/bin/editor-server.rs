//! The collaborative editor's server.
//!
//! ```text
//! editor-server [--listen 127.0.0.1:8080] [--database editor.sqlite]
//!               [--redis 127.0.0.1:6379 --node NAME]
//! ```
//!
//! With `--redis`, several servers on one host serve the same documents:
//! give each its own `--listen` and `--node` name, the same `--database`
//! and the same Redis (see the book's "Several servers through Redis").
//!
//! It prints `listening on http://ADDRESS` once it accepts connections, and
//! shuts down cleanly (every page gets Close 1001) on Ctrl+C.

use std::net::SocketAddr;
use std::process::ExitCode;

use editor::{ClusterConfig, Config, Server};

const USAGE: &str =
    "usage: editor-server [--listen ADDRESS] [--database FILE] [--redis HOST:PORT --node NAME]";

fn main() -> ExitCode {
    let mut listen: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 8080));
    let mut database = std::path::PathBuf::from("editor.sqlite");
    let mut redis = None;
    let mut node = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next();
        match (arg.as_str(), value) {
            ("--listen", Some(value)) => match value.parse() {
                Ok(address) => listen = address,
                Err(error) => {
                    eprintln!("--listen {value}: {error}\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            ("--database", Some(value)) => database = value.into(),
            ("--redis", Some(value)) => redis = Some(value),
            ("--node", Some(value)) => node = Some(value),
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let mut config = Config::new(database);
    match (redis, node) {
        (Some(redis), Some(node)) => config.cluster = Some(ClusterConfig::new(redis, node)),
        (None, None) => {}
        _ => {
            eprintln!(
                "--redis and --node go together: each server of a cluster has a name\n{USAGE}"
            );
            return ExitCode::from(2);
        }
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
