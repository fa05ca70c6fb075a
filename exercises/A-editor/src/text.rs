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
