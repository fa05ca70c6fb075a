//! Maintainers' property tests (proptest; not graded, learners do not
//! compile them): the laws of the operation algebra on random documents
//! that mix ASCII with 2-, 3- and 4-byte characters.

use collab::{Operation, char_len};
use proptest::prelude::*;

const ALPHABET: &[char] = &['a', 'b', ' ', '\n', 'é', 'ß', '€', '中', '😀', '🦀'];

fn text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(ALPHABET), 0..=max)
        .prop_map(|chars| chars.into_iter().collect())
}

/// A random operation on a document of `len` characters.
fn op(len: usize) -> impl Strategy<Value = Operation> {
    // Steps: (kind, count, inserted text); the walk is cut to `len`.
    prop::collection::vec((0..3u8, 1..6usize, text(3)), 0..12).prop_map(move |steps| {
        let mut op = Operation::new();
        let mut left = len;
        for (kind, count, inserted) in steps {
            let n = count.min(left);
            match kind {
                0 => op = op.retain(n),
                1 => op = op.delete(n),
                _ => op = op.insert(&inserted),
            }
            if kind != 2 {
                left -= n;
            }
        }
        op.retain(left)
    })
}

fn doc_and_op() -> impl Strategy<Value = (String, Operation)> {
    text(20).prop_flat_map(|doc| {
        let len = char_len(&doc);
        (Just(doc), op(len))
    })
}

fn doc_and_two_ops() -> impl Strategy<Value = (String, Operation, Operation)> {
    text(20).prop_flat_map(|doc| {
        let len = char_len(&doc);
        (Just(doc), op(len), op(len))
    })
}

/// A document, an operation on it, and one on what it leaves.
fn doc_and_sequence() -> impl Strategy<Value = (String, Operation, Operation)> {
    doc_and_op().prop_flat_map(|(doc, a)| {
        let middle = a.target_len();
        (Just(doc), Just(a), op(middle))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn apply_gives_the_target_length((doc, a) in doc_and_op()) {
        let after = a.apply(&doc).expect("apply");
        prop_assert_eq!(char_len(&after), a.target_len());
    }

    #[test]
    fn transform_converges((doc, a, b) in doc_and_two_ops()) {
        let (a2, b2) = a.transform(&b).expect("transform");
        let left = b2.apply(&a.apply(&doc).expect("a")).expect("b'");
        let right = a2.apply(&b.apply(&doc).expect("b")).expect("a'");
        prop_assert_eq!(left, right);
    }

    #[test]
    fn compose_agrees_with_applying_in_sequence((doc, a, b) in doc_and_sequence()) {
        let middle = a.apply(&doc).expect("a");
        let composed = a.compose(&b).expect("compose");
        prop_assert_eq!(composed.apply(&doc).expect("composed"), b.apply(&middle).expect("b"));
    }

    #[test]
    fn invert_undoes_apply((doc, a) in doc_and_op()) {
        let after = a.apply(&doc).expect("apply");
        let inverse = a.invert(&doc).expect("invert");
        prop_assert_eq!(inverse.apply(&after).expect("inverse"), doc);
    }

    #[test]
    fn the_wire_format_round_trips((_doc, a) in doc_and_op()) {
        let json = serde_json::to_string(&a).expect("serialize");
        let back: Operation = serde_json::from_str(&json).expect("deserialize");
        prop_assert_eq!(back, a);
    }

    #[test]
    fn a_cursor_stays_before_the_same_character((doc, a) in doc_and_op(), at in 0..21usize) {
        // Whatever the edit, a cursor never leaves the document.
        let cursor = at.min(char_len(&doc));
        let moved = a.transform_index(cursor);
        prop_assert!(moved <= a.target_len());
    }
}
