//! Maintainers' test (not graded): real editing traces through the OT
//! engine. Data: `grader/units/10-collab/data/` (see its README: Joseph
//! Gentle's editing traces, CC BY 4.0).
//!
//! `friendsforever` is two people typing into one document at once. Every
//! transaction names its `parents` (the versions its author had seen) and
//! its patches are positions in the author's own text. The replay runs it
//! through the server's [`Document`] with one client per author, over
//! simulated FIFO channels whose delivery follows the trace: an author
//! receives the other's operations exactly up to what its next transaction
//! had seen. Each client keeps one operation in flight, like
//! [`collab::Client`], but sends its waiting edits one by one rather than
//! composed (an author may have seen only the first of two edits the other
//! made while waiting for an ack). The end must be exactly `endContent`.

use std::collections::VecDeque;

use collab::{Document, Operation, char_len};
use trace::{load as data, patch_op, txns};

#[allow(dead_code)] // shared with the benches, which use other parts of it
mod trace;

enum ToClient {
    Ack,
    Op { txn: usize, op: Operation },
}

#[derive(Default)]
struct Agent {
    text: String,
    revision: usize,
    outstanding: Option<(usize, Operation)>,
    buffer: VecDeque<(usize, Operation)>,
    /// The other author's latest transaction received.
    received: Option<usize>,
    inbox: VecDeque<ToClient>,
    /// Sent, not yet processed by the server: (txn, revision, op).
    outbox: VecDeque<(usize, usize, Operation)>,
}

struct Replay {
    server: Document,
    agents: [Agent; 2],
    processed: Vec<bool>,
}

impl Replay {
    fn deliver_one(&mut self, a: usize) {
        let agent = &mut self.agents[a];
        match agent.inbox.pop_front().expect("a message to deliver") {
            ToClient::Ack => {
                agent.revision += 1;
                agent.outstanding = agent.buffer.pop_front();
                if let Some((txn, op)) = &agent.outstanding {
                    agent.outbox.push_back((*txn, agent.revision, op.clone()));
                }
            }
            ToClient::Op { txn, op } => {
                let mut op = op;
                if let Some((_, outstanding)) = &mut agent.outstanding {
                    let (mine, theirs) = outstanding.transform(&op).expect("transform");
                    *outstanding = mine;
                    op = theirs;
                }
                for (_, buffered) in agent.buffer.iter_mut() {
                    let (mine, theirs) = buffered.transform(&op).expect("transform");
                    *buffered = mine;
                    op = theirs;
                }
                agent.text = op.apply(&agent.text).expect("apply a remote op");
                agent.revision += 1;
                agent.received = Some(txn);
            }
        }
    }

    fn process_one(&mut self, a: usize) {
        let (txn, revision, op) = self.agents[a].outbox.pop_front().expect("an op to process");
        let applied = self
            .server
            .receive(revision, op)
            .expect("the server accepts the op");
        self.processed[txn] = true;
        self.agents[a].inbox.push_back(ToClient::Ack);
        self.agents[1 - a]
            .inbox
            .push_back(ToClient::Op { txn, op: applied });
    }

    /// Makes the server process the other author's `txn`.
    fn ensure_processed(&mut self, b: usize, txn: usize) {
        while !self.processed[txn] {
            if self.agents[b].outbox.is_empty() {
                // `txn` waits in b's buffer behind the op in flight: b needs its ack.
                self.deliver_one(b);
            } else {
                self.process_one(b);
            }
        }
    }

    /// Makes author `a` receive the other's `txn`.
    fn ensure_received(&mut self, a: usize, txn: usize) {
        while self.agents[a].received.is_none_or(|got| got < txn) {
            if self.agents[a].inbox.is_empty() {
                self.ensure_processed(1 - a, txn);
            } else {
                self.deliver_one(a);
            }
        }
    }
}

#[test]
fn friendsforever_replays_to_its_end_content() {
    let trace = data("friendsforever.json.gz");
    let txns = txns(&trace);
    let Some(end) = trace["endContent"].as_str() else {
        panic!("no endContent")
    };

    // latest[i][a]: agent a's latest transaction that txn i had seen (itself included).
    let mut latest: Vec<[Option<usize>; 2]> = Vec::with_capacity(txns.len());
    let mut previous_own: [Option<usize>; 2] = [None, None];
    for (i, txn) in txns.iter().enumerate() {
        assert!(txn.agent < 2, "two authors");
        let mut seen = [None, None];
        for &parent in &txn.parents {
            for agent in 0..2 {
                seen[agent] = seen[agent].max(latest[parent][agent]);
            }
        }
        assert_eq!(
            seen[txn.agent], previous_own[txn.agent],
            "txn {i}: an author always builds on its own previous edit"
        );
        previous_own[txn.agent] = Some(i);
        seen[txn.agent] = Some(i);
        latest.push(seen);
    }

    let mut replay = Replay {
        server: Document::new(""),
        agents: [Agent::default(), Agent::default()],
        processed: vec![false; txns.len()],
    };
    for (i, txn) in txns.iter().enumerate() {
        let a = txn.agent;
        let knows = latest[i][1 - a];
        if let Some(known) = knows {
            replay.ensure_received(a, known);
        }
        assert_eq!(
            replay.agents[a].received, knows,
            "txn {i}: author {a} must have seen exactly the other's edits up to {knows:?}"
        );
        for patch in &txn.patches {
            let agent = &mut replay.agents[a];
            let op = patch_op(char_len(&agent.text), patch);
            agent.text = op
                .apply(&agent.text)
                .expect("a patch fits its author's text");
            if agent.outstanding.is_none() {
                agent.outbox.push_back((i, agent.revision, op.clone()));
                agent.outstanding = Some((i, op));
            } else {
                agent.buffer.push_back((i, op));
            }
        }
    }
    // Everything still in flight arrives.
    loop {
        let mut moved = false;
        for a in 0..2 {
            while !replay.agents[a].outbox.is_empty() {
                replay.process_one(a);
                moved = true;
            }
            while !replay.agents[a].inbox.is_empty() {
                replay.deliver_one(a);
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
    assert!(
        replay.server.text() == end,
        "the server's text differs from endContent"
    );
    for agent in &replay.agents {
        assert!(agent.text == end, "a client's text differs from endContent");
    }
    assert_eq!(replay.server.revision(), txns.len());
}

#[test]
fn seph_blog1_composes_and_applies_to_its_end_content() {
    let trace = data("seph-blog1.json.gz");
    let start = trace["startContent"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut text = start.clone();
    let mut len = char_len(&text);
    // The edits in runs of 100, each run composed into one operation and
    // applied at once (a debug build applying all 137 993 one by one takes
    // a minute; the bench does that in release).
    let mut run = Operation::new().retain(len);
    let mut runs = Vec::new();
    for (i, patch) in txns(&trace)
        .iter()
        .flat_map(|txn| txn.patches.iter())
        .enumerate()
    {
        let op = patch_op(len, patch);
        len = op.target_len();
        run = run.compose(&op).expect("compose");
        if i % 100 == 99 {
            runs.push(std::mem::replace(&mut run, Operation::new().retain(len)));
        }
    }
    runs.push(run);
    let mut before = Vec::with_capacity(runs.len());
    for run in &runs {
        before.push(text.clone());
        text = run.apply(&text).expect("a run of edits applies");
    }
    assert!(
        Some(text.as_str()) == trace["endContent"].as_str(),
        "seph-blog1 ends as endContent"
    );
    // Undo every run with its inverse, back to the start.
    for (run, doc) in runs.iter().zip(&before).rev() {
        text = run
            .invert(doc)
            .expect("invert")
            .apply(&text)
            .expect("an inverse applies");
        assert!(&text == doc, "an inverse restores the text before its run");
    }
    assert!(text == start);
}
