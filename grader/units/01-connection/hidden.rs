//! Hidden checks of unit 01: the close handshake in both directions, sends
//! after close, pings for a send-only client, errors with causes, and the
//! terminal client (in-process and as the real binary).
//!
//! Run against the reference solution by `cargo test -p connection --test
//! hidden`; the grader runs them against a learner's `src/`.

use std::future::Future;
use std::process::Stdio;
use std::time::{Duration, Instant};

use checkkit::within;
use connection::terminal::{self, Options};
use connection::{
    CLOSE_TIMEOUT, CloseError, ConnectError, Connection, Event, MAX_CLOSE_REASON, SendError,
};
use futures_util::{SinkExt, StreamExt};
use testkit::{ConnectionRecord, Ending, TestServer};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

checkkit::checks! {
    send_after_own_close_is_an_error,
    server_close_surfaces_code_and_reason,
    server_close_gets_exactly_one_close_back,
    close_sends_1000_and_waits_for_the_reply,
    close_rejects_codes_that_must_not_be_sent,
    close_forwards_data_that_arrives_before_the_reply,
    close_reports_a_missing_reply,
    a_lost_connection_ends_with_an_error_and_1006,
    pings_are_answered_for_a_send_only_client,
    errors_carry_their_cause,
    dropping_the_handle_closes_the_connection,
    terminal_logs_sent_and_received,
    terminal_refuses_to_send_while_disconnected,
    terminal_refuses_commands_in_the_wrong_state,
    terminal_binary_reads_stdin,
    terminal_logs_binary_and_errors,
}

/// How long a check waits for one event or one line from a local server.
const EVENT_WAIT: Duration = Duration::from_secs(3);

// ---------------------------------------------------------------- helpers

async fn start_server() -> TestServer {
    TestServer::start()
        .await
        .expect("the testkit server should start")
}

async fn open(url: &str) -> Connection {
    match within(
        EVENT_WAIT,
        "connect() to the testkit server",
        connection::connect(url),
    )
    .await
    {
        Ok(connection) => connection,
        Err(error) => panic!(
            "connect({url:?}) failed: {} (chapter 01, \"Task 1: Connecting\")",
            connection::error_chain(&error)
        ),
    }
}

async fn next_event(connection: &mut Connection, what: &str) -> Event {
    match within(EVENT_WAIT, what, connection.next_event()).await {
        Some(event) => event,
        None => panic!(
            "the events ended while waiting for {what}; every connection's events end with \
             exactly one Event::Closed (chapter 01, \"Task 2: The I/O task\")"
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

/// The server's record of its only connection, once `done` holds for it.
async fn record_when(
    server: &TestServer,
    what: &str,
    done: impl Fn(&ConnectionRecord) -> bool,
) -> ConnectionRecord {
    let waited = server
        .wait_until(EVENT_WAIT, |server| {
            server.connections().first().is_some_and(&done)
        })
        .await;
    let record = server.connections().into_iter().next();
    match (waited, record) {
        (Ok(()), Some(record)) => record,
        (_, record) => {
            panic!("timed out after {EVENT_WAIT:?} waiting for {what}; the server saw {record:?}")
        }
    }
}

/// A peer for one connection that does what the testkit server never does
/// (send data after the client's Close, end TCP without a Close, send a
/// Close without a code): it accepts the opening handshake on a fresh
/// loopback port, then runs `script` with its side of the socket. Returns
/// the URL to connect to.
async fn scripted_peer<Script, Done>(script: Script) -> String
where
    Script: FnOnce(WebSocketStream<TcpStream>) -> Done + Send + 'static,
    Done: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port for the scripted peer");
    let address = listener.local_addr().expect("the scripted peer's address");
    tokio::spawn(async move {
        if let Ok((tcp, _)) = listener.accept().await
            && let Ok(socket) = tokio_tungstenite::accept_async(tcp).await
        {
            script(socket).await;
        }
    });
    format!("ws://{address}/ws")
}

/// Every event until the end of the stream (each within [`EVENT_WAIT`]).
async fn remaining_events(connection: &mut Connection, what: &str) -> Vec<Event> {
    let mut events = Vec::new();
    while let Some(event) = within(EVENT_WAIT, what, connection.next_event()).await {
        events.push(event);
    }
    events
}

// ------------------------------------------------------- closing and sends

async fn send_after_own_close_is_an_error() {
    let server = start_server().await;
    let mut connection = open(&server.ws_url("/ws")).await;
    expect_opened(&mut connection).await;
    let closed = within(EVENT_WAIT, "close(1000, \"\")", connection.close(1000, "")).await;
    assert!(
        closed.is_ok(),
        "close(1000) on an open connection returned {closed:?} (chapter 01, \"Task 4: Closing properly\")"
    );
    let text = within(
        EVENT_WAIT,
        "send_text after close",
        connection.send_text("too late"),
    )
    .await;
    assert!(
        matches!(text, Err(SendError::Closed)),
        "send_text after close() must return Err(SendError::Closed), got {text:?} \
         (chapter 01, \"Task 3: Sending\")"
    );
    let binary = within(
        EVENT_WAIT,
        "send_binary after close",
        connection.send_binary(vec![1, 2]),
    )
    .await;
    assert!(
        matches!(binary, Err(SendError::Closed)),
        "send_binary after close() must return Err(SendError::Closed), got {binary:?} \
         (chapter 01, \"Task 3: Sending\")"
    );
    let again = within(EVENT_WAIT, "a second close", connection.close(1000, "")).await;
    assert!(
        matches!(again, Err(CloseError::AlreadyClosed)),
        "a second close() must return Err(CloseError::AlreadyClosed), got {again:?} \
         (chapter 01, \"Task 4: Closing properly\")"
    );
    let record = record_when(&server, "the end of the connection", |record| {
        record.ending.is_some()
    })
    .await;
    assert_eq!(
        record.data_after_close, 0,
        "no data frame may follow a Close frame; the server got {} (chapter 01, \"Task 3: Sending\")",
        record.data_after_close
    );
}

async fn server_close_surfaces_code_and_reason() {
    let server = start_server().await;
    // Several codes and reasons, so that no fixed code can pass by chance.
    for (code, reason, query) in [
        (4000, "bye", "code=4000&reason=bye"),
        (1001, "going away", "code=1001&reason=going%20away"),
        (4999, "", "code=4999"),
        (1000, "done", "code=1000&reason=done"),
    ] {
        let mut connection = open(&server.ws_url(&format!("/ws/close?{query}"))).await;
        expect_opened(&mut connection).await;
        let events = remaining_events(&mut connection, "the events after the server's Close").await;
        assert!(
            matches!(events.as_slice(), [Event::Closed { code: got, reason: said }]
                if *got == code && said == reason),
            "the server closed with code {code} and reason {reason:?}; after Opened the events \
             must be exactly [Event::Closed {{ code: {code}, reason: {reason:?} }}], then \
             next_event() returns None; got {events:?} (chapter 01, \"Task 2: The I/O task\")"
        );
    }
    // A Close frame without a code is reported as 1005.
    let url = scripted_peer(|mut socket| async move {
        let _ = socket.send(Message::Close(None)).await;
        while let Some(Ok(_)) = socket.next().await {}
    })
    .await;
    let mut connection = open(&url).await;
    expect_opened(&mut connection).await;
    let events = remaining_events(&mut connection, "the events after a Close without a code").await;
    assert!(
        matches!(events.as_slice(), [Event::Closed { code: 1005, .. }]),
        "the peer sent a Close frame without a code; after Opened the events must be exactly \
         [Event::Closed {{ code: 1005, .. }}] (closed_event does this), got {events:?} \
         (chapter 01, \"Task 2: The I/O task\")"
    );
}

async fn server_close_gets_exactly_one_close_back() {
    let server = start_server().await;
    let mut connection = open(&server.ws_url("/ws/close?code=1001&reason=going%20away")).await;
    expect_opened(&mut connection).await;
    let event = next_event(&mut connection, "the server's Close(1001)").await;
    assert!(
        matches!(&event, Event::Closed { code: 1001, .. }),
        "expected Event::Closed {{ code: 1001, .. }}, got {event:?} (chapter 01, \"Task 2: The I/O task\")"
    );
    let sent = within(
        EVENT_WAIT,
        "send_text after the server's Close",
        connection.send_text("late"),
    )
    .await;
    assert!(
        matches!(sent, Err(SendError::Closed)),
        "after the server closed, send_text must return Err(SendError::Closed), got {sent:?} \
         (chapter 01, \"Task 3: Sending\")"
    );
    let record = record_when(&server, "the end of the connection", |record| {
        record.ending.is_some()
    })
    .await;
    assert_eq!(
        record.close_frames_received, 1,
        "the client must answer the server's Close with exactly one Close frame (tungstenite \
         queues the reply; keep reading so it is sent, and do not send another); the server got {} \
         (chapter 01, \"The close handshake\")",
        record.close_frames_received
    );
    assert_eq!(
        record.data_after_close, 0,
        "no data frame may follow the server's Close; the server got {} (chapter 01, \"Task 3: Sending\")",
        record.data_after_close
    );
}

async fn close_sends_1000_and_waits_for_the_reply() {
    let server = start_server().await;
    let mut connection = open(&server.ws_url("/ws?close_reply_delay_ms=300")).await;
    expect_opened(&mut connection).await;
    let started = Instant::now();
    let closed = within(
        Duration::from_secs(4),
        "close(1000, \"\")",
        connection.close(1000, ""),
    )
    .await;
    let took = started.elapsed();
    let record_at_return = server.connections().into_iter().next();
    assert!(
        closed.is_ok(),
        "close(1000) returned {closed:?} (chapter 01, \"Task 4: Closing properly\")"
    );
    let Some(record_at_return) = record_at_return else {
        panic!("the server has no record of the connection");
    };
    assert!(
        record_at_return.close_reply_sent,
        "close() returned after {took:?}, before the server's Close frame (delayed by 300 ms) \
         arrived; it must wait for the peer's Close (chapter 01, \"Task 4: Closing properly\")"
    );
    let record = record_when(&server, "the end of the connection", |record| {
        record.ending.is_some()
    })
    .await;
    let code = record.close_received.as_ref().map(|close| close.code);
    assert_eq!(
        code,
        Some(1000),
        "close(1000, \"\") must send a Close frame with code 1000; the server saw {code:?} \
         (1005 = a Close without a code, None = no Close frame at all) \
         (chapter 01, \"Task 4: Closing properly\")"
    );
    assert_eq!(
        record.ending,
        Some(Ending::Clean),
        "the connection must end with a clean close handshake; the client must not drop the \
         socket before the server's reply (chapter 01, \"The close handshake\")"
    );
    let event = next_event(&mut connection, "Event::Closed after close()").await;
    assert!(
        matches!(event, Event::Closed { code: 1000, .. }),
        "after close() the events end with Event::Closed {{ code: 1000, .. }} (the server's reply), \
         got {event:?} (chapter 01, \"Task 4: Closing properly\")"
    );
}

async fn close_rejects_codes_that_must_not_be_sent() {
    let server = start_server().await;
    let mut connection = open(&server.ws_url("/ws")).await;
    expect_opened(&mut connection).await;
    for code in [1005, 1006, 999] {
        let result = within(
            EVENT_WAIT,
            "close() with a reserved code",
            connection.close(code, ""),
        )
        .await;
        assert!(
            matches!(result, Err(CloseError::InvalidCode(rejected)) if rejected == code),
            "close({code}, ..) must return Err(CloseError::InvalidCode({code})) without sending \
             anything (RFC 6455 §7.4), got {result:?} (chapter 01, \"Task 4: Closing properly\")"
        );
    }
    let too_long = "x".repeat(MAX_CLOSE_REASON + 1);
    let result = within(
        EVENT_WAIT,
        "close() with a reason that is too long",
        connection.close(1000, &too_long),
    )
    .await;
    assert!(
        matches!(result, Err(CloseError::ReasonTooLong { .. })),
        "close(1000, <{} bytes>) must return Err(CloseError::ReasonTooLong {{ .. }}) without \
         sending anything: a Close frame has room for {MAX_CLOSE_REASON} bytes of reason; got \
         {result:?} (chapter 01, \"Task 4: Closing properly\")",
        too_long.len()
    );
    let sent = within(
        EVENT_WAIT,
        "send_text after a rejected close",
        connection.send_text("still open"),
    )
    .await;
    assert!(
        sent.is_ok(),
        "a rejected close() must leave the connection open; send_text then returned {sent:?} \
         (chapter 01, \"Task 4: Closing properly\")"
    );
    // The longest reason that fits is allowed.
    let reason = format!("done{}", ".".repeat(MAX_CLOSE_REASON - 4));
    let closed = within(
        EVENT_WAIT,
        "close(4001, <a reason of MAX_CLOSE_REASON bytes>)",
        connection.close(4001, &reason),
    )
    .await;
    assert!(
        closed.is_ok(),
        "close(4001, <a reason of exactly {MAX_CLOSE_REASON} bytes>) returned {closed:?}; \
         {MAX_CLOSE_REASON} bytes fit in a Close frame (chapter 01, \"Task 4: Closing properly\")"
    );
    let record = record_when(&server, "the client's Close", |record| {
        record.close_received.is_some()
    })
    .await;
    let close = record
        .close_received
        .map(|close| (close.code, close.reason));
    assert_eq!(
        close,
        Some((4001, reason)),
        "close(4001, reason) must send exactly that code and reason (chapter 01, \"Task 4: Closing properly\")"
    );
}

async fn close_forwards_data_that_arrives_before_the_reply() {
    // The peer answers "x" late: the client's Close is already on its way, so
    // the answer arrives while close() waits for the peer's Close.
    let url = scripted_peer(|mut socket| async move {
        if let Some(Ok(Message::Text(_))) = socket.next().await {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let _ = socket.send(Message::text("last words")).await;
            while let Some(Ok(_)) = socket.next().await {}
        }
    })
    .await;
    let mut connection = open(&url).await;
    expect_opened(&mut connection).await;
    let sent = within(EVENT_WAIT, "send_text(\"x\")", connection.send_text("x")).await;
    assert!(
        sent.is_ok(),
        "send_text on an open connection returned {sent:?} (chapter 01, \"Task 3: Sending\")"
    );
    let closed = within(EVENT_WAIT, "close(1000, \"\")", connection.close(1000, "")).await;
    assert!(
        closed.is_ok(),
        "close(1000) returned {closed:?} (chapter 01, \"Task 4: Closing properly\")"
    );
    let events = remaining_events(&mut connection, "the events after close()").await;
    assert!(
        matches!(events.as_slice(), [Event::Text(text), Event::Closed { .. }]
            if text == "last words"),
        "the peer sent Text(\"last words\") after the client's Close had left and before its own \
         Close: close_handshake must forward it, so the events are [Text(\"last words\"), \
         Closed {{ .. }}]; got {events:?} (chapter 01, \"Task 4: Closing properly\")"
    );
}

async fn close_reports_a_missing_reply() {
    // The peer reads the client's Close and ends TCP without answering:
    // tungstenite only sends its queued reply on the next read or write.
    // tungstenite reports that end as a read error
    // (ResetWithoutClosingHandshake), so Failed is as right as NoReply.
    let url = scripted_peer(|mut socket| async move {
        while let Some(Ok(message)) = socket.next().await {
            if message.is_close() {
                break;
            }
        }
        drop(socket);
    })
    .await;
    let mut connection = open(&url).await;
    expect_opened(&mut connection).await;
    let closed = within(EVENT_WAIT, "close(1000, \"\")", connection.close(1000, "")).await;
    assert!(
        matches!(closed, Err(CloseError::NoReply | CloseError::Failed(_))),
        "the peer ended the connection without answering the client's Close: close() must return \
         Err(CloseError::NoReply) (or Err(CloseError::Failed(..)) for the read error tungstenite \
         reports), never Ok; got {closed:?} (chapter 01, \"Task 4: Closing properly\")"
    );
    let events = remaining_events(&mut connection, "the events after close()").await;
    assert!(
        matches!(events.as_slice(), [Event::Closed { code: 1006, .. }]),
        "a close handshake that failed ends the events with Event::Closed {{ code: 1006, .. }}, \
         got {events:?} (chapter 01, \"Task 4: Closing properly\")"
    );

    // A peer that never answers and keeps TCP open: CLOSE_TIMEOUT.
    let url = scripted_peer(|socket| async move {
        // Holds the socket without reading, so no reply is ever written;
        // the check's runtime ends this task when the check ends.
        tokio::time::sleep(CLOSE_TIMEOUT * 4).await;
        drop(socket);
    })
    .await;
    let mut connection = open(&url).await;
    expect_opened(&mut connection).await;
    let started = Instant::now();
    let closed = within(
        CLOSE_TIMEOUT + EVENT_WAIT,
        "close() to a peer that never answers",
        connection.close(1000, ""),
    )
    .await;
    let took = started.elapsed();
    assert!(
        matches!(closed, Err(CloseError::Timeout { after }) if after == CLOSE_TIMEOUT)
            && took >= CLOSE_TIMEOUT,
        "the peer never answers the client's Close: close() must give up after CLOSE_TIMEOUT \
         ({CLOSE_TIMEOUT:?}) with Err(CloseError::Timeout {{ after: CLOSE_TIMEOUT }}); it returned \
         {closed:?} after {took:?} (chapter 01, \"Task 4: Closing properly\")"
    );
    let events = remaining_events(&mut connection, "the events after close()").await;
    assert!(
        matches!(events.as_slice(), [Event::Closed { code: 1006, .. }]),
        "a close handshake that timed out ends the events with Event::Closed {{ code: 1006, .. }}, \
         got {events:?} (chapter 01, \"Task 4: Closing properly\")"
    );
}

async fn a_lost_connection_ends_with_an_error_and_1006() {
    // The peer ends TCP without a Close frame: tungstenite reports a read error.
    let url = scripted_peer(|socket| async move {
        drop(socket);
    })
    .await;
    let mut connection = open(&url).await;
    expect_opened(&mut connection).await;
    let events = remaining_events(&mut connection, "the events after the peer vanished").await;
    assert!(
        matches!(
            events.as_slice(),
            [Event::Error(_), Event::Closed { code: 1006, .. }]
        ),
        "the peer ended TCP without a Close frame, which tungstenite reports as a read error: the \
         events must be [Event::Error(..), Event::Closed {{ code: 1006, .. }}] and then None; \
         got {events:?} (chapter 01, \"Task 2: The I/O task\")"
    );
    let sent = within(
        EVENT_WAIT,
        "send_text after the connection was lost",
        connection.send_text("anyone?"),
    )
    .await;
    assert!(
        matches!(sent, Err(SendError::Closed)),
        "after the connection was lost the I/O task has ended; send_text must return \
         Err(SendError::Closed), got {sent:?} (chapter 01, \"Task 3: Sending\")"
    );
}

async fn pings_are_answered_for_a_send_only_client() {
    let server = start_server().await;
    let connection = open(&server.ws_url("/ws?ping_ms=500&echo=false")).await;
    // A send-only user: sends for 2.5 s and never calls next_event().
    for tick in 0..25 {
        let sent = within(
            EVENT_WAIT,
            "send_text",
            connection.send_text(format!("tick {tick}")),
        )
        .await;
        assert!(
            sent.is_ok(),
            "send_text returned {sent:?} (chapter 01, \"Task 3: Sending\")"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let record = server
        .connections()
        .into_iter()
        .next()
        .expect("the server has a record of the connection");
    assert!(
        record.pongs_received >= 4 && record.late_pongs == 0,
        "the server pinged every 500 ms while the client only sent; every Ping needs its Pong \
         within 1 s, but the server got {} Pongs ({} late, slowest {:?}). tungstenite queues the \
         Pong and sends it on the next read: the I/O task must keep reading even when nobody \
         asks for events (chapter 01, \"Ping and pong\")",
        record.pongs_received,
        record.late_pongs,
        record.max_pong_delay
    );
    let mut connection = connection;
    let closed = within(
        Duration::from_secs(6),
        "close(1000)",
        connection.close(1000, ""),
    )
    .await;
    assert!(
        closed.is_ok(),
        "close(1000) returned {closed:?} (chapter 01, \"Task 4: Closing properly\")"
    );
    let mut events = Vec::new();
    while let Some(event) =
        within(EVENT_WAIT, "the remaining events", connection.next_event()).await
    {
        events.push(event);
    }
    assert!(
        events
            .iter()
            .all(|event| matches!(event, Event::Opened | Event::Closed { .. })),
        "the server sent only Pings (echo was off), so the only events are Opened and Closed; \
         Pings and Pongs are not the user's business, got {events:?} (chapter 01, \"Task 2: The I/O task\")"
    );
}

async fn errors_carry_their_cause() {
    let address = testkit::refused_addr().await;
    let refused = within(
        EVENT_WAIT,
        "connect() to a closed port",
        connection::connect(&format!("ws://{address}/ws")),
    )
    .await;
    let Err(error) = refused else {
        panic!("connecting to a closed port succeeded")
    };
    let chain = connection::error_chain(&error);
    assert!(
        matches!(error, ConnectError::Refused { .. })
            && std::error::Error::source(&error).is_some(),
        "ConnectError::Refused must keep the operating system's error as its source(), so a log \
         can say why (the original printed [object Event]); got {error:?} \
         (chapter 01, \"Task 1: Connecting\")"
    );
    assert!(
        chain.to_lowercase().contains("refused"),
        "the error and its causes should say the connection was refused; error_chain gave {chain:?} \
         (chapter 01, \"Task 1: Connecting\")"
    );
    let server = start_server().await;
    let url = server.ws_url("/no-such-endpoint");
    let rejected = within(
        EVENT_WAIT,
        "connect() to an endpoint that is not a WebSocket",
        connection::connect(&url),
    )
    .await;
    let Err(error) = rejected else {
        panic!("connect({url:?}) succeeded, but that path is not a WebSocket endpoint")
    };
    let chain = connection::error_chain(&error);
    assert!(
        matches!(error, ConnectError::Handshake { .. }) && chain.contains("404"),
        "an HTTP 404 answer to the upgrade must be ConnectError::Handshake whose cause shows the \
         status; got {error:?}, printed as {chain:?} (chapter 01, \"Task 1: Connecting\")"
    );

    // A server that takes the connection, reads the request and resets
    // it: the connect was not refused, it broke during the handshake.
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port for the resetting peer");
    let address = listener.local_addr().expect("the resetting peer's address");
    tokio::spawn(async move {
        let reset = async {
            let (mut tcp, _) = listener.accept().await?;
            let mut request = [0_u8; 4096];
            let _ = tokio::io::AsyncReadExt::read(&mut tcp, &mut request).await?;
            tcp.set_zero_linger()?;
            drop(tcp);
            std::io::Result::Ok(())
        };
        let _ = tokio::time::timeout(EVENT_WAIT, reset).await;
    });
    let url = format!("ws://{address}/ws");
    let reset = within(
        EVENT_WAIT,
        "connect() to a server that resets the connection during the handshake",
        connection::connect(&url),
    )
    .await;
    assert!(
        matches!(reset, Err(ConnectError::Io { .. })),
        "the server took the TCP connection and reset it during the handshake: that is \
         ConnectError::Io (only a connection nobody accepted is Refused); got {reset:?} \
         (chapter 01, \"Task 1: Connecting\")"
    );

    // wss:// is refused before the network, as a URL this unit cannot use.
    let tls = within(
        EVENT_WAIT,
        "connect() to a wss:// URL",
        connection::connect(&format!("wss://{address}/ws")),
    )
    .await;
    let chain = tls
        .as_ref()
        .err()
        .map(|error| connection::error_chain(error));
    assert!(
        matches!(&tls, Err(ConnectError::InvalidUrl { .. }))
            && chain
                .as_deref()
                .is_some_and(|chain| chain.to_lowercase().contains("tls")),
        "a wss:// URL is ConnectError::InvalidUrl whose cause says TLS is not enabled (this unit \
         leaves TLS out); got {tls:?}, printed as {chain:?} (chapter 01, \"Task 1: Connecting\")"
    );
}

async fn dropping_the_handle_closes_the_connection() {
    let server = start_server().await;
    let mut connection = open(&server.ws_url("/ws")).await;
    expect_opened(&mut connection).await;
    drop(connection);
    let record = record_when(
        &server,
        "the end of the connection after the handle was dropped",
        |record| record.ending.is_some(),
    )
    .await;
    let code = record.close_received.as_ref().map(|close| close.code);
    assert!(
        code == Some(1001) && record.ending == Some(Ending::Clean),
        "dropping the Connection must close it with a handshake with code 1001, \"going away\" \
         (the I/O task sees the command channel end and closes with 1001) and end the task; the \
         server saw close code {code:?}, ending {:?} (chapter 01, \"Why one I/O task\")",
        record.ending
    );
}

// ------------------------------------------------------------- terminal

/// The terminal client running in-process, on in-memory pipes.
struct Terminal {
    input: DuplexStream,
    output: Lines<BufReader<DuplexStream>>,
    seen: Vec<String>,
    /// The thread running `terminal::run`; `None` once joined.
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
    /// The output has ended: `run` has returned or panicked.
    output_ended: bool,
}

impl Terminal {
    fn start(url: String, connect_on_start: bool) -> Terminal {
        let (input, terminal_input) = tokio::io::duplex(4096);
        let (terminal_output, output) = tokio::io::duplex(64 * 1024);
        let options = Options {
            url,
            timestamps: false,
            connect_on_start,
            ..Options::default()
        };
        // On a thread of its own with its own runtime: the check's future
        // must be `Send`, the terminal's need not be. The thread ends when
        // `input` is dropped: the end of input makes `run` close and return.
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the terminal client");
            runtime.block_on(terminal::run(
                BufReader::new(terminal_input),
                terminal_output,
                options,
            ))
        });
        Terminal {
            input,
            output: BufReader::new(output).lines(),
            seen: Vec::new(),
            thread: Some(thread),
            output_ended: false,
        }
    }

    /// Why the terminal client is no longer running, if it is not: its
    /// panic message (an unwritten `todo!` says which task), or what `run`
    /// returned. Empty while it runs.
    fn stopped_because(&mut self) -> String {
        // Once the output has ended the thread is only tearing its runtime
        // down, so joining it cannot block for long.
        let finished = self.output_ended
            || self
                .thread
                .as_ref()
                .is_some_and(|thread| thread.is_finished());
        let Some(thread) = self.thread.take().filter(|_| finished) else {
            return String::new();
        };
        let why = match thread.join() {
            Ok(Ok(())) => "terminal::run returned Ok(())".to_owned(),
            Ok(Err(error)) => format!("terminal::run returned the error {error}"),
            Err(payload) => match (
                payload.downcast_ref::<&str>(),
                payload.downcast_ref::<String>(),
            ) {
                (Some(message), _) => format!("it panicked: {message}"),
                (_, Some(message)) => format!("it panicked: {message}"),
                _ => "it panicked".to_owned(),
            },
        };
        format!("; the terminal client had stopped: {why}")
    }

    async fn type_line(&mut self, line: &str) {
        let typed = self.input.write_all(format!("{line}\n").as_bytes()).await;
        if let Err(error) = typed {
            panic!(
                "the terminal client no longer reads its input ({error}){} \
                 (chapter 01, \"Task 5: The terminal client\")",
                self.stopped_because()
            );
        }
    }

    /// Reads lines until the output ends (`run` returned) after `command`.
    async fn expect_end(&mut self, command: &str) {
        let ended = tokio::time::timeout(EVENT_WAIT, async {
            while let Ok(Some(line)) = self.output.next_line().await {
                self.seen.push(line);
            }
        })
        .await;
        self.output_ended = ended.is_ok();
        assert!(
            ended.is_ok(),
            "after {command:?} the terminal client should close and stop (terminal::run \
             returns); it went on, printing {:?} (chapter 01, \"Task 5: The terminal client\")",
            self.seen
        );
    }

    /// Reads lines until one satisfies `wanted`; `what` describes it.
    async fn expect_line(&mut self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        let found = tokio::time::timeout(EVENT_WAIT, async {
            while let Ok(Some(line)) = self.output.next_line().await {
                self.seen.push(line.clone());
                if wanted(&line) {
                    return Some(line);
                }
            }
            self.output_ended = true;
            None
        })
        .await;
        if let Ok(Some(line)) = found {
            return line;
        }
        let stopped = self.stopped_because();
        panic!(
            "the terminal client should have printed {what}; it printed {:?}{stopped} \
             (chapter 01, \"Task 5: The terminal client\")",
            self.seen
        );
    }
}

async fn terminal_logs_sent_and_received() {
    let server = start_server().await;
    let mut terminal = Terminal::start(server.ws_url("/ws"), true);
    terminal
        .expect_line("\"* status: connecting\"", |line| {
            line == "* status: connecting"
        })
        .await;
    terminal
        .expect_line("\"* status: connected\"", |line| {
            line == "* status: connected"
        })
        .await;
    terminal
        .expect_line("\"* open <url>\" (Event::Opened)", |line| {
            line.starts_with("* open ")
        })
        .await;
    terminal.type_line("hello").await;
    terminal
        .expect_line("\"> hello\" for the line it sent", |line| line == "> hello")
        .await;
    terminal
        .expect_line("\"< hello\" for the echo it received", |line| {
            line == "< hello"
        })
        .await;
    terminal.type_line("//etc/hosts").await;
    terminal
        .expect_line(
            "\"> /etc/hosts\" for the line \"//etc/hosts\" (\"//\" sends the rest with one \"/\")",
            |line| line == "> /etc/hosts",
        )
        .await;
    terminal
        .expect_line("\"< /etc/hosts\" for its echo", |line| {
            line == "< /etc/hosts"
        })
        .await;
    terminal.type_line("/disconnect").await;
    terminal
        .expect_line("\"* closed 1000\" after /disconnect", |line| {
            line == "* closed 1000"
        })
        .await;
    terminal
        .expect_line("\"* status: disconnected\"", |line| {
            line == "* status: disconnected"
        })
        .await;
    terminal.type_line("/help").await;
    terminal
        .expect_line("a \"* …\" line of /help naming /connect", |line| {
            line.starts_with("* ") && line.contains("/connect")
        })
        .await;
    terminal.type_line("/quit").await;
    terminal.expect_end("/quit").await;
    let record = record_when(&server, "the end of the connection", |record| {
        record.ending.is_some()
    })
    .await;
    assert_eq!(
        record.received,
        vec![
            testkit::Frame::Text("hello".to_owned()),
            testkit::Frame::Text("/etc/hosts".to_owned()),
        ],
        "each typed line must be sent as one text message, \"//etc/hosts\" as \"/etc/hosts\" \
         (chapter 01, \"Task 5: The terminal client\")"
    );
}

/// The terminal's log of binary messages and of a failed connect.
async fn terminal_logs_binary_and_errors() {
    let short: Vec<u8> = vec![1, 2, 3];
    let long: Vec<u8> = (0..40).collect();
    let exact: Vec<u8> = (0..32).collect();
    let (first, second, third) = (short.clone(), long.clone(), exact.clone());
    let url = scripted_peer(move |mut socket| async move {
        let _ = socket.send(Message::Binary(first.into())).await;
        let _ = socket.send(Message::Binary(second.into())).await;
        let _ = socket.send(Message::Binary(third.into())).await;
        // Keep the connection until the client ends it.
        while let Some(Ok(_)) = socket.next().await {}
    })
    .await;
    let mut terminal = Terminal::start(url, true);
    terminal
        .expect_line("\"< [binary, 3 bytes] 01 02 03\"", |line| {
            line == "< [binary, 3 bytes] 01 02 03"
        })
        .await;
    let shown: Vec<String> = long.iter().take(32).map(|b| format!("{b:02x}")).collect();
    let expected = format!("< [binary, 40 bytes] {} …", shown.join(" "));
    terminal
        .expect_line(&format!("{expected:?} (32 bytes shown, then …)"), |line| {
            line == expected
        })
        .await;
    let shown: Vec<String> = exact.iter().map(|b| format!("{b:02x}")).collect();
    let expected = format!("< [binary, 32 bytes] {}", shown.join(" "));
    terminal
        .expect_line(&format!("{expected:?} (all 32 bytes, no …)"), |line| {
            line == expected
        })
        .await;

    let address = testkit::refused_addr().await;
    let mut terminal = Terminal::start(format!("ws://{address}/ws"), true);
    terminal
        .expect_line(
            "\"! error: …\" saying the connection was refused",
            |line| line.starts_with("! error") && line.to_lowercase().contains("refused"),
        )
        .await;
}

async fn terminal_refuses_to_send_while_disconnected() {
    let server = start_server().await;
    let mut terminal = Terminal::start(server.ws_url("/ws"), false);
    terminal
        .expect_line("\"* status: disconnected\" at the start", |line| {
            line == "* status: disconnected"
        })
        .await;
    terminal.type_line("hello").await;
    terminal
        .expect_line(
            "a line starting with \"! \" refusing to send while disconnected",
            |line| line.starts_with("! "),
        )
        .await;
    terminal.type_line("/connect").await;
    terminal
        .expect_line("\"* status: connected\" after /connect", |line| {
            line == "* status: connected"
        })
        .await;
    terminal.type_line("now").await;
    terminal
        .expect_line("\"< now\"", |line| line == "< now")
        .await;
    let record = server
        .connections()
        .into_iter()
        .next()
        .expect("the server has a record of the connection");
    assert_eq!(
        record.received,
        vec![testkit::Frame::Text("now".to_owned())],
        "a line typed while disconnected must be refused, not sent later \
         (chapter 01, \"Task 5: The terminal client\")"
    );
    assert!(
        terminal.seen.iter().all(|line| line != "> hello"),
        "\"hello\" was typed while disconnected and refused; it must not be logged as sent: {:?} \
         (chapter 01, \"Task 5: The terminal client\")",
        terminal.seen
    );
    // A close the server starts: the terminal logs it, forgets the
    // connection, and accepts /connect again.
    terminal.type_line("/disconnect").await;
    terminal
        .expect_line("\"* status: disconnected\" after /disconnect", |line| {
            line == "* status: disconnected"
        })
        .await;
    let closing = server.ws_url("/ws/close?code=4000&reason=bye&after_ms=100");
    terminal.type_line(&format!("/connect {closing}")).await;
    terminal
        .expect_line("\"* closed 4000 ...\" when the server closes", |line| {
            line.starts_with("* closed 4000")
        })
        .await;
    terminal
        .expect_line(
            "\"* status: disconnected\" after the server's Close",
            |line| line == "* status: disconnected",
        )
        .await;
    terminal.type_line("after").await;
    terminal
        .expect_line(
            "a line starting with \"! \" refusing to send after the server closed",
            |line| line.starts_with("! "),
        )
        .await;
    terminal.type_line("/connect").await;
    terminal
        .expect_line(
            "\"* status: connected\" after /connect, once the server had closed the last \
             connection (after Event::Closed the connection is forgotten)",
            |line| line == "* status: connected",
        )
        .await;
}

async fn terminal_refuses_commands_in_the_wrong_state() {
    let server = start_server().await;
    let mut terminal = Terminal::start(server.ws_url("/ws"), false);
    terminal.type_line("/disconnect").await;
    terminal
        .expect_line(
            "a line starting with \"! \" refusing /disconnect while disconnected",
            |line| line.starts_with("! "),
        )
        .await;
    terminal.type_line("/connect").await;
    terminal
        .expect_line("\"* status: connected\" after /connect", |line| {
            line == "* status: connected"
        })
        .await;
    terminal.type_line("/connect").await;
    terminal
        .expect_line(
            "a line starting with \"! \" refusing /connect while connected",
            |line| line.starts_with("! "),
        )
        .await;
    terminal.type_line("/status").await;
    terminal
        .expect_line("\"* status: connected\" after /status", |line| {
            line == "* status: connected"
        })
        .await;
    for unknown in ["/conect", "/foo bar"] {
        terminal.type_line(unknown).await;
        terminal
            .expect_line(
                &format!("a line starting with \"! \" refusing the unknown command {unknown:?}"),
                |line| line.starts_with("! "),
            )
            .await;
    }
    terminal.type_line("/status").await;
    terminal
        .expect_line(
            "\"* status: connected\" after /status (an unknown command changes nothing)",
            |line| line == "* status: connected",
        )
        .await;
    let total = server.stats().connections_total;
    assert_eq!(
        total, 1,
        "/connect while connected must be refused without opening a second connection; the \
         server saw {total} (chapter 01, \"Task 5: The terminal client\")"
    );
    terminal.type_line("/disconnect").await;
    terminal
        .expect_line("\"* status: disconnected\"", |line| {
            line == "* status: disconnected"
        })
        .await;
    terminal.type_line("/disconnect").await;
    terminal
        .expect_line(
            "a line starting with \"! \" refusing a second /disconnect",
            |line| line.starts_with("! "),
        )
        .await;
    let record = record_when(&server, "the end of the connection", |record| {
        record.ending.is_some()
    })
    .await;
    assert!(
        record.received.is_empty(),
        "only commands were typed (known ones and the unknown \"/conect\" and \"/foo bar\"); \
         none of them may be sent to the server, which received {:?} \
         (chapter 01, \"Task 5: The terminal client\")",
        record.received
    );
}

async fn terminal_binary_reads_stdin() {
    let server = start_server().await;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_wsterm"))
        .arg(server.ws_url("/ws"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the wsterm binary should start");
    // Drained all along (a full pipe would block wsterm); shown on failure.
    let mut stderr = child.stderr.take().expect("piped stderr");
    let stderr_text = tokio::spawn(async move {
        let mut text = String::new();
        let _ = tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut text).await;
        text
    });
    let mut stdin = child.stdin.take().expect("piped stdin");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    stdin
        .write_all(b"hello from stdin\n")
        .await
        .expect("wsterm should read its standard input");
    let mut seen = Vec::new();
    let echoed = tokio::time::timeout(EVENT_WAIT, async {
        while let Ok(Some(line)) = lines.next_line().await {
            seen.push(line.clone());
            if line.ends_with("< hello from stdin") {
                return true;
            }
        }
        false
    })
    .await;
    if !matches!(echoed, Ok(true)) {
        let _ = child.start_kill();
        let stderr = within(EVENT_WAIT, "wsterm's standard error", stderr_text)
            .await
            .unwrap_or_default();
        panic!(
            "wsterm, given the line \"hello from stdin\" on standard input, should print the \
             echo \"< hello from stdin\"; it printed {seen:?}{} \
             (chapter 01, \"Task 5: The terminal client\")",
            panic_in(&stderr)
        );
    }
    assert!(
        seen.iter().all(|line| is_stamped_now(line)),
        "with timestamps on (the default) every line starts with the time of day in UTC, \
         \"[HH:MM:SS.mmm] \"; got {seen:?} (chapter 01, \"Task 5: The terminal client\")"
    );
    drop(stdin); // the end of input: close properly and exit
    let status = within(
        Duration::from_secs(6),
        "wsterm to exit after the end of its input",
        child.wait(),
    )
    .await;
    assert!(
        status.as_ref().is_ok_and(|status| status.success()),
        "wsterm should exit successfully at the end of its input, got {status:?} \
         (chapter 01, \"Task 5: The terminal client\")"
    );
    let record = record_when(&server, "the end of the connection", |record| {
        record.ending.is_some()
    })
    .await;
    let code = record.close_received.as_ref().map(|close| close.code);
    assert_eq!(
        code,
        Some(1000),
        "at the end of input wsterm closes with 1000 before it exits; the server saw {code:?} \
         (chapter 01, \"Task 5: The terminal client\")"
    );
    wsterm_arguments().await;
}

/// Whether `line` starts with `[HH:MM:SS.mmm] ` and that time is the UTC
/// time of day now (within a minute).
fn is_stamped_now(line: &str) -> bool {
    let Some(stamp) = line.strip_prefix('[').and_then(|rest| rest.get(..13)) else {
        return false;
    };
    let bytes = stamp.as_bytes();
    let shape = bytes.len() == 13
        && bytes[2] == b':'
        && bytes[5] == b':'
        && bytes[8] == b'.'
        && &stamp[12..] == "]"
        && [0, 1, 3, 4, 6, 7, 9, 10, 11]
            .iter()
            .all(|&i| bytes[i].is_ascii_digit());
    if !shape || !line[13..].starts_with("] ") {
        return false;
    }
    let number = |range: std::ops::Range<usize>| stamp[range].parse::<u64>().unwrap_or(u64::MAX);
    let (hours, minutes, seconds) = (number(0..2), number(3..5), number(6..8));
    if hours > 23 || minutes > 59 || seconds > 59 {
        return false;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
        % 86_400;
    let stamped = hours * 3600 + minutes * 60 + seconds;
    let apart = now.abs_diff(stamped);
    apart.min(86_400 - apart) <= 60
}

/// Runs wsterm with `args`, standard input `input`, and returns its exit
/// status, standard output and standard error.
async fn run_wsterm(args: &[&str], input: &str) -> (std::process::ExitStatus, String, String) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_wsterm"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the wsterm binary should start");
    let mut stdin = child.stdin.take().expect("piped stdin");
    // wsterm may exit before it reads (--help): a broken pipe is fine.
    let _ = stdin.write_all(input.as_bytes()).await;
    drop(stdin);
    let output = within(
        Duration::from_secs(6),
        &format!("wsterm {} to exit", args.join(" ")),
        child.wait_with_output(),
    )
    .await
    .expect("wsterm's output");
    (
        output.status,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// wsterm's arguments (the binary is given complete).
async fn wsterm_arguments() {
    let section = "(chapter 01, \"Task 5: The terminal client\")";
    for help in ["--help", "-h"] {
        let (status, stdout, _) = run_wsterm(&[help], "").await;
        assert!(
            status.success() && stdout.starts_with("usage: wsterm"),
            "wsterm {help} prints the usage and exits successfully; it exited {status:?} and \
             printed {stdout:?} {section}"
        );
    }
    for (args, says) in [
        (&["--bogus"][..], "unknown option --bogus"),
        (
            &["ws://127.0.0.1:1/a", "ws://127.0.0.1:1/b"][..],
            "unexpected argument",
        ),
    ] {
        let (status, _, stderr) = run_wsterm(args, "").await;
        assert!(
            status.code() == Some(2) && stderr.contains(says),
            "wsterm {} is a usage error: exit code 2 and {says:?} on standard error; it exited \
             {status:?} and printed {stderr:?} {section}",
            args.join(" ")
        );
    }
    let server = start_server().await;
    let url = server.ws_url("/ws");
    let (status, stdout, stderr) =
        run_wsterm(&["--no-timestamps", "--no-connect", &url], "hi\n").await;
    assert!(
        status.success()
            && stdout
                .lines()
                .any(|line| line.starts_with("! not connected")),
        "wsterm --no-timestamps --no-connect URL starts without connecting, so a typed line is \
         refused with \"! not connected…\", with no timestamp; it exited {status:?} and printed \
         {stdout:?} {stderr:?} {section}"
    );
    assert!(
        server.connections().is_empty(),
        "with --no-connect wsterm must not connect; the server saw {:?} {section}",
        server.connections()
    );
}

/// The panic message in a process's standard error, if there is one, as
/// "; it panicked: …" (the line after "panicked at").
fn panic_in(stderr: &str) -> String {
    let mut lines = stderr
        .lines()
        .skip_while(|line| !line.contains("panicked at"));
    match (lines.next(), lines.next()) {
        (Some(_), Some(message)) => format!("; it panicked: {message}"),
        _ => String::new(),
    }
}
