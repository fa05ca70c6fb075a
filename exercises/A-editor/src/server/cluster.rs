//! Several servers serving the same documents, through Redis.
//!
//! * **One sequencer per document.** The server whose document task orders
//!   a document's edits holds a lease in Redis,
//!   `editor:doc:{id}:sequencer`, taken with `SET NX PX` and renewed by a
//!   compare-and-extend script every [`ClusterConfig::renew`]. Its value
//!   names the holder: `{instance}#{epoch}`, this process and which of its
//!   document tasks.
//! * **Everyone else is a member.** On any other server, a document is a
//!   *remote* task ([`super::remote`]) with the same inbox as a document
//!   task: sessions and API calls do not know the difference. It forwards
//!   their commands to the sequencer's channel, `editor:node:{instance}`,
//!   and delivers what comes back on its own.
//! * **The fence is the store.** Every server writes the same database,
//!   whose primary key `(doc, revision)` refuses a second revision `n`: a
//!   sequencer that lost its lease without noticing cannot commit over
//!   its successor ([`crate::store::StoreError::Conflict`]).
//!
//! Each server subscribes to its own channel once; the messages
//! ([`Wire`]) are JSON.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use collab::Selection;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{Mutex, MutexGuard, mpsc, oneshot, watch};
use tokio::time::Instant;

use super::document::{Command, Link, OUTBOX, Outgoing, Refused, Reply};
use super::{ClusterConfig, Shared};
use crate::access::Role;
use crate::redis::{Connection, RedisError};
use crate::rich::Edit;
use crate::store::User;

// The learner's part: one attempt at a document's lease.
mod lease;

/// A request of the HTTP API that needs the document's task, as it
/// travels to the sequencer (its answer comes back as JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub(crate) enum Request {
    Share {
        user: String,
        role: Role,
    },
    JoinLink {
        user: String,
        code: String,
    },
    SetRole {
        by: String,
        user: String,
        role: Option<Role>,
    },
    Versions {
        user: String,
    },
    Version {
        user: String,
        revision: u64,
    },
    Name {
        user: String,
        name: String,
        revision: u64,
    },
    Restore {
        user: String,
        revision: u64,
    },
    Diff {
        user: String,
        from: u64,
        to: u64,
    },
}

/// What a member's node delivers to one of its connections.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Delivery {
    /// A protocol message, as JSON text.
    Text(String),
    /// Close the connection.
    Close(u16, String),
}

/// A message between servers, on `editor:node:{instance}`.
///
/// The first five go to a document's sequencer and carry `from`, the
/// sending server's instance, for the answer; the others go back.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Wire {
    Join {
        doc: String,
        from: String,
        id: u64,
        conn: u64,
        client: String,
        user: User,
        since: Option<u64>,
    },
    Edit {
        doc: String,
        from: String,
        client: String,
        seq: u64,
        base: u64,
        edit: Edit,
    },
    Select {
        doc: String,
        from: String,
        client: String,
        selection: Selection,
    },
    Leave {
        doc: String,
        from: String,
        conn: u64,
        client: String,
    },
    Request {
        doc: String,
        from: String,
        id: u64,
        request: Request,
    },
    /// To connections `conns` of the members' server (a broadcast is
    /// published once per server).
    Deliver {
        doc: String,
        conns: Vec<u64>,
        message: Delivery,
    },
    /// The answer to request (or join) `id`.
    Answer {
        doc: String,
        id: u64,
        result: Result<Value, Refused>,
    },
    /// This server does not sequence `doc` (any more).
    NotHere { doc: String },
}

impl Wire {
    fn doc(&self) -> &str {
        match self {
            Wire::Join { doc, .. }
            | Wire::Edit { doc, .. }
            | Wire::Select { doc, .. }
            | Wire::Leave { doc, .. }
            | Wire::Request { doc, .. }
            | Wire::Deliver { doc, .. }
            | Wire::Answer { doc, .. }
            | Wire::NotHere { doc } => doc,
        }
    }

    /// The sender, for a message to a sequencer.
    pub(crate) fn sender(&self) -> Option<&str> {
        match self {
            Wire::Join { from, .. }
            | Wire::Edit { from, .. }
            | Wire::Select { from, .. }
            | Wire::Leave { from, .. }
            | Wire::Request { from, .. } => Some(from),
            _ => None,
        }
    }
}

/// A pending answer: decodes the JSON into the reply's type.
pub(crate) type Responder = Box<dyn FnOnce(Result<Value, Refused>) + Send>;

fn responder<T: serde::de::DeserializeOwned + Send + 'static>(reply: Reply<T>) -> Responder {
    Box::new(move |result| {
        let decoded = result.and_then(|value| {
            serde_json::from_value(value).map_err(|error| {
                tracing::error!(%error, "a sequencer's answer does not decode");
                Refused::Unavailable
            })
        });
        let _ = reply.send(decoded);
    })
}

/// An API command as a request for the sequencer, and how to answer it;
/// a command that is not an API request comes back unchanged.
pub(crate) fn to_request(command: Command) -> Result<(Request, Responder), Command> {
    Ok(match command {
        Command::Share { user, role, reply } => (Request::Share { user, role }, responder(reply)),
        Command::JoinLink { user, code, reply } => {
            (Request::JoinLink { user, code }, responder(reply))
        }
        Command::SetRole {
            by,
            user,
            role,
            reply,
        } => (Request::SetRole { by, user, role }, responder(reply)),
        Command::Versions { user, reply } => (Request::Versions { user }, responder(reply)),
        Command::Version {
            user,
            revision,
            reply,
        } => (Request::Version { user, revision }, responder(reply)),
        Command::Name {
            user,
            name,
            revision,
            reply,
        } => (
            Request::Name {
                user,
                name,
                revision,
            },
            responder(reply),
        ),
        Command::Restore {
            user,
            revision,
            reply,
        } => (Request::Restore { user, revision }, responder(reply)),
        Command::Diff {
            user,
            from,
            to,
            reply,
        } => (Request::Diff { user, from, to }, responder(reply)),
        other => return Err(other),
    })
}

/// Reads a document task's answer once it has handled the command (its
/// commands answer at once).
pub(crate) type Answer = Box<dyn FnOnce() -> Result<Value, Refused> + Send>;

fn asked<T: Serialize + Send + 'static>(
    make: impl FnOnce(Reply<T>) -> Command,
) -> (Command, Answer) {
    let (reply, mut answer) = oneshot::channel::<Result<T, Refused>>();
    let read = move || match answer.try_recv() {
        Ok(result) => result.map(|value| serde_json::to_value(value).unwrap_or(Value::Null)),
        Err(_) => Err(Refused::Unavailable),
    };
    (make(reply), Box::new(read))
}

/// A request from another server as the document task's command.
pub(crate) fn from_request(request: Request) -> (Command, Answer) {
    match request {
        Request::Share { user, role } => asked(|reply| Command::Share { user, role, reply }),
        Request::JoinLink { user, code } => asked(|reply| Command::JoinLink { user, code, reply }),
        Request::SetRole { by, user, role } => asked(|reply| Command::SetRole {
            by,
            user,
            role,
            reply,
        }),
        Request::Versions { user } => asked(|reply| Command::Versions { user, reply }),
        Request::Version { user, revision } => asked(|reply| Command::Version {
            user,
            revision,
            reply,
        }),
        Request::Name {
            user,
            name,
            revision,
        } => asked(|reply| Command::Name {
            user,
            name,
            revision,
            reply,
        }),
        Request::Restore { user, revision } => asked(|reply| Command::Restore {
            user,
            revision,
            reply,
        }),
        Request::Diff { user, from, to } => asked(|reply| Command::Diff {
            user,
            from,
            to,
            reply,
        }),
    }
}

/// Who orders a document's edits, as [`Cluster::claim`] found out.
pub(crate) enum Claim {
    /// This server: the lease is ours, with this value.
    Sequencer(String),
    /// Another server: the lease's value.
    Member(String),
    /// Redis could not be asked, or nobody took over in time.
    Unavailable,
}

/// This server's part of the cluster.
pub(crate) struct Cluster {
    pub config: ClusterConfig,
    /// This process: the node's name and a random suffix, so that a
    /// restarted node is never mistaken for its previous life.
    pub instance: String,
    /// Numbers this process's leases (`{instance}#{epoch}`).
    epochs: AtomicU64,
    /// The connection for commands; `None` after a failure (reconnected
    /// on the next command).
    connection: Mutex<Option<Connection>>,
}

/// The lease's key for document `doc`.
pub(crate) fn lease_key(doc: &str) -> String {
    format!("editor:doc:{doc}:sequencer")
}

/// The channel of server `instance`.
pub(crate) fn node_channel(instance: &str) -> String {
    format!("editor:node:{instance}")
}

/// The instance part of a lease's value.
fn instance_of(lease: &str) -> &str {
    // The epoch follows the last `#`: a node's name may have one too.
    lease
        .rsplit_once('#')
        .map_or(lease, |(instance, _)| instance)
}

impl Cluster {
    /// Connects to Redis (an error if it cannot be reached: a server that
    /// was told to share documents does not start alone).
    pub(crate) async fn connect(config: ClusterConfig) -> Result<Self, RedisError> {
        let connection = Connection::connect(&config.redis).await?;
        let instance = format!("{}-{}", config.node, &crate::access::token()[..8]);
        Ok(Self {
            config,
            instance,
            epochs: AtomicU64::new(1),
            connection: Mutex::new(Some(connection)),
        })
    }

    async fn connection(&self) -> Result<MutexGuard<'_, Option<Connection>>, RedisError> {
        let mut guard = self.connection.lock().await;
        if guard.is_none() {
            *guard = Some(Connection::connect(&self.config.redis).await?);
        }
        Ok(guard)
    }

    fn lease_ms(&self) -> u64 {
        u64::try_from(self.config.lease.as_millis()).unwrap_or(u64::MAX)
    }

    /// Who sequences `doc`: this server if the lease is free (it takes
    /// it), else its holder, if that server is running. A holder that is
    /// gone (its channel has no subscriber: killed) is waited out until
    /// its lease expires, at most the lease's duration and a second.
    pub(crate) async fn claim(&self, doc: &str) -> Claim {
        let deadline = Instant::now() + self.config.lease + Duration::from_secs(1);
        loop {
            match self.try_claim(doc).await {
                Ok(Some(claim)) => return claim,
                Ok(None) => {}
                Err(error) => {
                    tracing::error!(%error, doc, "Redis could not say who sequences a document");
                    return Claim::Unavailable;
                }
            }
            if Instant::now() >= deadline {
                return Claim::Unavailable;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn try_claim(&self, doc: &str) -> Result<Option<Claim>, RedisError> {
        let key = lease_key(doc);
        let epoch = self.epochs.fetch_add(1, Ordering::Relaxed);
        let mine = format!("{}#{epoch}", self.instance);
        let mut guard = self.connection().await?;
        let Some(connection) = guard.as_mut() else {
            return Err(RedisError::Closed);
        };
        let result = self.lease(connection, &key, mine).await;
        if result.is_err() {
            *guard = None;
        }
        result
    }

    /// Runs one command on the shared connection, dropping it on an error
    /// (its state is unknown after a timeout).
    async fn run<T>(
        &self,
        command: impl AsyncFnOnce(&mut Connection) -> Result<T, RedisError>,
    ) -> Result<T, RedisError> {
        let mut guard = self.connection().await?;
        let Some(connection) = guard.as_mut() else {
            return Err(RedisError::Closed);
        };
        let result = command(connection).await;
        if result.is_err() {
            *guard = None;
        }
        result
    }

    /// Renews lease `lease` of `doc`: `false` if it is not ours any more.
    pub(crate) async fn renew(&self, doc: &str, lease: &str) -> Result<bool, RedisError> {
        let (key, ms) = (lease_key(doc), self.lease_ms());
        self.run(async |c| c.extend(&key, lease, ms).await).await
    }

    /// Gives lease `lease` of `doc` back, if it is still ours.
    pub(crate) async fn release(&self, doc: &str, lease: &str) {
        let key = lease_key(doc);
        if let Err(error) = self.run(async |c| c.release(&key, lease).await).await {
            tracing::warn!(%error, doc, "a lease was not released; it expires");
        }
    }

    /// The lease's value for `doc` now.
    pub(crate) async fn holder(&self, doc: &str) -> Result<Option<String>, RedisError> {
        let key = lease_key(doc);
        self.run(async |c| c.get(&key).await).await
    }

    /// Publishes `wire` to the server of lease or instance `to`: whether
    /// that server is there to receive it.
    pub(crate) async fn publish(&self, to: &str, wire: &Wire) -> bool {
        let channel = node_channel(instance_of(to));
        let payload = serde_json::to_vec(wire).unwrap_or_default();
        match self
            .run(async |c| c.publish(&channel, &payload).await)
            .await
        {
            Ok(receivers) => receivers > 0,
            Err(error) => {
                tracing::warn!(%error, "a message to another server was not published");
                false
            }
        }
    }

    /// Publishes `wire` from a task of its own (for a document task, which
    /// does not wait for Redis while it orders edits).
    pub(crate) fn publish_later(self: &Arc<Self>, alive: mpsc::Sender<()>, to: &str, wire: Wire) {
        let (cluster, to) = (Arc::clone(self), to.to_owned());
        tokio::spawn(async move {
            cluster.publish(&to, &wire).await;
            drop(alive);
        });
    }

    /// The link from document `doc`'s task to server `to`: each
    /// `(connections, message)` put in it is published once, in order, and
    /// that server delivers the message to each of those connections. The
    /// task ends when the document task drops the link, or when that
    /// server is gone (nobody receives): the link closes and its members
    /// are pruned.
    pub(crate) fn node_link(
        self: &Arc<Self>,
        alive: mpsc::Sender<()>,
        to: String,
        doc: String,
    ) -> Link {
        let (link, mut messages) = mpsc::channel::<(Vec<u64>, Outgoing)>(OUTBOX);
        let cluster = Arc::clone(self);
        tokio::spawn(async move {
            while let Some((conns, outgoing)) = messages.recv().await {
                let message = match outgoing {
                    Outgoing::Message(message) => Delivery::Text(message.to_json()),
                    Outgoing::Frame(text) => Delivery::Text(text.as_str().to_owned()),
                    Outgoing::Close(code, reason) => Delivery::Close(code, reason),
                };
                let wire = Wire::Deliver {
                    doc: doc.clone(),
                    conns,
                    message,
                };
                if !cluster.publish(&to, &wire).await {
                    break;
                }
            }
            drop(alive);
        });
        link
    }
}

/// Delivers the messages of this server's channel to its documents' tasks
/// until the server stops. If the subscription fails, messages may have
/// been lost: every open document closes its connections (1012, they
/// reconnect) and the subscription starts again.
pub(crate) async fn dispatch(
    shared: Arc<Shared>,
    cluster: Arc<Cluster>,
    mut messages: mpsc::Receiver<Vec<u8>>,
) {
    let mut stop = shared.stop.clone();
    loop {
        while let Some(payload) = messages.recv().await {
            let wire = match serde_json::from_slice::<Wire>(&payload) {
                Ok(wire) => wire,
                Err(error) => {
                    tracing::warn!(%error, "a message from another server does not decode");
                    continue;
                }
            };
            let inbox = shared
                .documents()
                .get(wire.doc())
                .filter(|inbox| !inbox.is_closed())
                .cloned();
            let unsent = match inbox {
                Some(inbox) => match inbox.send(Command::Cluster(Box::new(wire))).await {
                    Ok(()) => continue,
                    Err(mpsc::error::SendError(Command::Cluster(wire))) => *wire,
                    Err(_) => continue,
                },
                None => wire,
            };
            if let Some(from) = unsent.sender() {
                let doc = unsent.doc().to_owned();
                cluster.publish(from, &Wire::NotHere { doc }).await;
            }
        }
        if *stop.borrow() {
            return;
        }
        let alive = shared.alive();
        tracing::error!("the subscription to Redis failed; documents restart");
        let inboxes: Vec<_> = shared.documents().values().cloned().collect();
        for inbox in inboxes {
            let _ = inbox.try_send(Command::Restart);
        }
        messages = loop {
            match subscribe(&cluster, &stop, alive.clone()).await {
                Ok(messages) => break messages,
                Err(error) => tracing::error!(%error, "Redis: subscribing again failed"),
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
                () = super::stopped(&mut stop) => return,
            }
        };
    }
}

/// Subscribes to this server's channel.
/// Subscribes to this server's channel; the subscription's task holds
/// `alive` (shutdown waits for it).
pub(crate) async fn subscribe(
    cluster: &Cluster,
    stop: &watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
) -> Result<mpsc::Receiver<Vec<u8>>, RedisError> {
    let (sender, messages) = mpsc::channel(OUTBOX);
    let task = crate::redis::subscribe(
        &cluster.config.redis,
        &node_channel(&cluster.instance),
        sender,
        stop.clone(),
    )
    .await?;
    tokio::spawn(async move {
        let _ = task.await;
        drop(alive);
    });
    Ok(messages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_between_servers_read_back() {
        let wires = [
            Wire::Join {
                doc: "d".into(),
                from: "a-1".into(),
                id: 3,
                conn: 1 << 40,
                client: "c".into(),
                user: User {
                    id: "u-1".into(),
                    name: "Ada".into(),
                },
                since: Some(7),
            },
            Wire::Request {
                doc: "d".into(),
                from: "a-1".into(),
                id: 4,
                request: Request::SetRole {
                    by: "u-1".into(),
                    user: "u-2".into(),
                    role: None,
                },
            },
            Wire::Deliver {
                doc: "d".into(),
                conns: vec![1, 2],
                message: Delivery::Close(1012, "reconnect".into()),
            },
            Wire::Answer {
                doc: "d".into(),
                id: 4,
                result: Err(Refused::Forbidden("no".into())),
            },
        ];
        for wire in wires {
            let json = serde_json::to_string(&wire).expect("serialises");
            let back: Wire = serde_json::from_str(&json).expect("reads back");
            assert_eq!(serde_json::to_string(&back).expect("serialises"), json);
        }
        assert!(serde_json::from_str::<Wire>(r#"{"kind":"join"}"#).is_err());
    }

    #[test]
    fn an_api_command_travels_and_its_answer_comes_back_typed() {
        let (reply, mut answer) = oneshot::channel();
        let command = Command::Versions {
            user: "u-1".into(),
            reply,
        };
        let Ok((request, respond)) = to_request(command) else {
            panic!("versions is a request");
        };
        // On the sequencer: the same command, answered at once.
        let (command, read) = from_request(request);
        let Command::Versions { user, reply } = command else {
            panic!("the same command");
        };
        assert_eq!(user, "u-1");
        let _ = reply.send(Ok((9, vec![("draft".to_owned(), 3)])));
        respond(read());
        assert_eq!(
            answer.try_recv().expect("answered"),
            Ok((9, vec![("draft".to_owned(), 3)]))
        );
    }

    #[test]
    fn a_lease_names_its_server() {
        assert_eq!(instance_of("a-1f2e#7"), "a-1f2e");
        assert_eq!(instance_of("rack#2-1f2e#7"), "rack#2-1f2e");
        assert_eq!(node_channel(instance_of("a-1f2e#7")), "editor:node:a-1f2e");
        assert_eq!(lease_key("notes"), "editor:doc:notes:sequencer");
    }
}
