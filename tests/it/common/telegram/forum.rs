//! The forum side of the Bot API double (issue 12): a supergroup with
//! topics as the admin chat ([`FORUM_CHAT`]), the bot's rights in it
//! (`getChat`, `getChatMember`), `createForumTopic` / `editForumTopic` /
//! `reopenForumTopic`, `message_thread_id` on sends (refused like Telegram
//! for a deleted topic, "message thread not found", or a closed one,
//! `TOPIC_CLOSED`), `setMessageReaction`, `sendChatAction`,
//! `getWebhookInfo`, and a per-chat limit of messages in a sliding window
//! (Telegram: about 20 a minute in a group) answered with a real `429`
//! and `retry_after`.

use std::{
    collections::{HashMap, VecDeque},
    time::{Duration, Instant},
};

use serde_json::{Map, Value, json};

use super::{ApiResult, BOT_ID, St, TelegramDouble, bad, bot_user, now_unix, param_str};

/// The forum supergroup's id (supergroup ids are negative, `-100…`).
pub const FORUM_CHAT: i64 = -1_001_234_567_890;
/// The human admin writing in the group.
pub const GROUP_ADMIN: i64 = 777;
/// The colour Telegram gives a topic (one of the six allowed).
const ICON_COLOR: i64 = 7_322_096;
/// Reactions a bot may set (a part of Telegram's list).
const EMOJI: &[&str] = &["👍", "👌", "👀", "❤", "🔥", "🎉", "✍", "🤝", "🫡"];

/// A topic of the forum.
#[derive(Clone, Debug)]
pub struct Topic {
    pub id: i64,
    pub name: String,
    pub closed: bool,
    pub deleted: bool,
}

/// What the bot may do in the group.
#[derive(Clone, Copy, Debug)]
pub struct Rights {
    pub admin: bool,
    pub manage_topics: bool,
    pub delete_messages: bool,
}

/// The forum state (present when the double plays a forum supergroup).
#[derive(Debug)]
pub struct Forum {
    /// The supergroup's id ([`FORUM_CHAT`] unless started with another).
    pub chat: i64,
    pub topics: HashMap<i64, Topic>,
    pub rights: Rights,
    /// `true`: a supergroup with topics; `false`: a plain group.
    pub is_forum: bool,
}

/// The per-chat limit and the recent message times per chat.
#[derive(Debug, Default)]
pub struct ChatLimit {
    pub limit: Option<(usize, Duration)>,
    pub sent: HashMap<i64, VecDeque<Instant>>,
    /// How many 429s the limit answered.
    pub refusals: usize,
}

/// Methods that put a message in the chat (they count against the limit).
fn makes_message(m: &str) -> bool {
    (m.starts_with("send") && m != "sendchataction") || m == "createforumtopic"
}

/// Checks the per-chat limit and the topic of a send before the call runs:
/// `Some(error)` refuses it.
pub(super) fn pre_check(st: &mut St, m: &str, p: &Map<String, Value>) -> Option<ApiResult> {
    let chat = param_str(p, "chat_id").and_then(|c| c.parse::<i64>().ok())?;
    if makes_message(m)
        && let Some((n, window)) = st.chat_limit.limit
    {
        let now = Instant::now();
        let q = st.chat_limit.sent.entry(chat).or_default();
        while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
            q.pop_front();
        }
        if q.len() >= n {
            let wait = window.saturating_sub(now.duration_since(q[0]));
            let secs = wait.as_secs_f64().ceil().max(1.0) as u32;
            st.chat_limit.refusals += 1;
            return Some(Err((429, format!("Too Many Requests: retry after {secs}"))));
        }
        q.push_back(now);
    }
    if m.starts_with("send")
        && let Some(th) = param_str(p, "message_thread_id").and_then(|t| t.parse::<i64>().ok())
    {
        let Some(forum) = st.forum.as_ref().filter(|f| f.is_forum) else {
            return Some(Err(bad("message thread not found")));
        };
        match forum.topics.get(&th) {
            None => return Some(Err(bad("message thread not found"))),
            Some(t) if t.deleted => return Some(Err(bad("message thread not found"))),
            Some(t) if t.closed && m != "sendchataction" => {
                return Some(Err(bad("TOPIC_CLOSED")));
            }
            _ => {}
        }
    }
    None
}

/// Puts a message the bot sends into its topic (`message_thread_id`).
pub(super) fn place(p: &Map<String, Value>, body: &mut Map<String, Value>) {
    if let Some(th) = param_str(p, "message_thread_id").and_then(|t| t.parse::<i64>().ok()) {
        body.insert("message_thread_id".into(), json!(th));
        body.insert("is_topic_message".into(), json!(true));
    }
}

/// The chat object of `id` as messages show it.
pub(super) fn chat_json(st: &St, id: i64) -> Value {
    match &st.forum {
        Some(f) if id == f.chat => {
            let mut c = json!({"id": id, "type": "supergroup", "title": "Support desk"});
            if f.is_forum {
                c["is_forum"] = json!(true);
            }
            c
        }
        _ => super::private_chat(id),
    }
}

/// The sender of a message a human writes in chat `id` (in a group, whose
/// ids are negative: the group's admin).
pub(super) fn human(id: i64) -> Value {
    if id < 0 {
        json!({"id": GROUP_ADMIN, "is_bot": false, "first_name": "Ayşe", "language_code": "tr"})
    } else {
        super::user(id)
    }
}

/// The forum methods; `None` for a method this module does not speak.
pub(super) fn call(st: &mut St, m: &str, p: &Map<String, Value>) -> Option<ApiResult> {
    let chat = param_str(p, "chat_id").and_then(|c| c.parse::<i64>().ok());
    Some(match m {
        "getchat" => get_chat(st, chat),
        "getchatmember" => get_chat_member(st, chat, p),
        "createforumtopic" => create_topic(st, chat, p),
        "editforumtopic" | "reopenforumtopic" | "closeforumtopic" => edit_topic(st, m, chat, p),
        "deleteforumtopic" => delete_topic_call(st, chat, p),
        "setmessagereaction" => set_reaction(st, chat, p),
        "sendchataction" => match chat {
            Some(c) if st.known_chats.contains(&c) => Ok(json!(true)),
            _ => Err(bad("chat not found")),
        },
        _ => return None,
    })
}

fn get_chat(st: &St, chat: Option<i64>) -> ApiResult {
    let c = chat
        .filter(|c| st.known_chats.contains(c))
        .ok_or_else(|| bad("chat not found"))?;
    let mut v = chat_json(st, c);
    // Fields teloxide's ChatFullInfo requires (Bot API 9).
    v["accepted_gift_types"] = json!({"unlimited_gifts": false, "limited_gifts": false,
        "unique_gifts": false, "premium_subscription": false});
    v["max_reaction_count"] = json!(11);
    v["accent_color_id"] = json!(0);
    Ok(v)
}

fn get_chat_member(st: &St, chat: Option<i64>, p: &Map<String, Value>) -> ApiResult {
    let c = chat
        .filter(|c| st.known_chats.contains(c))
        .ok_or_else(|| bad("chat not found"))?;
    let uid = param_str(p, "user_id").and_then(|u| u.parse::<i64>().ok());
    if uid != Some(BOT_ID) {
        return Err(bad("member not found"));
    }
    let rights = match &st.forum {
        Some(f) if c == f.chat => f.rights,
        _ => {
            return Ok(json!({"status": "member", "user": bot_user()}));
        }
    };
    if !rights.admin {
        return Ok(json!({"status": "member", "user": bot_user()}));
    }
    Ok(json!({
        "status": "administrator", "user": bot_user(), "can_be_edited": false,
        "is_anonymous": false, "can_manage_chat": true, "can_delete_messages": rights.delete_messages,
        "can_manage_video_chats": false, "can_restrict_members": false, "can_promote_members": false,
        "can_change_info": false, "can_invite_users": true, "can_post_stories": false,
        "can_edit_stories": false, "can_delete_stories": false, "can_pin_messages": false,
        "can_manage_topics": rights.manage_topics,
    }))
}

fn create_topic(st: &mut St, chat: Option<i64>, p: &Map<String, Value>) -> ApiResult {
    let name = param_str(p, "name").unwrap_or_default();
    // 1–128 characters, counted (like every Telegram length) in UTF-16 units.
    if name.is_empty() || super::utf16_len(&name) > 128 {
        return Err(bad("TOPIC_TITLE_EMPTY"));
    }
    let forum = match (&st.forum, chat) {
        (Some(f), Some(c)) if c == f.chat => f,
        _ => return Err(bad("the chat is not a forum")),
    };
    let forum_chat = forum.chat;
    if !forum.is_forum {
        return Err(bad("the chat is not a forum"));
    }
    if !forum.rights.admin || !forum.rights.manage_topics {
        return Err(bad("not enough rights to create a topic"));
    }
    let id = st.next_message_id;
    st.next_message_id += 1;
    let service = json!({
        "message_id": id, "date": now_unix(), "chat": chat_json(st, forum_chat), "from": bot_user(),
        "message_thread_id": id, "is_topic_message": true,
        "forum_topic_created": {"name": name, "icon_color": ICON_COLOR},
    });
    st.messages.insert(id, service);
    if let Some(f) = st.forum.as_mut() {
        f.topics.insert(
            id,
            Topic {
                id,
                name: name.clone(),
                closed: false,
                deleted: false,
            },
        );
    }
    Ok(json!({"message_thread_id": id, "name": name, "icon_color": ICON_COLOR}))
}

fn edit_topic(st: &mut St, m: &str, chat: Option<i64>, p: &Map<String, Value>) -> ApiResult {
    let th = param_str(p, "message_thread_id").and_then(|t| t.parse::<i64>().ok());
    let Some(f) = st.forum.as_mut().filter(|f| chat == Some(f.chat)) else {
        return Err(bad("the chat is not a forum"));
    };
    if !f.rights.manage_topics {
        return Err(bad("not enough rights to manage topics"));
    }
    let Some(t) = th
        .and_then(|th| f.topics.get_mut(&th))
        .filter(|t| !t.deleted)
    else {
        return Err(bad("message thread not found"));
    };
    match m {
        "editforumtopic" => {
            if let Some(n) = param_str(p, "name") {
                if n == t.name {
                    return Err(bad("TOPIC_NOT_MODIFIED"));
                }
                t.name = n;
            }
        }
        "reopenforumtopic" if !t.closed => return Err(bad("TOPIC_NOT_MODIFIED")),
        "reopenforumtopic" => t.closed = false,
        _ => t.closed = true,
    }
    Ok(json!(true))
}

/// `deleteForumTopic`: needs the right to delete messages (Bot API); the
/// topic is then gone (its messages with it).
fn delete_topic_call(st: &mut St, chat: Option<i64>, p: &Map<String, Value>) -> ApiResult {
    let th = param_str(p, "message_thread_id").and_then(|t| t.parse::<i64>().ok());
    let Some(f) = st.forum.as_mut().filter(|f| chat == Some(f.chat)) else {
        return Err(bad("the chat is not a forum"));
    };
    if !f.rights.delete_messages {
        return Err(bad("not enough rights to delete the topic"));
    }
    let Some(t) = th
        .and_then(|th| f.topics.get_mut(&th))
        .filter(|t| !t.deleted)
    else {
        return Err(bad("message thread not found"));
    };
    t.deleted = true;
    Ok(json!(true))
}

fn set_reaction(st: &St, chat: Option<i64>, p: &Map<String, Value>) -> ApiResult {
    let c = chat
        .filter(|c| st.known_chats.contains(c))
        .ok_or_else(|| bad("chat not found"))?;
    let id = param_str(p, "message_id").and_then(|m| m.parse::<i64>().ok());
    let known = id
        .and_then(|i| st.messages.get(&i))
        .is_some_and(|m| m["chat"]["id"] == json!(c));
    if !known {
        return Err(bad("message to react not found"));
    }
    let reaction: Value = match p.get("reaction") {
        Some(Value::String(s)) => serde_json::from_str(s).unwrap_or(Value::Null),
        Some(v) => v.clone(),
        None => json!([]),
    };
    for r in reaction.as_array().into_iter().flatten() {
        let ok =
            r["type"] == json!("emoji") && r["emoji"].as_str().is_some_and(|e| EMOJI.contains(&e));
        if !ok {
            return Err(bad("REACTION_INVALID"));
        }
    }
    Ok(json!(true))
}

impl TelegramDouble {
    /// A double whose admin chat is the forum supergroup [`FORUM_CHAT`], the
    /// bot an admin with Manage topics and Delete messages.
    pub async fn start_forum() -> TelegramDouble {
        TelegramDouble::start_forum_in(FORUM_CHAT).await
    }

    /// Like [`TelegramDouble::start_forum`] with the supergroup `chat`
    /// (another group: its message ids, hence topic ids, start where every
    /// fresh double's do, as two Telegram groups' ids overlap).
    pub async fn start_forum_in(chat: i64) -> TelegramDouble {
        let d = TelegramDouble::start().await;
        {
            let mut st = d.inner.lock();
            st.admin_chat = chat;
            st.known_chats.insert(chat);
            st.forum = Some(Forum {
                chat,
                topics: HashMap::new(),
                rights: Rights {
                    admin: true,
                    manage_topics: true,
                    delete_messages: true,
                },
                is_forum: true,
            });
        }
        d
    }

    /// The bot's rights in the group.
    pub fn set_rights(&self, rights: Rights) {
        if let Some(f) = self.inner.lock().forum.as_mut() {
            f.rights = rights;
        }
    }

    /// Topics enabled in the group (`true`) or not: a plain supergroup,
    /// where `createForumTopic` answers "the chat is not a forum".
    pub fn set_is_forum(&self, on: bool) {
        if let Some(f) = self.inner.lock().forum.as_mut() {
            f.is_forum = on;
        }
    }

    /// At most `n` messages per chat in any `window` (then 429 `retry_after`).
    pub fn set_chat_limit(&self, n: usize, window: Duration) {
        self.inner.lock().chat_limit.limit = Some((n, window));
    }

    /// How many sends the per-chat limit refused.
    pub fn limit_refusals(&self) -> usize {
        self.inner.lock().chat_limit.refusals
    }

    /// Every topic, by id.
    pub fn topics(&self) -> Vec<Topic> {
        let st = self.inner.lock();
        let mut v: Vec<Topic> = st
            .forum
            .as_ref()
            .map(|f| f.topics.values().cloned().collect())
            .unwrap_or_default();
        v.sort_by_key(|t| t.id);
        v
    }

    /// Deletes a topic by hand (Telegram tells bots nothing).
    pub fn delete_topic(&self, id: i64) {
        if let Some(t) = self
            .inner
            .lock()
            .forum
            .as_mut()
            .and_then(|f| f.topics.get_mut(&id))
        {
            t.deleted = true;
        }
    }

    /// Closes a topic by hand: the service message `forum_topic_closed` is
    /// queued as an update, as Telegram does.
    pub fn close_topic(&self, id: i64) -> i64 {
        let mut st = self.inner.lock();
        let chat = st.forum.as_ref().map_or(FORUM_CHAT, |f| f.chat);
        if let Some(t) = st.forum.as_mut().and_then(|f| f.topics.get_mut(&id)) {
            t.closed = true;
        }
        let mid = st.next_message_id;
        st.next_message_id += 1;
        let uid = st.next_update_id;
        st.next_update_id += 1;
        let m = json!({
            "message_id": mid, "date": now_unix(), "chat": chat_json(&st, chat),
            "from": human(chat), "message_thread_id": id, "is_topic_message": true,
            "forum_topic_closed": {},
        });
        st.messages.insert(mid, m.clone());
        st.updates
            .push_back(json!({"update_id": uid, "message": m}));
        uid
    }

    /// The emoji of accepted `setMessageReaction` calls on `message_id`, in order.
    pub fn reactions_on(&self, message_id: i64) -> Vec<String> {
        self.with_calls(|c| {
            c.iter()
                .filter(|c| c.is("setMessageReaction") && c.ok())
                .filter(|c| {
                    c.str_param("message_id").and_then(|m| m.parse().ok()) == Some(message_id)
                })
                .filter_map(|c| {
                    let r: Value = match c.params.get("reaction") {
                        Some(Value::String(s)) => serde_json::from_str(s).ok()?,
                        Some(v) => v.clone(),
                        None => return None,
                    };
                    r[0]["emoji"].as_str().map(str::to_owned)
                })
                .collect()
        })
    }
}
