//! Who did what to a thread (issue 22 item 7): the agents' system events.
//! Close, reopen, block and unblock ([`super::status`]) and clearing
//! ([`Chat::clear`]) record theirs in the transaction of the change; other
//! actions (an assignment, by the module that owns it) record theirs with
//! [`Chat::record_event`]. Events are for agents only: the adapters serve
//! them to the admin (`GET /api/threads/{id}/events`) and never to a
//! visitor or the widget; they stay when a thread's messages are cleared.

use super::Chat;
use crate::chat::error::{ChatError, ChatResult};
use crate::domain::ThreadId;
use crate::domain::{ActedBy, ThreadAction, ThreadEvent};
use crate::store::{self, thread_events};

/// Default number of events `GET /api/threads/{id}/events` answers.
pub const EVENTS_DEFAULT: i64 = 200;
/// Largest number of events one call answers (the newest ones).
pub const EVENTS_MAX: i64 = 500;
/// Longest `detail` of an event, in characters.
pub const DETAIL_MAX_CHARS: usize = 200;

impl Chat {
    /// Records that agent `by` did `action` to thread `thread_id`, with an
    /// optional `detail` (e.g. `assign`: the assignee's name), trimmed,
    /// at most [`DETAIL_MAX_CHARS`] characters.
    ///
    /// # Errors
    /// `Validation` for a detail over the limit; `NotFound` for an unknown
    /// thread (nothing stored); database errors.
    #[tracing::instrument(skip(self, by, detail))]
    pub async fn record_event(
        &self,
        thread_id: &ThreadId,
        by: &ActedBy,
        action: ThreadAction,
        detail: Option<&str>,
    ) -> ChatResult<ThreadEvent> {
        let detail = detail.map(str::trim).filter(|d| !d.is_empty());
        if detail.is_some_and(|d| d.chars().count() > DETAIL_MAX_CHARS) {
            return Err(ChatError::Validation(format!(
                "detail must be at most {DETAIL_MAX_CHARS} characters"
            )));
        }
        thread_events::record(&self.db, thread_id, by, action, detail, store::now())
            .await?
            .ok_or(ChatError::NotFound("Thread not found"))
    }

    /// The newest `limit` events of thread `thread_id` (default
    /// [`EVENTS_DEFAULT`], clamped to 1..=[`EVENTS_MAX`]), oldest first.
    /// For agents only: the caller checks that.
    ///
    /// # Errors
    /// Database errors.
    pub async fn thread_events(
        &self,
        thread_id: &ThreadId,
        limit: Option<i64>,
    ) -> ChatResult<Vec<ThreadEvent>> {
        let limit = limit.unwrap_or(EVENTS_DEFAULT).clamp(1, EVENTS_MAX);
        Ok(thread_events::list(&self.db, thread_id, limit).await?)
    }
}
