//! The rows of an export file (issue 27 items 1 and 2): every column the
//! operator's data needs to be restored, as stored (times RFC 3339 UTC,
//! words as stored), read by `store::export` from either backend and
//! written back by its importer. Telegram state (topics, links, outbox,
//! receipts) is not part of them: it names messages of one Telegram group
//! and is not restored. Agents come without password hashes or invites.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{AgentId, CannedId, EventId, MessageId, MessageType, Role};

/// A `threads` row: `{id, display_name, created_at, last_activity_at,
/// status, visitor_last_seen_at, admin_last_read_message_id,
/// status_changed_at, blocked_at, assignee_agent_id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct ThreadRecord {
    /// Thread id (the visitor's cookie or widget token).
    pub id: String,
    /// Shown name.
    pub display_name: String,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Last activity.
    pub last_activity_at: DateTime<Utc>,
    /// `open` (or the Flask `active`) / `closed`, as stored.
    pub status: String,
    /// When the visitor last read.
    pub visitor_last_seen_at: Option<DateTime<Utc>>,
    /// The last message the admins read.
    pub admin_last_read_message_id: MessageId,
    /// When it was last closed or reopened.
    pub status_changed_at: Option<DateTime<Utc>>,
    /// When its visitor was blocked (`None`: not blocked).
    pub blocked_at: Option<DateTime<Utc>>,
    /// Its agent (an id of `agents.json`).
    pub assignee_agent_id: Option<AgentId>,
}

/// A `messages` row, internal notes included (`internal: true`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct MessageRecord {
    /// Id (kept by an import).
    pub id: MessageId,
    /// Its thread.
    pub thread_id: String,
    /// `visitor` | `admin`.
    pub sender: Role,
    /// `text` | `image` | `audio`.
    #[sqlx(rename = "type")]
    #[serde(rename = "type")]
    pub kind: MessageType,
    /// The text.
    pub content_text: String,
    /// Storage path or Cloudinary public id of its file.
    pub file_path: Option<String>,
    /// Its file's URL (`/uploads/…` or Cloudinary's).
    pub file_url: Option<String>,
    /// The sender's idempotency key.
    pub client_id: Option<String>,
    /// Stored at.
    pub created_at: DateTime<Utc>,
    /// An agent's internal note, never shown to the visitor.
    pub internal: bool,
    /// The agent who wrote it.
    pub agent_id: Option<AgentId>,
    /// The agent's name when it wrote.
    pub agent_name: Option<String>,
}

/// A `thread_events` row: a system event of the thread (closed, reopened,
/// blocked, assigned…, by whom).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct EventRecord {
    /// Id (kept by an import).
    pub id: EventId,
    /// Its thread.
    pub thread_id: String,
    /// The agent who acted.
    pub agent_id: Option<AgentId>,
    /// Its name at the time.
    pub agent_name: String,
    /// What happened (`close`, `reopen`, `block`, `assign`, …).
    pub action: String,
    /// Detail (JSON text), if any.
    pub detail: Option<String>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A `visitor_contexts` row: what the visitor's page and the site said.
///
/// It mirrors [`super::VisitorContext`] on purpose: this is the archive's
/// format (`thread.json`, `sohbet export`), which must stay readable when
/// the table or the panel's view changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct ContextRecord {
    /// Its thread.
    pub thread_id: String,
    /// Page URL.
    pub page_url: Option<String>,
    /// Page title.
    pub page_title: Option<String>,
    /// Referrer.
    pub referrer: Option<String>,
    /// Browser.
    pub browser: Option<String>,
    /// Operating system.
    pub os: Option<String>,
    /// Language.
    pub language: Option<String>,
    /// Time zone.
    pub timezone: Option<String>,
    /// Name given.
    pub name: Option<String>,
    /// Email given.
    pub email: Option<String>,
    /// The site's user id.
    pub user_id: Option<String>,
    /// The identity was signed by the site.
    pub verified: bool,
    /// When the away message was shown.
    pub away_shown_at: Option<DateTime<Utc>>,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Updated at.
    pub updated_at: DateTime<Utc>,
}

/// A `canned_replies` row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct CannedRecord {
    /// Id (kept by an import).
    pub id: CannedId,
    /// Name.
    pub name: String,
    /// Its uniqueness key.
    pub name_key: String,
    /// Body.
    pub body: String,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Updated at.
    pub updated_at: DateTime<Utc>,
}

/// An `agents` row without its password hash and invite.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct AgentRecord {
    /// Id (kept by an import unless taken, see `docs/your-data.md`).
    pub id: AgentId,
    /// Login name.
    pub login: String,
    /// Shown name.
    pub display_name: String,
    /// `owner` | `agent`.
    pub role: String,
    /// Linked Telegram user.
    pub telegram_user_id: Option<i64>,
    /// Disabled at.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Created at.
    pub created_at: DateTime<Utc>,
}

/// One thread's file of an export (`thread.json`, or `threads/<id>.json`
/// of a full export), as read back by an import.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ThreadFile {
    /// The thread (`null` when only a visitor context was stored, or the
    /// thread was erased while it was being exported).
    pub thread: Option<ThreadRecord>,
    /// Its visitor context.
    pub context: Option<ContextRecord>,
    /// Its system events, oldest first.
    pub events: Vec<EventRecord>,
    /// Every message, oldest first, internal notes flagged `internal`.
    pub messages: Vec<MessageRecord>,
}
