//! The server over real sockets: pages editing together, presence, roles,
//! bad input, restarts, resends, idle documents.

mod common;

use common::{Page, WAIT, document, http, invite, start, start_with, user, within};
use editor::protocol::{ClientMessage, ServerMessage};
use editor::{Edit, Key, Operation, Role};
use serde_json::json;

fn insert(len: usize, at: usize, text: &str) -> Edit {
    Edit::text(Operation::new().retain(at).insert(text).retain(len - at))
}

fn text_of(value: &serde_json::Value) -> String {
    value["text"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn health_users_and_documents() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = start(&dir).await;
    let address = server.local_addr();
    let (status, body) = http(address, "GET", "/health", None, None).await;
    assert_eq!((status, body.as_str()), (200, Some("ok")));
    let (status, _) = http(
        address,
        "POST",
        "/api/users",
        None,
        Some(json!({"name": " "})),
    )
    .await;
    assert_eq!(status, 400, "an empty name is refused");
    let (_, ada) = user(address, "Ada").await;
    let (status, _) = http(address, "POST", "/api/docs", None, Some(json!({"id": "x"}))).await;
    assert_eq!(status, 401, "no token");
    let (status, _) = http(
        address,
        "POST",
        "/api/docs",
        Some("nope"),
        Some(json!({"id": "x"})),
    )
    .await;
    assert_eq!(status, 401, "a bad token");
    document(address, &ada, "notes").await;
    let (status, _) = http(
        address,
        "POST",
        "/api/docs",
        Some(&ada),
        Some(json!({"id": "notes"})),
    )
    .await;
    assert_eq!(status, 409, "the id is taken");
    let (status, _) = http(
        address,
        "POST",
        "/api/docs",
        Some(&ada),
        Some(json!({"id": "a b"})),
    )
    .await;
    assert_eq!(status, 400, "not a valid id");
    let (status, body) = http(
        address,
        "GET",
        "/api/docs/missing/versions",
        Some(&ada),
        None,
    )
    .await;
    assert_eq!(status, 404, "{body}");
    within("shutdown", server.shutdown()).await;
}

#[tokio::test]
async fn two_pages_edit_together_and_see_each_other() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = start(&dir).await;
    let address = server.local_addr();
    let (_, ada) = user(address, "Ada").await;
    let (_, bob) = user(address, "Bob").await;
    document(address, &ada, "notes").await;
    invite(address, &ada, "notes", &bob, "editor").await;

    let (mut a, welcome) = Page::open(address, "notes", &ada, "pa").await;
    let ServerMessage::Welcome {
        revision: 0,
        role: Role::Owner,
        ..
    } = welcome
    else {
        panic!("a welcome at revision 0 for the owner, got {welcome:?}");
    };
    let (mut b, welcome) = Page::open(address, "notes", &bob, "pb").await;
    let ServerMessage::Welcome {
        role: Role::Editor,
        participants,
        you,
        ..
    } = welcome
    else {
        panic!("a welcome for an editor, got {welcome:?}");
    };
    assert_eq!(participants.len(), 1, "ada is there");
    assert_eq!(you.name, "Bob");
    let joined = a.next().await;
    assert!(
        matches!(joined, ServerMessage::Presence { ref participant } if participant.name == "Bob"),
        "{joined:?}"
    );

    a.edit(0, insert(0, 0, "hello")).await;
    assert_eq!(
        a.next().await,
        ServerMessage::Ack {
            seq: 1,
            revision: 1
        }
    );
    let remote = b.next().await;
    assert!(
        matches!(remote, ServerMessage::Remote { revision: 1, ref client, .. } if client == "pa"),
        "{remote:?}"
    );

    // Both edit revision 1 at once.
    a.edit(1, insert(5, 5, " world")).await;
    b.edit(1, Edit::format(5, 0, 5, Key::Bold, Some("true")))
        .await;
    let mut revisions = Vec::new();
    for page in [&mut a, &mut b] {
        for _ in 0..2 {
            match page.next().await {
                ServerMessage::Ack { revision, .. } | ServerMessage::Remote { revision, .. } => {
                    revisions.push(revision)
                }
                other => panic!("an ack or a remote edit, got {other:?}"),
            }
        }
    }
    revisions.sort_unstable();
    assert_eq!(revisions, [2, 2, 3, 3]);
    let (status, doc) = http(
        address,
        "GET",
        "/api/docs/notes/versions/3",
        Some(&bob),
        None,
    )
    .await;
    assert_eq!(status, 200, "{doc}");
    assert_eq!(text_of(&doc), "hello world");
    assert_eq!(
        doc["marks"]["bold"][0],
        json!({"from": 0, "to": 5, "value": "true"})
    );

    // Presence: bob's cursor reaches ada; bob leaves, and ada is told.
    b.send(&ClientMessage::Select {
        selection: collab::Selection::new(1, 3),
    })
    .await;
    let moved = a
        .until(|m| matches!(m, ServerMessage::Presence { .. }))
        .await;
    let ServerMessage::Presence { participant } = moved else {
        unreachable!()
    };
    assert_eq!(participant.selection, Some(collab::Selection::new(1, 3)));
    drop(b);
    let left = a.until(|m| matches!(m, ServerMessage::Left { .. })).await;
    assert_eq!(
        left,
        ServerMessage::Left {
            client: "pb".into()
        }
    );
    within("shutdown", server.shutdown()).await;
}

#[tokio::test]
async fn roles_are_checked_on_every_edit() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = start(&dir).await;
    let address = server.local_addr();
    let (_, ada) = user(address, "Ada").await;
    let (bob_id, bob) = user(address, "Bob").await;
    let (_, eve) = user(address, "Eve").await;
    document(address, &ada, "notes").await;
    invite(address, &ada, "notes", &bob, "viewer").await;

    // A bad token is refused before the upgrade; so is a non-member.
    for (token, status) in [("bad", 401), (eve.as_str(), 403)] {
        let url = format!("ws://{address}/ws/notes?token={token}&client=x");
        let refused = within("the handshake", tokio_tungstenite::connect_async(url)).await;
        let got = match refused {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                response.status().as_u16()
            }
            other => panic!("an HTTP refusal, got {other:?}"),
        };
        assert_eq!(got, status);
    }

    let (mut a, _) = Page::open(address, "notes", &ada, "pa").await;
    let (mut b, welcome) = Page::open(address, "notes", &bob, "pb").await;
    assert!(matches!(
        welcome,
        ServerMessage::Welcome {
            role: Role::Viewer,
            ..
        }
    ));
    b.edit(0, insert(0, 0, "graffiti")).await;
    let refused = b.until(|m| matches!(m, ServerMessage::Error { .. })).await;
    assert!(
        matches!(refused, ServerMessage::Error { ref code, .. } if code == "forbidden"),
        "{refused:?}"
    );

    // Promoted, then demoted while connected: the next edit is refused.
    let (status, _) = http(
        address,
        "PUT",
        &format!("/api/docs/notes/members/{bob_id}"),
        Some(&ada),
        Some(json!({"role": "editor"})),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(
        b.until(|m| matches!(m, ServerMessage::Role { .. })).await,
        ServerMessage::Role {
            role: Some(Role::Editor)
        }
    );
    b.edit(0, insert(0, 0, "ok")).await;
    assert_eq!(
        b.until(|m| matches!(m, ServerMessage::Ack { .. })).await,
        ServerMessage::Ack {
            seq: 2,
            revision: 1
        }
    );
    let (status, _) = http(
        address,
        "PUT",
        &format!("/api/docs/notes/members/{bob_id}"),
        Some(&ada),
        Some(json!({"role": "viewer"})),
    )
    .await;
    assert_eq!(status, 204);
    b.until(|m| matches!(m, ServerMessage::Role { .. })).await;
    b.edit(1, insert(2, 2, "!")).await;
    let refused = b.until(|m| matches!(m, ServerMessage::Error { .. })).await;
    assert!(
        matches!(refused, ServerMessage::Error { ref code, .. } if code == "forbidden"),
        "{refused:?}"
    );
    // Only the owner changes roles.
    let (status, _) = http(
        address,
        "PUT",
        &format!("/api/docs/notes/members/{bob_id}"),
        Some(&bob),
        Some(json!({"role": "editor"})),
    )
    .await;
    assert_eq!(status, 403);
    let (_, doc) = http(
        address,
        "GET",
        "/api/docs/notes/versions/1",
        Some(&ada),
        None,
    )
    .await;
    assert_eq!(text_of(&doc), "ok", "nothing of the refused edits");
    a.until(|m| matches!(m, ServerMessage::Remote { .. })).await;
    within("shutdown", server.shutdown()).await;
}

#[tokio::test]
async fn bad_input_gets_an_error_and_an_oversize_message_1009() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = start(&dir).await;
    let address = server.local_addr();
    let (_, ada) = user(address, "Ada").await;
    document(address, &ada, "notes").await;
    let (mut a, _) = Page::open(address, "notes", &ada, "pa").await;
    let (mut other, _) = Page::open(address, "notes", &ada, "pb").await;
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    within("sending", a.socket.send(Message::text("{not json")))
        .await
        .expect("sent");
    let error = a.until(|m| matches!(m, ServerMessage::Error { .. })).await;
    assert!(
        matches!(error, ServerMessage::Error { ref code, .. } if code == "bad_request"),
        "{error:?}"
    );
    a.edit(0, insert(7, 0, "x")).await;
    let error = a.until(|m| matches!(m, ServerMessage::Error { .. })).await;
    assert!(
        matches!(error, ServerMessage::Error { ref code, .. } if code == "bad_edit"),
        "{error:?}"
    );
    // Still working.
    a.edit(0, insert(0, 0, "ok")).await;
    assert_eq!(
        a.until(|m| matches!(m, ServerMessage::Ack { .. })).await,
        ServerMessage::Ack {
            seq: 2,
            revision: 1
        }
    );
    // Over the limit: closed with 1009; the other page goes on.
    let huge = "x".repeat(editor::protocol::MAX_MESSAGE + 10);
    let _ = within("sending", a.socket.send(Message::text(huge))).await;
    assert_eq!(a.close_code().await, Some(1009));
    other
        .until(|m| matches!(m, ServerMessage::Remote { .. }))
        .await;
    other.edit(1, insert(2, 2, "!")).await;
    assert!(matches!(
        other
            .until(|m| matches!(m, ServerMessage::Ack { .. }))
            .await,
        ServerMessage::Ack { revision: 2, .. }
    ));
    within("shutdown", server.shutdown()).await;
}

#[tokio::test]
async fn a_restart_keeps_the_document_and_a_resend_is_applied_once() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = start(&dir).await;
    let address = server.local_addr();
    let (_, ada) = user(address, "Ada").await;
    document(address, &ada, "notes").await;
    let (mut a, _) = Page::open(address, "notes", &ada, "pa").await;
    a.edit(0, insert(0, 0, "kept")).await;
    assert_eq!(
        a.next().await,
        ServerMessage::Ack {
            seq: 1,
            revision: 1
        }
    );
    within("shutdown", server.shutdown()).await;
    assert_eq!(
        a.close_code().await,
        Some(1001),
        "shutdown closes with going away"
    );

    let server = start(&dir).await;
    let address = server.local_addr();
    let (_, welcome) = Page::open(address, "notes", &ada, "pz").await;
    let ServerMessage::Welcome { revision, doc, .. } = welcome else {
        panic!("a welcome, got {welcome:?}");
    };
    assert_eq!((revision, doc.to_string()), (1, "kept".to_owned()));

    // The same page comes back from revision 0: its edit is in the
    // catch-up, and sending it again is acknowledged, not applied twice.
    let (mut again, first) = Page::open_since(address, "notes", &ada, "pa", Some(0)).await;
    let ServerMessage::CatchUp { edits, .. } = first else {
        panic!("a catch-up, got {first:?}");
    };
    assert_eq!(edits.len(), 1);
    assert_eq!((edits[0].client.as_str(), edits[0].seq), ("pa", 1));
    again.seq = 0;
    again.edit(0, insert(0, 0, "kept")).await;
    assert_eq!(
        again
            .until(|m| matches!(m, ServerMessage::Ack { .. }))
            .await,
        ServerMessage::Ack {
            seq: 1,
            revision: 1
        }
    );
    let (_, doc) = http(address, "GET", "/api/docs/notes/versions", Some(&ada), None).await;
    assert_eq!(doc["revision"], 1);
    within("shutdown", server.shutdown()).await;
}

#[tokio::test]
async fn versions_are_named_compared_and_restored() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = start(&dir).await;
    let address = server.local_addr();
    let (_, ada) = user(address, "Ada").await;
    document(address, &ada, "notes").await;
    let (mut a, _) = Page::open(address, "notes", &ada, "pa").await;
    a.edit(0, insert(0, 0, "first")).await;
    a.next().await;
    let (status, _) = http(
        address,
        "POST",
        "/api/docs/notes/versions",
        Some(&ada),
        Some(json!({"name": "v1", "revision": 1})),
    )
    .await;
    assert_eq!(status, 204);
    a.edit(1, Edit::text(Operation::new().delete(5).insert("second")))
        .await;
    a.next().await;
    let (_, list) = http(address, "GET", "/api/docs/notes/versions", Some(&ada), None).await;
    assert_eq!(list, json!({"revision": 2, "names": {"v1": 1}}));
    let (status, diff) = http(
        address,
        "GET",
        "/api/docs/notes/diff?from=1&to=2",
        Some(&ada),
        None,
    )
    .await;
    assert_eq!(status, 200, "{diff}");
    assert_eq!(diff["text"], json!(["second", -5]));
    let (status, restored) = http(
        address,
        "POST",
        "/api/docs/notes/restore",
        Some(&ada),
        Some(json!({"revision": 1})),
    )
    .await;
    assert_eq!((status, restored["revision"].clone()), (200, json!(3)));
    let remote = a.next().await;
    assert!(
        matches!(remote, ServerMessage::Remote { revision: 3, .. }),
        "everyone follows a restore: {remote:?}"
    );
    let (_, doc) = http(
        address,
        "GET",
        "/api/docs/notes/versions/3",
        Some(&ada),
        None,
    )
    .await;
    assert_eq!(text_of(&doc), "first");
    within("shutdown", server.shutdown()).await;
}

#[tokio::test]
async fn an_idle_document_is_unloaded_and_loads_again() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = start_with(&dir, |config| {
        config.idle_unload = std::time::Duration::from_millis(200);
    })
    .await;
    let address = server.local_addr();
    let (_, ada) = user(address, "Ada").await;
    document(address, &ada, "notes").await;
    let (mut a, _) = Page::open(address, "notes", &ada, "pa").await;
    a.edit(0, insert(0, 0, "still here")).await;
    a.next().await;
    assert_eq!(server.open_documents(), 1);
    drop(a);
    within("the document to be unloaded", async {
        while server.open_documents() > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    let (_, welcome) = Page::open(address, "notes", &ada, "pb").await;
    assert!(
        matches!(welcome, ServerMessage::Welcome { revision: 1, ref doc, .. } if doc.to_string() == "still here"),
        "{welcome:?}"
    );
    let _ = WAIT;
    within("shutdown", server.shutdown()).await;
}

#[tokio::test]
async fn presence_is_throttled_and_the_latest_selection_wins() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = start(&dir).await;
    let address = server.local_addr();
    let (_, ada) = user(address, "Ada").await;
    document(address, &ada, "notes").await;
    let (mut a, _) = Page::open(address, "notes", &ada, "pa").await;
    a.edit(0, insert(0, 0, "0123456789")).await;
    a.next().await;
    let (mut b, _) = Page::open(address, "notes", &ada, "pb").await;
    a.until(|m| matches!(m, ServerMessage::Presence { .. }))
        .await;
    // A held arrow key: 100 moves as fast as they go.
    let started = std::time::Instant::now();
    for i in 0..100 {
        b.send(&ClientMessage::Select {
            selection: collab::Selection::cursor(i % 10),
        })
        .await;
    }
    b.send(&ClientMessage::Select {
        selection: collab::Selection::new(2, 7),
    })
    .await;
    let sent_for = started.elapsed();
    // Everything after the last move arrives within two intervals.
    let mut seen = Vec::new();
    loop {
        let next = tokio::time::timeout(
            editor::PRESENCE_INTERVAL * 4,
            a.until(|m| matches!(m, ServerMessage::Presence { .. })),
        )
        .await;
        match next {
            Ok(ServerMessage::Presence { participant }) => seen.push(participant.selection),
            _ => break,
        }
    }
    let allowed = 2 + (sent_for.as_millis() / editor::PRESENCE_INTERVAL.as_millis()) as usize;
    assert!(
        !seen.is_empty() && seen.len() <= allowed,
        "101 moves in {sent_for:?} reach the others as at most {allowed} updates (20 a second), got {}",
        seen.len()
    );
    assert_eq!(
        seen.last().copied().flatten(),
        Some(collab::Selection::new(2, 7)),
        "the last update is the latest selection"
    );
    within("shutdown", server.shutdown()).await;
}

/// A TCP relay that can go silent: it stops passing bytes either way
/// without closing anything, as a dropped network does.
async fn freezable_relay(
    target: std::net::SocketAddr,
) -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    use std::sync::atomic::AtomicBool;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("the relay binds");
    let address = listener.local_addr().expect("an address");
    let frozen = std::sync::Arc::new(AtomicBool::new(false));
    let flag = std::sync::Arc::clone(&frozen);
    tokio::spawn(async move {
        let Ok((inbound, _)) = listener.accept().await else {
            return;
        };
        let Ok(outbound) = tokio::net::TcpStream::connect(target).await else {
            return;
        };
        let (in_read, in_write) = inbound.into_split();
        let (out_read, out_write) = outbound.into_split();
        let up = pipe(in_read, out_write, std::sync::Arc::clone(&flag));
        let down = pipe(out_read, in_write, flag);
        tokio::join!(up, down);
    });
    (address, frozen)
}

/// Copies `from` to `to` until either ends; once `frozen`, holds what it
/// reads and sends nothing more.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    frozen: std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let Ok(read) = from.read(&mut buffer).await else {
            return;
        };
        if read == 0 {
            return;
        }
        if frozen.load(std::sync::atomic::Ordering::Relaxed) {
            std::future::pending::<()>().await;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}

#[tokio::test]
async fn a_page_whose_network_drops_is_gone_within_two_seconds() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = start(&dir).await;
    let address = server.local_addr();
    let (_, ada) = user(address, "Ada").await;
    document(address, &ada, "notes").await;
    let (mut a, _) = Page::open(address, "notes", &ada, "pa").await;
    let (relay, frozen) = freezable_relay(address).await;
    let (_b, _) = Page::open(relay, "notes", &ada, "pb").await;
    a.until(|m| matches!(m, ServerMessage::Presence { .. }))
        .await;
    frozen.store(true, std::sync::atomic::Ordering::Relaxed);
    let dropped = std::time::Instant::now();
    let left = tokio::time::timeout(
        std::time::Duration::from_secs(3),
        a.until(|m| matches!(m, ServerMessage::Left { .. })),
    )
    .await
    .expect("the silent page is taken for gone");
    assert_eq!(
        left,
        ServerMessage::Left {
            client: "pb".into()
        }
    );
    assert!(
        dropped.elapsed() <= std::time::Duration::from_millis(2_100),
        "gone within 2 s of the network dropping, took {:?}",
        dropped.elapsed()
    );
    within("shutdown", server.shutdown()).await;
}

#[tokio::test]
async fn a_restore_is_answered_once_stored() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = start(&dir).await;
    let address = server.local_addr();
    let (_, ada) = user(address, "Ada").await;
    document(address, &ada, "notes").await;
    let (mut a, _) = Page::open(address, "notes", &ada, "pa").await;
    a.edit(0, insert(0, 0, "first")).await;
    a.next().await;
    a.edit(1, insert(5, 5, " second")).await;
    a.next().await;
    // While another connection holds the write lock, the restore cannot be
    // stored, so it is not answered.
    let lock = rusqlite::Connection::open(dir.path().join("editor.sqlite")).expect("opens");
    lock.execute_batch("BEGIN IMMEDIATE").expect("locks");
    let token = ada.clone();
    let restore = tokio::spawn(async move {
        http(
            address,
            "POST",
            "/api/docs/notes/restore",
            Some(&token),
            Some(json!({"revision": 1})),
        )
        .await
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!restore.is_finished(), "answered before it was stored");
    lock.execute_batch("COMMIT").expect("unlocks");
    let (status, body) = within("the restore's answer", restore)
        .await
        .expect("the request task");
    assert_eq!((status, body["revision"].clone()), (200, json!(3)));
    within("shutdown", server.shutdown()).await;
}
