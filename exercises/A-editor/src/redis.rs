//! A small Redis client: just what several editor servers need to share
//! documents (a lease per document, publish and subscribe).
//!
//! Redis speaks RESP2: a command is an array of bulk strings
//! (`*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n`), a reply is one value whose first
//! byte says its type (`+` simple string, `-` error, `:` integer, `$` bulk
//! string, `*` array). The protocol is small enough that a few hundred
//! lines over [`TcpStream`] do, rather than a dependency the course's
//! workspace would carry for one capstone.
//!
//! Everything a peer sends is bounded ([`MAX_BULK`], [`MAX_ARRAY`],
//! [`MAX_LINE`], [`MAX_DEPTH`]) and every read has a timeout
//! ([`REPLY_TIMEOUT`]): a confused or hostile server yields an error, never
//! a panic nor an unbounded buffer nor a task waiting for ever.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

/// The longest bulk string accepted, in bytes (a whole document travels
/// in a welcome; the editor's own messages are at most 1 MiB of edit).
pub const MAX_BULK: usize = 32 << 20;

/// The most elements an array may have (replies here have a handful).
pub const MAX_ARRAY: usize = 1024;

/// The longest header line (`+OK`, `-ERR …`, `:12`, `$5`), in bytes.
pub const MAX_LINE: usize = 4096;

/// How deeply arrays may nest (replies here nest once).
pub const MAX_DEPTH: usize = 4;

/// How long a reply may take: Redis answers in microseconds on a healthy
/// network, so this much silence means a broken one.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(2);

/// A subscription sends `PING` after this much silence, and gives up after
/// [`REPLY_TIMEOUT`] more: a dead connection is noticed even when nothing
/// is published.
pub const KEEPALIVE: Duration = Duration::from_secs(1);

/// What went wrong talking to Redis.
#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    /// The connection failed.
    #[error("Redis connection: {0}")]
    Io(#[from] std::io::Error),
    /// Redis did not answer in time.
    #[error("Redis did not answer within {REPLY_TIMEOUT:?}")]
    Timeout,
    /// Redis closed the connection.
    #[error("Redis closed the connection")]
    Closed,
    /// What came is not RESP2, or is over a limit.
    #[error("not a Redis reply: {0}")]
    Protocol(String),
    /// Redis answered with an error (`-ERR …`).
    #[error("Redis said: {0}")]
    Server(String),
    /// A well-formed reply of the wrong kind for the command.
    #[error("unexpected reply from Redis to {command}: {reply:?}")]
    Unexpected {
        /// The command.
        command: &'static str,
        /// What came.
        reply: Value,
    },
}

/// One RESP2 value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `+OK`
    Simple(String),
    /// `-ERR message`
    Error(String),
    /// `:42`
    Integer(i64),
    /// `$3\r\nabc`
    Bulk(Vec<u8>),
    /// `$-1` or `*-1`: nothing (a missing key, a failed `SET NX`).
    Nil,
    /// `*2\r\n…`
    Array(Vec<Value>),
}

fn protocol(problem: impl Into<String>) -> RedisError {
    RedisError::Protocol(problem.into())
}

/// Parses one value from the start of `input`: `Ok(None)` when more bytes
/// are needed, else the value and how many bytes it took. Malformed input
/// or a value over a limit is an error.
pub fn parse(input: &[u8]) -> Result<Option<(Value, usize)>, RedisError> {
    parse_at(input, 0)
}

/// The line starting at `input`, without its `\r\n`, and the length with it.
fn line(input: &[u8]) -> Result<Option<(&[u8], usize)>, RedisError> {
    let window = &input[..input.len().min(MAX_LINE + 2)];
    match window.windows(2).position(|pair| pair == b"\r\n") {
        Some(end) => Ok(Some((&input[..end], end + 2))),
        None if input.len() > MAX_LINE + 1 => Err(protocol("a header line is too long")),
        None => Ok(None),
    }
}

fn number(text: &[u8]) -> Result<i64, RedisError> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| {
            protocol(format!(
                "{:?} is not a number",
                String::from_utf8_lossy(text)
            ))
        })
}

/// A length (`-1`: nil) no larger than `max`.
fn length(text: &[u8], max: usize, what: &str) -> Result<Option<usize>, RedisError> {
    match number(text)? {
        -1 => Ok(None),
        n => match usize::try_from(n) {
            Ok(n) if n <= max => Ok(Some(n)),
            _ => Err(protocol(format!("{what} of length {n} (at most {max})"))),
        },
    }
}

fn parse_at(input: &[u8], depth: usize) -> Result<Option<(Value, usize)>, RedisError> {
    let Some((&kind, rest)) = input.split_first() else {
        return Ok(None);
    };
    let Some((header, used)) = line(rest)? else {
        return Ok(None);
    };
    let used = used + 1;
    let text = || String::from_utf8_lossy(header).into_owned();
    match kind {
        b'+' => Ok(Some((Value::Simple(text()), used))),
        b'-' => Ok(Some((Value::Error(text()), used))),
        b':' => Ok(Some((Value::Integer(number(header)?), used))),
        b'$' => {
            let Some(len) = length(header, MAX_BULK, "a bulk string")? else {
                return Ok(Some((Value::Nil, used)));
            };
            let body = &input[used..];
            if body.len() < len + 2 {
                return Ok(None);
            }
            if &body[len..len + 2] != b"\r\n" {
                return Err(protocol("a bulk string does not end with \\r\\n"));
            }
            Ok(Some((Value::Bulk(body[..len].to_vec()), used + len + 2)))
        }
        b'*' => {
            let Some(len) = length(header, MAX_ARRAY, "an array")? else {
                return Ok(Some((Value::Nil, used)));
            };
            if depth >= MAX_DEPTH {
                return Err(protocol("arrays nested too deeply"));
            }
            let mut items = Vec::with_capacity(len);
            let mut at = used;
            for _ in 0..len {
                let Some((item, size)) = parse_at(&input[at..], depth + 1)? else {
                    return Ok(None);
                };
                items.push(item);
                at += size;
            }
            Ok(Some((Value::Array(items), at)))
        }
        other => Err(protocol(format!(
            "a reply cannot start with byte {other:#04x}"
        ))),
    }
}

/// A command as RESP2: an array of bulk strings.
pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Extends the lease `KEYS[1]` to `ARGV[2]` ms if `ARGV[1]` holds it.
const EXTEND: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
     return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";

/// Deletes the lease `KEYS[1]` if `ARGV[1]` holds it.
const RELEASE: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
     return redis.call('DEL', KEYS[1]) else return 0 end";

/// One connection to Redis, for commands (not a subscription).
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Connection {
    /// Connects to `address` (`HOST:PORT`).
    pub async fn connect(address: &str) -> Result<Self, RedisError> {
        let stream = tokio::time::timeout(REPLY_TIMEOUT, TcpStream::connect(address))
            .await
            .map_err(|_| RedisError::Timeout)??;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buffer: Vec::new(),
        })
    }

    /// Sends one command without reading its reply.
    async fn send(&mut self, args: &[&[u8]]) -> Result<(), RedisError> {
        tokio::time::timeout(REPLY_TIMEOUT, self.stream.write_all(&encode(args)))
            .await
            .map_err(|_| RedisError::Timeout)??;
        Ok(())
    }

    /// The next value, waiting at most `wait`.
    async fn read(&mut self, wait: Duration) -> Result<Value, RedisError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some((value, used)) = parse(&self.buffer)? {
                self.buffer.drain(..used);
                return Ok(value);
            }
            let read = tokio::time::timeout_at(deadline, self.stream.read_buf(&mut self.buffer))
                .await
                .map_err(|_| RedisError::Timeout)??;
            if read == 0 {
                return Err(RedisError::Closed);
            }
        }
    }

    /// Runs one command; an error reply is [`RedisError::Server`].
    pub async fn command(&mut self, args: &[&[u8]]) -> Result<Value, RedisError> {
        self.send(args).await?;
        match self.read(REPLY_TIMEOUT).await? {
            Value::Error(message) => Err(RedisError::Server(message)),
            value => Ok(value),
        }
    }

    /// `SET key value NX PX ms`: `true` when the key was free and is now
    /// `value` for `ms` milliseconds.
    pub async fn set_nx_px(&mut self, key: &str, value: &str, ms: u64) -> Result<bool, RedisError> {
        let ms = ms.to_string();
        let args: [&[u8]; 6] = [
            b"SET",
            key.as_bytes(),
            value.as_bytes(),
            b"NX",
            b"PX",
            ms.as_bytes(),
        ];
        match self.command(&args).await? {
            Value::Simple(ok) if ok == "OK" => Ok(true),
            Value::Nil => Ok(false),
            reply => Err(RedisError::Unexpected {
                command: "SET NX",
                reply,
            }),
        }
    }

    /// `GET key`, as text.
    pub async fn get(&mut self, key: &str) -> Result<Option<String>, RedisError> {
        match self.command(&[b"GET", key.as_bytes()]).await? {
            Value::Bulk(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
            Value::Nil => Ok(None),
            reply => Err(RedisError::Unexpected {
                command: "GET",
                reply,
            }),
        }
    }

    /// `DEL key`: whether it existed.
    pub async fn del(&mut self, key: &str) -> Result<bool, RedisError> {
        match self.command(&[b"DEL", key.as_bytes()]).await? {
            Value::Integer(n) => Ok(n > 0),
            reply => Err(RedisError::Unexpected {
                command: "DEL",
                reply,
            }),
        }
    }

    async fn eval_integer(
        &mut self,
        script: &str,
        command: &'static str,
        key: &str,
        args: &[&str],
    ) -> Result<i64, RedisError> {
        let mut all: Vec<&[u8]> = vec![b"EVAL", script.as_bytes(), b"1", key.as_bytes()];
        all.extend(args.iter().map(|arg| arg.as_bytes()));
        match self.command(&all).await? {
            Value::Integer(n) => Ok(n),
            reply => Err(RedisError::Unexpected { command, reply }),
        }
    }

    /// Compare and extend: if `holder` has the lease `key`, it now lasts
    /// `ms` more milliseconds. `false`: somebody else has it, or nobody.
    pub async fn extend(&mut self, key: &str, holder: &str, ms: u64) -> Result<bool, RedisError> {
        let ms = ms.to_string();
        let n = self
            .eval_integer(EXTEND, "EVAL extend", key, &[holder, &ms])
            .await?;
        Ok(n == 1)
    }

    /// Compare and delete: gives up the lease `key` if `holder` has it.
    pub async fn release(&mut self, key: &str, holder: &str) -> Result<bool, RedisError> {
        let n = self
            .eval_integer(RELEASE, "EVAL release", key, &[holder])
            .await?;
        Ok(n == 1)
    }

    /// `PUBLISH channel message`: how many subscribers received it.
    pub async fn publish(&mut self, channel: &str, message: &[u8]) -> Result<i64, RedisError> {
        match self
            .command(&[b"PUBLISH", channel.as_bytes(), message])
            .await?
        {
            Value::Integer(n) => Ok(n),
            reply => Err(RedisError::Unexpected {
                command: "PUBLISH",
                reply,
            }),
        }
    }

    /// `PUBSUB NUMSUB channel`: how many connections subscribe to it (a
    /// node's channel has one subscriber exactly while the node runs).
    pub async fn subscribers(&mut self, channel: &str) -> Result<i64, RedisError> {
        let reply = self
            .command(&[b"PUBSUB", b"NUMSUB", channel.as_bytes()])
            .await?;
        match reply {
            Value::Array(ref items) => match items.as_slice() {
                [_, Value::Integer(n)] => Ok(*n),
                _ => Err(RedisError::Unexpected {
                    command: "PUBSUB NUMSUB",
                    reply,
                }),
            },
            reply => Err(RedisError::Unexpected {
                command: "PUBSUB NUMSUB",
                reply,
            }),
        }
    }
}

/// Subscribes to `channel` on a connection of its own and sends each
/// message's payload to `messages`. Returns once subscribed; the task it
/// starts ends when `stop` turns `true`, when `messages` is dropped, or
/// when the connection fails (then `messages` ends: the caller sees
/// `None` and knows messages may have been lost).
pub async fn subscribe(
    address: &str,
    channel: &str,
    messages: mpsc::Sender<Vec<u8>>,
    mut stop: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, RedisError> {
    let mut connection = Connection::connect(address).await?;
    connection.send(&[b"SUBSCRIBE", channel.as_bytes()]).await?;
    match connection.read(REPLY_TIMEOUT).await? {
        Value::Array(items) if matches!(items.first(), Some(Value::Bulk(kind)) if kind == b"subscribe") =>
            {}
        Value::Error(message) => return Err(RedisError::Server(message)),
        reply => {
            return Err(RedisError::Unexpected {
                command: "SUBSCRIBE",
                reply,
            });
        }
    }
    let channel = channel.to_owned();
    Ok(tokio::spawn(async move {
        let mut pinged = false;
        loop {
            let wait = if pinged { REPLY_TIMEOUT } else { KEEPALIVE };
            let value = tokio::select! {
                value = connection.read(wait) => value,
                _ = stop.wait_for(|stop| *stop) => return,
                () = messages.closed() => return,
            };
            match value {
                Ok(Value::Array(items)) => match items.as_slice() {
                    [Value::Bulk(kind), _, Value::Bulk(payload)] if kind == b"message" => {
                        pinged = false;
                        if messages.send(payload.clone()).await.is_err() {
                            return;
                        }
                    }
                    [Value::Bulk(kind), ..] if kind == b"pong" => pinged = false,
                    _ => tracing::warn!(channel, "an unexpected value on a subscription"),
                },
                Err(RedisError::Timeout) if !pinged => {
                    if let Err(error) = connection.send(&[b"PING"]).await {
                        tracing::warn!(%error, channel, "the subscription failed");
                        return;
                    }
                    pinged = true;
                }
                Ok(value) => {
                    tracing::warn!(?value, channel, "an unexpected value on a subscription")
                }
                Err(error) => {
                    tracing::warn!(%error, channel, "the subscription failed");
                    return;
                }
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(input: &[u8]) -> Value {
        let (value, used) = parse(input).expect("parses").expect("complete");
        assert_eq!(used, input.len());
        value
    }

    #[test]
    fn every_kind_parses() {
        assert_eq!(whole(b"+OK\r\n"), Value::Simple("OK".into()));
        assert_eq!(whole(b"-ERR no\r\n"), Value::Error("ERR no".into()));
        assert_eq!(whole(b":-42\r\n"), Value::Integer(-42));
        assert_eq!(
            whole(b"$5\r\na\r\nbc\r\n"),
            Value::Bulk(b"a\r\nbc".to_vec())
        );
        assert_eq!(whole(b"$0\r\n\r\n"), Value::Bulk(Vec::new()));
        assert_eq!(whole(b"$-1\r\n"), Value::Nil);
        assert_eq!(whole(b"*-1\r\n"), Value::Nil);
        assert_eq!(
            whole(b"*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n*1\r\n:1\r\n"),
            Value::Array(vec![
                Value::Bulk(b"message".to_vec()),
                Value::Bulk(b"c".to_vec()),
                Value::Array(vec![Value::Integer(1)]),
            ])
        );
    }

    #[test]
    fn a_partial_value_asks_for_more_and_the_rest_is_left() {
        let full = b"*2\r\n$3\r\nabc\r\n:7\r\n+next\r\n";
        for cut in 0..17 {
            assert_eq!(parse(&full[..cut]).expect("no error"), None, "cut at {cut}");
        }
        let (_, used) = parse(full).expect("parses").expect("complete");
        assert_eq!(&full[used..], b"+next\r\n");
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        let bad: &[&[u8]] = &[
            b"?what\r\n",
            b":12a\r\n",
            b"$abc\r\n",
            b"$-2\r\n",
            b"$3\r\nabcd\r\n",
            b"*-5\r\n",
            b"*1\r\n!\r\n",
            b"$99999999999999999999\r\n",
            b"*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n",
        ];
        for input in bad {
            assert!(
                parse(input).is_err(),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn limits_are_enforced() {
        let too_long = format!("${}\r\n", MAX_BULK + 1);
        assert!(parse(too_long.as_bytes()).is_err());
        let too_many = format!("*{}\r\n", MAX_ARRAY + 1);
        assert!(parse(too_many.as_bytes()).is_err());
        let endless = vec![b'+'; MAX_LINE + 10];
        assert!(parse(&endless).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A cheap fuzz: every prefix and every single-byte corruption of
        // a valid reply either parses, asks for more, or is an error.
        let valid = b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$4\r\nbody\r\n".to_vec();
        for at in 0..valid.len() {
            for byte in [0u8, b'\r', b'\n', b'*', b'$', b'-', b'9', 0xff] {
                let mut input = valid.clone();
                input[at] = byte;
                let _ = parse(&input);
                let _ = parse(&input[..at]);
            }
        }
    }

    #[test]
    fn commands_are_arrays_of_bulk_strings() {
        assert_eq!(
            encode(&[b"GET", b"k"]),
            b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n".to_vec()
        );
    }
}
