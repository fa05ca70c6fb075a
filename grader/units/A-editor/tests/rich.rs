//! Rich text: the merge rule's cases, and the properties that make it
//! converge (`cargo test -p editor`).

use editor::{Edit, EditError, History, Key, Operation, RichText, Span};
use proptest::prelude::*;

fn span(from: usize, to: usize, value: &str) -> Span {
    Span {
        from,
        to,
        value: value.to_owned(),
    }
}

/// `b'` after `a`, and `a'` after `b`: both replicas, which must agree.
fn both_ways(doc: &RichText, a: &Edit, b: &Edit) -> (RichText, RichText) {
    let (a2, b2) = a
        .transform(b)
        .expect("a and b start from the same document");
    let mut left = doc.clone();
    left.apply(a).expect("a applies");
    left.apply(&b2).expect("b' applies after a");
    let mut right = doc.clone();
    right.apply(b).expect("b applies");
    right.apply(&a2).expect("a' applies after b");
    (left, right)
}

#[test]
fn bold_and_italic_on_overlapping_ranges_both_stay() {
    let doc = RichText::plain("hello world");
    let bold = Edit::format(11, 0, 7, Key::Bold, Some("true"));
    let italic = Edit::format(11, 4, 11, Key::Italic, Some("true"));
    let (left, right) = both_ways(&doc, &bold, &italic);
    assert_eq!(left, right);
    assert_eq!(left.spans(Key::Bold), [span(0, 7, "true")]);
    assert_eq!(left.spans(Key::Italic), [span(4, 11, "true")]);
}

#[test]
fn the_same_attribute_twice_the_later_edit_wins_on_the_overlap() {
    let doc = RichText::plain("click here now");
    // `a` is ordered later by the server: its link wins where both link.
    let a = Edit::format(14, 6, 14, Key::Link, Some("https://a.example"));
    let b = Edit::format(14, 0, 10, Key::Link, Some("https://b.example"));
    let (left, right) = both_ways(&doc, &a, &b);
    assert_eq!(left, right);
    assert_eq!(
        left.spans(Key::Link),
        [
            span(0, 6, "https://b.example"),
            span(6, 14, "https://a.example")
        ]
    );
}

#[test]
fn a_removal_wins_like_a_value() {
    let mut doc = RichText::plain("abcdef");
    doc.apply(&Edit::format(6, 0, 6, Key::Bold, Some("true")))
        .expect("bold all");
    let unbold = Edit::format(6, 2, 4, Key::Bold, None);
    let rebold = Edit::format(6, 0, 6, Key::Bold, Some("true"));
    let (left, right) = both_ways(&doc, &unbold, &rebold);
    assert_eq!(left, right);
    assert_eq!(
        left.spans(Key::Bold),
        [span(0, 2, "true"), span(4, 6, "true")]
    );
}

#[test]
fn a_format_shrinks_with_text_deleted_meanwhile() {
    let doc = RichText::plain("one two three");
    let bold = Edit::format(13, 0, 13, Key::Bold, Some("true"));
    let delete = Edit::text(Operation::new().retain(3).delete(4).retain(6));
    let (left, right) = both_ways(&doc, &bold, &delete);
    assert_eq!(left, right);
    assert_eq!(left.to_string(), "one three");
    assert_eq!(left.spans(Key::Bold), [span(0, 9, "true")]);
}

#[test]
fn text_inserted_inside_a_concurrent_format_stays_plain() {
    let doc = RichText::plain("abcd");
    let bold = Edit::format(4, 0, 4, Key::Bold, Some("true"));
    let insert = Edit::text(Operation::new().retain(2).insert("XY").retain(2));
    let (left, right) = both_ways(&doc, &bold, &insert);
    assert_eq!(left, right);
    assert_eq!(left.to_string(), "abXYcd");
    assert_eq!(
        left.spans(Key::Bold),
        [span(0, 2, "true"), span(4, 6, "true")]
    );
}

#[test]
fn an_insert_at_a_spans_edge_is_plain_unless_it_says_otherwise() {
    let mut doc = RichText::plain("bold text");
    doc.apply(&Edit::format(9, 0, 4, Key::Bold, Some("true")))
        .expect("bold");
    let plain = Edit::text(Operation::new().retain(4).insert("!").retain(5));
    let typed_bold = Edit::text(Operation::new().retain(4).insert("?").retain(5)).with(
        4,
        5,
        Key::Bold,
        Some("true"),
    );
    // Both insert at the span's end at once; `plain` is ordered later, so
    // its "!" goes first.
    let (left, right) = both_ways(&doc, &plain, &typed_bold);
    assert_eq!(left, right);
    assert_eq!(left.to_string(), "bold!? text");
    assert_eq!(
        left.spans(Key::Bold),
        [span(0, 4, "true"), span(5, 6, "true")]
    );
}

#[test]
fn a_heading_is_set_on_the_lines_newline() {
    let mut doc = RichText::plain("Title\nbody\n");
    doc.apply(&Edit::format(11, 5, 6, Key::Heading, Some("1")))
        .expect("heading");
    assert!(Key::Heading.is_block() && !Key::Bold.is_block());
    assert_eq!(
        doc.attributes_at(5).get(&Key::Heading).map(String::as_str),
        Some("1")
    );
    assert!(doc.attributes_at(10).is_empty());
}

#[test]
fn a_format_outside_the_text_is_refused_and_changes_nothing() {
    let mut doc = RichText::plain("abc");
    let error = doc
        .apply(&Edit::format(3, 1, 4, Key::Bold, Some("true")))
        .expect_err("4 > 3");
    assert_eq!(
        error,
        EditError::FormatOutOfRange {
            from: 1,
            to: 4,
            len: 3
        }
    );
    let error = doc
        .apply(&Edit::format(4, 0, 1, Key::Bold, Some("true")))
        .expect_err("the operation is for 4 characters");
    assert!(matches!(error, EditError::Operation(_)), "{error:?}");
    assert_eq!(doc, RichText::plain("abc"));
}

#[test]
fn edits_travel_as_json() {
    let edit = Edit::text(Operation::new().retain(1).insert("é")).with(1, 2, Key::Link, Some("u"));
    let json = serde_json::to_string(&edit).expect("serialise");
    assert_eq!(
        json,
        r#"{"text":[1,"é"],"formats":[{"from":1,"to":2,"key":"link","value":"u"}]}"#
    );
    let back: Edit = serde_json::from_str(&json).expect("parse");
    assert_eq!(back, edit);
}

// ------------------------------------------------------------ properties

/// The raw material of a random edit, turned into one for a given length
/// by [`build`].
type Raw = (Vec<(u8, usize, String)>, Vec<(usize, usize, usize, usize)>);

fn raw() -> impl Strategy<Value = Raw> {
    let step = prop_oneof![
        (1usize..6).prop_map(|n| (0u8, n, String::new())),
        (1usize..4).prop_map(|n| (1u8, n, String::new())),
        "[a-zé👋\n]{1,4}".prop_map(|text| (2u8, 0, text)),
    ];
    (
        proptest::collection::vec(step, 0..8),
        proptest::collection::vec((0usize..64, 0usize..64, 0usize..6, 0usize..4), 0..4),
    )
}

fn build(len: usize, (steps, formats): &Raw) -> Edit {
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
    let mut edit = Edit::text(op.retain(left));
    let target = edit.text.target_len();
    for &(at, width, key, value) in formats {
        let from = at % (target + 1);
        let to = from + width % (target + 1 - from);
        let value = [Some("true"), Some("x"), Some("2"), None][value];
        edit = edit.with(from, to, Key::ALL[key], value);
    }
    edit
}

fn document(text: &str, raw: &Raw) -> RichText {
    let mut doc = RichText::plain(text);
    let len = doc.len_chars();
    // Only the formats: a document with attributes to start from.
    let formats = build(len, &(Vec::new(), raw.1.clone()));
    doc.apply(&formats).expect("formats inside the text apply");
    doc
}

proptest! {
    /// The merge rule converges: both replicas end with the same text and
    /// the same attributes, whatever the two concurrent edits are.
    #[test]
    fn concurrent_edits_converge(
        text in "[a-z👋\n ]{0,24}",
        start in raw(),
        a in raw(),
        b in raw(),
    ) {
        let doc = document(&text, &start);
        let (a, b) = (build(doc.len_chars(), &a), build(doc.len_chars(), &b));
        let (left, right) = both_ways(&doc, &a, &b);
        prop_assert_eq!(left, right);
    }

    /// `a.compose(b)` does what `a` then `b` does.
    #[test]
    fn compose_is_one_then_the_other(
        text in "[a-z👋\n ]{0,24}",
        start in raw(),
        a in raw(),
        b in raw(),
    ) {
        let doc = document(&text, &start);
        let a = build(doc.len_chars(), &a);
        let mut stepwise = doc.clone();
        stepwise.apply(&a).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let b = build(stepwise.len_chars(), &b);
        stepwise.apply(&b).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut composed = doc.clone();
        composed
            .apply(&a.compose(&b).map_err(|e| TestCaseError::fail(e.to_string()))?)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(composed, stepwise);
    }
}

// ------------------------------------------------------------ undo

/// This replica's edit: applied and recorded.
fn local(doc: &mut RichText, history: &mut History, edit: &Edit) {
    history.record(edit, doc).expect("the edit fits");
    doc.apply(edit).expect("the edit applies");
}

/// Somebody else's edit, made on this replica's document: applied, and the
/// history moved past it.
fn remote(doc: &mut RichText, history: &mut History, edit: &Edit) {
    doc.apply(edit).expect("the edit applies");
    history.transform(edit).expect("the history moves");
}

#[test]
fn undo_removes_only_ones_own_typing() {
    let mut doc = RichText::plain("");
    let mut history = History::new();
    local(
        &mut doc,
        &mut history,
        &Edit::text(Operation::new().insert("first\nthird\n")),
    );
    // B inserts a line in between.
    remote(
        &mut doc,
        &mut history,
        &Edit::text(Operation::new().retain(6).insert("second\n").retain(6)),
    );
    assert_eq!(doc.to_string(), "first\nsecond\nthird\n");
    let undo = history.undo(&mut doc).expect("undo fits");
    assert!(undo.is_some(), "there was an edit to undo");
    assert_eq!(doc.to_string(), "second\n", "only A's text goes");
    assert!(!history.can_undo());
    history.redo(&mut doc).expect("redo fits");
    assert_eq!(doc.to_string(), "first\nsecond\nthird\n");
}

#[test]
fn undoing_bold_leaves_the_others_italic() {
    let mut doc = RichText::plain("hello world");
    let mut history = History::new();
    local(
        &mut doc,
        &mut history,
        &Edit::format(11, 0, 5, Key::Bold, Some("true")),
    );
    remote(
        &mut doc,
        &mut history,
        &Edit::format(11, 2, 8, Key::Italic, Some("true")),
    );
    history.undo(&mut doc).expect("undo fits");
    assert!(doc.spans(Key::Bold).is_empty());
    assert_eq!(doc.spans(Key::Italic), [span(2, 8, "true")]);
}

#[test]
fn undoing_a_delete_brings_the_text_back_with_its_attributes() {
    let mut doc = RichText::plain("abcdef");
    doc.apply(&Edit::format(6, 1, 4, Key::Link, Some("u")))
        .expect("link");
    let before = doc.clone();
    let mut history = History::new();
    local(
        &mut doc,
        &mut history,
        &Edit::text(Operation::new().retain(2).delete(3).retain(1)),
    );
    assert_eq!(doc.to_string(), "abf");
    history.undo(&mut doc).expect("undo fits");
    assert_eq!(doc, before);
}

#[test]
fn nothing_to_undo_is_none() {
    let mut doc = RichText::plain("x");
    let mut history = History::new();
    assert_eq!(history.undo(&mut doc), Ok(None));
    assert_eq!(history.redo(&mut doc), Ok(None));
    assert_eq!(doc, RichText::plain("x"));
}

proptest! {
    /// Undo right after an edit gives back exactly the document before it,
    /// text and attributes; redo gives back the document after it.
    #[test]
    fn undo_and_redo_are_exact(
        text in "[a-z👋\n ]{0,24}",
        start in raw(),
        edit in raw(),
    ) {
        let mut doc = document(&text, &start);
        let before = doc.clone();
        let edit = build(doc.len_chars(), &edit);
        let mut history = History::new();
        history.record(&edit, &doc).map_err(|e| TestCaseError::fail(e.to_string()))?;
        doc.apply(&edit).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let after = doc.clone();
        history.undo(&mut doc).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&doc, &before);
        history.redo(&mut doc).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&doc, &after);
    }
}
