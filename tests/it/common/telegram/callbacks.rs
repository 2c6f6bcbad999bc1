//! The inline-keyboard side of the Bot API double (issue 13): `reply_markup`
//! on sends (checked like Telegram: `inline_keyboard` rows of buttons whose
//! `callback_data` is 1–64 bytes, else `BUTTON_DATA_INVALID`) kept on the
//! stored message, `answerCallbackQuery` (each query once, known ids only),
//! `editMessageReplyMarkup` ("message is not modified" for the same
//! markup, as Telegram answers), `allowed_updates` of `getUpdates` and
//! `setWebhook` honoured (a `callback_query` the bot did not ask for is
//! never delivered), and [`TelegramDouble::push_callback`] to press a button.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::{ApiResult, St, TelegramDouble, bad, forum, param_str, user};

/// The button state of the double.
#[derive(Debug, Default)]
pub struct Buttons {
    /// Callback query ids handed out, and whether each was answered.
    queries: HashMap<String, bool>,
    /// The last `allowed_updates` the bot asked for (`None`: never said).
    allowed: Option<Vec<String>>,
    next_query: u64,
}

/// A JSON parameter sent as JSON (JSON bodies) or as JSON text (forms).
fn json_param(p: &Map<String, Value>, name: &str) -> Option<Value> {
    match p.get(name)? {
        Value::String(s) => serde_json::from_str(s).ok(),
        Value::Null => None,
        v => Some(v.clone()),
    }
}

/// The `reply_markup` of a send or edit, checked; `Ok(None)` when absent.
pub(super) fn markup(p: &Map<String, Value>) -> Result<Option<Value>, (u16, String)> {
    let Some(m) = json_param(p, "reply_markup") else {
        return Ok(None);
    };
    let rows = m["inline_keyboard"]
        .as_array()
        .ok_or_else(|| bad("can't parse reply keyboard markup JSON object"))?;
    for row in rows {
        for b in row
            .as_array()
            .ok_or_else(|| bad("can't parse inline keyboard button"))?
        {
            if b["text"].as_str().is_none_or(str::is_empty) {
                return Err(bad("BUTTON_TEXT_INVALID"));
            }
            if let Some(d) = b.get("callback_data") {
                let d = d.as_str().unwrap_or("");
                if d.is_empty() || d.len() > 64 {
                    return Err(bad("BUTTON_DATA_INVALID"));
                }
            }
        }
    }
    Ok(Some(m))
}

/// Records `allowed_updates` of a `getUpdates` or `setWebhook` call (an
/// empty list means "as before", like Telegram).
pub(super) fn note_allowed(st: &mut St, p: &Map<String, Value>) {
    if let Some(Value::Array(a)) = json_param(p, "allowed_updates")
        && !a.is_empty()
    {
        st.buttons.allowed = Some(
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
        );
    }
}

/// Would the bot get updates of `kind` (e.g. `callback_query`)? Telegram's
/// default (never said) includes it.
pub(super) fn wanted(st: &St, kind: &str) -> bool {
    st.buttons
        .allowed
        .as_ref()
        .is_none_or(|a| a.iter().any(|k| k == kind))
}

/// The keyboard methods; `None` for any other method.
pub(super) fn call(st: &mut St, m: &str, p: &Map<String, Value>) -> Option<ApiResult> {
    Some(match m {
        "answercallbackquery" => {
            let id = param_str(p, "callback_query_id").unwrap_or_default();
            match st.buttons.queries.get_mut(&id) {
                Some(answered @ false) => {
                    *answered = true;
                    Ok(json!(true))
                }
                _ => Err(bad(
                    "query is too old and response timeout expired or query ID is invalid",
                )),
            }
        }
        "editmessagereplymarkup" => edit_markup(st, p),
        _ => return None,
    })
}

fn edit_markup(st: &mut St, p: &Map<String, Value>) -> ApiResult {
    let chat = param_str(p, "chat_id").and_then(|c| c.parse::<i64>().ok());
    let id = param_str(p, "message_id").and_then(|c| c.parse::<i64>().ok());
    let new = markup(p)?;
    let msg = id
        .and_then(|i| st.messages.get_mut(&i))
        .filter(|m| m["chat"]["id"].as_i64() == chat)
        .ok_or_else(|| bad("message to edit not found"))?;
    if msg.get("reply_markup") == new.as_ref() {
        return Err(bad(
            "message is not modified: specified new message content and reply markup are \
             exactly the same as a current content and reply markup of the message",
        ));
    }
    match new {
        Some(m) => msg["reply_markup"] = m,
        None => {
            if let Some(o) = msg.as_object_mut() {
                o.remove("reply_markup");
            }
        }
    }
    Ok(msg.clone())
}

impl TelegramDouble {
    /// Presses the button with `data` under message `message_id`, as seen
    /// in chat `chat` (the admin chat, or another one to test a refusal),
    /// pressed by user `chat` (private chats) or the group's admin. Queues
    /// the `callback_query` update unless the bot did not ask for them
    /// (`allowed_updates`): then Telegram drops it and this returns `None`.
    /// Returns `(update_id, callback query id)`.
    pub fn push_callback(&self, chat: i64, message_id: i64, data: &str) -> Option<(i64, String)> {
        let (upd, qid) = self.callback_json(chat, message_id, data)?;
        let update_id = upd["update_id"].as_i64().expect("update_id");
        self.inner.lock().updates.push_back(upd);
        Some((update_id, qid))
    }

    /// As [`TelegramDouble::push_callback`] without queueing it (for
    /// webhook posts): the update JSON and the callback query id.
    pub fn callback_json(&self, chat: i64, message_id: i64, data: &str) -> Option<(Value, String)> {
        self.callback_json_by(chat, message_id, data, None)
    }

    /// As [`TelegramDouble::push_callback`], pressed by group member `user`.
    pub fn push_callback_by(
        &self,
        chat: i64,
        message_id: i64,
        data: &str,
        user: i64,
    ) -> Option<(i64, String)> {
        let (upd, qid) = self.callback_json_by(chat, message_id, data, Some(user))?;
        let update_id = upd["update_id"].as_i64().expect("update_id");
        self.inner.lock().updates.push_back(upd);
        Some((update_id, qid))
    }

    fn callback_json_by(
        &self,
        chat: i64,
        message_id: i64,
        data: &str,
        by: Option<i64>,
    ) -> Option<(Value, String)> {
        let mut st = self.inner.lock();
        if !wanted(&st, "callback_query") {
            return None;
        }
        let update_id = st.next_update_id;
        st.next_update_id += 1;
        st.buttons.next_query += 1;
        let qid = format!("4382{:012}", st.buttons.next_query);
        st.buttons.queries.insert(qid.clone(), false);
        let mut msg = st.messages.get(&message_id).cloned().unwrap_or_else(
            || json!({"message_id": message_id, "date": super::now_unix(), "text": "…"}),
        );
        msg["chat"] = forum::chat_json(&st, chat);
        let from = match by {
            Some(id) => super::member(id),
            None if chat < 0 => forum::human(forum::GROUP_ADMIN),
            None => user(chat),
        };
        let upd = json!({
            "update_id": update_id,
            "callback_query": {
                "id": qid, "from": from, "message": msg,
                "chat_instance": format!("-{}", chat.unsigned_abs()), "data": data,
            },
        });
        Some((upd, qid))
    }

    /// The `reply_markup` message `message_id` carries now (after edits).
    pub fn markup_of(&self, message_id: i64) -> Option<Value> {
        self.inner
            .lock()
            .messages
            .get(&message_id)
            .and_then(|m| m.get("reply_markup").cloned())
    }

    /// The callback data of the buttons of message `message_id`, in order.
    pub fn button_data(&self, message_id: i64) -> Vec<String> {
        self.markup_of(message_id)
            .and_then(|m| m["inline_keyboard"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .flat_map(|row| row.as_array().cloned().unwrap_or_default())
            .filter_map(|b| b["callback_data"].as_str().map(str::to_owned))
            .collect()
    }

    /// Was callback query `id` answered?
    pub fn callback_answered(&self, id: &str) -> bool {
        self.inner
            .lock()
            .buttons
            .queries
            .get(id)
            .copied()
            .unwrap_or(false)
    }
}
