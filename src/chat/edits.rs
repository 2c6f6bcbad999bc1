//! Edited answers (issue 23 item 6): an agent who edits its answer in
//! Telegram changes the stored message's text (`messages.edited_at` records
//! when), and [`ChatEvent::MessageUpdated`] tells the visitor's page and
//! the panel (Socket.IO `message_updated`). The catch-up after a reconnect
//! returns the edits a client may have missed ([`Chat::edited_since`]).
//!
//! Only the author's edits of its own answer count: the edited Telegram
//! message must be the one that became the answer (`client_id`
//! `tg:<chat>:<message>`), written by the same Telegram user (recorded
//! on its link, [`super::telegram_links::TelegramLinks::note_author`]). Edits of
//! forwards (the bot's messages), of someone else's message, of internal
//! notes and of anything that is not an answer change nothing.

use super::{Chat, ChatError, ChatEvent, ChatResult, MAX_TEXT_CHARS, PAGE_MAX, Role};
use crate::domain::{Message, MessageId};
use crate::store::messages::{self, TelegramEdit};

/// An agent's edit of its Telegram message, as the Telegram adapter read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnswerEdit {
    /// The admin chat (`TELEGRAM_CHAT_ID`).
    pub tg_chat_id: i64,
    /// The edited Telegram message.
    pub tg_message_id: i64,
    /// Who edited it (Telegram user id).
    pub tg_from_id: i64,
    /// `true`: a text message's new `text`; `false`: a media message's new
    /// `caption` (the media itself is not replaced).
    pub is_text: bool,
    /// The new text, as written (trimmed here).
    pub text: String,
}

impl Chat {
    /// Applies an agent's Telegram edit to the answer it made: the stored
    /// text becomes `edit.text` (trimmed), `edited_at` now, and
    /// [`ChatEvent::MessageUpdated`] is published after the write. Returns
    /// the message as agents see it, or `None` when the edit is not one to
    /// relay (see the module doc; also an unchanged text).
    ///
    /// # Errors
    /// `Validation` for a text over [`MAX_TEXT_CHARS`] characters or an
    /// empty text message (nothing changed); database errors.
    #[tracing::instrument(skip(self, edit), fields(tg_message_id = edit.tg_message_id))]
    pub async fn edit_telegram_answer(&self, edit: AnswerEdit) -> ChatResult<Option<Message>> {
        let text = edit.text.trim();
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(ChatError::Validation(format!(
                "text must be at most {MAX_TEXT_CHARS} characters"
            )));
        }
        if edit.is_text && text.is_empty() {
            return Err(ChatError::Validation("text must not be empty".into()));
        }
        let row = TelegramEdit {
            tg_chat_id: edit.tg_chat_id,
            tg_message_id: edit.tg_message_id,
            tg_from_id: edit.tg_from_id,
            is_text: edit.is_text,
            text,
        };
        let Some(mut m) =
            messages::edit_telegram_answer(&self.db, &row, crate::store::now()).await?
        else {
            return Ok(None);
        };
        self.options.names.show(&mut m, Role::Admin);
        self.events
            .publish(ChatEvent::MessageUpdated(m.clone()))
            .await;
        Ok(Some(m))
    }

    /// The catch-up's edits (`GET …?after=ID`, the socket's replay): the
    /// messages of `thread_id` up to id `after` edited since message
    /// `after` was stored, as `reader` may see them and names them
    /// ([`Chat::page`]'s rules), oldest first, at most `limit` (clamped to
    /// 1..=[`PAGE_MAX`]).
    ///
    /// # Errors
    /// Database errors.
    pub async fn edited_since(
        &self,
        reader: Role,
        thread_id: &str,
        after: MessageId,
        limit: Option<i64>,
    ) -> ChatResult<Vec<Message>> {
        let limit = limit.unwrap_or(PAGE_MAX).clamp(1, PAGE_MAX);
        let mut edited = messages::edited_since(&self.db, reader, thread_id, after, limit).await?;
        for m in &mut edited {
            self.options.names.show(m, reader);
        }
        Ok(edited)
    }
}
