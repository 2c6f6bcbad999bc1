//! Thread actions from Telegram (issue 13): presses of the inline buttons
//! ([`super::buttons`], Bot API `callback_query` updates), the commands
//! `/close` `/reopen` `/block` `/unblock`, and the buttons kept up to date.
//! **🙋 Take** and `/take` (issue 22 item 4) assign the thread to the agent
//! the pressing member is linked to; an unlinked member is told
//! [`LINK_TO_TAKE`] and nothing changes.
//!
//! A press is honoured only when the button's message is in the admin chat
//! (`TELEGRAM_CHAT_ID`); any other is refused (answered, nothing changes).
//! The canned-reply buttons are handled by [`super::canned`].
//! Every press is answered with `answerCallbackQuery` (Telegram shows a
//! spinner on the button until then). The buttons themselves are updated
//! (`editMessageReplyMarkup`) for every status or block change, whoever made
//! it (panel, API, socket, command, button, a visitor's reopening message):
//! [`follow`] watches the core's events. Each change is recorded as a
//! thread event named by [`crate::auth::acting`]: the agent the presser
//! or the command's sender is ([`super::members::acting`]; a refused
//! member is answered and nothing changes).

use crate::domain::ThreadId;
use std::sync::Arc;

use teloxide::{
    payloads::{AnswerCallbackQuerySetters, EditMessageReplyMarkupSetters},
    prelude::*,
    types::MessageId,
};
use tokio::sync::mpsc;

use super::{
    Telegram, buttons, canned,
    ctx::{Command, Ctx, HINT, TOPIC_HINT},
};
use crate::{
    auth::acting::{Acting, acting_agent},
    chat::ChatError,
    chat::{
        Chat, ChatEvent,
        status::{Change, ThreadUpdate},
        telegram_links::TelegramLinks,
    },
    domain::AgentRef,
};

/// What an unlinked Telegram member is told when they try to take a thread.
pub const LINK_TO_TAKE: &str = "Link your Telegram account to take threads.";

/// Takes `thread` for `agent`, the agent the Telegram member acts as
/// ([`super::members::acting`]); a member linked to no agent (acting as
/// the support name, no id) is told to link first. Returns the text to
/// answer.
pub(super) async fn take(ctx: &Ctx, agent: &AgentRef, thread: &ThreadId) -> String {
    if agent.id.is_none() {
        return LINK_TO_TAKE.to_owned();
    }
    match ctx.chat.take(thread, agent).await {
        Ok(_) => format!("Assigned to you ({}).", agent.display_name),
        Err(e @ ChatError::Taken(_)) => format!("{e}."),
        Err(ChatError::NotFound(_)) => "That conversation no longer exists.".to_owned(),
        Err(e) => {
            tracing::warn!(error = %e, "a take from Telegram failed");
            "Could not do that right now. Please try again.".to_owned()
        }
    }
}

/// Handles one button press.
// Not `err`: a Bot API error's text can hold the token (reqwest quotes the
// URL); the dispatcher's error handler logs them redacted.
#[tracing::instrument(skip_all)]
pub(super) async fn on_callback(bot: Bot, q: CallbackQuery, ctx: Arc<Ctx>) -> ResponseResult<()> {
    let in_admin_chat = q
        .message
        .as_ref()
        .is_some_and(|m| m.chat().id == ctx.tg.chat_id);
    let text = if !in_admin_chat {
        tracing::warn!("refused a Telegram button press from outside the admin chat");
        "Not allowed here.".to_owned()
    } else {
        let parsed = q.data.as_deref().and_then(buttons::parse);
        let agent = match parsed {
            Some(_) => Some(ctx.acting(Some(&q.from)).await),
            None => None,
        };
        match (parsed, agent) {
            (Some(_), Some(Err(refusal))) => refusal.text().to_owned(),
            (Some(p), Some(Ok(agent))) => {
                if let Some(m) = &q.message {
                    // The pressed message carries this thread's buttons: so
                    // they are updated even when the outbox has not recorded
                    // them yet (the press can beat that record).
                    let id = i64::from(m.id().0);
                    let links = ctx.chat.telegram_links();
                    let res = links.set_buttons(&p.thread, ctx.tg.chat_id.0, id);
                    if let Err(e) = res.await {
                        tracing::debug!(error = %e, "cannot record the pressed buttons");
                    }
                }
                // (The one-time link hint comes with a member's first
                // message or command, not in a button's short answer.)
                match &q.message {
                    Some(m) if canned::handles(p.action) => {
                        canned::press(&bot, &ctx, &agent, m, p).await
                    }
                    _ if p.action == buttons::TAKE => take(&ctx, &agent, &p.thread).await,
                    _ => act(&ctx, &agent, p.action, &p.thread).await,
                }
            }
            _ => "Unknown button.".to_owned(),
        }
    };
    let mut answer = bot.answer_callback_query(q.id);
    if !text.is_empty() {
        answer = answer.text(text);
    }
    let res = answer.await;
    ctx.tg.health.record(res.is_ok());
    if res.is_err() {
        crate::metrics::telegram_error("answerCallbackQuery");
    }
    res.map(|_| ())
}

/// `/close`, `/reopen`, `/block`, `/unblock`: on the thread of the topic
/// the command is written in, or of the message it replies to, as the
/// dispatcher routed it (`thread`: `Err` holds the text routing answers);
/// returns the text to answer.
pub(super) async fn thread_command(
    ctx: &Ctx,
    agent: &AgentRef,
    thread: Result<ThreadId, String>,
    cmd: &Command,
) -> String {
    let thread = match thread {
        Ok(t) => t,
        Err(text) if text == HINT || text == TOPIC_HINT => {
            return "Send this command in a visitor's topic, or as a reply to their message."
                .into();
        }
        Err(text) => return text,
    };
    let chat = &ctx.chat;
    let by = acting_agent(Acting::Agent(agent));
    let (res, done) = match cmd {
        Command::Close => (chat.close(&thread, &by).await, "Conversation closed."),
        Command::Reopen => (chat.reopen(&thread, &by).await, "Conversation reopened."),
        Command::Block => (
            chat.set_blocked(&thread, true, &by).await,
            "Visitor blocked: their messages are refused until /unblock.",
        ),
        _ => (
            chat.set_blocked(&thread, false, &by).await,
            "Visitor unblocked.",
        ),
    };
    super::callbacks::outcome(res, done)
}

/// Runs the action of a button (one arm per callback prefix); returns the
/// text of the answer.
async fn act(ctx: &Ctx, agent: &AgentRef, action: &str, thread: &ThreadId) -> String {
    let chat = &ctx.chat;
    let by = acting_agent(Acting::Agent(agent));
    let (res, done) = match action {
        buttons::CLOSE => (chat.close(thread, &by).await, "Closed."),
        buttons::REOPEN => (chat.reopen(thread, &by).await, "Reopened."),
        buttons::BLOCK => (
            chat.set_blocked(thread, true, &by).await,
            "Visitor blocked.",
        ),
        buttons::UNBLOCK => (
            chat.set_blocked(thread, false, &by).await,
            "Visitor unblocked.",
        ),
        _ => return "Unknown button.".to_owned(),
    };
    outcome(res, done)
}

/// The answer to the admin for the result of a status or block change.
pub(super) fn outcome(res: Result<ThreadUpdate, ChatError>, done: &str) -> String {
    match res {
        Ok(_) => done.to_owned(),
        Err(ChatError::NotFound(_)) => "That conversation no longer exists.".to_owned(),
        Err(e) => {
            tracing::warn!(error = %e, "a thread action from Telegram failed");
            "Could not do that right now. Please try again.".to_owned()
        }
    }
}

/// Runs until the core stops: for every status or block change published
/// by this instance, updates that thread's buttons (and, for an
/// assignment, renames its topic: [`super::topics::rename`]), one at a time and in
/// order (a separate task, so a slow Bot API never holds the core's events
/// up; changes are admin actions, few).
pub async fn follow(tg: Telegram, chat: Chat, mut events: mpsc::Receiver<ChatEvent>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<ThreadUpdate>();
    tokio::spawn(async move {
        while let Some(u) = rx.recv().await {
            if u.change == Some(Change::Assign) {
                super::topics::rename(&tg, &chat, &u.id).await;
            }
            refresh(&tg, chat.telegram_links(), &u).await;
        }
    });
    while let Some(ev) = events.recv().await {
        if let ChatEvent::ThreadUpdated(u) = ev
            && tx.send(u).is_err()
        {
            break;
        }
    }
}

/// Shows `u`'s state on its thread's buttons (`editMessageReplyMarkup`),
/// when the thread has buttons. Failures are logged (a hint, not data).
#[tracing::instrument(skip_all)]
async fn refresh(tg: &Telegram, links: &TelegramLinks, u: &ThreadUpdate) {
    let Ok(Some((chat, message))) = links.buttons(&u.id).await else {
        return;
    };
    let (Some(markup), Ok(message)) = (buttons::keyboard(u), i32::try_from(message)) else {
        return;
    };
    let res = tg
        .bot
        .edit_message_reply_markup(ChatId(chat), MessageId(message))
        .reply_markup(markup)
        .await;
    if let Err(e) = res {
        // "message is not modified" when the buttons already say so.
        tracing::debug!(error = %tg.describe(&e), "editMessageReplyMarkup failed");
    }
}
