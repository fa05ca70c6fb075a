//! The threats that only the Linux namespaces stop (see `src/sandbox.rs`):
//! a check that connects to an address of the machine other than loopback,
//! and a check that finds the grader through `/proc` and kills it. The
//! other threats (exit, abort, forged records, killing the parent, loops,
//! memory, processes) are the wrong submission
//! `grader/units/01-connection/wrong/cheat_one_threat_per_check.toml`,
//! which `grading.rs` grades on every platform.
//!
//! Where the namespaces are refused, this test says so and checks nothing:
//! without them, killing the grader would kill this test.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use grader::grade::{self, Request};
use grader::run::CheckStatus;
use grader::sandbox;
use grader::scratch::Source;
use grader::units;
use grader::wrong::{Edit, Wrong};

/// An IPv4 address of this machine that is not loopback, if it has one
/// (the source address of its default route; no packet is sent).
fn outside_address() -> Option<Ipv4Addr> {
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    socket.connect((Ipv4Addr::new(192, 0, 2, 1), 9)).ok()?;
    match socket.local_addr().ok()?.ip() {
        std::net::IpAddr::V4(ip) if !ip.is_loopback() && !ip.is_unspecified() => Some(ip),
        _ => None,
    }
}

fn cheat(target: SocketAddr) -> Wrong {
    let replace = format!(
        r#"
pub async fn connect_with_timeout(url: &str, limit: Duration) -> Result<Connection, ConnectError> {{
    match std::thread::current().name().unwrap_or_default() {{
        // Reach a server of the machine outside loopback; if that works the
        // check goes on and passes.
        "pings_are_answered_for_a_send_only_client" => {{
            let target: std::net::SocketAddr = "{target}".parse().expect("an address");
            if let Err(error) = std::net::TcpStream::connect_timeout(&target, Duration::from_secs(2)) {{
                panic!("the network namespace stopped the connection to {{target}}: {{error}}");
            }}
        }}
        // Find the grader through /proc (the parent's parent) and kill it.
        "errors_carry_their_cause" => {{
            let parent_of = |pid: &str| -> String {{
                let stat = std::fs::read_to_string(format!("/proc/{{pid}}/stat")).unwrap_or_default();
                let after = stat.rsplit_once(')').map(|(_, rest)| rest.to_owned()).unwrap_or_default();
                after.split_whitespace().nth(1).unwrap_or("0").to_owned()
            }};
            let parent = parent_of("self");
            let grader = parent_of(&parent);
            println!("killing {{grader}} and {{parent}}");
            let _ = std::process::Command::new("kill").args(["-KILL", &grader, &parent]).status();
            std::process::exit(0);
        }}
        _ => {{}}
    }}
"#
    );
    Wrong {
        description: "reaches outside loopback; kills the grader through /proc".into(),
        expect_failed: None,
        may_fail: Vec::new(),
        expect_build_error: false,
        expect_score: None,
        edits: vec![Edit {
            file: "src/client.rs".into(),
            find: "\npub async fn connect_with_timeout(url: &str, limit: Duration) -> Result<Connection, ConnectError> {\n".into(),
            replace,
        }],
        adds: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn checks_reach_only_loopback_and_cannot_kill_the_grader() {
    if let Err(reason) = &sandbox::isolation().namespaces {
        eprintln!("skipped: this machine refuses the namespaces ({reason})");
        return;
    }
    // A server on every interface, which this process can reach through the
    // machine's outside address: the check must not.
    let listener = TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0)).expect("listen");
    let port = listener.local_addr().expect("address").port();
    let target = match outside_address() {
        Some(ip) => SocketAddr::from((ip, port)),
        // No traffic leaves the machine: 192.0.2.1 is a documentation
        // address (RFC 5737) that nothing answers, so without an outside
        // address of our own the network half proves less, and says so.
        None => {
            eprintln!("this machine has no outside address; the network half tries 192.0.2.1:9");
            SocketAddr::from(([192, 0, 2, 1], 9))
        }
    };
    if target.ip() != Ipv4Addr::new(192, 0, 2, 1) {
        TcpStream::connect_timeout(&target, Duration::from_secs(2))
            .expect("the test itself reaches its server through the outside address");
    }

    let root = grader::repo_root();
    let all = units::load_all(&root).expect("units load");
    let unit = units::find(&all, "01").expect("unit 01");
    let dest = grader::scratch::base_dir(&root).join("isolation");
    let dir = grader::wrong::materialize(&root, unit, "escapes", &cheat(target), &dest)
        .expect("the cheat applies to the solution");
    let request = Request {
        source: Source::Dir(dir),
        units: vec!["01".into()],
        force: true,
        checks: Vec::new(),
    };
    let report = grade::grade(&root, &request, Arc::new(|_| {}))
        .await
        .expect("grading runs");
    drop(listener);
    let result = &report.units[0];
    let failed: BTreeSet<&str> = result
        .checks
        .iter()
        .filter(|c| c.status != CheckStatus::Pass)
        .map(|c| c.id.as_str())
        .collect();
    // Still alive: the grader was not killed. The two cheating checks score
    // nothing, and every other check passed.
    assert_eq!(
        failed,
        BTreeSet::from([
            "pings_are_answered_for_a_send_only_client",
            "errors_carry_their_cause"
        ]),
        "{:#?}",
        result
            .checks
            .iter()
            .filter(|c| c.status != CheckStatus::Pass)
            .map(|c| (&c.id, c.status, &c.message, &c.output))
            .collect::<Vec<_>>()
    );
    let network = result
        .checks
        .iter()
        .find(|c| c.id == "pings_are_answered_for_a_send_only_client")
        .expect("the check");
    assert!(
        network
            .message
            .as_deref()
            .is_some_and(|m| m.contains("network namespace stopped")),
        "the connection failed because of the namespace: {:?}",
        network.message
    );
}
