//! Serving the built book from `Config::static_dir` (for `cargo grade serve`).
//!
//! Paths are percent-decoded and any `..` segment is refused, then the file's
//! canonical path must lie inside the canonical directory (a symlink cannot
//! lead out either).

use std::path::{Path, PathBuf};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

fn content_type(path: &Path) -> &'static str {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default();
    match extension.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Percent-decodes a URL path; `None` if the result is not UTF-8.
fn percent_decode(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The relative file path for a URL path, or `None` if it tries to leave.
fn relative_path(url_path: &str) -> Option<PathBuf> {
    let decoded = percent_decode(url_path)?;
    let mut relative = PathBuf::new();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => return None,
            _ if segment.contains('\\') || segment.contains('\0') || segment.contains(':') => {
                return None;
            }
            _ => relative.push(segment),
        }
    }
    Some(relative)
}

pub(crate) async fn serve(dir: &Path, url_path: &str) -> Response {
    let Some(relative) = relative_path(url_path) else {
        return not_found();
    };
    let Ok(root) = tokio::fs::canonicalize(dir).await else {
        return not_found();
    };
    let Ok(mut file) = tokio::fs::canonicalize(root.join(&relative)).await else {
        return not_found();
    };
    if !file.starts_with(&root) {
        return not_found();
    }
    if tokio::fs::metadata(&file).await.is_ok_and(|m| m.is_dir()) {
        if !url_path.ends_with('/') {
            return Redirect::permanent(&format!("{url_path}/")).into_response();
        }
        file.push("index.html");
    }
    match tokio::fs::read(&file).await {
        Ok(bytes) => {
            let mut response = bytes.into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type(&file)),
            );
            response
        }
        Err(_) => not_found(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_is_refused() {
        assert_eq!(relative_path("/a/b.html"), Some(PathBuf::from("a/b.html")));
        assert_eq!(relative_path("/../etc/passwd"), None);
        assert_eq!(relative_path("/a/%2e%2e/%2e%2e/x"), None);
        assert_eq!(relative_path("/a%2f..%2f..%2fx"), None);
        assert_eq!(relative_path("/%"), Some(PathBuf::from("%")));
    }
}
