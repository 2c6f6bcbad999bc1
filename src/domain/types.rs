//! The chat's closed sets and identifiers: [`MessageType`], [`Role`],
//! [`OutboxStatus`], [`ThreadStatus`] and [`ThreadId`]. Each enum is stored
//! as the lower-case word it serialises to (one SQL text for both backends:
//! a `TEXT` column), so the stored values are those of the contract; a
//! variant may also read an older stored word (`| "active"`).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Declares a closed set stored and sent as lower-case words: `as_str`,
/// `FromStr`, `Display`, serde, utoipa's `ToSchema`, and `sqlx` `Type` /
/// `Encode` / `Decode` for any backend whose `str` is a type (a `TEXT`
/// column). Words after `|` are older stored spellings that read as the
/// variant (never written). No `PartialEq<&str>`: compare with a variant.
macro_rules! text_enum {
    ($(#[$m:meta])* pub enum $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal $(| $old:literal)*,)+ }) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "lowercase")]
        $(#[$m])*
        pub enum $name { $($(#[$vm])* $v,)+ }

        impl $name {
            /// The stored (and sent) word.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s,)+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, UnknownValue> {
                match s {
                    $($s $(| $old)* => Ok($name::$v),)+
                    _ => Err(UnknownValue(stringify!($name))),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl<DB: sqlx::Database> sqlx::Type<DB> for $name
        where
            str: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <str as sqlx::Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <str as sqlx::Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for $name
        where
            for<'a> &'a str: sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as sqlx::Database>::ArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<'q, DB>>::encode(self.as_str(), buf)
            }
        }

        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $name
        where
            &'r str: sqlx::Decode<'r, DB>,
        {
            fn decode(
                value: <DB as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let s = <&'r str as sqlx::Decode<'r, DB>>::decode(value)?;
                Ok(s.parse()?)
            }
        }
    };
}

/// A stored word that is not one of its set's.
#[derive(Debug, thiserror::Error)]
#[error("not a valid {0}")]
pub struct UnknownValue(&'static str);

text_enum! {
    /// Message type: what a message carries (`type` of the contract,
    /// `messages.type`; `MessageKind` in the OpenAPI document).
    #[schema(as = MessageKind)]
    pub enum MessageType {
        /// Text only.
        Text = "text",
        /// An image (`file_url`), text as caption.
        Image = "image",
        /// A voice note or audio file (`file_url`), text as caption.
        Audio = "audio",
    }
}

text_enum! {
    /// Who acts or wrote: a visitor or the admin (`sender_type` of a
    /// message, `messages.sender`, the role of a socket, `role` of
    /// `GET /api/session`); the crate's one "visitor or admin".
    pub enum Role {
        /// A visitor (its own thread only).
        Visitor = "visitor",
        /// The admin (web panel, API, socket or Telegram).
        Admin = "admin",
    }
}

text_enum! {
    /// What an agent of the support team may do (`agents.role`, issue 22
    /// item 1): an owner also manages the team (`/api/agents`); an agent
    /// answers threads.
    pub enum AgentRole {
        /// Manages agents, and answers threads.
        Owner = "owner",
        /// Answers threads.
        Agent = "agent",
    }
}

text_enum! {
    /// The state of a Telegram forward (`telegram_outbox.status`).
    pub enum OutboxStatus {
        /// Waiting (first try or a retry).
        Pending = "pending",
        /// Every part reached Telegram.
        Sent = "sent",
        /// Given up (refused too often, or can never be sent).
        Dead = "dead",
        /// Its message was cleared before it could be sent, or (an agent's
        /// message to mirror) the admin chat has no topics.
        Dropped = "dropped",
    }
}

text_enum! {
    /// What an email of the outbox is (`email_outbox.kind`, issue 26).
    pub enum EmailKind {
        /// The agents' answers a visitor did not see (coalesced per thread).
        Answer = "answer",
        /// The whole visible conversation, on request or at close.
        Transcript = "transcript",
        /// A check that a visitor's message still waits unanswered; it
        /// becomes one `agent` email per agent (coalesced).
        AgentWait = "agent_wait",
        /// An agent told about threads that wait for an answer.
        Agent = "agent",
    }
}

text_enum! {
    /// The state of an email of the outbox (`email_outbox.status`).
    pub enum EmailStatus {
        /// Waiting for its due time, when the worker checks it again.
        Scheduled = "scheduled",
        /// Composed, waiting to be sent (first try or a retry).
        Pending = "pending",
        /// Handed to the SMTP server now; found so at start: sent again once.
        Sending = "sending",
        /// The SMTP server accepted it.
        Sent = "sent",
        /// Refused for good (a 5xx answer).
        Dead = "dead",
        /// Not needed any more (seen, answered, unsubscribed, no address).
        Cancelled = "cancelled",
        /// A check that became emails (`agent_wait`).
        Done = "done",
    }
}

text_enum! {
    /// The status of a thread (`threads.status`; the rule:
    /// `chat::status`).
    pub enum ThreadStatus {
        /// Waiting for or in conversation. Threads stored before migration
        /// 0007 said `active`, which reads as this.
        Open = "open" | "active",
        /// Done; reopened by the admin or by the visitor's next message.
        Closed = "closed",
    }
}

text_enum! {
    /// What an agent did to a thread: the `action` of a thread event
    /// (`thread_events.action`, issue 22 item 7).
    pub enum ThreadAction {
        /// Closed it.
        Close = "close",
        /// Reopened it.
        Reopen = "reopen",
        /// Blocked its visitor.
        Block = "block",
        /// Unblocked its visitor.
        Unblock = "unblock",
        /// Cleared its messages.
        Clear = "clear",
        /// Assigned it (the event's `detail` names the assignee).
        Assign = "assign",
    }
}

/// Longest thread id, in bytes.
pub const THREAD_ID_MAX: usize = 64;

/// A thread's id: the visitor's id (a UUID the server issues), or an id
/// kept from an imported database. Valid when it is 1 to
/// [`THREAD_ID_MAX`] bytes long; this is the only place that rule lives.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
pub struct ThreadId(String);

/// A thread id that breaks [`ThreadId`]'s rule.
#[derive(Debug, thiserror::Error)]
#[error("thread_id must be 1 to 64 characters")]
pub struct BadThreadId;

impl ThreadId {
    /// Checks `s` against the rule.
    ///
    /// # Errors
    /// [`BadThreadId`] when it is empty or longer than [`THREAD_ID_MAX`].
    pub fn parse(s: impl Into<String>) -> Result<ThreadId, BadThreadId> {
        let s = s.into();
        if s.is_empty() || s.len() > THREAD_ID_MAX {
            return Err(BadThreadId);
        }
        Ok(ThreadId(s))
    }

    /// A new random id (a hyphenated UUID v4, 36 bytes: valid by
    /// construction), as the server issues to a new visitor.
    pub fn random() -> ThreadId {
        ThreadId(uuid::Uuid::new_v4().to_string())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl TryFrom<String> for ThreadId {
    type Error = BadThreadId;
    fn try_from(s: String) -> Result<Self, BadThreadId> {
        ThreadId::parse(s)
    }
}

impl From<ThreadId> for String {
    fn from(t: ThreadId) -> String {
        t.0
    }
}

/// Unit tests write ids as literals.
#[cfg(test)]
impl From<&str> for ThreadId {
    fn from(s: &str) -> ThreadId {
        ThreadId::parse(s).expect("a valid thread id")
    }
}

/// Reads as its text wherever a `&str` is wanted (a `&str` never passes
/// for a `ThreadId`: that way goes through [`ThreadId::parse`]).
impl std::ops::Deref for ThreadId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for ThreadId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for ThreadId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ThreadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for ThreadId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

/// Stored as its text (`threads.id`, `messages.thread_id`, … are `TEXT`).
impl<DB: sqlx::Database> sqlx::Type<DB> for ThreadId
where
    str: sqlx::Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <str as sqlx::Type<DB>>::type_info()
    }
    fn compatible(ty: &DB::TypeInfo) -> bool {
        <str as sqlx::Type<DB>>::compatible(ty)
    }
}

impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for ThreadId
where
    for<'a> &'a str: sqlx::Encode<'q, DB>,
{
    fn encode_by_ref(
        &self,
        buf: &mut <DB as sqlx::Database>::ArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <&str as sqlx::Encode<'q, DB>>::encode(self.as_str(), buf)
    }
}

/// A stored id that breaks the rule (only a corrupt row could) fails the
/// read instead of entering the chat.
impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for ThreadId
where
    &'r str: sqlx::Decode<'r, DB>,
{
    fn decode(
        value: <DB as sqlx::Database>::ValueRef<'r>,
    ) -> Result<Self, sqlx::error::BoxDynError> {
        let s = <&'r str as sqlx::Decode<'r, DB>>::decode(value)?;
        Ok(ThreadId::parse(s)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip() {
        for t in [MessageType::Text, MessageType::Image, MessageType::Audio] {
            assert_eq!(t.as_str().parse::<MessageType>().unwrap(), t);
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
        assert!("video".parse::<MessageType>().is_err());
        assert_eq!(OutboxStatus::Dropped.as_str(), "dropped");
        assert_eq!(Role::Admin.as_str(), "admin");
    }

    #[test]
    fn active_reads_as_open() {
        assert_eq!(
            "active".parse::<ThreadStatus>().unwrap(),
            ThreadStatus::Open
        );
        assert_eq!("open".parse::<ThreadStatus>().unwrap(), ThreadStatus::Open);
        assert_eq!(
            "closed".parse::<ThreadStatus>().unwrap(),
            ThreadStatus::Closed
        );
        assert_eq!(ThreadStatus::Open.as_str(), "open");
        assert_eq!(
            serde_json::to_value(ThreadStatus::Closed).unwrap(),
            "closed"
        );
    }

    #[test]
    fn thread_ids_are_bounded() {
        assert!(ThreadId::parse("").is_err());
        assert!(ThreadId::parse("a".repeat(65)).is_err());
        assert_eq!(ThreadId::parse("a".repeat(64)).unwrap().as_str().len(), 64);
        assert!(serde_json::from_str::<ThreadId>("\"\"").is_err());
    }
}

/// How new threads are assigned (`ASSIGNMENT`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AssignmentMode {
    /// Only by hand (take, assign). The default.
    #[default]
    Manual,
    /// A new thread goes to the next active agent.
    RoundRobin,
}

impl AssignmentMode {
    /// The word of `ASSIGNMENT`.
    pub fn as_str(self) -> &'static str {
        match self {
            AssignmentMode::Manual => "manual",
            AssignmentMode::RoundRobin => "round_robin",
        }
    }
}
