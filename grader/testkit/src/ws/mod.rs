//! WebSocket connections after the upgrade: the per-connection task
//! ([`session`]), its ping bookkeeping ([`pings`]), how it ends
//! ([`ending`]), and the TCP stream with its wire-level frame counter
//! ([`tap`]), and the futures its `select!` waits on (`wait`).

mod ending;
mod pings;
pub(crate) mod session;
pub(crate) mod tap;
mod wait;
