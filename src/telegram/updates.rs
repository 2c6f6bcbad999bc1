//! Updates from Telegram (teloxide `Dispatcher`): commands, admin messages
//! that become answers, hints for anything else. Only the admin chat
//! (`TELEGRAM_CHAT_ID`) is listened to; other chats are ignored and logged
//! without their content, except exactly `/start CODE` and `/link CODE` in
//! a private chat (linking a Telegram account to an agent,
//! [`super::members::link`]). Every action in the admin chat is done as the
//! agent its sender is ([`super::members::acting`]).
//!
//! Routing an admin message to its thread: in a visitor's forum topic, any
//! message goes to that visitor (reply or not); elsewhere (a private chat,
//! a plain group, the General topic) a reply to a linked message does.
//! The bot's own answers (hints, errors) go to the topic they answer.
//! `/note <text>` (in a topic, or as a reply) is stored as the thread's
//! internal note instead: agents see it, the visitor never does. An edit of
//! an answer (`edited_message`) is relayed by [`super::edits`].

use crate::domain::ThreadId;
use std::{sync::Arc, time::Duration};

use teloxide::{
    dispatching::{HandlerExt, UpdateFilterExt, UpdateHandler},
    prelude::*,
    types::MessageKind,
    update_listeners::Polling,
    utils::command::BotCommands,
};
use tokio::sync::{Mutex, watch};

use super::{
    Telegram,
    ctx::{Command, Ctx, HINT, TOPIC_HINT, answer, note_text, topic_of},
    webhook::WebhookListener,
};
use crate::{
    auth::Actor,
    chat::ChatError,
    chat::{PostRequest, TelegramLink},
    domain::MessageType,
};

/// How long a stop waits for the dispatcher's last long poll.
pub const STOP_BUDGET: Duration = Duration::from_secs(2);

/// Stops the dispatcher from outside.
#[derive(Clone, Default)]
pub struct Stopper(Arc<Mutex<Option<teloxide::dispatching::ShutdownToken>>>);

impl Stopper {
    /// Asks the dispatcher to stop and waits until it did.
    pub async fn stop(&self) {
        let token = self.0.lock().await.clone();
        if let Some(t) = token
            && let Ok(done) = t.shutdown()
        {
            let _ = tokio::time::timeout(STOP_BUDGET, done).await;
        }
    }
}

fn handler() -> UpdateHandler<teloxide::RequestError> {
    // These update kinds are listened to: the dispatcher asks for exactly
    // these (`allowed_updates` of getUpdates; the webhook sets the same).
    dptree::entry()
        .branch(Update::filter_callback_query().endpoint(super::callbacks::on_callback))
        .branch(messages())
        .branch(Update::filter_edited_message().endpoint(super::edits::on_edit))
}

fn messages() -> UpdateHandler<teloxide::RequestError> {
    Update::filter_message()
        .branch(
            dptree::filter(|msg: Message, ctx: Arc<Ctx>| {
                msg.chat.id != ctx.tg.chat_id
                    && msg.chat.is_private()
                    && msg.text().and_then(super::members::link_request).is_some()
            })
            .endpoint(private_link),
        )
        .branch(
            dptree::filter(|msg: Message, ctx: Arc<Ctx>| msg.chat.id != ctx.tg.chat_id)
                .endpoint(foreign),
        )
        .branch(
            dptree::filter(|msg: Message| !matches!(msg.kind, MessageKind::Common(_)))
                .endpoint(service),
        )
        .branch(
            dptree::entry()
                .filter_command::<Command>()
                .endpoint(command),
        )
        .branch(dptree::endpoint(message))
}

/// Runs the dispatcher until `stop` (retrying its start while Telegram is
/// unreachable). `listener` is the webhook's; `None` means long polling.
pub(crate) async fn run(
    ctx: Ctx,
    listener: Option<WebhookListener>,
    stopper: Stopper,
    mut stop: watch::Receiver<bool>,
) {
    let tg = ctx.tg.clone();
    let ctx = Arc::new(ctx);
    let mut listener = listener;
    let mut delay = Duration::from_millis(500);
    while !*stop.borrow() {
        // The dispatcher needs `getMe` to start: wait for Telegram first, so
        // that an outage at start-up only delays the bridge.
        let me = tg.bot.get_me().await;
        tg.health.record(me.is_ok());
        if let Ok(me) = &me {
            tg.set_username(me);
        }
        if me.is_err() {
            crate::metrics::telegram_error("getMe");
        }
        if let Err(e) = me {
            tracing::warn!(error = %tg.describe(&e), "Telegram not reachable (getMe); retrying");
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = stop.changed() => {}
            }
            delay = (delay * 2).min(Duration::from_secs(30));
            continue;
        }
        if tg.console.report().is_none() {
            let report = super::selftest::run(&tg, ctx.chat.outbox()).await;
            if !report.all_ok() {
                tracing::warn!(report = %report.text(), "Telegram self-test found problems");
            }
        }
        let mut dispatcher = Dispatcher::builder(tg.bot.clone(), handler())
            .dependencies(dptree::deps![ctx.clone()])
            .default_handler(|_upd| async {})
            .error_handler(Arc::new(LogErrors(tg.clone())))
            .build();
        *stopper.0.lock().await = Some(dispatcher.shutdown_token());
        let eh = Arc::new(LogErrors(tg.clone()));
        let webhook = listener.take();
        let is_webhook = webhook.is_some();
        let res = match webhook {
            Some(rx) => {
                dispatcher
                    .try_dispatch_with_listener(super::webhook::listener(rx), eh)
                    .await
            }
            None => {
                let polling = Polling::builder(tg.bot.clone())
                    .timeout(Duration::from_secs(25))
                    .delete_webhook()
                    .await
                    .build();
                dispatcher.try_dispatch_with_listener(polling, eh).await
            }
        };
        match res {
            Ok(()) => break,
            Err(e) if is_webhook => {
                tracing::error!(error = %tg.redact(&e.to_string()), "Telegram webhook dispatcher failed to start");
                break;
            }
            Err(e) => {
                tg.health.record(false);
                tracing::warn!(error = %tg.redact(&e.to_string()), "Telegram dispatcher could not start; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        }
    }
    tracing::info!("Telegram dispatcher stopped");
}

struct LogErrors(Telegram);

impl<E: std::fmt::Display + Send + Sync + 'static> teloxide::error_handlers::ErrorHandler<E>
    for LogErrors
{
    fn handle_error(
        self: Arc<Self>,
        error: E,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        // A Bot API error goes through `describe` (an unreadable answer
        // would otherwise be quoted, with the message in it).
        let text = match (&error as &dyn std::any::Any).downcast_ref::<teloxide::RequestError>() {
            Some(e) => {
                // Listener (`getUpdates`) and handler errors share this handler.
                crate::metrics::telegram_error("getUpdates/handler");
                self.0.describe(e)
            }
            None => self.0.redact(&error.to_string()),
        };
        Box::pin(async move {
            tracing::warn!(error = %text, "Telegram update handling failed");
        })
    }
}

async fn foreign(msg: Message) -> ResponseResult<()> {
    tracing::warn!(
        chat_id = msg.chat.id.0,
        "ignored a Telegram update from a foreign chat"
    );
    Ok(())
}

/// `/start CODE` or `/link CODE` in a private chat: links its user.
#[tracing::instrument(skip_all, fields(message_id = msg.id.0))]
async fn private_link(bot: Bot, msg: Message, ctx: Arc<Ctx>) -> ResponseResult<()> {
    let code = msg
        .text()
        .and_then(super::members::link_request)
        .unwrap_or_default();
    let text = ctx.link(msg.from.as_ref(), code).await;
    answer(&bot, &msg, text).await
}

// Not `err`: a Bot API error's text can hold the token (reqwest quotes the
// URL); `LogErrors` logs them redacted.
#[tracing::instrument(skip_all, fields(message_id = msg.id.0))]
async fn command(bot: Bot, msg: Message, cmd: Command, ctx: Arc<Ctx>) -> ResponseResult<()> {
    let text = match cmd {
        Command::Start(code) | Command::Link(code) if !code.trim().is_empty() => {
            ctx.link(msg.from.as_ref(), &code).await
        }
        Command::Link(_) => {
            "Send /link CODE with the code the panel shows (Team → Link Telegram).".into()
        }
        Command::Help | Command::Start(_) => format!("{}\n\n{HINT}", Command::descriptions()),
        Command::Threads => threads_text(&ctx).await,
        Command::Selftest => {
            let mut text = super::selftest::run(&ctx.tg, ctx.chat.outbox())
                .await
                .text();
            // Issue 26: the SMTP check (connect, EHLO, TLS, AUTH) joins the
            // bridge's when email is on, in the same one-line form.
            if let Some(mailer) = &ctx.mailer {
                let c = mailer.self_test().await;
                let mark = if c.ok { '✓' } else { '✗' };
                text.push_str(&format!("{mark} email (SMTP): {}\n", c.detail));
                if let Some(fix) = &c.fix {
                    text.push_str(&format!("   → {fix}\n"));
                }
            }
            text
        }
        Command::Take => match ctx.acting(msg.from.as_ref()).await {
            Err(refusal) => refusal.text().to_owned(),
            Ok(agent) => match route(&ctx, &msg).await {
                Ok(thread) => super::callbacks::take(&ctx, &agent, &thread).await,
                Err(text) if text == HINT || text == TOPIC_HINT => {
                    "Send this command in a visitor's topic, or as a reply to their message.".into()
                }
                Err(text) => text,
            },
        },
        Command::Close | Command::Reopen | Command::Block | Command::Unblock => {
            match ctx.acting(msg.from.as_ref()).await {
                Ok(agent) => {
                    let thread = route(&ctx, &msg).await;
                    let done = super::callbacks::thread_command(&ctx, &agent, thread, &cmd).await;
                    answer(&bot, &msg, done).await?;
                    return hint(&bot, &ctx, &agent, &msg).await;
                }
                Err(refusal) => refusal.text().to_owned(),
            }
        }
        // Stored as the thread's internal note; silent when it worked (the
        // agent's own message stays in the topic), like an answer.
        Command::Note(text) => {
            let agent = match ctx.acting(msg.from.as_ref()).await {
                Ok(agent) => agent,
                Err(refusal) => return answer(&bot, &msg, refusal.text().to_owned()).await,
            };
            let stored = match route(&ctx, &msg).await {
                Ok(thread) => {
                    let content = (MessageType::Text, text, None);
                    store(&ctx, &agent, &msg, thread, content, true).await
                }
                Err(text) => Err(text),
            };
            match stored {
                Ok(()) => return hint(&bot, &ctx, &agent, &msg).await,
                Err(text) => text,
            }
        }
    };
    let res = answer(&bot, &msg, text).await;
    ctx.tg.health.record(res.is_ok());
    if res.is_err() {
        crate::metrics::telegram_error("sendMessage");
    }
    res
}

/// Service messages: a visitor's topic closed or reopened by hand is
/// recorded (a closed one is reopened at the visitor's next message);
/// everything else (topic created or renamed, members joining) is ignored.
// Not `err`: a Bot API error's text can hold the token (reqwest quotes the
// URL); `LogErrors` logs them redacted.
#[tracing::instrument(skip_all, fields(message_id = msg.id.0))]
async fn service(msg: Message, ctx: Arc<Ctx>) -> ResponseResult<()> {
    let closed = match &msg.kind {
        MessageKind::ForumTopicClosed(_) => true,
        MessageKind::ForumTopicReopened(_) => false,
        _ => return Ok(()),
    };
    if let Some(t) = topic_of(&msg) {
        let id = i64::from(t.0.0);
        let links = ctx.chat.telegram_links();
        if let Err(e) = links.set_topic_closed(ctx.tg.chat_id.0, id, closed).await {
            tracing::warn!(error = %e, "cannot record a topic closed or reopened");
        }
    }
    Ok(())
}

/// The thread of the message replied to. A forward is linked only once the
/// outbox has recorded Telegram's answer, a moment after Telegram showed it:
/// a reply to one of the bot's own messages that is not linked yet is looked
/// up again for up to 2 s before it is called unknown.
async fn thread_of_reply(
    ctx: &Ctx,
    tg_message_id: i64,
    to_bot: bool,
) -> Result<Option<ThreadId>, crate::chat::ChatError> {
    let tries = if to_bot { 10 } else { 1 };
    for i in 0..tries {
        let links = ctx.chat.telegram_links();
        if let Some(t) = links
            .thread_of_message(ctx.tg.chat_id.0, tg_message_id)
            .await?
        {
            return Ok(Some(t));
        }
        if i + 1 < tries {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(None)
}

async fn threads_text(ctx: &Ctx) -> String {
    match ctx
        .chat
        .threads(
            crate::chat::ListFilter::Open,
            crate::domain::AssigneeFilter::All,
        )
        .await
    {
        Ok(list) if list.is_empty() => "No threads yet.".into(),
        Ok(list) => {
            let lines: Vec<String> = list
                .iter()
                .take(10)
                .map(|t| {
                    let last = t
                        .last_message
                        .as_ref()
                        .map(|m| match m.content_type {
                            MessageType::Image => "📷 image".to_owned(),
                            MessageType::Audio => "🎤 audio".to_owned(),
                            MessageType::Text => m.content_text.chars().take(40).collect(),
                        })
                        .unwrap_or_default();
                    let unread = if t.unread_count > 0 {
                        format!(" · {} unread", t.unread_count)
                    } else {
                        String::new()
                    };
                    format!("• {}{unread}\n  {last}", t.thread.display_name)
                })
                .collect();
            format!("Recent threads:\n{}", lines.join("\n"))
        }
        Err(_) => "Could not read the threads right now.".into(),
    }
}

/// The thread an admin message is for: its topic's visitor, else the
/// thread of the message it replies to. `Err(text)` answers the admin.
pub(super) async fn route(ctx: &Ctx, msg: &Message) -> Result<ThreadId, String> {
    if let Some(topic) = topic_of(msg) {
        let links = ctx.chat.telegram_links();
        // Only a topic of this chat: ids are per chat, so a topic kept from
        // a former TELEGRAM_CHAT_ID never routes here.
        match links
            .thread_of_topic(ctx.tg.chat_id.0, i64::from(topic.0.0))
            .await
        {
            Ok(Some(t)) => return Ok(t),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "cannot look up a topic");
                return Err(
                    "Could not deliver your reply (database unavailable). Please send it again."
                        .into(),
                );
            }
        }
    }
    // A message in a topic "replies" to the topic's first message; only a
    // reply to something else is a real reply.
    let parent = msg
        .reply_to_message()
        .filter(|p| topic_of(msg).is_none_or(|t| p.id != t.0));
    let Some(parent) = parent else {
        return Err(if ctx.tg.console.topics_on() {
            TOPIC_HINT.into()
        } else {
            HINT.into()
        });
    };
    match thread_of_reply(
        ctx,
        i64::from(parent.id.0),
        parent.from.as_ref().is_some_and(|u| u.is_bot),
    )
    .await
    {
        Ok(Some(t)) => Ok(t),
        Ok(None) => Err(
            "I don't know which visitor that message belongs to. Reply to a forwarded visitor message."
                .into(),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "cannot look up a Telegram reply");
            Err("Could not deliver your reply (database unavailable). Please send it again.".into())
        }
    }
}

// Not `err`: a Bot API error's text can hold the token (reqwest quotes the
// URL); `LogErrors` logs them redacted.
#[tracing::instrument(skip_all, fields(message_id = msg.id.0))]
async fn message(bot: Bot, msg: Message, ctx: Arc<Ctx>) -> ResponseResult<()> {
    let reply = |text: String| {
        let bot = bot.clone();
        let msg = msg.clone();
        async move { answer(&bot, &msg, text).await }
    };
    let agent = match ctx.acting(msg.from.as_ref()).await {
        Ok(agent) => agent,
        Err(refusal) => return reply(refusal.text().to_owned()).await,
    };
    let thread = match route(&ctx, &msg).await {
        Ok(t) => t,
        Err(text) => return reply(text).await,
    };
    let (kind, text, file_url) = match super::incoming::media(&ctx.tg, &msg).await {
        Ok(Some((kind, url))) => (kind, msg.caption().unwrap_or("").to_owned(), Some(url)),
        Ok(None) => match msg.text() {
            Some(t) => (MessageType::Text, t.to_owned(), None),
            None => {
                return reply(
                    "Only text, photos, voice notes, audio files and image or audio documents can be sent to visitors."
                        .into(),
                )
                .await;
            }
        },
        Err(e) => return reply(e).await,
    };
    // A `/note` the command parse did not take (a caption, another
    // spelling of the bot's name) is still a note: never the visitor's.
    let (text, internal) = match note_text(&text) {
        Some(note) => (note.to_owned(), true),
        None => (text, false),
    };
    match store(&ctx, &agent, &msg, thread, (kind, text, file_url), internal).await {
        Ok(()) => hint(&bot, &ctx, &agent, &msg).await,
        Err(text) => reply(text).await,
    }
}

/// Sends the one-time link hint ([`super::members::link_hint`]) as its own
/// message, when it is due for the sender of `msg`.
async fn hint(
    bot: &Bot,
    ctx: &Ctx,
    agent: &crate::domain::AgentRef,
    msg: &Message,
) -> ResponseResult<()> {
    match ctx.link_hint(agent, msg.from.as_ref()) {
        Some(text) => answer(bot, msg, text.to_owned()).await,
        None => Ok(()),
    }
}

/// Stores the admin's Telegram message `msg` in `thread` as an answer, or
/// as an internal note with `internal`, written by `agent`. `Err(text)`
/// answers the admin.
async fn store(
    ctx: &Ctx,
    agent: &crate::domain::AgentRef,
    msg: &Message,
    thread: ThreadId,
    (kind, text, file_url): (MessageType, String, Option<String>),
    internal: bool,
) -> Result<(), String> {
    let req = PostRequest {
        thread_id: Some(thread),
        text,
        kind,
        file_url,
        // A redelivered update (webhook retry) stores nothing twice.
        client_id: Some(format!("tg:{}:{}", msg.chat.id.0, msg.id.0)),
        internal,
        // Written here: not mirrored back into the topic.
        from_telegram: true,
        // Linked in the reply's own transaction: a reply to it reaches the
        // thread, and the visitor's receipts are shown on it (never on a note).
        telegram_link: Some(TelegramLink {
            chat_id: ctx.tg.chat_id.0,
            message_id: i64::from(msg.id.0),
        }),
    };
    let actor = Actor::Admin {
        own: None,
        agent: agent.clone(),
    };
    match ctx.chat.post(&actor, req).await {
        Ok(_) => {
            note_author(ctx, msg).await;
            Ok(())
        }
        Err(ChatError::Validation(why)) => Err(format!("Not sent: {why}")),
        Err(e) => {
            tracing::warn!(error = %e, "cannot store an admin reply from Telegram");
            Err("Could not deliver your reply right now. Please send it again.".into())
        }
    }
}

/// Records who wrote `msg`, just stored as an answer (or note), on its link:
/// only that Telegram user's edits of it are relayed ([`super::edits`]). A
/// failure is logged; that answer's edits are then ignored.
async fn note_author(ctx: &Ctx, msg: &Message) {
    let Some(from) = msg.from.as_ref().and_then(|u| i64::try_from(u.id.0).ok()) else {
        return;
    };
    let links = ctx.chat.telegram_links();
    if let Err(e) = links
        .note_author(ctx.tg.chat_id.0, i64::from(msg.id.0), from)
        .await
    {
        tracing::warn!(error = %e, "cannot record the author of an answer (its edits will be ignored)");
    }
}
