//! Visible checks of unit 11, for the first tasks: smoothing and
//! percentiles (Task 1), the adaptive policy (Task 2) and settling
//! heartbeats as received or lost (Task 3). They use the pure types with made-up
//! instants: no clock, no server, no waiting. Run them with `cargo test`;
//! `cargo grade 11` runs these and the hidden checks.

use std::time::Duration;

use quality::{
    AdaptivePolicy, EWMA_ALPHA, Echo, Ewma, LADDER, MonitorConfig, Quality, QualityMonitor,
    RttStats, percentile,
};
use tokio::time::Instant;

checkkit::checks! {
    ewma_seeds_with_the_first_sample_and_percentiles_use_nearest_rank,
    policy_steps_down_after_three_poor_and_up_after_ten_good,
    gaps_and_missed_heartbeats_count_as_lost,
}

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// EWMA values are floating point: equal within a microsecond.
fn close_to(actual: Duration, expected: Duration) -> bool {
    actual.abs_diff(expected) <= Duration::from_micros(1)
}

async fn ewma_seeds_with_the_first_sample_and_percentiles_use_nearest_rank() {
    let mut ewma = Ewma::new(EWMA_ALPHA);
    assert_eq!(ewma.value(), None, "an EWMA with no sample has no value");
    let first = ewma.update(ms(100));
    assert!(
        close_to(first, ms(100)),
        "the first sample seeds the EWMA: expected 100 ms, got {first:?} \
         (chapter 11, \"Task 1: Smoothing\")"
    );
    let second = ewma.update(ms(200));
    assert!(
        close_to(second, Duration::from_micros(112_500)),
        "7/8 of 100 ms plus 1/8 of 200 ms is 112.5 ms, got {second:?} \
         (chapter 11, \"Task 1: Smoothing\")"
    );

    let one_to_twenty: Vec<Duration> = (1..=20).map(ms).collect();
    for (p, expected) in [(50.0, 10), (95.0, 19), (99.0, 20), (100.0, 20), (1.0, 1)] {
        assert_eq!(
            percentile(&one_to_twenty, p),
            Some(ms(expected)),
            "p{p} of 1..=20 ms by nearest rank is the sample of rank ceil({p} / 100 * 20), \
             {expected} ms (chapter 11, \"Task 1: Smoothing\")"
        );
    }
    let one_to_hundred: Vec<Duration> = (1..=100).map(ms).collect();
    for (p, expected) in [(50.0, 50), (95.0, 95), (99.0, 99)] {
        assert_eq!(
            percentile(&one_to_hundred, p),
            Some(ms(expected)),
            "p{p} of 1..=100 ms is {expected} ms: multiply before dividing, or 0.95 * 100 \
             rounds up to rank 96 (chapter 11, \"Task 1: Smoothing\")"
        );
    }
    assert_eq!(percentile(&[], 50.0), None, "no samples, no percentile");

    let mut stats = RttStats::default();
    for millis in 1..=150 {
        stats.record(ms(millis));
    }
    let summary = stats.summary().expect("150 samples give a summary");
    assert_eq!(
        (summary.count, summary.min, summary.max, summary.p50),
        (150, ms(51), ms(150), ms(100)),
        "after 1..=150 ms the window holds the last 100 (51..=150 ms): (count, min, max, p50) \
         must be (150, 51 ms, 150 ms, 100 ms) (chapter 11, \"Task 1: Smoothing\")"
    );
    assert_eq!(
        stats.samples().len(),
        100,
        "the window keeps RTT_WINDOW samples"
    );
}

async fn gaps_and_missed_heartbeats_count_as_lost() {
    let config = MonitorConfig {
        heartbeat_interval: ms(100),
        heartbeat_timeout: ms(1000),
    };
    let t0 = Instant::now();
    let mut monitor = QualityMonitor::new(config, t0);
    let seqs: Vec<u64> = (0..4)
        .map(|i| monitor.heartbeat(t0 + ms(100 * i)).seq)
        .collect();
    assert_eq!(
        seqs,
        [1, 2, 3, 4],
        "heartbeats are numbered from 1 (chapter 11, \"Task 3: Heartbeats in, samples out\")"
    );

    let echo = monitor.on_echo(1, t0 + ms(50));
    assert_eq!(
        echo,
        Echo::Sample(ms(50)),
        "heartbeat 1, sent at 0 ms and echoed at 50 ms, is a 50 ms sample \
         (chapter 11, \"Task 3: Heartbeats in, samples out\")"
    );
    let echo = monitor.on_echo(3, t0 + ms(260));
    assert_eq!(
        echo,
        Echo::Sample(ms(60)),
        "heartbeat 3: sent at 200 ms, back at 260 ms"
    );
    let report = monitor.report();
    assert_eq!(
        (report.received, report.lost, report.in_flight),
        (2, 1, 1),
        "the echo of 3 arrived while 2 was in flight: the server echoes in order, so 2 was \
         dropped — (received, lost, in flight) must be (2, 1, 1) \
         (chapter 11, \"Task 3: Heartbeats in, samples out\")"
    );

    assert_eq!(
        monitor.on_tick(t0 + ms(1299)),
        0,
        "heartbeat 4 was sent at 300 ms; 1 ms before its 1 s timeout it is not missed yet \
         (chapter 11, \"Task 3: Heartbeats in, samples out\")"
    );
    assert_eq!(
        monitor.on_tick(t0 + ms(1300)),
        1,
        "heartbeat 4 has had no echo for the whole 1 s timeout: it is missed, lost \
         (chapter 11, \"Task 3: Heartbeats in, samples out\")"
    );
    let report = monitor.report();
    assert_eq!(
        (report.sent, report.received, report.lost, report.in_flight),
        (4, 2, 2, 0),
        "(sent, received, lost, in flight) after one gap and one missed heartbeat"
    );
    assert!(
        (report.loss_ratio - 0.5).abs() < 1e-9,
        "2 lost of 4 settled is a loss ratio of 0.5, got {} \
         (chapter 11, \"Task 3: Heartbeats in, samples out\")",
        report.loss_ratio
    );
    assert_eq!(
        monitor.on_echo(4, t0 + ms(1400)),
        Echo::Late,
        "an echo of a heartbeat already counted lost is late, not a sample"
    );
    assert_eq!(
        monitor.on_echo(99, t0 + ms(1400)),
        Echo::Unknown,
        "a sequence number never sent is unknown"
    );
    let report = monitor.report();
    assert_eq!(
        (report.received, report.lost, report.late),
        (2, 2, 1),
        "the late echo of 4 counts as late only: heartbeat 4 was settled once, as lost, so          (received, lost, late) must be (2, 2, 1) (chapter 11, \"Task 2: Heartbeats in, \
         samples out\")"
    );
}

async fn policy_steps_down_after_three_poor_and_up_after_ten_good() {
    for (smoothed, loss, expected) in [
        (Some(ms(150)), 0.0, Quality::Good),
        (Some(ms(151)), 0.0, Quality::Fair),
        (Some(ms(300)), 0.0, Quality::Fair),
        (Some(ms(301)), 0.0, Quality::Poor),
        (Some(ms(20)), 0.05, Quality::Fair),
        (Some(ms(20)), 0.10, Quality::Poor),
        (None, 0.0, Quality::Fair),
        (None, 1.0, Quality::Poor),
    ] {
        assert_eq!(
            Quality::judge(smoothed, loss),
            expected,
            "a link with smoothed RTT {smoothed:?} and recent loss {loss} is {expected:?} \
             (chapter 11, \"Task 2: The adaptive policy\")"
        );
    }

    let mut policy = AdaptivePolicy::new();
    assert_eq!(
        policy.step(),
        LADDER[0],
        "the policy starts on the best rung"
    );
    let steps: Vec<_> = [Quality::Poor, Quality::Poor, Quality::Fair, Quality::Poor]
        .into_iter()
        .map(|quality| policy.observe(quality))
        .collect();
    assert_eq!(
        steps,
        [None, None, None, None],
        "two Poor, a Fair (which ends the streak), a Poor: no step yet \
         (chapter 11, \"Task 2: The adaptive policy\")"
    );
    assert_eq!(policy.observe(Quality::Poor), None);
    assert_eq!(
        policy.observe(Quality::Poor),
        Some((0, 1)),
        "the third Poor in a row steps down from rung 0 to 1 \
         (chapter 11, \"Task 2: The adaptive policy\")"
    );
    for _ in 0..6 {
        policy.observe(Quality::Poor);
    }
    assert_eq!(
        policy.level(),
        3,
        "six more Poor: two more steps, to the last rung"
    );
    for _ in 0..3 {
        policy.observe(Quality::Poor);
    }
    assert_eq!(policy.level(), 3, "the last rung is the floor");
    for i in 1..10 {
        assert_eq!(
            policy.observe(Quality::Good),
            None,
            "Good number {i}: the policy waits for ten in a row \
             (chapter 11, \"Task 2: The adaptive policy\")"
        );
    }
    assert_eq!(
        policy.observe(Quality::Good),
        Some((3, 2)),
        "the tenth Good in a row steps up one rung \
         (chapter 11, \"Task 2: The adaptive policy\")"
    );
    assert_eq!(policy.step(), LADDER[2]);
}
