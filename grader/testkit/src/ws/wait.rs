//! Small futures the session's `select!` waits on: each is pending forever
//! when its feature is off, so one `select!` serves every endpoint.

use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use tokio::sync::{broadcast, watch};
use tokio::time::{Instant, Interval};
use tokio_tungstenite::tungstenite::Message;

pub(super) async fn at(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

pub(super) async fn tick(interval: &mut Option<Interval>) {
    match interval {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}

pub(super) async fn recv_room(
    rx: &mut Option<broadcast::Receiver<Message>>,
) -> Result<Message, broadcast::error::RecvError> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Resolves once shutdown is signalled (or the server is gone).
pub(crate) async fn signalled(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// [`signalled`] for a loop that polls it on every turn: polling the watch
/// channel takes a lock of its notifier each time, so this polls it only
/// when the channel has changed since, or the task's waker is not the one it
/// registered (then the registration is renewed, as `Future::poll` demands).
pub(crate) struct Shutdown {
    probe: watch::Receiver<bool>,
    wait: Pin<Box<dyn Future<Output = ()> + Send>>,
    registered: Option<Waker>,
}

impl Shutdown {
    pub(crate) fn new(shutdown: &watch::Receiver<bool>) -> Self {
        let mut receiver = shutdown.clone();
        Shutdown {
            probe: shutdown.clone(),
            wait: Box::pin(async move { signalled(&mut receiver).await }),
            registered: None,
        }
    }
}

impl Future for Shutdown {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let same_waker = this
            .registered
            .as_ref()
            .is_some_and(|waker| waker.will_wake(cx.waker()));
        // `Err`: the server is gone; let the inner future see it.
        if same_waker && !this.probe.has_changed().unwrap_or(true) {
            return Poll::Pending;
        }
        match this.wait.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(()),
            Poll::Pending => {
                this.registered = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Poll, Wake, Waker};

    use tokio::sync::watch;

    use super::Shutdown;

    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn poll(shutdown: &mut Shutdown, waker: &Waker) -> Poll<()> {
        std::pin::Pin::new(shutdown).poll(&mut Context::from_waker(waker))
    }

    #[test]
    fn wakes_the_last_waker_and_resolves_on_shutdown() {
        let (sender, receiver) = watch::channel(false);
        let mut shutdown = Shutdown::new(&receiver);
        let first = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let second = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let (first_waker, second_waker) = (Waker::from(first.clone()), Waker::from(second.clone()));
        assert_eq!(poll(&mut shutdown, &first_waker), Poll::Pending);
        assert_eq!(poll(&mut shutdown, &first_waker), Poll::Pending);
        // A new waker is registered, and it is the one woken.
        assert_eq!(poll(&mut shutdown, &second_waker), Poll::Pending);
        sender.send_replace(true);
        assert_eq!(first.0.load(Ordering::SeqCst), 0);
        assert_eq!(second.0.load(Ordering::SeqCst), 1);
        assert_eq!(poll(&mut shutdown, &second_waker), Poll::Ready(()));
    }

    #[test]
    fn resolves_at_once_when_shutdown_came_first() {
        let (sender, receiver) = watch::channel(false);
        sender.send_replace(true);
        let mut shutdown = Shutdown::new(&receiver);
        assert_eq!(poll(&mut shutdown, Waker::noop()), Poll::Ready(()));
    }
}
