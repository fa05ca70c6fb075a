//! The book's live widgets, end to end in real Chromium.
//!
//! `cargo grade serve` serves the built book and the testkit server on one
//! port; Chromium, driven over WebDriver (chromedriver on loopback, spoken
//! to with plain HTTP/1.1 and JSON: no WebDriver crate), opens chapter 01
//! and chapter 04 and uses their widgets against that server. A third page
//! is the book opened from a file with no server: the widget must say so,
//! and how to start it.
//!
//! Chromium and chromedriver are Debian's `chromium` and `chromium-driver`
//! (`.ci/run` installs them). Without them the test says it is skipped; on
//! CI (`CI=true`) it fails instead, so a missing browser never passes
//! silently.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long one page may take to reach the state a step waits for.
const STEP_LIMIT: Duration = Duration::from_secs(20);
/// How long chromedriver may take to start listening.
const DRIVER_START_LIMIT: Duration = Duration::from_secs(30);
/// How long one WebDriver request may take (starting a session starts Chromium).
const REQUEST_LIMIT: Duration = Duration::from_secs(90);

/// Kills a child process when the test ends, whatever happened.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

/// Chromium and chromedriver, or `None` after saying why the test skips
/// (a panic on CI).
fn browser() -> Option<(PathBuf, PathBuf)> {
    let chromium = find_program(&["chromium", "chromium-browser", "google-chrome"]);
    let driver = find_program(&["chromedriver"]);
    match (chromium, driver) {
        (Some(chromium), Some(driver)) => Some((chromium, driver)),
        (chromium, driver) => {
            let missing = format!(
                "no {} on PATH (Debian: apt-get install chromium chromium-driver; .ci/run installs them)",
                match (chromium, driver) {
                    (None, None) => "chromium and chromedriver",
                    (None, _) => "chromium",
                    _ => "chromedriver",
                }
            );
            if std::env::var("CI").is_ok_and(|ci| ci == "true") {
                panic!("the browser test cannot run on CI: {missing}");
            }
            eprintln!("SKIPPED the browser test: {missing}");
            None
        }
    }
}

/// A tiny HTTP/1.1 client for the WebDriver protocol on loopback.
fn http(addr: &str, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(REQUEST_LIMIT))
        .map_err(|e| e.to_string())?;
    let body = body.map(Value::to_string).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| e.to_string())?;
    // chromedriver keeps the connection open whatever the request says:
    // read the head, then exactly the body it announces.
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        let read = reader
            .read_line(&mut line)
            .map_err(|e| format!("{method} {path}: {e}"))?;
        if read == 0 || line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let lower = head.to_ascii_lowercase();
    let body = if lower.contains("transfer-encoding: chunked") {
        let mut rest = String::new();
        reader
            .read_to_string(&mut rest)
            .map_err(|e| format!("{method} {path}: {e}"))?;
        dechunk(&rest)
    } else {
        let length = lower
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|n| n.trim().parse::<usize>().ok())
            .ok_or_else(|| format!("{method} {path}: no Content-Length in {head:?}"))?;
        let mut bytes = vec![0; length];
        reader
            .read_exact(&mut bytes)
            .map_err(|e| format!("{method} {path}: {e}"))?;
        String::from_utf8_lossy(&bytes).into_owned()
    };
    let value: Value =
        serde_json::from_str(&body).map_err(|e| format!("{method} {path}: {e}: {body}"))?;
    if value["value"]["error"].is_string() {
        return Err(format!("{method} {path}: {}", value["value"]));
    }
    Ok(value["value"].clone())
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}

/// A WebDriver session; deleted (and Chromium closed) on drop.
struct Session {
    driver: String,
    id: String,
}

impl Session {
    fn start(driver: &str, chromium: &Path) -> Session {
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": chromium.to_string_lossy(),
                    "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                             "--disable-dev-shm-usage", "--no-first-run"],
                },
            }}
        });
        let value = http(driver, "POST", "/session", Some(&capabilities))
            .unwrap_or_else(|error| panic!("chromedriver could not start Chromium: {error}"));
        let id = value["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session id in {value}"))
            .to_owned();
        Session {
            driver: driver.to_owned(),
            id,
        }
    }

    fn open(&self, url: &str) {
        http(
            &self.driver,
            "POST",
            &format!("/session/{}/url", self.id),
            Some(&json!({ "url": url })),
        )
        .unwrap_or_else(|error| panic!("could not open {url}: {error}"));
    }

    /// Runs `script` (a function body) in the page and returns its result.
    fn run(&self, script: &str) -> Value {
        http(
            &self.driver,
            "POST",
            &format!("/session/{}/execute/sync", self.id),
            Some(&json!({ "script": script, "args": [] })),
        )
        .unwrap_or_else(|error| panic!("script failed: {error}\n{script}"))
    }

    /// The text of the widget's element with `data-role=role` ("" if none).
    fn text(&self, role: &str) -> String {
        self.run(&format!(
            "const e = document.querySelector('[data-role=\"{role}\"]'); return e ? e.textContent : '';"
        ))
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    fn click(&self, role: &str) {
        self.run(&format!(
            "document.querySelector('[data-role=\"{role}\"]').click();"
        ));
    }

    /// Polls `role`'s text until `wanted` holds, or fails after [`STEP_LIMIT`]
    /// with what the page showed.
    fn wait_for(&self, role: &str, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + STEP_LIMIT;
        loop {
            let text = self.text(role);
            if wanted(&text) {
                return text;
            }
            if Instant::now() > deadline {
                let page = self
                    .run("return document.querySelector('.wsw-widget')?.innerText ?? 'no widget';");
                panic!(
                    "waited {STEP_LIMIT:?} for {what}; [data-role={role}] shows {text:?}\nthe widget:\n{}",
                    page.as_str().unwrap_or_default()
                );
            }
            self.next_change();
        }
    }

    /// Returns when the widget next changes (the page's own event, seen by
    /// a `MutationObserver`), or after a second without a change.
    fn next_change(&self) {
        let script = "const done = arguments[arguments.length - 1];
            const root = document.querySelector('.wsw-widget') || document.body;
            let timer;
            const observer = new MutationObserver(() => finish());
            const finish = () => { observer.disconnect(); clearTimeout(timer); done(true); };
            observer.observe(root, { subtree: true, childList: true, characterData: true, attributes: true });
            timer = setTimeout(finish, 1000);";
        http(
            &self.driver,
            "POST",
            &format!("/session/{}/execute/async", self.id),
            Some(&json!({ "script": script, "args": [] })),
        )
        .unwrap_or_else(|error| panic!("waiting for a change failed: {error}"));
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = http(
            &self.driver,
            "DELETE",
            &format!("/session/{}", self.id),
            None,
        );
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port on loopback")
}

/// Starts chromedriver on loopback and waits until it is ready.
fn start_driver(driver: &Path) -> (Process, String) {
    let port = free_port();
    let mut child = Command::new(driver)
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let process = Process(child);
    let addr = format!("127.0.0.1:{port}");
    // chromedriver says when it listens ("… started successfully on port
    // N."); its lines come through a channel so the wait has a deadline.
    // The reader keeps draining afterwards, so chromedriver never blocks on
    // a full pipe.
    let (sender, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = sender.send(line);
        }
    });
    let deadline = Instant::now() + DRIVER_START_LIMIT;
    let mut printed = String::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains("started successfully") => break,
            Ok(line) => {
                printed.push_str(&line);
                printed.push('\n');
            }
            Err(_) => panic!(
                "chromedriver did not say it started on {addr} within {DRIVER_START_LIMIT:?}; it printed:\n{printed}"
            ),
        }
    }
    let status = http(&addr, "GET", "/status", None)
        .unwrap_or_else(|error| panic!("chromedriver's /status on {addr} failed: {error}"));
    assert_eq!(status["ready"], true, "chromedriver is not ready: {status}");
    (process, addr)
}

/// Starts `cargo grade serve --port 0`; returns it and `host:port`.
fn start_serve() -> (Process, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_cargo-grade"))
        .args(["serve", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the grader starts");
    let mut server = Process(child);
    let stdout = server.0.stdout.take().expect("piped stdout");
    // The first line is the book's address; it comes after the book build
    // and the bind, and reading ends at EOF if the server died.
    let mut reader = BufReader::new(stdout);
    let mut first = String::new();
    reader.read_line(&mut first).expect("read the first line");
    // Keep reading: a closed pipe would make the server's next print fail.
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    let addr = first
        .split_whitespace()
        .last()
        .and_then(|url| url.strip_prefix("http://"))
        .unwrap_or_else(|| panic!("expected the book's URL, got {first:?}"))
        .trim_end_matches('/')
        .to_owned();
    (server, addr)
}

#[test]
fn the_live_widgets_work_in_chromium() {
    let Some((chromium, driver)) = browser() else {
        return;
    };
    let (_server, addr) = start_serve();
    let (_driver, driver_addr) = start_driver(&driver);
    let session = Session::start(&driver_addr, &chromium);

    // Chapter 01: a real WebSocket to the server that serves the page.
    session.open(&format!("http://{addr}/01-connection.html"));
    session.wait_for("status", "chapter 01's widget to connect", |s| {
        s == "connected"
    });
    session.run(
        "const i = document.querySelector('[data-role=\"input\"]'); i.value = 'hello from Chromium';",
    );
    session.click("send");
    session.wait_for("log", "the echo of the text message", |log| {
        log.contains("→ text: hello from Chromium") && log.contains("← text: hello from Chromium")
    });
    session.click("send-binary");
    session.wait_for("log", "the echo of the binary message", |log| {
        log.contains("← binary: 68 65 6c 6c 6f")
    });
    session.click("close");
    let code = session.wait_for("close-code", "the close code after Close", |c| {
        c.starts_with("1000")
    });
    assert!(code.contains("normal closure"), "{code}");
    session.wait_for("status", "the widget to show it is disconnected", |s| {
        s == "disconnected"
    });

    // Chapter 04: the server is told to drop the connection; the widget
    // goes through the reconnecting state and is connected again.
    session.open(&format!("http://{addr}/04-reconnect.html"));
    session.wait_for("status", "chapter 04's widget to connect", |s| {
        s.contains("connected") && !s.contains("dis")
    });
    session.click("drop");
    session.wait_for("close-code", "the server's close after the drop", |c| {
        c.starts_with("1012")
    });
    let states = session.wait_for("states", "reconnecting, then connected again", |log| {
        log.find("reconnecting… (1/15)")
            .is_some_and(|at| log[at..].contains("🟢 connected"))
    });
    assert!(states.contains("🟡 connecting…"), "{states}");
    // The server refuses: attempts fail and the count climbs.
    session.run("document.querySelector('[data-role=\"refuse\"]').checked = true;");
    session.click("drop");
    session.wait_for("states", "a failed attempt counted as attempt 2", |log| {
        log.contains("reconnecting… (2/15)")
    });
    session.run("document.querySelector('[data-role=\"refuse\"]').checked = false;");
    session.click("reconnect");
    session.wait_for("status", "a manual reconnect to succeed", |s| {
        s.contains("connected") && !s.contains("dis")
    });

    // The book opened from a file, with nobody listening: the widget says
    // the server isn't running and how to start it.
    let book = tempfile::tempdir().expect("a temp dir for the book");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    book::build(&root, book.path()).expect("the book builds");
    // A port that was free a moment ago: nothing listens there.
    let nobody = format!("127.0.0.1:{}", free_port());
    let page = book.path().join("01-connection.html");
    session.open(&format!(
        "file://{}?wsw-server=ws://{nobody}",
        page.display()
    ));
    let notice = session.wait_for(
        "notice",
        "the widget to say the server is not running",
        |n| !n.is_empty(),
    );
    assert!(
        notice.contains("isn't running") && notice.contains("cargo grade serve"),
        "{notice}"
    );
}
