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
        todo!("Task 4: connect and spawn the monitoring task (chapter 11, \"Task 4: The client\")")
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
        todo!("Task 4: stop the task and return its report (chapter 11, \"Task 4: The client\")")
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
