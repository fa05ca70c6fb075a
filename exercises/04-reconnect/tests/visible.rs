//! Visible checks of unit 04, for the first tasks: the state machine's legal
//! transitions, the backoff's base delays and the status line. They need no
//! server and no waiting: the state machine and the policy are pure
//! functions. Run them with `cargo test`; `cargo grade 04` runs these and
//! the hidden checks.

use std::time::Duration;

use reconnect::{
    BackoffPolicy, ConnectionState, Effect, Event, INITIAL_DELAY, Indicator, MAX_DELAY, Status,
    Transition,
};
use tokio::time::Instant;

checkkit::checks! {
    a_connection_goes_through_the_states,
    attempts_are_counted_and_reset_on_success,
    backoff_doubles_and_is_capped,
    indicator_line_for_every_state,
}

/// Applies `event`, failing the check with the chapter's section if the
/// state machine refuses it.
fn step(state: &ConnectionState, event: Event, now: Instant) -> Transition {
    let name = event.name();
    match state.apply(event, now) {
        Ok(transition) => transition,
        Err(error) => panic!(
            "{name} while {} must be accepted, but apply() refused it: {error} \
             (chapter 04, \"Task 1: The state machine\")",
            state.status
        ),
    }
}

fn expect(transition: &Transition, status: Status, effects: &[Effect], after: &str) {
    assert_eq!(
        transition.state.status, status,
        "after {after} the status must be {status} (chapter 04, \"Task 1: The state machine\")"
    );
    assert_eq!(
        transition.effects, effects,
        "after {after} the effects must be {effects:?} (chapter 04, \"Task 1: The state machine\")"
    );
}

async fn a_connection_goes_through_the_states() {
    let start = Instant::now();
    let state = ConnectionState::new();
    assert_eq!(
        state.status,
        Status::Disconnected,
        "a new state is disconnected (chapter 04, \"Task 1: The state machine\")"
    );

    let connecting = step(&state, Event::Connect, start);
    expect(
        &connecting,
        Status::Connecting,
        &[Effect::OpenSocket],
        "Connect",
    );

    let opened_at = start + Duration::from_secs(1);
    let connected = step(&connecting.state, Event::Opened, opened_at);
    expect(&connected, Status::Connected, &[], "Opened");
    assert_eq!(
        connected.state.last_connected,
        Some(opened_at),
        "Opened records the time it was given as last_connected \
         (chapter 04, \"Task 1: The state machine\")"
    );

    let lost_at = start + Duration::from_secs(5);
    let lost = step(
        &connected.state,
        Event::Lost {
            reason: "the server closed the connection (1000 )".to_owned(),
        },
        lost_at,
    );
    expect(
        &lost,
        Status::Reconnecting,
        &[Effect::ScheduleRetry { attempt: 1 }],
        "Lost",
    );
    assert_eq!(
        lost.state.last_disconnected,
        Some(lost_at),
        "Lost records the time it was given as last_disconnected \
         (chapter 04, \"Task 1: The state machine\")"
    );
    assert!(
        lost.state.error.is_some(),
        "Lost keeps its reason in `error` for the user (chapter 04, \"Task 1: The state machine\")"
    );

    let retry = step(&lost.state, Event::RetryDue, lost_at);
    expect(
        &retry,
        Status::Reconnecting,
        &[Effect::OpenSocket],
        "RetryDue",
    );

    let back = step(&retry.state, Event::Opened, lost_at);
    expect(&back, Status::Connected, &[], "Opened while reconnecting");
    assert_eq!(
        back.state.error, None,
        "a connection that opens clears the error (chapter 04, \"Task 1: The state machine\")"
    );

    let closed = step(&back.state, Event::Disconnect, lost_at);
    expect(
        &closed,
        Status::Disconnected,
        &[Effect::CloseSocket],
        "Disconnect",
    );

    let again = step(&closed.state, Event::Reconnect, lost_at);
    expect(
        &again,
        Status::Connecting,
        &[Effect::OpenSocket],
        "Reconnect while disconnected",
    );
}

async fn attempts_are_counted_and_reset_on_success() {
    let now = Instant::now();
    let mut state = step(&ConnectionState::new(), Event::Connect, now).state;
    for attempt in 1..=4 {
        let failed = step(
            &state,
            Event::ConnectFailed {
                reason: "connection refused".to_owned(),
            },
            now,
        );
        expect(
            &failed,
            Status::Reconnecting,
            &[Effect::ScheduleRetry { attempt }],
            &format!("failed attempt number {attempt}"),
        );
        assert_eq!(
            failed.state.reconnect_attempts, attempt,
            "each failed attempt counts one more reconnection attempt \
             (chapter 04, \"Task 1: The state machine\")"
        );
        state = step(&failed.state, Event::RetryDue, now).state;
    }
    let connected = step(&state, Event::Opened, now);
    assert_eq!(
        connected.state.reconnect_attempts, 0,
        "a connection that opens resets the attempt count to 0, got {} \
         (chapter 04, \"Task 1: The state machine\")",
        connected.state.reconnect_attempts
    );
    let lost = step(
        &connected.state,
        Event::Lost {
            reason: "reset".to_owned(),
        },
        now,
    );
    assert_eq!(
        lost.effects,
        [Effect::ScheduleRetry { attempt: 1 }],
        "after a successful connection, the next loss starts over at attempt 1 \
         (chapter 04, \"Task 1: The state machine\")"
    );
}

async fn backoff_doubles_and_is_capped() {
    let policy = BackoffPolicy::default();
    let expected_ms = [
        500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000,
    ];
    for (index, expected) in expected_ms.into_iter().enumerate() {
        let attempt = u32::try_from(index).expect("a small index") + 1;
        assert_eq!(
            policy.base_delay(attempt),
            Duration::from_millis(expected),
            "base_delay({attempt}) must be {expected} ms: {INITIAL_DELAY:?} doubled for each \
             attempt after the first, never more than {MAX_DELAY:?} \
             (chapter 04, \"Task 2: Backoff and jitter\")"
        );
    }
    for attempt in [15, 64, 1_000, u32::MAX] {
        assert_eq!(
            policy.base_delay(attempt),
            MAX_DELAY,
            "base_delay({attempt}) must be the cap {MAX_DELAY:?}, without overflowing \
             (chapter 04, \"Task 2: Backoff and jitter\")"
        );
    }
    assert_eq!(
        policy.base_delay(0),
        INITIAL_DELAY,
        "attempt 0 is treated as attempt 1 (chapter 04, \"Task 2: Backoff and jitter\")"
    );
}

async fn indicator_line_for_every_state() {
    let cases = [
        (Status::Connected, 0, "🟢 connected"),
        (Status::Connecting, 0, "🟡 connecting…"),
        (Status::Reconnecting, 3, "🟠 reconnecting… (3/15)"),
        (Status::Disconnected, 0, "🔴 disconnected  [reconnect]"),
        (Status::Error, 15, "❌ connection error  [refresh]"),
    ];
    for (status, reconnect_attempts, expected) in cases {
        let state = ConnectionState {
            status,
            reconnect_attempts,
            ..ConnectionState::new()
        };
        let line = Indicator::for_state(&state).plain();
        assert_eq!(
            line, expected,
            "the status line for {status} (attempt {reconnect_attempts}) must be exactly \
             {expected:?} (chapter 04, \"Task 3: The status indicator\")"
        );
    }
}
