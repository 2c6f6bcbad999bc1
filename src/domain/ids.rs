//! The integer ids of the stored rows that cross a layer, one type each
//! ([`MessageId`], [`AgentId`], …; Lemmy's `newtypes.rs` is the model):
//! a message id can no longer be passed where an agent id is expected.
//! Each is the row's `BIGINT` / `INTEGER PRIMARY KEY` as it is: stored,
//! bound and read as an `i64` on both backends, and a JSON number on the
//! wire (serde `transparent`, so the Flask contract's shapes are
//! unchanged); an OpenAPI `integer` (`int64`).

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The shared impls of an id newtype `$name(pub i64)` declared just above
/// the call (the `derive` stays on the type, where the OpenAPI test reads
/// it): `Display` and `FromStr` (the number in decimal), `From` both ways, and `sqlx` `Type` /
/// `Encode` / `Decode` for any backend whose `i64` is a type (`BIGINT` on
/// Postgres, `INTEGER` on SQLite).
macro_rules! int_id {
    ($name:ident) => {
        impl $name {
            /// The number.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        /// Reads the number in decimal (a path segment, a signed link's
        /// subject).
        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<$name, Self::Err> {
                s.parse().map($name)
            }
        }

        impl From<i64> for $name {
            fn from(n: i64) -> $name {
                $name(n)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }

        impl<DB: sqlx::Database> sqlx::Type<DB> for $name
        where
            i64: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <i64 as sqlx::Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <i64 as sqlx::Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for $name
        where
            i64: sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as sqlx::Database>::ArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <i64 as sqlx::Encode<'q, DB>>::encode_by_ref(&self.0, buf)
            }
        }

        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $name
        where
            i64: sqlx::Decode<'r, DB>,
        {
            fn decode(
                value: <DB as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                Ok($name(<i64 as sqlx::Decode<'r, DB>>::decode(value)?))
            }
        }
    };
}

/// A message's id (`messages.id`): rises with every message stored, so
/// pages (`before`, `after`), catch-up and read receipts ("read up to")
/// compare ids.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(transparent)]
pub struct MessageId(pub i64);
int_id!(MessageId);

/// An agent's id (`agents.id`, issue 22 item 1): who of the support team
/// acts, wrote a message, is assigned a thread or gets an `agent` email.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(transparent)]
pub struct AgentId(pub i64);
int_id!(AgentId);

/// A Telegram outbox row's id (`telegram_outbox.id`): one forward to the
/// admin chat, in sending order.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(transparent)]
pub struct OutboxId(pub i64);
int_id!(OutboxId);

/// A canned reply's id (`canned_replies.id`).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(transparent)]
pub struct CannedId(pub i64);
int_id!(CannedId);

/// An email outbox row's id (`email_outbox.id`, issue 26): a check that
/// is scheduled, then the email it composed.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(transparent)]
pub struct EmailId(pub i64);
int_id!(EmailId);

/// A thread event's id (`thread_events.id`): rises with every event, kept
/// by an import.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(transparent)]
pub struct EventId(pub i64);
int_id!(EventId);

/// An audit log entry's id (`audit_log.id`): rises with every entry, never
/// reused.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(transparent)]
pub struct AuditId(pub i64);
int_id!(AuditId);

/// A Telegram link row's id (`telegram_links.id`): one message of the chat
/// tied to one Telegram message, whose read receipt is shown on it.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(transparent)]
pub struct LinkId(pub i64);
int_id!(LinkId);

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_json_numbers_both_ways() {
        use super::*;
        assert_eq!(serde_json::to_value(MessageId(42)).unwrap(), 42);
        assert_eq!(
            serde_json::from_str::<MessageId>("42").unwrap(),
            MessageId(42)
        );
        assert!(serde_json::from_str::<MessageId>("\"42\"").is_err());
        assert_eq!(MessageId(7).to_string(), "7");
    }
}
