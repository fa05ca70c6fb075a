//! Several servers on one database through Redis: one sequencer per
//! document, revisions unique and gapless, presence across servers, a
//! killed server's pages carried on by another, and a stale sequencer
//! fenced by the store.
//!
//! The tests start their own `redis-server` on a free loopback port; on a
//! machine without it they say how to install it and pass (but fail under
//! `CI=true`, where it must be installed).

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::{Page, document, http, invite, start_with, user, within};
use editor::protocol::{ClientMessage, ServerMessage};
use editor::redis::Connection;
use editor::{ClusterConfig, Edit, Entry, Operation, Replica, Server};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

/// A `redis-server` of the test's own, killed when dropped.
struct Redis {
    child: Child,
    address: String,
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Redis {
    /// Starts one on a free port, or `None` (with advice) when Debian's
    /// `redis-server` is not installed.
    async fn start() -> Option<Redis> {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            listener.local_addr().expect("its address").port()
        };
        let spawned = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(error) => {
                let advice = format!(
                    "redis-server could not be started ({error}); these tests need it: \
                     sudo apt-get install redis-server"
                );
                if std::env::var("CI").is_ok_and(|ci| ci == "true") {
                    panic!("{advice}");
                }
                eprintln!("SKIPPED: {advice}");
                return None;
            }
        };
        let redis = Redis {
            child,
            address: format!("127.0.0.1:{port}"),
        };
        within("redis-server to answer PING", async {
            loop {
                if let Ok(mut connection) = Connection::connect(&redis.address).await
                    && connection.command(&[b"PING"]).await.is_ok()
                {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        Some(redis)
    }

    /// Deletes `key` (to make a second sequencer, as an expired lease would).
    async fn del(&self, key: &str) {
        let mut connection = Connection::connect(&self.address)
            .await
            .expect("connects to Redis");
        assert!(connection.del(key).await.expect("DEL"), "{key} was there");
    }
}

/// An in-process server of the cluster on `dir`'s database.
async fn node(
    dir: &tempfile::TempDir,
    redis: &Redis,
    name: &str,
    configure: impl FnOnce(&mut ClusterConfig),
) -> Server {
    let mut cluster = ClusterConfig::new(redis.address.clone(), name);
    configure(&mut cluster);
    start_with(dir, |config| config.cluster = Some(cluster)).await
}

/// A page that types one word at a time through a [`Replica`], and
/// reconnects (to the next server of its list) whenever its connection
/// ends, catching up and resending as the real page does.
struct Writer {
    servers: Vec<SocketAddr>,
    at: usize,
    doc: String,
    token: String,
    client: String,
    socket: Option<common::Socket>,
    replica: Option<Replica>,
    /// The word in flight and its number.
    in_flight: Option<(u64, String)>,
    acked: Vec<String>,
    sent: Vec<String>,
    reconnects: usize,
}

impl Writer {
    fn new(servers: Vec<SocketAddr>, doc: &str, token: &str, client: &str) -> Self {
        Writer {
            servers,
            at: 0,
            doc: doc.to_owned(),
            token: token.to_owned(),
            client: client.to_owned(),
            socket: None,
            replica: None,
            in_flight: None,
            acked: Vec::new(),
            sent: Vec::new(),
            reconnects: 0,
        }
    }

    async fn send(&mut self, message: &ClientMessage) {
        let text = serde_json::to_string(message).expect("serialises");
        if let Some(socket) = &mut self.socket {
            let sent = tokio::time::timeout(common::WAIT, socket.send(Message::text(text))).await;
            if !matches!(sent, Ok(Ok(()))) {
                self.socket = None;
            }
        }
    }

    /// Connects to one of the servers, trying each in turn until one
    /// answers (a failing-over cluster answers 503 for a moment).
    async fn connect(&mut self) {
        let mut attempts = 0;
        loop {
            let address = self.servers[self.at % self.servers.len()];
            let since = self
                .replica
                .as_ref()
                .map(|replica| format!("&since={}", replica.revision()))
                .unwrap_or_default();
            let url = format!(
                "ws://{address}/ws/{}?token={}&client={}{since}",
                self.doc, self.token, self.client
            );
            let connected =
                tokio::time::timeout(common::WAIT, tokio_tungstenite::connect_async(url)).await;
            if let Ok(Ok((socket, _))) = connected {
                self.socket = Some(socket);
                if let Some(first) = self.next().await
                    && self.first(first).await
                {
                    return;
                }
            }
            self.socket = None;
            self.at += 1;
            attempts += 1;
            assert!(attempts < 200, "{} cannot reconnect", self.client);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The first message of a connection: a welcome, or a catch-up (then
    /// the edit in flight is resent if it is not among the edits).
    async fn first(&mut self, message: ServerMessage) -> bool {
        match message {
            ServerMessage::Welcome { revision, doc, .. } if self.replica.is_none() => {
                self.replica = Some(Replica::new(&self.client, doc, revision, 1));
                true
            }
            ServerMessage::CatchUp { edits, .. } => {
                let Some(replica) = &mut self.replica else {
                    panic!("a catch-up before any welcome");
                };
                for logged in edits {
                    let mine = self
                        .in_flight
                        .as_ref()
                        .is_some_and(|(seq, _)| logged.client == self.client && logged.seq == *seq);
                    let entry = Entry {
                        edit: logged.edit,
                        client: logged.client,
                        seq: logged.seq,
                    };
                    replica.catch_up(&entry).expect("the catch-up applies");
                    if mine && let Some((_, word)) = self.in_flight.take() {
                        self.acked.push(word);
                    }
                }
                if let Some(resend) = replica.resend().cloned() {
                    self.send(&ClientMessage::Edit {
                        seq: resend.seq,
                        base: resend.base,
                        edit: resend.edit,
                    })
                    .await;
                }
                true
            }
            other => panic!("{}: unexpected first message {other:?}", self.client),
        }
    }

    /// The next protocol message, or `None` when the connection ended.
    async fn next(&mut self) -> Option<ServerMessage> {
        let socket = self.socket.as_mut()?;
        loop {
            match tokio::time::timeout(Duration::from_secs(10), socket.next()).await {
                Ok(Some(Ok(Message::Text(text)))) => {
                    return Some(serde_json::from_str(text.as_str()).expect("a server message"));
                }
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
                _ => return None,
            }
        }
    }

    /// Types `words` words, then follows the others until the document is
    /// at revision `target` (once known). `acks` counts acknowledgements
    /// across writers; `done` is told when this one has all of its own.
    async fn run(
        mut self,
        words: usize,
        acks: Arc<watch::Sender<usize>>,
        done: tokio::sync::mpsc::Sender<()>,
        mut target: watch::Receiver<Option<u64>>,
    ) -> Self {
        self.connect().await;
        let mut told = false;
        loop {
            let replica = self.replica.as_mut().expect("connected");
            if self.sent.len() < words && replica.is_synchronized() {
                let word = format!("{}w{} ", self.client, self.sent.len());
                let len = replica.doc().len_chars();
                let submitted = replica
                    .edit(Edit::text(Operation::new().retain(len).insert(&word)))
                    .expect("an edit at the end fits")
                    .expect("nothing in flight: sent at once");
                self.in_flight = Some((submitted.seq, word.clone()));
                self.sent.push(word);
                self.send(&ClientMessage::Edit {
                    seq: submitted.seq,
                    base: submitted.base,
                    edit: submitted.edit,
                })
                .await;
            }
            let replica = self.replica.as_ref().expect("connected");
            let finished = self.sent.len() == words && replica.is_synchronized();
            if finished && !told {
                told = true;
                let _ = done.send(()).await;
            }
            if finished && target.borrow().is_some_and(|t| replica.revision() >= t) {
                return self;
            }
            let message = tokio::select! {
                message = self.next() => message,
                _ = target.changed() => continue,
            };
            let replica = self.replica.as_mut().expect("connected");
            match message {
                Some(ServerMessage::Ack { seq, .. }) => {
                    replica.acknowledge().expect("an edit was in flight");
                    if let Some((sent, word)) = self.in_flight.take() {
                        assert_eq!(
                            sent, seq,
                            "{}: the ack is for the edit in flight",
                            self.client
                        );
                        self.acked.push(word);
                        acks.send_modify(|n| *n += 1);
                    }
                }
                Some(ServerMessage::Remote { edit, .. }) => {
                    replica.receive(&edit).expect("a remote edit applies");
                }
                Some(ServerMessage::Error { code, message }) => {
                    panic!("{}: error {code}: {message}", self.client)
                }
                Some(_) => {}
                None => {
                    self.socket = None;
                    self.at += 1;
                    self.reconnects += 1;
                    self.connect().await;
                }
            }
        }
    }
}

/// Runs `writers` to the end: each types `words` words; returns them with
/// the document's final text and revision, as a new page on `observer`
/// sees it. `kill` runs once `kill_after` edits are acknowledged.
async fn burst(
    writers: Vec<Writer>,
    words: usize,
    observer: (SocketAddr, &str, &str),
    kill_after: usize,
    kill: impl FnOnce(),
) -> (Vec<Writer>, String, u64) {
    let (acks, mut acked) = watch::channel(0usize);
    let acks = Arc::new(acks);
    let (done, mut finished) = tokio::sync::mpsc::channel(writers.len());
    let (target, targets) = watch::channel(None);
    let count = writers.len();
    let tasks: Vec<_> = writers
        .into_iter()
        .map(|writer| {
            tokio::spawn(writer.run(words, Arc::clone(&acks), done.clone(), targets.clone()))
        })
        .collect();
    tokio::time::timeout(
        Duration::from_secs(20),
        acked.wait_for(|n| *n >= kill_after),
    )
    .await
    .expect("edits are acknowledged")
    .expect("the writers run");
    kill();
    for _ in 0..count {
        tokio::time::timeout(Duration::from_secs(30), finished.recv())
            .await
            .expect("every writer has all its edits acknowledged");
    }
    let (address, doc, token) = observer;
    let (_, welcome) = Page::open(address, doc, token, "observer").await;
    let ServerMessage::Welcome { revision, doc, .. } = welcome else {
        panic!("a welcome, got {welcome:?}");
    };
    target.send_replace(Some(revision));
    let mut writers = Vec::new();
    for task in tasks {
        let writer = tokio::time::timeout(Duration::from_secs(15), task)
            .await
            .expect("every writer reaches the final revision")
            .expect("the writer did not panic");
        writers.push(writer);
    }
    (writers, doc.to_string(), revision)
}

/// Every acknowledged word is in `text` exactly once, nothing sent is in
/// it twice, every replica has the same text, and the stored log has
/// revisions 1..=`revision`, each edit once.
fn check(writers: &[Writer], text: &str, revision: u64, database: &std::path::Path, doc: &str) {
    let words: Vec<&str> = text.split_whitespace().collect();
    let unique: HashSet<&str> = words.iter().copied().collect();
    assert_eq!(unique.len(), words.len(), "a word twice in {text:?}");
    for writer in writers {
        for word in &writer.acked {
            assert!(
                unique.contains(word.trim()),
                "acknowledged {word:?} is missing from {text:?}"
            );
        }
        assert!(writer.in_flight.is_none());
        let replica = writer.replica.as_ref().expect("connected");
        assert_eq!(
            replica.doc().to_string(),
            text,
            "{} converged",
            writer.client
        );
        assert_eq!(replica.revision(), revision);
    }
    let acked: usize = writers.iter().map(|w| w.acked.len()).sum();
    assert_eq!(words.len(), acked, "every word typed was acknowledged once");
    let connection = rusqlite::Connection::open(database).expect("opens the database");
    let mut statement = connection
        .prepare("SELECT revision, client, seq FROM edits WHERE doc = ?1 ORDER BY revision")
        .expect("a query");
    let rows: Vec<(i64, String, i64)> = statement
        .query_map([doc], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("reads");
    let revisions: Vec<i64> = rows.iter().map(|(revision, ..)| *revision).collect();
    let expected: Vec<i64> = (1..=i64::try_from(revision).expect("small")).collect();
    assert_eq!(revisions, expected, "revisions unique and without gaps");
    let edits: HashSet<(&String, &i64)> = rows.iter().map(|(_, c, s)| (c, s)).collect();
    assert_eq!(edits.len(), rows.len(), "no edit stored twice");
    let (loaded, _) = editor::Store::open(database)
        .expect("opens")
        .load(doc)
        .expect("loads")
        .expect("exists");
    assert_eq!(loaded.current().to_string(), text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_edit_one_document_with_gapless_revisions() {
    let Some(redis) = Redis::start().await else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let a = node(&dir, &redis, "a", |_| {}).await;
    let b = node(&dir, &redis, "b", |_| {}).await;
    let (a_addr, b_addr) = (a.local_addr(), b.local_addr());
    let (_, ada) = user(a_addr, "Ada").await;
    let (_, bob) = user(b_addr, "Bob").await;
    document(a_addr, &ada, "notes").await;
    invite(b_addr, &ada, "notes", &bob, "editor").await;
    let writers = vec![
        Writer::new(vec![a_addr], "notes", &ada, "a1"),
        Writer::new(vec![b_addr], "notes", &bob, "b1"),
        Writer::new(vec![a_addr], "notes", &ada, "a2"),
        Writer::new(vec![b_addr], "notes", &bob, "b2"),
    ];
    let (writers, text, revision) = burst(writers, 20, (b_addr, "notes", &bob), 0, || {}).await;
    assert_eq!(revision, 80);
    check(
        &writers,
        &text,
        revision,
        &dir.path().join("editor.sqlite"),
        "notes",
    );
    within("shutdown", async {
        tokio::join!(a.shutdown(), b.shutdown())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_edits_and_api_calls_cross_servers() {
    let Some(redis) = Redis::start().await else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let a = node(&dir, &redis, "a", |_| {}).await;
    let b = node(&dir, &redis, "b", |_| {}).await;
    let (a_addr, b_addr) = (a.local_addr(), b.local_addr());
    let (_, ada) = user(a_addr, "Ada").await;
    let (bob_id, bob) = user(a_addr, "Bob").await;
    document(a_addr, &ada, "notes").await;
    // Ada's page makes server a the sequencer; the share link is made and
    // used through server b, which forwards both requests.
    let (mut pa, _) = Page::open(a_addr, "notes", &ada, "pa").await;
    invite(b_addr, &ada, "notes", &bob, "editor").await;
    let (mut pb, welcome) = Page::open(b_addr, "notes", &bob, "pb").await;
    let ServerMessage::Welcome { participants, .. } = welcome else {
        panic!("a welcome, got {welcome:?}");
    };
    assert_eq!(participants.len(), 1, "ada, on the other server, is there");
    let joined = pa.next().await;
    assert!(
        matches!(joined, ServerMessage::Presence { ref participant } if participant.name == "Bob"),
        "{joined:?}"
    );
    pb.edit(0, Edit::text(Operation::new().insert("hi"))).await;
    assert_eq!(
        pb.next().await,
        ServerMessage::Ack {
            seq: 1,
            revision: 1
        }
    );
    let remote = pa.next().await;
    assert!(
        matches!(remote, ServerMessage::Remote { revision: 1, ref client, .. } if client == "pb"),
        "{remote:?}"
    );
    pb.send(&ClientMessage::Select {
        selection: collab::Selection::new(1, 2),
    })
    .await;
    let moved = pa
        .until(|m| matches!(m, ServerMessage::Presence { .. }))
        .await;
    assert!(
        matches!(moved, ServerMessage::Presence { ref participant } if participant.selection == Some(collab::Selection::new(1, 2))),
        "{moved:?}"
    );
    pa.send(&ClientMessage::Select {
        selection: collab::Selection::new(0, 1),
    })
    .await;
    let moved = pb
        .until(|m| matches!(m, ServerMessage::Presence { .. }))
        .await;
    assert!(
        matches!(moved, ServerMessage::Presence { ref participant } if participant.name == "Ada"),
        "{moved:?}"
    );
    // The API through b: versions, and a role change that reaches bob's page.
    let (status, versions) =
        http(b_addr, "GET", "/api/docs/notes/versions", Some(&bob), None).await;
    assert_eq!(status, 200, "{versions}");
    assert_eq!(versions["revision"], 1);
    let (status, body) = http(
        b_addr,
        "PUT",
        &format!("/api/docs/notes/members/{bob_id}"),
        Some(&ada),
        Some(serde_json::json!({"role": "viewer"})),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let role = pb.until(|m| matches!(m, ServerMessage::Role { .. })).await;
    assert_eq!(
        role,
        ServerMessage::Role {
            role: Some(editor::Role::Viewer)
        }
    );
    drop(pb);
    let left = pa.until(|m| matches!(m, ServerMessage::Left { .. })).await;
    assert_eq!(
        left,
        ServerMessage::Left {
            client: "pb".into()
        }
    );
    within("shutdown", async {
        tokio::join!(a.shutdown(), b.shutdown())
    })
    .await;
}

/// A server process of the cluster, killed (`kill -9`) when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `editor-server` on `database` in `redis`'s cluster as `name`.
fn spawn(database: &std::path::Path, redis: &Redis, name: &str) -> (Process, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_editor-server"))
        .args(["--listen", "127.0.0.1:0", "--database"])
        .arg(database)
        .args(["--redis", &redis.address, "--node", name])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the server binary starts");
    let stdout = child.stdout.take().expect("its output");
    let process = Process(child);
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
    (process, address)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_sequencer_loses_no_acknowledged_edit() {
    let Some(redis) = Redis::start().await else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let database = dir.path().join("editor.sqlite");
    let (a, a_addr) = spawn(&database, &redis, "a");
    let (_b, b_addr) = spawn(&database, &redis, "b");
    let (_, ada) = user(a_addr, "Ada").await;
    let (_, bob) = user(a_addr, "Bob").await;
    document(a_addr, &ada, "notes").await;
    invite(a_addr, &ada, "notes", &bob, "editor").await;
    // A page on a first: a sequences the document.
    let (first, _) = Page::open(a_addr, "notes", &ada, "first").await;
    drop(first);
    let writers = vec![
        Writer::new(vec![a_addr, b_addr], "notes", &ada, "a1"),
        Writer::new(vec![b_addr, a_addr], "notes", &bob, "b1"),
        Writer::new(vec![a_addr, b_addr], "notes", &ada, "a2"),
        Writer::new(vec![b_addr, a_addr], "notes", &bob, "b2"),
    ];
    let mut a = Some(a);
    let (writers, text, revision) = burst(writers, 30, (b_addr, "notes", &bob), 20, || {
        // kill -9 in the middle of the burst.
        drop(a.take());
    })
    .await;
    assert_eq!(revision, 120);
    assert!(
        writers.iter().all(|w| w.reconnects > 0),
        "every page moved to b"
    );
    check(&writers, &text, revision, &database, "notes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_sequencer_cannot_store_a_revision_twice() {
    let Some(redis) = Redis::start().await else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    // Server a renews rarely: it keeps sequencing after its lease is gone,
    // as a server paused by a long garbage collection or a VM migration.
    let a = node(&dir, &redis, "a", |cluster| {
        cluster.lease = Duration::from_secs(60);
        cluster.renew = Duration::from_secs(30);
    })
    .await;
    let b = node(&dir, &redis, "b", |_| {}).await;
    let (a_addr, b_addr) = (a.local_addr(), b.local_addr());
    let (_, ada) = user(a_addr, "Ada").await;
    document(a_addr, &ada, "notes").await;
    let (mut pa, _) = Page::open(a_addr, "notes", &ada, "pa").await;
    pa.edit(0, Edit::text(Operation::new().insert("a"))).await;
    assert_eq!(
        pa.next().await,
        ServerMessage::Ack {
            seq: 1,
            revision: 1
        }
    );
    // The lease "expires": server b becomes a second sequencer.
    redis.del("editor:doc:notes:sequencer").await;
    let (mut pb, welcome) = Page::open(b_addr, "notes", &ada, "pb").await;
    assert!(
        matches!(welcome, ServerMessage::Welcome { revision: 1, .. }),
        "b loaded the document from the store: {welcome:?}"
    );
    pb.edit(1, Edit::text(Operation::new().retain(1).insert("b")))
        .await;
    assert_eq!(
        pb.next().await,
        ServerMessage::Ack {
            seq: 1,
            revision: 2
        }
    );
    // Server a still believes it sequences: its revision 2 is refused by
    // the store, nothing is acknowledged, and its page is told to go.
    pa.edit(1, Edit::text(Operation::new().retain(1).insert("x")))
        .await;
    let code = within("a's page to be closed", async {
        loop {
            match pa.socket.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(Message::Text(text))) => {
                    assert!(!text.contains("\"ack\""), "a acknowledged {text}");
                }
                Some(Ok(_)) => {}
                other => panic!("a Close, got {other:?}"),
            }
        }
    })
    .await;
    assert_eq!(code, Some(1012), "service restart: reconnect");
    // The page reconnects (to b) and resends its edit as it was: applied
    // once, after b's.
    let (mut pa, catch_up) = Page::open_since(b_addr, "notes", &ada, "pa", Some(1)).await;
    assert!(
        matches!(catch_up, ServerMessage::CatchUp { ref edits, .. } if edits.len() == 1 && edits[0].client == "pb"),
        "{catch_up:?}"
    );
    let resend = ClientMessage::Edit {
        seq: 2,
        base: 1,
        edit: Edit::text(Operation::new().retain(1).insert("x")),
    };
    pa.send(&resend).await;
    assert_eq!(
        pa.next().await,
        ServerMessage::Ack {
            seq: 2,
            revision: 3
        }
    );
    let (status, doc) = http(
        b_addr,
        "GET",
        "/api/docs/notes/versions/3",
        Some(&ada),
        None,
    )
    .await;
    assert_eq!(status, 200, "{doc}");
    let mut letters: Vec<char> = doc["text"].as_str().expect("a text").chars().collect();
    letters.sort_unstable();
    assert_eq!(letters, ['a', 'b', 'x'], "{doc}");
    let rows: i64 = rusqlite::Connection::open(dir.path().join("editor.sqlite"))
        .expect("opens")
        .query_row(
            "SELECT COUNT(*) FROM edits WHERE doc = 'notes'",
            [],
            |row| row.get(0),
        )
        .expect("counts");
    assert_eq!(rows, 3, "revisions 1, 2 and 3, once each");
    drop((pa, pb));
    within("shutdown", async {
        tokio::join!(a.shutdown(), b.shutdown())
    })
    .await;
}

#[tokio::test]
async fn the_redis_client_leases_publishes_and_subscribes() {
    let Some(redis) = Redis::start().await else {
        return;
    };
    let mut c = within("connecting", Connection::connect(&redis.address))
        .await
        .expect("connects");
    let key = "editor:doc:d:sequencer";
    assert!(c.set_nx_px(key, "a#1", 5_000).await.expect("SET"));
    assert!(!c.set_nx_px(key, "b#1", 5_000).await.expect("SET"), "taken");
    assert!(c.extend(key, "a#1", 5_000).await.expect("EVAL"));
    assert!(!c.extend(key, "b#1", 5_000).await.expect("EVAL"), "not b's");
    assert!(!c.release(key, "b#1").await.expect("EVAL"), "not b's");
    assert_eq!(c.get(key).await.expect("GET").as_deref(), Some("a#1"));
    assert!(c.release(key, "a#1").await.expect("EVAL"));
    assert_eq!(c.get(key).await.expect("GET"), None);
    assert!(!c.extend(key, "a#1", 5_000).await.expect("EVAL"), "gone");
    assert!(matches!(
        c.command(&[b"NO-SUCH-COMMAND"]).await,
        Err(editor::redis::RedisError::Server(_))
    ));

    assert_eq!(c.publish("ch", b"lost").await.expect("PUBLISH"), 0);
    let (sender, mut messages) = tokio::sync::mpsc::channel(4);
    let (stop, stopped) = watch::channel(false);
    let task = within(
        "subscribing",
        editor::redis::subscribe(&redis.address, "ch", sender, stopped),
    )
    .await
    .expect("subscribes");
    assert_eq!(c.subscribers("ch").await.expect("NUMSUB"), 1);
    let payload = b"a\r\nbinary\x00payload".to_vec();
    assert_eq!(c.publish("ch", &payload).await.expect("PUBLISH"), 1);
    assert_eq!(within("a message", messages.recv()).await, Some(payload));
    stop.send_replace(true);
    within("the subscription to end", task)
        .await
        .expect("ends cleanly");
    assert_eq!(within("the channel to end", messages.recv()).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_of_a_killed_server_leave_the_others_screens() {
    let Some(redis) = Redis::start().await else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let database = dir.path().join("editor.sqlite");
    let (_a, a_addr) = spawn(&database, &redis, "a");
    let (b, b_addr) = spawn(&database, &redis, "b");
    let (_, ada) = user(a_addr, "Ada").await;
    document(a_addr, &ada, "notes").await;
    let (mut pa, _) = Page::open(a_addr, "notes", &ada, "pa").await;
    let (pb, _) = Page::open(b_addr, "notes", &ada, "pb").await;
    let joined = pa.next().await;
    assert!(
        matches!(joined, ServerMessage::Presence { ref participant } if participant.client == "pb"),
        "{joined:?}"
    );
    // kill -9 of server b while nobody types: b could not say that pb
    // left, but a's heartbeat finds nobody on b's channel.
    drop(b);
    drop(pb);
    let left = pa.until(|m| matches!(m, ServerMessage::Left { .. })).await;
    assert_eq!(
        left,
        ServerMessage::Left {
            client: "pb".into()
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sequencer_that_loses_its_lease_stops_and_its_pages_move() {
    let Some(redis) = Redis::start().await else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let a = node(&dir, &redis, "a", |_| {}).await;
    let b = node(&dir, &redis, "b", |_| {}).await;
    let (a_addr, b_addr) = (a.local_addr(), b.local_addr());
    let (_, ada) = user(a_addr, "Ada").await;
    document(a_addr, &ada, "notes").await;
    let (mut pa, _) = Page::open(a_addr, "notes", &ada, "pa").await;
    pa.edit(0, Edit::text(Operation::new().insert("a"))).await;
    assert_eq!(
        pa.next().await,
        ServerMessage::Ack {
            seq: 1,
            revision: 1
        }
    );
    redis.del("editor:doc:notes:sequencer").await;
    let (pb, welcome) = Page::open(b_addr, "notes", &ada, "pb").await;
    assert!(
        matches!(welcome, ServerMessage::Welcome { revision: 1, .. }),
        "{welcome:?}"
    );
    // a's next renewal finds b's value: a stops, without waiting for an
    // edit to run into the fence.
    assert_eq!(pa.close_code().await, Some(1012));
    let (again, catch_up) = Page::open_since(a_addr, "notes", &ada, "pa", Some(1)).await;
    assert!(
        matches!(catch_up, ServerMessage::CatchUp { ref edits, .. } if edits.is_empty()),
        "a now forwards to b: {catch_up:?}"
    );
    drop((again, pb));
    within("shutdown", async {
        tokio::join!(a.shutdown(), b.shutdown())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sequencer_that_shuts_down_hands_its_document_over() {
    let Some(redis) = Redis::start().await else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let a = node(&dir, &redis, "a", |_| {}).await;
    let b = node(&dir, &redis, "b", |_| {}).await;
    let (a_addr, b_addr) = (a.local_addr(), b.local_addr());
    let (_, ada) = user(a_addr, "Ada").await;
    document(a_addr, &ada, "notes").await;
    let (mut pa, _) = Page::open(a_addr, "notes", &ada, "pa").await;
    let (mut pb, _) = Page::open(b_addr, "notes", &ada, "pb").await;
    pb.edit(0, Edit::text(Operation::new().insert("b"))).await;
    assert_eq!(
        pb.until(|m| matches!(m, ServerMessage::Ack { .. })).await,
        ServerMessage::Ack {
            seq: 1,
            revision: 1
        }
    );
    // a stops cleanly: its page is told it goes away, b's page that its
    // document moves; a gives the lease back, so b takes over at once.
    within("a's shutdown", a.shutdown()).await;
    assert_eq!(pa.close_code().await, Some(1001));
    assert_eq!(pb.close_code().await, Some(1012));
    let (mut pb, catch_up) = Page::open_since(b_addr, "notes", &ada, "pb", Some(1)).await;
    assert!(
        matches!(catch_up, ServerMessage::CatchUp { ref edits, .. } if edits.is_empty()),
        "{catch_up:?}"
    );
    pb.seq = 1;
    pb.edit(1, Edit::text(Operation::new().retain(1).insert("!")))
        .await;
    assert_eq!(
        pb.next().await,
        ServerMessage::Ack {
            seq: 2,
            revision: 2
        }
    );
    drop(pb);
    within("b's shutdown", b.shutdown()).await;
}
