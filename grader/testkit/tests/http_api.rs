//! The HTTP side: error reports, stats, health, the index page and the book.

mod common;

use std::path::PathBuf;

use common::*;
use testkit::{Config, MAX_ERROR_REPORT_BYTES, TestServer};

#[tokio::test]
async fn error_reports_are_recorded_and_readable() {
    let server = TestServer::start().await.expect("server starts");
    let addr = server.addr();
    let response = http_post(addr, "/api/v1/errors", br#"{"message":"boom","code":1006}"#).await;
    assert_eq!(response.status, 201);
    let body: serde_json::Value = serde_json::from_slice(&response.body).expect("JSON");
    assert_eq!(body, serde_json::json!({ "id": 1 }));
    let second = http_post(addr, "/api/v1/errors", br#"{"message":"again"}"#).await;
    assert_eq!(second.status, 201);
    assert_eq!(server.error_reports().len(), 2);
    assert_eq!(server.error_reports()[0]["message"], "boom");
    assert_eq!(server.stats().error_reports, 2);
    let listed = http_get(addr, "/api/v1/errors").await;
    assert_eq!(listed.status, 200);
    let listed: serde_json::Value = serde_json::from_slice(&listed.body).expect("JSON");
    assert_eq!(listed[1]["message"], "again");
}

#[tokio::test]
async fn bad_error_reports_get_400_or_413() {
    let server = TestServer::start().await.expect("server starts");
    let addr = server.addr();
    for body in [&b"not json"[..], b"[1, 2]", b"\"text\""] {
        let response = http_post(addr, "/api/v1/errors", body).await;
        assert_eq!(
            response.status,
            400,
            "for {:?}",
            String::from_utf8_lossy(body)
        );
        assert!(
            response.text().contains("JSON object"),
            "{}",
            response.text()
        );
    }
    let huge = format!("{{\"x\":\"{}\"}}", "a".repeat(MAX_ERROR_REPORT_BYTES));
    let response = http_post(addr, "/api/v1/errors", huge.as_bytes()).await;
    assert_eq!(response.status, 413);
    assert!(server.error_reports().is_empty());
}

#[tokio::test]
async fn stats_health_and_index() {
    let server = TestServer::start().await.expect("server starts");
    let addr = server.addr();
    let health = http_get(addr, "/health").await;
    assert_eq!((health.status, health.text().as_str()), (200, "ok"));
    let stats = http_get(addr, "/api/v1/stats").await;
    let stats: serde_json::Value = serde_json::from_slice(&stats.body).expect("JSON");
    assert_eq!(stats["connections_total"], 0);
    assert_eq!(stats["rejected"], 0);
    let index = http_get(addr, "/").await;
    assert_eq!(index.status, 200);
    assert!(index.text().contains("/ws/room/"), "{}", index.text());
    assert_eq!(http_get(addr, "/nothing-here").await.status, 404);
    assert_eq!(server.http_url("/health"), format!("http://{addr}/health"));
}

/// A scratch directory removed on drop.
struct ScratchDir(PathBuf);

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch_book() -> ScratchDir {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let root = std::env::temp_dir().join(format!("testkit-book-{}-{nanos}", std::process::id()));
    let book = root.join("book");
    std::fs::create_dir_all(book.join("sub")).expect("create the scratch book");
    std::fs::write(book.join("index.html"), "<h1>Workbook</h1>").expect("write");
    std::fs::write(book.join("style.css"), "h1 {}").expect("write");
    std::fs::write(book.join("sub/index.html"), "<p>sub</p>").expect("write");
    std::fs::write(book.join("logo.svg"), "<svg/>").expect("write");
    std::fs::write(root.join("secret.txt"), "secret").expect("write");
    ScratchDir(root)
}

#[tokio::test]
async fn static_files_are_served_and_traversal_is_refused() {
    let scratch = scratch_book();
    let config = Config {
        static_dir: Some(scratch.0.join("book")),
        ..Config::default()
    };
    let server = TestServer::start_with(config).await.expect("server starts");
    let addr = server.addr();
    let index = http_get(addr, "/").await;
    assert_eq!(
        (index.status, index.text().as_str()),
        (200, "<h1>Workbook</h1>")
    );
    assert_eq!(
        index.header("content-type").as_deref(),
        Some("text/html; charset=utf-8")
    );
    let css = http_get(addr, "/style.css").await;
    assert_eq!(
        css.header("content-type").as_deref(),
        Some("text/css; charset=utf-8")
    );
    let svg = http_get(addr, "/logo.svg").await;
    assert_eq!(svg.header("content-type").as_deref(), Some("image/svg+xml"));
    assert_eq!(http_get(addr, "/sub/").await.text(), "<p>sub</p>");
    assert_eq!(http_get(addr, "/sub").await.status, 308);
    for path in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/sub/../../secret.txt",
        "/missing.html",
    ] {
        let response = http_get(addr, path).await;
        assert_eq!(response.status, 404, "{path}");
        assert!(!response.text().contains("secret"), "{path}");
    }
    // The API still wins over the files.
    assert_eq!(http_get(addr, "/health").await.text(), "ok");
}
