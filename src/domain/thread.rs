//! Threads as the layers exchange them: a [`Thread`] row, a line of the
//! admin's list ([`ThreadListItem`], chosen by [`ListFilter`]) and the
//! search hits ([`MessageMatch`], [`ThreadMatch`]); a thread's [`Assignee`].

use chrono::{DateTime, Utc};

use super::{AgentId, Message, ThreadId, ThreadStatus};

/// A thread row.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Thread {
    /// UUID text, chosen by the server.
    pub id: ThreadId,
    /// Shown to the admin, e.g. `Visitor 3F2A`.
    pub display_name: String,
    /// Created at (UTC).
    pub created_at: DateTime<Utc>,
    /// Last message at (UTC).
    pub last_activity_at: DateTime<Utc>,
    /// `open` | `closed` (a row from before migration 0007 may still say
    /// `active`, which decodes as `open`).
    pub status: ThreadStatus,
    /// Last time a visitor socket of this thread disconnected (UTC).
    pub visitor_last_seen_at: Option<DateTime<Utc>>,
    /// When the admin blocked the thread's visitor (`None`: not blocked).
    pub blocked_at: Option<DateTime<Utc>>,
    /// The assigned agent's id (`threads.assignee_agent_id`; `None`:
    /// unassigned).
    pub assignee_id: Option<AgentId>,
    /// The assigned agent's display name now (read from `agents`).
    pub assignee_name: Option<String>,
}

impl Thread {
    /// The assignee as the wire shows it, `{id, name}`; `None` when
    /// unassigned.
    pub fn assignee(&self) -> Option<Assignee> {
        Some(Assignee {
            id: self.assignee_id?,
            name: self.assignee_name.clone().unwrap_or_default(),
        })
    }
}

/// The agent a thread is assigned to: `{id, name}` (issue 22 item 4).
/// For agents only: never sent to a visitor.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Assignee {
    /// The agent's id.
    pub id: AgentId,
    /// Its display name.
    pub name: String,
}

/// Which threads a list shows by assignee (`GET /api/threads?assignee=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssigneeFilter {
    /// Every thread.
    All,
    /// Threads assigned to this agent (`me`: the caller's id).
    Agent(AgentId),
    /// Threads nobody is assigned to.
    Unassigned,
}

/// Which threads a list shows (`GET /api/threads?status=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListFilter {
    /// Open threads only (a stored `active` counts as open).
    Open,
    /// Closed threads only.
    Closed,
    /// Every thread, open ones first.
    All,
}

impl ListFilter {
    /// The word of the query string (`open`, `closed`, `all`).
    pub fn as_str(self) -> &'static str {
        match self {
            ListFilter::Open => "open",
            ListFilter::Closed => "closed",
            ListFilter::All => "all",
        }
    }
}

/// One line of the admin's thread list.
#[derive(Clone, Debug)]
pub struct ThreadListItem {
    /// The thread.
    pub thread: Thread,
    /// All its messages.
    pub message_count: i64,
    /// Visitor messages after the admin's read mark.
    pub unread_count: i64,
    /// Its newest message.
    pub last_message: Option<Message>,
}

/// A message that matched, with the thread it belongs to.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct MessageMatch {
    /// The message.
    #[sqlx(flatten)]
    pub message: Message,
    /// Its thread's display name.
    pub display_name: String,
    /// Its thread's status.
    pub status: ThreadStatus,
}

/// A thread whose display name matched.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ThreadMatch {
    /// Thread id.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Status.
    pub status: ThreadStatus,
    /// Last message at (UTC).
    pub last_activity_at: DateTime<Utc>,
}
