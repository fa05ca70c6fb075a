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

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

#[path = "../../webdriver.rs"]
mod webdriver;

use webdriver::{Process, Session, browser, free_port, start_driver};

/// Starts `cargo grade serve --port 0`; returns it and `host:port`.
fn start_serve() -> (Process, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_cargo-grade"))
        // English, whatever the locale of the machine running the tests.
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", "C")
        .args(["--lang", "en", "serve", "--port", "0"])
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
    let session = Session::start(&driver_addr, &chromium, ".wsw-widget");

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

    // The Chinese edition: the same widget, in Chinese, and the menu bar's
    // links between the two editions of the page.
    let href = |session: &Session| {
        session
            .run("return document.querySelector('[data-role=\"language\"]')?.getAttribute('href') ?? '';")
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(
        href(&session),
        "/zh-CN/04-reconnect.html",
        "the English page's link to 中文"
    );
    session.open(&format!(
        "http://{addr}/zh-CN/01-connection.html#task-3-sending"
    ));
    session.wait_for("status", "the Chinese page's widget to connect", |s| {
        s == "已连接"
    });
    let lang = session.run("return document.documentElement.lang;");
    assert_eq!(lang.as_str(), Some("zh-CN"));
    assert_eq!(
        href(&session),
        "/01-connection.html#task-3-sending",
        "the Chinese page's link to the English one keeps the section"
    );
    session.click("send");
    session.wait_for("log", "the echo, logged in Chinese", |log| {
        log.contains("→ 文本：hello") && log.contains("← 文本：hello")
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
