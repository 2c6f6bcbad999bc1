//! What the update handlers share (`updates.rs`, `callbacks.rs`,
//! `canned.rs`): their context [`Ctx`], the bot's [`Command`]s, the hints
//! for a message that reaches no visitor, and [`answer`] (a reply in the
//! admin's topic). It handles no update itself.

use teloxide::{
    payloads::SendMessageSetters, prelude::*, types::ThreadId, utils::command::BotCommands,
};

use super::Telegram;
use crate::chat::Chat;

/// Bot commands (`/help` lists them from these doc comments).
#[derive(BotCommands, Clone, Debug, PartialEq, Eq)]
#[command(
    rename_rule = "lowercase",
    description = "sohbet bot. Write in a visitor's topic, or reply to a visitor's message, to answer it."
)]
pub enum Command {
    /// Recent threads with unread counts.
    Threads,
    /// Check the bot's token, chat, rights, updates and outbox.
    Selftest,
    /// How to use this bot.
    Help,
    /// Same as /help.
    Start,
    /// Close this visitor's conversation (in its topic, or as a reply).
    Close,
    /// Reopen this visitor's conversation (in its topic, or as a reply).
    Reopen,
    /// Block this visitor: their messages are refused (in its topic, or as a reply).
    Block,
    /// Unblock this visitor (in its topic, or as a reply).
    Unblock,
}

/// The hint sent for a message that is not a reply.
pub const HINT: &str = "To answer a visitor, reply to their message (swipe left on it). /threads lists recent threads.";

/// The hint in topic mode for a message outside a visitor's topic.
pub const TOPIC_HINT: &str = "To answer a visitor, write in their topic (or reply to their message). /threads lists recent threads.";

/// What the handlers share.
#[derive(Clone)]
pub struct Ctx {
    /// The bridge (bot, admin chat, media, console).
    pub tg: Telegram,
    /// The core.
    pub chat: Chat,
}

/// The topic a message was written in (`None`: not in a topic).
pub fn topic_of(msg: &Message) -> Option<ThreadId> {
    msg.thread_id.filter(|_| msg.is_topic_message)
}

/// Sends `text` to the chat of `msg`, in its topic when it has one
/// (Bot API `sendMessage` with `message_thread_id`).
///
/// # Errors
/// The Bot API's [`teloxide::RequestError`].
pub async fn answer(bot: &Bot, msg: &Message, text: String) -> ResponseResult<()> {
    let req = bot.send_message(msg.chat.id, text);
    match topic_of(msg) {
        Some(t) => req.message_thread_id(t).await.map(|_| ()),
        None => req.await.map(|_| ()),
    }
}
