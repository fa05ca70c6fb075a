//! Visible checks of unit 10, for the first tasks: applying, inverting,
//! composing and transforming operations, on random documents that are not
//! all ASCII. Run them with `cargo test`; `cargo grade 10` runs these and
//! the hidden checks.

use collab::{Document, OpError, Operation, char_len};

checkkit::checks! {
    apply_counts_characters_not_bytes,
    compose_agrees_with_applying_in_sequence,
    transform_converges_on_random_pairs,
    the_server_transforms_a_late_operation,
}

/// A small seeded random generator (xorshift64*), so every run sees the
/// same "random" documents and a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Text of up to `max` characters, ASCII and not: é (2 bytes), € (3),
    /// 😀 (4), a newline.
    fn text(&mut self, max: usize) -> String {
        const ALPHABET: [char; 10] = ['a', 'b', 'c', ' ', 'é', '€', '😀', '\n', '中', 'z'];
        (0..self.below(max + 1))
            .map(|_| ALPHABET[self.below(ALPHABET.len())])
            .collect()
    }

    /// A random operation on `doc`.
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

async fn apply_counts_characters_not_bytes() {
    let doc = "héllo, wörld 😀";
    let op = Operation::new()
        .retain(1)
        .delete(4)
        .insert("i ✓")
        .retain(8)
        .delete(1)
        .insert("!");
    assert_eq!(
        op.base_len(),
        14,
        "the builder counts characters (chapter 10, \"Operations\")"
    );
    let result = op.apply(doc);
    assert_eq!(
        result.as_deref(),
        Ok("hi ✓, wörld !"),
        "retain 1, delete 4, insert \"i ✓\", retain 8, delete 1, insert \"!\" on {doc:?}: positions and counts are in characters, not bytes (chapter 10, \"Task 1: Apply and invert\")"
    );
    assert_eq!(
        op.apply("too short"),
        Err(OpError::WrongDocumentLength {
            expected: 14,
            found: 9
        }),
        "apply on a document of the wrong length must return WrongDocumentLength, not guess (chapter 10, \"Task 1: Apply and invert\")"
    );
    let after = result.unwrap_or_default();
    let inverse = op.invert(doc);
    let back = inverse.as_ref().map(|inverse| inverse.apply(&after));
    assert_eq!(
        back,
        Ok(Ok(doc.to_owned())),
        "op.invert(doc) applied to op.apply(doc) must give doc back; the inverse was {inverse:?} (chapter 10, \"Task 1: Apply and invert\")"
    );
}

async fn compose_agrees_with_applying_in_sequence() {
    let mut rng = Rng(0x10c0_11ab);
    for round in 0..300 {
        let doc = rng.text(12);
        let a = rng.op(&doc);
        let Ok(middle) = a.apply(&doc) else {
            panic!("apply failed on a valid operation (chapter 10, \"Task 1: Apply and invert\")");
        };
        let b = rng.op(&middle);
        let sequence = b.apply(&middle);
        let composed = a.compose(&b);
        let Ok(composed) = composed else {
            panic!(
                "round {round}: {a:?}.compose({b:?}) failed with {composed:?} (chapter 10, \"Task 2: Compose and transform\")"
            );
        };
        assert_eq!(
            composed.apply(&doc),
            sequence,
            "round {round}: doc {doc:?}, a = {a:?}, b = {b:?}: a.compose(b) = {composed:?} must do what a then b do (chapter 10, \"Task 2: Compose and transform\")"
        );
    }
    let a = Operation::new().insert("x");
    let b = Operation::new().retain(3);
    assert!(
        a.compose(&b).is_err(),
        "composing an operation that leaves 1 character with one that expects 3 must be an error (chapter 10, \"Task 2: Compose and transform\")"
    );
}

async fn transform_converges_on_random_pairs() {
    let mut rng = Rng(0x7e57_0001);
    for round in 0..300 {
        let doc = rng.text(12);
        let a = rng.op(&doc);
        let b = rng.op(&doc);
        let transformed = a.transform(&b);
        let Ok((a2, b2)) = transformed else {
            panic!(
                "round {round}: {a:?}.transform({b:?}) failed with {transformed:?} (chapter 10, \"Task 2: Compose and transform\")"
            );
        };
        let left = a.apply(&doc).and_then(|text| b2.apply(&text));
        let right = b.apply(&doc).and_then(|text| a2.apply(&text));
        assert!(
            left.is_ok() && left == right,
            "round {round}: doc {doc:?}, a = {a:?}, b = {b:?}: a then b' gives {left:?}, b then a' gives {right:?}; they must be equal (TP1; chapter 10, \"Task 2: Compose and transform\")"
        );
    }
}

async fn the_server_transforms_a_late_operation() {
    let mut doc = Document::new("héllo");
    // Alice (at revision 0) appends " wörld".
    let alice = Operation::new().retain(5).insert(" wörld");
    let applied = doc.receive(0, alice.clone());
    assert_eq!(
        applied,
        Ok(alice),
        "an operation on the current revision is applied as it is (chapter 10, \"Task 4: The server\")"
    );
    // Bob, also at revision 0, had not seen Alice's edit: he deletes "h".
    let bob = Operation::new().delete(1).retain(4);
    let applied = doc.receive(0, bob);
    assert_eq!(
        applied,
        Ok(Operation::new().delete(1).retain(10)),
        "Bob's late operation (revision 0, the server at 1) must be transformed against Alice's before it is applied (chapter 10, \"Task 4: The server\")"
    );
    assert_eq!(
        doc.text(),
        "éllo wörld",
        "both edits must be in the text (chapter 10, \"Task 4: The server\")"
    );
    assert_eq!(
        doc.revision(),
        2,
        "two operations accepted: revision 2 (chapter 10, \"Task 4: The server\")"
    );
}
