//! A message on its way into the store ([`NewMessage`], built by the
//! core's writer) and what its insert did ([`Inserted`]).

use chrono::{DateTime, Utc};

use super::{AgentId, Message, MessageType, Role, ThreadId};

/// A message to insert. `new_thread` carries the display name when the
/// thread row may have to be created (a visitor's first message).
#[derive(Clone, Debug)]
pub struct NewMessage {
    /// Target thread.
    pub thread_id: ThreadId,
    /// Who writes it.
    pub sender: Role,
    /// What it carries.
    pub kind: MessageType,
    /// Text (trimmed).
    pub text: String,
    /// Media URL.
    pub file_url: Option<String>,
    /// Idempotency key.
    pub client_id: Option<String>,
    /// `Some(display_name)`: create the thread if it does not exist.
    pub new_thread: Option<String>,
    /// Queue a forward to Telegram in the same transaction (outbox): a
    /// visitor's message, or an agent's answer or note written outside
    /// Telegram (mirrored into the thread's topic).
    pub forward: bool,
    /// An internal note: never shown to the visitor.
    pub internal: bool,
    /// `(tg_chat_id, tg_message_id)`: the admin's Telegram message this
    /// one comes from, linked in the same transaction
    /// (`store::topics::LINK_ADMIN_SQL`).
    pub tg_link: Option<(i64, i64)>,
    /// The agent who writes it (an agent's message): its id, `None` for
    /// the "Support" stand-in (an unlinked Telegram member).
    pub agent_id: Option<AgentId>,
    /// A snapshot of that agent's shown name (`messages.agent_name`);
    /// `None` for a visitor's message and for the stand-in (shown as
    /// `ADMIN_DISPLAY_NAME`).
    pub agent_name: Option<String>,
    /// The client address of a visitor's message as the Telegram outbox's
    /// fair share counts it (an IPv4 address, or an IPv6 /64 as
    /// `2001:db8:1:2::/64`; `limits::address_key`), stored on its
    /// outbox row while the forward is pending; `None` for an agent's.
    pub client_key: Option<String>,
}

/// What one insert did.
#[derive(Clone, Debug)]
pub struct Inserted {
    /// The stored row (an earlier one when `duplicate`).
    pub message: Message,
    /// The thread row was created by this insert.
    pub thread_created: bool,
    /// `client_id` had been stored before: nothing new was written.
    pub duplicate: bool,
    /// That earlier message has another sender: the key is taken.
    pub conflict: bool,
    /// This visitor message reopened its closed thread (set on the first
    /// message of that thread in the batch).
    pub thread_reopened: bool,
    /// With `thread_reopened`: the thread's block time as the reopening
    /// saw it (a visitor blocked on another instance a moment ago).
    pub blocked_at: Option<DateTime<Utc>>,
}
