//! A WebDriver client for the course's browser tests: Chromium driven by
//! chromedriver on loopback, spoken to with plain HTTP/1.1 and JSON (no
//! WebDriver crate). Used by the grader's test of the book's widgets
//! (`grader/grader/tests/browser.rs`), capstone A's page test
//! (`solutions/A-editor/tests/browser.rs`) and capstone B's
//! (`grader/units/B-dashboard/tests/browser.rs`), and by capstone B's bench
//! (`grader/units/B-dashboard/bench.rs`, part 6), each with
//! `#[path] mod webdriver;`.
//!
//! Chromium and chromedriver are Debian's `chromium` and `chromium-driver`
//! (`.ci/run` installs them). Without them a test says it is skipped; on CI
//! (`CI=true`) it fails instead, so a missing browser never passes silently.

#![allow(dead_code)] // each test uses its own part

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long one page may take to reach the state a step waits for.
pub const STEP_LIMIT: Duration = Duration::from_secs(20);
/// How long chromedriver may take to start listening.
pub const DRIVER_START_LIMIT: Duration = Duration::from_secs(30);
/// How long one WebDriver request may take (starting a session starts Chromium).
pub const REQUEST_LIMIT: Duration = Duration::from_secs(90);

/// Kills a child process when the test ends, whatever happened.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

/// Chromium and chromedriver, or `None` after saying why the test skips
/// (a panic on CI).
pub fn browser() -> Option<(PathBuf, PathBuf)> {
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
pub fn http(addr: &str, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
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
pub struct Session {
    driver: String,
    id: String,
    /// The part of the page `wait_for` watches and shows on failure.
    root: String,
}

impl Session {
    /// A session whose `wait_for` watches the element `root` (a CSS
    /// selector) of the page.
    pub fn start(driver: &str, chromium: &Path, root: &str) -> Session {
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
            root: root.to_owned(),
        }
    }

    pub fn open(&self, url: &str) {
        http(
            &self.driver,
            "POST",
            &format!("/session/{}/url", self.id),
            Some(&json!({ "url": url })),
        )
        .unwrap_or_else(|error| panic!("could not open {url}: {error}"));
    }

    /// Runs `script` (a function body) in the page and returns its result.
    pub fn run(&self, script: &str) -> Value {
        http(
            &self.driver,
            "POST",
            &format!("/session/{}/execute/sync", self.id),
            Some(&json!({ "script": script, "args": [] })),
        )
        .unwrap_or_else(|error| panic!("script failed: {error}\n{script}"))
    }

    /// The WebDriver id of the first element matching `css`.
    pub fn find(&self, css: &str) -> String {
        let value = http(
            &self.driver,
            "POST",
            &format!("/session/{}/element", self.id),
            Some(&json!({ "using": "css selector", "value": css })),
        )
        .unwrap_or_else(|error| panic!("no element {css}: {error}"));
        value
            .as_object()
            .and_then(|element| element.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element id for {css} in {value}"))
            .to_owned()
    }

    /// Types `keys` into the element `css` as real key presses (WebDriver's
    /// special keys: `\u{E009}` Control, `\u{E000}` releases it).
    pub fn type_into(&self, css: &str, keys: &str) {
        let element = self.find(css);
        http(
            &self.driver,
            "POST",
            &format!("/session/{}/element/{element}/value", self.id),
            Some(&json!({ "text": keys })),
        )
        .unwrap_or_else(|error| panic!("typing into {css} failed: {error}"));
    }

    /// Sets the browser window's outer size, in CSS pixels (what a
    /// screenshot shows).
    pub fn set_window_size(&self, width: u32, height: u32) {
        http(
            &self.driver,
            "POST",
            &format!("/session/{}/window/rect", self.id),
            Some(&json!({ "width": width, "height": height })),
        )
        .unwrap_or_else(|error| panic!("could not resize the window: {error}"));
    }

    /// Clicks the first element matching `css` as a user would (WebDriver
    /// scrolls it into view and fails if something covers it).
    pub fn click_css(&self, css: &str) {
        let element = self.find(css);
        http(
            &self.driver,
            "POST",
            &format!("/session/{}/element/{element}/click", self.id),
            Some(&json!({})),
        )
        .unwrap_or_else(|error| panic!("clicking {css} failed: {error}"));
    }

    /// A screenshot of the window, as PNG bytes.
    pub fn screenshot(&self) -> Vec<u8> {
        let value = http(
            &self.driver,
            "GET",
            &format!("/session/{}/screenshot", self.id),
            None,
        )
        .unwrap_or_else(|error| panic!("no screenshot: {error}"));
        base64_decode(value.as_str().unwrap_or_default())
    }

    /// The text of the widget's element with `data-role=role` ("" if none).
    pub fn text(&self, role: &str) -> String {
        self.run(&format!(
            "const e = document.querySelector('[data-role=\"{role}\"]'); return e ? e.textContent : '';"
        ))
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    pub fn click(&self, role: &str) {
        self.run(&format!(
            "document.querySelector('[data-role=\"{role}\"]').click();"
        ));
    }

    /// Polls `role`'s text until `wanted` holds, or fails after [`STEP_LIMIT`]
    /// with what the page showed.
    pub fn wait_for(&self, role: &str, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + STEP_LIMIT;
        loop {
            let text = self.text(role);
            if wanted(&text) {
                return text;
            }
            if Instant::now() > deadline {
                let page = self.run(&format!(
                    "return document.querySelector('{}')?.innerText ?? 'nothing at {}';",
                    self.root, self.root
                ));
                panic!(
                    "waited {STEP_LIMIT:?} for {what}; [data-role={role}] shows {text:?}\nthe page:\n{}",
                    page.as_str().unwrap_or_default()
                );
            }
            self.next_change();
        }
    }

    /// Returns when the watched part of the page next changes (the page's own event, seen by
    /// a `MutationObserver`), or after a second without a change.
    pub fn next_change(&self) {
        self.next_change_or_event("");
    }

    /// As [`Session::next_change`], and also returns when the page
    /// dispatches `event` on `window` (a page that draws on a canvas says
    /// so with an event: a drawing is no change of the document). An empty
    /// `event` listens for none.
    pub fn next_change_or_event(&self, event: &str) {
        let script = format!(
            "const done = arguments[arguments.length - 1];
            const root = document.querySelector('{}') || document.body;
            const event = '{event}';
            let timer;
            const observer = new MutationObserver(() => finish());
            const finish = () => {{
              observer.disconnect(); clearTimeout(timer);
              if (event) window.removeEventListener(event, finish);
              done(true);
            }};
            observer.observe(root, {{ subtree: true, childList: true, characterData: true, attributes: true }});
            if (event) window.addEventListener(event, finish);
            timer = setTimeout(finish, 1000);",
            self.root
        );
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

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port on loopback")
}

/// Starts chromedriver on loopback and waits until it is ready.
pub fn start_driver(driver: &Path) -> (Process, String) {
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

/// Standard base64 (WebDriver's screenshots), without a crate.
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut buffer, mut bits) = (0u32, 0);
    for sextet in text.bytes().filter_map(value) {
        buffer = (buffer << 6) | u32::from(sextet);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}
