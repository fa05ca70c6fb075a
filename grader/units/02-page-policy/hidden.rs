//! Hidden checks of unit 02: the table's errors and their lines, patterns
//! and specificity from TOML, and a real connection driven through route
//! changes while the testkit server counts the sockets it saw.
//!
//! Run against the reference solution by `cargo test -p page-policy --test
//! hidden`; the grader runs them against a learner's `src/`.

use std::time::{Duration, Instant};

use checkkit::within;
use page_policy::{
    Action, Auth, CONNECT_TIMEOUT, ConnectionType, Driver, DriverError, DriverEvent, EndReason,
    Endpoints, PatternError, Policy, PolicyTable, RoutePattern, Segment, TableError,
};
use testkit::{ConnectionRecord, Ending, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

checkkit::checks! {
    unknown_key_is_reported_with_its_line,
    bad_pattern_is_reported_with_its_line,
    duplicate_route_is_reported_with_both_lines,
    other_table_errors_have_lines,
    params_and_wildcards_from_toml,
    most_specific_wins_in_any_order,
    same_type_pages_keep_the_socket,
    another_type_reconnects_cleanly,
    losing_auth_disconnects,
    token_travels_on_connect,
    bad_token_is_reported_as_unauthorized,
    network_failure_is_not_unauthorized,
    the_connection_is_real,
}

/// How long a check waits for one thing from a local server.
const WAIT: Duration = Duration::from_secs(3);

/// A table in the course's shape, with patterns. Routes and lines matter:
/// the error checks count on them.
const APP_TABLE: &str = r#"
[[page]]
route = "/chat"
enabled = true
require_auth = true
auto_connect = true
connection_type = "chat"
features = ["messaging", "typing_indicator"]

[[page]]
route = "/chat/:room"
enabled = true
require_auth = true
auto_connect = true
connection_type = "chat"
features = ["messaging"]

[[page]]
route = "/admin/*"
enabled = true
require_auth = true
auto_connect = true
connection_type = "admin"
features = ["system_notifications"]

[[page]]
route = "/news"
enabled = true
auto_connect = true
connection_type = "chat"

[[page]]
route = "/login"
connection_type = "none"
"#;

// ---------------------------------------------------------------- helpers

fn load(text: &str) -> PolicyTable {
    match PolicyTable::from_toml(text) {
        Ok(table) => table,
        Err(error) => panic!(
            "this table must load, got: {error}\n{text}\n(chapter 02, \"Task 4: Loading the table\")"
        ),
    }
}

fn load_error(text: &str) -> TableError {
    match PolicyTable::from_toml(text) {
        Ok(table) => panic!(
            "this table must be refused, but it loaded as {table:?}:\n{text}\n\
             (chapter 02, \"Task 4: Loading the table\")"
        ),
        Err(error) => error,
    }
}

async fn start_server() -> TestServer {
    TestServer::start()
        .await
        .expect("the testkit server should start")
}

/// The chat endpoint: the token-checked one. The server pings an accepted
/// connection every 20 ms; a Pong is the proof that it took the token and
/// that the connection is alive. (A rejected one gets Close 4401 at once,
/// and no Ping.)
const CHAT_QUERY: &str = "ping_ms=20";
/// The admin endpoint: the same, told apart by a harmless option.
const ADMIN_QUERY: &str = "ping_ms=20&delay_ms=1";

fn endpoints(server: &TestServer) -> Endpoints {
    Endpoints::new()
        .with("chat", server.ws_url(&format!("/ws/auth?{CHAT_QUERY}")))
        .with("admin", server.ws_url(&format!("/ws/auth?{ADMIN_QUERY}")))
}

fn driver(server: &TestServer) -> Driver {
    Driver::new(Policy::new(load(APP_TABLE)), endpoints(server))
}

fn user() -> Auth {
    Auth::signed_in(testkit::DEFAULT_TOKEN)
}

/// Navigates and expects `expected`.
async fn go(driver: &mut Driver, route: &str, auth: &Auth, expected: Action, section: &str) {
    let result = within(
        WAIT + WAIT,
        &format!("navigate({route:?})"),
        driver.navigate(route, auth),
    )
    .await;
    match result {
        Ok(action) => assert_eq!(
            action, expected,
            "navigate({route:?}, {auth:?}) must give {expected:?} (chapter 02, \"{section}\")"
        ),
        Err(error) => panic!(
            "navigate({route:?}, {auth:?}) failed: {error} (expected {expected:?}; \
             chapter 02, \"{section}\")"
        ),
    }
}

/// Waits until the server's records satisfy `done`.
async fn wait_for(
    server: &TestServer,
    what: &str,
    done: impl Fn(&[ConnectionRecord]) -> bool,
) -> Vec<ConnectionRecord> {
    let waited = server
        .wait_until(WAIT, |server| done(&server.connections()))
        .await;
    let records = server.connections();
    if waited.is_err() {
        panic!("timed out after {WAIT:?} waiting for {what}; the server saw {records:#?}");
    }
    records
}

/// Waits until the server's socket number `index` (from 0) has answered a
/// Ping and is still open: the server accepted its token and it is alive.
async fn wait_accepted(server: &TestServer, index: usize, section: &str) {
    let waited = server
        .wait_until(WAIT, |server| {
            server
                .connections()
                .get(index)
                .is_some_and(|r| r.pongs_received >= 1 && r.ending.is_none())
        })
        .await;
    if waited.is_ok() {
        return;
    }
    let record = server.connections().into_iter().nth(index);
    let rejected = record
        .as_ref()
        .and_then(|r| r.close_sent.as_ref())
        .is_some_and(|c| c.code == page_policy::UNAUTHORIZED_CLOSE_CODE);
    let why = if rejected {
        "the server closed it with 4401: no valid token came with the handshake \
         (send `Authorization: Bearer <token>`)"
    } else {
        "it should be open, and answer the server's Pings (the link task keeps reading)"
    };
    panic!(
        "socket {} was not an accepted, live connection within {WAIT:?}: {why}; the server saw \
         {record:?} (chapter 02, \"{section}\")",
        index + 1
    );
}

fn closed_cleanly_by_client(record: &ConnectionRecord) -> bool {
    record
        .close_received
        .as_ref()
        .is_some_and(|c| c.code == 1000)
        && record.ending == Some(Ending::Clean)
}

// ------------------------------------------------------------ table errors

async fn unknown_key_is_reported_with_its_line() {
    let text = "[[page]]\nroute = \"/chat\"\nenabled = true\nrequireAuth = true\n";
    let error = load_error(text);
    assert_eq!(
        error,
        TableError::UnknownKey {
            line: 4,
            key: "requireAuth".to_owned(),
            suggestion: Some("require_auth"),
        },
        "`requireAuth` (the course's spelling) on line 4 is an unknown key; the error names the \
         line, the key and the key it probably means (chapter 02, \"Task 4: Loading the table\")"
    );
    assert_eq!(
        error.to_string(),
        "line 4: unknown key `requireAuth` in a [[page]] (did you mean `require_auth`?)",
        "the message of an unknown key (chapter 02, \"Task 4: Loading the table\")"
    );
    let text = "[[page]]\nroute = \"/chat\"\n\n[[page]]\nroute = \"/x\"\ncolour = \"red\"\n";
    assert_eq!(
        load_error(text),
        TableError::UnknownKey {
            line: 6,
            key: "colour".to_owned(),
            suggestion: None,
        },
        "an unknown key in the second page, line 6, with no likely meaning \
         (chapter 02, \"Task 4: Loading the table\")"
    );
}

async fn bad_pattern_is_reported_with_its_line() {
    let text =
        "[[page]]\nroute = \"/chat\"\n\n[[page]]\nroute = \"/admin/*/users\"\nenabled = true\n";
    let error = load_error(text);
    assert_eq!(
        error,
        TableError::BadPattern {
            line: 5,
            route: "/admin/*/users".to_owned(),
            reason: PatternError::MisplacedWildcard,
        },
        "the route on line 5 is not a valid pattern (chapter 02, \"Task 4: Loading the table\")"
    );
    assert_eq!(
        error.to_string(),
        "line 5: bad route pattern \"/admin/*/users\": `*` must be the whole last segment",
        "the message of a bad pattern (chapter 02, \"Task 4: Loading the table\")"
    );
    let text = "[[page]]\nenabled = true\nroute = \"chat\"\n";
    assert!(
        matches!(
            load_error(text),
            TableError::BadPattern {
                line: 3,
                reason: PatternError::NotAbsolute,
                ..
            }
        ),
        "a route without a leading `/` on line 3 is a bad pattern (chapter 02, \"Task 4: Loading the table\")"
    );
}

async fn duplicate_route_is_reported_with_both_lines() {
    let text = "[[page]]\nroute = \"/chat/:room\"\n\n[[page]]\nroute = \"/admin\"\n\n[[page]]\n\
                enabled = false\nroute = \"/chat/:id\"\n";
    let error = load_error(text);
    assert_eq!(
        error,
        TableError::DuplicateRoute {
            line: 9,
            route: "/chat/:id".to_owned(),
            first_line: 2,
            first_route: "/chat/:room".to_owned(),
        },
        "\"/chat/:id\" (line 9) matches exactly the routes of \"/chat/:room\" (line 2): a \
         duplicate, whatever the parameters are called (chapter 02, \"Task 4: Loading the table\")"
    );
    assert_eq!(
        error.to_string(),
        "line 9: route \"/chat/:id\" matches the same routes as \"/chat/:room\" on line 2",
        "the message of a duplicate route (chapter 02, \"Task 4: Loading the table\")"
    );
    let text = "[[page]]\nroute = \"/chat\"\n[[page]]\nroute = \"/chat\"\n";
    assert!(
        matches!(
            load_error(text),
            TableError::DuplicateRoute {
                line: 4,
                first_line: 2,
                ..
            }
        ),
        "the same route twice is a duplicate (chapter 02, \"Task 4: Loading the table\")"
    );
    let text = "[[page]]\nroute = \"/docs/*\"\n[[page]]\nroute = \"/docs/:page\"\n\
                [[page]]\nroute = \"/docs/*\"\n";
    assert!(
        matches!(
            load_error(text),
            TableError::DuplicateRoute {
                line: 6,
                first_line: 2,
                ..
            }
        ),
        "\"/docs/*\" twice is a duplicate (line 6 repeats line 2; \"/docs/:page\" on line 4 is \
         not one), got {:?} (chapter 02, \"Task 4: Loading the table\")",
        load_error(text)
    );
}

async fn other_table_errors_have_lines() {
    let text = "[[page]]\nroute = \"/chat\"\nenabled = yes\n";
    assert!(
        matches!(load_error(text), TableError::Toml { line: 3, .. }),
        "text that is not TOML is a TableError::Toml with the parser's line (3), got {:?} \
         (chapter 02, \"Task 4: Loading the table\")",
        load_error(text)
    );
    let text = "[[page]]\nroute = \"/chat\"\nenabled = \"yes\"\n";
    assert_eq!(
        load_error(text),
        TableError::WrongType {
            line: 3,
            key: "enabled",
            expected: "true or false",
        },
        "a value of the wrong type names its key and line (chapter 02, \"Task 4: Loading the table\")"
    );
    let text = "[[page]]\nroute = \"/chat\"\n\n[[page]]\nenabled = true\n";
    assert!(
        matches!(load_error(text), TableError::MissingRoute { .. }),
        "a [[page]] without route is TableError::MissingRoute (chapter 02, \"Task 4: Loading the table\")"
    );
}

// ---------------------------------------------------------------- routes

async fn params_and_wildcards_from_toml() {
    let table = load(APP_TABLE);
    let room = table.lookup("/chat/rust");
    assert_eq!(
        (
            room.pattern.map(RoutePattern::as_str),
            room.params.get("room").map(String::as_str)
        ),
        (Some("/chat/:room"), Some("rust")),
        "\"/chat/rust\" is the page \"/chat/:room\" with room = \"rust\" \
         (chapter 02, \"Task 1: Route patterns\")"
    );
    assert_eq!(
        room.config.connection_type,
        ConnectionType::new("chat"),
        "\"/chat/:room\" has connection type chat (chapter 02, \"Task 2: Most specific wins\")"
    );
    for (route, rest) in [("/admin", ""), ("/admin/users/7", "users/7")] {
        let found = table.lookup(route);
        assert_eq!(
            (
                found.pattern.map(RoutePattern::as_str),
                found.params.get("*").map(String::as_str)
            ),
            (Some("/admin/*"), Some(rest)),
            "{route:?} is the page \"/admin/*\" with * = {rest:?} (chapter 02, \"Task 1: Route patterns\")"
        );
    }
    assert_eq!(
        table
            .pages()
            .iter()
            .map(|page| (page.pattern.as_str(), page.line))
            .collect::<Vec<_>>(),
        [
            ("/chat", 3),
            ("/chat/:room", 11),
            ("/admin/*", 19),
            ("/news", 27),
            ("/login", 33)
        ],
        "PolicyTable::pages lists the rows in the order written, each with the line of its \
         route (chapter 02, \"Task 4: Loading the table\")"
    );
    let pattern = RoutePattern::parse("/chat/:room/*").expect("\"/chat/:room/*\" parses");
    assert_eq!(
        pattern.segments(),
        [
            Segment::Literal("chat".to_owned()),
            Segment::Param("room".to_owned()),
            Segment::Wildcard
        ],
        "the segments of \"/chat/:room/*\" (chapter 02, \"Task 1: Route patterns\")"
    );
    assert_eq!(
        room.config.connection_type.to_string(),
        "chat",
        "a connection type is shown as its name (chapter 02, \"The table\")"
    );
    let unknown = table.lookup("/chat/rust/history");
    assert!(
        unknown.pattern.is_none()
            && !unknown.config.enabled
            && unknown.config.connection_type.is_none(),
        "\"/chat/rust/history\" matches no pattern of this table: disabled default of type none, \
         got {unknown:?} (chapter 02, \"Task 2: Most specific wins\")"
    );
}

async fn most_specific_wins_in_any_order() {
    let pages = [
        ("/*", "site"),
        ("/chat/*", "chat_any"),
        ("/chat/:room", "chat_room"),
        ("/chat/lobby", "lobby"),
        ("/:section/lobby", "section_lobby"),
        ("/chat", "chat_home"),
    ];
    let cases = [
        ("/chat/lobby", "lobby"),
        ("/chat/rust", "chat_room"),
        ("/chat/rust/1", "chat_any"),
        ("/chat", "chat_home"),
        ("/games/lobby", "section_lobby"),
        ("/games", "site"),
    ];
    // Forwards and backwards: the order of the file must not decide.
    for reversed in [false, true] {
        let mut ordered: Vec<_> = pages.to_vec();
        if reversed {
            ordered.reverse();
        }
        let text: String = ordered
            .iter()
            .map(|(route, kind)| {
                format!("[[page]]\nroute = \"{route}\"\nenabled = true\nconnection_type = \"{kind}\"\n\n")
            })
            .collect();
        let table = load(&text);
        for (route, kind) in cases {
            let found = table.lookup(route);
            assert_eq!(
                found.config.connection_type.as_str(),
                kind,
                "for {route:?} the most specific page is the one of type {kind:?}, lookup chose \
                 {:?} (patterns written {}; chapter 02, \"Task 2: Most specific wins\")",
                found.pattern.map(RoutePattern::as_str),
                if reversed {
                    "most specific first"
                } else {
                    "least specific first"
                }
            );
        }
    }
}

// ------------------------------------------------------ a real connection

async fn same_type_pages_keep_the_socket() {
    let server = start_server().await;
    let mut driver = driver(&server);
    let user = user();
    let chat = ConnectionType::new("chat");
    let section = "Task 5: Driving a real connection";
    go(
        &mut driver,
        "/chat",
        &user,
        Action::Connect(chat.clone()),
        section,
    )
    .await;
    go(&mut driver, "/chat/rust", &user, Action::Keep, section).await;
    go(&mut driver, "/chat/lobby", &user, Action::Keep, section).await;
    go(&mut driver, "/news", &user, Action::Keep, section).await;
    go(&mut driver, "/chat", &user, Action::Keep, section).await;
    wait_accepted(&server, 0, section).await;
    let stats = server.stats();
    assert_eq!(
        (stats.connections_total, stats.connections_open),
        (1, 1),
        "/chat → /chat/rust → /chat/lobby → /news → /chat are all pages of type chat: the server \
         must see one socket, still open; it saw {} in total, {} open (chapter 02, \"{section}\")",
        stats.connections_total,
        stats.connections_open
    );
    assert_eq!(
        driver.connected(),
        Some(&chat),
        "the driver still holds the chat connection (chapter 02, \"{section}\")"
    );
    within(WAIT + WAIT, "Driver::shutdown", driver.shutdown()).await;
    server.shutdown().await;
}

async fn another_type_reconnects_cleanly() {
    let server = start_server().await;
    let mut driver = driver(&server);
    let user = user();
    let section = "Task 5: Driving a real connection";
    go(
        &mut driver,
        "/chat/rust",
        &user,
        Action::Connect(ConnectionType::new("chat")),
        section,
    )
    .await;
    go(
        &mut driver,
        "/admin/users",
        &user,
        Action::Reconnect(ConnectionType::new("admin")),
        section,
    )
    .await;
    go(&mut driver, "/admin", &user, Action::Keep, section).await;
    wait_accepted(&server, 1, section).await;
    let records = wait_for(&server, "the chat socket closed cleanly", |r| {
        r.len() == 2 && closed_cleanly_by_client(&r[0])
    })
    .await;
    assert_eq!(
        (records[0].query.as_str(), records[1].query.as_str()),
        (CHAT_QUERY, ADMIN_QUERY),
        "the first socket is chat's endpoint, the second admin's (chapter 02, \"{section}\")"
    );
    assert!(
        records[1].ending.is_none(),
        "the admin socket is still open after /admin/users → /admin, got {:?} (chapter 02, \"{section}\")",
        records[1]
    );
    go(&mut driver, "/login", &user, Action::Disconnect, section).await;
    let records = wait_for(&server, "the admin socket closed cleanly", |r| {
        r.len() == 2 && closed_cleanly_by_client(&r[1])
    })
    .await;
    assert_eq!(
        (server.stats().connections_total, driver.connected()),
        (2, None),
        "chat → admin → login: two sockets in all, none left; server records {records:#?} \
         (chapter 02, \"{section}\")"
    );
    server.shutdown().await;
}

async fn losing_auth_disconnects() {
    let section = "Task 3: The policy";
    let mut policy = Policy::new(load(APP_TABLE));
    let user = user();
    let chat = ConnectionType::new("chat");
    assert_eq!(
        policy.on_change("/news", &user),
        Action::Connect(chat.clone())
    );
    assert_eq!(
        policy.on_change("/news", &Auth::SignedOut),
        Action::Keep,
        "signing out on a page that does not require auth keeps its connection (chapter 02, \"{section}\")"
    );
    assert_eq!(
        policy.on_change("/chat", &Auth::SignedOut),
        Action::Disconnect,
        "a signed-out user on an auth page gets no connection (chapter 02, \"{section}\")"
    );

    let server = start_server().await;
    let mut driver = driver(&server);
    let section = "Task 5: Driving a real connection";
    go(
        &mut driver,
        "/chat",
        &user,
        Action::Connect(chat.clone()),
        section,
    )
    .await;
    wait_accepted(&server, 0, section).await;
    go(
        &mut driver,
        "/chat",
        &Auth::SignedOut,
        Action::Disconnect,
        section,
    )
    .await;
    let records = wait_for(&server, "the chat socket closed cleanly", |r| {
        r.len() == 1 && closed_cleanly_by_client(&r[0])
    })
    .await;
    assert_eq!(
        records[0].close_received.as_ref().map(|c| c.code),
        Some(1000),
        "losing auth on /chat closes the socket with 1000 (chapter 02, \"{section}\")"
    );
    go(
        &mut driver,
        "/chat/rust",
        &Auth::SignedOut,
        Action::Keep,
        section,
    )
    .await;
    assert_eq!(
        server.stats().connections_total,
        1,
        "a signed-out user on an auth page must not open a socket (chapter 02, \"{section}\")"
    );
    go(
        &mut driver,
        "/chat/rust",
        &user,
        Action::Connect(chat),
        section,
    )
    .await;
    wait_accepted(&server, 1, section).await;
    within(WAIT + WAIT, "Driver::shutdown", driver.shutdown()).await;
    server.shutdown().await;
}

async fn token_travels_on_connect() {
    let server = start_server().await;
    let mut driver = driver(&server);
    let section = "Task 6: The token and unauthorized";
    go(
        &mut driver,
        "/chat",
        &user(),
        Action::Connect(ConnectionType::new("chat")),
        section,
    )
    .await;
    wait_accepted(&server, 0, section).await;
    go(&mut driver, "/login", &user(), Action::Disconnect, section).await;
    let records = wait_for(&server, "the chat socket closed", |r| {
        r.len() == 1 && r[0].ending.is_some()
    })
    .await;
    let sent = records[0]
        .close_sent
        .as_ref()
        .map(|c| (c.code, c.reason.clone()));
    assert!(
        closed_cleanly_by_client(&records[0])
            && sent.as_ref().is_some_and(|(code, _)| *code == 1000),
        "with a good token the server accepts the connection, and our Close(1000) gets its \
         Close(1000) back; the server sent {sent:?} (4401 means no token arrived: send \
         `Authorization: Bearer <token>` with the handshake; chapter 02, \"{section}\")"
    );
    server.shutdown().await;
}

async fn bad_token_is_reported_as_unauthorized() {
    let server = start_server().await;
    let mut driver = driver(&server);
    let section = "Task 6: The token and unauthorized";
    let intruder = Auth::signed_in("not-the-token");
    let chat = ConnectionType::new("chat");
    go(
        &mut driver,
        "/chat",
        &intruder,
        Action::Connect(chat.clone()),
        section,
    )
    .await;
    let event = within(WAIT, "the event for the server's 4401", driver.next_event()).await;
    let DriverEvent::Ended {
        connection_type,
        reason,
    } = event;
    assert!(
        matches!(reason, EndReason::Unauthorized) && connection_type == chat,
        "the server closed the chat connection with 4401: that is \
         DriverEvent::Ended {{ connection_type: chat, reason: EndReason::Unauthorized }}, got \
         {connection_type:?}, {reason:?} (chapter 02, \"{section}\")"
    );
    assert!(
        reason.to_string().starts_with("unauthorized"),
        "EndReason::Unauthorized is shown as \"unauthorized…\", got {:?} (chapter 02, \"{section}\")",
        reason.to_string()
    );
    assert_eq!(
        (driver.connected(), driver.policy().current()),
        (None, None),
        "after the rejection there is no connection, and the policy knows it (chapter 02, \"{section}\")"
    );
    wait_for(&server, "the rejected socket to end", |r| {
        r.len() == 1 && r[0].ending.is_some()
    })
    .await;
    go(
        &mut driver,
        "/chat/rust",
        &user(),
        Action::Connect(chat),
        section,
    )
    .await;
    wait_accepted(&server, 1, section).await;
    within(WAIT + WAIT, "Driver::shutdown", driver.shutdown()).await;
    let records = wait_for(&server, "the second socket to end", |r| {
        r.len() == 2 && r[1].ending.is_some()
    })
    .await;
    assert_eq!(
        records[1].close_sent.as_ref().map(|c| c.code),
        Some(1000),
        "signed in with the right token, the second connection is accepted (chapter 02, \"{section}\")"
    );

    // Any other code the server closes with is not "unauthorized": it is
    // EndReason::Closed with the code and reason.
    for (code, reason) in [
        (1001, "going away"),
        (4000, "maintenance"),
        (4403, "forbidden"),
    ] {
        let endpoints = Endpoints::new().with(
            "chat",
            server.ws_url(&format!(
                "/ws/close?code={code}&reason={}",
                reason.replace(' ', "%20")
            )),
        );
        let mut driver = Driver::new(Policy::new(load(APP_TABLE)), endpoints);
        go(
            &mut driver,
            "/chat",
            &user(),
            Action::Connect(ConnectionType::new("chat")),
            section,
        )
        .await;
        let event = within(
            WAIT,
            &format!("the event for the server's Close {code}"),
            driver.next_event(),
        )
        .await;
        let DriverEvent::Ended { reason: got, .. } = event;
        assert!(
            matches!(&got, EndReason::Closed { code: c, reason: r } if *c == code && r == reason),
            "the server closed with {code} {reason:?}: that is EndReason::Closed {{ code: {code}, \
             reason: {reason:?} }}, got {got:?}; only {} is Unauthorized (chapter 02, \"{section}\")",
            page_policy::UNAUTHORIZED_CLOSE_CODE
        );
    }
    server.shutdown().await;
}

async fn network_failure_is_not_unauthorized() {
    let refused = testkit::refused_addr().await;
    let endpoints = Endpoints::new().with("chat", format!("ws://{refused}/ws/auth"));
    let mut driver = Driver::new(Policy::new(load(APP_TABLE)), endpoints);
    let section = "Task 6: The token and unauthorized";
    let result = within(
        WAIT,
        "navigate to a chat page whose server is down",
        driver.navigate("/chat", &user()),
    )
    .await;
    match &result {
        Err(error @ DriverError::Network { .. }) => assert!(
            !error.to_string().contains("unauthorized"),
            "a refused connection is a network failure, not \"unauthorized\": got {error:?} \
             (chapter 02, \"{section}\")"
        ),
        other => panic!(
            "nothing listens at the chat endpoint: navigate must give Err(DriverError::Network), \
             got {other:?} (chapter 02, \"{section}\")"
        ),
    }
    assert_eq!(
        (driver.connected(), driver.policy().current()),
        (None, None),
        "after a failed connect there is no connection, and the policy forgets it so the next \
         change tries again (chapter 02, \"{section}\")"
    );

    // A server that refuses in the handshake: 401 is unauthorized, any
    // other refusal is a network failure.
    for status in ["401 Unauthorized", "403 Forbidden", "404 Not Found"] {
        let addr = answer_handshake_with(status).await;
        let endpoints = Endpoints::new().with("chat", format!("ws://{addr}/ws/auth"));
        let mut driver = Driver::new(Policy::new(load(APP_TABLE)), endpoints);
        let result = within(
            WAIT,
            &format!("navigate to a chat page whose server answers {status}"),
            driver.navigate("/chat", &user()),
        )
        .await;
        let right = if status.starts_with("401") {
            matches!(result, Err(DriverError::Unauthorized { .. }))
        } else {
            matches!(result, Err(DriverError::Network { .. }))
        };
        assert!(
            right,
            "the server answered the handshake with HTTP {status}: that is {}, got {result:?} \
             (chapter 02, \"{section}\")",
            if status.starts_with("401") {
                "Err(DriverError::Unauthorized)"
            } else {
                "Err(DriverError::Network): only a 401 means unauthorized"
            }
        );
        assert_eq!(
            (driver.connected(), driver.policy().current()),
            (None, None),
            "after a refused handshake ({status}) there is no connection, and the policy \
             forgets it (chapter 02, \"{section}\")"
        );
    }

    // A server that takes the connection and never answers the handshake:
    // after CONNECT_TIMEOUT (on the paused clock), a Timeout, not a hang.
    tokio::time::pause();
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = silent.local_addr().expect("the listener's address");
    let holder = tokio::spawn(async move {
        // Holds the accepted socket open, unanswered, until the check ends.
        let accepted = silent.accept().await;
        std::future::pending::<()>().await;
        drop(accepted);
    });
    let endpoints = Endpoints::new().with("chat", format!("ws://{addr}/ws/auth"));
    let mut driver = Driver::new(Policy::new(load(APP_TABLE)), endpoints);
    let started = tokio::time::Instant::now();
    let result = within(
        CONNECT_TIMEOUT + WAIT,
        "navigate to a chat page whose server never answers the handshake",
        driver.navigate("/chat", &user()),
    )
    .await;
    let waited = started.elapsed();
    holder.abort();
    assert!(
        matches!(result, Err(DriverError::Timeout { after, .. }) if after == CONNECT_TIMEOUT)
            && waited >= CONNECT_TIMEOUT
            && waited < CONNECT_TIMEOUT + Duration::from_secs(1),
        "the server took the connection and never answered: after CONNECT_TIMEOUT ({:?}) \
         navigate gives Err(DriverError::Timeout {{ after: {:?}, .. }}); it gave {result:?} \
         after {waited:?} (chapter 02, \"{section}\")",
        CONNECT_TIMEOUT,
        CONNECT_TIMEOUT
    );
    assert_eq!(
        (driver.connected(), driver.policy().current()),
        (None, None),
        "after a timed-out connect there is no connection, and the policy forgets it \
         (chapter 02, \"{section}\")"
    );
}

/// A one-shot HTTP server on the loopback that reads a request's head and
/// answers `status` with an empty body.
async fn answer_handshake_with(status: &'static str) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("the listener's address");
    tokio::spawn(async move {
        let answer = async {
            let (mut stream, _) = listener.accept().await?;
            let mut head = Vec::new();
            let mut buffer = [0_u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
                let read = stream.read(&mut buffer).await?;
                if read == 0 {
                    break;
                }
                head.extend_from_slice(&buffer[..read]);
            }
            let response =
                format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            stream.write_all(response.as_bytes()).await?;
            stream.shutdown().await
        };
        // Bounded: the check gives up on it after WAIT anyway.
        let _ = tokio::time::timeout(WAIT, answer).await;
    });
    addr
}

async fn the_connection_is_real() {
    let server = start_server().await;
    let mut driver = driver(&server);
    let section = "The original and the Rust way";
    let started = Instant::now();
    go(
        &mut driver,
        "/admin",
        &user(),
        Action::Connect(ConnectionType::new("admin")),
        section,
    )
    .await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "navigate returns when the handshake is done, not after a timer: it took {took:?} \
         (chapter 02, \"{section}\")"
    );
    wait_accepted(&server, 0, section).await;
    assert!(
        driver.connected().is_some(),
        "after Connect the driver holds the connection (chapter 02, \"{section}\")"
    );
    within(WAIT + WAIT, "Driver::shutdown", driver.shutdown()).await;
    // The server reads our Close before it answers it, and shutdown waits
    // for that answer: so when shutdown returns, the server has our Close.
    let close = server
        .connections()
        .first()
        .and_then(|r| r.close_received.clone());
    assert_eq!(
        close.as_ref().map(|c| c.code),
        Some(1000),
        "when Driver::shutdown returns, the server already has the Close(1000): shutdown closes \
         the link and waits for its task, it does not leave it to the runtime (chapter 02, \
         \"{section}\")"
    );
    let records = wait_for(&server, "shutdown to close the socket", |r| {
        r.len() == 1 && r[0].ending.is_some()
    })
    .await;
    assert!(
        closed_cleanly_by_client(&records[0]),
        "Driver::shutdown closes the connection with 1000 and waits for the reply, got {:?} \
         (chapter 02, \"{section}\")",
        records[0]
    );
    server.shutdown().await;
}
