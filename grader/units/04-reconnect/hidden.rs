//! Hidden checks of unit 04: the whole transition table (illegal cells
//! included), the limit of 15, the manual reconnect, jitter, the coloured
//! status line, and the driver, first with tokio's paused clock (backoff
//! gaps, giving up, starting over, the reset after a stable connection),
//! then against the testkit server's `/ws?close_after=N`.
//!
//! Run against the reference solution by `cargo test -p reconnect --test
//! hidden`; the grader runs them against a learner's `src/`.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use checkkit::within;
use reconnect::{
    BackoffPolicy, Client, ClientOptions, Colour, ConnectionState, Connector, Effect, Event,
    INITIAL_DELAY, IllegalTransition, Indicator, JITTER, MAX_DELAY, MAX_RECONNECT_ATTEMPTS,
    RandomSource, SplitMix64, Status,
};
use testkit::TestServer;
use tokio::io::DuplexStream;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::{self, protocol::Role};

checkkit::checks! {
    every_transition_matches_the_table,
    gives_up_after_15_attempts,
    manual_reconnect_resets_the_count,
    jitter_stays_within_bounds,
    indicator_in_colour_and_unknown_state,
    driver_backoff_grows_is_capped_and_differs_across_clients,
    driver_gives_up_into_error_after_15_attempts,
    driver_manual_reconnect_starts_over,
    driver_resets_after_a_stable_connection,
    recovers_when_the_server_closes_after_n_messages,
    driver_closes_with_1000_on_disconnect_and_1001_when_dropped,
}

/// With the paused clock, waiting costs no real time: a day of backoff
/// passes in milliseconds. Long enough for a client without a cap to reach
/// attempt 16 (about 4½ hours), short enough to end a client that never
/// gives up.
const VIRTUAL_DAY: Duration = Duration::from_secs(24 * 3600);

/// Tokio's timer counts in whole milliseconds, so a paused-clock sleep can
/// end up to a millisecond after its deadline.
const TICK: Duration = Duration::from_millis(2);

// ------------------------------------------------------------ pure checks

/// Its reason differs from the one `sample` stores, so a transition that
/// keeps the old error instead of the new reason is seen.
fn refused() -> Event {
    Event::ConnectFailed {
        reason: "connection refused by 127.0.0.1:9".to_owned(),
    }
}

fn lost() -> Event {
    Event::Lost {
        reason: "the server closed the connection".to_owned(),
    }
}

/// A representative state for each status: reconnecting at attempt 3, the
/// error state after all 15.
fn sample(status: Status, now: Instant) -> ConnectionState {
    let attempts = match status {
        Status::Reconnecting => 3,
        Status::Error => MAX_RECONNECT_ATTEMPTS,
        _ => 0,
    };
    sample_at(status, attempts, now)
}

/// A state with `status` and `attempts`, whose times are both `then`.
fn sample_at(status: Status, attempts: u32, then: Instant) -> ConnectionState {
    ConnectionState {
        status,
        last_connected: Some(then),
        last_disconnected: Some(then),
        reconnect_attempts: attempts,
        error: match status {
            Status::Reconnecting | Status::Error => Some("connection refused".to_owned()),
            _ => None,
        },
    }
}

/// The attempt counts each status is tried at: reconnecting at the first,
/// a middle, the last but one and the last attempt.
fn attempt_counts(status: Status) -> Vec<u32> {
    match status {
        Status::Reconnecting => vec![1, 3, MAX_RECONNECT_ATTEMPTS - 1, MAX_RECONNECT_ATTEMPTS],
        Status::Error => vec![MAX_RECONNECT_ATTEMPTS],
        _ => vec![0],
    }
}

/// The reason an event carries, if it carries one.
fn reason_of(event: &Event) -> Option<&str> {
    match event {
        Event::ConnectFailed { reason } | Event::Lost { reason } => Some(reason),
        _ => None,
    }
}

fn all_events() -> Vec<Event> {
    vec![
        Event::Connect,
        Event::Opened,
        refused(),
        lost(),
        Event::RetryDue,
        Event::Disconnect,
        Event::Reconnect,
    ]
}

/// The chapter's table: for each (status, event), `None` if illegal, else
/// the new status, the attempt count and the effects.
fn expected(status: Status, attempts: u32, event: &Event) -> Option<(Status, u32, Vec<Effect>)> {
    use Effect::*;
    use Status::*;
    match (status, event) {
        (Disconnected, Event::Connect) => Some((Connecting, 0, vec![OpenSocket])),
        (Disconnected | Error, Event::Reconnect) => Some((Connecting, 0, vec![OpenSocket])),
        (Reconnecting, Event::Reconnect) => Some((Connecting, 0, vec![CancelRetry, OpenSocket])),
        (Connecting | Reconnecting, Event::Opened) => Some((Connected, 0, vec![])),
        (Connecting, Event::ConnectFailed { .. }) => {
            Some((Reconnecting, 1, vec![ScheduleRetry { attempt: 1 }]))
        }
        (Reconnecting, Event::ConnectFailed { .. }) if attempts >= MAX_RECONNECT_ATTEMPTS => {
            Some((Error, attempts, vec![]))
        }
        (Reconnecting, Event::ConnectFailed { .. }) => Some((
            Reconnecting,
            attempts + 1,
            vec![ScheduleRetry {
                attempt: attempts + 1,
            }],
        )),
        (Connected, Event::Lost { .. }) => {
            Some((Reconnecting, 1, vec![ScheduleRetry { attempt: 1 }]))
        }
        (Reconnecting, Event::RetryDue) => Some((Reconnecting, attempts, vec![OpenSocket])),
        (Connected | Connecting, Event::Disconnect) => Some((Disconnected, 0, vec![CloseSocket])),
        (Reconnecting, Event::Disconnect) => {
            Some((Disconnected, 0, vec![CancelRetry, CloseSocket]))
        }
        _ => None,
    }
}

async fn every_transition_matches_the_table() {
    // The names an IllegalTransition and the indicator show.
    for event in all_events() {
        let debug = format!("{event:?}");
        let variant = debug
            .split(|c: char| !c.is_ascii_alphanumeric())
            .next()
            .unwrap_or_default();
        assert_eq!(
            event.name(),
            variant,
            "Event::name is the variant's name (chapter 04, \"Task 1: The state machine\")"
        );
    }
    let names: Vec<String> = Status::ALL.iter().map(ToString::to_string).collect();
    assert_eq!(
        names,
        [
            "disconnected",
            "connecting",
            "connected",
            "reconnecting",
            "error"
        ],
        "a Status is shown as the course's name (chapter 04, \"Task 1: The state machine\")"
    );
    let then = Instant::now();
    let now = then + Duration::from_secs(10);
    for status in Status::ALL {
        for (attempts, event) in attempt_counts(status)
            .into_iter()
            .flat_map(|attempts| all_events().into_iter().map(move |event| (attempts, event)))
        {
            let state = sample_at(status, attempts, then);
            let name = event.name();
            let result = state.apply(event.clone(), now);
            match (expected(status, attempts, &event), result) {
                (None, Err(error)) => assert_eq!(
                    error,
                    IllegalTransition {
                        from: status,
                        event: name
                    },
                    "the refusal of {name} while {status} must name the status and the event \
                     (chapter 04, \"The transition table\")"
                ),
                (None, Ok(transition)) => panic!(
                    "{name} while {status} is not in the table and must be refused with \
                     IllegalTransition, but apply() accepted it and went to {} with {:?} \
                     (chapter 04, \"The transition table\")",
                    transition.state.status, transition.effects
                ),
                (Some(_), Err(error)) => panic!(
                    "{name} while {status} is legal, but apply() refused it: {error} \
                     (chapter 04, \"The transition table\")"
                ),
                (Some((to, attempts, effects)), Ok(transition)) => {
                    assert_eq!(
                        (transition.state.status, transition.effects.clone()),
                        (to, effects.clone()),
                        "{name} while {status} (attempt {}) must go to {to} with effects \
                         {effects:?} (chapter 04, \"The transition table\")",
                        state.reconnect_attempts
                    );
                    assert_eq!(
                        transition.state.reconnect_attempts, attempts,
                        "after {name} while {status} (attempt {}) the attempt count must be \
                         {attempts} (chapter 04, \"The transition table\")",
                        state.reconnect_attempts
                    );
                    check_fields(&state, &event, to, &transition.state, now);
                }
            }
        }
    }
}

/// The chapter's rules for the fields ("And the fields:" under the table):
/// which times are recorded and what `error` says after `event`.
fn check_fields(
    before: &ConnectionState,
    event: &Event,
    to: Status,
    after: &ConnectionState,
    now: Instant,
) {
    let name = event.name();
    let from = before.status;
    let at = format!(
        "after {name} while {from} (attempt {})",
        before.reconnect_attempts
    );
    let opened = matches!(event, Event::Opened);
    assert_eq!(
        after.last_connected,
        if opened {
            Some(now)
        } else {
            before.last_connected
        },
        "{at}, last_connected must be {}: only Opened records it \
         (chapter 04, \"The transition table\")",
        if opened {
            "the time given to apply()"
        } else {
            "unchanged"
        }
    );
    let disconnected = matches!(
        (from, event),
        (Status::Connected, Event::Lost { .. } | Event::Disconnect)
    );
    if disconnected || matches!(event, Event::Opened | Event::ConnectFailed { .. }) {
        assert_eq!(
            after.last_disconnected,
            if disconnected {
                Some(now)
            } else {
                before.last_disconnected
            },
            "{at}, last_disconnected must be {}: Lost and Disconnect from connected record it \
             (chapter 04, \"The transition table\")",
            if disconnected {
                "the time given to apply()"
            } else {
                "unchanged"
            }
        );
    }
    let error = match (event, to) {
        (Event::Opened | Event::Reconnect, _) => Some(None),
        (_, Status::Error) => reason_of(event).map(|reason| {
            Some(format!(
                "gave up after {MAX_RECONNECT_ATTEMPTS} attempts: {reason}"
            ))
        }),
        _ => reason_of(event).map(|reason| Some(reason.to_owned())),
    };
    if let Some(error) = error {
        assert_eq!(
            after.error, error,
            "{at}, error must be {error:?}: Opened and Reconnect clear it, ConnectFailed and \
             Lost keep their reason, giving up stores \"gave up after 15 attempts: <reason>\" \
             (chapter 04, \"The transition table\")"
        );
    }
}

async fn gives_up_after_15_attempts() {
    let now = Instant::now();
    let mut state = ConnectionState::new()
        .apply(Event::Connect, now)
        .expect("Connect while disconnected is legal")
        .state;
    for attempt in 1..=MAX_RECONNECT_ATTEMPTS {
        let failed = state
            .apply(refused(), now)
            .expect("a failed attempt is legal while (re)connecting");
        assert_eq!(
            (failed.state.status, failed.effects.as_slice()),
            (
                Status::Reconnecting,
                &[Effect::ScheduleRetry { attempt }][..]
            ),
            "failure number {attempt} must schedule attempt {attempt} of 15 \
             (chapter 04, \"Giving up after 15\")"
        );
        state = failed
            .state
            .apply(Event::RetryDue, now)
            .expect("RetryDue while reconnecting is legal")
            .state;
    }
    let last = state
        .apply(refused(), now)
        .expect("a failed attempt is legal while reconnecting");
    assert_eq!(
        last.state.status,
        Status::Error,
        "when attempt 15 of 15 fails the client gives up into the error state; it went to {} \
         with {:?} (chapter 04, \"Giving up after 15\")",
        last.state.status,
        last.effects
    );
    assert!(
        last.effects.is_empty(),
        "giving up schedules nothing, got {:?} (chapter 04, \"Giving up after 15\")",
        last.effects
    );
    let reason = reason_of(&refused()).unwrap_or_default().to_owned();
    assert_eq!(
        last.state.error,
        Some(format!("gave up after 15 attempts: {reason}")),
        "the error state says why in `error`: \"gave up after 15 attempts: <reason>\" with the \
         last failure's reason (chapter 04, \"Giving up after 15\")"
    );
    assert!(
        last.state.apply(Event::RetryDue, now).is_err(),
        "nothing is retried on error: RetryDue there is illegal (chapter 04, \"Giving up after 15\")"
    );
}

async fn manual_reconnect_resets_the_count() {
    let now = Instant::now();
    for status in [Status::Error, Status::Disconnected, Status::Reconnecting] {
        let state = sample(status, now);
        let again = state.apply(Event::Reconnect, now).unwrap_or_else(|error| {
            panic!(
                "a manual reconnect while {status} is legal, got {error} \
                     (chapter 04, \"The manual reconnect\")"
            )
        });
        assert_eq!(
            (again.state.status, again.state.reconnect_attempts),
            (Status::Connecting, 0),
            "a manual reconnect while {status} goes to connecting with the count at 0 \
             (chapter 04, \"The manual reconnect\")"
        );
        assert_eq!(
            again.state.error, None,
            "a manual reconnect clears the error (chapter 04, \"The manual reconnect\")"
        );
        let failed = again
            .state
            .apply(refused(), now)
            .expect("a failed attempt is legal while connecting");
        assert_eq!(
            (failed.state.status, failed.effects),
            (
                Status::Reconnecting,
                vec![Effect::ScheduleRetry { attempt: 1 }]
            ),
            "after a manual reconnect while {status}, a failure starts over at attempt 1 of 15 \
             (chapter 04, \"The manual reconnect\")"
        );
    }
    for status in [Status::Connecting, Status::Connected] {
        assert!(
            sample(status, now).apply(Event::Reconnect, now).is_err(),
            "a manual reconnect while {status} is illegal (chapter 04, \"The manual reconnect\")"
        );
    }
}

async fn jitter_stays_within_bounds() {
    let policy = BackoffPolicy::default();
    let mut random = SplitMix64::new(7);
    let mut seen = Vec::new();
    for attempt in 1..=20 {
        let base = policy.base_delay(attempt);
        let lowest = base.mul_f64(1.0 - JITTER);
        for fraction in [0.0, 0.25, 0.5, 0.999_999, random.fraction()] {
            let delay = policy.delay(attempt, fraction);
            assert!(
                delay >= lowest && delay <= base && delay <= MAX_DELAY,
                "delay({attempt}, {fraction}) = {delay:?} must lie between (1 − JITTER) × base \
                 = {lowest:?} and base = {base:?}, never above the cap {MAX_DELAY:?} \
                 (chapter 04, \"Task 2: Backoff and jitter\")"
            );
            seen.push(delay);
        }
        for fraction in [0.1, 0.5, 0.9, random.fraction()] {
            let delay = policy.delay(attempt, fraction);
            let wanted = base.mul_f64(1.0 - JITTER * fraction);
            let off = delay.abs_diff(wanted);
            assert!(
                off <= Duration::from_micros(1),
                "delay({attempt}, {fraction}) = {delay:?}, but base × (1 − JITTER × fraction) = \
                 {base:?} × (1 − {JITTER} × {fraction}) = {wanted:?} \
                 (chapter 04, \"Backoff with jitter\")"
            );
        }
        assert_eq!(
            policy.delay(attempt, 0.0),
            base,
            "delay({attempt}, 0.0) takes nothing away: it is the base delay \
             (chapter 04, \"Task 2: Backoff and jitter\")"
        );
        assert!(
            policy.delay(attempt, 0.5) < base,
            "delay({attempt}, 0.5) must be shorter than the base {base:?}: jitter takes \
             fraction × JITTER of it away (chapter 04, \"Task 2: Backoff and jitter\")"
        );
    }
    for value in (0..1_000).map(|_| random.fraction()) {
        assert!(
            (0.0..1.0).contains(&value),
            "SplitMix64::fraction must be in [0, 1), got {value} (chapter 04, \"Randomness you can test\")"
        );
    }
    let first: Vec<f64> = (0..8).map(|_| SplitMix64::new(1).fraction()).collect();
    assert!(
        first.windows(2).all(|pair| pair[0] == pair[1]),
        "the same seed gives the same numbers (chapter 04, \"Randomness you can test\")"
    );
    let mut one = SplitMix64::new(1);
    let mut two = SplitMix64::new(2);
    let differ = (0..8).filter(|_| one.fraction() != two.fraction()).count();
    assert!(
        differ >= 7,
        "different seeds must give different numbers (chapter 04, \"Randomness you can test\")"
    );
    // SplitMix64 is a published generator: its numbers are known.
    for (seed, known) in [
        (
            0,
            [
                0xe220_a839_7b1d_cdaf,
                0x6e78_9e6a_a1b9_65f4,
                0x06c4_5d18_8009_454f,
            ],
        ),
        (
            1_234_567,
            [
                0x599e_d017_fb08_fc85,
                0x2c73_f084_5854_0fa5,
                0x883e_bce5_a3f2_7c77,
            ],
        ),
    ] {
        let mut generator = SplitMix64::new(seed);
        let got = [
            generator.next_u64(),
            generator.next_u64(),
            generator.next_u64(),
        ];
        assert_eq!(
            got, known,
            "SplitMix64 seeded with {seed} gives the published sequence (chapter 04, \
             \"Randomness you can test\")"
        );
    }
    // ClientOptions::seeded is what tests use to repeat a run.
    let mut same = (ClientOptions::seeded(42), ClientOptions::seeded(42));
    let mut other = ClientOptions::seeded(43);
    let firsts: Vec<(f64, f64, f64)> = (0..4)
        .map(|_| {
            (
                same.0.random.fraction(),
                same.1.random.fraction(),
                other.random.fraction(),
            )
        })
        .collect();
    assert!(
        firsts.iter().all(|(a, b, _)| a == b) && firsts.iter().any(|(a, _, c)| a != c),
        "ClientOptions::seeded(seed) gives the same jitter for the same seed and another one for \
         another seed, got {firsts:?} (chapter 04, \"Randomness you can test\")"
    );
}

async fn indicator_in_colour_and_unknown_state() {
    let cases = [
        (
            Status::Connected,
            0,
            Colour::Green,
            "\x1b[32m🟢 connected\x1b[0m",
        ),
        (
            Status::Connecting,
            0,
            Colour::Yellow,
            "\x1b[33m🟡 connecting…\x1b[0m",
        ),
        (
            Status::Reconnecting,
            1,
            Colour::Orange,
            "\x1b[38;5;208m🟠 reconnecting… (1/15)\x1b[0m",
        ),
        (
            Status::Reconnecting,
            15,
            Colour::Orange,
            "\x1b[38;5;208m🟠 reconnecting… (15/15)\x1b[0m",
        ),
        (
            Status::Disconnected,
            0,
            Colour::Red,
            "\x1b[31m🔴 disconnected\x1b[0m  [reconnect]",
        ),
        (
            Status::Error,
            15,
            Colour::Red,
            "\x1b[31m❌ connection error\x1b[0m  [refresh]",
        ),
    ];
    for (status, reconnect_attempts, colour, expected) in cases {
        let state = ConnectionState {
            status,
            reconnect_attempts,
            ..ConnectionState::new()
        };
        let indicator = Indicator::for_state(&state);
        assert_eq!(
            indicator.colour, colour,
            "the indicator for {status} is {colour:?} (chapter 04, \"Task 3: The status indicator\")"
        );
        assert_eq!(
            indicator.ansi(),
            expected,
            "the coloured status line for {status} (attempt {reconnect_attempts}) must be \
             exactly {expected:?} (chapter 04, \"Task 3: The status indicator\")"
        );
        assert_eq!(
            Indicator::from_name(status.name(), reconnect_attempts),
            indicator,
            "Indicator::from_name({:?}, {reconnect_attempts}) must equal the indicator of that \
             state (chapter 04, \"Task 3: The status indicator\")",
            status.name()
        );
    }
    for name in ["", "online", "Connected", "reconnecting "] {
        let unknown = Indicator::from_name(name, 3);
        assert_eq!(
            (
                unknown.plain(),
                unknown.ansi(),
                unknown.colour,
                unknown.action
            ),
            (
                "❓ unknown state".to_owned(),
                "\x1b[90m❓ unknown state\x1b[0m".to_owned(),
                Colour::Gray,
                None
            ),
            "any other status name ({name:?}) gives the gray ❓ \"unknown state\" \
             (chapter 04, \"Task 3: The status indicator\")"
        );
    }
}

// ------------------------------------------------- driver, paused clock

/// Runs `body` on a runtime of its own whose clock starts paused, on a
/// thread of its own. Calling `tokio::time::pause()` inside the check would
/// also pause the harness's time limit (it runs on the check's runtime),
/// and minutes of backoff would trip it; this way the harness keeps counting
/// real time while the body's waits take none. A failure inside keeps its
/// message.
async fn on_paused_clock<F, Fut>(body: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let (done, outcome) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .start_paused(true)
                .build()
                .expect("a paused-clock runtime should start");
            runtime.block_on(body());
            runtime.shutdown_background();
        }));
        let _ = done.send(result);
    });
    match outcome.await {
        Ok(Ok(())) => {}
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("the paused-clock runtime ended without a result"),
    }
}

/// A connector that fails every attempt and notes when each was made.
struct Failing {
    times: Arc<Mutex<Vec<Instant>>>,
}

fn failing() -> (Failing, Arc<Mutex<Vec<Instant>>>) {
    let times = Arc::new(Mutex::new(Vec::new()));
    (
        Failing {
            times: Arc::clone(&times),
        },
        times,
    )
}

fn refused_error() -> tungstenite::Error {
    tungstenite::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused))
}

impl Connector for Failing {
    type Stream = DuplexStream;

    fn connect(
        &mut self,
    ) -> impl Future<Output = Result<WebSocketStream<DuplexStream>, tungstenite::Error>> + Send
    {
        self.times
            .lock()
            .expect("the attempt log is never poisoned")
            .push(Instant::now());
        async { Err(refused_error()) }
    }
}

/// A connector that follows a plan: `true` accepts (and hands the server
/// side of an in-memory socket to the check), `false` fails; after the
/// plan every attempt fails.
struct Scripted {
    plan: std::collections::VecDeque<bool>,
    times: Arc<Mutex<Vec<Instant>>>,
    accepted: mpsc::UnboundedSender<WebSocketStream<DuplexStream>>,
}

impl Connector for Scripted {
    type Stream = DuplexStream;

    fn connect(
        &mut self,
    ) -> impl Future<Output = Result<WebSocketStream<DuplexStream>, tungstenite::Error>> + Send
    {
        self.times
            .lock()
            .expect("the attempt log is never poisoned")
            .push(Instant::now());
        let accept = self.plan.pop_front().unwrap_or(false);
        let accepted = self.accepted.clone();
        async move {
            if !accept {
                return Err(refused_error());
            }
            let (client, server) = tokio::io::duplex(64 * 1024);
            let server = WebSocketStream::from_raw_socket(server, Role::Server, None).await;
            let _ = accepted.send(server);
            Ok(WebSocketStream::from_raw_socket(client, Role::Client, None).await)
        }
    }
}

fn count(times: &Arc<Mutex<Vec<Instant>>>) -> usize {
    times
        .lock()
        .expect("the attempt log is never poisoned")
        .len()
}

fn snapshot(times: &Arc<Mutex<Vec<Instant>>>) -> Vec<Instant> {
    times
        .lock()
        .expect("the attempt log is never poisoned")
        .clone()
}

/// Waits (in paused time) until `condition` holds for the client's state.
async fn wait_for_state(
    client: &Client,
    what: &str,
    mut condition: impl FnMut(&ConnectionState) -> bool,
) -> ConnectionState {
    let mut watch = client.watch();
    let state = within(VIRTUAL_DAY, what, watch.wait_for(|state| condition(state)))
        .await
        .map(|state| state.clone());
    state.unwrap_or_else(|_| {
        panic!(
            "the client's driver task ended while waiting for {what}: a todo!() or a panic in \
             the driver (run `cargo test` to see its message) (chapter 04, \"Task 4: The driver\")"
        )
    })
}

/// The gaps between consecutive attempts.
fn gaps(times: &[Instant]) -> Vec<Duration> {
    times.windows(2).map(|pair| pair[1] - pair[0]).collect()
}

/// The base delay of attempt `attempt` by the chapter's numbers.
fn course_base(attempt: u32) -> Duration {
    let doubled = INITIAL_DELAY.as_millis() << (attempt - 1).min(20);
    Duration::from_millis(u64::try_from(doubled).expect("small")).min(MAX_DELAY)
}

/// Starts a failing client with `seed` and returns the times of its first
/// 12 attempts.
async fn first_attempts(seed: u64) -> Vec<Instant> {
    let (connector, times) = failing();
    let client = Client::start(connector, ClientOptions::seeded(seed));
    wait_for_state(&client, "12 connection attempts", |_| count(&times) >= 12).await;
    drop(client);
    snapshot(&times).into_iter().take(12).collect()
}

async fn driver_backoff_grows_is_capped_and_differs_across_clients() {
    on_paused_clock(driver_backoff_grows_is_capped_and_differs_across_clients_body).await;
}

async fn driver_backoff_grows_is_capped_and_differs_across_clients_body() {
    let one = gaps(&first_attempts(1).await);
    let two = gaps(&first_attempts(2).await);
    for gaps in [&one, &two] {
        for (index, gap) in gaps.iter().enumerate() {
            let attempt = u32::try_from(index).expect("small") + 1;
            let base = course_base(attempt);
            assert!(
                *gap <= base + TICK && *gap >= base.mul_f64(1.0 - JITTER),
                "the wait before attempt {attempt} was {gap:?}; it must lie between \
                 {:?} and {base:?} (the base delay less at most {JITTER} of it, capped at \
                 {MAX_DELAY:?}); all waits: {gaps:?} (chapter 04, \"Task 4: The driver\")",
                base.mul_f64(1.0 - JITTER)
            );
        }
        for (index, pair) in gaps.windows(2).enumerate() {
            let attempt = u32::try_from(index).expect("small") + 2;
            if course_base(attempt) < MAX_DELAY {
                assert!(
                    pair[1].as_secs_f64() >= 1.5 * pair[0].as_secs_f64(),
                    "below the cap each wait must be at least 1.5 times the one before; \
                     {:?} came after {:?}; all waits: {gaps:?} \
                     (chapter 04, \"Task 2: Backoff and jitter\")",
                    pair[1],
                    pair[0]
                );
            }
        }
    }
    let differing = one.iter().zip(&two).filter(|(a, b)| a != b).count();
    assert!(
        differing * 2 > one.len(),
        "two clients with different seeds waited the same: {one:?} and {two:?}; the jitter \
         must spread them (chapter 04, \"Task 2: Backoff and jitter\")"
    );
    let capped: Vec<&Duration> = one.iter().filter(|gap| **gap > MAX_DELAY / 2).collect();
    assert!(
        capped.windows(2).any(|pair| pair[0] != pair[1]),
        "at the cap the waits must still be jittered, got {capped:?} \
         (chapter 04, \"Task 2: Backoff and jitter\")"
    );
}

async fn driver_gives_up_into_error_after_15_attempts() {
    on_paused_clock(driver_gives_up_into_error_after_15_attempts_body).await;
}

async fn driver_gives_up_into_error_after_15_attempts_body() {
    let (connector, times) = failing();
    let client = Client::start(connector, ClientOptions::seeded(3));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut watch = client.watch();
    let log = Arc::clone(&seen);
    let watcher = tokio::spawn(async move {
        while watch.changed().await.is_ok() {
            let state = watch.borrow_and_update().clone();
            log.lock()
                .expect("the state log is never poisoned")
                .push(state.reconnect_attempts);
        }
    });
    let state = wait_for_state(&client, "the error state", |state| {
        state.status == Status::Error
    })
    .await;
    let attempts = count(&times);
    assert_eq!(
        attempts,
        1 + MAX_RECONNECT_ATTEMPTS as usize,
        "the client makes its first attempt and then 15 reconnection attempts before it gives \
         up; it made {attempts} (chapter 04, \"Giving up after 15\")"
    );
    assert_eq!(
        state.reconnect_attempts, MAX_RECONNECT_ATTEMPTS,
        "on error the count shows the 15 attempts made (chapter 04, \"Giving up after 15\")"
    );
    assert!(
        state.error.is_some(),
        "the error state keeps the reason (chapter 04, \"Giving up after 15\")"
    );
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(
        count(&times),
        attempts,
        "after giving up, nothing is attempted until the user asks \
         (chapter 04, \"Giving up after 15\")"
    );
    watcher.abort();
    let highest = seen
        .lock()
        .expect("the state log is never poisoned")
        .iter()
        .copied()
        .max();
    assert_eq!(
        highest,
        Some(MAX_RECONNECT_ATTEMPTS),
        "the count must never pass 15 (the course showed \"(n/15)\" but never enforced it) \
         (chapter 04, \"Giving up after 15\")"
    );
}

async fn driver_manual_reconnect_starts_over() {
    on_paused_clock(driver_manual_reconnect_starts_over_body).await;
}

async fn driver_manual_reconnect_starts_over_body() {
    let (connector, times) = failing();
    let client = Client::start(connector, ClientOptions::seeded(5));
    wait_for_state(&client, "the error state", |state| {
        state.status == Status::Error
    })
    .await;
    let before = count(&times);
    let asked = Instant::now();
    let answer = within(Duration::from_secs(5), "reconnect()", client.reconnect()).await;
    assert_eq!(
        answer,
        Ok(()),
        "reconnect() on error is the \"refresh\" button and must be accepted \
         (chapter 04, \"The manual reconnect\")"
    );
    wait_for_state(&client, "two attempts after the manual reconnect", |_| {
        count(&times) >= before + 2
    })
    .await;
    let after = snapshot(&times);
    assert!(
        after[before] - asked <= TICK,
        "a manual reconnect tries at once, without a backoff; it waited {:?} \
         (chapter 04, \"The manual reconnect\")",
        after[before] - asked
    );
    let first_gap = after[before + 1] - after[before];
    assert!(
        first_gap <= INITIAL_DELAY + TICK,
        "after a manual reconnect the backoff starts over: the first wait is at most \
         {INITIAL_DELAY:?}, it was {first_gap:?} (chapter 04, \"The manual reconnect\")"
    );
    let state = wait_for_state(&client, "the error state again", |state| {
        state.status == Status::Error
    })
    .await;
    assert_eq!(
        count(&times) - before,
        1 + MAX_RECONNECT_ATTEMPTS as usize,
        "after a manual reconnect the client has 15 reconnection attempts again \
         (chapter 04, \"The manual reconnect\")"
    );
    assert_eq!(
        state.reconnect_attempts, MAX_RECONNECT_ATTEMPTS,
        "on error again the count shows the 15 attempts made (chapter 04, \"The manual reconnect\")"
    );
}

async fn driver_resets_after_a_stable_connection() {
    on_paused_clock(driver_resets_after_a_stable_connection_body).await;
}

async fn driver_resets_after_a_stable_connection_body() {
    let times = Arc::new(Mutex::new(Vec::new()));
    let (accepted, mut servers) = mpsc::unbounded_channel();
    let connector = Scripted {
        plan: [false, false, false, true].into_iter().collect(),
        times: Arc::clone(&times),
        accepted,
    };
    let client = Client::start(connector, ClientOptions::seeded(9));
    let connected = wait_for_state(&client, "the connection to open", |state| {
        state.status == Status::Connected
    })
    .await;
    assert_eq!(
        connected.reconnect_attempts, 0,
        "once connected the count is 0 (chapter 04, \"Task 1: The state machine\")"
    );
    let server = within(
        Duration::from_secs(5),
        "the accepted socket",
        servers.recv(),
    )
    .await
    .expect("the connector hands out the server side");
    // A stable minute, then the server side vanishes.
    tokio::time::sleep(Duration::from_secs(60)).await;
    let lost_at = Instant::now();
    drop(server);
    let reconnecting = wait_for_state(&client, "reconnecting after the loss", |state| {
        state.status == Status::Reconnecting
    })
    .await;
    assert_eq!(
        reconnecting.reconnect_attempts, 1,
        "after a stable connection the attempts start over at 1, got {} (3 attempts had \
         failed before it opened) (chapter 04, \"Task 1: The state machine\")",
        reconnecting.reconnect_attempts
    );
    assert_eq!(
        reconnecting.last_disconnected,
        Some(lost_at),
        "last_disconnected is when the connection was lost (chapter 04, \"Task 4: The driver\")"
    );
    wait_for_state(&client, "the first attempt after the loss", |_| {
        count(&times) >= 5
    })
    .await;
    let gap = snapshot(&times)[4] - lost_at;
    assert!(
        gap <= INITIAL_DELAY + TICK,
        "after a stable connection the backoff starts over: the first wait is at most \
         {INITIAL_DELAY:?}, it was {gap:?} (chapter 04, \"Task 4: The driver\")"
    );
}

// ------------------------------------------------- driver, real socket

async fn recovers_when_the_server_closes_after_n_messages() {
    let server = TestServer::start()
        .await
        .expect("the testkit server should start");
    let mut client = Client::connect(
        &server.ws_url("/ws?close_after=3"),
        ClientOptions::seeded(4),
    );
    let messages: Vec<String> = (1..=10).map(|n| format!("message {n}")).collect();
    for message in &messages {
        let sent = within(
            Duration::from_secs(3),
            "send()",
            client.send(message.clone()),
        )
        .await;
        assert_eq!(
            sent,
            Ok(()),
            "send() queues the message whatever the state; Err(Stopped) means the driver task \
             ended (a todo!() or a panic in it) (chapter 04, \"Task 4: The driver\")"
        );
    }
    let mut received = Vec::new();
    while received.len() < messages.len() {
        let next = within(
            Duration::from_secs(10),
            &format!(
                "the echo of message {} (the server closes after every 3)",
                received.len() + 1
            ),
            client.next_message(),
        )
        .await;
        match next {
            Some(text) => received.push(text),
            None => panic!(
                "the client stopped after {} echoes (chapter 04, \"Task 4: The driver\")",
                received.len()
            ),
        }
    }
    assert_eq!(
        received, messages,
        "every message must come back exactly once and in order: a message the server did \
         not echo before it closed is sent again after reconnecting \
         (chapter 04, \"Delivered is not written\")"
    );
    let total = server.stats().connections_total;
    assert!(
        total >= 4,
        "10 messages with a close after every 3 need at least 4 connections, the server saw \
         {total} (chapter 04, \"Task 4: The driver\")"
    );
    let state = client.state();
    assert_eq!(
        (state.status, state.reconnect_attempts),
        (Status::Connected, 0),
        "the client ends connected with the count reset (chapter 04, \"Task 4: The driver\")"
    );
    drop(client);
    server.shutdown().await;
}

async fn driver_closes_with_1000_on_disconnect_and_1001_when_dropped() {
    let server = TestServer::start()
        .await
        .expect("the testkit server should start");
    let client = Client::connect(&server.ws_url("/ws"), ClientOptions::seeded(6));
    let mut watch = client.watch();
    let connected = within(
        Duration::from_secs(5),
        "the client to connect",
        watch.wait_for(|state| state.status == Status::Connected),
    )
    .await
    .is_ok();
    assert!(
        connected,
        "the client's driver task ended before it connected (chapter 04, \"Task 4: The driver\")"
    );
    let answer = within(Duration::from_secs(5), "disconnect()", client.disconnect()).await;
    assert_eq!(
        answer,
        Ok(()),
        "disconnect() while connected must be accepted (chapter 04, \"The transition table\")"
    );
    let ended = server
        .wait_until(Duration::from_secs(5), |server| {
            server
                .connections()
                .first()
                .is_some_and(|record| record.ending.is_some())
        })
        .await;
    let record = server.connections().into_iter().next();
    let code = record
        .as_ref()
        .and_then(|record| record.close_received.as_ref())
        .map(|close| close.code);
    assert!(
        ended.is_ok() && code == Some(1000),
        "the user's disconnect() must close the socket with code 1000, a normal close (1001 \
         \"going away\" is for a dropped handle); the server saw close code {code:?} and \
         the record {record:?} (chapter 04, \"Task 4: The driver\")"
    );
    let ending = record.as_ref().and_then(|record| record.ending.clone());
    assert_eq!(
        ending,
        Some(testkit::Ending::Clean),
        "after its Close, disconnect() waits for the server's Close reply and lets the server \
         end TCP first: the server must see a clean ending, not a reset (chapter 04, \
         \"Task 4: The driver\")"
    );
    let state = client.state();
    assert_eq!(
        state.status,
        Status::Disconnected,
        "after disconnect() the client is disconnected (chapter 04, \"The transition table\")"
    );
    // The reconnect button, then the handle goes away.
    let answer = within(Duration::from_secs(5), "reconnect()", client.reconnect()).await;
    assert_eq!(
        answer,
        Ok(()),
        "reconnect() while disconnected is the \"reconnect\" button and must be accepted \
         (chapter 04, \"The manual reconnect\")"
    );
    let connected = within(
        Duration::from_secs(5),
        "the client to connect again after reconnect()",
        watch.wait_for(|state| state.status == Status::Connected),
    )
    .await
    .is_ok();
    assert!(
        connected && server.stats().connections_total == 2,
        "after reconnect() the client opens a second connection (chapter 04, \"The manual reconnect\")"
    );
    drop(client);
    let ended = server
        .wait_until(Duration::from_secs(5), |server| {
            server
                .connections()
                .get(1)
                .is_some_and(|record| record.ending.is_some())
        })
        .await;
    let record = server.connections().into_iter().nth(1);
    let code = record
        .as_ref()
        .and_then(|record| record.close_received.as_ref())
        .map(|close| close.code);
    assert!(
        ended.is_ok() && code == Some(1001),
        "dropping the Client must close its socket with code 1001, \"going away\"; the server \
         saw close code {code:?} and the record {record:?} (chapter 04, \"Task 4: The driver\")"
    );
    server.shutdown().await;
}
