//! Rich text: attributes on characters, and edits that change text and
//! attributes together, transformed with unit 10's operations.
//!
//! An [`Edit`] is a text [`Operation`] (unit 10's, unchanged) followed by
//! [`Format`]s: "set `key` to `value` (or remove it) on characters
//! `from..to`", in the positions of the text *after* the operation. Typing
//! in bold is an insert followed by a bold format over what was inserted;
//! pressing Ctrl+B on a selection is an edit whose operation only retains.
//!
//! Inline attributes (bold, italic, underline, link) belong to each
//! character. Block attributes (heading, list) belong to a line and are
//! set on the `\n` that ends it.
//!
//! **Inserted text is plain** until a format of the same edit covers it:
//! it never takes the attributes of its neighbours by itself, so an insert
//! at the edge of a bold span means the same thing on every replica.
//!
//! **The merge rule.** Two concurrent edits are transformed like their
//! operations ([`Operation::transform`]); their formats move with the text,
//! and cover only the characters they covered before (never text the other
//! edit inserted inside their range). Where both set or remove the *same*
//! attribute on the same characters, the edit the server orders later wins;
//! different attributes (bold and italic) never conflict. A format over
//! text the other edit deleted shrinks with it.

use std::collections::BTreeMap;

use crate::ot::{Component, OpError, Operation, char_len};
use serde::{Deserialize, Serialize};

use crate::text::Text;

/// An attribute's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Key {
    /// Inline: `"true"`.
    Bold,
    /// Inline: `"true"`.
    Italic,
    /// Inline: `"true"`.
    Underline,
    /// Inline: the URL.
    Link,
    /// Block, on a line's `\n`: the level, `"1"` to `"6"`.
    Heading,
    /// Block, on a line's `\n`: `"bullet"` or `"ordered"`.
    List,
}

impl Key {
    /// Every key, in order.
    pub const ALL: [Key; 6] = [
        Key::Bold,
        Key::Italic,
        Key::Underline,
        Key::Link,
        Key::Heading,
        Key::List,
    ];

    /// Whether the attribute belongs to a line (set on its `\n`).
    pub fn is_block(self) -> bool {
        matches!(self, Key::Heading | Key::List)
    }
}

/// Sets (`Some`) or removes (`None`) attribute `key` on characters
/// `from..to`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Format {
    /// The first character.
    pub from: usize,
    /// One past the last character.
    pub to: usize,
    /// The attribute.
    pub key: Key,
    /// Its new value; `None` removes it.
    pub value: Option<String>,
}

/// A change to a rich document: a text operation, then formats in the
/// positions of the text after it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edit {
    /// What happens to the characters.
    pub text: Operation,
    /// What happens to their attributes, in order (a later one wins).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub formats: Vec<Format>,
}

/// Why an edit could not be applied, composed or transformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// The text operation does not fit.
    #[error(transparent)]
    Operation(#[from] OpError),
    /// A format reaches past the text it applies to, or ends before it
    /// starts.
    #[error(
        "a format covers characters {from}..{to}, but the text after the edit has {len} characters"
    )]
    FormatOutOfRange {
        /// The format's start.
        from: usize,
        /// The format's end.
        to: usize,
        /// The length of the text after the edit's operation.
        len: usize,
    },
}

impl Edit {
    /// An edit that only changes text.
    pub fn text(op: Operation) -> Self {
        Self {
            text: op,
            formats: Vec::new(),
        }
    }

    /// An edit that only formats characters `from..to` of a text of `len`
    /// characters.
    pub fn format(len: usize, from: usize, to: usize, key: Key, value: Option<&str>) -> Self {
        Self {
            text: Operation::new().retain(len),
            formats: vec![Format {
                from,
                to,
                key,
                value: value.map(str::to_owned),
            }],
        }
    }

    /// Adds a format after the operation (builder style).
    pub fn with(mut self, from: usize, to: usize, key: Key, value: Option<&str>) -> Self {
        self.formats.push(Format {
            from,
            to,
            key,
            value: value.map(str::to_owned),
        });
        self
    }

    /// Every format lies inside the text after the operation.
    pub fn check(&self) -> Result<(), EditError> {
        let len = self.text.target_len();
        match self
            .formats
            .iter()
            .find(|format| format.from > format.to || format.to > len)
        {
            Some(format) => Err(EditError::FormatOutOfRange {
                from: format.from,
                to: format.to,
                len,
            }),
            None => Ok(()),
        }
    }

    /// Whether applying the edit changes nothing.
    pub fn is_noop(&self) -> bool {
        self.text.is_noop() && self.formats.iter().all(|format| format.from == format.to)
    }

    /// `self` then `next` as one edit.
    pub fn compose(&self, next: &Edit) -> Result<Edit, EditError> {
        self.check()?;
        next.check()?;
        let text = self.text.compose(&next.text)?;
        let mut formats = moved(&self.formats, &next.text);
        formats.extend(next.formats.iter().cloned());
        Ok(Edit { text, formats })
    }

    /// The edit that undoes this one on `doc` (the document *before* it):
    /// the text comes back, and the attributes it changed go back to what
    /// they were, on those characters only (so an undo never touches what
    /// somebody else formatted meanwhile). Deleted text comes back with its
    /// attributes.
    pub fn invert(&self, doc: &RichText) -> Result<Edit, EditError> {
        self.check()?;
        let text = doc.text.invert(&self.text)?;
        let mut formats = Vec::new();
        // What this edit formatted, in the positions of `doc` (characters
        // it inserted are gone again after the inverse).
        for format in &self.formats {
            for (from, to) in kept(&text, format.from, format.to) {
                formats.push(Format {
                    from,
                    to,
                    key: format.key,
                    value: None,
                });
                formats.extend(doc.spans_within(format.key, from, to));
            }
        }
        // What it deleted comes back plain: give it its attributes again.
        let mut at = 0;
        for component in self.text.components() {
            match component {
                Component::Retain(n) => at += n,
                Component::Insert(_) => {}
                Component::Delete(n) => {
                    for key in Key::ALL {
                        formats.extend(doc.spans_within(key, at, at + n));
                    }
                    at += n;
                }
            }
        }
        Ok(Edit { text, formats })
    }

    /// Transforms `a = self` and `b`, concurrent edits of the same document,
    /// into `(a', b')`: `b'` after `a` and `a'` after `b` give the same
    /// document. `a` is the edit the server orders *later*: where both set
    /// the same attribute on the same characters, `a`'s value stays; where
    /// both insert at one position, `a`'s text goes first
    /// ([`Operation::transform`]).
    pub fn transform(&self, b: &Edit) -> Result<(Edit, Edit), EditError> {
        self.check()?;
        b.check()?;
        let (a_text, b_text) = self.text.transform(&b.text)?;
        let a_formats = moved(&self.formats, &b_text);
        let b_formats = without(moved(&b.formats, &a_text), &a_formats);
        Ok((
            Edit {
                text: a_text,
                formats: a_formats,
            },
            Edit {
                text: b_text,
                formats: b_formats,
            },
        ))
    }
}

/// The characters `from..to` of `op`'s base text that `op` keeps, as ranges
/// of its target text: inserted text inside the range is not covered, and
/// deleted text drops out.
pub fn kept(op: &Operation, from: usize, to: usize) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    let (mut base, mut target) = (0, 0);
    for component in op.components() {
        if base >= to {
            break;
        }
        match component {
            Component::Retain(n) => {
                let (start, end) = (base.max(from), (base + n).min(to));
                if start < end {
                    let range = (target + start - base, target + end - base);
                    match out.last_mut() {
                        Some(last) if last.1 == range.0 => last.1 = range.1,
                        _ => out.push(range),
                    }
                }
                base += n;
                target += n;
            }
            Component::Insert(text) => target += char_len(text),
            Component::Delete(n) => base += n,
        }
    }
    out
}

/// `formats` (positions before `op`) moved through `op`.
fn moved(formats: &[Format], op: &Operation) -> Vec<Format> {
    formats
        .iter()
        .flat_map(|format| {
            kept(op, format.from, format.to)
                .into_iter()
                .map(|(from, to)| Format {
                    from,
                    to,
                    key: format.key,
                    value: format.value.clone(),
                })
        })
        .collect()
}

/// `formats` without the characters that `winners` format with the same key.
fn without(formats: Vec<Format>, winners: &[Format]) -> Vec<Format> {
    let mut out = Vec::new();
    for format in formats {
        let mut pieces = vec![(format.from, format.to)];
        for winner in winners.iter().filter(|winner| winner.key == format.key) {
            pieces = pieces
                .into_iter()
                .flat_map(|(from, to)| {
                    [(from, to.min(winner.from)), (from.max(winner.to), to)]
                        .into_iter()
                        .filter(|(from, to)| from < to)
                })
                .collect();
        }
        out.extend(pieces.into_iter().map(|(from, to)| Format {
            from,
            to,
            key: format.key,
            value: format.value.clone(),
        }));
    }
    out
}

/// Characters `from..to` carry `value`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// The first character.
    pub from: usize,
    /// One past the last.
    pub to: usize,
    /// The attribute's value.
    pub value: String,
}

/// A rich document: its text and, for each attribute, the spans that carry
/// it (sorted, not overlapping, neighbours with one value merged, so that
/// two documents that look the same are `==`).
///
/// As JSON (a snapshot on disk, the document a client loads):
/// `{"text":"…","marks":{"bold":[{"from":0,"to":4,"value":"true"}]}}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Stored", into = "Stored")]
pub struct RichText {
    text: Text,
    marks: BTreeMap<Key, Vec<Span>>,
}

/// [`RichText`] as it is written down.
#[derive(Serialize, Deserialize)]
struct Stored {
    text: String,
    #[serde(default)]
    marks: BTreeMap<Key, Vec<Span>>,
}

impl From<RichText> for Stored {
    fn from(doc: RichText) -> Self {
        Stored {
            text: doc.text.to_string(),
            marks: doc.marks,
        }
    }
}

impl TryFrom<Stored> for RichText {
    type Error = String;

    /// Refuses spans outside the text, empty, unsorted or overlapping.
    fn try_from(stored: Stored) -> Result<Self, String> {
        let len = char_len(&stored.text);
        for (key, spans) in &stored.marks {
            let mut end = 0;
            for span in spans {
                if span.from < end || span.from >= span.to || span.to > len {
                    return Err(format!(
                        "{key:?} span {}..{} does not fit a text of {len} characters after {end}",
                        span.from, span.to
                    ));
                }
                end = span.to;
            }
        }
        let mut marks = stored.marks;
        for spans in marks.values_mut() {
            *spans = normalized(std::mem::take(spans));
        }
        marks.retain(|_, spans| !spans.is_empty());
        Ok(RichText {
            text: Text::from(stored.text.as_str()),
            marks,
        })
    }
}

impl RichText {
    /// Plain text, no attributes.
    pub fn plain(text: &str) -> Self {
        Self {
            text: Text::from(text),
            marks: BTreeMap::new(),
        }
    }

    /// The text.
    pub fn text(&self) -> &Text {
        &self.text
    }

    /// The length in characters.
    pub fn len_chars(&self) -> usize {
        self.text.len_chars()
    }

    /// The spans of `key`, in order.
    pub fn spans(&self, key: Key) -> &[Span] {
        self.marks.get(&key).map_or(&[], Vec::as_slice)
    }

    /// The attributes of character `at`.
    pub fn attributes_at(&self, at: usize) -> BTreeMap<Key, String> {
        self.marks
            .iter()
            .filter_map(|(key, spans)| {
                spans
                    .iter()
                    .find(|span| span.from <= at && at < span.to)
                    .map(|span| (*key, span.value.clone()))
            })
            .collect()
    }

    /// The parts of `key`'s spans inside `from..to`, as formats that set
    /// them.
    fn spans_within(&self, key: Key, from: usize, to: usize) -> Vec<Format> {
        self.spans(key)
            .iter()
            .filter_map(|span| {
                let (start, end) = (span.from.max(from), span.to.min(to));
                (start < end).then(|| Format {
                    from: start,
                    to: end,
                    key,
                    value: Some(span.value.clone()),
                })
            })
            .collect()
    }

    /// Applies `edit`; on an error the document is unchanged.
    pub fn apply(&mut self, edit: &Edit) -> Result<(), EditError> {
        edit.check()?;
        // Fails, changing nothing, on a wrong length; after it nothing can.
        self.text.apply(&edit.text)?;
        for spans in self.marks.values_mut() {
            *spans = normalized(
                spans
                    .iter()
                    .flat_map(|span| {
                        kept(&edit.text, span.from, span.to)
                            .into_iter()
                            .map(|(from, to)| Span {
                                from,
                                to,
                                value: span.value.clone(),
                            })
                    })
                    .collect(),
            );
        }
        for format in &edit.formats {
            self.set(format);
        }
        self.marks.retain(|_, spans| !spans.is_empty());
        Ok(())
    }

    fn set(&mut self, format: &Format) {
        if format.from == format.to {
            return;
        }
        let spans = self.marks.entry(format.key).or_default();
        let mut next: Vec<Span> = Vec::with_capacity(spans.len() + 2);
        for span in spans.iter() {
            for (from, to) in [
                (span.from, span.to.min(format.from)),
                (span.from.max(format.to), span.to),
            ] {
                if from < to {
                    next.push(Span {
                        from,
                        to,
                        value: span.value.clone(),
                    });
                }
            }
        }
        if let Some(value) = &format.value {
            next.push(Span {
                from: format.from,
                to: format.to,
                value: value.clone(),
            });
        }
        *spans = normalized(next);
    }
}

/// `spans` (not overlapping) sorted, with touching neighbours of one value
/// merged.
fn normalized(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_by_key(|span| span.from);
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for span in spans {
        match out.last_mut() {
            Some(last) if last.to == span.from && last.value == span.value => last.to = span.to,
            _ => out.push(span),
        }
    }
    out
}

impl std::fmt::Display for RichText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.text.fmt(f)
    }
}
