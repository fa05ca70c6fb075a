//! One participant's copy of a document: the client side of the central OT.
//!
//! Like unit 10's `Client`, a replica has at most **one edit in flight**:
//! it sends an edit, and until the server acknowledges it, further local
//! edits are composed into a **buffer** (synchronized → awaiting an ack →
//! awaiting with a buffer). An edit from the server is transformed past the
//! edit in flight and the buffer (both are ordered after it by the server)
//! before it is applied here. Each edit sent carries this replica's next
//! number (`seq`) and the revision it was made on, so that the server can
//! transform it and recognise it if it is sent again after a reconnect
//! ([`Replica::resend`]).
//!
//! The replica also keeps this user's undo history ([`History`]).

use crate::doc::{Entry, Submitted};
use crate::rich::{Edit, EditError, RichText};
use crate::undo::History;

/// Why a replica could not take a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplicaError {
    /// An edit did not fit the document.
    #[error(transparent)]
    Edit(#[from] EditError),
    /// An acknowledgement came with nothing in flight.
    #[error("the server acknowledged an edit, but none was in flight")]
    UnexpectedAck,
}

/// A participant's document, state machine and history.
#[derive(Debug, Clone)]
pub struct Replica {
    client: String,
    doc: RichText,
    revision: u64,
    next_seq: u64,
    in_flight: Option<Submitted>,
    buffer: Option<Edit>,
    history: History,
}

impl Replica {
    /// A replica of `doc` at `revision`, for `client`, whose next edit is
    /// number `next_seq` (1 for a new client).
    pub fn new(client: &str, doc: RichText, revision: u64, next_seq: u64) -> Self {
        Self {
            client: client.to_owned(),
            doc,
            revision,
            next_seq,
            in_flight: None,
            buffer: None,
            history: History::new(),
        }
    }

    /// The document as this participant sees it.
    pub fn doc(&self) -> &RichText {
        &self.doc
    }

    /// The last server revision this replica has.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Whether everything local has been acknowledged.
    pub fn is_synchronized(&self) -> bool {
        self.in_flight.is_none() && self.buffer.is_none()
    }

    /// This user's history.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// The user made `edit`: applied and recorded here; returns what to
    /// send now, if nothing was in flight.
    pub fn edit(&mut self, edit: Edit) -> Result<Option<Submitted>, EditError> {
        edit.check()?;
        self.history.record(&edit, &self.doc)?;
        self.doc.apply(&edit)?;
        self.queue(edit)
    }

    /// Undoes this user's latest edit; returns what to send now, if
    /// anything.
    pub fn undo(&mut self) -> Result<Option<Submitted>, EditError> {
        match self.history.undo(&mut self.doc)? {
            Some(edit) => self.queue(edit),
            None => Ok(None),
        }
    }

    /// Redoes the latest undo, like [`Replica::undo`].
    pub fn redo(&mut self) -> Result<Option<Submitted>, EditError> {
        match self.history.redo(&mut self.doc)? {
            Some(edit) => self.queue(edit),
            None => Ok(None),
        }
    }

    /// An edit already applied here: into flight, or into the buffer.
    fn queue(&mut self, edit: Edit) -> Result<Option<Submitted>, EditError> {
        if self.in_flight.is_some() {
            self.buffer = Some(match self.buffer.take() {
                Some(buffer) => buffer.compose(&edit)?,
                None => edit,
            });
            return Ok(None);
        }
        Ok(Some(self.send(edit)))
    }

    fn send(&mut self, edit: Edit) -> Submitted {
        let submitted = Submitted {
            client: self.client.clone(),
            seq: self.next_seq,
            base: self.revision,
            edit,
        };
        self.next_seq += 1;
        self.in_flight = Some(submitted.clone());
        submitted
    }

    /// Another participant's edit, as the server broadcast it (it made the
    /// revision after this replica's): transformed past what is in flight
    /// and buffered, applied, and the history moved past it.
    pub fn receive(&mut self, edit: &Edit) -> Result<(), EditError> {
        let mut remote = edit.clone();
        let mut in_flight = self.in_flight.clone();
        if let Some(sent) = &mut in_flight {
            let (mine, theirs) = sent.edit.transform(&remote)?;
            sent.edit = mine;
            remote = theirs;
        }
        let mut buffer = self.buffer.clone();
        if let Some(buffered) = &mut buffer {
            let (mine, theirs) = buffered.transform(&remote)?;
            *buffered = mine;
            remote = theirs;
        }
        let mut doc = self.doc.clone();
        doc.apply(&remote)?;
        let mut history = self.history.clone();
        history.transform(&remote)?;
        // Nothing failed: commit all of it.
        if let Some(sent) = &mut in_flight {
            sent.base += 1;
        }
        self.in_flight = in_flight;
        self.buffer = buffer;
        self.doc = doc;
        self.history = history;
        self.revision += 1;
        Ok(())
    }

    /// The server acknowledged the edit in flight (it made the next
    /// revision); returns the buffer to send now, if there is one.
    pub fn acknowledge(&mut self) -> Result<Option<Submitted>, ReplicaError> {
        if self.in_flight.take().is_none() {
            return Err(ReplicaError::UnexpectedAck);
        }
        self.revision += 1;
        Ok(self.buffer.take().map(|buffer| self.send(buffer)))
    }

    /// After a reconnect, each edit the server accepted since this
    /// replica's revision ([`Doc::since`](crate::Doc::since)), in order:
    /// this replica's own edit in flight among them is its acknowledgement
    /// (the first one was lost with the connection); any other is received.
    /// Returns what to send now, if anything.
    pub fn catch_up(&mut self, entry: &Entry) -> Result<Option<Submitted>, ReplicaError> {
        let mine = self
            .in_flight
            .as_ref()
            .is_some_and(|sent| sent.client == entry.client && sent.seq == entry.seq);
        if mine {
            return self.acknowledge();
        }
        self.receive(&entry.edit)?;
        Ok(None)
    }

    /// After a reconnect and [`Replica::catch_up`]: the edit still in
    /// flight, to send again as it was (same number: should the server have
    /// it after all, it acknowledges without applying it twice).
    pub fn resend(&self) -> Option<&Submitted> {
        self.in_flight.as_ref()
    }
}
