//! Erasing a thread from the core (issue 27 item 3): its rows go in one
//! transaction ([`crate::store::erase`]), then [`ChatEvent::Erased`] is
//! published (the visitor's sockets and the panel are told). Files and
//! the Telegram topic are the caller's ([`crate::data`]): the core knows
//! no storage and no transport.

use super::{Chat, ChatEvent, ChatResult};
use crate::domain::ActedBy;
use crate::domain::ThreadId;
pub use crate::store::erase::ErasedRows;

impl Chat {
    /// Deletes every row of thread `thread_id` (see
    /// [`crate::store::erase::erase_thread`]; with `audit`, its audit entry
    /// in the same transaction) and publishes [`ChatEvent::Erased`].
    /// `None` (and nothing published) when nothing was stored under that id,
    /// or with `only_closed_before` when the thread is no longer closed and
    /// that old (the retention job; checked in the erasing transaction).
    ///
    /// # Errors
    /// Database errors (nothing is deleted then).
    #[tracing::instrument(skip(self, audit))]
    pub async fn erase(
        &self,
        thread_id: &ThreadId,
        audit: Option<&ActedBy>,
        only_closed_before: Option<chrono::DateTime<chrono::Utc>>,
    ) -> ChatResult<Option<ErasedRows>> {
        let erased = crate::store::erase::erase_thread(
            &self.db,
            thread_id,
            audit,
            crate::store::now(),
            only_closed_before,
        )
        .await?;
        if erased.is_some() {
            if self.is_blocked(thread_id) {
                // The row is gone: the set read again no longer holds it.
                self.load_blocks().await?;
            }
            self.events
                .publish(ChatEvent::Erased {
                    thread_id: thread_id.to_owned(),
                })
                .await;
        }
        Ok(erased)
    }

    /// Drops what this instance holds in memory for thread `thread_id`,
    /// erased on another instance (heard over the Redis relay,
    /// `thread_erased`): its entry in the blocked threads, so that a new
    /// thread of the same visitor is not refused as blocked. (The erasing
    /// instance reads its set again in [`Chat::erase`].)
    pub fn apply_erased(&self, thread_id: &ThreadId) {
        self.blocks.set(thread_id, false);
    }
}
