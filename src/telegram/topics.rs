//! Topic mode: one forum topic per thread in the admin supergroup
//! (Bot API `createForumTopic`, `editForumTopic`, `reopenForumTopic`).
//! A topic's name shows its thread's assignee ([`rename`] on every
//! assignment).
//! The topic id is stored with the thread (`threads.tg_topic_id`), so a
//! restart or another instance keeps the mapping. Before a forward goes
//! out, [`prepare`] makes sure the thread's topic exists, is open and has
//! the wanted name; a send that finds the topic deleted or closed by hand
//! ([`gone`]) makes the outbox forget or reopen it and try again.
//!
//! Every call here is paced with the forwards (a topic's creation is a
//! message in the group too).
//!
//! **A topic belongs to its chat.** Topic ids are message ids, numbered per
//! chat; the chat a topic was created in is stored with it
//! (`threads.tg_topic_chat_id`). A thread whose topic is in another chat
//! (`TELEGRAM_CHAT_ID` changed) or in an unknown one gets a new topic in
//! the admin chat, and the admin's messages are routed by (chat, topic).
//!
//! **A refused `createForumTopic`** turns topic mode off (until the next
//! self-test, which then reports why) only when Telegram says topics cannot
//! work in this chat ([`topics_impossible`]: not a forum, no right to manage
//! topics). Anything else is retried for that thread like a failed send:
//! 429 after `retry_after`, network errors and 5xx with back-off, other
//! refusals a few times ([`super::outbox::MAX_REFUSALS`]).

use std::time::Duration;

use teloxide::{
    RequestError,
    payloads::EditForumTopicSetters,
    prelude::Requester,
    types::{MessageId, ThreadId},
};

use super::Telegram;
use crate::chat::{Chat, outbox::OutboxItem};

/// Longest topic name (Bot API `createForumTopic`: 1–128 characters,
/// counted like every Telegram length in UTF-16 code units).
pub const NAME_LIMIT: usize = 128;

/// Why a topic could not be prepared.
#[derive(Debug)]
pub enum TopicError {
    /// 429: wait this long.
    Throttled(Duration),
    /// Network, 5xx: retry later.
    Transient(String),
    /// A refusal that is not about topics (e.g. "chat not found"): retried
    /// like a refused send.
    Refused(String),
    /// The database failed (its error, kept for the log).
    Store(Box<dyn std::error::Error + Send + Sync>),
}

/// What a send error says about the thread's topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gone {
    /// Deleted (or never existed in this chat): create a new one.
    Deleted,
    /// Closed by hand: reopen it.
    Closed,
}

/// Classifies a Bot API refusal of a send into a topic ("message thread
/// not found", `TOPIC_DELETED`, `TOPIC_ID_INVALID`, `TOPIC_CLOSED`).
pub fn gone(e: &RequestError) -> Option<Gone> {
    let RequestError::Api(api) = e else {
        return None;
    };
    let text = api.to_string().to_ascii_lowercase();
    if text.contains("topic_closed") {
        Some(Gone::Closed)
    } else if text.contains("thread not found")
        || text.contains("topic_deleted")
        || text.contains("topic_id_invalid")
    {
        Some(Gone::Deleted)
    } else {
        None
    }
}

/// The topic name of a thread: its display name, its assignee's name when
/// assigned (issue 22 item 4) and, once the visitor's page is known (issue
/// 14's context), that page's host and path, e.g. `Visitor 3F2A · Ayşe ·
/// shop.example/pricing`; cut to [`NAME_LIMIT`] UTF-16 units
/// ([`super::format::cut`], as message texts are).
pub fn topic_name(display_name: &str, assignee: Option<&str>, page_url: Option<&str>) -> String {
    let display = display_name.trim();
    let display = if display.is_empty() {
        "Visitor"
    } else {
        display
    };
    let mut name = display.to_owned();
    if let Some(a) = assignee.map(str::trim).filter(|a| !a.is_empty()) {
        name = format!("{name} · {a}");
    }
    if let Some(page) = page_url.and_then(page_label) {
        name = format!("{name} · {page}");
    }
    super::format::cut(&name, NAME_LIMIT).to_owned()
}

/// Whether a refusal of `createForumTopic` means topics cannot work in the
/// admin chat, as Telegram words it (Bot API error descriptions): "the chat
/// is not a forum", "not enough rights to create a topic" / "… to manage
/// topics", `CHAT_ADMIN_REQUIRED`, "method is available only for
/// supergroups"; or the chat became a supergroup with another id
/// (`migrate_to_chat_id`).
pub fn topics_impossible(e: &RequestError) -> bool {
    match e {
        RequestError::MigrateToChatId(_) => true,
        RequestError::Api(api) => {
            let text = api.to_string().to_ascii_lowercase();
            [
                "not a forum",
                "not enough rights",
                "chat_admin_required",
                "only for supergroups",
            ]
            .iter()
            .any(|k| text.contains(k))
        }
        _ => false,
    }
}

/// A 4xx refusal (`Bad Request`, `Forbidden`, `Unauthorized`), as opposed
/// to an error answer of a failing server ("Internal Server Error", which
/// teloxide reports as an unknown API error too).
fn is_refusal(e: &RequestError) -> bool {
    let RequestError::Api(api) = e else {
        return false;
    };
    let text = api.to_string().to_ascii_lowercase();
    ["bad request", "forbidden", "unauthorized"]
        .iter()
        .any(|k| text.contains(k))
}

/// `host/path` of an http(s) URL, without query or fragment (they can
/// carry tokens); `None` for anything else.
fn page_label(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let label = super::format::without_query(rest).trim_end_matches('/');
    (!label.is_empty()).then(|| label.to_owned())
}

fn classify(tg: &Telegram, e: &RequestError) -> Result<(), TopicError> {
    match e {
        RequestError::RetryAfter(s) => Err(TopicError::Throttled(s.duration())),
        RequestError::Api(_) | RequestError::MigrateToChatId(_) => Ok(()),
        other => Err(TopicError::Transient(tg.describe(other))),
    }
}

/// The topic a forward of `item` goes to: `Ok(None)` without topic mode
/// (or when the bot turned out unable to create topics: topic mode is then
/// off until the next self-test, and the forward goes to the chat itself).
///
/// # Errors
/// [`TopicError`]: the forward is retried later.
#[tracing::instrument(skip_all, fields(thread_id = %item.thread_id))]
pub async fn prepare(
    tg: &Telegram,
    chat: &Chat,
    item: &OutboxItem,
) -> Result<Option<ThreadId>, TopicError> {
    if !tg.console.topics_on() {
        return Ok(None);
    }
    // The page is a nicety: without it (or when it cannot be read) the
    // topic is named by the display name alone.
    let page = chat
        .visitors()
        .get(&item.thread_id)
        .await
        .ok()
        .flatten()
        .and_then(|c| c.page_url);
    let wanted = topic_name(
        item.display_name.as_deref().unwrap_or("Visitor"),
        item.assignee_name.as_deref(),
        page.as_deref(),
    );
    // A topic of another chat (TELEGRAM_CHAT_ID changed) or of an unknown
    // one is not this thread's topic here: its id may be another visitor's
    // topic in this chat.
    let Some(id) = item
        .tg_topic_id
        .filter(|_| item.tg_topic_chat_id == Some(tg.chat_id.0))
    else {
        return create(tg, chat, &item.thread_id, &wanted).await;
    };
    let topic = ThreadId(MessageId(i32::try_from(id).unwrap_or_default()));
    if item.tg_topic_closed.unwrap_or(0) != 0 {
        let res = {
            let turn = tg.console.pace.turn().await;
            let r = tg.bot.reopen_forum_topic(tg.chat_id, topic).await;
            turn.done();
            r
        };
        match res {
            Ok(_) => {}
            Err(e) if gone(&e) == Some(Gone::Deleted) => {
                return create(tg, chat, &item.thread_id, &wanted).await;
            }
            Err(e) => {
                classify(tg, &e)?;
                // TOPIC_NOT_MODIFIED (already open) and other refusals: go on.
                tracing::warn!(error = %tg.describe(&e), "reopenForumTopic refused");
            }
        }
        chat.telegram_links()
            .set_topic_closed(tg.chat_id.0, id, false)
            .await
            .map_err(|e| TopicError::Store(e.into()))?;
        tracing::info!("reopened a closed topic");
    }
    if item.tg_topic_name.as_deref() != Some(wanted.as_str()) {
        let res = {
            let turn = tg.console.pace.turn().await;
            let r = tg
                .bot
                .edit_forum_topic(tg.chat_id, topic)
                .name(wanted.clone())
                .await;
            turn.done();
            r
        };
        if let Err(e) = &res {
            classify(tg, e)?;
            tracing::warn!(error = %tg.describe(e), "editForumTopic refused");
        }
        chat.telegram_links()
            .set_topic_name(&item.thread_id, &wanted)
            .await
            .map_err(|e| TopicError::Store(e.into()))?;
    }
    Ok(Some(topic))
}

/// Renames thread `thread_id`'s topic (when it has one in the admin chat)
/// to show its assignee now (`editForumTopic`, paced with the forwards),
/// and records the name. A refusal or a 429 is logged: the next forward's
/// [`prepare`] tries again, since the recorded name then differs.
#[tracing::instrument(skip_all)]
pub async fn rename(tg: &Telegram, chat: &Chat, thread_id: &crate::domain::ThreadId) {
    if !tg.console.topics_on() {
        return;
    }
    let links = chat.telegram_links();
    let Ok(Some(n)) = links.topic_naming(thread_id, tg.chat_id.0).await else {
        return;
    };
    let page = chat
        .visitors()
        .get(thread_id)
        .await
        .ok()
        .flatten()
        .and_then(|c| c.page_url);
    let wanted = topic_name(&n.display_name, n.assignee_name.as_deref(), page.as_deref());
    if n.tg_topic_name.as_deref() == Some(wanted.as_str()) {
        return;
    }
    let Ok(id) = i32::try_from(n.tg_topic_id) else {
        return;
    };
    let res = {
        let turn = tg.console.pace.turn().await;
        let r = tg
            .bot
            .edit_forum_topic(tg.chat_id, ThreadId(MessageId(id)))
            .name(wanted.clone())
            .await;
        turn.done();
        r
    };
    if let Err(e) = &res {
        tracing::warn!(error = %tg.describe(e), "editForumTopic refused");
        if classify(tg, e).is_err() {
            return;
        }
    }
    if let Err(e) = links.set_topic_name(thread_id, &wanted).await {
        tracing::warn!(error = %e, "cannot record a topic's name");
    }
}

/// `createForumTopic` for a thread, stored with it.
async fn create(
    tg: &Telegram,
    chat: &Chat,
    thread_id: &crate::domain::ThreadId,
    name: &str,
) -> Result<Option<ThreadId>, TopicError> {
    let res = {
        let turn = tg.console.pace.turn().await;
        let r = tg.bot.create_forum_topic(tg.chat_id, name.to_owned()).await;
        turn.done();
        r
    };
    tg.health.record(!matches!(
        res,
        Err(RequestError::Network(_) | RequestError::Io(_) | RequestError::InvalidJson { .. })
    ));
    match res {
        Ok(topic) => {
            let id = i64::from(topic.thread_id.0.0);
            chat.telegram_links()
                .set_topic(thread_id, tg.chat_id.0, id, name)
                .await
                .map_err(|e| TopicError::Store(e.into()))?;
            tracing::info!(topic_id = id, "created a forum topic for a thread");
            Ok(Some(topic.thread_id))
        }
        Err(e) if topics_impossible(&e) => {
            let why = tg.describe(&e);
            tracing::warn!(
                error = %why,
                "createForumTopic refused: topic mode off until the next self-test (run /selftest)"
            );
            tg.console
                .topics_off(&format!("createForumTopic was refused ({why})"));
            Ok(None)
        }
        Err(e) if is_refusal(&e) => Err(TopicError::Refused(tg.describe(&e))),
        Err(RequestError::RetryAfter(s)) => Err(TopicError::Throttled(s.duration())),
        Err(e) => Err(TopicError::Transient(tg.describe(&e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cut_to_the_limit() {
        assert_eq!(topic_name("Visitor 3F2A", None, None), "Visitor 3F2A");
        assert_eq!(
            topic_name(&"é".repeat(200), None, None).chars().count(),
            NAME_LIMIT
        );
        // Astral characters are two UTF-16 units: never split.
        let name = topic_name(&format!("a{}", "😀".repeat(100)), None, None);
        assert_eq!(name.encode_utf16().count(), NAME_LIMIT - 1);
        assert!(name.ends_with('😀'));
        assert_eq!(topic_name("  ", None, None), "Visitor");
        assert_eq!(
            topic_name(
                "Visitor 3F2A",
                None,
                Some("https://shop.example/pricing/?t=secret#x")
            ),
            "Visitor 3F2A · shop.example/pricing"
        );
        assert_eq!(
            topic_name("Visitor 3F2A", Some("Ayşe"), Some("https://shop.example/")),
            "Visitor 3F2A · Ayşe · shop.example"
        );
        assert_eq!(topic_name("Visitor 3F2A", Some(" "), None), "Visitor 3F2A");
        assert_eq!(
            topic_name("Visitor 3F2A", None, Some("javascript:alert(1)")),
            "Visitor 3F2A"
        );
        assert_eq!(
            topic_name("V", None, Some(&format!("http://h/{}", "p".repeat(300))))
                .chars()
                .count(),
            NAME_LIMIT
        );
    }
}
