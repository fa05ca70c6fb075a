//! Back-pressure checks hold whatever the machine's TCP buffers are.
//!
//! Unit 09's slow-client and lag checks need the server's queue for a client
//! that does not keep up to fill. Kernel buffers sit in between, and their
//! size is a setting of the machine: a check that published a fixed 20 MB
//! passed a broken server on a machine whose `tcp_rmem` allowed 32 MiB.
//! The checks now make the slow side slow by construction (a small
//! `SO_RCVBUF`) and publish as much as the machine's own maxima require
//! (`checkkit::net`). This test proves it: it grades the reference solution
//! and unit 09's wrong submissions, on exactly those checks, with the TCP
//! buffer maxima of the check's network namespace at 4 MiB (a common
//! default) and at 64 MiB (a tuned server), through
//! `WSW_SANDBOX_TCP_BUFFERS`. The reference must pass both checks under
//! both; each wrong submission must fail exactly the ones it expects to.

use std::process::Command;

const CHECKS: [&str; 2] = [
    "slow_client_is_closed_and_fast_client_gets_everything",
    "paused_client_is_never_left_silent",
];

fn cargo_grade(args: &[&str], buffers: u64) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cargo-grade"));
    // English, whatever the locale of the machine running the tests.
    command
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", "C");
    command
        .args(args)
        .env(grader::sandbox::TCP_BUFFERS_VARIABLE, buffers.to_string());
    for check in CHECKS {
        command.args(["--check", check]);
    }
    let output = command.output().expect("cargo-grade runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn unit_09_back_pressure_checks_hold_with_small_and_large_kernel_buffers() {
    if let Err(reason) = &grader::sandbox::isolation().namespaces {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must be able to give checks a network namespace of their own: {reason}"
        );
        eprintln!(
            "skipped: the buffer sizes are set in the check's own network namespace, \
             which this machine does not allow ({reason})"
        );
        return;
    }
    for buffers in [4u64 << 20, 64 << 20] {
        let mib = buffers >> 20;
        let (passed, report) = cargo_grade(&["--solutions", "09", "--ci"], buffers);
        assert!(
            passed,
            "with {mib} MiB TCP buffers the reference solution must pass {CHECKS:?}:\n{report}"
        );
        let (matched, verdicts) = cargo_grade(&["wrong", "09"], buffers);
        assert!(
            matched,
            "with {mib} MiB TCP buffers every wrong submission of unit 09 must fail exactly \
             the back-pressure checks it expects to fail:\n{verdicts}"
        );
        assert!(
            verdicts.contains("ok       09-chat/drop_when_full")
                && verdicts.contains("ok       09-chat/unbounded_queue"),
            "{verdicts}"
        );
    }
}
