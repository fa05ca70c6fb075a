//! A document's text, held in a rope.
//!
//! Unit 10's [`Operation::apply`] takes a `&str` and returns a new `String`:
//! every keystroke copies the whole document. That is fine for a chapter's
//! examples and too slow for an editor that holds long documents and
//! applies every participant's keystrokes: replaying the 137 993 edits of
//! the `seph-blog1` trace that way takes over a second. [`Text`] keeps the
//! text in a [`ropey::Rope`], a balanced tree of small chunks, and applies
//! an operation as the edits it describes: a retain moves a cursor, an
//! insert or a delete changes one place, each in O(log n) plus its size.
//!
//! Positions and lengths are Unicode scalar values (`char`s), as in every
//! [`Operation`].

use crate::ot::{Component, OpError, Operation};
use ropey::Rope;

/// The text of a document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Text {
    rope: Rope,
}

impl Text {
    /// An empty document.
    pub fn new() -> Self {
        Self::default()
    }

    /// The length in characters (Unicode scalar values): the `base_len` an
    /// operation must have to apply.
    pub fn len_chars(&self) -> usize {
        self.rope.len_chars()
    }

    /// Whether the document is empty.
    pub fn is_empty(&self) -> bool {
        self.rope.len_chars() == 0
    }

    /// Applies `op` in place. On an error (the operation was made for a
    /// document of another length) the text is unchanged.
    pub fn apply(&mut self, op: &Operation) -> Result<(), OpError> {
        let found = self.rope.len_chars();
        if op.base_len() != found {
            return Err(OpError::WrongDocumentLength {
                expected: op.base_len(),
                found,
            });
        }
        // `base_len` matched, so every retain and delete stays inside the
        // text: the walk cannot go past its end.
        let mut at = 0;
        for component in op.components() {
            match component {
                Component::Retain(n) => at += n,
                Component::Insert(text) => {
                    self.rope.insert(at, text);
                    at += crate::ot::char_len(text);
                }
                Component::Delete(n) => self.rope.remove(at..at + n),
            }
        }
        Ok(())
    }

    /// The operation that undoes `op` on this text (the text *before* `op`):
    /// what `op` deletes is read from the rope, so this costs O(log n) per
    /// component plus the deleted text, not a copy of the document.
    pub fn invert(&self, op: &Operation) -> Result<Operation, OpError> {
        let found = self.rope.len_chars();
        if op.base_len() != found {
            return Err(OpError::WrongDocumentLength {
                expected: op.base_len(),
                found,
            });
        }
        let mut inverse = Operation::new();
        let mut at = 0;
        for component in op.components() {
            match component {
                Component::Retain(n) => {
                    inverse = inverse.retain(*n);
                    at += n;
                }
                Component::Insert(text) => inverse = inverse.delete(crate::ot::char_len(text)),
                Component::Delete(n) => {
                    inverse = inverse.insert(&self.slice(at, at + n));
                    at += n;
                }
            }
        }
        Ok(inverse)
    }

    /// The characters `from..to` (clamped to the text) as a `String`.
    pub fn slice(&self, from: usize, to: usize) -> String {
        let end = to.min(self.rope.len_chars());
        let start = from.min(end);
        self.rope.slice(start..end).to_string()
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Self {
        Self {
            rope: Rope::from_str(text),
        }
    }
}

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for chunk in self.rope.chunks() {
            f.write_str(chunk)?;
        }
        Ok(())
    }
}

// region: solution
// The reference's own tests (proptest is not in the exercise's manifest).
#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn applies_in_characters_not_bytes() {
        // "é" is two bytes, the emoji four, the flag two scalar values.
        let mut text = Text::from("héllo 👋 🇫🇷!");
        let op = Operation::new()
            .retain(1)
            .delete(1)
            .insert("e")
            .retain(4)
            .insert("wave ")
            .retain(1)
            .delete(3)
            .insert("x")
            .retain(1);
        text.apply(&op).expect("the lengths match");
        assert_eq!(text.to_string(), "hello wave 👋x!");
        assert_eq!(text.len_chars(), 14);
    }

    #[test]
    fn a_wrong_length_is_an_error_and_changes_nothing() {
        let mut text = Text::from("abc");
        let error = text
            .apply(&Operation::new().retain(2).insert("x"))
            .expect_err("base_len 2 on a text of 3");
        assert_eq!(
            error,
            OpError::WrongDocumentLength {
                expected: 2,
                found: 3
            }
        );
        assert_eq!(text.to_string(), "abc");
    }

    #[test]
    fn invert_undoes_and_agrees_with_unit_10() {
        let text = Text::from("héllo wörld");
        let op = Operation::new()
            .retain(1)
            .delete(4)
            .insert("i")
            .retain(2)
            .delete(2)
            .insert("🌍")
            .retain(2);
        let inverse = text.invert(&op).expect("lengths match");
        let plain = text.to_string();
        assert_eq!(Some(&inverse), op.invert(&plain).ok().as_ref());
        let mut changed = text.clone();
        changed.apply(&op).expect("applies");
        changed.apply(&inverse).expect("the inverse applies after");
        assert_eq!(changed, text);
    }

    #[test]
    fn slices_are_clamped() {
        let text = Text::from("añb");
        assert_eq!(text.slice(1, 2), "ñ");
        assert_eq!(text.slice(2, 99), "b");
        assert_eq!(text.slice(5, 1), "");
    }

    /// One step of a random operation: retain, delete (both clamped to
    /// what is left) or insert.
    fn step() -> impl Strategy<Value = (u8, usize, String)> {
        prop_oneof![
            (1usize..6).prop_map(|n| (0u8, n, String::new())),
            (1usize..4).prop_map(|n| (1u8, n, String::new())),
            "[a-zé中👋\n]{1,5}".prop_map(|text| (2u8, 0, text)),
        ]
    }

    /// The operation `steps` describe, for a text of `len` characters.
    fn build(len: usize, steps: &[(u8, usize, String)]) -> Operation {
        let mut op = Operation::new();
        let mut left = len;
        for (kind, n, text) in steps {
            match kind {
                0 => {
                    let n = (*n).min(left);
                    op = op.retain(n);
                    left -= n;
                }
                1 => {
                    let n = (*n).min(left);
                    op = op.delete(n);
                    left -= n;
                }
                _ => op = op.insert(text),
            }
        }
        op.retain(left)
    }

    proptest! {
        /// The rope gives exactly what unit 10's `String` apply gives, for
        /// any text and any sequence of operations on it.
        #[test]
        fn agrees_with_the_string_apply(
            start in "[a-zé中👋\n ]{0,40}",
            ops in proptest::collection::vec(proptest::collection::vec(step(), 0..12), 1..8),
        ) {
            let mut text = Text::from(start.as_str());
            let mut plain = start.clone();
            for steps in &ops {
                let op = build(crate::ot::char_len(&plain), steps);
                plain = op.apply(&plain).map_err(|error| TestCaseError::fail(error.to_string()))?;
                text.apply(&op).map_err(|error| TestCaseError::fail(error.to_string()))?;
                prop_assert_eq!(text.to_string(), plain.clone());
                prop_assert_eq!(text.len_chars(), crate::ot::char_len(&plain));
            }
        }
    }
}
// endregion
