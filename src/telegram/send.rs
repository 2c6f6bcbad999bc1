//! One forward's send, shared by the outbox worker ([`super::outbox`]:
//! a head forward alone, [`deliver`]) and the coalesced forward
//! ([`super::coalesce`]): what an attempt ends with ([`Outcome`]), the
//! first forward's context line and buttons, the `/health` record of a
//! send, and what a failed send turns into (a topic found gone is
//! forgotten or marked closed here). It decides nothing about order,
//! pacing or retries: the worker does.

use crate::domain::ThreadId;
use std::time::Duration;

use teloxide::{RequestError, types::InputFile};

use super::{
    Telegram, format,
    parts::{Part, Source, media_of, media_part, send, texts},
    topics::{self, Gone, TopicError},
};
use crate::chat::{Chat, outbox::OutboxItem};

/// What one attempt at a forward ended with.
pub(super) enum Outcome {
    Sent,
    /// Telegram asked to wait (429).
    Throttled(Duration),
    /// Network, 5xx, bad answer: retry later.
    Transient(String),
    /// The Bot API refused it (4xx).
    Refused(String),
    /// It can never be sent (its local file is gone): give up now.
    Permanent(String),
    /// The database failed (its error, kept for the log): try again later.
    Store(Box<dyn std::error::Error + Send + Sync>),
    /// The thread's topic was deleted or closed by hand: it was forgotten
    /// or marked closed; try again at once (a new topic, or reopened).
    TopicGone,
    /// An agent's message, and the admin chat has no topics: not mirrored.
    NoTopic,
    /// The claim before a send failed: this instance lost the sender's
    /// lock (or the row changed under it); the batch is aborted.
    LeaseLost,
}

/// The text recorded for a local media file that is gone.
const MISSING_FILE: &str = "the media file is missing from UPLOAD_DIR (never uploaded, or removed)";

/// Sends what is left of one forward (`item`): its media first, then its
/// texts in parts, each part recorded right after Telegram accepted it.
pub(super) async fn deliver(tg: &Telegram, chat: &Chat, item: &OutboxItem) -> Outcome {
    // The shape (media or not, how many texts) comes from the row alone, so
    // `parts_sent` counts the same list on every try.
    let media = media_of(tg, item);
    // The thread's first forward ends with one line of visitor context (issue 14).
    let with_context = context_line(chat, item).await.map(|line| OutboxItem {
        content_text: Some(format::with_context(
            item.content_text.as_deref().unwrap_or(""),
            Some(&line),
        )),
        ..item.clone()
    });
    let (caption, rest) = texts(with_context.as_ref().unwrap_or(item), media.is_some());
    let offset = usize::from(media.is_some());
    let total = offset + rest.len();
    let done = usize::try_from(item.parts_sent).unwrap_or(0);
    if done >= total {
        // Nothing left (should not happen: the last part marks the row
        // `sent`). Settle it here, else it would stay due and spin.
        return match chat.outbox().sent(item.id).await {
            Ok(()) => Outcome::Sent,
            Err(e) => Outcome::Store(e.into()),
        };
    }
    let topic = match topics::prepare(tg, chat, item).await {
        Ok(t) => t,
        Err(e) => return e.into(),
    };
    // An agent's answer or note is mirrored into the thread's topic only;
    // in reply mode the admin chat gets nothing new.
    if topic.is_none() && item.is_agents() {
        return Outcome::NoTopic;
    }
    let mut all: Vec<(usize, Part)> = Vec::with_capacity(total - done);
    // The media is always the first part: once sent, it is not read again.
    if done == 0
        && let Some(src) = media
    {
        let file = match src {
            Source::Local(path) => match tokio::fs::try_exists(&path).await {
                Ok(true) => InputFile::file(path),
                Ok(false) => return Outcome::Permanent(MISSING_FILE.into()),
                Err(e) => return Outcome::Transient(format!("cannot read the media file: {e}")),
            },
            Source::Remote(url) => InputFile::url(url),
        };
        all.push((0, media_part(item, file, caption.unwrap_or_default())));
    }
    all.extend(
        rest.into_iter()
            .enumerate()
            .map(|(j, t)| (j + offset, Part::Text(t)))
            .filter(|(i, _)| *i >= done),
    );
    // The thread's first forward carries its buttons (issue 13).
    let mut markup = match done {
        0 if !item.is_agents() => first_buttons(tg, chat, &item.thread_id).await,
        _ => None,
    };
    for (i, part) in all {
        let with_buttons = markup.is_some();
        // Fenced: only while this instance still owns the row (issue 24).
        if !chat.outbox().claim(item, i as i32).await {
            return Outcome::LeaseLost;
        }
        let res = send(tg, part, topic, markup.take()).await;
        record_health(tg, &res);
        match res {
            Ok(tg_id) => {
                let last = i + 1 == total;
                let outbox = chat.outbox();
                if let Err(e) = outbox
                    .part_sent(item, i as i32, last, tg.chat_id.0, tg_id)
                    .await
                {
                    // Sent but not recorded: the next try resends this one part.
                    return Outcome::Store(e.into());
                }
                if with_buttons {
                    buttons_sent(tg, chat, &item.thread_id, tg_id).await;
                }
            }
            Err(e) => return failed(tg, chat, item, topic, e).await,
        }
    }
    Outcome::Sent
}

/// The line of visitor context that ends a thread's first forward (issue
/// 14), when `item` is that forward and something is known; `None` for an
/// agent's message, any later forward, or when the database does not
/// answer (the message matters more).
pub(super) async fn context_line(chat: &Chat, item: &OutboxItem) -> Option<String> {
    let id = item.message_id.filter(|_| !item.is_agents())?;
    chat.outbox()
        .first_forward_context(&item.thread_id, id)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(outbox_id = %item.id, error = %e, "cannot read the visitor context");
            None
        })
        .and_then(|c| format::context_line(&c))
}

/// Records on `/health` whether Telegram answered a send.
pub(super) fn record_health<T>(tg: &Telegram, res: &Result<T, RequestError>) {
    tg.health.record(!matches!(
        res,
        Err(RequestError::Network(_) | RequestError::InvalidJson { .. } | RequestError::Io(_))
    ));
}

/// What a send of `item` to `topic` that failed with `e` ends with.
pub(super) async fn failed(
    tg: &Telegram,
    chat: &Chat,
    item: &OutboxItem,
    topic: Option<teloxide::types::ThreadId>,
    e: RequestError,
) -> Outcome {
    match e {
        RequestError::RetryAfter(s) => Outcome::Throttled(s.duration()),
        e if topic.is_some() && topics::gone(&e).is_some() => {
            let used = topic.map(|t| i64::from(t.0.0));
            topic_gone(tg, chat, item, used, topics::gone(&e)).await
        }
        RequestError::Api(e) => Outcome::Refused(tg.redact(&e.to_string())),
        RequestError::MigrateToChatId(_) => Outcome::Refused(
            "the admin chat migrated to a supergroup: update TELEGRAM_CHAT_ID".into(),
        ),
        RequestError::Io(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Outcome::Permanent(MISSING_FILE.into())
        }
        e => Outcome::Transient(tg.describe(&e)),
    }
}

impl From<TopicError> for Outcome {
    fn from(e: TopicError) -> Outcome {
        match e {
            TopicError::Throttled(d) => Outcome::Throttled(d),
            TopicError::Transient(e) => Outcome::Transient(e),
            TopicError::Refused(e) => Outcome::Refused(e),
            TopicError::Store(e) => Outcome::Store(e),
        }
    }
}

/// Records that Telegram message `tg_id` carries the buttons of
/// `thread_id` (a failure is logged: buttons are a convenience).
pub(super) async fn buttons_sent(tg: &Telegram, chat: &Chat, thread_id: &ThreadId, tg_id: i64) {
    let links = chat.telegram_links();
    if let Err(e) = links.set_buttons(thread_id, tg.chat_id.0, tg_id).await {
        tracing::warn!(error = %e, "cannot record a thread's Telegram buttons");
    }
}

/// The buttons for a forward of `thread_id`: its state's keyboard when the
/// thread has no buttons in the admin chat yet (its first forward there),
/// else `None` (also when the database does not answer: buttons are a
/// convenience).
pub(super) async fn first_buttons(
    tg: &Telegram,
    chat: &Chat,
    thread_id: &ThreadId,
) -> Option<teloxide::types::InlineKeyboardMarkup> {
    let failed = |e: &dyn std::fmt::Display| {
        tracing::warn!(error = %e, "cannot read a thread's buttons; forwarding without them");
    };
    match chat.telegram_links().buttons(thread_id).await {
        Ok(None) => {}
        Ok(Some((c, _))) if c != tg.chat_id.0 => {}
        Ok(Some(_)) => return None,
        Err(e) => {
            failed(&e);
            return None;
        }
    }
    let thread = chat.thread(thread_id).await.unwrap_or_else(|e| {
        failed(&e);
        None
    })?;
    super::buttons::keyboard(&crate::chat::status::ThreadUpdate::of(&thread))
}

/// The topic `used` for `item` (the one the send went to, which may have
/// just been created) was found deleted or closed: forget it (a new one is
/// created at the next try) or mark it closed (reopened then).
async fn topic_gone(
    tg: &Telegram,
    chat: &Chat,
    item: &OutboxItem,
    used: Option<i64>,
    why: Option<Gone>,
) -> Outcome {
    let links = chat.telegram_links();
    let res = match (why, used) {
        (Some(Gone::Closed), Some(id)) => links
            .set_topic_closed(tg.chat_id.0, id, true)
            .await
            .map(|_| ()),
        _ => links.forget_topic(&item.thread_id).await,
    };
    match res {
        Ok(()) => {
            tracing::info!(outbox_id = %item.id, closed = ?why, "a thread's topic is gone; trying again");
            Outcome::TopicGone
        }
        Err(e) => Outcome::Store(e.into()),
    }
}
