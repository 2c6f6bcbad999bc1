//! Canned replies from Telegram (issue 13): the "💬 Canned" button under a
//! thread's first forward, the list it shows, and sending the reply chosen.
//!
//! The list replaces the buttons of the pressed message itself
//! (`editMessageReplyMarkup`): one button per reply (label: its name),
//! [`PAGE`] per page in the panel's order (by name), then a row with ◀️ /
//! "↩️ Back" / ▶️. Editing in place keeps the admin chat free of extra
//! messages, and the list stays next to the visitor it answers. Back, or
//! a sent reply, puts the thread's buttons back; so does any status or
//! block change meanwhile ([`super::callbacks::follow`]), which closes the
//! list. Without canned replies the press is answered with [`NONE_YET`]
//! and nothing changes.
//!
//! A choice goes through [`Chat::send_canned`](crate::chat::Chat::send_canned),
//! the admin's normal post path: stored, shown to the visitor, published.
//! The core's rules hold, as for any admin answer: a blocked visitor still
//! receives it (a block refuses the visitor's own sends only) and a closed
//! thread stays closed (only a visitor's message reopens). Its `client_id`
//! is `tg-cs:<nonce>:<reply id>`, the nonce being the list's
//! ([`super::buttons`]): the same listed button pressed again (a double
//! tap, two admins, an update delivered twice) stores one message; showing
//! the list again draws a new nonce, so the reply can be sent again later.

use crate::domain::{CannedId, ThreadId};
use rand::RngExt;
use teloxide::{
    ApiError, RequestError,
    payloads::EditMessageReplyMarkupSetters,
    prelude::*,
    types::{InlineKeyboardButton, InlineKeyboardMarkup, MaybeInaccessibleMessage},
};

use super::{
    buttons::{self, BACK, CANNED, CANNED_PAGE, CANNED_SEND, Press},
    ctx::Ctx,
};
use crate::{
    chat::ChatError,
    chat::{
        canned::{self, CannedReply},
        status::ThreadUpdate,
    },
};

/// Replies per page of the list (Telegram has no documented cap on an
/// inline keyboard's buttons, but a long one fills the screen).
pub const PAGE: usize = 10;
/// The answer to Canned when there is no canned reply.
pub const NONE_YET: &str = "No canned replies yet: add them in the panel";
/// The answer to a reply deleted since the list was shown.
pub const GONE: &str = "This canned reply no longer exists";
/// The answer when the thread is unknown.
const NO_THREAD: &str = "That conversation no longer exists.";
/// The answer to a database or Bot API failure.
const TRY_AGAIN: &str = "Could not do that right now. Please try again.";

/// Is `action` one of this module's buttons?
pub(super) fn handles(action: &str) -> bool {
    [CANNED, CANNED_PAGE, CANNED_SEND, BACK].contains(&action)
}

/// Handles a press of Canned, a page arrow, a listed reply or Back on
/// message `m` (in the admin chat: checked by the caller); returns the
/// text of the `answerCallbackQuery` (empty: none).
#[tracing::instrument(skip_all, fields(action = p.action))]
pub(super) async fn press(
    bot: &Bot,
    ctx: &Ctx,
    agent: &crate::domain::AgentRef,
    m: &MaybeInaccessibleMessage,
    p: Press<'_>,
) -> String {
    let state = match ctx.chat.thread(&p.thread).await {
        Ok(Some(t)) => ThreadUpdate::of(&t),
        Ok(None) => return NO_THREAD.into(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the thread of a Telegram button");
            return TRY_AGAIN.into();
        }
    };
    match (p.action, p.arg) {
        (CANNED, _) => list(bot, ctx, m, &p.thread, 0).await,
        (CANNED_PAGE, Some(page)) => match page.parse() {
            Ok(page) => list(bot, ctx, m, &p.thread, page).await,
            Err(_) => "Unknown button.".into(),
        },
        (CANNED_SEND, Some(arg)) => match parse_arg(arg) {
            Some((id, nonce)) => send(bot, ctx, agent, m, &state, id, nonce).await,
            None => "Unknown button.".into(),
        },
        (BACK, _) => {
            let Some(markup) = buttons::keyboard(&state) else {
                return TRY_AGAIN.into();
            };
            if show(bot, ctx, m, markup).await {
                String::new()
            } else {
                TRY_AGAIN.into()
            }
        }
        _ => "Unknown button.".into(),
    }
}

/// Shows page `page` of the list on `m`.
async fn list(
    bot: &Bot,
    ctx: &Ctx,
    m: &MaybeInaccessibleMessage,
    thread: &ThreadId,
    page: usize,
) -> String {
    let replies = match ctx.chat.canned_replies().await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list the canned replies");
            return TRY_AGAIN.into();
        }
    };
    if replies.is_empty() {
        return NONE_YET.into();
    }
    if show(bot, ctx, m, keyboard(&replies, page, thread, &nonce())).await {
        "Choose a reply to send.".into()
    } else {
        TRY_AGAIN.into()
    }
}

/// Sends reply `id` to the thread of `state`, then puts its buttons back.
async fn send(
    bot: &Bot,
    ctx: &Ctx,
    agent: &crate::domain::AgentRef,
    m: &MaybeInaccessibleMessage,
    state: &ThreadUpdate,
    id: CannedId,
    nonce: &str,
) -> String {
    let name = match ctx.chat.canned_reply(id).await {
        Ok(r) => r.name,
        Err(ChatError::NotFound(_)) => return GONE.into(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read a canned reply");
            return TRY_AGAIN.into();
        }
    };
    let client_id = format!("tg-cs:{nonce}:{id}");
    let actor = crate::auth::Actor::Admin {
        own: None,
        agent: agent.clone(),
    };
    let sent = ctx
        .chat
        .send_canned_as(&actor, &state.id, id, Some(client_id));
    let text = match sent.await {
        Ok(p) if p.duplicate => format!("Already sent: {name}"),
        Ok(_) => format!("Sent: {name}"),
        Err(ChatError::NotFound(what)) if what == canned::NOT_FOUND => return GONE.into(),
        Err(ChatError::NotFound(_)) => return NO_THREAD.into(),
        Err(e) => {
            tracing::warn!(error = %e, "a canned reply from Telegram was not sent");
            return TRY_AGAIN.into();
        }
    };
    if let Some(markup) = buttons::keyboard(state) {
        show(bot, ctx, m, markup).await;
    }
    text
}

/// Puts `markup` on message `m` (`editMessageReplyMarkup`); `false` when
/// Telegram refused (the same markup counts as shown).
async fn show(
    bot: &Bot,
    ctx: &Ctx,
    m: &MaybeInaccessibleMessage,
    markup: InlineKeyboardMarkup,
) -> bool {
    let res = bot
        .edit_message_reply_markup(m.chat().id, m.id())
        .reply_markup(markup)
        .await;
    match res {
        Ok(_) | Err(RequestError::Api(ApiError::MessageNotModified)) => true,
        Err(e) => {
            tracing::warn!(error = %ctx.tg.describe(&e), "editMessageReplyMarkup failed");
            false
        }
    }
}

/// The list: page `page` (clamped to the last) of `replies`, one per row,
/// then ◀️ / Back / ▶️.
pub fn keyboard(
    replies: &[CannedReply],
    page: usize,
    thread: &ThreadId,
    nonce: &str,
) -> InlineKeyboardMarkup {
    let pages = replies.len().div_ceil(PAGE).max(1);
    let page = page.min(pages - 1);
    let mut rows: Vec<Vec<InlineKeyboardButton>> = replies
        .iter()
        .skip(page * PAGE)
        .take(PAGE)
        .filter_map(|r| {
            let id = base36(u64::try_from(r.id.get()).ok()?);
            let data = buttons::data_with(CANNED_SEND, &format!("{id}.{nonce}"), thread);
            Some(vec![InlineKeyboardButton::callback(r.name.clone(), data)])
        })
        .collect();
    let mut nav = Vec::new();
    if page > 0 {
        let data = buttons::data_with(CANNED_PAGE, &(page - 1).to_string(), thread);
        nav.push(InlineKeyboardButton::callback("◀️", data));
    }
    nav.push(InlineKeyboardButton::callback(
        "↩️ Back",
        buttons::data(BACK, thread),
    ));
    if page + 1 < pages {
        let data = buttons::data_with(CANNED_PAGE, &(page + 1).to_string(), thread);
        nav.push(InlineKeyboardButton::callback("▶️", data));
    }
    rows.push(nav);
    InlineKeyboardMarkup::new(rows)
}

/// `<reply id, base 36>.<nonce>` split; `None` when malformed.
fn parse_arg(arg: &str) -> Option<(CannedId, &str)> {
    let (id, nonce) = arg.split_once('.')?;
    let id = CannedId(i64::try_from(u64::from_str_radix(id, 36).ok()?).ok()?);
    let ok = nonce.len() == 8 && nonce.bytes().all(|b| b.is_ascii_alphanumeric());
    ok.then_some((id, nonce))
}

/// A fresh list nonce: 8 base-36 characters (about 41 bits).
fn nonce() -> String {
    let n = rand::rng().random_range(0..36u64.pow(8));
    format!("{:0>8}", base36(n))
}

/// `n` in base 36, lower case.
fn base36(mut n: u64) -> String {
    let mut digits = Vec::new();
    loop {
        digits.push(char::from_digit((n % 36) as u32, 36).unwrap_or('0'));
        n /= 36;
        if n == 0 {
            break;
        }
    }
    digits.iter().rev().collect()
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    const T: &str = "3f2a9c1e-0b1d-4c4e-9a55-7d0c2b6f1e21";

    fn reply(id: i64) -> CannedReply {
        CannedReply {
            id: CannedId(id),
            name: format!("r{id}"),
            body: "b".into(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn data(kb: &InlineKeyboardMarkup) -> Vec<Vec<String>> {
        kb.inline_keyboard
            .iter()
            .map(|row| {
                row.iter()
                    .map(|b| match &b.kind {
                        teloxide::types::InlineKeyboardButtonKind::CallbackData(d) => d.clone(),
                        _ => String::new(),
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn ids_and_nonces_round_trip_and_fit() {
        assert_eq!(base36(0), "0");
        assert_eq!(base36(36), "10");
        assert_eq!(base36(i64::MAX as u64).len(), 13);
        let n = nonce();
        assert_eq!(n.len(), 8);
        let arg = format!("{}.{n}", base36(i64::MAX as u64));
        assert!(arg.len() <= buttons::ARG_MAX);
        assert_eq!(parse_arg(&arg), Some((CannedId(i64::MAX), n.as_str())));
        assert_eq!(parse_arg("zzzzzzzzzzzzzz.abcdefgh"), None, "over i64");
        assert_eq!(parse_arg("1.short"), None);
        assert_eq!(parse_arg("1"), None);
    }

    #[test]
    fn the_list_pages_and_ends_with_back() {
        let replies: Vec<_> = (1..=23).map(reply).collect();
        let first = data(&keyboard(&replies, 0, &T.into(), "abcdefgh"));
        assert_eq!(first.len(), PAGE + 1);
        assert_eq!(first[0], [format!("cs:1.abcdefgh:{T}")]);
        assert_eq!(first[PAGE], [format!("bk:{T}"), format!("cp:1:{T}")]);
        let last = data(&keyboard(&replies, 9, &T.into(), "abcdefgh"));
        assert_eq!(last.len(), 4, "3 replies on the last page, then the nav");
        assert_eq!(last[3], [format!("cp:1:{T}"), format!("bk:{T}")]);
        assert!(
            first
                .iter()
                .chain(&last)
                .flatten()
                .all(|d| d.len() <= buttons::CALLBACK_DATA_MAX)
        );
        let one = data(&keyboard(&replies[..1], 0, &T.into(), "abcdefgh"));
        assert_eq!(
            one,
            [vec![format!("cs:1.abcdefgh:{T}")], vec![format!("bk:{T}")]]
        );
    }
}
