//! The outbox worker: sends queued forwards to the admin chat, oldest first
//! and in order per thread; retries with exponential back-off (from
//! `retry_base`, doubling, at most 60 s), honours `429 retry_after`, and
//! records every delivered part at once so that a retry or a restart never
//! sends it twice. Bot API errors other than network/5xx/429 are retried 5
//! times, then the forward is marked `dead` and logged.

use std::{collections::HashSet, time::Duration};

use chrono::Utc;
use teloxide::{
    RequestError,
    payloads::{SendAudioSetters, SendDocumentSetters, SendPhotoSetters, SendVoiceSetters},
    prelude::Requester,
    types::InputFile,
};
use tokio::sync::watch;

use super::{Telegram, format};
use crate::{
    chat::Chat,
    store::{self, outbox::OutboxItem},
};

/// Tries before a forward refused by the Bot API is given up.
pub const MAX_REFUSALS: i32 = 5;

/// One Telegram message of a forward.
#[derive(Debug)]
enum Part {
    Text(String),
    Photo(InputFile, String),
    Voice(InputFile, String),
    Audio(InputFile, String),
    Document(InputFile, String),
}

fn media_file(tg: &Telegram, url: &str) -> Option<InputFile> {
    if let Some(rel) = url.strip_prefix("/uploads/") {
        if rel
            .split('/')
            .any(|seg| seg.is_empty() || seg.starts_with('.'))
        {
            return None;
        }
        return Some(InputFile::file(tg.upload_dir.join(rel)));
    }
    reqwest::Url::parse(url)
        .ok()
        .filter(|u| u.scheme() == "https")
        .map(InputFile::url)
}

fn parts(tg: &Telegram, item: &OutboxItem) -> Vec<Part> {
    let name = item.display_name.as_deref().unwrap_or("Visitor");
    let text = item.content_text.as_deref().unwrap_or("");
    let kind = item.kind.as_deref().unwrap_or("text");
    let file = item.file_url.as_deref().and_then(|u| media_file(tg, u));
    match (kind, file) {
        ("image", Some(f)) | ("audio", Some(f)) => {
            let (caption, rest) = format::caption(name, text);
            let url = item.file_url.as_deref().unwrap_or("").to_ascii_lowercase();
            let first = if kind == "image" {
                Part::Photo(f, caption)
            } else if url.ends_with(".ogg") || url.ends_with(".oga") || url.ends_with(".opus") {
                Part::Voice(f, caption)
            } else if url.ends_with(".mp3") || url.ends_with(".m4a") {
                Part::Audio(f, caption)
            } else {
                Part::Document(f, caption)
            };
            std::iter::once(first)
                .chain(rest.into_iter().map(Part::Text))
                .collect()
        }
        _ => format::forward_texts(name, text)
            .into_iter()
            .map(Part::Text)
            .collect(),
    }
}

async fn send(tg: &Telegram, part: Part) -> Result<i64, RequestError> {
    let (bot, chat) = (&tg.bot, tg.chat_id);
    let msg = match part {
        Part::Text(t) => bot.send_message(chat, t).await?,
        Part::Photo(f, c) => bot.send_photo(chat, f).caption(c).await?,
        Part::Voice(f, c) => bot.send_voice(chat, f).caption(c).await?,
        Part::Audio(f, c) => bot.send_audio(chat, f).caption(c).await?,
        Part::Document(f, c) => bot.send_document(chat, f).caption(c).await?,
    };
    Ok(i64::from(msg.id.0))
}

/// What one attempt at a forward ended with.
enum Outcome {
    Sent,
    /// Telegram asked to wait (429).
    Throttled(Duration),
    /// Network, 5xx, bad answer: retry later.
    Transient(String),
    /// The Bot API refused it (4xx).
    Refused(String),
    /// The database failed: try again later.
    Store(String),
}

async fn deliver(tg: &Telegram, chat: &Chat, item: &OutboxItem) -> Outcome {
    let all = parts(tg, item);
    let total = all.len();
    for (i, part) in all
        .into_iter()
        .enumerate()
        .skip(item.parts_sent.max(0) as usize)
    {
        let res = send(tg, part).await;
        tg.health.record(!matches!(
            res,
            Err(RequestError::Network(_) | RequestError::InvalidJson { .. } | RequestError::Io(_))
        ));
        match res {
            Ok(tg_id) => {
                let last = i + 1 == total;
                if let Err(e) =
                    store::outbox::part_sent(chat.db(), item, i as i32, last, tg.chat_id.0, tg_id)
                        .await
                {
                    // Sent but not recorded: the next try would resend this part.
                    return Outcome::Store(e.to_string());
                }
            }
            Err(RequestError::RetryAfter(s)) => return Outcome::Throttled(s.duration()),
            Err(RequestError::Api(e)) => return Outcome::Refused(tg.redact(&e.to_string())),
            Err(RequestError::MigrateToChatId(_)) => {
                return Outcome::Refused(
                    "the admin chat migrated to a supergroup: update TELEGRAM_CHAT_ID".into(),
                );
            }
            Err(e) => return Outcome::Transient(tg.redact(&e.to_string())),
        }
    }
    Outcome::Sent
}

fn backoff(base: Duration, attempts: i32) -> Duration {
    let factor = 2u32.saturating_pow(attempts.clamp(0, 16) as u32);
    base.saturating_mul(factor).min(Duration::from_secs(60))
}

/// Runs until `stop` turns true.
pub async fn run(tg: Telegram, chat: Chat, mut stop: watch::Receiver<bool>) {
    let signal = chat.outbox_signal();
    tracing::info!("Telegram outbox worker started");
    let mut leader = store::outbox::Leader::default();
    while !*stop.borrow() {
        // Several instances on one Postgres: only one sends (else a forward
        // could go out twice).
        if !leader.hold(chat.db()).await {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        // A stop cuts a round short (teloxide waits 10 s after any 5xx):
        // a part is recorded only after Telegram took it, so nothing is lost.
        let wait = tokio::select! {
            w = round(&tg, &chat) => w,
            _ = stop.changed() => break,
        };
        // On Postgres another instance may have queued forwards without
        // waking this one: look again every second.
        let wait = match chat.db() {
            store::Db::Postgres(_) => wait.min(Duration::from_secs(1)),
            store::Db::Sqlite(_) => wait,
        };
        tokio::select! {
            _ = signal.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {}
        }
    }
    tracing::info!("Telegram outbox worker stopped");
}

/// One pass over the pending forwards; returns how long to sleep at most.
async fn round(tg: &Telegram, chat: &Chat) -> Duration {
    let mut wait = Duration::from_secs(30);
    let due = match store::outbox::pending(chat.db(), 200).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "outbox: cannot read pending forwards");
            return Duration::from_secs(2);
        }
    };
    if due.len() == 200 {
        // More wait behind this page: come back at once.
        wait = Duration::ZERO;
    }
    let mut blocked: HashSet<String> = HashSet::new();
    for (item, next_at) in due {
        if blocked.contains(&item.thread_id) {
            continue;
        }
        let now = Utc::now();
        if next_at > now {
            blocked.insert(item.thread_id.clone());
            wait = wait.min((next_at - now).to_std().unwrap_or_default());
            continue;
        }
        if item.message_id.is_none() {
            // Cleared before it could be forwarded.
            let _ = store::outbox::mark_failed(
                chat.db(),
                item.id,
                "dropped",
                now,
                false,
                "message cleared",
            )
            .await;
            continue;
        }
        let outcome = deliver(tg, chat, &item).await;
        let db = chat.db();
        let res = match outcome {
            Outcome::Sent => Ok(()),
            Outcome::Throttled(d) => {
                tracing::warn!(retry_after_s = d.as_secs(), "Telegram asks to slow down");
                let next = Utc::now() + chrono::TimeDelta::from_std(d).unwrap_or_default();
                let r = store::outbox::mark_failed(
                    db,
                    item.id,
                    "pending",
                    next,
                    false,
                    "429 retry_after",
                )
                .await;
                // The limit is the bot's: stop this round altogether.
                return if r.is_ok() {
                    d.max(Duration::from_millis(10))
                } else {
                    Duration::from_secs(2)
                };
            }
            Outcome::Refused(e) if item.attempts + 1 >= MAX_REFUSALS => {
                tracing::error!(outbox_id = item.id, error = %e, "Telegram refused a forward {MAX_REFUSALS} times; giving up");
                store::outbox::mark_failed(db, item.id, "dead", Utc::now(), true, &e).await
            }
            Outcome::Transient(e) | Outcome::Store(e) | Outcome::Refused(e) => {
                // Later forwards of this thread wait behind this one (order).
                blocked.insert(item.thread_id.clone());
                let d = backoff(tg.retry_base, item.attempts);
                wait = wait.min(d);
                tracing::warn!(outbox_id = item.id, attempts = item.attempts + 1, error = %e, "forward failed, will retry");
                let next = Utc::now() + chrono::TimeDelta::from_std(d).unwrap_or_default();
                store::outbox::mark_failed(db, item.id, "pending", next, true, &e).await
            }
        };
        if let Err(e) = res {
            tracing::warn!(error = %e, "outbox: cannot record a result");
            blocked.insert(item.thread_id.clone());
        }
    }
    wait
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_minute() {
        let b = Duration::from_secs(1);
        assert_eq!(backoff(b, 0), Duration::from_secs(1));
        assert_eq!(backoff(b, 3), Duration::from_secs(8));
        assert_eq!(backoff(b, 30), Duration::from_secs(60));
    }
}
