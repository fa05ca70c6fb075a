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
        // region: solution
        if connection.set_nx_px(key, &mine, self.lease_ms()).await? {
            return Ok(Some(Claim::Sequencer(mine)));
        }
        let Some(holder) = connection.get(key).await? else {
            return Ok(None);
        };
        let instance = instance_of(&holder);
        if instance == self.instance {
            // A task of ours that just ended and is giving it back.
            return Ok(None);
        }
        if connection.subscribers(&node_channel(instance)).await? > 0 {
            Ok(Some(Claim::Member(holder)))
        } else {
            Ok(None)
        }
        // region: stub
        // todo!("Stage 19: one sequencer per document: take the lease with SET NX PX, or follow its holder (chapter A-editor, section \"Stage 19: Several servers\")")
        // endregion
    }
}
