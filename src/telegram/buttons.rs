//! The inline buttons under a thread's first forward (issue 13; Bot API
//! `InlineKeyboardMarkup`): Close (or Reopen), Block (or Unblock) and
//! Canned, which lists the canned replies in their place
//! ([`super::canned`]); under them, Take (issue 22 item 4).
//!
//! Callback data carry no secret: whoever presses a button is judged by
//! the chat the button's message is in, which must be the admin chat
//! ([`super::callbacks`]). Their shapes, each within Telegram's 64-byte
//! limit on `callback_data` for a thread id (a UUID, 36 bytes):
//!
//! | data | button |
//! | --- | --- |
//! | `cl:<thread>` `ro:<thread>` | Close, Reopen |
//! | `bl:<thread>` `ub:<thread>` | Block, Unblock |
//! | `cn:<thread>` | Canned: the first page of the list |
//! | `cp:<page>:<thread>` | another page of the list (page from 0) |
//! | `cs:<reply>.<nonce>:<thread>` | send that canned reply |
//! | `bk:<thread>` | Back from the list to the thread's buttons |
//! | `tk:<thread>` | Take: assign the thread to the pressing agent |
//!
//! `<reply>` is the reply's id in base 36 (at most 13 characters for any
//! `i64`, so the longest `cs:` data is 26 bytes plus the thread id, 62 for
//! a UUID); `<nonce>` is 8 base-36 characters drawn anew each time the list
//! is shown: the reply's `client_id` is built from it, so a repeated press
//! of the same listed button (a double tap, two admins, an update
//! delivered twice) sends once. Prefixes and arguments hold no `:`, so the
//! thread id is all that follows the prefix (and the argument). A thread
//! id too long for `cl:` data gets no buttons; one too long for `cs:` data
//! gets no Canned button.
//!
//! Adding a button is one line in [`keyboard`] and one arm in
//! [`super::callbacks`]' dispatcher.

use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use crate::chat::status::{ThreadStatus, ThreadUpdate};

/// Close the thread.
pub const CLOSE: &str = "cl";
/// Reopen the thread.
pub const REOPEN: &str = "ro";
/// Block the thread's visitor.
pub const BLOCK: &str = "bl";
/// Unblock the thread's visitor.
pub const UNBLOCK: &str = "ub";
/// Show the canned replies (first page).
pub const CANNED: &str = "cn";
/// Show a page of the canned replies (argument: the page, from 0).
pub const CANNED_PAGE: &str = "cp";
/// Send a canned reply (argument: `<reply id, base 36>.<nonce>`).
pub const CANNED_SEND: &str = "cs";
/// Back from the canned replies to the thread's buttons.
pub const BACK: &str = "bk";
/// Take the thread (assign it to the pressing member's agent).
pub const TAKE: &str = "tk";

/// Longest argument of [`CANNED_SEND`] data: 13 base-36 digits, `.`, an
/// 8-character nonce.
pub const ARG_MAX: usize = 22;

/// Telegram's limit on `callback_data`, bytes (Bot API `InlineKeyboardButton`).
pub const CALLBACK_DATA_MAX: usize = 64;

/// The callback data of `action` on `thread_id`: `"<action>:<thread id>"`.
pub fn data(action: &str, thread_id: &str) -> String {
    format!("{action}:{thread_id}")
}

/// The callback data of `action` with argument `arg` on `thread_id`:
/// `"<action>:<arg>:<thread id>"` ([`CANNED_PAGE`], [`CANNED_SEND`]).
pub fn data_with(action: &str, arg: &str, thread_id: &str) -> String {
    format!("{action}:{arg}:{thread_id}")
}

/// A press's callback data, split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Press<'a> {
    /// The prefix (one of the constants above, or unknown).
    pub action: &'a str,
    /// The argument of [`CANNED_PAGE`] and [`CANNED_SEND`] data.
    pub arg: Option<&'a str>,
    /// The thread the button belongs to.
    pub thread: crate::domain::ThreadId,
}

/// Splits callback data into a [`Press`]; `None` when malformed (no `:`,
/// a missing argument, a thread id that breaks [`crate::domain::ThreadId`]'s
/// rule, over [`CALLBACK_DATA_MAX`]).
pub fn parse(data: &str) -> Option<Press<'_>> {
    if data.len() > CALLBACK_DATA_MAX {
        return None;
    }
    let (action, rest) = data.split_once(':')?;
    let (arg, thread) = if action == CANNED_PAGE || action == CANNED_SEND {
        let (arg, thread) = rest.split_once(':')?;
        (Some(arg), thread)
    } else {
        (None, rest)
    };
    Some(Press {
        action,
        arg,
        thread: crate::domain::ThreadId::parse(thread).ok()?,
    })
}

fn button(text: &str, action: &str, thread_id: &str) -> InlineKeyboardButton {
    InlineKeyboardButton::callback(text, data(action, thread_id))
}

/// The buttons of a thread in state `state`: one row, Close / Reopen,
/// Block / Unblock, then Canned (when its list's data fit); a second row,
/// Take. `None` when the thread id is too long for callback data.
pub fn keyboard(state: &ThreadUpdate) -> Option<InlineKeyboardMarkup> {
    let id = state.id.as_str();
    if data(UNBLOCK, id).len() > CALLBACK_DATA_MAX {
        return None;
    }
    let mut row = vec![
        match state.status {
            ThreadStatus::Open => button("✅ Close", CLOSE, id),
            ThreadStatus::Closed => button("↩️ Reopen", REOPEN, id),
        },
        if state.blocked {
            button("🔓 Unblock", UNBLOCK, id)
        } else {
            button("⛔ Block", BLOCK, id)
        },
    ];
    if CANNED_SEND.len() + ARG_MAX + id.len() + 2 <= CALLBACK_DATA_MAX {
        row.push(button("💬 Canned", CANNED, id));
    }
    Some(InlineKeyboardMarkup::new([
        row,
        vec![button("🙋 Take", TAKE, id)],
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(status: ThreadStatus, blocked: bool) -> ThreadUpdate {
        ThreadUpdate {
            id: "3f2a9c1e-0b1d-4c4e-9a55-7d0c2b6f1e21".into(),
            status,
            blocked,
            blocked_at: None,
            change: None,
            by: None,
            assignee: None,
        }
    }

    #[test]
    fn buttons_follow_the_state_and_fit_the_limit() {
        let kb = keyboard(&state(ThreadStatus::Open, false)).unwrap();
        let texts: Vec<&str> = kb.inline_keyboard[0]
            .iter()
            .map(|b| b.text.as_str())
            .collect();
        assert_eq!(texts, ["✅ Close", "⛔ Block", "💬 Canned"]);
        assert_eq!(kb.inline_keyboard[1][0].text, "🙋 Take");
        let kb = keyboard(&state(ThreadStatus::Closed, true)).unwrap();
        assert_eq!(kb.inline_keyboard[0][0].text, "↩️ Reopen");
        assert_eq!(kb.inline_keyboard[0][1].text, "🔓 Unblock");
        let d = data(UNBLOCK, "3f2a9c1e-0b1d-4c4e-9a55-7d0c2b6f1e21");
        assert!(d.len() <= CALLBACK_DATA_MAX);
        let id = "3f2a9c1e-0b1d-4c4e-9a55-7d0c2b6f1e21";
        assert_eq!(
            parse(&d),
            Some(Press {
                action: UNBLOCK,
                arg: None,
                thread: crate::domain::ThreadId::parse(id).unwrap()
            })
        );
        assert_eq!(parse("cl:"), None);
        assert_eq!(parse("nothing"), None);
        assert_eq!(parse(&format!("cs:{id}")), None, "an argument is needed");
        let longest = data_with(CANNED_SEND, &format!("{}.abcdefgh", "z".repeat(13)), id);
        assert_eq!(longest.len(), 62);
        assert_eq!(
            parse(&longest).map(|p| (p.arg, p.thread)),
            Some((Some(&longest[3..25]), id.into()))
        );
        // Too long for the list's data: no Canned button, the others stay.
        let kb = keyboard(&ThreadUpdate {
            id: "x".repeat(40).as_str().into(),
            ..state(ThreadStatus::Open, false)
        })
        .unwrap();
        assert_eq!(kb.inline_keyboard[0].len(), 2);
        assert!(
            keyboard(&ThreadUpdate {
                id: "x".repeat(64).as_str().into(),
                ..state(ThreadStatus::Open, false)
            })
            .is_none()
        );
    }
}
