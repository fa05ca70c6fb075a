//! Hidden checks of unit 11.
//!
//! Pure checks replay a link through `QualityMonitor` with made-up instants
//! (no clock, exact numbers): the report against the samples it was fed,
//! late echoes, and how many samples the policy takes to step down and back
//! up. Network checks run a `QualityClient` against the testkit server's
//! `delay_ms`, `drop_every` and `silent_after` options and its live
//! `set_delay` control, in real time: RTTs cannot be measured on a paused
//! clock, because the server's timers and the loopback socket would both
//! have to run on it. Their tolerances are stated as constants below and
//! only ever loosen the side that load can push (an RTT can only get
//! longer than the server's delay, never shorter).

use std::time::Duration;

use checkkit::within;
use quality::{
    AdaptivePolicy, EWMA_ALPHA, Echo, LOSS_WINDOW, MonitorConfig, MonitorError, PolicyChange,
    Quality, QualityClient, QualityMonitor, RTT_WINDOW, Report, STEP_DOWN_AFTER, STEP_UP_AFTER,
};
use testkit::{Ending, Frame, TestServer};
use tokio::time::Instant;

checkkit::checks! {
    report_numbers_match_the_samples,
    a_late_or_repeated_echo_is_counted_late_not_received,
    policy_reaction_on_a_replayed_link_takes_the_stated_samples,
    rtt_matches_the_server_delay_within_tolerance,
    loss_matches_drop_every_exactly,
    a_silent_server_means_missed_heartbeats_after_the_timeout,
    policy_steps_down_on_a_slow_link_and_recovers,
    stop_closes_with_1000_and_the_wire_carries_numbered_heartbeats,
}

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// On loopback an echo takes well under a millisecond; on a loaded 2-core
/// machine the median of a run stays within this of the server's delay.
const RTT_TOLERANCE: Duration = Duration::from_millis(50);

/// Heartbeats for the network checks: fast, so a check takes a second or two.
const FAST: MonitorConfig = MonitorConfig {
    heartbeat_interval: Duration::from_millis(25),
    heartbeat_timeout: Duration::from_secs(2),
};

/// The slow link of the policy check.
const SLOW: Duration = Duration::from_millis(400);

/// Longest wait for the monitor to reach a state.
const WAIT: Duration = Duration::from_secs(15);

async fn start_server() -> TestServer {
    within(ms(5000), "the testkit server to start", TestServer::start())
        .await
        .expect("the testkit server starts")
}

async fn connect(url: &str, config: MonitorConfig) -> QualityClient {
    within(
        ms(5000),
        "QualityClient::connect",
        QualityClient::connect(url, config),
    )
    .await
    .unwrap_or_else(|error| {
        panic!("QualityClient::connect({url}) failed: {error} (chapter 11, \"Task 4: The client\")")
    })
}

/// Waits until a report satisfies `condition`; returns that report.
async fn wait_report(
    client: &QualityClient,
    what: &str,
    mut condition: impl FnMut(&Report) -> bool,
) -> Report {
    let mut reports = client.reports();
    let report = within(WAIT, what, async {
        match reports.wait_for(|report| condition(report)).await {
            Ok(report) => report.clone(),
            Err(_) => panic!(
                "the monitoring task ended (its report sender was dropped) while waiting for \
                 {what}; last report:\n{} (chapter 11, \"Task 4: The client\")",
                client.report()
            ),
        }
    })
    .await;
    assert_eq!(
        report.sent,
        report.received + report.lost + report.in_flight,
        "every heartbeat sent is received, lost or in flight, once: {report:?} \
         (chapter 11, \"Task 3: Heartbeats in, samples out\")"
    );
    report
}

fn settled(report: &Report) -> u64 {
    report.received + report.lost
}

// ------------------------------------------------------------ pure checks

/// A small deterministic generator, so the check needs no dependency.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

fn nearest_rank(sorted: &[Duration], p: usize) -> Duration {
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

async fn report_numbers_match_the_samples() {
    let config = MonitorConfig {
        heartbeat_interval: ms(100),
        heartbeat_timeout: ms(10_000),
    };
    let t0 = Instant::now();
    let mut monitor = QualityMonitor::new(config, t0);
    let mut rng = Lcg(11);
    let mut fed = Vec::new();
    let mut outcomes = Vec::new(); // true = lost
    let mut pending_gap = false;
    for i in 0..170u64 {
        let sent = t0 + ms(100 * i);
        let heartbeat = monitor.heartbeat(sent);
        if i % 7 == 3 {
            // Never echoed: settled lost by the next echo (a gap).
            pending_gap = true;
            continue;
        }
        let rtt = Duration::from_micros(5_000 + rng.next(400_000));
        let echo = monitor.on_echo(heartbeat.seq, sent + rtt);
        assert_eq!(
            echo,
            Echo::Sample(rtt),
            "heartbeat {} is a sample",
            heartbeat.seq
        );
        if pending_gap {
            outcomes.push(true);
            pending_gap = false;
        }
        outcomes.push(false);
        fed.push(rtt);
        if fed.len() == 5 {
            // Early on, the window is not full and the EWMA still remembers
            // its seed: the report must match the samples then too.
            check_report(&monitor.report(), &fed, &outcomes);
        }
    }
    check_report(&monitor.report(), &fed, &outcomes);
}

/// Checks every number of `report` against the RTTs fed (in order) and the
/// outcomes of the settled heartbeats (in order, `true` for lost).
fn check_report(report: &Report, fed: &[Duration], outcomes: &[bool]) {
    let lost = outcomes.iter().filter(|lost| **lost).count() as u64;
    let counts = (
        report.sent,
        report.received,
        report.lost,
        report.in_flight,
        report.late,
    );
    assert_eq!(
        counts,
        (outcomes.len() as u64, fed.len() as u64, lost, 0, 0),
        "after {} samples, (sent, received, lost, in flight, late) must count what the \
         monitor was fed (chapter 11, \"Task 3: Heartbeats in, samples out\")",
        fed.len()
    );
    let window = &fed[fed.len().saturating_sub(RTT_WINDOW)..];
    assert_eq!(
        report.samples, window,
        "the report's samples are the last RTT_WINDOW RTTs, oldest first \
         (chapter 11, \"Task 3: Heartbeats in, samples out\")"
    );
    let mut sorted = window.to_vec();
    sorted.sort();
    let mut ewma = fed[0].as_secs_f64();
    for rtt in &fed[1..] {
        ewma = (1.0 - EWMA_ALPHA) * ewma + EWMA_ALPHA * rtt.as_secs_f64();
    }
    let rtt = report
        .rtt
        .expect("samples were fed, so the report has RTT figures");
    let n = u32::try_from(window.len()).expect("the window is small");
    let expected_mean = window.iter().sum::<Duration>() / n;
    for (name, got, want) in [
        ("min", rtt.min, sorted[0]),
        ("max", rtt.max, sorted[sorted.len() - 1]),
        ("mean", rtt.mean, expected_mean),
        ("p50", rtt.p50, nearest_rank(&sorted, 50)),
        ("p95", rtt.p95, nearest_rank(&sorted, 95)),
        ("p99", rtt.p99, nearest_rank(&sorted, 99)),
    ] {
        assert_eq!(
            got,
            want,
            "after {} samples the report's {name} must be computed from its own samples \
             (the window): expected {want:?}, got {got:?} (chapter 11, \"Task 1: Smoothing\")",
            fed.len()
        );
    }
    assert_eq!(
        rtt.count,
        fed.len() as u64,
        "count is every sample ever taken"
    );
    assert!(
        rtt.ewma.abs_diff(Duration::from_secs_f64(ewma)) <= Duration::from_micros(1),
        "after {} samples the smoothed RTT must be the EWMA of every sample, seeded with the \
         first: expected {:?}, got {:?} (chapter 11, \"Task 1: Smoothing\")",
        fed.len(),
        Duration::from_secs_f64(ewma),
        rtt.ewma
    );
    let recent = &outcomes[outcomes.len().saturating_sub(LOSS_WINDOW)..];
    let recent_loss = recent.iter().filter(|lost| **lost).count() as f64 / recent.len() as f64;
    assert!(
        (report.loss_ratio - recent_loss).abs() < 1e-9,
        "loss_ratio covers the last LOSS_WINDOW settled heartbeats: expected {recent_loss}, \
         got {} (chapter 11, \"Task 3: Heartbeats in, samples out\")",
        report.loss_ratio
    );
    let total = lost as f64 / outcomes.len() as f64;
    assert!(
        (report.total_loss_ratio - total).abs() < 1e-9,
        "total_loss_ratio is lost / (received + lost): expected {total}, got {}",
        report.total_loss_ratio
    );
    assert_eq!(
        report.quality,
        Quality::judge(Some(rtt.ewma), report.loss_ratio),
        "the report's quality is the judgement of its own smoothed RTT and recent loss"
    );
    let text = report.to_string();
    for needle in [
        format!("{} sent", report.sent),
        format!("{} received", report.received),
        format!("{} lost", report.lost),
        format!("p95 {:.1} ms", rtt.p95.as_secs_f64() * 1000.0),
    ] {
        assert!(
            text.contains(&needle),
            "the printed report must show {needle:?}; it was:\n{text}"
        );
    }
}

async fn a_late_or_repeated_echo_is_counted_late_not_received() {
    let config = MonitorConfig {
        heartbeat_interval: ms(100),
        heartbeat_timeout: ms(500),
    };
    let t0 = Instant::now();
    let mut monitor = QualityMonitor::new(config, t0);
    for i in 0..3 {
        monitor.heartbeat(t0 + ms(100 * i));
    }
    assert_eq!(monitor.on_echo(2, t0 + ms(150)), Echo::Sample(ms(50)));
    assert_eq!(
        monitor.on_echo(2, t0 + ms(160)),
        Echo::Late,
        "a second echo of heartbeat 2 is not a second sample \
         (chapter 11, \"Task 3: Heartbeats in, samples out\")"
    );
    assert_eq!(
        monitor.on_echo(1, t0 + ms(170)),
        Echo::Late,
        "heartbeat 1 was settled lost by the gap when 2 came back; its echo is late"
    );
    assert_eq!(
        monitor.on_tick(t0 + ms(700)),
        1,
        "heartbeat 3 is missed at 700 ms"
    );
    assert_eq!(monitor.on_echo(3, t0 + ms(800)), Echo::Late);
    // Numbers never sent are Unknown, not Late: 0 (heartbeats count from 1)
    // and the next one, 4.
    for seq in [0, 4, 99] {
        assert_eq!(
            monitor.on_echo(seq, t0 + ms(810)),
            Echo::Unknown,
            "heartbeat {seq} was never sent (1 to 3 were): its echo is Unknown, not Late \
             (chapter 11, \"Task 3: Heartbeats in, samples out\")"
        );
    }
    let report = monitor.report();
    assert_eq!(
        (
            report.sent,
            report.received,
            report.lost,
            report.late,
            report.in_flight
        ),
        (3, 1, 2, 3, 0),
        "(sent, received, lost, late, in flight): a heartbeat is settled once, as received \
         or lost; an echo after that only counts as late (chapter 11, \"Task 2: Heartbeats \
         in, samples out\")"
    );
    assert_eq!(
        report.rtt.map(|rtt| rtt.count),
        Some(1),
        "one sample only: late echoes are not RTT samples"
    );
}

/// Feeds `rtts` through a fresh monitor, one heartbeat at a time.
fn replay(rtts: &[Duration]) -> Vec<PolicyChange> {
    let config = MonitorConfig {
        heartbeat_interval: ms(100),
        heartbeat_timeout: ms(10_000),
    };
    let t0 = Instant::now();
    let mut monitor = QualityMonitor::new(config, t0);
    let mut clock = t0;
    for rtt in rtts {
        let heartbeat = monitor.heartbeat(clock);
        monitor.on_echo(heartbeat.seq, clock + *rtt);
        clock += ms(1000);
        let rung = monitor
            .report()
            .changes
            .last()
            .map_or(0, |change| change.to);
        assert_eq!(
            monitor.level(),
            rung,
            "QualityMonitor::level is the policy's rung now, the last change's `to` ({rung}) \
             (chapter 11, \"Task 2: The adaptive policy\")"
        );
    }
    let changes = monitor.report().changes;
    let rung = changes.last().map_or(0, |change| change.to);
    assert_eq!(
        monitor.level(),
        rung,
        "QualityMonitor::level is the policy's rung now, the last change's `to` ({rung}) \
         (chapter 11, \"Task 2: The adaptive policy\")"
    );
    changes
}

async fn policy_reaction_on_a_replayed_link_takes_the_stated_samples() {
    // 10 samples of 20 ms, 30 of 400 ms, 60 of 20 ms.
    let link: Vec<Duration> = [(10, 20), (30, 400), (60, 20)]
        .into_iter()
        .flat_map(|(count, millis)| std::iter::repeat_n(ms(millis), count))
        .collect();
    let changes: Vec<(u64, usize, usize)> = replay(&link)
        .into_iter()
        .map(|change| (change.sample, change.from, change.to))
        .collect();
    // The EWMA, seeded at 20 ms, passes 300 ms on the 10th slow sample
    // (400 - 380 * 0.875^10 = 300.03 ms): Poor from sample 20, so the first
    // step is at sample 22 (three Poor in a row), then every three: 25, 28.
    // Back at 20 ms it falls to 150 ms on the 8th fast sample (sample 48):
    // Good from there, so ten Good in a row step up at 57, 67 and 77.
    let expected = vec![
        (22, 0, 1),
        (25, 1, 2),
        (28, 2, 3),
        (57, 3, 2),
        (67, 2, 1),
        (77, 1, 0),
    ];
    assert_eq!(
        changes, expected,
        "policy changes as (sample, from, to) for 10 × 20 ms, 30 × 400 ms, 60 × 20 ms: the \
         smoothed RTT crosses 300 ms at sample 20 and 150 ms at sample 48; the policy steps \
         down after {STEP_DOWN_AFTER} Poor in a row and up after {STEP_UP_AFTER} Good \
         (chapter 11, \"Task 2: The adaptive policy\")"
    );

    // The judgement's loss thresholds, on both sides: Good needs a recent
    // loss *below* 2 %, Poor starts *at* 10 %.
    for (smoothed, loss, expected) in [
        (Some(ms(20)), 0.0, Quality::Good),
        (Some(ms(20)), 0.019, Quality::Good),
        (Some(ms(20)), 0.02, Quality::Fair),
        (Some(ms(150)), 0.099, Quality::Fair),
        (Some(ms(20)), 0.099, Quality::Fair),
        (Some(ms(300)), 0.1, Quality::Poor),
        (Some(ms(400)), 0.0, Quality::Poor),
        (None, 0.099, Quality::Fair),
    ] {
        assert_eq!(
            Quality::judge(smoothed, loss),
            expected,
            "a link with smoothed RTT {smoothed:?} and recent loss {loss} is {expected:?}: \
             Good needs at most 150 ms and a loss below 2 %, Poor is above 300 ms or a loss \
             of at least 10 % (chapter 11, \"Judging the link\")"
        );
    }

    // Streaks are "in a row": any other judgement ends them.
    let mut policy = AdaptivePolicy::new();
    for quality in [Quality::Poor; 3] {
        policy.observe(quality);
    }
    assert_eq!(policy.level(), 1, "three Poor in a row step down to rung 1");
    let mut changes = Vec::new();
    let qualities = std::iter::repeat_n(Quality::Good, 9)
        .chain([Quality::Fair])
        .chain(std::iter::repeat_n(Quality::Good, 9))
        .chain([Quality::Poor])
        .chain(std::iter::repeat_n(Quality::Good, 9))
        .chain([Quality::Poor, Quality::Poor, Quality::Good, Quality::Poor]);
    for quality in qualities {
        changes.extend(policy.observe(quality));
    }
    assert_eq!(
        (changes, policy.level()),
        (Vec::new(), 1),
        "9 Good, a Fair, 9 Good, a Poor, 9 Good, then Poor, Poor, Good, Poor: no ten Good \
         and no three Poor in a row, so the policy stays on rung 1; a Fair ends both \
         streaks, a Poor ends the Good one and a Good the Poor one \
         (chapter 11, \"An adaptive policy with hysteresis\")"
    );
    let changes: Vec<_> = (0..STEP_UP_AFTER)
        .filter_map(|_| policy.observe(Quality::Good))
        .collect();
    assert_eq!(
        changes,
        [(1, 0)],
        "ten Good in a row step up from rung 1 to 0, at the tenth \
         (chapter 11, \"An adaptive policy with hysteresis\")"
    );

    // A change's `sample` counts every settled heartbeat, the lost ones too:
    // six heartbeats never echoed, missed by one tick, are six Poor
    // judgements (no RTT, all lost) and two steps down.
    let config = MonitorConfig {
        heartbeat_interval: ms(100),
        heartbeat_timeout: ms(1000),
    };
    let t0 = Instant::now();
    let mut monitor = QualityMonitor::new(config, t0);
    for i in 0..6 {
        monitor.heartbeat(t0 + ms(100 * i));
    }
    monitor.on_tick(t0 + ms(5000));
    let changes: Vec<(u64, usize, usize)> = monitor
        .report()
        .changes
        .into_iter()
        .map(|change| (change.sample, change.from, change.to))
        .collect();
    assert_eq!(
        changes,
        [(3, 0, 1), (6, 1, 2)],
        "six missed heartbeats are six Poor judgements in a row: the policy steps down after \
         the 3rd and the 6th settled heartbeat; a PolicyChange's sample is the number of \
         heartbeats settled so far, lost ones included (chapter 11, \"Task 3: Heartbeats in, \
         samples out\")"
    );
}

// --------------------------------------------------------- network checks

async fn rtt_matches_the_server_delay_within_tolerance() {
    let server = start_server().await;
    let delay = ms(100);
    let client = connect(&server.ws_url("/ws?delay_ms=100"), FAST).await;
    let report = wait_report(&client, "30 heartbeats echoed after 100 ms", |report| {
        report.received >= 30
    })
    .await;
    let rtt = report.rtt.expect("30 samples give RTT figures");
    assert_eq!(report.lost, 0, "nothing is dropped on this link: {report}");
    assert!(
        rtt.min >= delay,
        "the server waits 100 ms before each echo, so no RTT can be shorter; the shortest \
         was {:?}: measure from just before sending to just after reading, with \
         tokio::time::Instant (chapter 11, \"Task 4: The client\")",
        rtt.min
    );
    assert!(
        rtt.p50 <= delay + RTT_TOLERANCE,
        "the median RTT over a 100 ms-delay link must be within {RTT_TOLERANCE:?} of it, \
         got {:?}: take the time when the echo is read, not later \
         (chapter 11, \"Task 4: The client\")",
        rtt.p50
    );
    assert_eq!(
        rtt.count, report.received,
        "one RTT sample per heartbeat received"
    );
    drop(client);

    let client = connect(&server.ws_url("/ws"), FAST).await;
    let report = wait_report(&client, "10 heartbeats echoed", |report| {
        report.received >= 10
    })
    .await;
    let p50 = report.rtt.map(|rtt| rtt.p50).unwrap_or_default();
    assert!(
        p50 <= RTT_TOLERANCE,
        "on loopback without delay the median RTT must be under {RTT_TOLERANCE:?}, got {p50:?}"
    );
    assert_eq!(
        report.quality,
        Quality::Good,
        "a fast loopback link without loss is Good: {report}"
    );
}

async fn loss_matches_drop_every_exactly() {
    let server = start_server().await;
    let client = connect(&server.ws_url("/ws?drop_every=4"), FAST).await;
    let report = wait_report(&client, "40 heartbeats settled on a lossy link", |report| {
        settled(report) >= 40
    })
    .await;
    // The server drops its 4th, 8th, … message: heartbeats 4, 8, … . Settled
    // heartbeats are always 1..=k, so exactly k / 4 of them are lost.
    let settled = settled(&report);
    assert_eq!(
        report.lost,
        settled / 4,
        "the server drops every 4th heartbeat; of the first {settled} settled, {} are lost, \
         but the report says {}: an echo of heartbeat n settles every heartbeat before n \
         still in flight as lost (chapter 11, \"Task 3: Heartbeats in, samples out\")",
        settled / 4,
        report.lost
    );
    assert!(
        (report.loss_ratio - 0.25).abs() < 1e-9,
        "any 20 settled heartbeats in a row hold 5 multiples of 4: the recent loss ratio \
         must be 0.25, got {}",
        report.loss_ratio
    );
    assert_eq!(
        report.quality,
        Quality::Poor,
        "25 % loss is Poor (POOR_LOSS is 10 %): {report}"
    );
}

async fn a_silent_server_means_missed_heartbeats_after_the_timeout() {
    let server = start_server().await;
    let config = MonitorConfig {
        heartbeat_interval: ms(25),
        // Long enough that no echo of the first five misses it on a busy
        // machine, short enough to keep the check quick.
        heartbeat_timeout: ms(1000),
    };
    let started = Instant::now();
    let client = connect(&server.ws_url("/ws?silent_after=5"), config).await;
    let mut reports = client.reports();
    let first_loss = within(WAIT, "the first missed heartbeat", async {
        reports.wait_for(|report| report.lost >= 1).await.is_ok()
    })
    .await;
    assert!(
        first_loss,
        "the monitoring task ended before any heartbeat was missed (chapter 11, \"Task 4: The client\")"
    );
    let earliest = config.heartbeat_interval * 5 + config.heartbeat_timeout;
    assert!(
        started.elapsed() >= earliest,
        "heartbeat 6 (the first the server leaves unanswered) goes out 125 ms after the \
         first, and is missed only after the 1 s timeout; the first loss came {:?} after \
         connecting (chapter 11, \"Task 3: Heartbeats in, samples out\")",
        started.elapsed()
    );
    let report = wait_report(&client, "four missed heartbeats", |report| report.lost >= 4).await;
    assert_eq!(
        (report.received, report.late),
        (5, 0),
        "the server echoed 5 heartbeats, then went silent without closing: the rest are \
         never echoed and must be counted lost once their timeout passes, from a timer, \
         since no later echo reveals a gap (chapter 11, \"Task 2: Heartbeats in, samples \
         out\")"
    );
    assert_eq!(
        report.quality,
        Quality::Poor,
        "a silent link is Poor: {report}"
    );
}

async fn policy_steps_down_on_a_slow_link_and_recovers() {
    let server = start_server().await;
    let client = connect(&server.ws_url("/ws"), FAST).await;
    let report = wait_report(&client, "12 fast heartbeats", |report| {
        settled(report) >= 12
    })
    .await;
    assert_eq!(
        (report.level, report.quality),
        (0, Quality::Good),
        "on fast loopback the policy stays on rung 0 and the link is Good: {report}"
    );

    server.set_delay(Some(SLOW));
    let before = client.report();
    let (s0, f0) = (settled(&before), before.in_flight);
    let report = wait_report(
        &client,
        "the policy to step down on a 400 ms link",
        |report| report.level >= 1,
    )
    .await;
    let down = report
        .changes
        .first()
        .copied()
        .expect("a change was recorded");
    // From about 1 ms, the EWMA passes 300 ms on the 11th 400 ms sample;
    // the third Poor in a row steps down: the 13th sample after the change,
    // plus the heartbeats already in flight, plus 2 for the report's lag.
    let bound = f0 + 13 + 2;
    assert!(
        down.sample - s0 <= bound,
        "after the link slowed to 400 ms the policy must step down within {bound} settled \
         heartbeats; it took {} (chapter 11, \"Task 2: The adaptive policy\")",
        down.sample - s0
    );

    server.set_delay(None);
    let before = client.report();
    let (s1, f1) = (settled(&before), before.in_flight);
    let report = wait_report(&client, "the policy to recover on a fast link", |report| {
        report.level == 0
    })
    .await;
    let up = report
        .changes
        .last()
        .copied()
        .expect("a change was recorded");
    // Slow samples still to come: the f1 heartbeats in flight, and those
    // sent in the next 400 ms (at most 400 / 25 + 1 = 17), which wait
    // behind them because echoes keep their order. Then 8 fast samples
    // bring the EWMA under 150 ms (fewer, since the last slow ones are
    // shorter), and each of the 3 rungs back up takes 10 Good in a row;
    // 5 more for the ticks of a busy machine.
    let ramp = SLOW.as_millis() / FAST.heartbeat_interval.as_millis() + 1;
    let ramp = u64::try_from(ramp).unwrap_or(u64::MAX);
    let bound = f1 + ramp + 8 + 3 * u64::from(STEP_UP_AFTER) + 5;
    assert!(
        up.to == 0 && up.sample - s1 <= bound,
        "after the link recovered the policy must be back on rung 0 within {bound} settled \
         heartbeats; it took {} (changes: {:?}) (chapter 11, \"Task 2: The adaptive policy\")",
        up.sample - s1,
        report.changes
    );
}

async fn stop_closes_with_1000_and_the_wire_carries_numbered_heartbeats() {
    // sent_ms is the monitor's clock: milliseconds since it started.
    let t0 = Instant::now();
    let mut monitor = QualityMonitor::new(FAST, t0);
    for (seq, after) in [(1, 0), (2, 250), (3, 6000), (4, 61_234)] {
        let heartbeat = monitor.heartbeat(t0 + ms(after));
        assert_eq!(
            (heartbeat.seq, heartbeat.sent_ms),
            (seq, after),
            "a heartbeat sent {after} ms after the monitor started carries seq {seq} and \
             sent_ms {after} (chapter 11, \"Heartbeats on the wire\")"
        );
    }

    let server = start_server().await;
    let client = connect(&server.ws_url("/ws"), FAST).await;
    wait_report(&client, "5 heartbeats echoed", |report| {
        report.received >= 5
    })
    .await;
    let report = within(ms(5000), "QualityClient::stop", client.stop())
        .await
        .unwrap_or_else(|error| {
            panic!("stop() failed: {error} (chapter 11, \"Task 4: The client\")")
        });
    assert!(
        report.sent >= 5,
        "stop() returns the final report: {report}"
    );
    server
        .wait_until(ms(5000), |server| {
            server
                .connections()
                .first()
                .is_some_and(|record| record.ending.is_some())
        })
        .await
        .expect("the connection ends after stop()");
    let record = &server.connections()[0];
    assert_eq!(
        (
            record.close_received.as_ref().map(|close| close.code),
            &record.ending
        ),
        (Some(1000), &Some(Ending::Clean)),
        "stop() sends Close(1000) and waits for the server's reply: the server must see \
         code 1000 and a clean end (chapter 11, \"Task 4: The client\")"
    );
    let mut last_ms = 0;
    for (index, frame) in record.received.iter().enumerate() {
        let Frame::Text(text) = frame else {
            panic!("heartbeats are Text messages, got {frame:?}");
        };
        let value: serde_json::Value = serde_json::from_str(text)
            .unwrap_or_else(|_| panic!("a heartbeat is JSON, got {text:?}"));
        let expected_seq = index as u64 + 1;
        assert_eq!(
            (value["type"].as_str(), value["seq"].as_u64()),
            (Some("heartbeat"), Some(expected_seq)),
            "heartbeat number {expected_seq} on the wire was {text}: \
             {{\"type\":\"heartbeat\",\"seq\":{expected_seq},\"sent_ms\":…}} \
             (chapter 11, \"Heartbeats on the wire\")"
        );
        let sent_ms = value["sent_ms"].as_u64().unwrap_or_default();
        assert!(sent_ms >= last_ms, "sent_ms never goes back: {text}");
        last_ms = sent_ms;
    }
    assert_eq!(
        record.received.len() as u64,
        report.sent,
        "the server received exactly the heartbeats the report counts as sent"
    );

    // A Close from the server ends the task with ClosedByServer and its code.
    for code in [4001, 1001] {
        let client = connect(
            &server.ws_url(&format!("/ws?close_after=3&code={code}")),
            FAST,
        )
        .await;
        let mut reports = client.reports();
        let ended = within(
            WAIT,
            "the monitoring task to end after the server's Close",
            async { while reports.changed().await.is_ok() {} },
        );
        ended.await;
        let result = within(ms(5000), "QualityClient::stop", client.stop()).await;
        assert!(
            matches!(result, Err(MonitorError::ClosedByServer { code: got }) if got == code),
            "the server closed the connection with {code} after 3 heartbeats: the task must \
             end, and stop() return Err(MonitorError::ClosedByServer {{ code: {code} }}), \
             got {result:?} (chapter 11, \"Task 4: The client\")"
        );
    }

    // Dropping a client ends its task and its connection: nothing left running.
    let client = connect(&server.ws_url("/ws"), FAST).await;
    wait_report(&client, "a heartbeat echoed", |report| report.received >= 1).await;
    drop(client);
    server
        .wait_until(ms(5000), |server| {
            server
                .connections()
                .get(3)
                .is_some_and(|record| record.ending.is_some())
        })
        .await
        .expect(
            "dropping a QualityClient must end its task and its connection \
             (chapter 11, \"Task 4: The client\")",
        );
}
