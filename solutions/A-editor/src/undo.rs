//! Undo and redo of one's *own* edits.
//!
//! Each replica keeps its own history. When the user makes an edit, its
//! inverse ([`Edit::invert`]) goes on the undo stack. When somebody else's
//! edit arrives, every stored inverse is transformed against it, so that
//! undoing later removes exactly what this user did, wherever the others'
//! typing has moved it, and nothing of theirs: A types, B inserts a line in
//! between, A undoes, and only A's text goes.
//!
//! The stack is a chain: the top inverse applies to the current document,
//! the one below it to the document after the top was undone, and so on. A
//! remote edit is transformed through the chain from the top, each inverse
//! counting as ordered after it (an undo is a new edit, made later).

use crate::rich::{Edit, EditError, RichText};

/// A replica's undo and redo stacks.
#[derive(Clone, Debug, Default)]
pub struct History {
    undo: Vec<Edit>,
    redo: Vec<Edit>,
}

impl History {
    /// An empty history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether there is something to undo.
    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    /// Whether there is something to redo.
    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    /// The user made `edit` on `before` (the document it applied to): it
    /// can be undone, and what was undone can no longer be redone.
    pub fn record(&mut self, edit: &Edit, before: &RichText) -> Result<(), EditError> {
        // region: solution
        let inverse = edit.invert(before)?;
        if !inverse.is_noop() {
            self.undo.push(inverse);
        }
        self.redo.clear();
        Ok(())
        // region: stub
        // todo!("Stage 9: remember the inverse of one's own edit (chapter A-editor, section \"Stage 9: Undo\")")
        // endregion
    }

    /// Somebody else's `edit` was applied to the document: every stored
    /// edit moves past it.
    pub fn transform(&mut self, edit: &Edit) -> Result<(), EditError> {
        // region: solution
        for stack in [&mut self.undo, &mut self.redo] {
            let mut remote = edit.clone();
            for stored in stack.iter_mut().rev() {
                let (moved, rest) = stored.transform(&remote)?;
                *stored = moved;
                remote = rest;
            }
        }
        Ok(())
        // region: stub
        // todo!("Stage 9: move the stored inverses past somebody else's edit (chapter A-editor, section \"Stage 9: Undo\")")
        // endregion
    }

    /// Undoes this user's latest edit still in the history: applies it to
    /// `doc` and returns it, to send like any other edit; `None` when there
    /// is nothing to undo.
    pub fn undo(&mut self, doc: &mut RichText) -> Result<Option<Edit>, EditError> {
        Self::step(&mut self.undo, &mut self.redo, doc)
    }

    /// Redoes the latest undo, like [`History::undo`].
    pub fn redo(&mut self, doc: &mut RichText) -> Result<Option<Edit>, EditError> {
        Self::step(&mut self.redo, &mut self.undo, doc)
    }

    // region: stub
    // #[allow(clippy::ptr_arg)] // your code pushes and pops: it needs the Vecs
    // endregion
    fn step(
        from: &mut Vec<Edit>,
        to: &mut Vec<Edit>,
        doc: &mut RichText,
    ) -> Result<Option<Edit>, EditError> {
        // region: solution
        let Some(edit) = from.pop() else {
            return Ok(None);
        };
        // Both fail only on an edit that does not fit `doc` (a caller that
        // skipped a `transform`), and then change nothing: keep the edit.
        let applied = edit.invert(doc).and_then(|inverse| {
            doc.apply(&edit)?;
            Ok(inverse)
        });
        match applied {
            Ok(inverse) => {
                to.push(inverse);
                Ok(Some(edit))
            }
            Err(error) => {
                from.push(edit);
                Err(error)
            }
        }
        // region: stub
        // todo!("Stage 9: undo or redo one step (chapter A-editor, section \"Stage 9: Undo\")")
        // endregion
    }
}
