//! Coalesced forwards (issue 23): when a thread has more than one due
//! text, one Telegram message carries them all, in order, under one head
//! and each on its own line with its time:
//!
//! ```text
//! [Visitor 3F2A]
//! 14:02 hello
//! 14:02 is anyone there?
//! 14:03 I have a question about my order
//! ```
//!
//! Up to Telegram's 4,096 UTF-16 units ([`format::coalesced`]); the rest
//! waits for the thread's next turn. Only texts of one head are taken
//! together, in queue order (a visitor's run, or one agent's answers, or
//! notes); a media message, a text that needs parts of its own, or a row
//! already partly sent ends the run and keeps its own send
//! ([`super::send::deliver`]), and a head that failed before is tried alone (a
//! refused message must not take its neighbours down with it). Every message carried gets its own link to the
//! Telegram message (a reply to it reaches the thread; a receipt of any of
//! the answers in it is shown on it, `store::topics::due_receipts`).
//!
//! Fencing (issue 24): every row of the run is claimed right before the
//! send; one failed claim aborts it with nothing sent.

use super::{
    Telegram, format,
    parts::{Part, head_of, send},
    send::{Outcome, buttons_sent, context_line, failed, first_buttons, record_health},
    topics,
};
use crate::chat::{Chat, ChatError, MessageType, outbox::OutboxItem};

/// Most pending forwards of a thread one coalesced forward reads (a line
/// is at least 7 UTF-16 units: no more fit in one message).
const RUN: i64 = 600;

/// Forwards that ride one Telegram message, and its text.
pub(super) struct Batch {
    items: Vec<OutboxItem>,
    text: String,
}

/// Can `item` ride a coalesced forward under `head`: a text not sent in
/// part, whose message still exists?
fn joins(item: &OutboxItem, head: &str) -> bool {
    item.message_id.is_some()
        && item.parts_sent == 0
        && item.content_type == Some(MessageType::Text)
        && head_of(item) == head
}

/// The coalesced forward of `first`'s thread, when `first` (its due head)
/// is followed by at least one more text of the same head and two fit in
/// one message; `None`: `first` goes alone.
///
/// # Errors
/// The database did not answer.
pub(super) async fn batch(
    tg: &Telegram,
    chat: &Chat,
    first: &OutboxItem,
) -> Result<Option<Batch>, ChatError> {
    let head = head_of(first);
    // A head that failed before goes alone: a message Telegram refuses
    // must not take the ones queued behind it down with it.
    if first.attempts > 0 || !joins(first, &head) {
        return Ok(None);
    }
    let run = chat.outbox().pending_of(&first.thread_id, RUN).await?;
    if run.first().map(|r| r.id) != Some(first.id) {
        // Its queue changed since the head was read: next turn.
        return Ok(None);
    }
    let items: Vec<OutboxItem> = run.into_iter().take_while(|i| joins(i, &head)).collect();
    if items.len() < 2 {
        return Ok(None);
    }
    let now = chrono::Utc::now();
    let lines: Vec<String> = items
        .iter()
        .map(|i| {
            let text = i.content_text.as_deref().unwrap_or("");
            format::timed_line(i.created_at.unwrap_or(now), tg.timezone, text)
        })
        .collect();
    let tail = context_line(chat, first).await;
    let (text, n) = format::coalesced(&head, &lines, tail.as_deref());
    if n < 2 {
        return Ok(None);
    }
    let mut items = items;
    items.truncate(n);
    Ok(Some(Batch { items, text }))
}

/// Sends a coalesced forward and records every row it carries; the
/// outcome is its first row's (the head's) for the worker to record.
pub(super) async fn send_batch(tg: &Telegram, chat: &Chat, batch: Batch) -> Outcome {
    let first = &batch.items[0];
    let topic = match topics::prepare(tg, chat, first).await {
        Ok(t) => t,
        Err(e) => return e.into(),
    };
    if topic.is_none() && first.is_agents() {
        return Outcome::NoTopic;
    }
    let markup = if first.is_agents() {
        None
    } else {
        first_buttons(tg, chat, &first.thread_id).await
    };
    let with_buttons = markup.is_some();
    // Fenced: every row, right before the one send that carries them all.
    for item in &batch.items {
        if !chat.outbox().claim(item, 0).await {
            return Outcome::LeaseLost;
        }
    }
    let res = send(tg, Part::Text(batch.text), topic, markup).await;
    record_health(tg, &res);
    let tg_id = match res {
        Ok(id) => id,
        Err(e) => return failed(tg, chat, first, topic, e).await,
    };
    let outbox = chat.outbox();
    if let Err(e) = outbox
        .coalesced_sent(&batch.items, tg.chat_id.0, tg_id)
        .await
    {
        // Sent but not recorded: the next try sends these again.
        return Outcome::Store(e.into());
    }
    if with_buttons {
        buttons_sent(tg, chat, &first.thread_id, tg_id).await;
    }
    tracing::debug!(
        outbox_id = %first.id,
        n = batch.items.len(),
        "coalesced forward sent"
    );
    Outcome::Sent
}
