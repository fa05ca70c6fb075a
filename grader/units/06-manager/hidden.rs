//! Hidden checks of unit 06: deduplicated concurrent connects, teardown with
//! nothing left running, slow subscribers, the health check, the pool
//! limit, sending while disconnected, the one writer, `wss://`, and topic
//! subscriptions restored after a reconnect, and a heap that stays flat
//! over repeated abrupt disconnects.

use std::collections::BTreeSet;
use std::time::Duration;

use checkkit::within;
use futures_util::StreamExt;
use manager::{Event, Manager, ManagerError, ManagerOptions, SendError, Status, Subscription};
use testkit::{Frame, IdleCutRelay, TestServer, TlsEndpoint};

checkkit::checks! {
    concurrent_connects_open_one_socket,
    last_subscriber_dropped_closes_and_leaves_no_task,
    slow_subscriber_does_not_block_the_others,
    silent_peer_is_detected_and_reconnected,
    pool_limit_gives_a_clear_error,
    send_fails_when_not_connected,
    concurrent_sends_arrive_as_whole_frames,
    keepalive_survives_an_idle_cutting_relay,
    abrupt_disconnects_leave_no_task,
    wss_with_the_given_root_echoes_and_without_it_is_refused,
    subscriptions_are_restored_after_a_reconnect,
    memory_stays_flat_over_abrupt_disconnects,
    reconnects_with_doubling_waits_until_it_succeeds,
}

/// Counts the live bytes of this check binary's heap (`cap`: a safe wrapper
/// around the system allocator; graded builds forbid `unsafe`).
#[global_allocator]
static HEAP: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);

/// Generous for anything on loopback.
const WAIT: Duration = Duration::from_secs(5);

async fn start() -> TestServer {
    TestServer::start()
        .await
        .expect("the testkit server starts")
}

async fn subscribe(manager: &Manager, url: &str) -> Subscription {
    within(WAIT, "connect", manager.connect(url)).await.expect(
        "connect to the testkit server succeeds (chapter 06, \"Task 1: One connection per URL\")",
    )
}

/// Live tasks of this check's runtime.
fn live_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

async fn concurrent_connects_open_one_socket() {
    let server = start().await;
    let url = server.ws_url("/ws");
    let manager = Manager::new(ManagerOptions::default());
    let joins: Vec<_> = (0..20)
        .map(|_| {
            let manager = manager.clone();
            let url = url.clone();
            tokio::spawn(async move { manager.connect(&url).await })
        })
        .collect();
    let mut subscriptions = Vec::new();
    for join in joins {
        let outcome = within(WAIT, "20 concurrent connects", join)
            .await
            .expect("a connect task panicked");
        subscriptions.push(outcome.expect(
            "every concurrent connect succeeds (chapter 06, \"Task 1: One connection per URL\")",
        ));
    }
    assert_eq!(
        server.stats().connections_total,
        1,
        "20 concurrent connects to one URL must open exactly one socket; the server saw {}. \
         Look up or start the connection in one critical section, and let the others wait \
         for the attempt in flight (chapter 06, \"Task 1: One connection per URL\")",
        server.stats().connections_total
    );
    let stats = manager
        .stats(&url)
        .expect("stats(url) is Some while subscribed");
    assert_eq!(
        stats.subscriber_count, 20,
        "20 subscriptions are alive, stats said {} (chapter 06, \"Task 1: One connection per URL\")",
        stats.subscriber_count
    );
    // The attempt in flight fails: every caller waiting for it gets its error.
    let refused = format!("ws://{}/ws", testkit::refused_addr().await);
    let joins: Vec<_> = (0..10)
        .map(|_| {
            let manager = manager.clone();
            let url = refused.clone();
            tokio::spawn(async move { manager.connect(&url).await })
        })
        .collect();
    for join in joins {
        let outcome = within(WAIT, "10 concurrent connects to a closed port", join)
            .await
            .expect("a connect task panicked");
        assert!(
            matches!(outcome, Err(ManagerError::Connect { .. })),
            "10 concurrent connects to a port nobody listens on: each waits for the one attempt \
             in flight and must get its outcome, ManagerError::Connect; got {:?} \
             (chapter 06, \"Waiting for the attempt in flight\")",
            outcome.map(|_| "a subscription")
        );
    }
}

async fn last_subscriber_dropped_closes_and_leaves_no_task() {
    let server = start().await;
    let url = server.ws_url("/ws");
    let manager = Manager::new(ManagerOptions::default());
    let first = subscribe(&manager, &url).await;
    let second = subscribe(&manager, &url).await;
    drop(first);
    // One subscriber left: the connection must stay.
    within(WAIT, "an echo", second.send_text("still here"))
        .await
        .expect("with one subscription left the connection stays open (chapter 06, \"Task 5: Nothing left behind\")");
    drop(second);
    let closed = server
        .wait_until(WAIT, |server| {
            server
                .connections()
                .first()
                .is_some_and(|record| record.ending.is_some())
        })
        .await;
    assert!(
        closed.is_ok(),
        "after the last subscription was dropped the server's connection must end (chapter 06, \"Task 5: Nothing left behind\")"
    );
    let record = server.connections().remove(0);
    let code = record.close_received.as_ref().map(|close| close.code);
    assert!(
        code == Some(1000),
        "the socket must be closed with a Close frame with code 1000, not dropped and not another \
         code; the server got {code:?} and saw {:?} (chapter 06, \"Task 5: Nothing left behind\")",
        record.ending
    );
    assert!(
        manager.stats(&url).is_none(),
        "after the last subscription was dropped stats(url) must be None (chapter 06, \"Task 5: Nothing left behind\")"
    );
    server.shutdown().await;
    let no_task_left = within(WAIT, "the runtime's live tasks to reach 0", async {
        while live_tasks() > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    if tokio::time::timeout(WAIT, no_task_left).await.is_err() || live_tasks() > 0 {
        panic!(
            "{} task(s) still running after the last subscription was dropped and the server stopped: \
             the connection task (and anything it spawned) must end (chapter 06, \"Task 5: Nothing left behind\")",
            live_tasks()
        );
    }
}

async fn slow_subscriber_does_not_block_the_others() {
    let server = start().await;
    let url = server.ws_url("/ws");
    let options = ManagerOptions {
        subscriber_buffer: 8,
        ..ManagerOptions::default()
    };
    let manager = Manager::new(options);
    let mut slow = subscribe(&manager, &url).await;
    let mut fast = subscribe(&manager, &url).await;
    // `slow` reads nothing while `fast` sends 50 messages and reads each echo.
    for n in 0..50 {
        let text = format!("message {n}");
        within(WAIT, "send_text", fast.send_text(&text))
            .await
            .expect("send_text succeeds (chapter 06, \"Task 4: Sending through the one writer\")");
        let event = tokio::time::timeout(WAIT, fast.next_event()).await;
        assert_eq!(
            event.ok().flatten(),
            Some(Event::Text(text.clone())),
            "the fast subscriber must get echo {n} while another subscriber reads nothing: \
             the fan-out must never wait for a full queue (chapter 06, \"Task 2: Fan-out and slow subscribers\")"
        );
    }
    let mut texts = 0;
    while let Ok(Some(event)) =
        tokio::time::timeout(Duration::from_millis(200), slow.next_event()).await
    {
        assert!(
            matches!(event, Event::Text(_)),
            "the slow subscriber's queue holds the first messages, got {event:?} (chapter 06, \"Task 2: Fan-out and slow subscribers\")"
        );
        texts += 1;
    }
    assert!(
        texts <= 8,
        "the slow subscriber's queue must be bounded by subscriber_buffer = 8, it held {texts} (chapter 06, \"Task 2: Fan-out and slow subscribers\")"
    );
    within(WAIT, "send_text", fast.send_text("last"))
        .await
        .expect("send_text succeeds");
    let lagged = within(WAIT, "the slow subscriber's next event", slow.next_event()).await;
    assert_eq!(
        lagged,
        Some(Event::Lagged { missed: 50 - texts }),
        "after draining its queue the slow subscriber must be told how many messages it missed \
         (chapter 06, \"Task 2: Fan-out and slow subscribers\")"
    );
    let last = within(WAIT, "the slow subscriber's next event", slow.next_event()).await;
    assert_eq!(
        last,
        Some(Event::Text("last".to_owned())),
        "after Lagged the slow subscriber receives new messages again (chapter 06, \"Task 2: Fan-out and slow subscribers\")"
    );
}

/// Ping often, allow little silence: a silent peer is found within 500 ms.
fn quick_health_check() -> ManagerOptions {
    ManagerOptions {
        ping_interval: Duration::from_millis(200),
        pong_timeout: Duration::from_millis(300),
        ..ManagerOptions::default()
    }
}

async fn silent_peer_is_detected_and_reconnected() {
    let server = start().await;
    let manager = Manager::new(quick_health_check());

    // A healthy peer answers the pings: no reconnection.
    let healthy_url = server.ws_url("/ws");
    let healthy = subscribe(&manager, &healthy_url).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        server.stats().connections_total,
        1,
        "a peer that answers every ping must not be declared dead: any frame heard, a Pong too, \
         moves the deadline (chapter 06, \"Task 3: The health check\")"
    );
    drop(healthy);

    // The half-open peer stops reading and answering after the handshake.
    let silent_url = server.ws_url("/ws?silent_after=0");
    let mut subscriber = subscribe(&manager, &silent_url).await;
    let started = tokio::time::Instant::now();
    let reconnected = server
        .wait_until(Duration::from_secs(3), |server| {
            server
                .connections()
                .iter()
                .filter(|record| record.query == "silent_after=0")
                .count()
                >= 2
        })
        .await;
    assert!(
        reconnected.is_ok(),
        "a peer that stopped answering pings must be declared dead within ping_interval + \
         pong_timeout (500 ms here) and a new connection opened; nothing happened in 3 s \
         (chapter 06, \"Task 3: The health check\")"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(350),
        "the silent peer was given up after {:?}, before the health-check window of 500 ms \
         (chapter 06, \"Task 3: The health check\")",
        started.elapsed()
    );
    let event = within(WAIT, "Event::Reconnected", subscriber.next_event()).await;
    assert_eq!(
        event,
        Some(Event::Reconnected),
        "after a new socket opens, subscribers receive Event::Reconnected (chapter 06, \"Task 3: The health check\")"
    );
}

async fn pool_limit_gives_a_clear_error() {
    let server = start().await;
    let options = ManagerOptions {
        max_connections: 2,
        ..ManagerOptions::default()
    };
    let manager = Manager::new(options);
    let (a, b, c) = (
        server.ws_url("/ws?delay_ms=1"),
        server.ws_url("/ws?delay_ms=2"),
        server.ws_url("/ws?delay_ms=3"),
    );
    let first = subscribe(&manager, &a).await;
    let _second = subscribe(&manager, &b).await;
    let _again = subscribe(&manager, &a).await; // same URL: no new slot needed
    match within(WAIT, "a third URL's connect", manager.connect(&c)).await {
        Err(ManagerError::PoolFull { limit, url }) => assert_eq!(
            (limit, url.as_str()),
            (2, c.as_str()),
            "PoolFull {{ url, limit }} must carry the limit and the URL that was refused \
             (chapter 06, \"The pool limit\")"
        ),
        Err(other) => panic!(
            "a third URL with max_connections = 2 must give ManagerError::PoolFull, got {other:?} \
             (chapter 06, \"The pool limit\")"
        ),
        Ok(_) => panic!(
            "a third URL with max_connections = 2 must be refused with ManagerError::PoolFull, \
             but it connected (chapter 06, \"The pool limit\")"
        ),
    }
    assert_eq!(
        server.stats().connections_total,
        2,
        "a refused connect must not open a socket (chapter 06, \"The pool limit\")"
    );
    drop(first);
    drop(_again);
    let freed = within(WAIT, "a slot to be freed", async {
        loop {
            match manager.connect(&c).await {
                Ok(subscription) => return subscription,
                Err(ManagerError::PoolFull { .. }) => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(other) => panic!("connect failed: {other:?}"),
            }
        }
    })
    .await;
    drop(freed);
}

async fn send_fails_when_not_connected() {
    let server = start().await;
    let url = server.ws_url("/ws");
    let manager = Manager::new(ManagerOptions::default());
    let subscriber = subscribe(&manager, &url).await;
    server.shutdown().await;
    within(WAIT, "the status to leave Connected", async {
        while matches!(subscriber.status(), Status::Connected) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    let outcome = within(
        WAIT,
        "send_text while disconnected",
        subscriber.send_text("lost?"),
    )
    .await;
    assert!(
        matches!(outcome, Err(SendError::NotConnected)),
        "send_text while the connection is down must fail at once with SendError::NotConnected, \
         got {outcome:?} (chapter 06, \"Task 4: Sending through the one writer\")"
    );
    let stats = manager
        .stats(&url)
        .expect("the connection is still in the pool");
    assert!(
        !stats.is_connected && stats.is_connecting,
        "while reconnecting, stats say not connected and connecting, got {stats:?} (chapter 06, \"Task 1: One connection per URL\")"
    );
}

async fn concurrent_sends_arrive_as_whole_frames() {
    let server = start().await;
    let url = server.ws_url("/ws?echo=false");
    let manager = Manager::new(ManagerOptions::default());
    let subscriber = subscribe(&manager, &url).await;
    let sends = (0..500).map(|n| {
        let subscriber = &subscriber;
        async move { subscriber.send_text(&format!("frame {n:03}")).await }
    });
    let outcomes = within(
        WAIT,
        "500 concurrent sends",
        futures_util::future::join_all(sends),
    )
    .await;
    for outcome in outcomes {
        outcome
            .expect("every send succeeds (chapter 06, \"Task 4: Sending through the one writer\")");
    }
    let arrived = server
        .wait_until(WAIT, |server| {
            server
                .connections()
                .first()
                .is_some_and(|record| record.received.len() >= 500)
        })
        .await;
    assert!(
        arrived.is_ok(),
        "500 concurrent sends must arrive as 500 frames (chapter 06, \"Task 4: Sending through the one writer\")"
    );
    let received: BTreeSet<String> = server.connections()[0]
        .received
        .iter()
        .map(|frame| match frame {
            Frame::Text(text) => text.clone(),
            Frame::Binary(_) => String::from("<binary>"),
        })
        .collect();
    let expected: BTreeSet<String> = (0..500).map(|n| format!("frame {n:03}")).collect();
    assert_eq!(
        received, expected,
        "each of the 500 messages must arrive once, whole (chapter 06, \"Task 4: Sending through the one writer\")"
    );
}

async fn keepalive_survives_an_idle_cutting_relay() {
    let server = start().await;
    // The syllabus's numbers are a 2 s cut and 10 s of silence; the same
    // ratio, five times shorter.
    let idle_cut = Duration::from_millis(400);
    let silence = Duration::from_secs(2);
    let relay = IdleCutRelay::start(server.addr(), idle_cut)
        .await
        .expect("the relay starts");
    let options = ManagerOptions {
        ping_interval: Duration::from_millis(100),
        pong_timeout: Duration::from_millis(300),
        ..ManagerOptions::default()
    };
    let manager = Manager::new(options);
    let mut subscriber = subscribe(&manager, &relay.ws_url("/ws")).await;
    // The server sends no data at all for five times the relay's limit.
    let heard = tokio::time::timeout(silence, subscriber.next_event()).await;
    assert!(
        heard.is_err(),
        "nothing was sent, yet the subscriber got {heard:?}: the connection was lost behind a relay \
         that cuts after {idle_cut:?} of silence; ping every ping_interval so that bytes keep \
         flowing (chapter 06, \"Half-open connections and the health check\")"
    );
    assert_eq!(
        (relay.cuts(), server.stats().connections_total),
        (0, 1),
        "(cuts by the relay, connections at the server) after {silence:?} of server silence: \
         the client's pings must keep the connection through a relay that cuts after {idle_cut:?} \
         (chapter 06, \"Half-open connections and the health check\")"
    );
    within(WAIT, "send_text", subscriber.send_text("still open"))
        .await
        .expect("the connection is still open after the silence");
    let echo = within(WAIT, "the echo", subscriber.next_event()).await;
    assert_eq!(echo, Some(Event::Text("still open".to_owned())));
}

/// Kills `server` without a Close (its tasks aborted, its sockets dropped),
/// waits until every subscription has noticed, drops them all, and returns
/// whether every task of ours ended within [`WAIT`].
async fn lose_abruptly(server: TestServer, subscriptions: Vec<Subscription>) -> bool {
    drop(server);
    within(WAIT, "every connection to notice the loss", async {
        while subscriptions
            .iter()
            .any(|subscription| matches!(subscription.status(), Status::Connected))
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    drop(subscriptions);
    tokio::time::timeout(WAIT, async {
        while live_tasks() > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .is_ok()
}

/// Connections per cycle and cycles, from the syllabus's lesson on orphaned tasks.
const ABRUPT_CONNECTIONS: usize = 200;
const ABRUPT_CYCLES: usize = 5;

async fn abrupt_disconnects_leave_no_task() {
    let options = ManagerOptions {
        max_connections: ABRUPT_CONNECTIONS,
        ..ManagerOptions::default()
    };
    let manager = Manager::new(options);
    for cycle in 1..=ABRUPT_CYCLES {
        let server = start().await;
        let mut subscriptions = Vec::with_capacity(ABRUPT_CONNECTIONS);
        for n in 0..ABRUPT_CONNECTIONS {
            let url = server.ws_url(&format!("/ws?delay_ms={n}"));
            subscriptions.push(subscribe(&manager, &url).await);
        }
        let drained = lose_abruptly(server, subscriptions).await;
        assert!(
            drained,
            "cycle {cycle} of {ABRUPT_CYCLES}: {ABRUPT_CONNECTIONS} connections were lost abruptly \
             and every subscription dropped, yet {} task(s) still run: a connection that is \
             reconnecting must still end when its last subscription goes \
             (chapter 06, \"Task 5: Nothing left behind\")",
            live_tasks()
        );
        assert_eq!(
            manager.open_connections(),
            0,
            "cycle {cycle}: the pool must hold no live connection (chapter 06, \"Task 5: Nothing left behind\")"
        );
    }
}

async fn wss_with_the_given_root_echoes_and_without_it_is_refused() {
    let server = start().await;
    let endpoint = TlsEndpoint::start(server.addr())
        .await
        .expect("the testkit's TLS endpoint starts");
    let url = endpoint.wss_url("/ws");

    // Without the root, the self-signed certificate must not be trusted.
    let untrusting = Manager::new(ManagerOptions::default());
    let refused = within(WAIT, "connect without the root", untrusting.connect(&url)).await;
    assert!(
        matches!(refused, Err(ManagerError::Connect { .. })),
        "connecting to {url} without its root certificate must fail with ManagerError::Connect \
         (the certificate is self-signed), got {refused:?}; never turn verification off \
         (chapter 06, \"Task 6: wss:// with your own root\")"
    );

    let options = ManagerOptions {
        root_certificates: vec![endpoint.root_cert_der().to_vec()],
        ..ManagerOptions::default()
    };
    let manager = Manager::new(options);
    let subscriber = within(WAIT, "connect over wss", manager.connect(&url))
        .await
        .unwrap_or_else(|error| {
            panic!(
                "connecting to {url} trusting the endpoint's root certificate failed: {error:?} \
                 (chapter 06, \"Task 6: wss:// with your own root\")"
            )
        });
    let mut subscriber = subscriber;
    within(WAIT, "send_text over wss", subscriber.send_text("over tls"))
        .await
        .expect("sending over wss succeeds");
    let echo = within(WAIT, "the echo over wss", subscriber.next_event()).await;
    assert_eq!(echo, Some(Event::Text("over tls".to_owned())));
    assert_eq!(
        endpoint.handshakes(),
        1,
        "one TLS handshake: the connection that echoed (the refused one failed its handshake)"
    );
    assert!(
        manager::tls_connector(&[b"not a certificate".to_vec()]).is_err(),
        "a malformed root certificate must be an error, not a panic and not ignored"
    );
}

/// Texts the server received on its `index`-th connection.
fn received_on(server: &TestServer, index: usize) -> Vec<String> {
    server
        .connections()
        .get(index)
        .map(|record| {
            record
                .received
                .iter()
                .map(|frame| match frame {
                    Frame::Text(text) => text.clone(),
                    Frame::Binary(_) => String::from("<binary>"),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The next Text event, skipping nothing: anything else is a failure.
async fn next_text(subscriber: &mut Subscription, what: &str) -> Option<Event> {
    tokio::time::timeout(WAIT, subscriber.next_event())
        .await
        .unwrap_or_else(|_| panic!("timed out after {WAIT:?} waiting for {what}"))
}

async fn subscriptions_are_restored_after_a_reconnect() {
    // Real time, not a paused clock: the sockets are real, and with a paused
    // clock tokio would jump over every timeout while the runtime waits for
    // them. The only timer involved is the first reconnection delay (100 ms).
    let server = start().await;
    // The testkit's topic server closes each connection after 4 messages
    // from the client; a new connection starts subscribed to nothing.
    let url = server.ws_url("/ws/topics?close_after=4");
    let manager = Manager::new(ManagerOptions::default());
    let mut reader = subscribe(&manager, &url).await;
    // Not in alphabetical order: the order made is the order restored.
    for request in ["subscribe weather", "subscribe news"] {
        within(WAIT, "subscribe_topic", reader.subscribe_topic(request))
            .await
            .expect("subscribe_topic succeeds while connected (chapter 06, \"Task 7: Subscriptions survive a reconnect\")");
    }
    let subscribed = server
        .wait_until(WAIT, |server| received_on(server, 0).len() == 2)
        .await;
    assert!(
        subscribed.is_ok(),
        "two subscribe_topic calls must reach the server as two messages, it received {:?} \
         (chapter 06, \"Task 7: Subscriptions survive a reconnect\")",
        received_on(&server, 0)
    );
    server.publish("news", "before");
    assert_eq!(
        next_text(&mut reader, "the first published message").await,
        Some(Event::Text("news before".to_owned())),
        "a message on a subscribed topic reaches the subscriber"
    );
    // A subscription dropped before the reconnect (and before any message
    // could show the task it is gone): its topic must stay gone.
    let gone = subscribe(&manager, &url).await;
    within(
        WAIT,
        "subscribe_topic",
        gone.subscribe_topic("subscribe sports"),
    )
    .await
    .expect("subscribe_topic succeeds while connected");
    drop(gone);
    // The fourth message makes the server close this connection (1000).
    within(WAIT, "send_text", reader.send_text("bye"))
        .await
        .expect("send_text succeeds while connected");
    let reconnected = server
        .wait_until(WAIT, |server| server.stats().connections_total >= 2)
        .await;
    assert!(
        reconnected.is_ok(),
        "the server closed the connection; the manager must reconnect (chapter 06, \"Task 3: The health check\")"
    );
    assert_eq!(
        next_text(&mut reader, "Event::Reconnected").await,
        Some(Event::Reconnected),
        "after a new socket opens, subscribers receive Event::Reconnected (chapter 06, \"Task 3: The health check\")"
    );
    // A marker after the reconnect: what the server received before it is
    // everything the manager sent on the new socket on its own.
    within(WAIT, "send_text", reader.send_text("marker"))
        .await
        .expect("send_text succeeds once reconnected");
    let marked = server
        .wait_until(WAIT, |server| {
            received_on(server, 1).iter().any(|text| text == "marker")
        })
        .await;
    assert!(
        marked.is_ok(),
        "a message sent after Event::Reconnected must reach the server on the new connection, \
         which received {:?} (chapter 06, \"Task 4: Sending through the one writer\")",
        received_on(&server, 1)
    );
    let resent: Vec<String> = received_on(&server, 1)
        .into_iter()
        .take_while(|text| text != "marker")
        .collect();
    assert_eq!(
        resent,
        ["subscribe weather", "subscribe news"],
        "after the reconnect, before anything else, the new connection must receive the live \
         subscription's topic requests again, in the order they were made: a server forgets a \
         connection's subscriptions when the socket goes. Nothing may come back for the \
         subscription dropped before (\"subscribe sports\") \
         (chapter 06, \"Task 7: Subscriptions survive a reconnect\")"
    );
    server.publish("sports", "after");
    server.publish("news", "after");
    server.publish("weather", "after");
    for expected in ["news after", "weather after"] {
        assert_eq!(
            next_text(&mut reader, expected).await,
            Some(Event::Text(expected.to_owned())),
            "after the reconnect, messages on the restored topics reach the subscriber again \
             (chapter 06, \"Task 7: Subscriptions survive a reconnect\")"
        );
    }
}

/// Connections per cycle, warm-up cycles, measured cycles.
const MEMORY_CONNECTIONS: usize = 50;
const MEMORY_WARM_UP: usize = 3;
const MEMORY_CYCLES: usize = 10;
/// What the heap may grow by over the measured cycles. Every one of the
/// 500 connections made then is gone, so a correct manager returns to its
/// baseline; this slack is for the runtime's own bookkeeping (a queue that
/// grew, a blocking thread started). Keeping each dead connection's
/// channels (kilobytes each) grows the heap by megabytes.
const MEMORY_SLACK: usize = 256 * 1024;

/// One cycle: `MEMORY_CONNECTIONS` connections to a fresh server, one echo
/// each, the server killed without a Close, every subscription dropped, and
/// then nothing of it left: no task of ours or the server's.
async fn abrupt_cycle(manager: &Manager, cycle: usize) {
    let server = start().await;
    let probe = server.probe();
    let mut subscriptions = Vec::with_capacity(MEMORY_CONNECTIONS);
    for n in 0..MEMORY_CONNECTIONS {
        // One URL per connection; the option only matters for a Close, and
        // none is sent.
        let url = server.ws_url(&format!("/ws?close_reply_delay_ms={n}"));
        let mut subscription = subscribe(manager, &url).await;
        within(WAIT, "send_text", subscription.send_text("ping"))
            .await
            .expect("send_text succeeds while connected");
        within(WAIT, "the echo", subscription.next_event()).await;
        subscriptions.push(subscription);
    }
    let drained = lose_abruptly(server, subscriptions).await;
    assert!(
        drained && probe.wait_stopped(WAIT).await,
        "cycle {cycle}: {MEMORY_CONNECTIONS} connections were lost abruptly and every \
         subscription dropped, yet {} task(s) still run (chapter 06, \"Task 5: Nothing left behind\")",
        live_tasks()
    );
}

async fn memory_stays_flat_over_abrupt_disconnects() {
    // The heap is the whole process's: measure where no other check runs.
    if !checkkit::alone("memory_stays_flat_over_abrupt_disconnects") {
        return;
    }
    // Room for every connection the check makes: nothing forces a clean-up.
    let options = ManagerOptions {
        max_connections: (MEMORY_WARM_UP + MEMORY_CYCLES + 1) * MEMORY_CONNECTIONS,
        ..ManagerOptions::default()
    };
    let manager = Manager::new(options);
    // The first cycles size what the runtime keeps for itself (queues, the
    // I/O driver's tables, a blocking thread for address lookups).
    for cycle in 1..=MEMORY_WARM_UP {
        abrupt_cycle(&manager, cycle).await;
    }
    let baseline = HEAP.allocated();
    let mut after = Vec::with_capacity(MEMORY_CYCLES);
    for cycle in 1..=MEMORY_CYCLES {
        abrupt_cycle(&manager, MEMORY_WARM_UP + cycle).await;
        after.push(HEAP.allocated());
    }
    // The highest point, not the last: a pool that is only swept when full
    // also comes back down, once it holds max_connections dead entries.
    let highest = after.iter().copied().max().unwrap_or(baseline);
    let growth = highest.saturating_sub(baseline);
    let series: Vec<String> = after
        .iter()
        .map(|bytes| format!("{:+}", *bytes as i64 - baseline as i64))
        .collect();
    assert!(
        growth < MEMORY_SLACK,
        "the heap must return to where it was once connections are gone: after \
         {MEMORY_CYCLES} more cycles of {MEMORY_CONNECTIONS} connections lost abruptly \
         (every subscription dropped, every task ended) it had grown by up to {growth} bytes \
         (allowed: {MEMORY_SLACK}); bytes after each cycle compared with the start: [{}]. \
         Something keeps each dead connection's state: a pool entry that is never removed, \
         a channel or a subscriber list that only grows \
         (chapter 06, \"Task 5: Nothing left behind\")",
        series.join(", ")
    );
}

/// A peer whose first connection is accepted and lost at the client's
/// first message, whose next
/// `failures` connections are cut before the handshake, and whose next one
/// is accepted and kept: it records when each connection arrived.
async fn flaky_peer(
    failures: usize,
) -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<std::time::Instant>>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port for the flaky peer");
    let url = format!(
        "ws://{}/ws",
        listener.local_addr().expect("the flaky peer's address")
    );
    let arrivals = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = arrivals.clone();
    tokio::spawn(async move {
        let mut kept = Vec::new();
        // Bounded: the first, the failures, the last, and a few more that
        // a wrong solution might make.
        for index in 0..failures + 40 {
            let Ok(Ok((tcp, _))) = tokio::time::timeout(WAIT * 4, listener.accept()).await else {
                return;
            };
            seen.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(std::time::Instant::now());
            let keep = index == failures + 1;
            if index == 0 || keep {
                match tokio_tungstenite::accept_async(tcp).await {
                    Ok(socket) if keep => kept.push(socket),
                    // The first is lost without a Close when the client's
                    // first message arrives (so its subscriber is in).
                    Ok(mut socket) => {
                        let _ = tokio::time::timeout(WAIT, socket.next()).await;
                    }
                    Err(_) => {}
                }
            }
            // The others are dropped at once: the attempt fails.
        }
    });
    (url, arrivals)
}

async fn reconnects_with_doubling_waits_until_it_succeeds() {
    let section = "chapter 06, \"Task 3: The health check\": reconnect with doubling delays";
    let failures = 3;
    let (url, arrivals) = flaky_peer(failures).await;
    let manager = Manager::new(ManagerOptions::default());
    let mut subscriber = subscribe(&manager, &url).await;
    assert_eq!(
        subscriber.url(),
        url,
        "Subscription::url is the URL it was made for ({section})"
    );
    assert_eq!(
        manager.open_connections(),
        1,
        "one URL connected: open_connections() is 1 ({section})"
    );
    // The peer drops the connection when this arrives. Then `failures`
    // failed attempts, then a good one: 100 + 200 + 400 + 800 ms of waiting.
    within(WAIT, "send_text", subscriber.send_text("go"))
        .await
        .expect("send_text succeeds while connected");
    let event = next_text(
        &mut subscriber,
        "Event::Reconnected after the failed attempts",
    )
    .await;
    let times = arrivals
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    assert_eq!(
        event,
        Some(Event::Reconnected),
        "the connection was lost and the next {failures} attempts failed: the manager keeps \
         trying, and the fifth connection succeeds with Event::Reconnected; the peer saw {} \
         connections ({section})",
        times.len()
    );
    let gaps: Vec<Duration> = times.windows(2).map(|pair| pair[1] - pair[0]).collect();
    let wanted: Vec<Duration> = (0..=failures as u32)
        .map(|k| manager::RECONNECT_INITIAL * 2_u32.pow(k))
        .collect();
    let right = gaps.len() == wanted.len()
        && gaps
            .iter()
            .zip(&wanted)
            .all(|(gap, wanted)| *gap >= wanted.mul_f64(0.9));
    assert!(
        right,
        "after a loss the manager waits RECONNECT_INITIAL ({:?}), then twice as long after each \
         failed attempt: gaps of at least {wanted:?} between the {} connections; it made {} \
         connections with gaps {gaps:?} ({section})",
        manager::RECONNECT_INITIAL,
        wanted.len() + 1,
        times.len()
    );
    assert_eq!(
        manager.open_connections(),
        1,
        "reconnected: open_connections() is 1 ({section})"
    );
}
