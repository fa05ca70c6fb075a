//! Hidden checks of unit 07: retrying only what is retryable (with tokio's
//! paused clock), the supervisor's budget of three restarts, and the
//! reporter against the testkit server's `POST /api/v1/errors`: the course's
//! fields, the hand-written POST, a burst merged into one report, and a dead
//! or silent endpoint that never hurts the caller, and a collector that
//! resets the connection, after which the CPU stays idle.
//!
//! Run against the reference solution by `cargo test -p recovery --test
//! hidden`; the grader runs them against a learner's `src/`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use checkkit::within;
use recovery::{
    AlertChange, AppError, ErrorRateMonitor, ErrorReport, MAX_RESTARTS, MAX_RETRIES, POST_TIMEOUT,
    PostError, RETRY_DELAY, ReportContext, Reporter, USER_AGENT, iso8601, post_json, retry,
    supervise,
};
use testkit::{SilentListener, TestServer, refused_addr};
use tokio::time::Instant;

checkkit::checks! {
    retryable_errors_are_retried_fatal_ones_not,
    a_panicking_task_is_restarted_three_times_then_escalated,
    a_task_that_recovers_returns_its_value,
    report_arrives_with_the_course_fields,
    post_by_hand_returns_the_status,
    a_burst_is_reported_once_with_a_count,
    a_failing_endpoint_never_hurts_the_caller,
    a_resetting_collector_leaves_the_cpu_idle,
    alert_uses_the_given_threshold_and_window,
}

const LIMIT: Duration = Duration::from_secs(10);

async fn start_server() -> TestServer {
    match TestServer::start().await {
        Ok(server) => server,
        Err(error) => panic!("the testkit server did not start: {error}"),
    }
}

async fn retryable_errors_are_retried_fatal_ones_not() {
    tokio::time::pause();

    // A network error every time: 1 attempt + MAX_RETRIES retries, with a
    // delay before each retry.
    let attempts = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&attempts);
    let start = Instant::now();
    let result: Result<(), AppError> = retry(MAX_RETRIES, RETRY_DELAY, |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        async { Err(AppError::ConnectionRefused) }
    })
    .await;
    assert_eq!(
        result,
        Err(AppError::ConnectionRefused),
        "after the last retry, retry() returns the last error (chapter 07, \"Task 2: Retrying\")"
    );
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        1 + MAX_RETRIES,
        "a retryable error is tried once and retried {MAX_RETRIES} times \
         (chapter 07, \"Task 2: Retrying\")"
    );
    assert!(
        start.elapsed() >= RETRY_DELAY * MAX_RETRIES,
        "retry() must wait {RETRY_DELAY:?} before each retry, not spin; it took {:?} \
         (chapter 07, \"Task 2: Retrying\")",
        start.elapsed()
    );

    // Other budgets and another delay: retry() uses the ones it is given.
    let delay = Duration::from_millis(70);
    for max_retries in [0, 1, 5] {
        let attempts = Arc::new(AtomicU32::new(0));
        let counter = Arc::clone(&attempts);
        let start = Instant::now();
        let result: Result<(), AppError> = retry(max_retries, delay, |_| {
            counter.fetch_add(1, Ordering::SeqCst);
            async { Err(AppError::ConnectionRefused) }
        })
        .await;
        let took = start.elapsed();
        assert_eq!(
            (result, attempts.load(Ordering::SeqCst)),
            (Err(AppError::ConnectionRefused), 1 + max_retries),
            "retry({max_retries}, {delay:?}, …) with a network error every time must make \
             1 + {max_retries} attempts and return the last error (chapter 07, \"Task 2: Retrying\")"
        );
        assert!(
            took >= delay * max_retries && took <= (delay + Duration::from_millis(2)) * max_retries,
            "retry({max_retries}, {delay:?}, …) must wait {delay:?} before each of its \
             {max_retries} retries and not otherwise, {:?} in all; it took {took:?} \
             (chapter 07, \"Task 2: Retrying\")",
            delay * max_retries
        );
    }

    // Every retryable kind is retried: network errors and server errors.
    for retryable in [
        AppError::ConnectionReset,
        AppError::Timeout(Duration::from_secs(5)),
        AppError::ServerStatus(500),
        AppError::ServerStatus(502),
        AppError::ServerClose(1011),
        AppError::ServerClose(1013),
    ] {
        let attempts = Arc::new(AtomicU32::new(0));
        let counter = Arc::clone(&attempts);
        let error = retryable.clone();
        let _: Result<(), AppError> = retry(2, delay, |_| {
            counter.fetch_add(1, Ordering::SeqCst);
            let error = error.clone();
            async move { Err(error) }
        })
        .await;
        assert_eq!(
            attempts.load(Ordering::SeqCst),
            3,
            "{retryable:?} is a {:?} error, which is retryable: retry(2, …) must try it 3 times \
             (chapter 07, \"Five kinds of error\")",
            retryable.kind()
        );
    }

    // Fatal errors: one attempt only.
    for fatal in [
        AppError::Unauthorized,
        AppError::Protocol("bad frame".into()),
        AppError::AlreadyClosed,
    ] {
        let attempts = Arc::new(AtomicU32::new(0));
        let counter = Arc::clone(&attempts);
        let error = fatal.clone();
        let start = Instant::now();
        let result: Result<(), AppError> = retry(MAX_RETRIES, RETRY_DELAY, |_| {
            counter.fetch_add(1, Ordering::SeqCst);
            let error = error.clone();
            async move { Err(error) }
        })
        .await;
        assert!(
            start.elapsed() < RETRY_DELAY,
            "{fatal:?} is not retryable: retry() returns it at once, without waiting; it took \
             {:?} (chapter 07, \"Task 2: Retrying\")",
            start.elapsed()
        );
        assert_eq!(
            result,
            Err(fatal.clone()),
            "a fatal error is returned as it is"
        );
        assert_eq!(
            attempts.load(Ordering::SeqCst),
            1,
            "{fatal:?} is not retryable: retry() must return it after one attempt \
             (chapter 07, \"Task 2: Retrying\")"
        );
    }

    // A server error that goes away on the third attempt.
    let result = retry(MAX_RETRIES, RETRY_DELAY, |attempt| async move {
        if attempt < 3 {
            Err(AppError::ServerStatus(503))
        } else {
            Ok(attempt)
        }
    })
    .await;
    assert_eq!(
        result,
        Ok(3),
        "a 503 twice and then success: retry() returns the success of attempt 3 \
         (chapter 07, \"Task 2: Retrying\")"
    );

    // A retryable error, then a fatal one: the fatal one ends it.
    let attempts = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&attempts);
    let result: Result<(), AppError> = retry(MAX_RETRIES, RETRY_DELAY, |attempt| {
        counter.fetch_add(1, Ordering::SeqCst);
        async move {
            if attempt == 1 {
                Err(AppError::ServerStatus(503))
            } else {
                Err(AppError::Forbidden)
            }
        }
    })
    .await;
    assert_eq!(
        (result, attempts.load(Ordering::SeqCst)),
        (Err(AppError::Forbidden), 2),
        "a 503 and then Forbidden: the fatal error ends the retries at attempt 2 and is returned \
         (chapter 07, \"Task 2: Retrying\")"
    );
}

async fn a_panicking_task_is_restarted_three_times_then_escalated() {
    let runs = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&runs);
    let result = within(Duration::from_secs(5), "supervise() to escalate", async {
        supervise(MAX_RESTARTS, |_| {
            let counter = Arc::clone(&counter);
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                panic!("reader crashed");
            }
        })
        .await
    })
    .await;
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1 + MAX_RESTARTS,
        "a task that always panics runs once and is restarted {MAX_RESTARTS} times, no more \
         (chapter 07, \"Task 3: The supervisor\")"
    );
    match result {
        Ok(_) => panic!(
            "a task that always panics must end in Err(Escalation) \
             (chapter 07, \"Task 3: The supervisor\")"
        ),
        Err(escalation) => {
            assert_eq!(
                escalation.restarts, MAX_RESTARTS,
                "the escalation reports the {MAX_RESTARTS} restarts spent \
                 (chapter 07, \"Task 3: The supervisor\")"
            );
            assert_eq!(
                escalation.last_error,
                AppError::Panic("reader crashed".into()),
                "the escalation carries the panic's message as AppError::Panic \
                 (chapter 07, \"Task 3: The supervisor\")"
            );
        }
    }
    // Other budgets, and a formatted panic message (a String payload, where
    // panic!("literal") gives a &'static str).
    for budget in [0, 1, 5] {
        let runs = Arc::new(AtomicU32::new(0));
        let counter = Arc::clone(&runs);
        let result = within(Duration::from_secs(5), "supervise() to escalate", async {
            supervise(budget, |run| {
                let counter = Arc::clone(&counter);
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    panic!("reader crashed on run {run}");
                }
            })
            .await
        })
        .await;
        assert_eq!(
            runs.load(Ordering::SeqCst),
            1 + budget,
            "supervise({budget}, …) with a task that always panics runs it once and restarts it \
             {budget} times: the budget is the argument (chapter 07, \"Task 3: The supervisor\")"
        );
        let escalation = result
            .err()
            .map(|escalation| (escalation.restarts, escalation.last_error));
        assert_eq!(
            escalation,
            Some((
                budget,
                AppError::Panic(format!("reader crashed on run {budget}"))
            )),
            "supervise({budget}, …) escalates with its {budget} restarts and the last panic's \
             message; panic!(\"{{x}}\") carries a String, panic!(\"literal\") a &str, and both are \
             messages (chapter 07, \"The Rust error boundary\")"
        );
    }
}

async fn a_task_that_recovers_returns_its_value() {
    let result = within(Duration::from_secs(5), "supervise() to finish", async {
        supervise(MAX_RESTARTS, |run| async move {
            if run < 2 {
                panic!("crash number {run}");
            }
            run * 10
        })
        .await
    })
    .await;
    match result {
        Ok(finished) => {
            assert_eq!(
                finished.value, 20,
                "the value of the run that did not panic (chapter 07, \"Task 3: The supervisor\")"
            );
            assert_eq!(
                finished.restarts, 2,
                "two panics, then success: two restarts (chapter 07, \"Task 3: The supervisor\")"
            );
        }
        Err(escalation) => panic!(
            "a task that panics twice and then succeeds is within the budget of {MAX_RESTARTS}, \
             but supervise() escalated: {escalation} (chapter 07, \"Task 3: The supervisor\")"
        ),
    }
    let quick = within(Duration::from_secs(5), "supervise() to finish", async {
        supervise(MAX_RESTARTS, |_| async { "fine" }).await
    })
    .await;
    assert_eq!(
        quick
            .ok()
            .map(|finished| (finished.value, finished.restarts)),
        Some(("fine", 0)),
        "a task that does not panic is run once (chapter 07, \"Task 3: The supervisor\")"
    );
}

async fn report_arrives_with_the_course_fields() {
    let server = start_server().await;
    let endpoint = server.http_url("/api/v1/errors");
    let ws_url = server.ws_url("/ws");
    let reporter = Reporter::start(&endpoint, Duration::from_millis(200));
    let before = iso8601(SystemTime::now());
    reporter.report(ErrorReport::from_error(
        &AppError::ServerClose(1011),
        "chat/reader",
        ReportContext::now(&ws_url),
    ));
    let summary = within(LIMIT, "flush()", reporter.flush()).await;
    assert_eq!(
        summary.sent, 1,
        "flush() posts the pending report and counts it as sent: {summary:?} \
         (chapter 07, \"Task 6: The reporter\")"
    );
    let reports = server.error_reports();
    assert_eq!(
        reports.len(),
        1,
        "the server must have recorded exactly one report, got {reports:?}"
    );
    let report = &reports[0];
    let field = |pointer: &str| report.pointer(pointer).cloned().unwrap_or_default();
    assert_eq!(
        field("/error/name"),
        "ServerClose",
        "error.name is AppError::name() (chapter 07, \"Task 4: The report\"); report: {report}"
    );
    assert_eq!(
        field("/error/message"),
        AppError::ServerClose(1011).to_string().as_str(),
        "error.message is the error's Display (chapter 07, \"Task 4: The report\"); report: {report}"
    );
    assert!(
        field("/error/stack")
            .as_str()
            .is_some_and(|stack| !stack.is_empty()),
        "error.stack is a non-empty backtrace (chapter 07, \"Task 4: The report\"); report: {report}"
    );
    assert_eq!(
        field("/errorInfo/componentStack"),
        "chat/reader",
        "errorInfo.componentStack, camelCase on the wire (chapter 07, \"Task 4: The report\"); \
         report: {report}"
    );
    assert_eq!(
        field("/context/url"),
        ws_url.as_str(),
        "context.url (chapter 07, \"Task 4: The report\"); report: {report}"
    );
    assert_eq!(
        field("/context/userAgent"),
        USER_AGENT,
        "context.userAgent, camelCase on the wire (chapter 07, \"Task 4: The report\"); \
         report: {report}"
    );
    let timestamp = field("/context/timestamp");
    let timestamp = timestamp.as_str().unwrap_or_default();
    let after = iso8601(SystemTime::now());
    assert!(
        timestamp.len() == 24 && before.as_str() <= timestamp && timestamp <= after.as_str(),
        "context.timestamp {timestamp:?} must be the ISO 8601 time of the error, between \
         {before} and {after} (chapter 07, \"Task 4: The report\")"
    );
    assert_eq!(
        field("/count"),
        1,
        "a single error is reported with count 1 (chapter 07, \"Task 4: The report\")"
    );
}

async fn post_by_hand_returns_the_status() {
    let server = start_server().await;
    let endpoint = server.http_url("/api/v1/errors");
    let created = within(
        LIMIT,
        "post_json()",
        post_json(&endpoint, r#"{"error": {"message": "boom"}}"#, POST_TIMEOUT),
    )
    .await;
    assert!(
        matches!(created, Ok(201)),
        "a JSON object posted to /api/v1/errors gets 201 Created, post_json returned {created:?} \
         (chapter 07, \"Task 5: POST by hand\")"
    );
    let reports = server.error_reports();
    assert_eq!(
        reports
            .first()
            .and_then(|report| report.pointer("/error/message")),
        Some(&serde_json::json!("boom")),
        "the server must have recorded the body, got {reports:?} \
         (chapter 07, \"Task 5: POST by hand\")"
    );
    // Content-Length counts bytes: "é" is 2 of them, "☕" 3.
    let accented = within(
        LIMIT,
        "post_json() with a body that is not ASCII",
        post_json(
            &endpoint,
            r#"{"error": {"message": "café ☕ über"}}"#,
            POST_TIMEOUT,
        ),
    )
    .await;
    let recorded = server.error_reports();
    assert!(
        matches!(accented, Ok(201))
            && recorded
                .get(1)
                .and_then(|report| report.pointer("/error/message"))
                == Some(&serde_json::json!("café ☕ über")),
        "a body with \"café ☕ über\" must arrive whole: Content-Length is body.len() in bytes, \
         not a count of characters; post_json returned {accented:?} and the server recorded \
         {recorded:?} (chapter 07, \"HTTP by hand\")"
    );
    let rejected = within(
        LIMIT,
        "post_json()",
        post_json(&endpoint, "not json", POST_TIMEOUT),
    )
    .await;
    assert!(
        matches!(rejected, Err(PostError::Status(400))),
        "a body that is not JSON gets 400, which post_json returns as PostError::Status(400), \
         got {rejected:?} (chapter 07, \"Task 5: POST by hand\")"
    );
    let big = format!(r#"{{"padding": "{}"}}"#, "x".repeat(70 * 1024));
    let too_big = within(
        LIMIT,
        "post_json()",
        post_json(&endpoint, &big, POST_TIMEOUT),
    )
    .await;
    assert!(
        matches!(too_big, Err(PostError::Status(413)) | Err(PostError::Io(_))),
        "a 70 KiB body gets 413, got {too_big:?} (chapter 07, \"Task 5: POST by hand\")"
    );
    let silent = match SilentListener::start().await {
        Ok(listener) => listener,
        Err(error) => panic!("the silent listener did not start: {error}"),
    };
    let limit = Duration::from_millis(300);
    let started = std::time::Instant::now();
    let timed_out = within(
        Duration::from_secs(3),
        "post_json() to a server that never answers",
        post_json(
            &format!("http://{}/api/v1/errors", silent.addr()),
            "{}",
            limit,
        ),
    )
    .await;
    assert!(
        matches!(timed_out, Err(PostError::Timeout(_)))
            && started.elapsed() < Duration::from_secs(2),
        "a server that never answers: post_json gives up after its limit with \
         PostError::Timeout, got {timed_out:?} after {:?} (chapter 07, \"Task 5: POST by hand\")",
        started.elapsed()
    );
    // The status line decides: HTTP/1.x and its code; anything else is a
    // BadResponse.
    let short = Duration::from_secs(2);
    for (answer, expected) in [
        (b"HTTP/1.1 201 Created\r\n".to_vec(), "Ok(201)"),
        (b"HTTP/1.0 200 OK\r\n".to_vec(), "Ok(200)"),
        (b"SPDY/3 201 Created\r\n".to_vec(), "Err(BadResponse)"),
        (b"201 Created\r\n".to_vec(), "Err(BadResponse)"),
    ] {
        let url = answer_once(answer.clone()).await;
        let got = within(
            LIMIT,
            "post_json() to a one-shot server",
            post_json(&url, "{}", short),
        )
        .await;
        let right = match expected {
            "Ok(201)" => matches!(got, Ok(201)),
            "Ok(200)" => matches!(got, Ok(200)),
            _ => matches!(got, Err(PostError::BadResponse(_))),
        };
        let shown = String::from_utf8_lossy(&answer[..answer.len().min(40)]).into_owned();
        assert!(
            right,
            "the server answered {shown:?}: post_json reads the status line and returns \
             {expected}; it returned {got:?} (chapter 07, \"Task 5: POST by hand\")"
        );
    }
}

async fn a_burst_is_reported_once_with_a_count() {
    let server = start_server().await;
    let endpoint = server.http_url("/api/v1/errors");
    let url = server.ws_url("/ws");
    let reporter = Reporter::start(&endpoint, Duration::from_millis(300));

    // A burst, then a flush: one report with count 10, and the other error
    // on its own.
    for _ in 0..10 {
        reporter.report(ErrorReport::from_error(
            &AppError::ConnectionRefused,
            "feed",
            ReportContext::now(&url),
        ));
    }
    reporter.report(ErrorReport::from_error(
        &AppError::Unauthorized,
        "feed",
        ReportContext::now(&url),
    ));
    let summary = within(LIMIT, "flush()", reporter.flush()).await;
    assert_eq!(
        summary.sent, 2,
        "ten identical errors and one other make two reports, flush() said {summary:?} \
         (chapter 07, \"Task 6: The reporter\")"
    );
    let reports = server.error_reports();
    let count_of = |name: &str| {
        reports
            .iter()
            .filter(|report| report.pointer("/error/name") == Some(&serde_json::json!(name)))
            .map(|report| report.get("count").cloned().unwrap_or_default())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        count_of("ConnectionRefused"),
        vec![serde_json::json!(10)],
        "a burst of ten identical errors is one report with count 10; the server got \
         {reports:?} (chapter 07, \"Task 6: The reporter\")"
    );
    assert_eq!(
        count_of("Unauthorized"),
        vec![serde_json::json!(1)],
        "a different error gets its own report (chapter 07, \"Task 6: The reporter\")"
    );

    // Without a flush: the report goes out when the window closes.
    for _ in 0..5 {
        reporter.report(ErrorReport::from_error(
            &AppError::Timeout(Duration::from_secs(1)),
            "feed",
            ReportContext::now(&url),
        ));
    }
    let arrived = server
        .wait_until(Duration::from_secs(5), |server| {
            server.error_reports().len() >= 3
        })
        .await;
    assert!(
        arrived.is_ok(),
        "without a flush, merged reports must be posted when their window closes \
         (chapter 07, \"Task 6: The reporter\")"
    );
    let reports = server.error_reports();
    assert_eq!(
        reports.len(),
        3,
        "five identical timeouts are one more report, the server got {reports:?} \
         (chapter 07, \"Task 6: The reporter\")"
    );
    assert_eq!(
        reports[2].get("count"),
        Some(&serde_json::json!(5)),
        "the merged report carries count 5 (chapter 07, \"Task 6: The reporter\")"
    );

    // The fingerprint is name, message and component: the same name with
    // another message, or in another component, is another report.
    for (error, component) in [
        (AppError::Protocol("frame 1".into()), "feed"),
        (AppError::Protocol("frame 1".into()), "feed"),
        (AppError::Protocol("frame 2".into()), "feed"),
        (AppError::Protocol("frame 1".into()), "chat"),
    ] {
        reporter.report(ErrorReport::from_error(
            &error,
            component,
            ReportContext::now(&url),
        ));
    }
    let summary = within(LIMIT, "flush()", reporter.flush()).await;
    let reports = server.error_reports();
    let mut merged: Vec<(String, String, u64)> = reports[3..]
        .iter()
        .map(|report| {
            let text = |pointer: &str| {
                report
                    .pointer(pointer)
                    .and_then(|value| value.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            let count = report
                .get("count")
                .and_then(|count| count.as_u64())
                .unwrap_or_default();
            (
                text("/error/message"),
                text("/errorInfo/componentStack"),
                count,
            )
        })
        .collect();
    merged.sort();
    let message = |frame: &str| AppError::Protocol(frame.into()).to_string();
    assert_eq!(
        merged,
        vec![
            (message("frame 1"), "chat".to_owned(), 1),
            (message("frame 1"), "feed".to_owned(), 2),
            (message("frame 2"), "feed".to_owned(), 1),
        ],
        "reports merge only when name, message and component are all the same: two identical \
         ones (count 2), one with another message, one from another component; flush() said \
         {summary:?} (chapter 07, \"Bursts, rate limits and a failing collector\")"
    );

    // Dropping the last handle: what is pending is posted, without waiting
    // for the window to close.
    let patient = Reporter::start(&endpoint, Duration::from_secs(60));
    patient.report(ErrorReport::from_error(
        &AppError::ConnectionReset,
        "feed",
        ReportContext::now(&url),
    ));
    drop(patient);
    let posted = server
        .wait_until(Duration::from_secs(5), |server| {
            server.error_reports().len() >= 7
        })
        .await;
    assert!(
        posted.is_ok(),
        "when every Reporter handle is gone the task posts what is pending before it ends \
         (here a report whose window of 60 s had not closed); the server has {} reports, \
         expected 7 (chapter 07, \"Task 6: The reporter\")",
        server.error_reports().len()
    );
}

async fn a_failing_endpoint_never_hurts_the_caller() {
    let dead = format!("http://{}/api/v1/errors", refused_addr().await);
    let reporter = Reporter::start(&dead, Duration::from_millis(100));
    // Built first: capturing a backtrace is not what is timed.
    let reports: Vec<ErrorReport> = (0..3)
        .map(|n| {
            ErrorReport::from_error(
                &AppError::Panic(format!("crash {n}")),
                "worker",
                ReportContext::now("ws://example.invalid/ws"),
            )
        })
        .collect();
    // Real time: queueing three reports takes microseconds; a second is a
    // bound that a loaded machine never reaches.
    let started = std::time::Instant::now();
    for report in reports {
        reporter.report(report);
    }
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "report() must return at once, it took {:?} (chapter 07, \"Task 6: The reporter\")",
        started.elapsed()
    );
    let summary = within(LIMIT, "flush() with the endpoint down", reporter.flush()).await;
    assert_eq!(
        (summary.sent, summary.failed),
        (0, 3),
        "with nobody listening, flush() counts three failed reports, got {summary:?} \
         (chapter 07, \"Task 6: The reporter\")"
    );
    // The reporter is still alive after the failures.
    reporter.report(ErrorReport::from_error(
        &AppError::AlreadyClosed,
        "worker",
        ReportContext::now("ws://example.invalid/ws"),
    ));
    let summary = within(LIMIT, "a second flush()", reporter.flush()).await;
    assert_eq!(
        summary.failed, 1,
        "after a failing endpoint the reporter must keep working (no panic, no dead task), \
         the second flush said {summary:?} (chapter 07, \"Task 6: The reporter\")"
    );
    // Flooding the queue drops reports instead of blocking or panicking.
    let flood: Vec<ErrorReport> = (0..500)
        .map(|n| {
            ErrorReport::from_error(
                &AppError::Protocol(format!("frame {n}")),
                "worker",
                ReportContext::now("ws://example.invalid/ws"),
            )
        })
        .collect();
    let started = std::time::Instant::now();
    for report in flood {
        reporter.report(report);
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "report() never blocks, even when the queue is full (chapter 07, \"Task 6: The reporter\")"
    );
}

async fn a_resetting_collector_leaves_the_cpu_idle() {
    let section = "(chapter 07, \"Task 5: POST by hand\")";
    // A collector that reads the request and resets the connection (TCP
    // RST, SO_LINGER 0) instead of answering.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback listener");
    let endpoint = format!(
        "http://{}/api/v1/errors",
        listener.local_addr().expect("its address")
    );
    let (reset_sender, mut resets) = tokio::sync::mpsc::unbounded_channel();
    let collector = tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut request = [0_u8; 4096];
            let _ = stream.read(&mut request).await;
            let _ = stream.set_zero_linger();
            drop(stream);
            let _ = reset_sender.send(());
        }
    });
    let reporter = Reporter::start(&endpoint, Duration::from_millis(50));
    reporter.report(ErrorReport::from_error(
        &AppError::ConnectionReset,
        "worker",
        ReportContext::now("ws://example.invalid/ws"),
    ));
    within(
        LIMIT,
        "the report's POST to reach the collector",
        resets.recv(),
    )
    .await;
    // A quiet second, measured on this thread, which runs the code under
    // test too (`checkkit::cpu` says why the bound holds on any machine).
    let quiet = checkkit::cpu::quiet_second().await;
    let checkkit::cpu::Quiet {
        used,
        allowed,
        share,
    } = quiet;
    collector.abort();
    assert!(
        quiet.is_idle(),
        "the collector reset the connection of a POST and then nothing happened for \
         {:?}, yet the reporter used {used:?} of CPU time in it (allowed: {allowed:?}, \
         a fifth of the {:.0}% of a core this thread gets now; a task that spins uses all of \
         it): a failed read, or the end of the stream, must end the POST with an error, not \
         be read again and again {section}",
        checkkit::cpu::QUIET,
        share * 100.0
    );
}

async fn alert_uses_the_given_threshold_and_window() {
    let start = Instant::now();
    let second = Duration::from_secs(1);
    // Not the course's numbers: the monitor uses the ones it is given.
    let mut monitor = ErrorRateMonitor::new(3, second * 10);
    assert_eq!(
        (monitor.record(start), monitor.record(start + second)),
        (None, None),
        "with a threshold of 3, two errors raise nothing (chapter 07, \"Task 7: Alerting\")"
    );
    assert_eq!(
        monitor.record(start + second * 2),
        Some(AlertChange::Raised { errors: 3 }),
        "ErrorRateMonitor::new(3, 10 s): the third error within 10 s raises the alert with \
         errors: 3 (chapter 07, \"Task 7: Alerting\")"
    );
    assert_eq!(
        monitor.check(start + second * 10 - Duration::from_millis(1)),
        None,
        "just before 10 s all three errors are within the window of 10 s \
         (chapter 07, \"Task 7: Alerting\")"
    );
    assert_eq!(
        monitor.check(start + second * 10),
        Some(AlertChange::Cleared),
        "at 10 s the error of 0 s is exactly one window old and has left it; two remain, below \
         the threshold of 3: the alert clears (chapter 07, \"Task 7: Alerting\")"
    );
    assert_eq!(
        monitor.record(start + second * 10 + Duration::from_millis(500)),
        Some(AlertChange::Raised { errors: 3 }),
        "a new error at 10.5 s makes three within the window again (1 s, 2 s, 10.5 s): raised again \
         (chapter 07, \"Task 7: Alerting\")"
    );
}

/// A one-shot HTTP peer on the loopback: reads the request's head, writes
/// `answer`, and ends the connection.
async fn answer_once(answer: Vec<u8>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let address = listener.local_addr().expect("the listener's address");
    tokio::spawn(async move {
        let held = async {
            let (mut stream, _) = listener.accept().await?;
            let mut head = Vec::new();
            let mut chunk = [0_u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
                let read = stream.read(&mut chunk).await?;
                if read == 0 {
                    break;
                }
                head.extend_from_slice(&chunk[..read]);
            }
            stream.write_all(&answer).await?;
            stream.shutdown().await
        };
        let _ = tokio::time::timeout(Duration::from_secs(10), held).await;
    });
    format!("http://{address}/api/v1/errors")
}
