//! Maintainers' bench (`cargo bench -p collab`), not a test and not graded.
//!
//! 1. The sequential editing trace `seph-blog1` (137 993 edits, data in
//!    `grader/units/10-collab/data/`, CC BY 4.0, see its README) applied as
//!    operations through `collab::Operation::apply`, through the
//!    `operational-transform` crate's `OperationSeq::apply` on the same
//!    operations, and as a plain `String` splice (char position to byte
//!    offset counted 64 bytes at a time, then `replace_range`): the floor,
//!    since an operation-based apply rebuilds the whole document; and the
//!    same splice with `char_indices().nth` for the offsets.
//! 2. `transform` and `compose` on random operation pairs (documents of
//!    ~200 characters, some non-ASCII), against the same crate.
//!
//! Every figure is measured in this run; ratios are against the floor (1)
//! or against the crate (2).

use std::hint::black_box;
use std::time::{Duration, Instant};

use collab::{Component, Operation, char_len};
use operational_transform::OperationSeq;

#[allow(dead_code)] // shared with the maintainers' tests, which use other parts of it
mod trace;

fn to_seq(op: &Operation) -> OperationSeq {
    let mut seq = OperationSeq::default();
    for component in op.components() {
        match component {
            Component::Retain(n) => seq.retain(*n as u64),
            Component::Insert(text) => seq.insert(text),
            Component::Delete(n) => seq.delete(*n as u64),
        }
    }
    seq
}

/// Best of `runs` timings of `f`.
fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..runs {
        let start = Instant::now();
        let value = f();
        best = best.min(start.elapsed());
        out = Some(value);
    }
    (best, out.expect("at least one run"))
}

/// The byte offset of character `n` (or the end): bytes that start a
/// character counted 64 at a time, as `collab` does, so the floor is the
/// splice itself and not a slow character walk.
fn byte_offset(text: &str, n: usize) -> usize {
    let bytes = text.as_bytes();
    let (mut left, mut at) = (n, 0);
    while at + 64 <= bytes.len() {
        let starts = bytes[at..at + 64]
            .iter()
            .filter(|&&b| (b as i8) >= -0x40)
            .count();
        if starts > left {
            break;
        }
        left -= starts;
        at += 64;
    }
    while at < bytes.len() {
        if (bytes[at] as i8) >= -0x40 {
            if left == 0 {
                return at;
            }
            left -= 1;
        }
        at += 1;
    }
    at
}

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
        const ALPHABET: [char; 10] = ['a', 'b', 'c', ' ', 'é', 'e', 'o', '\n', '中', 'z'];
        (0..self.below(max + 1))
            .map(|_| ALPHABET[self.below(ALPHABET.len())])
            .collect()
    }
    fn op(&mut self, len: usize) -> Operation {
        let mut op = Operation::new();
        let mut left = len;
        while left > 0 {
            let n = 1 + self.below(left.min(30));
            match self.below(4) {
                0 | 1 => {
                    op = op.retain(n);
                    left -= n;
                }
                2 => {
                    op = op.delete(n.min(4));
                    left -= n.min(4);
                }
                _ => op = op.insert(&self.text(6)),
            }
        }
        op
    }
}

fn main() {
    // ---------------------------------------------------------------- 1
    let trace = trace::load("seph-blog1.json.gz");
    let start = trace["startContent"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let end = trace["endContent"].as_str().unwrap_or_default().to_owned();
    let patches: Vec<trace::Patch> = trace::txns(&trace)
        .into_iter()
        .flat_map(|txn| txn.patches)
        .collect();
    let mut ops = Vec::with_capacity(patches.len());
    let mut len = char_len(&start);
    for patch in &patches {
        let op = trace::patch_op(len, patch);
        len = op.target_len();
        ops.push(op);
    }
    let seqs: Vec<OperationSeq> = ops.iter().map(to_seq).collect();
    println!(
        "seph-blog1: {} edits, final text {} characters",
        ops.len(),
        char_len(&end)
    );

    let (naive, text) = best(3, || {
        let mut text = start.clone();
        for (position, deleted, inserted) in &patches {
            let from = text
                .char_indices()
                .nth(*position)
                .map_or(text.len(), |(at, _)| at);
            let to = text[from..]
                .char_indices()
                .nth(*deleted)
                .map_or(text.len(), |(at, _)| from + at);
            text.replace_range(from..to, inserted);
        }
        text
    });
    assert!(text == end, "the naive splice reproduces endContent");
    let (splice, text) = best(3, || {
        let mut text = start.clone();
        for (position, deleted, inserted) in &patches {
            let from = byte_offset(&text, *position);
            let to = from + byte_offset(&text[from..], *deleted);
            text.replace_range(from..to, inserted);
        }
        text
    });
    assert!(text == end, "the splice reproduces endContent");
    let (ours, text) = best(3, || {
        let mut text = start.clone();
        for op in &ops {
            text = op.apply(&text).expect("apply");
        }
        text
    });
    assert!(text == end, "collab reproduces endContent");
    let (theirs, text) = best(1, || {
        let mut text = start.clone();
        for seq in &seqs {
            text = seq.apply(&text).expect("apply");
        }
        text
    });
    assert!(text == end, "operational-transform reproduces endContent");
    let per = |d: Duration| d.as_secs_f64() * 1e9 / ops.len() as f64;
    println!(
        "  String splice (floor)        {:>9.1} ms  {:>7.0} ns/edit  1.00x",
        splice.as_secs_f64() * 1e3,
        per(splice)
    );
    println!(
        "  String splice, char_indices  {:>9.1} ms  {:>7.0} ns/edit  {:.2}x the floor",
        naive.as_secs_f64() * 1e3,
        per(naive),
        naive.as_secs_f64() / splice.as_secs_f64()
    );
    println!(
        "  collab::Operation::apply     {:>9.1} ms  {:>7.0} ns/edit  {:.2}x the floor",
        ours.as_secs_f64() * 1e3,
        per(ours),
        ours.as_secs_f64() / splice.as_secs_f64()
    );
    println!(
        "  operational-transform apply  {:>9.1} ms  {:>7.0} ns/edit  {:.2}x the floor, {:.2}x collab",
        theirs.as_secs_f64() * 1e3,
        per(theirs),
        theirs.as_secs_f64() / splice.as_secs_f64(),
        theirs.as_secs_f64() / ours.as_secs_f64()
    );

    // ---------------------------------------------------------------- 2
    let mut rng = Rng(0xbe4c_0001);
    let pairs: Vec<(Operation, Operation)> = (0..20_000)
        .map(|_| {
            let len = 150 + rng.below(100);
            (rng.op(len), rng.op(len))
        })
        .collect();
    let seq_pairs: Vec<(OperationSeq, OperationSeq)> =
        pairs.iter().map(|(a, b)| (to_seq(a), to_seq(b))).collect();
    let (ours_t, _) = best(3, || {
        for (a, b) in &pairs {
            black_box(a.transform(b).expect("transform"));
        }
    });
    let (theirs_t, _) = best(3, || {
        for (a, b) in &seq_pairs {
            black_box(a.transform(b).expect("transform"));
        }
    });
    let sequences: Vec<(Operation, Operation)> = pairs
        .iter()
        .map(|(a, _)| {
            let b = rng.op(a.target_len());
            (a.clone(), b)
        })
        .collect();
    let seq_sequences: Vec<(OperationSeq, OperationSeq)> = sequences
        .iter()
        .map(|(a, b)| (to_seq(a), to_seq(b)))
        .collect();
    let (ours_c, _) = best(3, || {
        for (a, b) in &sequences {
            black_box(a.compose(b).expect("compose"));
        }
    });
    let (theirs_c, _) = best(3, || {
        for (a, b) in &seq_sequences {
            black_box(a.compose(b).expect("compose"));
        }
    });
    let rate = |d: Duration| pairs.len() as f64 / d.as_secs_f64() / 1e6;
    println!(
        "random pairs: {} (documents of 150-250 characters)",
        pairs.len()
    );
    println!(
        "  transform: collab {:.2} M pairs/s, operational-transform {:.2} M pairs/s: collab takes {:.2}x its time",
        rate(ours_t),
        rate(theirs_t),
        ours_t.as_secs_f64() / theirs_t.as_secs_f64()
    );
    println!(
        "  compose:   collab {:.2} M pairs/s, operational-transform {:.2} M pairs/s: collab takes {:.2}x its time",
        rate(ours_c),
        rate(theirs_c),
        ours_c.as_secs_f64() / theirs_c.as_secs_f64()
    );
}
