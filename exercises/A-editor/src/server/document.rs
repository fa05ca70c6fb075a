//! One open document: a task that owns it.
//!
//! Everything about a document (its [`Doc`], members, presence, who is
//! connected) belongs to one task, and sessions and API calls talk to it
//! through its inbox: no lock is held across an await, and edits are
//! ordered simply by the order they come out of the inbox.
//!
//! Edits are handled in batches: the task takes every command waiting in
//! its inbox, applies the edits, stores them in one transaction (a group
//! commit), and only then acknowledges them to their authors and sends them
//! to everybody else. If the store fails, the task does not acknowledge
//! anything: it closes every connection (1011) and ends, and the next
//! connection loads the document again from what the database has.
//!
//! In a cluster ([`super::cluster`]), the task runs on the server holding
//! the document's lease (a task of its own renews it, so that no edit
//! waits for Redis), serves members on other servers through Redis, and
//! stops (1012, the pages reconnect) if it loses the lease or another
//! server stored a revision first.
//!
//! A document nobody has had open for [`Config::idle_unload`] is unloaded:
//! the task ends and the memory is freed; it is loaded again on the next
//! join.

use std::collections::HashMap;
use std::sync::Arc;

use collab::Selection;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::access::{Access, AccessError, Role};
use crate::doc::{Accepted, Doc, DocError, Entry, Submitted};
use crate::presence::{PRESENCE_INTERVAL, Participant, Pass, Presence, Throttle};
use crate::protocol::{LoggedEdit, ServerMessage};
use crate::rich::{Edit, RichText};
use crate::store::User;

use super::Shared;
use super::cluster::{self, Cluster, Wire};
use crate::store::StoreError;

/// How many commands a document's inbox holds before senders wait.
pub(crate) const INBOX: usize = 1024;

/// What a session sends its connection.
#[derive(Debug, Clone)]
pub(crate) enum Outgoing {
    /// A message.
    Message(ServerMessage),
    /// A message already written as JSON: a broadcast is serialised once
    /// and the text shared by every connection.
    Frame(axum::extract::ws::Utf8Bytes),
    /// Close with this code and reason.
    Close(u16, String),
}

/// How many messages a connection may have waiting before it counts as
/// too slow and is closed (no unbounded buffering).
pub(crate) const OUTBOX: usize = 1024;

/// Why a request to a document failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub(crate) enum Refused {
    #[error("no document with that id")]
    NotFound,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("the document could not be stored or loaded; try again")]
    Unavailable,
}

impl From<AccessError> for Refused {
    fn from(error: AccessError) -> Self {
        match error {
            AccessError::UnknownLink => Refused::BadRequest(error.to_string()),
            _ => Refused::Forbidden(error.to_string()),
        }
    }
}

impl From<DocError> for Refused {
    fn from(error: DocError) -> Self {
        Refused::BadRequest(error.to_string())
    }
}

pub(crate) type Reply<T> = oneshot::Sender<Result<T, Refused>>;

/// A connection joining.
#[derive(Debug)]
pub(crate) struct Joining {
    /// This connection's number (a replica may reconnect before its old
    /// connection is known to be gone).
    pub conn: u64,
    pub client: String,
    pub user: User,
    pub since: Option<u64>,
    pub outbox: mpsc::Sender<Outgoing>,
}

/// What a document task is asked to do.
#[derive(Debug)]
pub(crate) enum Command {
    Join(Joining, Reply<()>),
    Edit {
        client: String,
        seq: u64,
        base: u64,
        edit: Edit,
    },
    Select {
        client: String,
        selection: Selection,
    },
    Leave {
        conn: u64,
        client: String,
    },
    Share {
        user: String,
        role: Role,
        reply: Reply<String>,
    },
    JoinLink {
        user: String,
        code: String,
        reply: Reply<Role>,
    },
    SetRole {
        by: String,
        user: String,
        role: Option<Role>,
        reply: Reply<()>,
    },
    Versions {
        user: String,
        reply: Reply<(u64, Vec<(String, u64)>)>,
    },
    Version {
        user: String,
        revision: u64,
        reply: Reply<RichText>,
    },
    Name {
        user: String,
        name: String,
        revision: u64,
        reply: Reply<()>,
    },
    Restore {
        user: String,
        revision: u64,
        reply: Reply<u64>,
    },
    Diff {
        user: String,
        from: u64,
        to: u64,
        reply: Reply<Edit>,
    },
    /// A message from another server of the cluster.
    Cluster(Box<Wire>),
    /// The subscription to Redis failed (messages may be lost), or this
    /// sequencer's lease was lost: close every connection with 1012 and
    /// end.
    Restart,
}

/// The queue of messages for another server's connections: the message
/// and to which of them (see [`Cluster::node_link`]).
pub(crate) type Link = mpsc::Sender<(Vec<u64>, Outgoing)>;

/// Where a member's messages go.
pub(crate) enum Outbox {
    /// A connection of this server: its session's queue.
    Local(mpsc::Sender<Outgoing>),
    /// Connection `conn` of another server, through that server's link
    /// ([`Cluster::node_link`]), shared by all its members: a broadcast is
    /// published once per server, with the list of its connections.
    Remote { conn: u64, link: Link },
}

impl Outbox {
    fn try_send(&self, outgoing: Outgoing) -> bool {
        match self {
            Outbox::Local(outbox) => outbox.try_send(outgoing).is_ok(),
            Outbox::Remote { conn, link } => link.try_send((vec![*conn], outgoing)).is_ok(),
        }
    }

    /// Gone, or too far behind: its queue (or its server's link) is full.
    fn is_stuck(&self) -> bool {
        match self {
            Outbox::Local(outbox) => outbox.is_closed() || outbox.capacity() == 0,
            Outbox::Remote { link, .. } => link.is_closed() || link.capacity() == 0,
        }
    }
}

struct Member {
    conn: u64,
    user: User,
    outbox: Outbox,
    /// The highest seq acknowledged on this connection: a resend that
    /// crossed its acknowledgement on the way is not acknowledged again
    /// (the page has sent its next edit, which a second ack would
    /// acknowledge).
    acked: Option<u64>,
}

impl Drop for Member {
    /// A local session notices its queue ending and closes (1008); a
    /// connection on another server is told so (if it left already, its
    /// server ignores this).
    fn drop(&mut self) {
        if let Outbox::Remote { .. } = self.outbox {
            self.outbox
                .try_send(Outgoing::Close(1008, "dropped by the document".into()));
        }
    }
}

struct Task {
    id: String,
    shared: Arc<Shared>,
    doc: Doc,
    access: Access,
    presence: Presence,
    throttle: Throttle,
    members: HashMap<String, Member>,
    /// Acknowledgements of resends, sent after the next commit.
    duplicates: Vec<(String, u64, u64)>,
    /// Answers to restores (their revision), sent after the commit that
    /// stores them: an API caller told "restored" can rely on it.
    restored: Vec<(u64, Reply<u64>)>,
    /// The last revision stored: edits after it are applied but not yet
    /// stored (their authors and numbers are in the log).
    stored: u64,
    /// In a cluster: this server's part, and the lease's value.
    lease: Option<(Arc<Cluster>, String)>,
    /// In a cluster: the link to each other server with members here.
    links: HashMap<String, Link>,
    /// Set when the task must end: the close code and reason.
    ending: Option<(u16, &'static str)>,
}

/// What the pages of a document whose sequencer stopped are told: they
/// reconnect, to whichever server, and resend what was not acknowledged.
pub(crate) const RECONNECT: &str = "this document moved to another server; reconnect";

/// Runs document `id` as its sequencer in a cluster, holding `lease`;
/// `sender` is its inbox's, for the task that keeps the lease.
pub(crate) async fn run_leased(
    id: String,
    shared: Arc<Shared>,
    (sender, inbox): (mpsc::Sender<Command>, mpsc::Receiver<Command>),
    cluster: Arc<Cluster>,
    lease: String,
) {
    let keeper = tokio::spawn(keep_lease(
        Arc::clone(&cluster),
        id.clone(),
        lease.clone(),
        sender,
    ));
    run_with(
        id.clone(),
        shared,
        inbox,
        Some((Arc::clone(&cluster), lease.clone())),
    )
    .await;
    // The inbox is closed now, so the keeper ends.
    let _ = keeper.await;
    cluster.release(&id, &lease).await;
}

/// Renews the lease every [`ClusterConfig::renew`](super::ClusterConfig)
/// until the document's inbox closes, apart from the document task, so
/// that no edit waits for Redis. A lease that is lost (or that Redis
/// cannot renew: it may expire meanwhile) makes the task stop (1012).
async fn keep_lease(
    cluster: Arc<Cluster>,
    id: String,
    lease: String,
    inbox: mpsc::Sender<Command>,
) {
    let mut every = tokio::time::interval(cluster.config.renew);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.reset();
    loop {
        tokio::select! {
            _ = every.tick() => {}
            () = inbox.closed() => return,
        }
        match cluster.renew(&id, &lease).await {
            Ok(true) => continue,
            Ok(false) => tracing::warn!(id, "the document's lease was taken over"),
            Err(error) => tracing::warn!(%error, id, "the document's lease could not be renewed"),
        }
        tokio::select! {
            _ = inbox.send(Command::Restart) => {}
            () = inbox.closed() => {}
        }
        return;
    }
}

/// Runs document `id` until it is unloaded, fails, or the server stops.
pub(crate) async fn run(id: String, shared: Arc<Shared>, inbox: mpsc::Receiver<Command>) {
    run_with(id, shared, inbox, None).await;
}

async fn run_with(
    id: String,
    shared: Arc<Shared>,
    mut inbox: mpsc::Receiver<Command>,
    lease: Option<(Arc<Cluster>, String)>,
) {
    let store = Arc::clone(&shared.store);
    let key = id.clone();
    let loaded = tokio::task::spawn_blocking(move || store.load(&key)).await;
    let (doc, access) = match loaded {
        Ok(Ok(Some(found))) => found,
        Ok(Ok(None)) => return refuse_all(&id, &shared, inbox, Refused::NotFound),
        Ok(Err(error)) => {
            tracing::error!(%error, id, "a document could not be loaded");
            return refuse_all(&id, &shared, inbox, Refused::Unavailable);
        }
        Err(_) => return refuse_all(&id, &shared, inbox, Refused::Unavailable),
    };
    let stored = doc.revision();
    let mut task = Task {
        id,
        shared,
        doc,
        access,
        presence: Presence::new(),
        throttle: Throttle::new(PRESENCE_INTERVAL),
        members: HashMap::new(),
        duplicates: Vec::new(),
        restored: Vec::new(),
        stored,
        ending: None,
        lease,
        links: HashMap::new(),
    };
    let mut stop = task.shared.stop.clone();
    let mut idle_since = Some(Instant::now());
    let every = task.shared.config.cluster.as_ref().map(|c| c.renew);
    let mut heartbeat =
        tokio::time::interval(every.unwrap_or(std::time::Duration::from_secs(3600)));
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    heartbeat.reset();
    loop {
        let idle_at = idle_since.map(|since| since + task.shared.config.idle_unload);
        let due = task.throttle.next_due();
        tokio::select! {
            command = inbox.recv() => {
                let Some(command) = command else { break };
                let mut batch = vec![command];
                while batch.len() < INBOX {
                    match inbox.try_recv() {
                        Ok(command) => batch.push(command),
                        Err(_) => break,
                    }
                }
                for command in batch {
                    task.handle(command);
                }
                if let Err((code, reason)) = task.commit().await {
                    task.close_all(code, reason);
                    break;
                }
                if let Some((code, reason)) = task.ending {
                    task.close_all(code, reason);
                    break;
                }
                idle_since = task.members.is_empty().then(Instant::now);
            }
            _ = heartbeat.tick(), if task.lease.is_some() => task.heartbeat(),
            () = sleep_until(due), if due.is_some() => task.flush_presence(),
            () = sleep_until(idle_at), if idle_at.is_some() => {
                if task.unload(&mut inbox) {
                    return;
                }
                idle_since = task.members.is_empty().then(Instant::now);
            }
            () = super::stopped(&mut stop) => {
                task.close_on_shutdown();
                break;
            }
        }
    }
    task.forget(&mut inbox);
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Answers every command waiting with `refused` and forgets the document.
pub(crate) fn refuse_all(
    id: &str,
    shared: &Shared,
    mut inbox: mpsc::Receiver<Command>,
    refused: Refused,
) {
    let mut documents = shared.documents();
    inbox.close();
    while let Ok(command) = inbox.try_recv() {
        command.refuse(refused.clone());
    }
    documents.remove(id);
}

impl Command {
    pub(crate) fn refuse(self, refused: Refused) {
        match self {
            Command::Join(_, reply)
            | Command::SetRole { reply, .. }
            | Command::Name { reply, .. } => {
                let _ = reply.send(Err(refused));
            }
            Command::Share { reply, .. } => {
                let _ = reply.send(Err(refused));
            }
            Command::JoinLink { reply, .. } => {
                let _ = reply.send(Err(refused));
            }
            Command::Versions { reply, .. } => {
                let _ = reply.send(Err(refused));
            }
            Command::Version { reply, .. } => {
                let _ = reply.send(Err(refused));
            }
            Command::Restore { reply, .. } => {
                let _ = reply.send(Err(refused));
            }
            Command::Diff { reply, .. } => {
                let _ = reply.send(Err(refused));
            }
            Command::Edit { .. }
            | Command::Select { .. }
            | Command::Leave { .. }
            | Command::Cluster(_)
            | Command::Restart => {}
        }
    }
}

impl Task {
    fn handle(&mut self, command: Command) {
        match command {
            Command::Join(joining, reply) => {
                let result = self.join(joining);
                let _ = reply.send(result);
            }
            Command::Edit {
                client,
                seq,
                base,
                edit,
            } => self.edit(client, seq, base, edit),
            Command::Select { client, selection } => self.select(&client, selection),
            Command::Leave { conn, client } => {
                if self.members.get(&client).is_some_and(|m| m.conn == conn) {
                    self.leave(&client);
                }
            }
            Command::Share { user, role, reply } => {
                let result = self.access.share(&user, role).map_err(Refused::from);
                if result.is_ok() {
                    self.save_access();
                }
                let _ = reply.send(result);
            }
            Command::JoinLink { user, code, reply } => {
                let result = self.access.join(&user, &code).map_err(Refused::from);
                if result.is_ok() {
                    self.save_access();
                }
                let _ = reply.send(result);
            }
            Command::SetRole {
                by,
                user,
                role,
                reply,
            } => {
                let result = self
                    .access
                    .set_role(&by, &user, role)
                    .map_err(Refused::from);
                if result.is_ok() {
                    self.save_access();
                    self.tell_role(&user, role);
                }
                let _ = reply.send(result);
            }
            Command::Versions { user, reply } => {
                let result = self.member(&user).map(|_| {
                    let names = self
                        .doc
                        .names()
                        .iter()
                        .map(|(name, revision)| (name.clone(), *revision))
                        .collect();
                    (self.doc.revision(), names)
                });
                let _ = reply.send(result);
            }
            Command::Version {
                user,
                revision,
                reply,
            } => {
                let result = self
                    .member(&user)
                    .and_then(|_| self.doc.version(revision).map_err(Refused::from));
                let _ = reply.send(result);
            }
            Command::Diff {
                user,
                from,
                to,
                reply,
            } => {
                let result = self.member(&user).and_then(|_| {
                    let (from, to) = (self.doc.version(from)?, self.doc.version(to)?);
                    Ok(crate::doc::difference(&from, &to))
                });
                let _ = reply.send(result);
            }
            Command::Name {
                user,
                name,
                revision,
                reply,
            } => {
                let result = self.editor(&user).and_then(|()| {
                    self.doc.name_version(&name, revision)?;
                    let store = Arc::clone(&self.shared.store);
                    let id = self.id.clone();
                    // Small and rare: stored in the background.
                    tokio::task::spawn_blocking(move || {
                        if let Err(error) = store.name(&id, &name, revision) {
                            tracing::error!(%error, "a version name was not stored");
                        }
                    });
                    Ok(())
                });
                let _ = reply.send(result);
            }
            Command::Restore {
                user,
                revision,
                reply,
            } => {
                let result = self.editor(&user).and_then(|()| {
                    let client = format!("restore-{user}");
                    let seq = self.doc.revision() + 1;
                    match self.doc.restore(revision, &client, seq)? {
                        Accepted::Applied { revision, edit } => {
                            self.presence.transform(&edit);
                            Ok(revision)
                        }
                        Accepted::Duplicate { revision } => Ok(revision),
                    }
                });
                match result {
                    Ok(revision) if revision > self.stored => self.restored.push((revision, reply)),
                    result => {
                        let _ = reply.send(result);
                    }
                }
            }
            Command::Cluster(wire) => self.remote(*wire),
            Command::Restart => self.ending = Some((1012, RECONNECT)),
        }
    }

    /// Sends each server with members here a message for none of its
    /// connections: if that server is gone (killed, so its pages could
    /// not leave), nobody receives it, its link closes, and its members
    /// are pruned at the next heartbeat: the others see those cursors go
    /// even in a document where nobody types.
    fn heartbeat(&mut self) {
        self.links.retain(|_, link| !link.is_closed());
        for link in self.links.values() {
            let _ = link.try_send((Vec::new(), Outgoing::Frame(Default::default())));
        }
        self.prune();
    }

    /// A message from another server: a member there joins, edits,
    /// selects, leaves or asks.
    fn remote(&mut self, wire: Wire) {
        let Some((cluster, _)) = self.lease.clone() else {
            return;
        };
        match wire {
            Wire::Join {
                from,
                id,
                conn,
                client,
                user,
                since,
                ..
            } => {
                let link = match self.links.get(&from) {
                    Some(link) if !link.is_closed() => link.clone(),
                    _ => {
                        let link =
                            cluster.node_link(self.shared.alive(), from.clone(), self.id.clone());
                        self.links.insert(from.clone(), link.clone());
                        link
                    }
                };
                let outbox = Outbox::Remote { conn, link };
                let result = self
                    .join_with(conn, client, user, since, outbox)
                    .map(|()| serde_json::Value::Null);
                let answer = Wire::Answer {
                    doc: self.id.clone(),
                    id,
                    result,
                };
                cluster.publish_later(self.shared.alive(), &from, answer);
            }
            Wire::Edit {
                client,
                seq,
                base,
                edit,
                ..
            } => self.edit(client, seq, base, edit),
            Wire::Select {
                client, selection, ..
            } => self.select(&client, selection),
            Wire::Leave { conn, client, .. } => self.handle(Command::Leave { conn, client }),
            Wire::Request {
                from, id, request, ..
            } => {
                let (command, answer) = cluster::from_request(request);
                self.handle(command);
                let answer = Wire::Answer {
                    doc: self.id.clone(),
                    id,
                    result: answer(),
                };
                cluster.publish_later(self.shared.alive(), &from, answer);
            }
            Wire::Deliver { .. } | Wire::Answer { .. } | Wire::NotHere { .. } => {}
        }
    }

    fn member(&self, user: &str) -> Result<Role, Refused> {
        self.access
            .role(user)
            .ok_or_else(|| Refused::Forbidden("you are not a member of this document".into()))
    }

    fn editor(&self, user: &str) -> Result<(), Refused> {
        if self.member(user)?.can_edit() {
            Ok(())
        } else {
            Err(Refused::Forbidden(
                "viewers cannot change the document".into(),
            ))
        }
    }

    fn join(&mut self, joining: Joining) -> Result<(), Refused> {
        let Joining {
            conn,
            client,
            user,
            since,
            outbox,
        } = joining;
        self.join_with(conn, client, user, since, Outbox::Local(outbox))
    }

    fn join_with(
        &mut self,
        conn: u64,
        client: String,
        user: User,
        since: Option<u64>,
        outbox: Outbox,
    ) -> Result<(), Refused> {
        let role = self.member(&user.id)?;
        self.presence.leave(&client);
        let you = self.presence.join(&client, &user.name).clone();
        let participants: Vec<Participant> = self
            .presence
            .participants()
            .filter(|p| p.client != client)
            .cloned()
            .collect();
        let catch_up = since.and_then(|since| {
            // Only what is stored: unstored edits follow as Remote/Ack.
            let missed = usize::try_from(self.stored.saturating_sub(since)).ok()?;
            Some(
                self.doc
                    .since(since)
                    .ok()?
                    .iter()
                    .take(missed)
                    .zip(since + 1..)
                    .map(|(entry, revision)| logged(entry, revision))
                    .collect::<Vec<_>>(),
            )
        });
        let first = match catch_up {
            Some(edits) => ServerMessage::CatchUp {
                edits,
                role,
                you: you.clone(),
                participants,
            },
            None => ServerMessage::Welcome {
                revision: self.stored,
                doc: if self.doc.revision() == self.stored {
                    self.doc.current().clone()
                } else {
                    self.doc
                        .version(self.stored)
                        .map_err(|_| Refused::Unavailable)?
                },
                role,
                you: you.clone(),
                participants,
            },
        };
        if !outbox.try_send(Outgoing::Message(first)) {
            self.presence.leave(&client);
            return Err(Refused::Unavailable);
        }
        self.members.insert(
            client.clone(),
            Member {
                conn,
                user,
                outbox,
                acked: None,
            },
        );
        self.broadcast_except(&client, ServerMessage::Presence { participant: you });
        Ok(())
    }

    fn edit(&mut self, client: String, seq: u64, base: u64, edit: Edit) {
        let Some(member) = self.members.get(&client) else {
            return;
        };
        if !self.access.can_edit(&member.user.id) {
            let message = match self.access.role(&member.user.id) {
                Some(Role::Viewer) => {
                    "you can view this document but not edit it; your edit was not applied"
                }
                _ => "you are not a member of this document any more; your edit was not applied",
            };
            self.send(&client, error("forbidden", message));
            return;
        }
        let submitted = Submitted {
            client: client.clone(),
            seq,
            base,
            edit,
        };
        match self.doc.submit(submitted) {
            Ok(Accepted::Applied { edit, .. }) => self.presence.transform(&edit),
            // Acknowledged after the next commit, unless that commit
            // stores it and acknowledges it on this connection anyway.
            Ok(Accepted::Duplicate { revision }) => self.duplicates.push((client, seq, revision)),
            Err(refused) => {
                let code = match refused {
                    DocError::StaleSeq { .. } => "stale",
                    DocError::TooFarBehind { .. } => "too_far_behind",
                    _ => "bad_edit",
                };
                self.send(&client, error(code, &refused.to_string()));
            }
        }
    }

    /// Stores what was applied since the last commit, then acknowledges and
    /// broadcasts it. When the store failed: how to close the connections
    /// (nothing of the batch is acknowledged).
    async fn commit(&mut self) -> Result<(), (u16, &'static str)> {
        const FAILED: (u16, &str) = (1011, "the document could not be stored; reconnect");
        if self.doc.revision() > self.stored {
            let Ok(entries) = self.doc.since(self.stored) else {
                return Err(FAILED);
            };
            let entries = entries.to_vec();
            let snapshots: Vec<(u64, RichText)> = self
                .doc
                .snapshots()
                .range(self.stored + 1..)
                .map(|(revision, body)| (*revision, body.clone()))
                .collect();
            let store = Arc::clone(&self.shared.store);
            let (id, first) = (self.id.clone(), self.stored + 1);
            // The entries come back from the blocking thread for the
            // acknowledgements and broadcasts.
            let saved = tokio::task::spawn_blocking(move || {
                store
                    .append(&id, first, &entries, &snapshots)
                    .map(|()| entries)
            })
            .await;
            let entries = match saved {
                Ok(Ok(entries)) => entries,
                Ok(Err(error @ StoreError::Conflict { .. })) => {
                    // The fence: another server sequences this document now.
                    tracing::warn!(%error, id = self.id, "a stale sequencer stops");
                    return Err((1012, RECONNECT));
                }
                Ok(Err(error)) => {
                    tracing::error!(%error, id = self.id, "edits could not be stored");
                    return Err(FAILED);
                }
                Err(_) => return Err(FAILED),
            };
            self.stored = self.doc.revision();
            for (entry, revision) in entries.into_iter().zip(first..) {
                let Entry { edit, client, seq } = entry;
                let remote = axum::extract::ws::Utf8Bytes::from(
                    ServerMessage::Remote {
                        revision,
                        client: client.clone(),
                        edit,
                    }
                    .to_json(),
                );
                // A full queue (too slow) or a gone page: `prune` below.
                self.acknowledge(&client, seq, revision);
                self.fan_out(&client, &Outgoing::Frame(remote));
            }
        }
        for (revision, reply) in std::mem::take(&mut self.restored) {
            let _ = reply.send(Ok(revision));
        }
        for (client, seq, revision) in std::mem::take(&mut self.duplicates) {
            self.acknowledge(&client, seq, revision);
        }
        self.prune();
        Ok(())
    }

    /// Removes members whose connection is gone or cannot keep up.
    fn prune(&mut self) {
        let gone: Vec<String> = self
            .members
            .iter()
            .filter(|(_, member)| member.outbox.is_stuck())
            .map(|(client, _)| client.clone())
            .collect();
        for client in gone {
            if let Some(member) = self.members.get(&client) {
                member.outbox.try_send(Outgoing::Close(
                    1008,
                    "too far behind: reconnect to catch up".into(),
                ));
            }
            self.leave(&client);
        }
    }

    fn select(&mut self, client: &str, selection: Selection) {
        let len = self.doc.current().len_chars();
        if !self.presence.select(client, selection, len) {
            return;
        }
        if self.throttle.offer(client, Instant::now()) == Pass::Now {
            self.tell_presence(client);
        }
    }

    fn flush_presence(&mut self) {
        for client in self.throttle.due(Instant::now()) {
            self.tell_presence(&client);
        }
    }

    fn tell_presence(&mut self, client: &str) {
        if let Some(participant) = self.presence.get(client).cloned() {
            self.broadcast_except(client, ServerMessage::Presence { participant });
        }
    }

    fn leave(&mut self, client: &str) {
        self.members.remove(client);
        self.throttle.forget(client);
        if self.presence.leave(client) {
            self.broadcast_except(
                client,
                ServerMessage::Left {
                    client: client.to_owned(),
                },
            );
        }
    }

    fn tell_role(&mut self, user: &str, role: Option<Role>) {
        let clients: Vec<String> = self
            .members
            .iter()
            .filter(|(_, member)| member.user.id == user)
            .map(|(client, _)| client.clone())
            .collect();
        for client in clients {
            self.send(&client, ServerMessage::Role { role });
            if role.is_none() {
                if let Some(member) = self.members.get(&client) {
                    member.outbox.try_send(Outgoing::Close(
                        1008,
                        "you are no longer a member of this document".into(),
                    ));
                }
                self.leave(&client);
            }
        }
    }

    fn save_access(&self) {
        let store = Arc::clone(&self.shared.store);
        let (id, access) = (self.id.clone(), self.access.clone());
        tokio::task::spawn_blocking(move || {
            if let Err(error) = store.set_access(&id, &access) {
                tracing::error!(%error, "a document's members were not stored");
            }
        });
    }

    /// Acknowledges `client`'s edit `seq` as `revision`, once per
    /// connection: a page whose edit was applied from its old connection
    /// resends it on the new one, and may get the commit's ack first.
    fn acknowledge(&mut self, client: &str, seq: u64, revision: u64) {
        if let Some(member) = self.members.get_mut(client)
            && member.acked.is_none_or(|acked| acked < seq)
        {
            member.acked = Some(seq);
            member
                .outbox
                .try_send(Outgoing::Message(ServerMessage::Ack { seq, revision }));
        }
    }

    fn send(&self, client: &str, message: ServerMessage) {
        if let Some(member) = self.members.get(client) {
            member.outbox.try_send(Outgoing::Message(message));
        }
    }

    fn broadcast_except(&self, except: &str, message: ServerMessage) {
        let frame = axum::extract::ws::Utf8Bytes::from(message.to_json());
        self.fan_out(except, &Outgoing::Frame(frame));
    }

    /// Sends `outgoing` to every member but `except`: to each local
    /// connection, and once to each other server with members here.
    fn fan_out(&self, except: &str, outgoing: &Outgoing) {
        let mut servers: Vec<(&Link, Vec<u64>)> = Vec::new();
        for (client, member) in &self.members {
            if client == except {
                continue;
            }
            match &member.outbox {
                Outbox::Local(outbox) => {
                    let _ = outbox.try_send(outgoing.clone());
                }
                Outbox::Remote { conn, link } => {
                    match servers
                        .iter_mut()
                        .find(|(known, _)| known.same_channel(link))
                    {
                        Some((_, conns)) => conns.push(*conn),
                        None => servers.push((link, vec![*conn])),
                    }
                }
            }
        }
        for (link, conns) in servers {
            let _ = link.try_send((conns, outgoing.clone()));
        }
    }

    /// This server stops: its own pages are told it is going away (1001);
    /// pages on other servers only lose their sequencer, and reconnect to
    /// their server, where another takes over (1012).
    fn close_on_shutdown(&mut self) {
        for member in self.members.values() {
            let close = match member.outbox {
                Outbox::Local(_) => Outgoing::Close(1001, "the server is shutting down".into()),
                Outbox::Remote { .. } => Outgoing::Close(1012, RECONNECT.into()),
            };
            member.outbox.try_send(close);
        }
        self.members.clear();
    }

    pub(crate) fn close_all(&mut self, code: u16, reason: &str) {
        for member in self.members.values() {
            member
                .outbox
                .try_send(Outgoing::Close(code, reason.to_owned()));
        }
        // (A remote one is told again as it is dropped: ignored there.)
        self.members.clear();
    }

    /// Unloads the document if nobody joined meanwhile; `true` when it did.
    fn unload(&mut self, inbox: &mut mpsc::Receiver<Command>) -> bool {
        self.members.is_empty() && unload(&self.shared, &self.id, inbox)
    }

    fn forget(&mut self, inbox: &mut mpsc::Receiver<Command>) {
        forget(&self.shared, &self.id, inbox);
    }
}

/// Ends a document's task (a document task or a remote one) if nothing
/// is waiting in its inbox; `true` when it did.
pub(crate) fn unload(shared: &Shared, id: &str, inbox: &mut mpsc::Receiver<Command>) -> bool {
    let mut documents = shared.documents();
    if !inbox.is_empty() {
        return false;
    }
    inbox.close();
    documents.remove(id);
    tracing::debug!(id, "unloaded an idle document");
    true
}

/// A document's task ends: nothing waiting is answered, the document is
/// forgotten so the next request loads it again.
pub(crate) fn forget(shared: &Shared, id: &str, inbox: &mut mpsc::Receiver<Command>) {
    let mut documents = shared.documents();
    inbox.close();
    while let Ok(command) = inbox.try_recv() {
        command.refuse(Refused::Unavailable);
    }
    documents.remove(id);
}

fn logged(entry: &Entry, revision: u64) -> LoggedEdit {
    LoggedEdit {
        revision,
        client: entry.client.clone(),
        seq: entry.seq,
        edit: entry.edit.clone(),
    }
}

fn error(code: &str, message: &str) -> ServerMessage {
    ServerMessage::Error {
        code: code.to_owned(),
        message: message.to_owned(),
    }
}
