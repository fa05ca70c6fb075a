//! Documents in SQLite: what is stored reads back the same.

use editor::{
    Accepted, Access, Doc, Edit, Key, Operation, Role, SNAPSHOT_EVERY, Store, StoreError, Submitted,
};

fn submit(doc: &mut Doc, seq: u64, edit: Edit) -> Edit {
    let base = doc.revision();
    match doc.submit(Submitted {
        client: "ada".into(),
        seq,
        base,
        edit,
    }) {
        Ok(Accepted::Applied { edit, .. }) => edit,
        other => panic!("edit {seq} applies, got {other:?}"),
    }
}

#[test]
fn a_document_reads_back_as_it_was_stored() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("docs.sqlite");
    let store = Store::open(&path).expect("the store opens");
    let mut access = Access::new("ada");
    let link = access.share("ada", Role::Editor).expect("the owner shares");
    access.join("bob", &link).expect("bob joins");
    assert!(store.create("notes", &access).expect("created"));
    assert!(
        !store.create("notes", &access).expect("exists"),
        "only once"
    );

    let mut doc = Doc::new();
    let mut stored = 0;
    for seq in 1..=SNAPSHOT_EVERY + 7 {
        let len = doc.current().len_chars();
        let edit = if seq % 10 == 0 {
            Edit::format(len, 0, len / 2, Key::Bold, Some("true"))
        } else {
            Edit::text(Operation::new().retain(len).insert("é👋x"))
        };
        submit(&mut doc, seq, edit);
        // Every 25 edits, one transaction (a group commit).
        if seq % 25 == 0 || seq == SNAPSHOT_EVERY + 7 {
            let entries = doc.since(stored).expect("the log").to_vec();
            let snapshots: Vec<_> = doc
                .snapshots()
                .range(stored + 1..)
                .map(|(revision, body)| (*revision, body.clone()))
                .collect();
            store
                .append("notes", stored + 1, &entries, &snapshots)
                .expect("stored");
            stored = doc.revision();
        }
    }
    doc.name_version("draft", 42).expect("named");
    store.name("notes", "draft", 42).expect("name stored");

    drop(store);
    let store = Store::open(&path).expect("the store opens again");
    let (mut loaded, loaded_access) = store.load("notes").expect("reads").expect("exists");
    assert_eq!(loaded_access, access);
    assert_eq!(loaded.revision(), doc.revision());
    assert_eq!(loaded.current(), doc.current());
    assert_eq!(loaded.names(), doc.names());
    assert_eq!(
        loaded.version(42).expect("v42"),
        doc.version(42).expect("v42")
    );
    assert!(loaded.snapshots().contains_key(&SNAPSHOT_EVERY));
    // Who sent what is remembered: the last edit sent again is a duplicate.
    let resend = loaded.submit(Submitted {
        client: "ada".into(),
        seq: SNAPSHOT_EVERY + 7,
        base: 0,
        edit: Edit::text(Operation::new().insert("zzz")),
    });
    assert_eq!(
        resend,
        Ok(Accepted::Duplicate {
            revision: SNAPSHOT_EVERY + 7
        })
    );
    assert!(store.load("elsewhere").expect("reads").is_none());
}

#[test]
fn a_revision_is_stored_once_and_a_failed_transaction_stores_nothing() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Store::open(&dir.path().join("docs.sqlite")).expect("the store opens");
    store.create("d", &Access::new("ada")).expect("created");
    let mut doc = Doc::new();
    submit(&mut doc, 1, Edit::text(Operation::new().insert("a")));
    submit(
        &mut doc,
        2,
        Edit::text(Operation::new().retain(1).insert("b")),
    );
    let entries = doc.since(0).expect("the log").to_vec();
    store
        .append("d", 1, &entries[..1], &[])
        .expect("revision 1");
    // Revisions 1 (again) and 2 together: the first fails, so neither is
    // kept, and the error says which revision another writer had taken.
    let again = store.append("d", 1, &entries, &[]);
    assert!(
        matches!(again, Err(StoreError::Conflict { ref doc, revision: 1 }) if doc == "d"),
        "{again:?}"
    );
    let (loaded, _) = store.load("d").expect("reads").expect("exists");
    assert_eq!(loaded.revision(), 1);
    assert_eq!(loaded.current().to_string(), "a");
    store
        .append("d", 2, &entries[1..], &[])
        .expect("revision 2");
    let (loaded, _) = store.load("d").expect("reads").expect("exists");
    assert_eq!(loaded.current().to_string(), "ab");
}

#[test]
fn a_gap_in_the_log_is_reported_not_papered_over() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Store::open(&dir.path().join("docs.sqlite")).expect("the store opens");
    store.create("d", &Access::new("ada")).expect("created");
    let mut doc = Doc::new();
    for seq in 1..=3 {
        let len = doc.current().len_chars();
        submit(
            &mut doc,
            seq,
            Edit::text(Operation::new().retain(len).insert("x")),
        );
    }
    let entries = doc.since(0).expect("the log").to_vec();
    store
        .append("d", 1, &entries[..1], &[])
        .expect("revision 1");
    store
        .append("d", 3, &entries[2..], &[])
        .expect("revision 3");
    let error = store.load("d").expect_err("revision 2 is missing");
    assert!(
        error.to_string().contains("revision 2 is missing"),
        "{error}"
    );
}
