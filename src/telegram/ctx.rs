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
    /// Same as /help; /start CODE links your Telegram account (as /link).
    Start(String),
    /// /link CODE: link your Telegram account to your agent (the code comes from the panel).
    Link(String),
    /// Close this visitor's conversation (in its topic, or as a reply).
    Close,
    /// Reopen this visitor's conversation (in its topic, or as a reply).
    Reopen,
    /// Block this visitor: their messages are refused (in its topic, or as a reply).
    Block,
    /// Unblock this visitor (in its topic, or as a reply).
    Unblock,
    /// Take this visitor's conversation: assign it to you (in its topic, or as a reply).
    Take,
    /// /note <text>: an internal note for the agents; the visitor never sees it (in its topic, or as a reply).
    Note(String),
}

/// The text of an internal note written as `/note <text>` (also
/// `/note@<bot> <text>`, and a media caption so written): `Some(text)`
/// after the command, trimmed; `None` for anything else (`/notes` too).
/// The dispatcher parses `/note` as a [`Command`] first; this catches what
/// that parse leaves to the answer path, so a note can never reach the
/// visitor by falling through.
pub fn note_text(text: &str) -> Option<&str> {
    let rest = text.trim_start();
    let head = rest.get(..5)?;
    if !head.eq_ignore_ascii_case("/note") {
        return None;
    }
    let rest = &rest[5..];
    match rest.chars().next() {
        None => Some(""),
        Some(c) if c.is_whitespace() => Some(rest.trim()),
        Some('@') => Some(
            rest.split_once(char::is_whitespace)
                .map_or("", |(_, t)| t.trim()),
        ),
        Some(_) => None,
    }
}

/// The hint sent for a message that is not a reply.
pub const HINT: &str = "To answer a visitor, reply to their message (swipe left on it). /threads lists recent threads.";

/// The hint in topic mode for a message outside a visitor's topic.
pub const TOPIC_HINT: &str = "To answer a visitor, write in their topic (or reply to their message). /threads lists recent threads.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_recognised_with_or_without_the_bot_name() {
        assert_eq!(note_text("/note call back at 5"), Some("call back at 5"));
        assert_eq!(note_text("/NOTE\nline 1\nline 2 "), Some("line 1\nline 2"));
        assert_eq!(note_text("/note@sohbet_bot vip"), Some("vip"));
        assert_eq!(note_text("/note"), Some(""));
        assert_eq!(note_text("/notes are here"), None);
        assert_eq!(note_text("a /note"), None);
        assert_eq!(note_text("/no"), None);
        assert_eq!(note_text("/nöte x"), None);
    }
}

/// What the handlers share.
#[derive(Clone)]
pub struct Ctx {
    /// The bridge (bot, admin chat, media, console).
    pub tg: Telegram,
    /// The core.
    pub chat: Chat,
    /// The agents (who a Telegram member is, link codes).
    pub auth: crate::auth::Auth,
    /// Who of the admin group may act ([`super::members`]).
    pub members: std::sync::Arc<super::members::Members>,
    /// Outbound email, when `SMTP_URL` is set: `/selftest` checks it too.
    pub mailer: Option<crate::email::Mailer>,
}

impl Ctx {
    /// The agent the sender `user` acts as ([`super::members::acting`]).
    ///
    /// # Errors
    /// [`super::members::Refusal`]: answer its text and do nothing.
    pub async fn acting(
        &self,
        user: Option<&teloxide::types::User>,
    ) -> Result<crate::domain::AgentRef, super::members::Refusal> {
        let private = self.tg.chat_id.0 > 0;
        super::members::acting(&self.members, &self.auth, &self.chat, private, user).await
    }

    /// The one-time link hint for `agent` / `user`, if due
    /// ([`super::members::link_hint`]).
    pub fn link_hint(
        &self,
        agent: &crate::domain::AgentRef,
        user: Option<&teloxide::types::User>,
    ) -> Option<&'static str> {
        super::members::link_hint(&self.members, agent, user)
    }

    /// Links `user` with the code `raw` ([`super::members::link`]); the
    /// answer to send.
    pub async fn link(&self, user: Option<&teloxide::types::User>, raw: &str) -> String {
        super::members::link(&self.members, &self.auth, user, raw).await
    }
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
