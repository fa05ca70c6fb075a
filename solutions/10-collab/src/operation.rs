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
        // region: solution
        let found = char_len(doc);
        if found != self.base_len {
            return Err(OpError::WrongDocumentLength {
                expected: self.base_len,
                found,
            });
        }
        let mut out = String::with_capacity(doc.len() + self.target_len.saturating_sub(found) * 4);
        let mut rest = doc;
        let last = self.components.len().saturating_sub(1);
        for (i, component) in self.components.iter().enumerate() {
            match component {
                // The length was checked above: a final retain keeps all
                // that is left, without counting it again.
                Component::Retain(_) if i == last => {
                    out.push_str(rest);
                    rest = "";
                }
                Component::Retain(n) => {
                    let (kept, after) = split_chars(rest, *n);
                    out.push_str(kept);
                    rest = after;
                }
                Component::Insert(text) => out.push_str(text),
                Component::Delete(n) => rest = split_chars(rest, *n).1,
            }
        }
        Ok(out)
        // region: stub
        // todo!("Task 1: apply an operation (chapter 10, section \"Task 1: Apply and invert\")")
        // endregion
    }

    // ANCHOR: invert
    /// The operation that undoes this one: `self.invert(doc)?.apply(&self.apply(doc)?)`
    /// gives `doc` back. Needs the document it was applied to, to know what
    /// the deletes removed.
    pub fn invert(&self, doc: &str) -> Result<Operation, OpError> {
        // ANCHOR_END: invert
        // region: solution
        let found = char_len(doc);
        if found != self.base_len {
            return Err(OpError::WrongDocumentLength {
                expected: self.base_len,
                found,
            });
        }
        let mut inverse = Operation::new();
        let mut rest = doc;
        for component in &self.components {
            match component {
                Component::Retain(n) => {
                    inverse.push(Component::Retain(*n));
                    rest = split_chars(rest, *n).1;
                }
                Component::Insert(text) => inverse.push(Component::Delete(char_len(text))),
                Component::Delete(n) => {
                    let (removed, after) = split_chars(rest, *n);
                    inverse.push(Component::Insert(removed.to_owned()));
                    rest = after;
                }
            }
        }
        Ok(inverse)
        // region: stub
        // todo!("Task 1: invert an operation (chapter 10, section \"Task 1: Apply and invert\")")
        // endregion
    }

    // ANCHOR: compose
    /// One operation with the effect of `self` followed by `next`:
    /// `self.compose(next)?.apply(doc)` equals `next.apply(&self.apply(doc)?)`.
    pub fn compose(&self, next: &Operation) -> Result<Operation, OpError> {
        // ANCHOR_END: compose
        // region: solution
        if self.target_len != next.base_len {
            return Err(OpError::ComposeMismatch {
                first_target: self.target_len,
                second_base: next.base_len,
            });
        }
        let mut out = Operation::new();
        let mut first = self.components.iter().cloned();
        let mut second = next.components.iter().cloned();
        let mut a = first.next();
        let mut b = second.next();
        loop {
            match (a.take(), b.take()) {
                (None, None) => break,
                // What `self` deletes, `next` never sees.
                (Some(Component::Delete(n)), b_now) => {
                    out.push(Component::Delete(n));
                    a = first.next();
                    b = b_now;
                }
                // What `next` inserts, `self` never saw.
                (a_now, Some(Component::Insert(text))) => {
                    out.push(Component::Insert(text));
                    a = a_now;
                    b = second.next();
                }
                (Some(Component::Retain(i)), Some(Component::Retain(j))) => {
                    out.push(Component::Retain(i.min(j)));
                    (a, b) = remainders(i, j, &mut first, &mut second, Component::Retain);
                }
                (Some(Component::Retain(i)), Some(Component::Delete(j))) => {
                    out.push(Component::Delete(i.min(j)));
                    (a, b) = remainders_mixed(i, j, &mut first, &mut second);
                }
                (Some(Component::Insert(text)), Some(Component::Retain(j))) => {
                    let len = char_len(&text);
                    let (kept, rest) = split_chars(&text, len.min(j));
                    out.push(Component::Insert(kept.to_owned()));
                    if len > j {
                        a = Some(Component::Insert(rest.to_owned()));
                        b = second.next();
                    } else {
                        a = first.next();
                        b = (j > len)
                            .then_some(Component::Retain(j - len))
                            .or_else(|| second.next());
                    }
                }
                (Some(Component::Insert(text)), Some(Component::Delete(j))) => {
                    // Inserted, then deleted: neither survives.
                    let len = char_len(&text);
                    if len > j {
                        a = Some(Component::Insert(split_chars(&text, j).1.to_owned()));
                        b = second.next();
                    } else {
                        a = first.next();
                        b = (j > len)
                            .then_some(Component::Delete(j - len))
                            .or_else(|| second.next());
                    }
                }
                // Lengths were checked, so one side never runs out first.
                (None, Some(_)) | (Some(_), None) => {
                    return Err(OpError::ComposeMismatch {
                        first_target: self.target_len,
                        second_base: next.base_len,
                    });
                }
            }
        }
        Ok(out)
        // region: stub
        // todo!("Task 2: compose two operations (chapter 10, section \"Task 2: Compose and transform\")")
        // endregion
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
        // region: solution
        if self.base_len != b.base_len {
            return Err(OpError::TransformMismatch {
                left: self.base_len,
                right: b.base_len,
            });
        }
        let mut a_prime = Operation::new();
        let mut b_prime = Operation::new();
        let mut first = self.components.iter().cloned();
        let mut second = b.components.iter().cloned();
        let mut x = first.next();
        let mut y = second.next();
        loop {
            match (x.take(), y.take()) {
                (None, None) => break,
                // Inserts go through untouched; the other side retains over
                // them. `self`'s insert wins a tie.
                (Some(Component::Insert(text)), y_now) => {
                    let len = char_len(&text);
                    a_prime.push(Component::Insert(text));
                    b_prime.push(Component::Retain(len));
                    x = first.next();
                    y = y_now;
                }
                (x_now, Some(Component::Insert(text))) => {
                    let len = char_len(&text);
                    a_prime.push(Component::Retain(len));
                    b_prime.push(Component::Insert(text));
                    x = x_now;
                    y = second.next();
                }
                (Some(Component::Retain(i)), Some(Component::Retain(j))) => {
                    a_prime.push(Component::Retain(i.min(j)));
                    b_prime.push(Component::Retain(i.min(j)));
                    (x, y) = remainders(i, j, &mut first, &mut second, Component::Retain);
                }
                // Both delete the same characters: already gone for both.
                (Some(Component::Delete(i)), Some(Component::Delete(j))) => {
                    (x, y) = remainders(i, j, &mut first, &mut second, Component::Delete);
                }
                (Some(Component::Delete(i)), Some(Component::Retain(j))) => {
                    a_prime.push(Component::Delete(i.min(j)));
                    (x, y) = remainders_split(
                        i,
                        j,
                        &mut first,
                        &mut second,
                        Component::Delete,
                        Component::Retain,
                    );
                }
                (Some(Component::Retain(i)), Some(Component::Delete(j))) => {
                    b_prime.push(Component::Delete(i.min(j)));
                    (x, y) = remainders_split(
                        i,
                        j,
                        &mut first,
                        &mut second,
                        Component::Retain,
                        Component::Delete,
                    );
                }
                (None, Some(_)) | (Some(_), None) => {
                    return Err(OpError::TransformMismatch {
                        left: self.base_len,
                        right: b.base_len,
                    });
                }
            }
        }
        Ok((a_prime, b_prime))
        // region: stub
        // todo!("Task 2: transform two concurrent operations (chapter 10, section \"Task 2: Compose and transform\")")
        // endregion
    }

    // ANCHOR: transform_index
    /// Where a position (a cursor, one end of a selection) in the document
    /// before this operation ends up after it. Text inserted exactly at the
    /// position pushes it to the right; a position inside deleted text moves
    /// to where the deletion happened.
    pub fn transform_index(&self, index: usize) -> usize {
        // ANCHOR_END: transform_index
        // region: solution
        let mut moved = index;
        let mut ahead = index; // characters of the old document before `index` not yet walked
        for component in &self.components {
            match component {
                Component::Retain(n) => {
                    if *n > ahead {
                        break;
                    }
                    ahead -= n;
                }
                Component::Insert(text) => moved += char_len(text),
                Component::Delete(n) => {
                    moved -= (*n).min(ahead);
                    if *n > ahead {
                        break;
                    }
                    ahead -= n;
                }
            }
        }
        moved
        // region: stub
        // todo!("Task 3: move a position through an operation (chapter 10, section \"Task 3: Cursors and selections\")")
        // endregion
    }
}

// region: solution
/// After a step that consumed `min(i, j)` of two components of one kind,
/// what remains of each (the longer one's rest, the other's successor).
fn remainders<I: Iterator<Item = Component>>(
    i: usize,
    j: usize,
    first: &mut I,
    second: &mut I,
    kind: fn(usize) -> Component,
) -> (Option<Component>, Option<Component>) {
    remainders_split(i, j, first, second, kind, kind)
}

/// [`remainders`] for two components of different kinds.
fn remainders_split<I: Iterator<Item = Component>>(
    i: usize,
    j: usize,
    first: &mut I,
    second: &mut I,
    first_kind: fn(usize) -> Component,
    second_kind: fn(usize) -> Component,
) -> (Option<Component>, Option<Component>) {
    use std::cmp::Ordering;
    match i.cmp(&j) {
        Ordering::Less => (first.next(), Some(second_kind(j - i))),
        Ordering::Equal => (first.next(), second.next()),
        Ordering::Greater => (Some(first_kind(i - j)), second.next()),
    }
}

/// `compose`'s retain-against-delete step: the retain's rest stays a
/// retain, the delete's rest stays a delete.
fn remainders_mixed<I: Iterator<Item = Component>>(
    i: usize,
    j: usize,
    first: &mut I,
    second: &mut I,
) -> (Option<Component>, Option<Component>) {
    remainders_split(i, j, first, second, Component::Retain, Component::Delete)
}
// endregion

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
