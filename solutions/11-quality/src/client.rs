//! The driver: one task owns the socket, sends a heartbeat every interval,
//! feeds every echo to a [`QualityMonitor`] and publishes the latest
//! [`Report`] on a watch channel, which the application reads whenever it
//! likes (a watch keeps only the newest value: a slow reader costs nothing).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::config::MonitorConfig;
use crate::error::MonitorError;
use crate::monitor::{Heartbeat, QualityMonitor};
use crate::report::Report;

/// How long [`QualityClient::stop`] waits for the server's Close reply.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

// ANCHOR: client
/// A monitored connection to an echo server. Dropping it aborts its task;
/// [`stop`](QualityClient::stop) closes properly and returns the last report.
#[derive(Debug)]
pub struct QualityClient {
    stop: Option<oneshot::Sender<()>>,
    reports: watch::Receiver<Report>,
    task: Option<JoinHandle<Result<Report, MonitorError>>>,
}

impl QualityClient {
    /// Connects to `url` (an echo endpoint) and starts monitoring: the
    /// first heartbeat goes out at once, then one every
    /// `config.heartbeat_interval`.
    pub async fn connect(url: &str, config: MonitorConfig) -> Result<Self, MonitorError> {
        // region: solution
        let (socket, _response) =
            tokio_tungstenite::connect_async(url)
                .await
                .map_err(|source| MonitorError::Connect {
                    url: url.to_owned(),
                    source,
                })?;
        let monitor = QualityMonitor::new(config, Instant::now());
        let (reports_tx, reports) = watch::channel(monitor.report());
        let (stop_tx, stop_rx) = oneshot::channel();
        let task = tokio::spawn(run(socket, monitor, config, stop_rx, reports_tx));
        Ok(QualityClient {
            stop: Some(stop_tx),
            reports,
            task: Some(task),
        })
        // region: stub
        // todo!("Task 4: connect and spawn the monitoring task (chapter 11, \"Task 4: The client\")")
        // endregion
    }

    /// The latest report.
    pub fn report(&self) -> Report {
        self.reports.borrow().clone()
    }

    /// A receiver that sees every new report (the newest one when it lags).
    pub fn reports(&self) -> watch::Receiver<Report> {
        self.reports.clone()
    }

    /// Stops monitoring: sends Close(1000), waits (at most
    /// [`CLOSE_TIMEOUT`]) for the server's reply, and returns the final
    /// report. Heartbeats still in flight stay in `in_flight`.
    pub async fn stop(mut self) -> Result<Report, MonitorError> {
        // region: solution
        if let Some(stop) = self.stop.take() {
            // Err only if the task already ended; its result says why.
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.unwrap_or(Err(MonitorError::TaskEnded)),
            None => Err(MonitorError::TaskEnded),
        }
        // region: stub
        // todo!("Task 4: stop the task and return its report (chapter 11, \"Task 4: The client\")")
        // endregion
    }
}

impl Drop for QualityClient {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}
// ANCHOR_END: client

// region: solution
/// The monitoring task. Reads come before ticks when both are ready, so an
/// echo that has arrived is never counted missed by the tick behind it.
async fn run(
    mut socket: Socket,
    mut monitor: QualityMonitor,
    config: MonitorConfig,
    mut stop: oneshot::Receiver<()>,
    reports: watch::Sender<Report>,
) -> Result<Report, MonitorError> {
    let mut ticks = tokio::time::interval(config.heartbeat_interval);
    // After a stall, carry on at the normal pace instead of a burst.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            _ = &mut stop => {
                close(&mut socket).await?;
                return Ok(monitor.report());
            }
            message = socket.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    if let Some(heartbeat) = Heartbeat::parse(text.as_str()) {
                        monitor.on_echo(heartbeat.seq, Instant::now());
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    let code = frame.map_or(1005, |frame| u16::from(frame.code));
                    // tungstenite has queued the reply; reading on sends it.
                    let _ = tokio::time::timeout(CLOSE_TIMEOUT, drain(&mut socket)).await;
                    return Err(MonitorError::ClosedByServer { code });
                }
                // Pings are answered by tungstenite while we read.
                Some(Ok(_)) => {}
                Some(Err(error)) => return Err(error.into()),
                None => {
                    return Err(tokio_tungstenite::tungstenite::Error::ConnectionClosed.into());
                }
            },
            _ = ticks.tick() => {
                let now = Instant::now();
                monitor.on_tick(now);
                let heartbeat = monitor.heartbeat(now);
                socket.send(Message::text(heartbeat.to_json())).await?;
            }
        }
        reports.send_replace(monitor.report());
    }
}

/// Sends Close(1000) and reads until the server's reply and the end of TCP.
async fn close(socket: &mut Socket) -> Result<(), MonitorError> {
    // `close(None)` would send a Close without a code, which the server
    // sees as 1005 "no status": say 1000, a normal closure.
    let frame = CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    };
    socket.close(Some(frame)).await?;
    match tokio::time::timeout(CLOSE_TIMEOUT, drain(socket)).await {
        Ok(result) => result,
        Err(_) => {
            tracing::warn!("no Close reply within {CLOSE_TIMEOUT:?}; dropping the connection");
            Ok(())
        }
    }
}

async fn drain(socket: &mut Socket) -> Result<(), MonitorError> {
    while socket.next().await.transpose()?.is_some() {}
    Ok(())
}
// endregion
