//! Who did what to a thread (issue 22 item 7): the agent who acted
//! ([`ActedBy`]) and a stored system event ([`ThreadEvent`]). Events are
//! for agents only: never sent to a visitor or the widget.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{AgentId, EventId, ThreadAction, ThreadId};

/// The agent who acted: `{id, name}` (`by` of `thread_updated` and of a
/// thread event). `id` is the agent's id once agents exist (`null` today:
/// the single admin or Telegram); `name` is the name shown then.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ActedBy {
    /// The agent's id, `null` before agents exist.
    pub id: Option<AgentId>,
    /// The agent's name at the time.
    pub name: String,
}

/// One stored event of a thread: `{id, thread_id, action, detail, by:
/// {id, name}, created_at}` (RFC 3339 UTC). `id` grows with time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ThreadEvent {
    /// Grows with time; never reused.
    pub id: EventId,
    /// The thread.
    pub thread_id: ThreadId,
    /// What was done.
    pub action: ThreadAction,
    /// More about it (`assign`: the assignee), else `null`.
    pub detail: Option<String>,
    /// Who did it.
    pub by: ActedBy,
    /// When (UTC).
    #[serde(serialize_with = "super::view::rfc3339")]
    pub created_at: DateTime<Utc>,
}

/// The row of `thread_events` as stored (`agent_id`, `agent_name` apart).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ThreadEventRow {
    /// `thread_events.id`.
    pub id: EventId,
    /// `thread_events.thread_id`.
    pub thread_id: ThreadId,
    /// `thread_events.agent_id`.
    pub agent_id: Option<AgentId>,
    /// `thread_events.agent_name`.
    pub agent_name: String,
    /// `thread_events.action`.
    pub action: ThreadAction,
    /// `thread_events.detail`.
    pub detail: Option<String>,
    /// `thread_events.created_at`.
    pub created_at: DateTime<Utc>,
}

impl From<ThreadEventRow> for ThreadEvent {
    fn from(r: ThreadEventRow) -> Self {
        ThreadEvent {
            id: r.id,
            thread_id: r.thread_id,
            action: r.action,
            detail: r.detail,
            by: ActedBy {
                id: r.agent_id,
                name: r.agent_name,
            },
            created_at: r.created_at,
        }
    }
}
