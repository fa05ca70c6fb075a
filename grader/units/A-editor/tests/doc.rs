//! The server's document: ordering, transforming, exactly once, versions.

use editor::{
    Accepted, Doc, DocError, Edit, Key, MAX_BEHIND, Operation, SNAPSHOT_EVERY, Submitted,
};
use proptest::prelude::*;

fn submit(doc: &mut Doc, client: &str, seq: u64, base: u64, edit: Edit) -> Accepted {
    doc.submit(Submitted {
        client: client.to_owned(),
        seq,
        base,
        edit,
    })
    .unwrap_or_else(|error| panic!("{client}'s edit {seq} is accepted: {error}"))
}

fn insert(len: usize, at: usize, text: &str) -> Edit {
    Edit::text(Operation::new().retain(at).insert(text).retain(len - at))
}

#[test]
fn a_late_edit_is_transformed_past_what_its_author_missed() {
    let mut doc = Doc::new();
    submit(&mut doc, "a", 1, 0, insert(0, 0, "hello"));
    // Both saw "hello" (revision 1); b's edit arrives first.
    let first = submit(&mut doc, "b", 1, 1, insert(5, 5, " world"));
    let late = submit(&mut doc, "a", 2, 1, insert(5, 0, "> "));
    assert_eq!(doc.current().to_string(), "> hello world");
    assert_eq!(doc.revision(), 3);
    assert!(matches!(first, Accepted::Applied { revision: 2, .. }));
    let Accepted::Applied { revision, edit } = late else {
        panic!("applied, got {late:?}");
    };
    assert_eq!(revision, 3);
    // What the others receive applies to revision 2.
    assert_eq!(edit, insert(11, 0, "> "));
}

#[test]
fn an_edit_sent_again_is_applied_once() {
    let mut doc = Doc::new();
    submit(&mut doc, "a", 1, 0, insert(0, 0, "x"));
    submit(&mut doc, "b", 1, 1, insert(1, 1, "y"));
    // a reconnects and sends edit 1 again, based on what it had.
    let again = submit(&mut doc, "a", 1, 0, insert(0, 0, "x"));
    assert_eq!(again, Accepted::Duplicate { revision: 1 });
    assert_eq!(doc.current().to_string(), "xy");
    let stale = doc.submit(Submitted {
        client: "b".into(),
        seq: 0,
        base: 2,
        edit: insert(2, 0, "z"),
    });
    assert!(matches!(stale, Err(DocError::StaleSeq { .. })), "{stale:?}");
}

#[test]
fn bad_edits_are_refused_and_change_nothing() {
    let mut doc = Doc::new();
    submit(&mut doc, "a", 1, 0, insert(0, 0, "abc"));
    let future = doc.submit(Submitted {
        client: "a".into(),
        seq: 2,
        base: 7,
        edit: insert(3, 0, "x"),
    });
    assert_eq!(
        future,
        Err(DocError::FutureBase {
            base: 7,
            current: 1
        })
    );
    let misfit = doc.submit(Submitted {
        client: "a".into(),
        seq: 2,
        base: 1,
        edit: insert(9, 0, "x"),
    });
    assert!(matches!(misfit, Err(DocError::Edit(_))), "{misfit:?}");
    assert_eq!(doc.current().to_string(), "abc");
    assert_eq!(doc.revision(), 1);
    // The refused seq 2 can still be used.
    submit(&mut doc, "a", 2, 1, insert(3, 3, "d"));
    assert_eq!(doc.current().to_string(), "abcd");
}

#[test]
fn an_edit_too_far_behind_is_refused() {
    let mut doc = Doc::new();
    for seq in 1..=MAX_BEHIND + 1 {
        let len = doc.current().len_chars();
        let base = doc.revision();
        submit(&mut doc, "a", seq, base, insert(len, len, "x"));
    }
    let late = doc.submit(Submitted {
        client: "b".into(),
        seq: 1,
        base: 0,
        edit: insert(0, 0, "offline"),
    });
    assert_eq!(
        late,
        Err(DocError::TooFarBehind {
            base: 0,
            behind: MAX_BEHIND + 1
        })
    );
    // Exactly the bound is still merged.
    let merged = doc.submit(Submitted {
        client: "b".into(),
        seq: 1,
        base: 1,
        edit: insert(1, 0, "offline "),
    });
    assert!(matches!(merged, Ok(Accepted::Applied { .. })), "{merged:?}");
    assert!(doc.current().to_string().starts_with("offline x"));
}

#[test]
fn versions_can_be_named_and_restored_as_a_new_edit() {
    let mut doc = Doc::new();
    submit(&mut doc, "a", 1, 0, insert(0, 0, "draft one"));
    submit(
        &mut doc,
        "a",
        2,
        1,
        Edit::format(9, 0, 5, Key::Bold, Some("true")),
    );
    doc.name_version("first draft", 2)
        .expect("revision 2 exists");
    submit(
        &mut doc,
        "b",
        1,
        2,
        Edit::text(Operation::new().retain(6).delete(3).insert("two, longer")),
    );
    submit(
        &mut doc,
        "b",
        2,
        3,
        Edit::format(17, 0, 5, Key::Bold, None).with(6, 9, Key::Italic, Some("true")),
    );
    assert_eq!(doc.names().get("first draft"), Some(&2));
    let restored = doc.restore(2, "server", 1).expect("restore");
    assert!(matches!(restored, Accepted::Applied { revision: 5, .. }));
    let old = doc.version(2).expect("version 2");
    assert_eq!(doc.current(), &old);
    assert_eq!(doc.current().to_string(), "draft one");
    assert!(doc.current().spans(Key::Italic).is_empty());
    assert_eq!(doc.current().spans(Key::Bold).len(), 1);
    assert!(matches!(doc.version(9), Err(DocError::NoSuchVersion(9))));
}

proptest! {
    /// Any version, rebuilt from a snapshot and the edits after it, is the
    /// document the edits made at that revision.
    #[test]
    fn versions_match_the_documents_they_were(
        words in proptest::collection::vec("[a-z👋 ]{1,3}", (SNAPSHOT_EVERY as usize + 5)..(2 * SNAPSHOT_EVERY as usize + 20)),
        pick in 0usize..1000,
    ) {
        let mut doc = Doc::new();
        let mut seen = vec![doc.current().clone()];
        for (i, word) in words.iter().enumerate() {
            let len = doc.current().len_chars();
            let at = (i * 7) % (len + 1);
            let revision = doc.revision();
            submit(&mut doc, "a", i as u64 + 1, revision, insert(len, at, word));
            seen.push(doc.current().clone());
        }
        let revision = (pick % seen.len()) as u64;
        prop_assert_eq!(&doc.version(revision).map_err(|e| TestCaseError::fail(e.to_string()))?, &seen[revision as usize]);
        prop_assert_eq!(&doc.version(SNAPSHOT_EVERY).map_err(|e| TestCaseError::fail(e.to_string()))?, &seen[SNAPSHOT_EVERY as usize]);
    }
}
