//! Edits relayed (issue 23 item 6): an agent who edits its answer in the
//! admin chat (Bot API `edited_message`, by long polling or the webhook
//! alike) changes the message its visitor sees ([`Chat::edit_telegram_answer`]:
//! the stored text, `edited_at`, `message_updated` to the page and the panel).
//!
//! Only text, and a media answer's caption (the photo or recording itself
//! stays). Ignored without a word: edits in another chat, by a bot, by a
//! member who may not act ([`super::members::acting`]), of a message that is
//! not an answer (a command, a hint's reply, a forward: the bot's own), of
//! someone else's answer, of an internal note, and an edit that turns an
//! answer into `/note …` (a note never reaches the visitor, and an answer
//! never becomes one). A refused text (too long, empty) is answered.
//!
//! [`Chat::edit_telegram_answer`]: crate::chat::Chat::edit_telegram_answer

use std::sync::Arc;

use teloxide::prelude::*;

use super::ctx::{Ctx, answer, note_text};
use crate::chat::{ChatError, edits::AnswerEdit};

/// Handles an `edited_message` update (see the module doc).
// Not `err`: a Bot API error's text can hold the token (reqwest quotes the
// URL); the dispatcher's error handler logs them redacted.
#[tracing::instrument(skip_all, fields(message_id = msg.id.0))]
pub(super) async fn on_edit(bot: Bot, msg: Message, ctx: Arc<Ctx>) -> ResponseResult<()> {
    let Some(edit) = read(&ctx, &msg).await else {
        tracing::debug!("an edit that is not relayed (not an answer's author, or not text)");
        return Ok(());
    };
    match ctx.chat.edit_telegram_answer(edit).await {
        Ok(Some(m)) => {
            tracing::info!(message_id = %m.id, "an answer was edited from Telegram");
            Ok(())
        }
        Ok(None) => {
            tracing::debug!("an edit of no answer of its author (ignored)");
            Ok(())
        }
        Err(ChatError::Validation(why)) => {
            answer(&bot, &msg, format!("Edit not relayed: {why}")).await
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot store an answer edited in Telegram");
            let text = "Could not relay your edit right now. Please edit the message again.";
            answer(&bot, &msg, text.into()).await
        }
    }
}

/// The edit `msg` asks for, when it may be one: in the admin chat, by a
/// human who may act, with a text (or a media message's caption, possibly
/// none) that is no `/note`. Whether it edits that human's answer is the
/// store's check.
async fn read(ctx: &Ctx, msg: &Message) -> Option<AnswerEdit> {
    if msg.chat.id != ctx.tg.chat_id {
        return None;
    }
    let user = msg.from.as_ref().filter(|u| !u.is_bot)?;
    let tg_from_id = i64::try_from(user.id.0).ok()?;
    ctx.acting(Some(user)).await.ok()?;
    let media = msg.photo().is_some()
        || msg.voice().is_some()
        || msg.audio().is_some()
        || msg.document().is_some();
    let (is_text, text) = match msg.text() {
        Some(t) => (true, t),
        None if media => (false, msg.caption().unwrap_or("")),
        None => return None,
    };
    if note_text(text).is_some() {
        return None;
    }
    Some(AnswerEdit {
        tg_chat_id: ctx.tg.chat_id.0,
        tg_message_id: i64::from(msg.id.0),
        tg_from_id,
        is_text,
        text: text.to_owned(),
    })
}
