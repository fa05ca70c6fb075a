//! `kill -9` right after acknowledgements: nothing acknowledged is lost.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use common::{Page, document, http, user, within};
use editor::protocol::ServerMessage;
use editor::{Edit, Operation};

/// The server binary on `database`; its address.
fn spawn(database: &std::path::Path) -> (Child, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_editor-server"))
        .args(["--listen", "127.0.0.1:0", "--database"])
        .arg(database)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the server binary starts");
    let stdout = child.stdout.take().expect("its output");
    let mut line = String::new();
    // Bounded: the binary prints this line first, or exits.
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("reads the first line");
    let address = line
        .trim()
        .strip_prefix("listening on http://")
        .and_then(|address| address.parse().ok())
        .unwrap_or_else(|| panic!("the server says where it listens, said {line:?}"));
    (child, address)
}

#[tokio::test]
async fn acknowledged_edits_survive_kill_9() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let database = dir.path().join("editor.sqlite");
    let (mut child, address) = spawn(&database);
    let (_, ada) = user(address, "Ada").await;
    document(address, &ada, "notes").await;
    let (mut page, _) = Page::open(address, "notes", &ada, "pa").await;
    let mut expected = String::new();
    for i in 0..60u64 {
        let word = format!("w{i} ");
        let len = expected.chars().count();
        page.edit(i, Edit::text(Operation::new().retain(len).insert(&word)))
            .await;
        let ack = page.next().await;
        assert_eq!(
            ack,
            ServerMessage::Ack {
                seq: i + 1,
                revision: i + 1
            }
        );
        expected.push_str(&word);
    }
    // The last acknowledgement is in: kill the server at once.
    child.kill().expect("SIGKILL");
    child.wait().expect("it ends");
    drop(page);

    let (mut child, address) = spawn(&database);
    let (status, doc) = http(
        address,
        "GET",
        "/api/docs/notes/versions/60",
        Some(&ada),
        None,
    )
    .await;
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["text"].as_str(), Some(expected.as_str()));
    let (_, welcome) = Page::open(address, "notes", &ada, "pb").await;
    assert!(
        matches!(welcome, ServerMessage::Welcome { revision: 60, ref doc, .. } if doc.to_string() == expected),
        "a restarted server serves the stored document: {welcome:?}"
    );
    child.kill().expect("SIGKILL");
    within("the server to end", async { child.wait() })
        .await
        .expect("ends");
}
