//! # editor — capstone A of the WebSocket Workbook: a collaborative editor
//!
//! Several people edit one document in their browsers at once, as in Google
//! Docs. The editor builds on unit 10's operational transformation
//! ([`collab`]): the same [`Operation`]s, the same `transform`, the same
//! central server that orders operations by revision.
//!
//! * [`text`]: a document's text in a rope, so that applying an operation
//!   costs O(log n + the operation's size) and not a copy of the whole text,
//!   as unit 10's `Operation::apply` on a `String` does.

pub mod text;

pub use collab::{OpError, Operation};
pub use text::Text;
