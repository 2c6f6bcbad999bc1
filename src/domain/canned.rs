//! Canned replies (issue 13): the stored row ([`CannedReply`]), a checked
//! one to store ([`NewCanned`]) and the outcome of a write ([`CannedWrite`]).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::CannedId;

/// A stored canned reply, as the API and `canned_updated` show it:
/// `{id, name, body, created_at, updated_at}` (times RFC 3339 UTC).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct CannedReply {
    /// Grows with time; never reused.
    pub id: CannedId,
    /// The short name the admin picks it by (trimmed, 1..=64 characters).
    pub name: String,
    /// The text sent to the visitor (1..=4000 characters).
    pub body: String,
    /// Created at (UTC).
    #[serde(serialize_with = "super::view::rfc3339")]
    pub created_at: DateTime<Utc>,
    /// Last changed at (UTC).
    #[serde(serialize_with = "super::view::rfc3339")]
    pub updated_at: DateTime<Utc>,
}

/// A checked reply to store: `name_key` is `name` in lower case.
#[derive(Clone, Debug)]
pub struct NewCanned {
    /// The name.
    pub name: String,
    /// Its uniqueness key.
    pub name_key: String,
    /// The body.
    pub body: String,
}

/// The outcome of a write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CannedWrite {
    /// Stored; the row as it is now.
    Stored(CannedReply),
    /// Another reply has this name (`name_key`); nothing changed.
    NameTaken,
    /// No reply has this id (update), or the table is full (create); nothing changed.
    Missing,
}
