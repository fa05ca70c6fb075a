//! Query-string options of the WebSocket endpoints (the fault injection).
//!
//! serde (`deny_unknown_fields`) rejects unknown options; values arrive as
//! strings and are parsed here so that every error names its option. A bad
//! option is an HTTP 400 before the upgrade: a test with a typo fails loudly
//! instead of silently testing the wrong thing.

use std::time::Duration;

use axum::extract::Query;
use axum::http::Uri;
use serde::Deserialize;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::config::{MAX_OPTION_MS, MIN_PING_MS};

/// Options of `/ws` and `/ws/auth`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct EchoOptions {
    pub(crate) delay: Duration,
    pub(crate) close_after: Option<u64>,
    pub(crate) code: u16,
    pub(crate) reason: String,
    pub(crate) drop_every: Option<u64>,
    pub(crate) ping_every: Option<Duration>,
    pub(crate) silent_after: Option<u64>,
    pub(crate) close_reply_delay: Duration,
    pub(crate) echo: bool,
    pub(crate) token: Option<String>,
}

/// Options of `/ws/close`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CloseOptions {
    pub(crate) code: u16,
    pub(crate) reason: String,
    pub(crate) after: Duration,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEcho {
    delay_ms: Option<String>,
    close_after: Option<String>,
    code: Option<String>,
    reason: Option<String>,
    drop_every: Option<String>,
    ping_ms: Option<String>,
    silent_after: Option<String>,
    close_reply_delay_ms: Option<String>,
    echo: Option<String>,
    token: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClose {
    code: Option<String>,
    reason: Option<String>,
    after_ms: Option<String>,
}

/// Options of `/ws/topics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TopicOptions {
    /// Close (1000) after this many data messages from the client.
    pub(crate) close_after: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTopics {
    close_after: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNone {}

fn query<T: serde::de::DeserializeOwned>(uri: &Uri) -> Result<T, String> {
    Query::<T>::try_from_uri(uri)
        .map(|Query(raw)| raw)
        .map_err(|rejection| format!("bad option: {}", rejection.body_text()))
}

fn number(name: &str, value: Option<String>) -> Result<Option<u64>, String> {
    value
        .map(|text| {
            text.parse::<u64>()
                .map_err(|_| format!("option `{name}`: expected a whole number, got `{text}`"))
        })
        .transpose()
}

fn at_least_one(name: &str, value: Option<String>) -> Result<Option<u64>, String> {
    match number(name, value)? {
        Some(0) => Err(format!("option `{name}`: must be at least 1")),
        other => Ok(other),
    }
}

fn millis(name: &str, value: Option<String>) -> Result<Duration, String> {
    match number(name, value)? {
        Some(ms) if ms > MAX_OPTION_MS => Err(format!(
            "option `{name}`: at most {MAX_OPTION_MS} ms, got {ms}"
        )),
        Some(ms) => Ok(Duration::from_millis(ms)),
        None => Ok(Duration::ZERO),
    }
}

/// A code the server may put in a Close frame: 1000–1003, 1007–1014 and the
/// registered/private ranges 3000–4999 (RFC 6455 §7.4).
fn close_code(value: Option<String>) -> Result<u16, String> {
    let code = number("code", value)?.unwrap_or(1000);
    let allowed = u16::try_from(code)
        .ok()
        .filter(|code| CloseCode::from(*code).is_allowed() && *code != 1015);
    allowed.ok_or_else(|| format!("option `code`: {code} is not a close code a server may send"))
}

/// A Close frame's payload is at most 125 bytes, 2 of them the code.
fn close_reason(value: Option<String>) -> Result<String, String> {
    let reason = value.unwrap_or_default();
    if reason.len() > 123 {
        return Err(format!(
            "option `reason`: at most 123 bytes, got {}",
            reason.len()
        ));
    }
    Ok(reason)
}

impl EchoOptions {
    pub(crate) fn parse(uri: &Uri) -> Result<Self, String> {
        let raw: RawEcho = query(uri)?;
        let ping_every = match number("ping_ms", raw.ping_ms)? {
            Some(ms) if !(MIN_PING_MS..=MAX_OPTION_MS).contains(&ms) => {
                return Err(format!(
                    "option `ping_ms`: between {MIN_PING_MS} and {MAX_OPTION_MS}, got {ms}"
                ));
            }
            other => other.map(Duration::from_millis),
        };
        let echo = match raw.echo.as_deref() {
            None | Some("true") => true,
            Some("false") => false,
            Some(other) => {
                return Err(format!(
                    "option `echo`: expected `true` or `false`, got `{other}`"
                ));
            }
        };
        Ok(EchoOptions {
            delay: millis("delay_ms", raw.delay_ms)?,
            close_after: at_least_one("close_after", raw.close_after)?,
            code: close_code(raw.code)?,
            reason: close_reason(raw.reason)?,
            drop_every: at_least_one("drop_every", raw.drop_every)?,
            ping_every,
            silent_after: number("silent_after", raw.silent_after)?,
            close_reply_delay: millis("close_reply_delay_ms", raw.close_reply_delay_ms)?,
            echo,
            token: raw.token,
        })
    }
}

impl CloseOptions {
    pub(crate) fn parse(uri: &Uri) -> Result<Self, String> {
        let raw: RawClose = query(uri)?;
        Ok(CloseOptions {
            code: close_code(raw.code)?,
            reason: close_reason(raw.reason)?,
            after: millis("after_ms", raw.after_ms)?,
        })
    }
}

impl TopicOptions {
    pub(crate) fn parse(uri: &Uri) -> Result<Self, String> {
        let raw: RawTopics = query(uri)?;
        Ok(TopicOptions {
            close_after: at_least_one("close_after", raw.close_after)?,
        })
    }
}

/// Rooms take no options.
pub(crate) fn parse_none(uri: &Uri) -> Result<(), String> {
    query::<RawNone>(uri).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn echo(query: &str) -> Result<EchoOptions, String> {
        let uri: Uri = format!("/ws?{query}").parse().expect("test URIs are valid");
        EchoOptions::parse(&uri)
    }

    #[test]
    fn defaults_and_values() {
        let options = echo("").expect("no options is fine");
        assert!(options.echo);
        assert_eq!(options.code, 1000);
        let options = echo("delay_ms=5&close_after=3&code=4000&reason=bye&echo=false")
            .expect("valid options");
        assert_eq!(options.delay, Duration::from_millis(5));
        assert_eq!(options.close_after, Some(3));
        assert_eq!(options.code, 4000);
        assert_eq!(options.reason, "bye");
        assert!(!options.echo);
    }

    #[test]
    fn errors_name_the_option() {
        let error = echo("delay_ms=abc").expect_err("not a number");
        assert!(error.contains("delay_ms"), "{error}");
        let error = echo("bogus=1").expect_err("unknown option");
        assert!(error.contains("bogus"), "{error}");
        let error = echo("code=1006").expect_err("1006 may not be sent");
        assert!(error.contains("code"), "{error}");
        let error = echo("ping_ms=1").expect_err("too fast");
        assert!(error.contains("ping_ms"), "{error}");
    }
}
