//! What the echo bench (`benches/echo.rs`) and the load client
//! (`examples/echo_load.rs`) measure the testkit against: a minimal
//! tokio-tungstenite echo server, and the median of a run's figures.

use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// The baseline: `accept_async` and a forward loop, Nagle off like the
/// testkit; `read_buffer` gives it the testkit's read buffer size too.
pub async fn minimal_echo_server(read_buffer: Option<usize>) -> std::io::Result<SocketAddr> {
    let config = read_buffer.map(|size| WebSocketConfig::default().read_buffer_size(size));
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(stream, config).await
                else {
                    return;
                };
                while let Some(Ok(message)) = ws.next().await {
                    if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    Ok(addr)
}

/// The median of `values` (sorts them).
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    }
}
