//! The inline buttons under a thread's first forward (issue 13; Bot API
//! `InlineKeyboardMarkup`): Close (or Reopen) and Block (or Unblock).
//!
//! Callback data are `<prefix>:<thread id>` and carry no secret: whoever
//! presses a button is judged by the chat the button's message is in,
//! which must be the admin chat ([`super::callbacks`]). A thread id (a
//! UUID, 36 bytes) plus a prefix stays well under Telegram's 64-byte limit
//! on `callback_data`; longer ids get no button.
//!
//! Adding a button is one line in [`keyboard`] and one arm in
//! [`super::callbacks`]' dispatcher (prefix `cn:` is reserved for canned
//! replies).

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

/// Telegram's limit on `callback_data`, bytes (Bot API `InlineKeyboardButton`).
pub const CALLBACK_DATA_MAX: usize = 64;

/// The callback data of `action` on `thread_id`: `"<action>:<thread id>"`.
pub fn data(action: &str, thread_id: &str) -> String {
    format!("{action}:{thread_id}")
}

/// Splits callback data into `(prefix, thread id)`; `None` when malformed
/// (no `:`, an empty or over-long thread id).
pub fn parse(data: &str) -> Option<(&str, &str)> {
    let (prefix, thread) = data.split_once(':')?;
    if thread.is_empty() || data.len() > CALLBACK_DATA_MAX {
        return None;
    }
    Some((prefix, thread))
}

fn button(text: &str, action: &str, thread_id: &str) -> InlineKeyboardButton {
    InlineKeyboardButton::callback(text, data(action, thread_id))
}

/// The buttons of a thread in state `state`: one row, Close / Reopen then
/// Block / Unblock. `None` when the thread id is too long for callback data.
pub fn keyboard(state: &ThreadUpdate) -> Option<InlineKeyboardMarkup> {
    let id = state.id.as_str();
    if data(UNBLOCK, id).len() > CALLBACK_DATA_MAX {
        return None;
    }
    let row = vec![
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
    Some(InlineKeyboardMarkup::new([row]))
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
        }
    }

    #[test]
    fn buttons_follow_the_state_and_fit_the_limit() {
        let kb = keyboard(&state(ThreadStatus::Open, false)).unwrap();
        let texts: Vec<&str> = kb.inline_keyboard[0]
            .iter()
            .map(|b| b.text.as_str())
            .collect();
        assert_eq!(texts, ["✅ Close", "⛔ Block"]);
        let kb = keyboard(&state(ThreadStatus::Closed, true)).unwrap();
        assert_eq!(kb.inline_keyboard[0][0].text, "↩️ Reopen");
        assert_eq!(kb.inline_keyboard[0][1].text, "🔓 Unblock");
        let d = data(UNBLOCK, "3f2a9c1e-0b1d-4c4e-9a55-7d0c2b6f1e21");
        assert!(d.len() <= CALLBACK_DATA_MAX);
        assert_eq!(
            parse(&d),
            Some((UNBLOCK, "3f2a9c1e-0b1d-4c4e-9a55-7d0c2b6f1e21"))
        );
        assert_eq!(parse("cl:"), None);
        assert_eq!(parse("nothing"), None);
        assert!(
            keyboard(&ThreadUpdate {
                id: "x".repeat(70),
                ..state(ThreadStatus::Open, false)
            })
            .is_none()
        );
    }
}
