//! Several replicas editing one document through the server, with messages
//! delivered in random interleavings, resends after lost connections, and
//! undo: every replica must end with the server's document.

use std::collections::VecDeque;

use editor::{Accepted, Doc, Edit, Key, Operation, Replica, RichText, Submitted};
use proptest::prelude::*;

/// What the server sends a replica.
#[derive(Debug, Clone)]
enum Down {
    Ack,
    Edit(Edit),
}

struct Net {
    server: Doc,
    replicas: Vec<Replica>,
    up: Vec<VecDeque<Submitted>>,
    down: Vec<VecDeque<Down>>,
}

impl Net {
    fn new(count: usize) -> Self {
        Self {
            server: Doc::new(),
            replicas: (0..count)
                .map(|i| Replica::new(&format!("r{i}"), RichText::default(), 0, 1))
                .collect(),
            up: vec![VecDeque::new(); count],
            down: vec![VecDeque::new(); count],
        }
    }

    fn send(&mut self, from: usize, submitted: Option<Submitted>) {
        if let Some(submitted) = submitted {
            self.up[from].push_back(submitted);
        }
    }

    /// The server takes replica `i`'s next message.
    fn upload(&mut self, i: usize) {
        let Some(submitted) = self.up[i].pop_front() else {
            return;
        };
        match self.server.submit(submitted).expect("the server accepts") {
            Accepted::Applied { edit, .. } => {
                for (j, down) in self.down.iter_mut().enumerate() {
                    down.push_back(if j == i {
                        Down::Ack
                    } else {
                        Down::Edit(edit.clone())
                    });
                }
            }
            Accepted::Duplicate { .. } => self.down[i].push_back(Down::Ack),
        }
    }

    /// Replica `i` takes its next message from the server.
    fn download(&mut self, i: usize) {
        let Some(message) = self.down[i].pop_front() else {
            return;
        };
        match message {
            Down::Ack => {
                let next = self.replicas[i]
                    .acknowledge()
                    .expect("an edit was in flight");
                self.send(i, next);
            }
            Down::Edit(edit) => self.replicas[i].receive(&edit).expect("the edit fits"),
        }
    }

    /// Replica `i`'s connection breaks, after what it had sent reached the
    /// server or before: everything still on the way, up and down, is lost.
    /// On reconnecting it catches up from its revision, then sends its edit
    /// in flight again if the catch-up did not acknowledge it.
    fn reconnect(&mut self, i: usize, delivered: bool) {
        if delivered {
            self.upload(i);
        }
        self.up[i].clear();
        self.down[i].clear();
        let missed = self
            .server
            .since(self.replicas[i].revision())
            .expect("the replica's revision exists")
            .to_vec();
        for entry in &missed {
            let next = self.replicas[i].catch_up(entry).expect("the entry fits");
            self.send(i, next);
        }
        let again = self.replicas[i].resend().cloned();
        if self.up[i].is_empty() {
            self.send(i, again);
        }
    }

    fn settle(&mut self) {
        while self.up.iter().any(|q| !q.is_empty()) || self.down.iter().any(|q| !q.is_empty()) {
            for i in 0..self.replicas.len() {
                self.upload(i);
                self.download(i);
            }
        }
    }
}

/// A random local edit of a document of `len` characters.
fn edit(len: usize, pick: (u8, usize, usize, String)) -> Edit {
    let (kind, at, width, text) = pick;
    let at = at % (len + 1);
    let width = width % (len - at + 1);
    match kind % 4 {
        0 => Edit::text(Operation::new().retain(at).insert(&text).retain(len - at)),
        1 => Edit::text(
            Operation::new()
                .retain(at)
                .delete(width)
                .retain(len - at - width),
        ),
        2 => Edit::format(len, at, at + width, Key::Bold, Some("true")),
        _ => Edit::text(Operation::new().retain(at).insert(&text).retain(len - at)).with(
            at,
            at + text.chars().count(),
            Key::Italic,
            Some("true"),
        ),
    }
}

#[derive(Debug, Clone)]
enum Action {
    Edit(usize, (u8, usize, usize, String)),
    Undo(usize),
    Upload(usize),
    Download(usize),
    Reconnect(usize, bool),
}

fn action(replicas: usize) -> impl Strategy<Value = Action> {
    let r = 0..replicas;
    prop_oneof![
        3 => (r.clone(), (any::<u8>(), any::<usize>(), any::<usize>(), "[a-z👋\n]{1,4}"))
            .prop_map(|(i, pick)| Action::Edit(i, pick)),
        1 => r.clone().prop_map(Action::Undo),
        3 => r.clone().prop_map(Action::Upload),
        3 => r.clone().prop_map(Action::Download),
        1 => (r, any::<bool>()).prop_map(|(i, delivered)| Action::Reconnect(i, delivered)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    /// Five replicas, random edits, undos, deliveries and broken
    /// connections: once every message is through, all agree with the
    /// server.
    #[test]
    fn five_replicas_converge(actions in proptest::collection::vec(action(5), 1..200)) {
        let mut net = Net::new(5);
        for action in actions {
            match action {
                Action::Edit(i, pick) => {
                    let len = net.replicas[i].doc().len_chars();
                    let out = net.replicas[i].edit(edit(len, pick)).expect("a local edit fits");
                    net.send(i, out);
                }
                Action::Undo(i) => {
                    let out = net.replicas[i].undo().expect("an undo fits");
                    net.send(i, out);
                }
                Action::Upload(i) => net.upload(i),
                Action::Download(i) => net.download(i),
                Action::Reconnect(i, delivered) => net.reconnect(i, delivered),
            }
        }
        net.settle();
        for replica in &net.replicas {
            prop_assert!(replica.is_synchronized());
            prop_assert_eq!(replica.revision(), net.server.revision());
            prop_assert_eq!(replica.doc(), net.server.current());
        }
    }
}

#[test]
fn undo_through_the_server_removes_only_its_authors_text() {
    let mut net = Net::new(2);
    let out = net.replicas[0]
        .edit(Edit::text(Operation::new().insert("first\nthird\n")))
        .expect("fits");
    net.send(0, out);
    net.settle();
    let out = net.replicas[1]
        .edit(Edit::text(
            Operation::new().retain(6).insert("second\n").retain(6),
        ))
        .expect("fits");
    net.send(1, out);
    net.settle();
    let out = net.replicas[0].undo().expect("undo fits");
    net.send(0, out);
    net.settle();
    assert_eq!(net.server.current().to_string(), "second\n");
    assert_eq!(net.replicas[1].doc().to_string(), "second\n");
}
