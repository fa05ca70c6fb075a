//! Visible checks of unit 01, for the first tasks: connecting (and failing to
//! connect) and the echo round trip. Run them with `cargo test`.
//!
//! Each check starts its own testkit server on a free port, so nothing needs
//! to be running. `cargo grade 01` runs these and the hidden checks.

use std::time::{Duration, Instant};

use checkkit::within;
use connection::{ConnectError, Connection, Event};
use testkit::TestServer;

checkkit::checks! {
    echo_text_round_trip,
    echo_binary_round_trip,
    connect_refused_is_a_typed_error,
    bad_url_is_a_typed_error,
    silent_server_times_out,
}

/// How long a check waits for one event from a local server: far more than
/// it needs, and still short enough to fail fast.
const EVENT_WAIT: Duration = Duration::from_secs(3);

async fn start_server() -> TestServer {
    TestServer::start()
        .await
        .expect("the testkit server should start")
}

async fn open(url: &str) -> Connection {
    let result = within(
        EVENT_WAIT,
        "connect() to the testkit server",
        connection::connect(url),
    )
    .await;
    match result {
        Ok(connection) => connection,
        Err(error) => panic!(
            "connect({url:?}) failed: {} (chapter 01, \"Task 1: Connecting\")",
            connection::error_chain(&error)
        ),
    }
}

/// The next event; fails the check if the events end or none comes in time.
async fn next_event(connection: &mut Connection, what: &str) -> Event {
    match within(EVENT_WAIT, what, connection.next_event()).await {
        Some(event) => event,
        None => panic!(
            "the events ended while waiting for {what}; the I/O task stopped early \
             (chapter 01, \"Task 2: The I/O task\")"
        ),
    }
}

async fn expect_opened(connection: &mut Connection) {
    let event = next_event(connection, "Event::Opened").await;
    assert!(
        matches!(event, Event::Opened),
        "the first event must be Event::Opened, got {event:?} (chapter 01, \"Task 2: The I/O task\")"
    );
}

async fn echo_text_round_trip() {
    let server = start_server().await;
    let mut connection = open(&server.ws_url("/ws")).await;
    expect_opened(&mut connection).await;
    let sent = within(
        EVENT_WAIT,
        "send_text",
        connection.send_text("hello, WebSocket"),
    )
    .await;
    assert!(
        sent.is_ok(),
        "send_text on an open connection returned {sent:?} (chapter 01, \"Task 3: Sending\")"
    );
    let event = next_event(&mut connection, "the echo of a text message").await;
    assert!(
        matches!(&event, Event::Text(text) if text == "hello, WebSocket"),
        "the echo server sends the text back; expected Event::Text(\"hello, WebSocket\"), \
         got {event:?} (chapter 01, \"Task 2: The I/O task\")"
    );
    server.shutdown().await;
}

async fn echo_binary_round_trip() {
    let server = start_server().await;
    let mut connection = open(&server.ws_url("/ws")).await;
    expect_opened(&mut connection).await;
    let bytes = vec![0_u8, 1, 2, 254, 255];
    let sent = within(
        EVENT_WAIT,
        "send_binary",
        connection.send_binary(bytes.clone()),
    )
    .await;
    assert!(
        sent.is_ok(),
        "send_binary on an open connection returned {sent:?} (chapter 01, \"Task 3: Sending\")"
    );
    let event = next_event(&mut connection, "the echo of a binary message").await;
    assert!(
        matches!(&event, Event::Binary(echoed) if *echoed == bytes),
        "the echo server sends the bytes back; expected Event::Binary({bytes:?}), got {event:?} \
         (chapter 01, \"Task 2: The I/O task\")"
    );
    server.shutdown().await;
}

async fn connect_refused_is_a_typed_error() {
    let address = testkit::refused_addr().await;
    let url = format!("ws://{address}/ws");
    let started = Instant::now();
    let result = within(
        connection::CONNECT_TIMEOUT + Duration::from_secs(1),
        "connect() to a port nobody listens on",
        connection::connect(&url),
    )
    .await;
    match result {
        Err(ConnectError::Refused { .. }) => {}
        Err(other) => panic!(
            "connecting to a closed port must give ConnectError::Refused, got {other:?} \
             (chapter 01, \"Task 1: Connecting\")"
        ),
        Ok(_) => panic!("connect({url:?}) succeeded, but nothing listens there"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "a refused connection is reported at once, not after a timeout; it took {:?} \
         (chapter 01, \"Task 1: Connecting\")",
        started.elapsed()
    );
}

async fn bad_url_is_a_typed_error() {
    let refused = testkit::refused_addr().await;
    let bad_urls = [
        "not a url",
        "ws://",
        "127.0.0.1:8000/ws",
        &format!("http://{refused}/ws"),
    ];
    for url in bad_urls {
        let result = within(
            Duration::from_secs(2),
            "connect() with a bad URL",
            connection::connect(url),
        )
        .await;
        assert!(
            matches!(result, Err(ConnectError::InvalidUrl { .. })),
            "connect({url:?}) must give ConnectError::InvalidUrl (check the URL before touching \
             the network: only ws:// URLs with a host are valid), got {:?} \
             (chapter 01, \"Task 1: Connecting\")",
            result.as_ref().err()
        );
    }
}

async fn silent_server_times_out() {
    let listener = testkit::SilentListener::start()
        .await
        .expect("the silent listener should start");
    let limit = Duration::from_millis(500);
    let started = Instant::now();
    let result = within(
        Duration::from_secs(3),
        "connect_with_timeout() to a server that never answers the handshake",
        connection::connect_with_timeout(&listener.ws_url(), limit),
    )
    .await;
    assert!(
        matches!(result, Err(ConnectError::Timeout { .. })),
        "the server accepts TCP but never answers the handshake; connect_with_timeout(url, 500 ms) \
         must give ConnectError::Timeout, got {:?} (chapter 01, \"Task 1: Connecting\")",
        result.as_ref().err()
    );
    let took = started.elapsed();
    assert!(
        took >= limit && took < limit + Duration::from_secs(1),
        "the timeout must cover TCP and the handshake together and fire after the limit \
         (500 ms); it took {took:?} (chapter 01, \"Task 1: Connecting\")"
    );
}
