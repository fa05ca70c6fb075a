//! Hidden checks of unit 10: the rest of the algebra, cursors, the server,
//! the client state machine, presence, and three clients over real sockets.

use std::time::Duration;

use checkkit::within;
use collab::{
    Client, ClientMessage, ClientState, Component, Document, Hub, Operation, Peer, Selection,
    Server, ServerError, ServerMessage, Session, Snapshot, char_len,
};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

checkkit::checks! {
    invert_undoes_apply_on_random_documents,
    transform_lets_the_left_insert_win_a_tie,
    cursors_move_through_edits,
    the_server_refuses_what_does_not_fit,
    the_client_keeps_one_operation_in_flight,
    simulated_clients_converge_in_any_delivery_order,
    three_clients_converge_over_real_sockets,
    presence_joins_and_leaves,
    selections_reach_the_others_and_follow_edits,
    a_bad_operation_closes_only_its_connection,
}

/// Generous for anything on loopback.
const WAIT: Duration = Duration::from_secs(10);

/// A small seeded random generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn text(&mut self, max: usize) -> String {
        const ALPHABET: [char; 10] = ['a', 'b', 'c', ' ', 'é', '€', '😀', '\n', '中', 'z'];
        (0..self.below(max + 1))
            .map(|_| ALPHABET[self.below(ALPHABET.len())])
            .collect()
    }

    fn op(&mut self, doc: &str) -> Operation {
        let mut op = Operation::new();
        let mut left = char_len(doc);
        while left > 0 {
            let n = 1 + self.below(left.min(5));
            match self.below(3) {
                0 => op = op.retain(n),
                1 => op = op.delete(n),
                _ => {
                    op = op.insert(&self.text(3));
                    continue;
                }
            }
            left -= n;
        }
        if self.below(2) == 0 {
            op = op.insert(&self.text(3));
        }
        op
    }
}

async fn invert_undoes_apply_on_random_documents() {
    let mut rng = Rng(0x1a7e_57ed);
    for round in 0..300 {
        let doc = rng.text(15);
        let op = rng.op(&doc);
        let after = op.apply(&doc);
        let inverse = op.invert(&doc);
        let back = match (&after, &inverse) {
            (Ok(after), Ok(inverse)) => inverse.apply(after).ok(),
            _ => None,
        };
        assert_eq!(
            back.as_deref(),
            Some(doc.as_str()),
            "round {round}: doc {doc:?}, op {op:?}: the inverse {inverse:?} applied to {after:?} must give the document back (chapter 10, \"Task 1: Apply and invert\")"
        );
    }
    apply_walks_long_documents_and_the_builder_stays_canonical();
}

/// One step of building an operation, as the check remembers it.
enum Step {
    Retain(usize),
    Insert(String),
    Delete(usize),
}

/// The canonical components of `steps` (chapter 10, "Operations"): no empty
/// components, neighbours of one kind merged, an insert before a delete.
fn canonical(steps: &[Step]) -> Vec<Component> {
    let mut out: Vec<Component> = Vec::new();
    for step in steps {
        match step {
            Step::Retain(0) | Step::Delete(0) => {}
            Step::Insert(text) if text.is_empty() => {}
            Step::Retain(n) => match out.last_mut() {
                Some(Component::Retain(last)) => *last += n,
                _ => out.push(Component::Retain(*n)),
            },
            Step::Delete(n) => match out.last_mut() {
                Some(Component::Delete(last)) => *last += n,
                _ => out.push(Component::Delete(*n)),
            },
            Step::Insert(text) => {
                let len = out.len();
                match out.as_mut_slice() {
                    [.., Component::Insert(last)]
                    | [.., Component::Insert(last), Component::Delete(_)] => last.push_str(text),
                    [.., Component::Delete(_)] => {
                        out.insert(len - 1, Component::Insert(text.clone()))
                    }
                    _ => out.push(Component::Insert(text.clone())),
                }
            }
        }
    }
    out
}

/// Documents of up to 150 characters (up to 600 bytes), mixing 1- to 4-byte
/// characters; operations built step by step and checked against a walk
/// over the `char`s, and against the canonical form the builder keeps.
fn apply_walks_long_documents_and_the_builder_stays_canonical() {
    let apply = "(chapter 10, \"Task 1: Apply and invert\")";
    let builder = "(chapter 10, \"Operations\")";
    let mut rng = Rng(0x10_b7e5);
    for round in 0..300 {
        let doc = rng.text(150);
        let chars: Vec<char> = doc.chars().collect();
        let mut steps = Vec::new();
        let mut at = 0;
        while at < chars.len() {
            let n = 1 + rng.below((chars.len() - at).min(70));
            match rng.below(4) {
                0 => steps.push(Step::Delete(n)),
                1 => {
                    steps.push(Step::Insert(rng.text(3)));
                    continue;
                }
                _ => steps.push(Step::Retain(n)),
            }
            at += n;
        }
        if rng.below(2) == 0 {
            steps.push(Step::Insert(rng.text(3)));
        }
        let mut op = Operation::new();
        let mut expected = String::new();
        let mut at = 0;
        for step in &steps {
            match step {
                Step::Retain(n) => {
                    op = op.retain(*n);
                    expected.extend(&chars[at..at + n]);
                    at += n;
                }
                Step::Delete(n) => {
                    op = op.delete(*n);
                    at += n;
                }
                Step::Insert(text) => {
                    op = op.insert(text);
                    expected.push_str(text);
                }
            }
        }
        let components = canonical(&steps);
        assert_eq!(
            op.components(),
            components.as_slice(),
            "round {round}: the builder must keep the operation canonical: no empty components, neighbours of one kind merged, an insert before a delete at the same place {builder}"
        );
        let after = op.apply(&doc);
        assert_eq!(
            after.as_deref(),
            Ok(expected.as_str()),
            "round {round}: {op:?} applied to {doc:?} ({} characters, {} bytes): each count is in characters, however many bytes they take {apply}",
            chars.len(),
            doc.len()
        );
        assert_eq!(
            (op.base_len(), op.target_len()),
            (chars.len(), char_len(&expected)),
            "round {round}: (base_len, target_len) of {op:?}: the lengths in characters of the document before and after {builder}"
        );
        let noop = components
            .iter()
            .all(|component| matches!(component, Component::Retain(_)));
        assert_eq!(
            op.is_noop(),
            noop,
            "round {round}: is_noop() of {op:?}: an operation is a no-op exactly when it only retains {builder}"
        );
    }
}

async fn transform_lets_the_left_insert_win_a_tie() {
    let a = Operation::new().retain(2).insert("A").retain(1);
    let b = Operation::new().retain(2).insert("B").retain(1);
    let (a2, b2) = a.transform(&b).unwrap_or_else(|error| {
        panic!("transform failed: {error} (chapter 10, \"Task 2: Compose and transform\")")
    });
    let left = a.apply("xyz").and_then(|text| b2.apply(&text));
    let right = b.apply("xyz").and_then(|text| a2.apply(&text));
    assert_eq!(
        (left.as_deref(), right.as_deref()),
        (Ok("xyABz"), Ok("xyABz")),
        "two inserts at one position: `self`'s text goes first on both sides (chapter 10, \"Task 2: Compose and transform\")"
    );
    // Both delete the same character, and one also inserts.
    let a = Operation::new().retain(1).delete(1).insert("é").retain(1);
    let b = Operation::new().retain(1).delete(2);
    let (a2, b2) = a.transform(&b).unwrap_or_else(|error| {
        panic!("transform failed: {error} (chapter 10, \"Task 2: Compose and transform\")")
    });
    let left = a.apply("x€z").and_then(|text| b2.apply(&text));
    let right = b.apply("x€z").and_then(|text| a2.apply(&text));
    assert_eq!(
        (left.as_deref(), right.as_deref()),
        (Ok("xé"), Ok("xé")),
        "a character deleted by both is deleted once, the insert survives (chapter 10, \"Task 2: Compose and transform\")"
    );
    assert!(
        a.transform(&Operation::new().retain(5)).is_err(),
        "transforming operations on documents of different lengths must be an error (chapter 10, \"Task 2: Compose and transform\")"
    );
}

async fn cursors_move_through_edits() {
    // "héllo wörld": a cursor after "héllo" (5).
    let insert_before = Operation::new().retain(1).insert("€€").retain(10);
    let insert_at = Operation::new().retain(5).insert("!").retain(6);
    let insert_after = Operation::new().retain(7).insert("xyz").retain(4);
    let delete_before = Operation::new().delete(2).retain(9);
    let delete_around = Operation::new().retain(3).delete(4).retain(4);
    for (op, expected, what) in [
        (
            &insert_before,
            7,
            "text inserted before the cursor pushes it right by its length in characters",
        ),
        (
            &insert_at,
            6,
            "text inserted exactly at the cursor pushes it right",
        ),
        (
            &insert_after,
            5,
            "text inserted after the cursor leaves it alone",
        ),
        (
            &delete_before,
            3,
            "text deleted before the cursor pulls it left",
        ),
        (
            &delete_around,
            3,
            "a cursor inside deleted text moves to where the deletion was",
        ),
    ] {
        assert_eq!(
            op.transform_index(5),
            expected,
            "{what}: {op:?} moved position 5 to {} (chapter 10, \"Task 3: Cursors and selections\")",
            op.transform_index(5)
        );
    }
    let selection = Selection::new(2, 8).transform(&delete_around);
    assert_eq!(
        selection,
        Selection::new(2, 4),
        "a selection moves both its ends (chapter 10, \"Task 3: Cursors and selections\")"
    );
    // Random: the character after a cursor stays after it when it survives.
    let mut rng = Rng(0xc0_5507);
    for round in 0..300 {
        let doc: String = rng.text(12);
        let len = char_len(&doc);
        if len == 0 {
            continue;
        }
        let cursor = rng.below(len);
        // Insert only far from the cursor and never delete: the character at
        // `cursor` must then be found at the transformed position.
        let at = rng.below(len + 1);
        let op = Operation::new().retain(at).insert("§").retain(len - at);
        let Ok(after) = op.apply(&doc) else {
            panic!("apply failed (chapter 10, \"Task 1: Apply and invert\")")
        };
        let moved = op.transform_index(cursor);
        assert_eq!(
            after.chars().nth(moved),
            doc.chars().nth(cursor),
            "round {round}: in {doc:?}, position {cursor}, after inserting at {at}: moved to {moved}, which is not the same character (chapter 10, \"Task 3: Cursors and selections\")"
        );
    }
    every_position_moves_through_random_operations();
}

/// Every position of random documents through random operations, against
/// the rule: retained characters before the position count, deleted ones do
/// not, and an insert counts when it comes before the position or at it.
fn every_position_moves_through_random_operations() {
    let section = "(chapter 10, \"Task 3: Cursors and selections\")";
    let mut rng = Rng(0x5e1e_c7ed);
    for round in 0..300 {
        let doc = rng.text(12);
        let op = rng.op(&doc);
        for index in 0..=char_len(&doc) {
            let mut expected = 0;
            let mut at = 0; // characters of the old document walked
            for component in op.components() {
                match component {
                    Component::Retain(n) => {
                        expected += (*n).min(index.saturating_sub(at));
                        at += n;
                    }
                    Component::Insert(text) if at <= index => expected += char_len(text),
                    Component::Insert(_) => {}
                    Component::Delete(n) => at += n,
                }
            }
            let moved = op.transform_index(index);
            assert_eq!(
                moved, expected,
                "round {round}: {op:?} on {doc:?} moved position {index} to {moved}, expected {expected} {section}"
            );
            let selection = Selection::new(index, 0).transform(&op);
            assert_eq!(
                selection,
                Selection::new(expected, op.transform_index(0)),
                "round {round}: a selection moves both its ends, anchor and head, like positions {section}"
            );
        }
    }
    for position in [0, 3, 7] {
        let cursor = Selection::cursor(position);
        assert_eq!(
            (cursor, cursor.is_cursor()),
            (Selection::new(position, position), true),
            "Selection::cursor({position}) is a selection with anchor and head at {position}, and is_cursor() is true {section}"
        );
        let selection = Selection::new(position, position + 2);
        assert!(
            !selection.is_cursor() && !Selection::new(position + 2, position).is_cursor(),
            "{selection:?} selects two characters: is_cursor() must be false {section}"
        );
    }
}

async fn the_server_refuses_what_does_not_fit() {
    let mut doc = Document::new("abc");
    let ok = doc.receive(0, Operation::new().retain(3).insert("d"));
    assert!(
        ok.is_ok(),
        "a fitting operation is accepted, got {ok:?} (chapter 10, \"Task 4: The server\")"
    );
    let future = doc.receive(5, Operation::new().retain(4));
    assert!(
        matches!(
            future,
            Err(ServerError::FutureRevision {
                revision: 5,
                current: 1
            })
        ),
        "an operation based on revision 5 when the server is at 1 must be FutureRevision, got {future:?} (chapter 10, \"Task 4: The server\")"
    );
    let wrong = doc.receive(1, Operation::new().retain(9));
    assert!(
        wrong.is_err(),
        "an operation for a 9-character document at revision 1 (4 characters) must be refused, got {wrong:?} (chapter 10, \"Task 4: The server\")"
    );
    assert_eq!(
        (doc.text(), doc.revision()),
        ("abcd", 1),
        "a refused operation changes nothing (chapter 10, \"Task 4: The server\")"
    );
    // Three late operations on revision 1, in a row.
    for (i, ch) in ["x", "y", "z"].iter().enumerate() {
        let late = doc.receive(1, Operation::new().insert(ch).retain(4));
        assert!(
            late.is_ok(),
            "late operation {i} was refused: {late:?} (chapter 10, \"Task 4: The server\")"
        );
    }
    assert_eq!(
        doc.text(),
        "zyxabcd",
        "three inserts at 0, all on revision 1, arriving in order x, y, z: each later one goes first (the incoming operation wins a tie) (chapter 10, \"Task 4: The server\")"
    );
    let moved = doc.transform_selection(1, Selection::new(1, 2));
    assert_eq!(
        moved,
        Ok(Selection::new(4, 5)),
        "a selection at revision 1 moves through the three inserts (chapter 10, \"Task 4: The server\")"
    );
    let history = doc.history();
    let replayed = history
        .iter()
        .try_fold(String::from("abc"), |text, op| op.apply(&text));
    assert_eq!(
        (history.len(), replayed.as_deref()),
        (4, Ok("zyxabcd")),
        "history() holds the accepted operations, in order, as applied: {history:?} (chapter 10, \"Task 4: The server\")"
    );
    the_wire_refuses_empty_components();
    the_hub_answers_the_author_and_forwards_to_the_others();
}

/// A message is read from the wire: a component of length 0 or an empty
/// insert is refused, the rest read back to the operation.
fn the_wire_refuses_empty_components() {
    let section = "(chapter 10, \"Operations\")";
    let read = |op: &str| {
        serde_json::from_str::<ClientMessage>(&format!(r#"{{"type":"op","revision":0,"op":{op}}}"#))
    };
    for bad in ["[2,\"\",1]", "[\"\"]", "[1,0,-1]", "[0]"] {
        let got = read(bad);
        assert!(
            got.is_err(),
            "the operation {bad} has an empty component: reading it must fail, got {got:?} {section}"
        );
    }
    let got = read("[2,\"é\",-1,1]");
    let expected = ClientMessage::Op {
        revision: 0,
        op: Operation::new().retain(2).insert("é").delete(1).retain(1),
    };
    assert!(
        matches!(&got, Ok(message) if *message == expected),
        "[2,\"é\",-1,1] is retain 2, insert \"é\", delete 1, retain 1, got {got:?} {section}"
    );
}

/// Everything waiting in an outbox, without waiting.
fn drain(inbox: &mut mpsc::Receiver<ServerMessage>) -> Vec<ServerMessage> {
    let mut got = Vec::new();
    while let Ok(message) = inbox.try_recv() {
        got.push(message);
    }
    got
}

fn peer(client: u64, name: &str, selection: Option<Selection>) -> Peer {
    Peer {
        client,
        name: name.to_owned(),
        selection,
    }
}

/// `Hub::edit` and `Hub::select` with outboxes the check reads directly.
fn the_hub_answers_the_author_and_forwards_to_the_others() {
    let section = "(chapter 10, \"Task 4: The server\")";
    let mut hub = Hub::new(Document::new("abc"));
    let mut inboxes = Vec::new();
    let mut ids = Vec::new();
    for name in ["ann", "bob", "cat"] {
        let (outbox, inbox) = mpsc::channel(64);
        ids.push(hub.join(name, outbox));
        inboxes.push(inbox);
    }
    for inbox in &mut inboxes {
        drain(inbox);
    }
    // Bob and cat edit on revision 0 at once; bob's arrives first.
    let bob_op = Operation::new().insert("x").retain(3);
    let cat_op = Operation::new().retain(3).insert("y");
    for (who, op) in [(1, bob_op.clone()), (2, cat_op)] {
        let edited = hub.edit(ids[who], 0, op);
        assert!(
            edited.is_ok(),
            "a fitting edit is accepted, got {edited:?} {section}"
        );
    }
    let cat_applied = Operation::new().retain(4).insert("y");
    let got: Vec<Vec<ServerMessage>> = inboxes.iter_mut().map(drain).collect();
    let expected = vec![
        vec![
            ServerMessage::Op {
                client: ids[1],
                revision: 1,
                op: bob_op.clone(),
            },
            ServerMessage::Op {
                client: ids[2],
                revision: 2,
                op: cat_applied.clone(),
            },
        ],
        vec![
            ServerMessage::Ack { revision: 1 },
            ServerMessage::Op {
                client: ids[2],
                revision: 2,
                op: cat_applied,
            },
        ],
        vec![
            ServerMessage::Op {
                client: ids[1],
                revision: 1,
                op: bob_op,
            },
            ServerMessage::Ack { revision: 2 },
        ],
    ];
    assert_eq!(
        got, expected,
        "after bob's and cat's edits (both on revision 0), the outboxes of ann, bob and cat: the author gets Ack with the new revision, everybody else the operation as the document applied it (cat's transformed past bob's), once each {section}"
    );
    // Ann selects "b" on revision 1; the others get it at revision 2.
    let selected = hub.select(ids[0], 1, Selection::new(2, 3));
    assert!(
        selected.is_ok(),
        "a selection on a known revision is accepted, got {selected:?} {section}"
    );
    let got: Vec<Vec<ServerMessage>> = inboxes.iter_mut().map(drain).collect();
    let moved = ServerMessage::Selection {
        client: ids[0],
        selection: Selection::new(2, 3),
    };
    assert_eq!(
        got,
        vec![vec![], vec![moved.clone()], vec![moved]],
        "a selection goes to everybody but its owner, moved to the current revision {section}"
    );
}

async fn the_client_keeps_one_operation_in_flight() {
    let mut client = Client::new(3);
    let first = Operation::new().retain(2).insert("a");
    let sent = client.apply_local(first.clone());
    assert_eq!(
        sent,
        Ok(Some(ClientMessage::Op {
            revision: 3,
            op: first.clone()
        })),
        "a synchronized client sends its edit at once, with its revision (chapter 10, \"Task 6: The client state machine\")"
    );
    let second = Operation::new().retain(3).insert("b");
    let third = Operation::new().delete(1).retain(3);
    assert_eq!(
        client.apply_local(second.clone()),
        Ok(None),
        "while awaiting an ack, a new edit is buffered, not sent (chapter 10, \"Task 6: The client state machine\")"
    );
    assert_eq!(
        client.apply_local(third.clone()),
        Ok(None),
        "a second buffered edit is composed into the buffer (chapter 10, \"Task 6: The client state machine\")"
    );
    let buffer = second.compose(&third).unwrap_or_default();
    assert_eq!(
        client.state(),
        &ClientState::AwaitingWithBuffer {
            outstanding: first.clone(),
            buffer: buffer.clone()
        },
        "one edit in flight and two composed in the buffer (chapter 10, \"Task 6: The client state machine\")"
    );
    // A remote insert at 0 arrives: everything local shifts by one.
    let remote = Operation::new().insert("R").retain(2);
    let local = client.apply_remote(&remote);
    assert_eq!(
        local,
        Ok(Operation::new().insert("R").retain(3)),
        "the remote operation is transformed against the outstanding and the buffered edits before it is applied locally (chapter 10, \"Task 6: The client state machine\")"
    );
    assert_eq!(
        client.revision(),
        4,
        "a remote operation counts as a revision (chapter 10, \"Task 6: The client state machine\")"
    );
    let flushed = client.acknowledge();
    let Ok(Some(ClientMessage::Op { revision, op })) = flushed else {
        panic!(
            "on the ack, the buffer must be sent; got {flushed:?} (chapter 10, \"Task 6: The client state machine\")"
        );
    };
    assert_eq!(
        (revision, op.base_len()),
        (5, 4),
        "the buffer goes out on revision 5 (3 + the remote + our ack), transformed to the 4-character text that includes the remote insert (chapter 10, \"Task 6: The client state machine\")"
    );
    assert!(
        matches!(client.state(), ClientState::AwaitingAck { .. }),
        "after sending the buffer the client awaits its ack (chapter 10, \"Task 6: The client state machine\")"
    );
    assert!(
        matches!(client.acknowledge(), Ok(None)),
        "the last ack sends nothing (chapter 10, \"Task 6: The client state machine\")"
    );
    assert!(
        client.is_synchronized(),
        "and leaves the client synchronized (chapter 10, \"Task 6: The client state machine\")"
    );
    assert!(
        client.acknowledge().is_err(),
        "an ack while synchronized is a protocol error (chapter 10, \"Task 6: The client state machine\")"
    );
}

/// In memory: a document and three clients, messages delivered in a
/// random (seeded) order, each client's own in FIFO order.
async fn simulated_clients_converge_in_any_delivery_order() {
    enum Down {
        Ack,
        Op(Operation),
    }
    for seed in 1..=40u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let start = rng.text(8);
        let mut server = Document::new(&start);
        let mut clients: Vec<(Client, String)> =
            (0..3).map(|_| (Client::new(0), start.clone())).collect();
        let mut up: Vec<std::collections::VecDeque<(usize, Operation)>> =
            vec![Default::default(); 3];
        let mut down: Vec<std::collections::VecDeque<Down>> =
            (0..3).map(|_| Default::default()).collect();
        let mut edits = 0;
        loop {
            let pending = up.iter().any(|q| !q.is_empty()) || down.iter().any(|q| !q.is_empty());
            if edits >= 60 && !pending {
                break;
            }
            let who = rng.below(3);
            match rng.below(3) {
                0 if edits < 60 => {
                    let (client, text) = &mut clients[who];
                    let op = rng.op(text);
                    *text = op
                        .apply(text)
                        .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
                    let sent = client
                        .apply_local(op)
                        .unwrap_or_else(|e| panic!("seed {seed}: apply_local: {e}"));
                    if let Some(ClientMessage::Op { revision, op }) = sent {
                        up[who].push_back((revision, op));
                    }
                    edits += 1;
                }
                1 => {
                    if let Some((revision, op)) = up[who].pop_front() {
                        let applied = server.receive(revision, op).unwrap_or_else(|e| {
                            panic!("seed {seed}: the server refused a client's operation: {e} (chapter 10, \"Task 6: The client state machine\")")
                        });
                        for (other, queue) in down.iter_mut().enumerate() {
                            queue.push_back(if other == who {
                                Down::Ack
                            } else {
                                Down::Op(applied.clone())
                            });
                        }
                    }
                }
                _ => {
                    if let Some(message) = down[who].pop_front() {
                        let (client, text) = &mut clients[who];
                        match message {
                            Down::Ack => {
                                let next = client
                                    .acknowledge()
                                    .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
                                if let Some(ClientMessage::Op { revision, op }) = next {
                                    up[who].push_back((revision, op));
                                }
                            }
                            Down::Op(op) => {
                                let local = client
                                    .apply_remote(&op)
                                    .unwrap_or_else(|e| panic!("seed {seed}: apply_remote: {e}"));
                                *text = local
                                    .apply(text)
                                    .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
                            }
                        }
                    }
                }
            }
        }
        for (i, (client, text)) in clients.iter().enumerate() {
            assert_eq!(
                text,
                server.text(),
                "seed {seed}: client {i} ended with {text:?}, the server with {:?}; every client must converge (chapter 10, \"Task 6: The client state machine\")",
                server.text()
            );
            assert!(
                client.is_synchronized(),
                "seed {seed}: client {i} is synchronized at the end (chapter 10, \"Task 6: The client state machine\")"
            );
        }
    }
}

async fn connect(server: &Server, name: &str) -> Session {
    within(
        WAIT,
        "connect and get Welcome",
        Session::connect(&server.url(), name),
    )
    .await
    .unwrap_or_else(|error| {
        panic!("{name} could not join: {error} (chapter 10, \"Task 5: Presence\")")
    })
}

async fn wait(session: &mut Session, what: &str, done: impl FnMut(&Snapshot) -> bool) -> Snapshot {
    within(WAIT, what, session.wait_until(done)).await
}

async fn three_clients_converge_over_real_sockets() {
    let server = Server::bind("127.0.0.1:0", "Hello, wörld!")
        .await
        .expect("the unit's server binds to loopback");
    let mut sessions = Vec::new();
    for name in ["ann", "bob", "cat"] {
        sessions.push(connect(&server, name).await);
    }
    let rounds = 30;
    // Each round the three edit at the same moment (so their edits are
    // concurrent), one to three edits in a row (so edits wait in the
    // buffer), then pause for a seeded random 0-5 ms.
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(3));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, session) in sessions.into_iter().enumerate() {
        let barrier = std::sync::Arc::clone(&barrier);
        tasks.spawn(async move {
            let mut rng = Rng(0xfeed_0000 + i as u64);
            for _ in 0..rounds {
                barrier.wait().await;
                for _ in 0..=rng.below(3) {
                    let seed = rng.next();
                    session
                        .edit(|text| Rng(seed | 1).op(text))
                        .await
                        .unwrap_or_else(|error| panic!("client {i} could not edit: {error} (chapter 10, \"Task 6: The client state machine\")"));
                }
                tokio::time::sleep(Duration::from_millis(rng.below(6) as u64)).await;
            }
            session
        });
    }
    let mut sessions = Vec::new();
    while let Some(joined) = within(WAIT, "the editing tasks", tasks.join_next()).await {
        sessions.push(joined.expect("an editing task panicked"));
    }
    let total = 3 * 3 * rounds;
    // No more local edits: once a client is synchronized it stays so, and
    // once all are, the server's revision is final.
    for session in &mut sessions {
        wait(session, "the client synchronized", |s| s.synchronized).await;
    }
    let revision = server.revision();
    for session in &mut sessions {
        wait(session, "the client has every revision", |s| {
            s.revision == revision
        })
        .await;
    }
    let text = server.text();
    assert!(
        server.revision() > 0 && server.revision() <= total,
        "the server accepted between 1 and {total} operations"
    );
    for (i, session) in sessions.iter().enumerate() {
        let snapshot = session.snapshot().await;
        assert_eq!(
            snapshot.text, text,
            "client {i} ended with {:?} but the server has {text:?}: all three must converge (chapter 10, \"Task 6: The client state machine\")",
            snapshot.text
        );
        assert_eq!(
            session.text().await,
            text,
            "client {i}: Session::text() must give the local text, the one in its snapshot (chapter 10, \"Task 6: The client state machine\")"
        );
    }
    for session in sessions {
        let _ = within(WAIT, "close", session.close()).await;
    }
    within(WAIT, "server shutdown", server.shutdown()).await;
}

async fn presence_joins_and_leaves() {
    let server = Server::bind("127.0.0.1:0", "")
        .await
        .expect("the unit's server binds to loopback");
    let mut ann = connect(&server, "ann").await;
    let bob = connect(&server, "bob").await;
    let seen = wait(&mut ann, "ann sees bob join", |s| {
        s.peers.iter().any(|p| p.name == "bob")
    })
    .await;
    assert!(
        seen.peers.iter().any(|p| p.name == "bob"),
        "ann must see bob join, peers {:?} (chapter 10, \"Task 5: Presence\")",
        seen.peers
    );
    let mut cat = connect(&server, "cat").await;
    let welcome = cat.snapshot().await;
    let mut names: Vec<&str> = welcome.peers.iter().map(|p| p.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["ann", "bob"],
        "a newcomer's Welcome lists everybody already there (chapter 10, \"Task 5: Presence\")"
    );
    let _ = within(WAIT, "bob closes", bob.close()).await;
    let seen = wait(&mut ann, "ann sees bob leave", |s| {
        s.peers.len() == 1 && s.peers[0].name == "cat"
    })
    .await;
    assert!(
        seen.peers.iter().all(|p| p.name == "cat"),
        "after bob left, ann must see only cat, got {:?} (chapter 10, \"Task 5: Presence\")",
        seen.peers
    );
    let seen = wait(&mut cat, "cat sees bob leave", |s| {
        s.peers.len() == 1 && s.peers[0].name == "ann"
    })
    .await;
    assert!(
        seen.peers.iter().all(|p| p.name == "ann"),
        "cat must see only ann, got {:?} (chapter 10, \"Task 5: Presence\")",
        seen.peers
    );
    assert_eq!(
        server.peers().len(),
        2,
        "the server forgets who left (chapter 10, \"Task 5: Presence\")"
    );
    drop(cat);
    within(WAIT, "server shutdown", server.shutdown()).await;
    let seen = wait(
        &mut ann,
        "ann's connection closed by the server's shutdown",
        |s| s.closed,
    )
    .await;
    assert!(
        seen.closed,
        "Server::shutdown closes every connection (1001) and waits until they have ended (chapter 10, \"The API\")"
    );
    the_hub_tells_each_change_once();
}

/// `Hub::join` and `Hub::leave` with outboxes the check reads directly.
fn the_hub_tells_each_change_once() {
    let section = "(chapter 10, \"Task 5: Presence\")";
    let mut hub = Hub::new(Document::new("héllo"));
    let (ann_outbox, mut ann) = mpsc::channel(64);
    let ann_id = hub.join("ann", ann_outbox);
    let (bob_outbox, mut bob) = mpsc::channel(64);
    let bob_id = hub.join("bob", bob_outbox);
    assert_ne!(ann_id, bob_id, "every client gets its own id {section}");
    assert_eq!(
        drain(&mut ann),
        [
            ServerMessage::Welcome {
                client: ann_id,
                revision: 0,
                text: "héllo".into(),
                peers: vec![]
            },
            ServerMessage::Joined {
                peer: peer(bob_id, "bob", None)
            },
        ],
        "the first client gets a Welcome with nobody in it, then Joined when bob comes {section}"
    );
    assert_eq!(
        drain(&mut bob),
        [ServerMessage::Welcome {
            client: bob_id,
            revision: 0,
            text: "héllo".into(),
            peers: vec![peer(ann_id, "ann", None)]
        }],
        "a newcomer's Welcome lists everybody before it, not itself, and it gets no Joined of its own {section}"
    );
    hub.leave(bob_id);
    hub.leave(bob_id);
    assert_eq!(
        drain(&mut ann),
        [ServerMessage::Left { client: bob_id }],
        "leave called twice for bob tells ann once {section}"
    );
    assert_eq!(
        hub.peers(),
        [peer(ann_id, "ann", None)],
        "after bob left, only ann is there {section}"
    );
    // A client whose outbox is full is dropped, and the others are told.
    let (cat_outbox, mut cat) = mpsc::channel(2);
    let cat_id = hub.join("cat", cat_outbox);
    drain(&mut ann);
    for (revision, text) in ["a", "b", "c"].into_iter().enumerate() {
        let op = Operation::new().insert(text).retain(5 + revision);
        let edited = hub.edit(ann_id, revision, op);
        assert!(
            edited.is_ok(),
            "ann's edit {text:?} is accepted, got {edited:?} {section}"
        );
    }
    let left = drain(&mut ann)
        .into_iter()
        .filter(|message| matches!(message, ServerMessage::Left { .. }))
        .collect::<Vec<_>>();
    assert_eq!(
        (left, hub.peers().len()),
        (vec![ServerMessage::Left { client: cat_id }], 1),
        "cat's outbox holds 2 messages and cat reads none: at the third the hub drops cat and tells ann once; every message to a client goes through its outbox with try_send (chapter 10, \"Task 4: The server\")"
    );
    let kept = drain(&mut cat).len();
    assert!(
        kept == 2 && cat.try_recv() == Err(mpsc::error::TryRecvError::Disconnected),
        "a dropped client's outbox is closed after what it held ({kept} messages), so its connection closes with 1013 (chapter 10, \"Task 4: The server\")"
    );
}

async fn selections_reach_the_others_and_follow_edits() {
    let server = Server::bind("127.0.0.1:0", "héllo wörld")
        .await
        .expect("the unit's server binds to loopback");
    let mut ann = connect(&server, "ann").await;
    let mut bob = connect(&server, "bob").await;
    let ann_id = ann.snapshot().await.client;
    wait(&mut bob, "bob sees ann", |s| !s.peers.is_empty()).await;
    ann.select(Selection::new(6, 11)).await.expect("select");
    let seen = wait(&mut bob, "bob sees ann's selection", |s| {
        s.peers
            .iter()
            .any(|p| p.client == ann_id && p.selection.is_some())
    })
    .await;
    let ann_selection = |s: &Snapshot| {
        s.peers
            .iter()
            .find(|p| p.client == ann_id)
            .and_then(|p| p.selection)
    };
    assert_eq!(
        ann_selection(&seen),
        Some(Selection::new(6, 11)),
        "bob must see ann's selection \"wörld\" (chapter 10, \"Task 5: Presence\")"
    );
    // Bob types before it: ann's selection, as bob sees it, moves right.
    bob.insert(0, "¡").await.expect("bob's edit");
    let seen = bob.snapshot().await;
    assert_eq!(
        ann_selection(&seen),
        Some(Selection::new(7, 12)),
        "bob's own insert before ann's selection moves it in his view (chapter 10, \"Task 3: Cursors and selections\")"
    );
    // A third client that joins now gets ann's selection moved by bob's edit.
    wait(&mut bob, "bob synchronized", |s| s.synchronized).await;
    let mut cat = connect(&server, "cat").await;
    let seen = wait(&mut cat, "cat's view", |s| s.text == "¡héllo wörld").await;
    assert_eq!(
        ann_selection(&seen),
        Some(Selection::new(7, 12)),
        "the server moves stored selections through every edit, so a newcomer sees ann's selection where \"wörld\" now is (chapter 10, \"Task 5: Presence\")"
    );
    // Ann deletes "héllo " (once she has bob's edit): cat sees her selection move left.
    wait(&mut ann, "ann sees bob's edit", |s| {
        s.text == "¡héllo wörld"
    })
    .await;
    ann.edit(|text| {
        Operation::new()
            .retain(1)
            .delete(6)
            .retain(char_len(text) - 7)
    })
    .await
    .expect("ann's edit");
    let seen = wait(&mut cat, "cat sees ann's delete", |s| s.text == "¡wörld").await;
    assert_eq!(
        ann_selection(&seen),
        Some(Selection::new(1, 6)),
        "a remote delete before a peer's selection moves it left (chapter 10, \"Task 3: Cursors and selections\")"
    );
    drop((ann, bob, cat));
    within(WAIT, "server shutdown", server.shutdown()).await;
}

async fn a_bad_operation_closes_only_its_connection() {
    let server = Server::bind("127.0.0.1:0", "abc")
        .await
        .expect("the unit's server binds to loopback");
    let mut good = connect(&server, "good").await;
    let (mut raw, _) = within(
        WAIT,
        "raw connect",
        tokio_tungstenite::connect_async(server.url()),
    )
    .await
    .expect("a raw WebSocket connects");
    let send =
        |message: &ClientMessage| Message::text(serde_json::to_string(message).unwrap_or_default());
    raw.send(send(&ClientMessage::Join { name: "bad".into() }))
        .await
        .expect("send join");
    // A 10-character operation on a 3-character document.
    raw.send(send(&ClientMessage::Op {
        revision: 0,
        op: Operation::new().retain(10),
    }))
    .await
    .expect("send op");
    let mut error = false;
    let mut close_code = None;
    within(WAIT, "the bad client is answered and closed", async {
        while let Some(Ok(message)) = raw.next().await {
            match message {
                Message::Text(text) if text.contains("\"error\"") => error = true,
                Message::Close(frame) => close_code = frame.map(|f| u16::from(f.code)),
                _ => {}
            }
        }
    })
    .await;
    assert!(
        error,
        "a refused operation gets an Error message first (chapter 10, \"Task 4: The server\")"
    );
    assert_eq!(
        close_code,
        Some(1008),
        "then a Close with 1008 (policy violation) (chapter 10, \"Task 4: The server\")"
    );
    good.insert(3, "d").await.expect("the good client edits");
    let seen = wait(&mut good, "the good client's ack", |s| {
        s.synchronized && s.revision == 1
    })
    .await;
    assert_eq!(
        (seen.text.as_str(), server.text()),
        ("abcd", "abcd".to_owned()),
        "the server keeps serving the others (chapter 10, \"Task 4: The server\")"
    );
    drop(good);
    within(WAIT, "server shutdown", server.shutdown()).await;
}
