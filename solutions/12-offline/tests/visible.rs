//! Visible checks of unit 12, for the first tasks: the strategy table and
//! an outbox that survives being closed and opened again. Run them with
//! `cargo test`; `cargo grade 12` runs these and the hidden checks.

use offline::{AppState, Conditions, LinkPolicy, Network, Outbox};

checkkit::checks! {
    policy_follows_network_and_app_state,
    outbox_survives_a_reopen_in_order,
}

async fn policy_follows_network_and_app_state() {
    use std::time::Duration;
    let secs = Duration::from_secs;
    let table = [
        (
            Network::Wifi,
            AppState::Foreground,
            true,
            Some(secs(25)),
            secs(1),
            secs(30),
        ),
        (
            Network::Cellular,
            AppState::Foreground,
            true,
            Some(secs(25)),
            secs(2),
            secs(60),
        ),
        (
            Network::Wifi,
            AppState::Background,
            true,
            Some(secs(120)),
            secs(30),
            secs(300),
        ),
        (
            Network::Cellular,
            AppState::Background,
            false,
            None,
            Duration::ZERO,
            Duration::ZERO,
        ),
        (
            Network::Offline,
            AppState::Foreground,
            false,
            None,
            Duration::ZERO,
            Duration::ZERO,
        ),
        (
            Network::Offline,
            AppState::Background,
            false,
            None,
            Duration::ZERO,
            Duration::ZERO,
        ),
    ];
    for (network, app, connect, heartbeat, reconnect_first, reconnect_max) in table {
        let expected = LinkPolicy {
            connect,
            heartbeat,
            reconnect_first,
            reconnect_max,
        };
        let got = LinkPolicy::for_conditions(Conditions::new(network, app));
        assert_eq!(
            got, expected,
            "the policy for {network:?} in the {app:?} is not the chapter's table (chapter 12, \"Task 1: The strategy\")"
        );
    }
}

async fn outbox_survives_a_reopen_in_order() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    {
        let mut outbox = Outbox::open(dir.path(), "alice").expect(
            "a new outbox opens in an empty directory (chapter 12, \"Task 2: The outbox\")",
        );
        for (expected_seq, body) in [(1, "one"), (2, "two"), (3, "three")] {
            let entry = outbox
                .accept("bob", body)
                .expect("accept succeeds (chapter 12, \"Task 2: The outbox\")");
            assert_eq!(
                (entry.seq, entry.id.as_str()),
                (expected_seq, format!("alice-{expected_seq}").as_str()),
                "entries are numbered 1, 2, 3 with ids \"<client>-<seq>\" (chapter 12, \"Task 2: The outbox\")"
            );
        }
    }
    let bodies = |outbox: &Outbox| -> Vec<String> {
        outbox.pending().map(|entry| entry.body.clone()).collect()
    };
    let mut outbox = Outbox::open(dir.path(), "alice")
        .expect("the outbox opens again (chapter 12, \"Task 2: The outbox\")");
    assert_eq!(
        bodies(&outbox),
        ["one", "two", "three"],
        "after a reopen every accepted message must still be pending, in order: accept must write to the file, not only to memory (chapter 12, \"Task 2: The outbox\")"
    );
    outbox
        .ack_up_to(2)
        .expect("ack_up_to succeeds (chapter 12, \"Task 2: The outbox\")");
    assert_eq!(
        bodies(&outbox),
        ["three"],
        "ack_up_to(2) removes entries 1 and 2 (chapter 12, \"Task 2: The outbox\")"
    );
    drop(outbox);
    let mut outbox = Outbox::open(dir.path(), "alice")
        .expect("the outbox opens a third time (chapter 12, \"Task 2: The outbox\")");
    assert_eq!(
        bodies(&outbox),
        ["three"],
        "an acknowledgement must survive a reopen too (chapter 12, \"Task 2: The outbox\")"
    );
    let next = outbox
        .accept("bob", "four")
        .expect("accept succeeds (chapter 12, \"Task 2: The outbox\")");
    assert_eq!(
        next.seq, 4,
        "sequence numbers continue after a reopen and are never reused (chapter 12, \"Task 2: The outbox\")"
    );
}
