//! Updates: what users send to the bot ([`Incoming`], turned into the Bot
//! API's `Update` JSON) and their edits (`edited_message`, honouring
//! `allowed_updates`), `getUpdates` long polling with `offset`
//! semantics, and the webhook methods (`setWebhook`, `deleteWebhook`,
//! `getWebhookInfo`; `getUpdates` is refused while a webhook is set).

use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::{
    ApiResult, Inner, LONG_POLL_CAP, St, TelegramDouble, bad, bot_user, callbacks, forum,
    media::{photo_size, store_file},
    now_unix, param_str, utf16_len,
};

/// A message a user sends to the bot (pushed to `getUpdates` or posted to a webhook).
#[derive(Clone, Debug)]
pub struct Incoming {
    pub chat_id: i64,
    pub text: Option<String>,
    pub caption: Option<String>,
    /// The id of the message this one replies to.
    pub reply_to: Option<i64>,
    pub media: Option<Media>,
    /// The forum topic it is written in (`message_thread_id`).
    pub topic: Option<i64>,
    /// Its sender's user id (default: the chat's user, or the group's admin).
    pub from: Option<i64>,
}

/// Media of an [`Incoming`] message; the double stores the bytes for
/// `getFile` and the download path.
#[derive(Clone, Debug)]
pub enum Media {
    Photo(Vec<u8>),
    Voice(Vec<u8>),
    Audio {
        bytes: Vec<u8>,
        file_name: String,
    },
    /// A file sent "as a document", with its declared MIME type.
    Document {
        bytes: Vec<u8>,
        file_name: String,
        mime_type: String,
    },
    /// Something sohbet cannot pass on (a sticker).
    Sticker,
}

impl Incoming {
    pub fn text(chat_id: i64, text: &str) -> Incoming {
        Incoming {
            chat_id,
            text: Some(text.to_owned()),
            caption: None,
            reply_to: None,
            media: None,
            topic: None,
            from: None,
        }
    }

    pub fn media(chat_id: i64, media: Media, caption: Option<&str>) -> Incoming {
        Incoming {
            chat_id,
            text: None,
            caption: caption.map(Into::into),
            reply_to: None,
            media: Some(media),
            topic: None,
            from: None,
        }
    }

    /// Written by group member `user` (a user id of its own).
    pub fn by_member(mut self, user: i64) -> Incoming {
        self.from = Some(user);
        self
    }

    pub fn reply_to(mut self, message_id: i64) -> Incoming {
        self.reply_to = Some(message_id);
        self
    }

    /// Written in forum topic `topic` (not a reply unless [`Incoming::reply_to`]).
    pub fn in_topic(mut self, topic: i64) -> Incoming {
        self.topic = Some(topic);
        self
    }
}

impl TelegramDouble {
    /// The webhook registered by `setWebhook`: (url, secret_token).
    pub fn webhook(&self) -> Option<(String, Option<String>)> {
        self.inner.lock().webhook.clone()
    }

    /// Waits until `getUpdates` asked for an offset past `update_id`, i.e.
    /// the app received that update (and confirmed it).
    pub async fn wait_consumed(&self, update_id: i64, within: Duration) {
        let deadline = Instant::now() + within;
        while self.inner.lock().max_offset <= update_id {
            if Instant::now() >= deadline {
                panic!(
                    "Telegram double: update {update_id} not fetched within {within:?}. Calls:\n{}",
                    self.summary()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Builds an update for `msg` (registering the message and its media)
    /// without queueing it: for webhook posts. Returns the update JSON.
    pub fn update_json(&self, msg: Incoming) -> Value {
        let mut st = self.inner.lock();
        build_update(&mut st, msg)
    }

    /// Queues `msg` for `getUpdates`; returns (update_id, message_id).
    pub fn push(&self, msg: Incoming) -> (i64, i64) {
        let mut st = self.inner.lock();
        let upd = build_update(&mut st, msg);
        let ids = (
            upd["update_id"].as_i64().expect("update_id"),
            upd["message"]["message_id"].as_i64().expect("message_id"),
        );
        st.updates.push_back(upd);
        ids
    }
}

impl TelegramDouble {
    /// Edits message `message_id` (as the double knows it: one a user
    /// sent, or one the bot sent) to `text`, as Telegram reports it: an
    /// `edited_message` update carrying the whole message with its new
    /// `text` (a media message: its `caption`) and an `edit_date`, `from`
    /// its sender unless `by` (a group member's user id) says otherwise.
    /// The stored message changes too. `None` when the bot did not ask for
    /// `edited_message` (`allowed_updates`): Telegram drops it then.
    /// Returns the update JSON without queueing it (for webhook posts).
    pub fn edit_json(&self, message_id: i64, text: &str, by: Option<i64>) -> Option<Value> {
        let mut st = self.inner.lock();
        if !super::callbacks::wanted(&st, "edited_message") {
            return None;
        }
        let mut m = st
            .messages
            .get(&message_id)
            .cloned()
            .unwrap_or_else(|| panic!("Telegram double: no message {message_id} to edit"));
        let media = ["photo", "voice", "audio", "document"]
            .iter()
            .any(|k| m.get(k).is_some());
        m[if media { "caption" } else { "text" }] = json!(text);
        m["edit_date"] = json!(now_unix());
        st.messages.insert(message_id, m.clone());
        // A forged editor is in this update only; the message keeps its sender.
        if let Some(user) = by {
            m["from"] = super::member(user);
        }
        let update_id = st.next_update_id;
        st.next_update_id += 1;
        Some(json!({"update_id": update_id, "edited_message": m}))
    }

    /// Queues [`TelegramDouble::edit_json`] for `getUpdates`; returns its
    /// update id (`None`: not asked for, dropped).
    pub fn push_edit(&self, message_id: i64, text: &str, by: Option<i64>) -> Option<i64> {
        let upd = self.edit_json(message_id, text, by)?;
        let id = upd["update_id"].as_i64().expect("update_id");
        self.inner.lock().updates.push_back(upd);
        Some(id)
    }
}

pub(super) fn build_update(st: &mut St, msg: Incoming) -> Value {
    let update_id = st.next_update_id;
    st.next_update_id += 1;
    let message_id = st.next_message_id;
    st.next_message_id += 1;
    st.known_chats.insert(msg.chat_id);
    let mut m = json!({
        "message_id": message_id,
        "date": now_unix(),
        "chat": forum::chat_json(st, msg.chat_id),
        "from": msg.from.map_or_else(|| forum::human(msg.chat_id), super::member),
    });
    if let Some(topic) = msg.topic {
        m["message_thread_id"] = json!(topic);
        m["is_topic_message"] = json!(true);
        if msg.reply_to.is_none()
            && let Some(created) = st.messages.get(&topic)
        {
            // In a topic, a message that is no reply "replies" to the
            // topic's creation message (as Telegram sends it).
            m["reply_to_message"] = created.clone();
        }
    }
    if let Some(text) = &msg.text {
        m["text"] = json!(text);
        if text.starts_with('/') {
            let len = utf16_len(text.split_whitespace().next().unwrap_or(""));
            m["entities"] = json!([{"type": "bot_command", "offset": 0, "length": len}]);
        }
    }
    if let Some(c) = &msg.caption {
        m["caption"] = json!(c);
    }
    if let Some(media) = msg.media {
        match media {
            Media::Photo(bytes) => {
                let small = store_file(st, "photos", "jpg", bytes.clone());
                let big = store_file(st, "photos", "jpg", bytes);
                m["photo"] = json!([photo_size(&small, 90, 90), photo_size(&big, 800, 600),]);
            }
            Media::Voice(bytes) => {
                let f = store_file(st, "voice", "oga", bytes);
                m["voice"] = json!({
                    "file_id": f.0, "file_unique_id": f.1.unique_id,
                    "duration": 2, "mime_type": "audio/ogg", "file_size": f.1.bytes.len(),
                });
            }
            Media::Document {
                bytes,
                file_name,
                mime_type,
            } => {
                let f = store_file(st, "documents", "bin", bytes);
                m["document"] = json!({
                    "file_id": f.0, "file_unique_id": f.1.unique_id, "file_name": file_name,
                    "mime_type": mime_type, "file_size": f.1.bytes.len(),
                });
            }
            Media::Sticker => {
                let f = store_file(st, "stickers", "webp", b"RIFF".to_vec());
                m["sticker"] = json!({
                    "file_id": f.0, "file_unique_id": f.1.unique_id, "type": "regular",
                    "width": 512, "height": 512, "is_animated": false, "is_video": false,
                });
            }
            Media::Audio { bytes, file_name } => {
                let f = store_file(st, "music", "mp3", bytes);
                m["audio"] = json!({
                    "file_id": f.0, "file_unique_id": f.1.unique_id, "duration": 3,
                    "file_name": file_name, "mime_type": "audio/mpeg", "file_size": f.1.bytes.len(),
                });
            }
        }
    }
    if let Some(parent) = msg.reply_to {
        let mut p = st.messages.get(&parent).cloned().unwrap_or_else(
            || json!({"message_id": parent, "date": now_unix(), "from": bot_user(), "text": "…"}),
        );
        // As seen from the replying chat; Telegram does not nest replies further.
        p["chat"] = forum::chat_json(st, msg.chat_id);
        if let Some(o) = p.as_object_mut() {
            o.remove("reply_to_message");
        }
        m["reply_to_message"] = p;
    }
    st.messages.insert(message_id, m.clone());
    json!({"update_id": update_id, "message": m})
}

pub(super) async fn get_updates(d: &Inner, p: &Map<String, Value>) -> ApiResult {
    let offset: i64 = param_str(p, "offset")
        .and_then(|o| o.parse().ok())
        .unwrap_or(0);
    let limit: usize = param_str(p, "limit")
        .and_then(|o| o.parse().ok())
        .filter(|&l: &usize| (1..=100).contains(&l))
        .unwrap_or(100);
    let timeout: u64 = param_str(p, "timeout")
        .and_then(|o| o.parse().ok())
        .unwrap_or(0);
    let hold = Duration::from_secs(timeout).min(LONG_POLL_CAP);
    let deadline = Instant::now() + hold;
    loop {
        {
            let mut st = d.lock();
            if st.webhook.is_some() {
                return Err((
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first".into(),
                ));
            }
            if offset > 0 {
                // Confirms every update before `offset`.
                st.updates
                    .retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
            } else if offset < 0 {
                let keep = offset.unsigned_abs() as usize;
                while st.updates.len() > keep {
                    st.updates.pop_front();
                }
            }
            if !st.updates.is_empty() || Instant::now() >= deadline {
                let out: Vec<Value> = st.updates.iter().take(limit).cloned().collect();
                return Ok(Value::Array(out));
            }
        }
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
}

/// The webhook methods; `None` for any other method.
pub(super) fn call(st: &mut St, m: &str, p: &Map<String, Value>) -> Option<ApiResult> {
    Some(match m {
        "getwebhookinfo" => {
            let url = st.webhook.as_ref().map(|w| w.0.clone()).unwrap_or_default();
            Ok(
                json!({"url": url, "has_custom_certificate": false, "pending_update_count": st.updates.len()}),
            )
        }
        "deletewebhook" => {
            st.webhook = None;
            if matches!(
                param_str(p, "drop_pending_updates").as_deref(),
                Some("true" | "1")
            ) {
                st.updates.clear();
            }
            Ok(json!(true))
        }
        "setwebhook" => set_webhook(st, p),
        _ => return None,
    })
}

fn set_webhook(st: &mut St, p: &Map<String, Value>) -> ApiResult {
    let url = param_str(p, "url").unwrap_or_default();
    if url.is_empty() {
        st.webhook = None;
        return Ok(json!(true));
    }
    if !url.starts_with("https://") {
        return Err(bad(
            "bad webhook: An HTTPS URL must be provided for webhook",
        ));
    }
    let secret = param_str(p, "secret_token");
    if let Some(s) = &secret
        && (s.is_empty()
            || s.len() > 256
            || !s
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
    {
        return Err(bad("secret token contains unallowed characters"));
    }
    st.webhook = Some((url, secret));
    callbacks::note_allowed(st, p);
    Ok(json!(true))
}
