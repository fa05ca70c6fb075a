//! Capstone A's page: a participant's replica in WebAssembly.
//!
//! The page's OT is **the same Rust code** as the server's and the tests':
//! unit 10's `operation.rs` and the editor's `text.rs`, `rich.rs`,
//! `undo.rs`, `doc.rs` and `replica.rs` are compiled in here with `#[path]`,
//! not copied. The page's JavaScript draws the document, turns keystrokes
//! into edits, and carries the protocol's JSON; every edit, transform and
//! undo happens in [`Editor`].

use wasm_bindgen::prelude::*;

#[path = "../../../10-collab/src/operation.rs"]
mod operation;

/// Unit 10's operations, by the name the editor's modules use.
pub mod ot {
    pub use crate::operation::{Component, OpError, Operation, Selection, char_len};
}

#[path = "../../src/doc.rs"]
pub mod doc;
#[path = "../../src/replica.rs"]
pub mod replica;
#[path = "../../src/rich.rs"]
pub mod rich;
#[path = "../../src/text.rs"]
pub mod text;
#[path = "../../src/undo.rs"]
pub mod undo;

use doc::{Entry, Submitted};
use ot::{Operation, Selection};
use replica::Replica;
use rich::{Edit, Key, RichText};

fn error(error: impl std::fmt::Display) -> JsError {
    JsError::new(&error.to_string())
}

fn parse<T: serde::de::DeserializeOwned>(json: &str, what: &str) -> Result<T, JsError> {
    serde_json::from_str(json).map_err(|e| JsError::new(&format!("{what}: {e}")))
}

/// The protocol's `edit` message for `submitted`.
fn edit_message(submitted: &Submitted) -> String {
    serde_json::json!({
        "type": "edit",
        "seq": submitted.seq,
        "base": submitted.base,
        "edit": submitted.edit,
    })
    .to_string()
}

/// One page's replica of a document.
#[wasm_bindgen]
pub struct Editor {
    replica: Replica,
}

#[wasm_bindgen]
impl Editor {
    /// A replica for `client` of the document in `welcome_doc` (the
    /// `welcome` message's `doc`, as JSON) at `revision`; its next edit is
    /// number `next_seq`.
    #[wasm_bindgen(constructor)]
    pub fn new(client: &str, doc_json: &str, revision: f64, next_seq: f64) -> Result<Editor, JsError> {
        let doc: RichText = parse(doc_json, "the document")?;
        Ok(Editor {
            replica: Replica::new(client, doc, revision as u64, next_seq as u64),
        })
    }

    /// The text.
    pub fn text(&self) -> String {
        self.replica.doc().to_string()
    }

    /// The document as JSON: `{"text", "marks"}`.
    #[wasm_bindgen(js_name = docJson)]
    pub fn doc_json(&self) -> String {
        serde_json::to_string(self.replica.doc()).unwrap_or_default()
    }

    /// The length in characters (Unicode scalar values).
    pub fn length(&self) -> usize {
        self.replica.doc().len_chars()
    }

    /// The last server revision this page has.
    pub fn revision(&self) -> f64 {
        self.replica.revision() as f64
    }

    /// Whether everything typed here has been acknowledged.
    pub fn synchronized(&self) -> bool {
        self.replica.is_synchronized()
    }

    /// Whether Ctrl+Z has something to undo / Ctrl+Y to redo.
    #[wasm_bindgen(js_name = canUndo)]
    pub fn can_undo(&self) -> bool {
        self.replica.history().can_undo()
    }

    /// See [`Editor::can_undo`].
    #[wasm_bindgen(js_name = canRedo)]
    pub fn can_redo(&self) -> bool {
        self.replica.history().can_redo()
    }

    /// The user replaced characters `from..to` with `text`, which takes the
    /// attributes in `attributes_json` (`{"bold":"true"}`; `{}` for plain).
    /// Returns the `edit` message to send now, if any.
    pub fn replace(&mut self, from: usize, to: usize, text: &str, attributes_json: &str) -> Result<Option<String>, JsError> {
        let len = self.replica.doc().len_chars();
        if from > to || to > len {
            return Err(JsError::new(&format!("{from}..{to} is outside a text of {len} characters")));
        }
        let attributes: std::collections::BTreeMap<Key, String> = parse(attributes_json, "the attributes")?;
        let inserted = ot::char_len(text);
        let mut edit = Edit::text(Operation::new().retain(from).delete(to - from).insert(text).retain(len - to));
        for (key, value) in attributes {
            edit = edit.with(from, from + inserted, key, Some(&value));
        }
        self.local(edit)
    }

    /// The user set (`value` given) or removed attribute `key` on
    /// characters `from..to`. Returns the message to send now, if any.
    pub fn format(&mut self, from: usize, to: usize, key: &str, value: Option<String>) -> Result<Option<String>, JsError> {
        let key: Key = parse(&format!("{key:?}"), "the attribute")?;
        let len = self.replica.doc().len_chars();
        self.local(Edit::format(len, from, to, key, value.as_deref()))
    }

    fn local(&mut self, edit: Edit) -> Result<Option<String>, JsError> {
        let sent = self.replica.edit(edit).map_err(error)?;
        Ok(sent.as_ref().map(edit_message))
    }

    /// Undoes this user's latest edit. Returns the message to send, if any.
    pub fn undo(&mut self) -> Result<Option<String>, JsError> {
        Ok(self.replica.undo().map_err(error)?.as_ref().map(edit_message))
    }

    /// Redoes. Returns the message to send, if any.
    pub fn redo(&mut self) -> Result<Option<String>, JsError> {
        Ok(self.replica.redo().map_err(error)?.as_ref().map(edit_message))
    }

    /// A `remote` message's edit (JSON) arrived. Returns it as applied
    /// here (JSON), to move cursors and redraw.
    pub fn receive(&mut self, edit_json: &str) -> Result<String, JsError> {
        let edit: Edit = parse(edit_json, "the remote edit")?;
        let before = self.replica.doc().len_chars();
        let _ = before;
        self.replica.receive(&edit).map_err(error)?;
        Ok(serde_json::to_string(&edit).unwrap_or_default())
    }

    /// An `ack` arrived. Returns the next message to send, if any.
    pub fn acknowledge(&mut self) -> Result<Option<String>, JsError> {
        let next = self.replica.acknowledge().map_err(error)?;
        Ok(next.as_ref().map(edit_message))
    }

    /// One edit of a `catch_up` message (JSON: `{revision, client, seq,
    /// edit}`). Returns the message to send now, if any.
    #[wasm_bindgen(js_name = catchUp)]
    pub fn catch_up(&mut self, logged_json: &str) -> Result<Option<String>, JsError> {
        #[derive(serde::Deserialize)]
        struct Logged {
            client: String,
            seq: u64,
            edit: Edit,
        }
        let logged: Logged = parse(logged_json, "the caught-up edit")?;
        let entry = Entry {
            edit: logged.edit,
            client: logged.client,
            seq: logged.seq,
        };
        let next = self.replica.catch_up(&entry).map_err(error)?;
        Ok(next.as_ref().map(edit_message))
    }

    /// After a reconnect and its catch-up: the edit in flight to send
    /// again, if any.
    pub fn resend(&self) -> Option<String> {
        self.replica.resend().map(edit_message)
    }

    /// The attributes of character `at` (JSON), to show the toolbar's
    /// state and to type with.
    #[wasm_bindgen(js_name = attributesAt)]
    pub fn attributes_at(&self, at: usize) -> String {
        serde_json::to_string(&self.replica.doc().attributes_at(at)).unwrap_or_default()
    }
}

/// Moves a selection (`anchor`, `head`) through an edit (JSON); returns
/// `[anchor, head]`.
#[wasm_bindgen(js_name = transformSelection)]
pub fn transform_selection(anchor: usize, head: usize, edit_json: &str) -> Result<Vec<usize>, JsError> {
    let edit: Edit = parse(edit_json, "the edit")?;
    let moved = Selection::new(anchor, head).transform(&edit.text);
    Ok(vec![moved.anchor, moved.head])
}
