//! Visible checks of unit 02, for the first tasks: route patterns, the most
//! specific page, the policy's decisions, and the course's table. None of
//! them needs a network. Run them with `cargo test`; `cargo grade 02` runs
//! these and the hidden checks.

use page_policy::{
    Action, Auth, ConnectionType, Page, PageConfig, PatternError, Policy, PolicyTable, RoutePattern,
};

checkkit::checks! {
    patterns_match_routes,
    bad_patterns_are_refused,
    most_specific_route_wins,
    policy_follows_the_course_rule,
    course_table_loads,
}

fn pattern(text: &str) -> RoutePattern {
    match RoutePattern::parse(text) {
        Ok(pattern) => pattern,
        Err(error) => panic!(
            "RoutePattern::parse({text:?}) must succeed, got {error:?} \
             (chapter 02, \"Task 1: Route patterns\")"
        ),
    }
}

/// A page that connects with `connection_type` when its rule allows.
fn page(route: &str, require_auth: bool, connection_type: &str) -> Page {
    Page {
        pattern: pattern(route),
        config: PageConfig {
            enabled: connection_type != ConnectionType::NONE,
            require_auth,
            auto_connect: true,
            connection_type: ConnectionType::new(connection_type),
            features: Vec::new(),
        },
        line: 1,
    }
}

async fn patterns_match_routes() {
    let room = pattern("/chat/:room");
    let params = room.matches("/chat/rust");
    assert_eq!(
        params
            .as_ref()
            .and_then(|p| p.get("room"))
            .map(String::as_str),
        Some("rust"),
        "\"/chat/:room\" must match \"/chat/rust\" with room = \"rust\", got {params:?} \
         (chapter 02, \"Task 1: Route patterns\")"
    );
    for route in ["/chat", "/chat/rust/extra", "/chatroom/rust", "/"] {
        assert_eq!(
            room.matches(route),
            None,
            "\"/chat/:room\" must not match {route:?}: a parameter takes exactly one segment \
             (chapter 02, \"Task 1: Route patterns\")"
        );
    }
    assert!(
        room.matches("/chat/rust?tab=new").is_some(),
        "the query string is not part of the route: \"/chat/:room\" must match \
         \"/chat/rust?tab=new\" (chapter 02, \"Task 1: Route patterns\")"
    );

    let admin = pattern("/admin/*");
    for (route, rest) in [
        ("/admin", ""),
        ("/admin/users", "users"),
        ("/admin/users/7", "users/7"),
    ] {
        let params = admin.matches(route);
        assert_eq!(
            params.as_ref().and_then(|p| p.get("*")).map(String::as_str),
            Some(rest),
            "\"/admin/*\" must match {route:?} with \"*\" = {rest:?}, got {params:?}: a wildcard \
             takes the rest of the route, possibly nothing (chapter 02, \"Task 1: Route patterns\")"
        );
    }
    assert_eq!(
        admin.matches("/administrator"),
        None,
        "\"/admin/*\" must not match \"/administrator\": segments match whole \
         (chapter 02, \"Task 1: Route patterns\")"
    );

    let root = pattern("/");
    assert!(
        root.matches("/").is_some() && root.matches("/chat").is_none(),
        "\"/\" matches the route \"/\" and nothing else (chapter 02, \"Task 1: Route patterns\")"
    );
}

async fn bad_patterns_are_refused() {
    let cases = [
        ("chat", PatternError::NotAbsolute),
        ("/chat//rust", PatternError::EmptySegment),
        ("/chat/", PatternError::EmptySegment),
        ("/chat/:", PatternError::BadParameterName(":".to_owned())),
        (
            "/chat/:room-name",
            PatternError::BadParameterName(":room-name".to_owned()),
        ),
        (
            "/:id/x/:id",
            PatternError::DuplicateParameter("id".to_owned()),
        ),
        ("/admin/*/users", PatternError::MisplacedWildcard),
        ("/admin*", PatternError::MisplacedWildcard),
    ];
    for (text, expected) in cases {
        let result = RoutePattern::parse(text);
        assert_eq!(
            result.as_ref().err(),
            Some(&expected),
            "RoutePattern::parse({text:?}) must fail with {expected:?}, got {result:?} \
             (chapter 02, \"Task 1: Route patterns\")"
        );
    }
}

async fn most_specific_route_wins() {
    // Written from the least to the most specific: order must not matter.
    let table = PolicyTable::from_pages(vec![
        page("/*", false, "site"),
        page("/chat/*", true, "chat"),
        page("/chat/:room", true, "room"),
        page("/chat/lobby", false, "lobby"),
        page("/chat", true, "chat_home"),
    ]);
    let cases = [
        ("/chat/lobby", "/chat/lobby"),
        ("/chat/rust", "/chat/:room"),
        ("/chat/rust/history", "/chat/*"),
        ("/chat", "/chat"),
        ("/news", "/*"),
        ("/", "/*"),
    ];
    for (route, winner) in cases {
        let found = table.lookup(route);
        assert_eq!(
            found.pattern.map(RoutePattern::as_str),
            Some(winner),
            "for {route:?} the most specific pattern is {winner:?}, lookup chose {:?} \
             (chapter 02, \"Task 2: Most specific wins\")",
            found.pattern.map(RoutePattern::as_str)
        );
    }
    let found = table.lookup("/chat/rust");
    assert_eq!(
        found.params.get("room").map(String::as_str),
        Some("rust"),
        "lookup returns the winning pattern's parameters (chapter 02, \"Task 2: Most specific wins\")"
    );

    let empty = PolicyTable::from_pages(vec![page("/chat", true, "chat")]);
    let unknown = empty.lookup("/settings");
    assert!(
        unknown.pattern.is_none() && *unknown.config == PageConfig::disabled(),
        "a route no pattern matches gets the disabled default of type none, got {unknown:?} \
         (chapter 02, \"Task 2: Most specific wins\")"
    );
}

async fn policy_follows_the_course_rule() {
    let table = PolicyTable::from_pages(vec![
        page("/chat", true, "chat"),
        page("/admin", true, "admin"),
        page("/login", false, "none"),
        page("/news", false, "news"),
    ]);
    let mut policy = Policy::new(table);
    let user = Auth::signed_in("let-me-in");
    let chat = ConnectionType::new("chat");
    let steps = [
        (
            "/login",
            Auth::SignedOut,
            Action::Keep,
            "a disabled page opens nothing",
        ),
        (
            "/chat",
            Auth::SignedOut,
            Action::Keep,
            "an auth page opens nothing for a signed-out user",
        ),
        (
            "/news",
            Auth::SignedOut,
            Action::Connect(ConnectionType::new("news")),
            "a public page connects for anyone",
        ),
        (
            "/chat",
            user.clone(),
            Action::Reconnect(chat.clone()),
            "another type replaces the connection",
        ),
        (
            "/chat",
            user.clone(),
            Action::Keep,
            "the same page again keeps the connection",
        ),
        (
            "/admin",
            user.clone(),
            Action::Reconnect(ConnectionType::new("admin")),
            "another type replaces the connection",
        ),
        (
            "/login",
            user.clone(),
            Action::Disconnect,
            "a disabled page closes the connection",
        ),
        (
            "/unknown",
            user.clone(),
            Action::Keep,
            "an unknown page is disabled: still nothing",
        ),
        (
            "/chat",
            user.clone(),
            Action::Connect(chat.clone()),
            "an auth page connects for a signed-in user",
        ),
    ];
    for (route, auth, expected, why) in steps {
        let action = policy.on_change(route, &auth);
        assert_eq!(
            action, expected,
            "on_change({route:?}, {auth:?}) must give {expected:?}: {why} \
             (chapter 02, \"Task 3: The policy\")"
        );
    }
    assert_eq!(
        policy.current(),
        Some(&chat),
        "after Connect(chat) the policy remembers the chat connection (chapter 02, \"Task 3: The policy\")"
    );

    let manual = PageConfig {
        auto_connect: false,
        ..page("/x", false, "chat").config
    };
    assert!(
        !manual.should_connect(&user),
        "a page with auto_connect = false does not connect on its own (chapter 02, \"Task 3: The policy\")"
    );
}

async fn course_table_loads() {
    let table = match PolicyTable::from_toml(page_policy::COURSE_TABLE) {
        Ok(table) => table,
        Err(error) => panic!(
            "the course's table (src/default_policy.toml) must load, got: {error} \
             (chapter 02, \"Task 4: Loading the table\")"
        ),
    };
    let expected = [
        (
            "/chat",
            true,
            true,
            true,
            "chat",
            vec!["messaging", "typing_indicator"],
        ),
        (
            "/admin",
            true,
            true,
            true,
            "admin",
            vec!["system_notifications"],
        ),
        ("/login", false, false, false, "none", vec![]),
    ];
    for (route, enabled, require_auth, auto_connect, connection_type, features) in expected {
        let found = table.lookup(route);
        let wanted = PageConfig {
            enabled,
            require_auth,
            auto_connect,
            connection_type: ConnectionType::new(connection_type),
            features: features.into_iter().map(str::to_owned).collect(),
        };
        assert_eq!(
            found.config, &wanted,
            "the course's table gives {route:?} {wanted:?} (chapter 02, \"Task 4: Loading the table\")"
        );
    }
    assert_eq!(
        table.lookup("/settings").config,
        &PageConfig::disabled(),
        "an unknown page gets the disabled default of type none (chapter 02, \"Task 2: Most specific wins\")"
    );
}
