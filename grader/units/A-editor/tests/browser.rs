//! Capstone A's page in real Chromium: two people type at once and
//! converge, bold shows on the other screen, the other's cursor appears, a
//! viewer cannot change the document, and a server restart keeps it.
//! Screenshots of both pages are saved for the book
//! (`target/editor-screenshots/`).
//!
//! Chromium and chromedriver: Debian's `chromium` and `chromium-driver`.
//! Without them the test says it is skipped; under `CI=true` it fails.

mod common;

#[path = "../../../webdriver.rs"]
mod webdriver;

use std::net::SocketAddr;

use common::{document, invite, start, user};
use editor::{Config, Server};
use webdriver::{Session, browser, start_driver};

/// Opens document `id` in `session` as the user with `token`.
fn open_as(session: &Session, address: SocketAddr, token: &str, name: &str, id: &str) {
    session.open(&format!("http://{address}/health"));
    session.run(&format!(
        "localStorage.setItem('editor.token', '{token}'); localStorage.setItem('editor.name', '{name}');"
    ));
    session.open(&format!("http://{address}/d/{id}"));
    session.wait_for("status", "the page to connect", |status| {
        status == "connected"
    });
}

fn text(session: &Session) -> String {
    session
        .run("return document.querySelector('#text').innerText;")
        .as_str()
        .unwrap_or_default()
        .trim_end_matches('\n')
        .to_owned()
}

/// Waits until both pages show the same text, and returns it.
fn converged(a: &Session, b: &Session, what: &str) -> String {
    let deadline = std::time::Instant::now() + webdriver::STEP_LIMIT;
    loop {
        let (left, right) = (text(a), text(b));
        if left == right {
            return left;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "waited for {what}: one page shows {left:?}, the other {right:?}"
        );
        a.next_change();
    }
}

#[test]
fn two_pages_edit_together_in_chromium() {
    let Some((chromium, driver)) = browser() else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = runtime.block_on(start(&dir));
    let address = server.local_addr();
    let (ada, bob, carol) = runtime.block_on(async {
        let (_, ada) = user(address, "Ada").await;
        let (_, bob) = user(address, "Bob").await;
        let (_, carol) = user(address, "Carol").await;
        document(address, &ada, "trip").await;
        invite(address, &ada, "trip", &bob, "editor").await;
        invite(address, &ada, "trip", &carol, "viewer").await;
        (ada, bob, carol)
    });

    let (_driver, driver_address) = start_driver(&driver);
    let a = Session::start(&driver_address, &chromium, "#workspace");
    let b = Session::start(&driver_address, &chromium, "#workspace");
    open_as(&a, address, &ada, "Ada", "trip");
    open_as(&b, address, &bob, "Bob", "trip");

    // Both type at once.
    a.type_into("#text", "Packing list");
    b.type_into("#text", "Trip: ");
    let both = converged(&a, &b, "the two pages to show the same text");
    assert!(
        both.contains("Packing list") && both.contains("Trip: "),
        "both people's typing is in the text: {both:?}"
    );

    // Bold in one page shows in the other.
    a.run("getSelection().selectAllChildren(document.querySelector('#text'));");
    a.run("document.querySelector('[data-format=bold]').click();");
    b.wait_for("text", "bold text on the other page", |_| {
        b.run("return document.querySelector('#text').innerHTML.includes('font-weight: 700');")
            .as_bool()
            .unwrap_or(false)
    });

    // The other's cursor appears, with their name.
    b.wait_for("text", "Ada's cursor on Bob's page", |_| {
        b.run("return Array.from(document.querySelectorAll('#cursors .caret span')).map(s => s.textContent).join(',');")
            .as_str()
            .is_some_and(|names| names.contains("Ada"))
    });

    // A viewer's page cannot change the document.
    let c = Session::start(&driver_address, &chromium, "#workspace");
    open_as(&c, address, &carol, "Carol", "trip");
    let editable = c.run("return document.querySelector('#text').isContentEditable;");
    assert_eq!(
        editable.as_bool(),
        Some(false),
        "a viewer's page is not editable"
    );
    assert!(
        c.text("banner").contains("View only"),
        "{}",
        c.text("banner")
    );
    assert_eq!(text(&c), both, "the viewer sees the document");
    drop(c);

    // Screenshots for the book.
    let shots =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/editor-screenshots");
    std::fs::create_dir_all(&shots).expect("a folder for the screenshots");
    for (name, session) in [("ada", &a), ("bob", &b)] {
        let png = session.screenshot();
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        std::fs::write(shots.join(format!("{name}.png")), png).expect("saved");
    }

    // A restart keeps the document: the pages reconnect and go on.
    runtime.block_on(server.shutdown());
    let server = runtime
        .block_on(Server::start(
            address,
            Config::new(dir.path().join("editor.sqlite")),
        ))
        .expect("the server starts again on the same address");
    for page in [&a, &b] {
        page.wait_for("status", "the page to reconnect after the restart", |s| {
            s == "connected"
        });
    }
    assert_eq!(text(&a), both, "the document survived the restart");
    b.type_into("#text", "!");
    let after = converged(&a, &b, "an edit after the restart to reach both pages");
    assert!(
        after.contains('!') && after.chars().count() == both.chars().count() + 1,
        "{after:?}"
    );
    drop((a, b));
    runtime.block_on(server.shutdown());
}
