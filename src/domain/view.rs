//! How the chat's data looks on the wire (`shared/DESIGN.md` § HTTP
//! contract): times as RFC 3339 UTC with milliseconds and `Z`, e.g.
//! `2026-05-01T12:00:00.000Z`. Used by the JSON API, the Socket.IO events
//! and the core's own event payloads alike.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{MessageType, Role, ThreadId};

/// A stored message as the API shows it (`shared/DESIGN.md` § HTTP contract,
/// `Message`): `{id, thread_id, content_text, content_type, sender_type,
/// file_url, created_at, client_id, internal}`. `created_at` is RFC 3339
/// UTC with `Z`. `internal` marks an agent's internal note, which no
/// visitor ever sees ([`Message::visible_to`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Message {
    /// Grows with time.
    pub id: i64,
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
