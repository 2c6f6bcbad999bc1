//! How the chat's data looks on the wire (`shared/DESIGN.md` § HTTP
//! contract): times as RFC 3339 UTC with milliseconds and `Z`, e.g.
//! `2026-05-01T12:00:00.000Z`. Used by the JSON API, the Socket.IO events
//! and the core's own event payloads alike.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{AgentId, MessageId, MessageType, Role, ThreadId};

/// A stored message as the API shows it (`shared/DESIGN.md` § HTTP contract,
/// `Message`): `{id, thread_id, content_text, content_type, sender_type,
/// file_url, created_at, client_id, internal, agent_id, sender_name}`, and
/// `edited_at` once it was edited (issue 23 item 6: an agent's Telegram
/// edit of its answer; absent from the JSON while never edited).
/// `created_at` is RFC 3339 UTC with `Z`. `internal` marks an agent's
/// internal note, which no visitor ever sees ([`Message::visible_to`]).
/// `sender_name` names the agent of an agent's message (as read from the
/// store, `None` when no agent is known; [`SenderNames::show`] fills it
/// before a message leaves the core).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Message {
    /// Grows with time.
    pub id: MessageId,
    /// Thread id (UUID text, [`ThreadId`]'s rule).
    pub thread_id: ThreadId,
    /// The text (1..=4000 characters for text messages; may be empty for media).
    pub content_text: String,
    /// `text` | `image` | `audio`.
    #[sqlx(rename = "type")]
    pub content_type: MessageType,
    /// `visitor` | `admin`.
    #[sqlx(rename = "sender")]
    pub sender_type: Role,
    /// Media URL for `image` / `audio`.
    pub file_url: Option<String>,
    /// Stored at (UTC).
    #[serde(serialize_with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    /// The sender's idempotency key, if it sent one.
    pub client_id: Option<String>,
    /// An internal note (issue 22): written by an agent for agents only.
    pub internal: bool,
    /// The agent who wrote it (issue 22 item 3); `None` for a visitor's
    /// message, a message of before agents, an answer of an unlinked
    /// Telegram member, and towards a visitor while names are hidden.
    pub agent_id: Option<AgentId>,
    /// The shown name of its sender for an agent's message (the agent's
    /// name when it wrote, stored as `messages.agent_name`; else
    /// `ADMIN_DISPLAY_NAME`); `None` for a visitor's message.
    #[sqlx(rename = "agent_name")]
    pub sender_name: Option<String>,
    /// When its text was last edited (UTC; issue 23 item 6), `None` while
    /// never edited: then the field is left out of the JSON, so every
    /// shape of before stays as it was. Read by the queries of
    /// `store::messages` (pages, catch-up) and left `None` (`sqlx(default)`)
    /// by those that do not select it (search hits, email, exports).
    #[serde(
        serialize_with = "opt_rfc3339",
        skip_serializing_if = "Option::is_none"
    )]
    #[sqlx(default)]
    pub edited_at: Option<DateTime<Utc>>,
}

/// How agents' messages are named (issue 22 item 3): the one rule for
/// `sender_name` and `agent_id` on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SenderNames {
    /// `AGENT_NAMES_VISIBLE` (default `true`): visitors see each agent's
    /// name; `false`: every answer is [`SenderNames::support`] to them.
    pub visible_to_visitors: bool,
    /// `ADMIN_DISPLAY_NAME` (default `Support`): the name of an answer no
    /// known agent wrote, and of every answer towards visitors while names
    /// are hidden.
    pub support: String,
}

impl Default for SenderNames {
    fn default() -> Self {
        SenderNames {
            visible_to_visitors: true,
            support: "Support".to_owned(),
        }
    }
}

impl SenderNames {
    /// Names `m` as a reader of role `reader` sees it: an agent's message
    /// without a stored name gets [`SenderNames::support`]; towards a
    /// visitor while names are hidden, every agent's message is
    /// [`SenderNames::support`] without an `agent_id`. A visitor's message
    /// has no `sender_name`.
    pub fn show(&self, m: &mut Message, reader: Role) {
        if m.sender_type != Role::Admin {
            m.sender_name = None;
            return;
        }
        if reader == Role::Visitor && !self.visible_to_visitors {
            m.agent_id = None;
            m.sender_name = Some(self.support.clone());
        } else if m.sender_name.is_none() {
            m.sender_name = Some(self.support.clone());
        }
    }

    /// Would [`SenderNames::show`] give a visitor other names than an
    /// agent sees for `m` (an agent's named message while names are hidden)?
    pub fn differs_for_visitor(&self, m: &Message) -> bool {
        !self.visible_to_visitors
            && m.sender_type == Role::Admin
            && (m.agent_id.is_some() || m.sender_name.as_deref() != Some(self.support.as_str()))
    }
}

impl Message {
    /// Whether a reader of role `reader` may see this message: the one rule
    /// of internal notes, an agent (`admin`) sees every message, a visitor
    /// never a note. Every path that shows messages to someone other than
    /// an agent (the thread's Socket.IO room, a visitor's history and
    /// catch-up, and later e-mail transcripts and exports) filters with
    /// this, or in SQL with `store::messages::VISIBLE_TO_VISITOR`, its twin.
    pub fn visible_to(&self, reader: Role) -> bool {
        !self.internal || reader == Role::Admin
    }
}

/// A UTC time as RFC 3339 with millisecond precision and `Z`.
pub fn rfc3339_string(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Serialises a UTC time as [`rfc3339_string`] (`#[serde(serialize_with)]`).
pub fn rfc3339<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339_string(t))
}

/// Serialises an optional UTC time as [`rfc3339_string`] or `null`.
pub fn opt_rfc3339<S: serde::Serializer>(
    t: &Option<DateTime<Utc>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => rfc3339(t, s),
        None => s.serialize_none(),
    }
}
