//! The `wss://` endpoint: a client that trusts the root made at start-up
//! completes an echo through it; one that does not is refused at the TLS
//! handshake, and the endpoint counts both.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use testkit::{TestServer, TlsEndpoint};
use tokio_tungstenite::Connector;
use tokio_tungstenite::tungstenite::Message;

const LIMIT: Duration = Duration::from_secs(5);

fn client_config(roots: rustls::RootCertStore) -> Arc<rustls::ClientConfig> {
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("ring supports the default protocol versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    Arc::new(config)
}

#[tokio::test]
async fn a_client_trusting_the_root_echoes_over_wss() {
    let server = TestServer::start().await.expect("server");
    let endpoint = TlsEndpoint::start(server.addr()).await.expect("endpoint");
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(endpoint.root_cert_der().to_vec().into())
        .expect("the root certificate parses");
    let url = endpoint.wss_url("/ws");
    assert!(url.starts_with("wss://localhost:"), "{url}");

    let connect = tokio_tungstenite::connect_async_tls_with_config(
        url,
        None,
        false,
        Some(Connector::Rustls(client_config(roots))),
    );
    let (mut socket, _) = tokio::time::timeout(LIMIT, connect)
        .await
        .expect("the handshake within the limit")
        .expect("TLS and WebSocket handshakes succeed");
    socket.send(Message::text("over tls")).await.expect("send");
    let reply = tokio::time::timeout(LIMIT, socket.next())
        .await
        .expect("an echo within the limit")
        .expect("the stream is open")
        .expect("a message");
    assert_eq!(reply, Message::text("over tls"));
    assert_eq!(endpoint.handshakes(), 1);
    assert_eq!(server.stats().connections_total, 1);
    socket.close(None).await.expect("close");
    server.shutdown().await;
}

#[tokio::test]
async fn a_client_without_the_root_is_refused() {
    let server = TestServer::start().await.expect("server");
    let endpoint = TlsEndpoint::start(server.addr()).await.expect("endpoint");
    // Trusts nothing: the self-signed certificate must be rejected.
    let connect = tokio_tungstenite::connect_async_tls_with_config(
        endpoint.wss_url("/ws"),
        None,
        false,
        Some(Connector::Rustls(client_config(
            rustls::RootCertStore::empty(),
        ))),
    );
    let result = tokio::time::timeout(LIMIT, connect)
        .await
        .expect("an answer within the limit");
    let error = result.expect_err("an untrusted certificate must fail the handshake");
    // rustls reports a refused certificate through the I/O error of the
    // handshake, not as `tungstenite::Error::Tls`.
    let refused = match &error {
        tokio_tungstenite::tungstenite::Error::Io(io) => io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .is_some_and(|tls| matches!(tls, rustls::Error::InvalidCertificate(_))),
        _ => false,
    };
    assert!(
        refused,
        "expected an invalid-certificate error, got {error:?}"
    );
    endpoint_counts_the_failure(&endpoint).await;
    assert_eq!(server.stats().connections_total, 0);
    server.shutdown().await;
}

/// The server side learns of the failure a moment after the client does.
async fn endpoint_counts_the_failure(endpoint: &TlsEndpoint) {
    let counted = async {
        while endpoint.failed_handshakes() == 0 {
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(LIMIT, counted)
        .await
        .expect("the endpoint counts the failed handshake");
    assert_eq!(endpoint.handshakes(), 0);
}

/// `localhost` resolves to ::1 first on some machines (Fedora, macOS): a
/// client that tries only that address reaches the same endpoint, on the
/// same port. Where the machine has no IPv6 loopback there is nothing to
/// prove: every client then tries 127.0.0.1.
#[tokio::test]
async fn localhost_over_ipv6_reaches_the_same_endpoint() {
    if std::net::TcpListener::bind((std::net::Ipv6Addr::LOCALHOST, 0)).is_err() {
        return;
    }
    let server = TestServer::start().await.expect("server");
    let endpoint = TlsEndpoint::start(server.addr()).await.expect("endpoint");
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(endpoint.root_cert_der().to_vec().into())
        .expect("the root certificate parses");
    let v6 = (std::net::Ipv6Addr::LOCALHOST, endpoint.addr().port());
    let stream = tokio::time::timeout(LIMIT, tokio::net::TcpStream::connect(v6))
        .await
        .expect("connected within the limit")
        .expect("the endpoint listens on [::1] at its port too");
    let handshake = tokio_tungstenite::client_async_tls_with_config(
        endpoint.wss_url("/ws"),
        stream,
        None,
        Some(Connector::Rustls(client_config(roots))),
    );
    let (mut socket, _) = tokio::time::timeout(LIMIT, handshake)
        .await
        .expect("the handshake within the limit")
        .expect("TLS and WebSocket handshakes succeed over ::1");
    socket.send(Message::text("over ::1")).await.expect("send");
    let reply = tokio::time::timeout(LIMIT, socket.next())
        .await
        .expect("an echo within the limit")
        .expect("the stream is open")
        .expect("a message");
    assert_eq!(reply, Message::text("over ::1"));
    assert_eq!(endpoint.handshakes(), 1);
    server.shutdown().await;
}
