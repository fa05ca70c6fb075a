//! Visible checks of unit 07, for the pure parts: the error taxonomy's
//! table, the ISO 8601 timestamp, the retry button and the alert. They need
//! no server. Run them with `cargo test`; `cargo grade 07` runs these and
//! the hidden checks.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use recovery::{
    ALERT_THRESHOLD, ALERT_WINDOW, AlertChange, AppError, ErrorKind, ErrorRateMonitor, iso8601,
    retry_label,
};
use tokio::time::Instant;

checkkit::checks! {
    classification_table,
    iso8601_timestamps,
    retry_button_hidden_once_used_up,
    alert_raised_and_cleared,
}

async fn classification_table() {
    use ErrorKind::{Auth, Internal, Network, Protocol, Server};
    // (error, kind, retryable, name)
    let table = [
        (
            AppError::ConnectionRefused,
            Network,
            true,
            "ConnectionRefused",
        ),
        (AppError::ConnectionReset, Network, true, "ConnectionReset"),
        (
            AppError::Timeout(Duration::from_secs(5)),
            Network,
            true,
            "Timeout",
        ),
        (
            AppError::Protocol("bad frame".into()),
            Protocol,
            false,
            "Protocol",
        ),
        (AppError::Unauthorized, Auth, false, "Unauthorized"),
        (AppError::Forbidden, Auth, false, "Forbidden"),
        (AppError::ServerStatus(503), Server, true, "ServerStatus"),
        (AppError::ServerClose(1012), Server, true, "ServerClose"),
        (AppError::AlreadyClosed, Internal, false, "AlreadyClosed"),
        (AppError::Panic("boom".into()), Internal, false, "Panic"),
    ];
    for (error, kind, retryable, name) in table {
        assert_eq!(
            error.kind(),
            kind,
            "{error:?} is a {kind:?} error (chapter 07, \"Task 1: The taxonomy\")"
        );
        assert_eq!(
            error.is_retryable(),
            retryable,
            "{error:?}.is_retryable() must be {retryable}: only network and server errors can \
             go away by trying again (chapter 07, \"Task 1: The taxonomy\")"
        );
        assert_eq!(
            error.name(),
            name,
            "{error:?}.name() is the variant's name (chapter 07, \"Task 1: The taxonomy\")"
        );
    }
}

async fn iso8601_timestamps() {
    // (seconds since 1970, milliseconds, expected)
    let table = [
        (0, 0, "1970-01-01T00:00:00.000Z"),
        (951_782_400, 0, "2000-02-29T00:00:00.000Z"),
        (951_868_799, 999, "2000-02-29T23:59:59.999Z"),
        (1_709_251_199, 5, "2024-02-29T23:59:59.005Z"),
        (1_735_689_600, 120, "2025-01-01T00:00:00.120Z"),
        (4_107_542_400, 0, "2100-03-01T00:00:00.000Z"),
    ];
    for (seconds, millis, expected) in table {
        let time = UNIX_EPOCH + Duration::from_secs(seconds) + Duration::from_millis(millis);
        assert_eq!(
            iso8601(time),
            expected,
            "{seconds} s + {millis} ms after the epoch (chapter 07, \"Task 4: The report\")"
        );
    }
    assert_eq!(
        iso8601(UNIX_EPOCH - Duration::from_secs(10)),
        "1970-01-01T00:00:00.000Z",
        "a time before 1970 gives the epoch (chapter 07, \"Task 4: The report\")"
    );
    let now = iso8601(SystemTime::now());
    assert_eq!(
        now.len(),
        24,
        "{now:?} must look like 2024-05-01T12:00:00.000Z (chapter 07, \"Task 4: The report\")"
    );
}

async fn retry_button_hidden_once_used_up() {
    for (used, expected) in [
        (0, Some("retry (0/3)")),
        (1, Some("retry (1/3)")),
        (2, Some("retry (2/3)")),
        (3, None),
        (4, None),
    ] {
        assert_eq!(
            retry_label(used).as_deref(),
            expected,
            "after {used} restarts (chapter 07, \"Task 3: The supervisor\")"
        );
    }
}

async fn alert_raised_and_cleared() {
    let start = Instant::now();
    let second = Duration::from_secs(1);
    let mut monitor = ErrorRateMonitor::new(ALERT_THRESHOLD, ALERT_WINDOW);
    for n in 0..ALERT_THRESHOLD - 1 {
        assert_eq!(
            monitor.record(start + second * n as u32),
            None,
            "{} errors are below the threshold of {ALERT_THRESHOLD} \
             (chapter 07, \"Task 7: Alerting\")",
            n + 1
        );
    }
    let tenth = start + second * 9;
    assert_eq!(
        monitor.record(tenth),
        Some(AlertChange::Raised {
            errors: ALERT_THRESHOLD
        }),
        "the {ALERT_THRESHOLD}th error within {ALERT_WINDOW:?} raises the alert \
         (chapter 07, \"Task 7: Alerting\")"
    );
    assert!(
        monitor.is_alerting(),
        "is_alerting() after the alert was raised"
    );
    assert_eq!(
        monitor.record(tenth),
        None,
        "a raised alert is not raised again for every further error \
         (chapter 07, \"Task 7: Alerting\")"
    );
    assert_eq!(
        monitor.check(start + second * 59),
        None,
        "at 59 s every error is still within the window (chapter 07, \"Task 7: Alerting\")"
    );
    assert_eq!(
        monitor.check(start + ALERT_WINDOW),
        None,
        "at 60 s the error of 0 s has left the window, but ten remain (the one of 1 s and the \
         two of 9 s among them): still alerting (chapter 07, \"Task 7: Alerting\")"
    );
    assert_eq!(
        monitor.check(start + ALERT_WINDOW + second),
        Some(AlertChange::Cleared),
        "at 61 s the errors of 0 s and 1 s have left the window and nine remain, below the \
         threshold: the alert clears (chapter 07, \"Task 7: Alerting\")"
    );
    assert!(
        !monitor.is_alerting(),
        "not alerting after the alert cleared"
    );
    assert_eq!(
        monitor.check(start + ALERT_WINDOW * 2),
        None,
        "a cleared alert is not cleared again (chapter 07, \"Task 7: Alerting\")"
    );
}
