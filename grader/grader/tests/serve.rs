//! `cargo grade serve`: the book at `/` and the testkit server beside it,
//! on the port asked for (0 here: any free port).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Kills the server when the test ends, whatever happened.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("the server accepts connections");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("set a read timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send the request");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("read the response");
    response
}

#[test]
fn serve_shows_the_book_and_the_testkit_server() {
    let child = Command::new(env!("CARGO_BIN_EXE_cargo-grade"))
        // English, whatever the locale of the machine running the tests.
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", "C")
        .args(["serve", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the grader starts");
    let mut server = Server(child);
    let stdout = server.0.stdout.take().expect("piped stdout");
    // The first line names the book's address; reading it waits for the
    // book build and the bind, and ends at EOF if the server died.
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("read the first line");
    let url = first
        .split_whitespace()
        .last()
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_owned();
    let addr = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("expected the book's URL, got {first:?}"));

    let index = get(addr, "/");
    assert!(index.starts_with("HTTP/1.1 200"), "{index}");
    assert!(index.contains("WebSocket Workbook"), "{index}");
    let chapter = get(addr, "/01-connection.html");
    assert!(chapter.starts_with("HTTP/1.1 200"), "chapter 01 is served");
    let ws = get(addr, "/ws");
    assert!(
        ws.starts_with("HTTP/1.1 426"),
        "a plain GET on /ws asks for a WebSocket upgrade: {ws}"
    );
}
