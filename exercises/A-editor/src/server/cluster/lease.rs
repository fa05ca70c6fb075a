//! One attempt at a document's lease, the decision that keeps one
//! sequencer per document (chapter A-editor, "Stage 19: Several servers").

use super::{Claim, Cluster, instance_of, node_channel};
use crate::redis::{Connection, RedisError};

impl Cluster {
    /// One attempt at the lease `key` for this server's document task
    /// `mine`: the sequencer's part when the lease was free (taken, and
    /// only by one server at a time), a member's when a running server
    /// holds it, `None` to try again (its holder is gone or giving it back).
    pub(super) async fn lease(
        &self,
        connection: &mut Connection,
        key: &str,
        mine: String,
    ) -> Result<Option<Claim>, RedisError> {
        todo!(
            "Stage 19: one sequencer per document: take the lease with SET NX PX, or follow its holder (chapter A-editor, section \"Stage 19: Several servers\")"
        )
    }
}
