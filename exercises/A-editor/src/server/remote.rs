//! A document sequenced by another server of the cluster.
//!
//! The task has the same inbox as a document task, so sessions and API
//! calls work unchanged; it forwards their commands to the sequencer
//! through Redis ([`super::cluster`]) and delivers what comes back to the
//! local connections. It checks the document's lease every
//! [`ClusterConfig::renew`](super::ClusterConfig::renew): if the
//! sequencer changed or its server is gone, it closes its connections with
//! 1012 (service restart) and ends; the pages reconnect and resend what was
//! not acknowledged, and the next join finds (or becomes) the new
//! sequencer.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::Shared;
use super::cluster::{self, Cluster, Delivery, Responder, Wire};
use super::document::{self, Command, Outgoing, RECONNECT, Refused, Reply};

/// A request waiting for the sequencer's answer.
enum Pending {
    /// A connection joining (`conn`): on a refusal it is forgotten.
    Join { conn: u64, reply: Reply<()> },
    /// An API call.
    Request(Responder),
}

struct Remote {
    id: String,
    shared: Arc<Shared>,
    cluster: Arc<Cluster>,
    /// The lease's value: who sequences the document.
    holder: String,
    /// The local connections, by number.
    members: HashMap<u64, mpsc::Sender<Outgoing>>,
    pending: HashMap<u64, Pending>,
    next: u64,
}

/// Runs document `id`, sequenced by lease `holder`, until nobody here has
/// it open, the sequencer changes, or the server stops.
pub(crate) async fn run(
    id: String,
    shared: Arc<Shared>,
    cluster: Arc<Cluster>,
    holder: String,
    mut inbox: mpsc::Receiver<Command>,
) {
    let mut check = tokio::time::interval(cluster.config.renew);
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    check.reset();
    let mut remote = Remote {
        id,
        shared,
        cluster,
        holder,
        members: HashMap::new(),
        pending: HashMap::new(),
        next: 1,
    };
    let mut stop = remote.shared.stop.clone();
    loop {
        tokio::select! {
            command = inbox.recv() => {
                let Some(command) = command else { break };
                if !remote.handle(command).await {
                    remote.close_all(1012, RECONNECT);
                    break;
                }
                if remote.members.is_empty()
                    && remote.pending.is_empty()
                    && document::unload(&remote.shared, &remote.id, &mut inbox)
                {
                    return;
                }
            }
            _ = check.tick() => {
                let holder = remote.cluster.holder(&remote.id).await;
                if !matches!(holder, Ok(Some(ref holder)) if *holder == remote.holder) {
                    remote.close_all(1012, RECONNECT);
                    break;
                }
            }
            () = super::stopped(&mut stop) => {
                remote.close_all(1001, "the server is shutting down");
                break;
            }
        }
    }
    for (_, pending) in remote.pending.drain() {
        answer(pending, Err(Refused::Unavailable));
    }
    document::forget(&remote.shared, &remote.id, &mut inbox);
}

fn answer(pending: Pending, result: Result<serde_json::Value, Refused>) {
    match pending {
        Pending::Join { reply, .. } => {
            let _ = reply.send(result.map(|_| ()));
        }
        Pending::Request(respond) => respond(result),
    }
}

impl Remote {
    /// Handles one command; `false` when the sequencer is gone.
    async fn handle(&mut self, command: Command) -> bool {
        let doc = self.id.clone();
        let from = self.cluster.instance.clone();
        let wire = match command {
            Command::Join(joining, reply) => {
                let id = self.next_id();
                self.members.insert(joining.conn, joining.outbox);
                self.pending.insert(
                    id,
                    Pending::Join {
                        conn: joining.conn,
                        reply,
                    },
                );
                Wire::Join {
                    doc,
                    from,
                    id,
                    conn: joining.conn,
                    client: joining.client,
                    user: joining.user,
                    since: joining.since,
                }
            }
            Command::Edit {
                client,
                seq,
                base,
                edit,
            } => Wire::Edit {
                doc,
                from,
                client,
                seq,
                base,
                edit,
            },
            Command::Select { client, selection } => Wire::Select {
                doc,
                from,
                client,
                selection,
            },
            Command::Leave { conn, client } => {
                if self.members.remove(&conn).is_none() {
                    return true;
                }
                Wire::Leave {
                    doc,
                    from,
                    conn,
                    client,
                }
            }
            Command::Cluster(wire) => return self.receive(*wire).await,
            Command::Restart => return false,
            command => match cluster::to_request(command) {
                Ok((request, respond)) => {
                    let id = self.next_id();
                    self.pending.insert(id, Pending::Request(respond));
                    Wire::Request {
                        doc,
                        from,
                        id,
                        request,
                    }
                }
                Err(command) => {
                    command.refuse(Refused::Unavailable);
                    return true;
                }
            },
        };
        self.cluster.publish(&self.holder, &wire).await
    }

    fn next_id(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    /// A message from the sequencer (or from a server that takes this one
    /// for the sequencer); `false` when the sequencer is not there.
    async fn receive(&mut self, wire: Wire) -> bool {
        match wire {
            Wire::Deliver { conns, message, .. } => {
                let (outgoing, last) = match message {
                    Delivery::Text(text) => (Outgoing::Frame(text.into()), false),
                    Delivery::Close(code, reason) => (Outgoing::Close(code, reason), true),
                };
                for conn in conns {
                    let Some(outbox) = self.members.get(&conn) else {
                        continue;
                    };
                    // A full outbox: the page cannot keep up; dropping it
                    // ends the session, which leaves.
                    if outbox.try_send(outgoing.clone()).is_err() || last {
                        self.members.remove(&conn);
                    }
                }
                true
            }
            Wire::Answer { id, result, .. } => {
                if let Some(pending) = self.pending.remove(&id) {
                    if let (Pending::Join { conn, .. }, Err(_)) = (&pending, &result) {
                        self.members.remove(conn);
                    }
                    answer(pending, result);
                }
                true
            }
            Wire::NotHere { .. } => false,
            wire => {
                if let Some(from) = wire.sender() {
                    let doc = self.id.clone();
                    self.cluster.publish(from, &Wire::NotHere { doc }).await;
                }
                true
            }
        }
    }

    fn close_all(&mut self, code: u16, reason: &str) {
        for outbox in self.members.values() {
            let _ = outbox.try_send(Outgoing::Close(code, reason.to_owned()));
        }
        self.members.clear();
    }
}
