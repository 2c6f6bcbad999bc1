//! What the chat core remembers about a thread's life in the Telegram
//! admin chat: which Telegram message belongs to which thread (links), the
//! thread's forum topic, and which message carries its inline buttons. The
//! Telegram adapter reads and records these here; the link of an admin's
//! Telegram reply is written with the reply itself
//! ([`PostRequest::telegram_link`](super::PostRequest::telegram_link)).

use super::ChatResult;
use crate::domain::ThreadId;
use crate::store::{self, Db};

/// Links, topics and buttons; cheap to clone.
#[derive(Clone)]
pub struct TelegramLinks {
    db: Db,
}

impl TelegramLinks {
    pub(super) fn new(db: Db) -> Self {
        TelegramLinks { db }
    }

    /// The thread of Telegram message `tg_message_id` in chat `tg_chat_id`,
    /// if it is linked (a forward, or an admin's reply).
    ///
    /// # Errors
    /// Database errors.
    pub async fn thread_of_message(
        &self,
        tg_chat_id: i64,
        tg_message_id: i64,
    ) -> ChatResult<Option<ThreadId>> {
        Ok(store::outbox::thread_of(&self.db, tg_chat_id, tg_message_id).await?)
    }

    /// Records that Telegram user `tg_from_id` wrote the admin's message
    /// `tg_message_id` of chat `tg_chat_id`, which became an answer (its
    /// link is written with the answer): only that user's edits of it are
    /// relayed ([`super::edits`]).
    ///
    /// # Errors
    /// Database errors.
    pub async fn note_author(
        &self,
        tg_chat_id: i64,
        tg_message_id: i64,
        tg_from_id: i64,
    ) -> ChatResult<()> {
        Ok(store::topics::set_link_author(&self.db, tg_chat_id, tg_message_id, tg_from_id).await?)
    }

    /// The thread whose forum topic is `topic_id` in chat `tg_chat_id`
    /// (topic ids are message ids, numbered per chat).
    ///
    /// # Errors
    /// Database errors.
    pub async fn thread_of_topic(
        &self,
        tg_chat_id: i64,
        topic_id: i64,
    ) -> ChatResult<Option<ThreadId>> {
        Ok(store::topics::thread_of_topic(&self.db, tg_chat_id, topic_id).await?)
    }

    /// The forum topic of a thread in chat `tg_chat_id`, if it has one there.
    ///
    /// # Errors
    /// Database errors.
    pub async fn topic_of_thread(
        &self,
        thread_id: &ThreadId,
        tg_chat_id: i64,
    ) -> ChatResult<Option<i64>> {
        Ok(store::topics::topic_of_thread(&self.db, thread_id, tg_chat_id).await?)
    }

    /// What the name of a thread's topic in chat `tg_chat_id` is made of
    /// (display name, assignee) and the topic; `None` without one there.
    ///
    /// # Errors
    /// Database errors.
    pub async fn topic_naming(
        &self,
        thread_id: &ThreadId,
        tg_chat_id: i64,
    ) -> ChatResult<Option<crate::domain::TopicNaming>> {
        Ok(store::topics::naming(&self.db, thread_id, tg_chat_id).await?)
    }

    /// Records a thread's (new) forum topic in chat `tg_chat_id`, open.
    ///
    /// # Errors
    /// Database errors.
    pub async fn set_topic(
        &self,
        thread_id: &ThreadId,
        tg_chat_id: i64,
        topic_id: i64,
        name: &str,
    ) -> ChatResult<()> {
        Ok(store::topics::set_topic(&self.db, thread_id, tg_chat_id, topic_id, name).await?)
    }

    /// Records the name a thread's topic was given.
    ///
    /// # Errors
    /// Database errors.
    pub async fn set_topic_name(&self, thread_id: &ThreadId, name: &str) -> ChatResult<()> {
        Ok(store::topics::set_topic_name(&self.db, thread_id, name).await?)
    }

    /// Marks topic `topic_id` of chat `tg_chat_id` closed or open; whether
    /// a thread has it.
    ///
    /// # Errors
    /// Database errors.
    pub async fn set_topic_closed(
        &self,
        tg_chat_id: i64,
        topic_id: i64,
        closed: bool,
    ) -> ChatResult<bool> {
        Ok(store::topics::set_topic_closed(&self.db, tg_chat_id, topic_id, closed).await?)
    }

    /// Forgets a thread's topic (deleted in Telegram).
    ///
    /// # Errors
    /// Database errors.
    pub async fn forget_topic(&self, thread_id: &ThreadId) -> ChatResult<()> {
        Ok(store::topics::forget_topic(&self.db, thread_id).await?)
    }

    /// The `(chat id, message id)` carrying a thread's buttons, if any.
    ///
    /// # Errors
    /// Database errors.
    pub async fn buttons(&self, thread_id: &ThreadId) -> ChatResult<Option<(i64, i64)>> {
        Ok(store::buttons::get(&self.db, thread_id).await?)
    }

    /// Records the message carrying a thread's buttons (the first is kept).
    ///
    /// # Errors
    /// Database errors.
    pub async fn set_buttons(
        &self,
        thread_id: &ThreadId,
        tg_chat_id: i64,
        tg_message_id: i64,
    ) -> ChatResult<()> {
        Ok(store::buttons::set(&self.db, thread_id, tg_chat_id, tg_message_id).await?)
    }
}
