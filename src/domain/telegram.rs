//! The Telegram bridge's rows: a forward waiting in the outbox
//! ([`OutboxItem`]) and a receipt to show ([`DueReceipt`]).

use chrono::{DateTime, Utc};

use super::{LinkId, MessageId, MessageType, OutboxId, Role, ThreadId};

/// The head of a thread's queue (its oldest pending forward), joined with
/// its message and thread.
///
/// Its `Debug` shows ids and counts only: the text, caption and file URL are
/// message content and never reach a log or a span.
#[derive(Clone, sqlx::FromRow)]
pub struct OutboxItem {
    /// Outbox row id (sending order).
    pub id: OutboxId,
    /// Tries so far.
    pub attempts: i32,
    /// Parts (messages) of this forward already delivered.
    pub parts_sent: i32,
    /// The thread.
    pub thread_id: ThreadId,
    /// The message, or `None` when it was cleared meanwhile.
    pub message_id: Option<MessageId>,
    /// The thread's display name.
    pub display_name: Option<String>,
    /// What the message carries.
    pub content_type: Option<MessageType>,
    /// Text or caption.
    pub content_text: Option<String>,
    /// Media URL.
    pub file_url: Option<String>,
    /// Who wrote the message: a visitor's is forwarded, an agent's
    /// (written outside Telegram) mirrored into the thread's topic.
    pub sender: Option<Role>,
    /// The message is an internal note (mirrored as such).
    pub internal: Option<bool>,
    /// The shown name of the agent who wrote it (`messages.agent_name`),
    /// for the head of a mirrored answer or note (`Ayşe: …`).
    pub agent_name: Option<String>,
    /// The thread's forum topic in the admin chat (topic mode), if created.
    pub tg_topic_id: Option<i64>,
    /// The chat that topic is in (`None`: unknown, a topic stored before
    /// migration 0010 that could not be placed); the topic is used only
    /// when this is the admin chat.
    pub tg_topic_chat_id: Option<i64>,
    /// The name that topic was given.
    pub tg_topic_name: Option<String>,
    /// 1 when the topic was closed by hand (reopened before this forward).
    pub tg_topic_closed: Option<i32>,
    /// The display name of the thread's assignee (shown in the topic's
    /// name), if assigned.
    pub assignee_name: Option<String>,
    /// When the message was stored (the time on its line in a coalesced
    /// forward).
    pub created_at: Option<DateTime<Utc>>,
    /// The visitor's client address as the fair share counts it
    /// (`limits::address_key`); `None` for an agent's message (its thread then
    /// counts as an address of its own).
    pub client_key: Option<String>,
}

/// What a thread's topic name is made of, and the topic (issue 22 item 4:
/// the topic shows the assignee).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TopicNaming {
    /// The topic in the admin chat.
    pub tg_topic_id: i64,
    /// The name it was given.
    pub tg_topic_name: Option<String>,
    /// The thread's display name.
    pub display_name: String,
    /// The assignee's display name, if assigned.
    pub assignee_name: Option<String>,
}

impl OutboxItem {
    /// An agent's message (answer or note) to mirror into the thread's
    /// topic, not a visitor's to forward.
    pub fn is_agents(&self) -> bool {
        self.sender == Some(Role::Admin)
    }
}

impl std::fmt::Debug for OutboxItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxItem")
            .field("id", &self.id)
            .field("attempts", &self.attempts)
            .field("parts_sent", &self.parts_sent)
            .field("thread_id", &self.thread_id)
            .field("message_id", &self.message_id)
            .field("content_type", &self.content_type)
            .field("sender", &self.sender)
            .field("internal", &self.internal)
            .field("tg_topic_id", &self.tg_topic_id)
            .field("tg_topic_chat_id", &self.tg_topic_chat_id)
            .field("has_client_key", &self.client_key.is_some())
            .finish_non_exhaustive()
    }
}

/// A receipt to show in Telegram.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DueReceipt {
    /// Link row id.
    pub id: LinkId,
    /// The chat of the admin's message (text, as stored).
    pub tg_chat_id: String,
    /// The admin's Telegram message.
    pub tg_message_id: i64,
    /// The level to show.
    pub receipt: i32,
}
