//! Text operations: a walk over the whole document that retains, inserts
//! and deletes, counted in Unicode scalar values (`char`s), never in bytes.
//!
//! An [`Operation`] applies to a document of exactly [`Operation::base_len`]
//! characters and leaves one of [`Operation::target_len`]. The four
//! functions of operational transformation live here: [`Operation::apply`],
//! [`Operation::compose`], [`Operation::transform`] and
//! [`Operation::invert`].

use serde::{Deserialize, Serialize};

/// One step of an operation's walk over the document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Component {
    /// Keep the next `n` characters.
    Retain(usize),
    /// Insert this text at the current position.
    Insert(String),
    /// Remove the next `n` characters.
    Delete(usize),
}

/// Why an operation could not be applied, composed or transformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpError {
    /// `apply` or `invert` on a document of the wrong length.
    #[error(
        "the operation expects a document of {expected} characters, but it has {found} (chapter 10, \"Operations\")"
    )]
    WrongDocumentLength {
        /// The operation's `base_len`.
        expected: usize,
        /// The document's length in characters.
        found: usize,
    },
    /// `a.compose(b)` where `b` does not start from what `a` leaves.
    #[error(
        "cannot compose: the first operation leaves {first_target} characters, the second expects {second_base} (chapter 10, \"Task 2: Compose and transform\")"
    )]
    ComposeMismatch {
        /// `a.target_len()`.
        first_target: usize,
        /// `b.base_len()`.
        second_base: usize,
    },
    /// `a.transform(b)` where the two do not start from the same document.
    #[error(
        "cannot transform: concurrent operations must start from the same document, but one expects {left} characters and the other {right} (chapter 10, \"Task 2: Compose and transform\")"
    )]
    TransformMismatch {
        /// `a.base_len()`.
        left: usize,
        /// `b.base_len()`.
        right: usize,
    },
}

// ANCHOR: operation
/// A sequence of [`Component`]s that covers a whole document.
///
/// Built with [`Operation::new`] and the chained [`retain`](Operation::retain),
/// [`insert`](Operation::insert) and [`delete`](Operation::delete), which keep
/// it in its canonical form: no empty components, neighbours of one kind
/// merged, and an insert always before a delete at the same position. Two
/// operations that do the same thing are therefore `==`.
///
/// On the wire (JSON) it is the compact form of ot.js: `[3, "hé", -2]`
/// retains 3, inserts "hé", deletes 2.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<WireComponent>", into = "Vec<WireComponent>")]
pub struct Operation {
    components: Vec<Component>,
    base_len: usize,
    target_len: usize,
}
// ANCHOR_END: operation

/// A component as JSON: a positive number retains, a negative one deletes,
/// a string inserts.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum WireComponent {
    Count(i64),
    Text(String),
}

impl TryFrom<Vec<WireComponent>> for Operation {
    type Error = String;

    fn try_from(wire: Vec<WireComponent>) -> Result<Self, Self::Error> {
        let mut op = Operation::new();
        for component in wire {
            match component {
                WireComponent::Count(0) => return Err("a component of length 0".into()),
                WireComponent::Count(n) if n > 0 => {
                    op.push(Component::Retain(n.unsigned_abs() as usize))
                }
                WireComponent::Count(n) => op.push(Component::Delete(n.unsigned_abs() as usize)),
                WireComponent::Text(text) if text.is_empty() => {
                    return Err("an empty insert".into());
                }
                WireComponent::Text(text) => op.push(Component::Insert(text)),
            }
        }
        Ok(op)
    }
}

impl From<Operation> for Vec<WireComponent> {
    fn from(op: Operation) -> Self {
        op.components
            .into_iter()
            .map(|component| match component {
                Component::Retain(n) => WireComponent::Count(n as i64),
                Component::Delete(n) => WireComponent::Count(-(n as i64)),
                Component::Insert(text) => WireComponent::Text(text),
            })
            .collect()
    }
}

/// The number of characters (Unicode scalar values) in `text`.
pub fn char_len(text: &str) -> usize {
    text.chars().count()
}

/// The byte length of the first `n` characters of `text`, or `None` when it
/// has fewer. Counts the bytes that start a character (not `0b10xx_xxxx`),
/// a chunk at a time.
fn byte_offset(text: &str, n: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut remaining = n;
    let mut offset = 0;
    // Whole chunks while they hold at most `remaining` characters.
    while remaining > 0 && offset + 64 <= bytes.len() {
        let chunk = &bytes[offset..offset + 64];
        let starts = chunk.iter().filter(|&&b| (b as i8) >= -0x40).count();
        if starts > remaining {
            break;
        }
        remaining -= starts;
        offset += 64;
    }
    // `offset` may sit inside a character when the chunk ended mid-way: the
    // loop below steps over its continuation bytes without counting them.
    while offset < bytes.len() {
        let byte = bytes[offset];
        if (byte as i8) >= -0x40 {
            if remaining == 0 {
                return Some(offset);
            }
            remaining -= 1;
        }
        offset += 1;
    }
    (remaining == 0).then_some(offset)
}

/// Splits `text` after `n` characters (`n` at most its length).
fn split_chars(text: &str, n: usize) -> (&str, &str) {
    text.split_at(byte_offset(text, n).unwrap_or(text.len()))
}

impl Operation {
    /// The empty operation: applies to the empty document only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the next `n` characters (nothing when `n` is 0).
    #[must_use]
    pub fn retain(mut self, n: usize) -> Self {
        self.push(Component::Retain(n));
        self
    }

    /// Inserts `text` here (nothing when it is empty).
    #[must_use]
    pub fn insert(mut self, text: &str) -> Self {
        self.push(Component::Insert(text.to_owned()));
        self
    }

    /// Removes the next `n` characters (nothing when `n` is 0).
    #[must_use]
    pub fn delete(mut self, n: usize) -> Self {
        self.push(Component::Delete(n));
        self
    }

    /// Appends a component, keeping the canonical form (see [`Operation`]).
    pub fn push(&mut self, component: Component) {
        match component {
            Component::Retain(0) | Component::Delete(0) => {}
            Component::Insert(ref text) if text.is_empty() => {}
            Component::Retain(n) => {
                self.base_len += n;
                self.target_len += n;
                if let Some(Component::Retain(last)) = self.components.last_mut() {
                    *last += n;
                } else {
                    self.components.push(Component::Retain(n));
                }
            }
            Component::Delete(n) => {
                self.base_len += n;
                if let Some(Component::Delete(last)) = self.components.last_mut() {
                    *last += n;
                } else {
                    self.components.push(Component::Delete(n));
                }
            }
            Component::Insert(text) => {
                self.target_len += char_len(&text);
                let len = self.components.len();
                match self.components.as_mut_slice() {
                    [.., Component::Insert(last)] => last.push_str(&text),
                    // Insert before a trailing delete: "delete then insert"
                    // and "insert then delete" do the same thing.
                    [.., Component::Insert(before), Component::Delete(_)] => {
                        before.push_str(&text);
                    }
                    [.., Component::Delete(_)] => {
                        self.components.insert(len - 1, Component::Insert(text));
                    }
                    _ => self.components.push(Component::Insert(text)),
                }
            }
        }
    }

    /// The components, in canonical form.
    pub fn components(&self) -> &[Component] {
        &self.components
    }

    /// The length (in characters) of the documents this operation applies to.
    pub fn base_len(&self) -> usize {
        self.base_len
    }

    /// The length (in characters) of the document it leaves.
    pub fn target_len(&self) -> usize {
        self.target_len
    }

    /// Whether it changes nothing (only retains, or nothing at all).
    pub fn is_noop(&self) -> bool {
        self.components
            .iter()
            .all(|component| matches!(component, Component::Retain(_)))
    }

    // ANCHOR: apply
    /// Applies the operation to `doc`, which must be exactly
    /// [`base_len`](Self::base_len) characters long.
    pub fn apply(&self, doc: &str) -> Result<String, OpError> {
        // ANCHOR_END: apply
        todo!("Task 1: apply an operation (chapter 10, section \"Task 1: Apply and invert\")")
    }

    // ANCHOR: invert
    /// The operation that undoes this one: `self.invert(doc)?.apply(&self.apply(doc)?)`
    /// gives `doc` back. Needs the document it was applied to, to know what
    /// the deletes removed.
    pub fn invert(&self, doc: &str) -> Result<Operation, OpError> {
        // ANCHOR_END: invert
        todo!("Task 1: invert an operation (chapter 10, section \"Task 1: Apply and invert\")")
    }

    // ANCHOR: compose
    /// One operation with the effect of `self` followed by `next`:
    /// `self.compose(next)?.apply(doc)` equals `next.apply(&self.apply(doc)?)`.
    pub fn compose(&self, next: &Operation) -> Result<Operation, OpError> {
        // ANCHOR_END: compose
        todo!(
            "Task 2: compose two operations (chapter 10, section \"Task 2: Compose and transform\")"
        )
    }

    // ANCHOR: transform
    /// Transforms two concurrent operations `a = self` and `b`, made on the
    /// same document, into `(a', b')` such that `b'` applied after `a` and
    /// `a'` applied after `b` give the same text:
    /// `b'.apply(a.apply(doc)) == a'.apply(b.apply(doc))`.
    ///
    /// When both insert at the same position, `self`'s text goes first.
    pub fn transform(&self, b: &Operation) -> Result<(Operation, Operation), OpError> {
        // ANCHOR_END: transform
        todo!(
            "Task 2: transform two concurrent operations (chapter 10, section \"Task 2: Compose and transform\")"
        )
    }

    // ANCHOR: transform_index
    /// Where a position (a cursor, one end of a selection) in the document
    /// before this operation ends up after it. Text inserted exactly at the
    /// position pushes it to the right; a position inside deleted text moves
    /// to where the deletion happened.
    pub fn transform_index(&self, index: usize) -> usize {
        // ANCHOR_END: transform_index
        todo!(
            "Task 3: move a position through an operation (chapter 10, section \"Task 3: Cursors and selections\")"
        )
    }
}

// ANCHOR: selection
/// A selection: `anchor` where it started, `head` where the cursor is (both
/// character positions). A plain cursor has `anchor == head`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Selection {
    /// Where the selection started.
    pub anchor: usize,
    /// Where the cursor is.
    pub head: usize,
}
// ANCHOR_END: selection

impl Selection {
    /// A cursor at `position`, nothing selected.
    pub fn cursor(position: usize) -> Self {
        Self {
            anchor: position,
            head: position,
        }
    }

    /// A selection from `anchor` to `head`.
    pub fn new(anchor: usize, head: usize) -> Self {
        Self { anchor, head }
    }

    /// Whether nothing is selected.
    pub fn is_cursor(&self) -> bool {
        self.anchor == self.head
    }

    /// The selection moved through `op` (both ends with
    /// [`Operation::transform_index`]).
    #[must_use]
    pub fn transform(&self, op: &Operation) -> Selection {
        Selection {
            anchor: op.transform_index(self.anchor),
            head: op.transform_index(self.head),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_offsets_count_characters() {
        let text = "héllo wörld ".repeat(20);
        for n in 0..=char_len(&text) {
            let expected = text.char_indices().nth(n).map_or(text.len(), |(at, _)| at);
            assert_eq!(byte_offset(&text, n), Some(expected), "n = {n}");
        }
        assert_eq!(byte_offset(&text, char_len(&text) + 1), None);
    }
}
