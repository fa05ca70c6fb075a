//! Visible checks of unit 05, for the first tasks: the queue's capacity,
//! overflow and de-duplication (Task 1) and the order of a batch (Task 2).
//! They use the pure `MessageQueue` with made-up instants: no clock, no
//! waiting. Run them with `cargo test`; `cargo grade 05` runs these and the
//! hidden checks.

use std::time::Duration;

use queue::{
    BATCH_SIZE, DEDUP_WINDOW, Kind, MAX_SIZE, Message, MessageQueue, Priority, Pushed, QueueConfig,
};
use tokio::time::Instant;

checkkit::checks! {
    overflow_drops_the_oldest_and_counts_it,
    a_duplicate_inside_the_window_is_dropped_and_counted,
    higher_priority_first_and_fifo_within_a_priority,
    a_batch_holds_at_most_ten,
}

fn text(id: u64) -> Message {
    Message::new(id, Kind::Text, format!("message {id}"))
}

fn ids(batch: &[queue::Queued]) -> Vec<u64> {
    batch.iter().map(|item| item.message.id).collect()
}

async fn overflow_drops_the_oldest_and_counts_it() {
    let start = Instant::now();
    let mut queue = MessageQueue::new(QueueConfig::default());
    for id in 0..MAX_SIZE as u64 {
        let pushed = queue.push(text(id), start + Duration::from_millis(id));
        assert_eq!(
            pushed,
            Pushed::Accepted,
            "message {id} of {MAX_SIZE} fits in the queue and must be accepted \
             (chapter 05, \"Task 1: Push\")"
        );
    }
    assert_eq!(queue.len(), MAX_SIZE, "{MAX_SIZE} messages must wait");

    let later = start + Duration::from_secs(1);
    let pushed = queue.push(text(1000), later);
    assert_eq!(
        pushed,
        Pushed::AcceptedDroppingOldest(text(0)),
        "a message pushed to a full queue is accepted and the OLDEST waiting message \
         (id 0) is dropped and returned (chapter 05, \"Task 1: Push\")"
    );
    let pushed = queue.push(text(1001), later);
    assert_eq!(
        pushed,
        Pushed::AcceptedDroppingOldest(text(1)),
        "the next overflow drops the next oldest (id 1) (chapter 05, \"Task 1: Push\")"
    );
    assert_eq!(
        queue.len(),
        MAX_SIZE,
        "the queue never holds more than {MAX_SIZE} (chapter 05, \"Task 1: Push\")"
    );
    let stats = queue.stats();
    assert_eq!(
        (stats.accepted, stats.dropped, stats.length, stats.max_size),
        (MAX_SIZE as u64 + 2, 2, MAX_SIZE, MAX_SIZE),
        "stats (accepted, dropped, length, max_size) must count both drops \
         (chapter 05, \"Task 1: Push\")"
    );
    let all = queue.clear();
    assert_eq!(
        all.first().map(|message| message.id),
        Some(2),
        "after two overflows the oldest message left is id 2 (chapter 05, \"Task 1: Push\")"
    );
    assert_eq!(
        all.last().map(|message| message.id),
        Some(1001),
        "the newest messages are kept (chapter 05, \"Task 1: Push\")"
    );
}

async fn a_duplicate_inside_the_window_is_dropped_and_counted() {
    let start = Instant::now();
    let mut queue = MessageQueue::new(QueueConfig::default());
    assert_eq!(queue.push(text(7), start), Pushed::Accepted);
    let again = queue.push(
        text(7).with_priority(Priority::High),
        start + DEDUP_WINDOW - Duration::from_millis(1),
    );
    assert_eq!(
        again,
        Pushed::Duplicate,
        "the same id pushed again inside the {DEDUP_WINDOW:?} window is a duplicate, \
         whatever its priority (chapter 05, \"Task 1: Push\")"
    );
    assert_eq!(
        queue.len(),
        1,
        "a duplicate must not be queued (chapter 05, \"Task 1: Push\")"
    );
    let stats = queue.stats();
    assert_eq!(
        (stats.accepted, stats.duplicates),
        (1, 1),
        "stats (accepted, duplicates): a duplicate is counted, not accepted \
         (chapter 05, \"Task 1: Push\")"
    );
    assert_eq!(
        queue.push(text(8), start),
        Pushed::Accepted,
        "a different id is not a duplicate (chapter 05, \"Task 1: Push\")"
    );
}

async fn higher_priority_first_and_fifo_within_a_priority() {
    let start = Instant::now();
    let mut queue = MessageQueue::new(QueueConfig::default());
    let pushes = [
        (1, Priority::Low),
        (2, Priority::Normal),
        (3, Priority::High),
        (4, Priority::Low),
        (5, Priority::High),
        (6, Priority::Normal),
    ];
    for (id, priority) in pushes {
        queue.push(text(id).with_priority(priority), start);
    }
    let batch = queue.take_batch(start + Duration::from_millis(100));
    assert_eq!(
        ids(&batch),
        [3, 5, 2, 6, 1, 4],
        "a batch takes high, then normal, then low, and each priority in the order pushed \
         (chapter 05, \"Task 2: Batches\")"
    );
    let stats = queue.stats();
    assert_eq!(
        (stats.length, stats.processing, stats.batches),
        (0, 6, 1),
        "stats (length, processing, batches) after taking one batch of 6 \
         (chapter 05, \"Task 2: Batches\")"
    );
}

async fn a_batch_holds_at_most_ten() {
    let start = Instant::now();
    let mut queue = MessageQueue::new(QueueConfig::default());
    for id in 0..25 {
        queue.push(text(id), start);
    }
    let first = queue.take_batch(start);
    assert_eq!(
        ids(&first),
        (0..BATCH_SIZE as u64).collect::<Vec<_>>(),
        "a batch takes the first {BATCH_SIZE} messages in order (chapter 05, \"Task 2: Batches\")"
    );
    assert_eq!(queue.take_batch(start).len(), BATCH_SIZE);
    assert_eq!(
        ids(&queue.take_batch(start)),
        (20..25).collect::<Vec<_>>(),
        "the last batch takes what is left (chapter 05, \"Task 2: Batches\")"
    );
    assert!(
        queue.take_batch(start).is_empty(),
        "an empty queue gives an empty batch (chapter 05, \"Task 2: Batches\")"
    );
    assert_eq!(
        queue.stats().batches,
        3,
        "an empty batch is not counted (chapter 05, \"Task 2: Batches\")"
    );
    assert_eq!(
        queue.batch_deadline(),
        None,
        "with nothing waiting no batch is due (chapter 05, \"Task 2: Batches\")"
    );
}
