//! Maintainers' bench (`cargo bench -p editor`), not a test and not graded.
//!
//! The sequential editing trace `seph-blog1` (137 993 edits; data in
//! `grader/units/10-collab/data/`, CC BY 4.0, see its README) replayed as
//! operations through capstone A's rope-backed [`Text::apply`], against the
//! same operations through unit 10's `Operation::apply` on a `String`, in
//! the same run. The capstone's goal: the whole trace in at most 100 ms.

use std::time::{Duration, Instant};

use collab::{Operation, char_len};
use editor::Text;

#[allow(dead_code)] // unit 10's tests use other parts of it
#[path = "../10-collab/trace.rs"]
mod trace;

/// Best of `runs` timings of `f`, and its last result.
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

fn main() {
    let trace = trace::load("seph-blog1.json.gz");
    let start = trace["startContent"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let end = trace["endContent"].as_str().unwrap_or_default().to_owned();
    let mut ops: Vec<Operation> = Vec::new();
    let mut len = char_len(&start);
    for txn in trace::txns(&trace) {
        for patch in &txn.patches {
            let op = trace::patch_op(len, patch);
            len = op.target_len();
            ops.push(op);
        }
    }
    println!(
        "seph-blog1: {} edits, final text {} characters",
        ops.len(),
        char_len(&end)
    );

    let (string, text) = best(3, || {
        let mut text = start.clone();
        for op in &ops {
            text = op.apply(&text).expect("the trace applies");
        }
        text
    });
    assert!(text == end, "the String apply reproduces endContent");
    let (rope, text) = best(5, || {
        let mut text = Text::from(start.as_str());
        for op in &ops {
            text.apply(op).expect("the trace applies");
        }
        text
    });
    assert!(
        text.to_string() == end,
        "the rope apply reproduces endContent"
    );

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "unit 10's Operation::apply on a String: {:8.1} ms",
        ms(string)
    );
    println!(
        "capstone A's Text::apply (rope):        {:8.1} ms  ({:.1}x faster; goal: at most 100 ms, {})",
        ms(rope),
        string.as_secs_f64() / rope.as_secs_f64(),
        if rope <= Duration::from_millis(100) {
            "met"
        } else {
            "NOT met"
        }
    );
}
