//! Messages the bot sends: `getMe`, `sendMessage` (plain text only: the
//! server sends no `parse_mode`, so the double refuses one rather than
//! model Telegram's entity parsers), and what every send shares — the
//! target chat (`chat not found` unless it talked to the bot), the replied
//! message, and the stored bot message with a fresh `message_id`.

use serde_json::{Map, Value, json};

use super::{
    ApiResult, BOT_ID, St, TEXT_LIMIT, bad, bot_user, callbacks, forum, now_unix, param_str,
    utf16_len,
};

/// `getMe`, `sendMessage` and the no-op settings; `None` for any other method.
pub(super) fn call(st: &mut St, m: &str, p: &Map<String, Value>) -> Option<ApiResult> {
    Some(match m {
        "getme" => Ok(json!({
            "id": BOT_ID, "is_bot": true, "first_name": "sohbet", "username": "sohbet_bot",
            "can_join_groups": true, "can_read_all_group_messages": false,
            "supports_inline_queries": false, "can_connect_to_business": false,
            "has_main_web_app": false,
        })),
        "sendmessage" => send_message(st, p),
        "setmycommands" | "deletemycommands" | "close" | "logout" => Ok(json!(true)),
        _ => return None,
    })
}

fn send_message(st: &mut St, p: &Map<String, Value>) -> ApiResult {
    let chat = chat_of(st, p)?;
    let text = plain(p, "text")?;
    if text.trim().is_empty() {
        return Err(bad("message text is empty"));
    }
    if utf16_len(&text) > TEXT_LIMIT {
        return Err(bad("message is too long"));
    }
    let mut body = Map::new();
    body.insert("text".into(), json!(text));
    finish_send(st, p, chat, body)
}

/// The text or caption in `field`, refused (as Telegram refuses a text
/// that does not parse) if a `parse_mode` came with it: sohbet sends plain
/// text, so that no character of a visitor's text can break the message.
pub(super) fn plain(p: &Map<String, Value>, field: &str) -> Result<String, (u16, String)> {
    if let Some(mode) = param_str(p, "parse_mode").filter(|m| !m.is_empty()) {
        return Err(bad(format!(
            "can't parse entities: the test double models no parse_mode ({mode}); sohbet sends plain text"
        )));
    }
    Ok(param_str(p, field).unwrap_or_default())
}

/// Adds the keyboard, topic and replied message to `body` and stores the
/// bot's message in `chat`.
pub(super) fn finish_send(
    st: &mut St,
    p: &Map<String, Value>,
    chat: i64,
    mut body: Map<String, Value>,
) -> ApiResult {
    if let Some(m) = callbacks::markup(p)? {
        body.insert("reply_markup".into(), m);
    }
    forum::place(p, &mut body);
    reply_of(st, p, &mut body);
    Ok(bot_message(st, chat, body))
}

/// The `chat_id` of a send, if the chat is known to the bot.
pub(super) fn chat_of(st: &St, p: &Map<String, Value>) -> Result<i64, (u16, String)> {
    let raw = param_str(p, "chat_id").ok_or_else(|| bad("chat_id is empty"))?;
    let id: i64 = raw.parse().map_err(|_| bad("chat not found"))?;
    if !st.known_chats.contains(&id) {
        return Err(bad("chat not found"));
    }
    Ok(id)
}

/// `reply_parameters` (or the older `reply_to_message_id`): the replied
/// message, without its own reply, as Telegram nests it.
fn reply_of(st: &St, p: &Map<String, Value>, body: &mut Map<String, Value>) {
    let id = p
        .get("reply_parameters")
        .and_then(|r| match r {
            Value::String(s) => serde_json::from_str::<Value>(s).ok(),
            other => Some(other.clone()),
        })
        .and_then(|r| r["message_id"].as_i64())
        .or_else(|| param_str(p, "reply_to_message_id").and_then(|s| s.parse().ok()));
    if let Some(parent) = id.and_then(|i| st.messages.get(&i)) {
        let mut parent = parent.clone();
        if let Some(o) = parent.as_object_mut() {
            o.remove("reply_to_message");
        }
        body.insert("reply_to_message".into(), parent);
    }
}

fn bot_message(st: &mut St, chat: i64, body: Map<String, Value>) -> Value {
    let id = st.next_message_id;
    st.next_message_id += 1;
    let mut m = json!({
        "message_id": id,
        "date": now_unix(),
        "chat": forum::chat_json(st, chat),
        "from": bot_user(),
    });
    for (k, v) in body {
        m[k] = v;
    }
    st.messages.insert(id, m.clone());
    m
}
