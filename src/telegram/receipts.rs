//! Delivery receipts in Telegram: when the visitor's page has received an
//! admin's Telegram answer, the bot marks that Telegram message with 👌;
//! when the visitor has seen it (the page was visible), with 👀
//! (`setMessageReaction`; a bot sets one reaction, so 👀 replaces 👌 and
//! means "received and seen"). The visitor's page reports through the
//! Socket.IO events `message_received` / `message_seen`
//! (`realtime::receipts`); the marks wait in `telegram_links` and the
//! outbox worker (one sender across instances) shows them here. A refused
//! reaction is given up silently: a receipt never breaks anything.

use teloxide::{
    RequestError,
    payloads::SetMessageReactionSetters,
    prelude::Requester,
    types::{ChatId, MessageId, ReactionType},
};

use super::Telegram;
use crate::chat::outbox::{DueReceipt, Outbox, receipt_level as level};

/// The reaction of a receipt level.
pub fn emoji(receipt: i32) -> &'static str {
    if receipt >= level::SEEN {
        "👀"
    } else {
        "👌"
    }
}

/// Most receipts one round shows.
const PAGE: i64 = 50;

/// Shows the receipts waiting in the database; returns when done or when
/// Telegram is unreachable or asks to wait (the rest stay due).
#[tracing::instrument(skip_all)]
pub async fn round(tg: &Telegram, outbox: &Outbox) {
    let due = match outbox.due_receipts(PAGE).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "receipts: cannot read the due marks");
            return;
        }
    };
    for r in due {
        if !show(tg, outbox, &r).await {
            return;
        }
    }
}

/// Shows one receipt; `false` when the round should stop.
async fn show(tg: &Telegram, outbox: &Outbox, r: &DueReceipt) -> bool {
    let (Ok(chat), Ok(msg)) = (r.tg_chat_id.parse::<i64>(), i32::try_from(r.tg_message_id)) else {
        let _ = outbox.receipt_shown(r.id, r.receipt).await;
        return true;
    };
    let res = tg
        .bot
        .set_message_reaction(ChatId(chat), MessageId(msg))
        .reaction(vec![ReactionType::Emoji {
            emoji: emoji(r.receipt).to_owned(),
        }])
        .await;
    match res {
        Ok(_) => {}
        Err(RequestError::RetryAfter(s)) => {
            tg.console.pace.hold_off(s.duration()).await;
            return false;
        }
        Err(RequestError::Api(e)) => {
            // Reactions off in the chat, message deleted…: give it up.
            tracing::info!(error = %tg.redact(&e.to_string()), "setMessageReaction refused; receipt skipped");
        }
        Err(e) => {
            tracing::warn!(error = %tg.describe(&e), "setMessageReaction failed; will retry");
            return false;
        }
    }
    if let Err(e) = outbox.receipt_shown(r.id, r.receipt).await {
        tracing::warn!(error = %e, "receipts: cannot record a shown mark");
        return false;
    }
    true
}
