//! A Telegram Bot API double: an axum server on 127.0.0.1:0 in the test
//! process that speaks the Bot API's request and answer JSON at
//! `/bot<token>/<method>` (JSON, form or multipart bodies, like Telegram) and
//! serves files at `/file/bot<token>/<file_path>`.
//!
//! It records every call in order, long-polls `getUpdates` with `offset`
//! semantics, refuses what Telegram refuses (texts whose entities do not
//! parse for their `parse_mode`, texts over 4096 UTF-16 units, empty texts,
//! unknown chats, non-HTTPS webhooks, `getUpdates` while a webhook is set)
//! and fails on demand: 502 with nginx's HTML page while "down", 429
//! `retry_after` for the next K calls of a method, a refusal or an
//! unreadable answer for sends whose text or caption contains a marker
//! ([`TelegramDouble::fail_sends_containing`]). It can also accept a send
//! and hold its answer back ([`TelegramDouble::hold_sends_containing`]), as
//! when the app dies between Telegram taking a message and hearing so; and
//! it counts how many sends were in flight at once.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::{Body, Bytes},
    extract::{DefaultBodyLimit, State},
    http::{HeaderMap, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value, json};

#[path = "telegram_forum.rs"]
pub mod forum;

#[path = "telegram_buttons.rs"]
pub mod buttons;

/// The bot token the double accepts.
pub const TOKEN: &str = "123:TEST";
/// The bot's user id (the token's prefix).
pub const BOT_ID: i64 = 123;
/// The admin chat (`TELEGRAM_CHAT_ID`).
pub const ADMIN_CHAT: i64 = 4242;
/// `sendMessage` text limit, UTF-16 units.
pub const TEXT_LIMIT: usize = 4096;
/// Caption limit, UTF-16 units.
pub const CAPTION_LIMIT: usize = 1024;
/// Longest hold of a `getUpdates` long poll (Telegram holds up to `timeout`).
const LONG_POLL_CAP: Duration = Duration::from_secs(1);

const NGINX_502: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n\
    <center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

/// A file part of a multipart request.
#[derive(Clone, Debug)]
pub struct Upload {
    /// The form field (teloxide: a random id referenced as `attach://<id>`).
    pub name: String,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

/// One recorded request and what the double answered.
#[derive(Clone, Debug)]
pub struct Call {
    /// Position in the record (a call is recorded when it is answered; a
    /// held send when it was accepted).
    pub seq: usize,
    /// When it arrived.
    pub at: Instant,
    /// The method as sent (`sendMessage`), or `file` for a download.
    pub method: String,
    /// `json`, `multipart`, `form` or `none`.
    pub encoding: &'static str,
    /// The parameters (multipart and form fields are strings, as sent).
    pub params: Map<String, Value>,
    /// Multipart file parts.
    pub uploads: Vec<Upload>,
    /// HTTP status of the answer.
    pub status: u16,
    /// The answer: the Bot API envelope, or the HTML page of a 502.
    pub answer: Value,
}

impl Call {
    /// Same method (Telegram's method names are case-insensitive).
    pub fn is(&self, method: &str) -> bool {
        self.method.eq_ignore_ascii_case(method)
    }

    /// Telegram answered `ok: true`.
    pub fn ok(&self) -> bool {
        self.answer["ok"] == json!(true)
    }

    pub fn str_param(&self, name: &str) -> Option<String> {
        param_str(&self.params, name)
    }

    pub fn text(&self) -> Option<String> {
        self.str_param("text")
    }

    pub fn caption(&self) -> Option<String> {
        self.str_param("caption")
    }

    pub fn parse_mode(&self) -> Option<String> {
        self.str_param("parse_mode")
    }

    pub fn chat_id(&self) -> Option<i64> {
        self.str_param("chat_id").and_then(|c| c.parse().ok())
    }

    /// The `message_id` of the message Telegram answered with.
    pub fn message_id(&self) -> Option<i64> {
        self.answer["result"]["message_id"].as_i64()
    }

    /// The file sent in `field` (`photo`, `voice`, …), following `attach://`.
    pub fn file(&self, field: &str) -> Option<&Upload> {
        let v = self.str_param(field)?;
        let name = v.strip_prefix("attach://").unwrap_or(&v);
        self.uploads.iter().find(|u| u.name == name)
    }

    /// One line for failure messages.
    pub fn summary(&self) -> String {
        let mut what = self
            .text()
            .or_else(|| self.caption())
            .or_else(|| self.str_param("offset").map(|o| format!("offset={o}")))
            .unwrap_or_default();
        if what.chars().count() > 80 {
            what = what.chars().take(80).collect::<String>() + "…";
        }
        format!(
            "#{} {} chat={:?} parse_mode={:?} → {} {:?}",
            self.seq,
            self.method,
            self.chat_id(),
            self.parse_mode(),
            self.status,
            what
        )
    }
}

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
        }
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

/// 429 for the next `remaining` calls of `method`.
#[derive(Clone, Debug)]
struct Throttle {
    method: String,
    remaining: usize,
    retry_after: u32,
}

#[derive(Clone, Debug)]
struct StoredFile {
    unique_id: String,
    path: String,
    bytes: Vec<u8>,
}

#[derive(Default)]
struct St {
    calls: Vec<Call>,
    /// Not yet confirmed updates (by a later `offset`), oldest first.
    updates: VecDeque<Value>,
    next_update_id: i64,
    next_message_id: i64,
    next_file: u64,
    /// Every message (sent by the bot or pushed), by id.
    messages: HashMap<i64, Value>,
    /// Chats that talked to the bot (the bot may write only to those).
    known_chats: HashSet<i64>,
    down: bool,
    throttles: Vec<Throttle>,
    webhook: Option<(String, Option<String>)>,
    files: HashMap<String, StoredFile>,
    /// Highest `offset` a `getUpdates` call asked for (confirms older updates).
    max_offset: i64,
    /// Sends whose text or caption contains the marker fail this way.
    failing: Vec<(String, Failure)>,
    /// Sends whose text or caption contains the marker are accepted, then
    /// answered only once released.
    holding: Vec<String>,
    /// Bumped by [`TelegramDouble::release`].
    release_epoch: u64,
    /// `send*` calls being handled now, and the most there ever were.
    sends_in_flight: usize,
    max_sends_in_flight: usize,
    /// `TELEGRAM_CHAT_ID` of [`TelegramDouble::env`].
    admin_chat: i64,
    /// The admin chat is a (forum) supergroup.
    forum: Option<forum::Forum>,
    /// Messages per chat in a sliding window.
    chat_limit: forum::ChatLimit,
    /// Inline keyboards, callback queries, `allowed_updates`.
    buttons: buttons::Buttons,
}

/// How a send named by [`TelegramDouble::fail_sends_containing`] fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// 400 `Bad Request` (the app gives up after a few tries).
    Refused,
    /// 200 with an answer cut short (invalid JSON that echoes the text, as
    /// Telegram's answer would): a transient error for the app, retried
    /// forever; no 5xx, so teloxide's 10 s pause after a 5xx does not slow
    /// the test down.
    Garbled,
}

struct Inner {
    st: Mutex<St>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, St> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The running double; dropping it stops the server.
pub struct TelegramDouble {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:<port>` (the `TELEGRAM_API_URL`).
    pub url: String,
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TelegramDouble {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type ApiResult = Result<Value, (u16, String)>;

fn bad(desc: impl Into<String>) -> (u16, String) {
    (400, format!("Bad Request: {}", desc.into()))
}

fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

fn param_str(p: &Map<String, Value>, name: &str) -> Option<String> {
    match p.get(name)? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn truthy(p: &Map<String, Value>, name: &str) -> bool {
    matches!(param_str(p, name).as_deref(), Some("true") | Some("1"))
}

fn bot_user() -> Value {
    json!({"id": BOT_ID, "is_bot": true, "first_name": "sohbet", "username": "sohbet_bot"})
}

fn user(chat_id: i64) -> Value {
    let name = if chat_id == ADMIN_CHAT {
        "Admin"
    } else {
        "Stranger"
    };
    json!({"id": chat_id, "is_bot": false, "first_name": name, "language_code": "en"})
}

fn private_chat(chat_id: i64) -> Value {
    let name = if chat_id == ADMIN_CHAT {
        "Admin"
    } else {
        "Stranger"
    };
    json!({"id": chat_id, "type": "private", "first_name": name})
}

impl TelegramDouble {
    /// Starts the double; the admin chat is known (it "pressed Start").
    pub async fn start() -> TelegramDouble {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Telegram double");
        let addr = listener.local_addr().expect("addr");
        let st = St {
            next_update_id: 500_000,
            next_message_id: 100,
            next_file: 1,
            known_chats: HashSet::from([ADMIN_CHAT]),
            admin_chat: ADMIN_CHAT,
            ..St::default()
        };
        let inner = Arc::new(Inner { st: Mutex::new(st) });
        let app = Router::new()
            .fallback(handle)
            .layer(DefaultBodyLimit::max(64 * 1024 * 1024))
            .with_state(inner.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        TelegramDouble {
            addr,
            url: format!("http://{addr}"),
            inner,
            task,
        }
    }

    /// The variables that point the app at this double (token, admin chat,
    /// API URL, a 50 ms retry base, no send pacing).
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("TELEGRAM_BOT_TOKEN".into(), TOKEN.into()),
            (
                "TELEGRAM_CHAT_ID".into(),
                self.inner.lock().admin_chat.to_string(),
            ),
            ("TELEGRAM_API_URL".into(), self.url.clone()),
            ("TELEGRAM_RETRY_BASE_MS".into(), "50".into()),
            // No pacing unless a test sets it (the double enforces no
            // per-chat limit unless told to, `set_chat_limit`).
            ("TELEGRAM_CHAT_MESSAGES_PER_MINUTE".into(), "0".into()),
        ]
    }

    /// While down, every Bot API call answers 502 with nginx's HTML page.
    pub fn set_down(&self, down: bool) {
        self.inner.lock().down = down;
    }

    /// The next `times` calls of `method` answer 429 `retry_after`.
    pub fn throttle(&self, method: &str, times: usize, retry_after: u32) {
        self.inner.lock().throttles.push(Throttle {
            method: method.to_ascii_lowercase(),
            remaining: times,
            retry_after,
        });
    }

    /// Sends (`send*`) whose text or caption contains `marker` fail as `how`.
    pub fn fail_sends_containing(&self, marker: &str, how: Failure) {
        self.inner.lock().failing.push((marker.to_owned(), how));
    }

    /// Sends whose text or caption contains `marker` are accepted (the
    /// message exists and the call is recorded) but answered only after
    /// [`TelegramDouble::release`] (or 60 s).
    pub fn hold_sends_containing(&self, marker: &str) {
        self.inner.lock().holding.push(marker.to_owned());
    }

    /// Answers every held send and holds no more.
    pub fn release(&self) {
        let mut st = self.inner.lock();
        st.holding.clear();
        st.release_epoch += 1;
    }

    /// The most `send*` calls that were ever handled at the same time.
    pub fn max_sends_in_flight(&self) -> usize {
        self.inner.lock().max_sends_in_flight
    }

    /// Every call so far, in order of arrival.
    pub fn calls(&self) -> Vec<Call> {
        self.inner.lock().calls.clone()
    }

    /// Runs `f` over the calls so far (no copy).
    pub fn with_calls<T>(&self, f: impl FnOnce(&[Call]) -> T) -> T {
        f(&self.inner.lock().calls)
    }

    /// Accepted `send*` calls to `chat`, in order.
    pub fn sends_to(&self, chat: i64) -> Vec<Call> {
        self.with_calls(|c| {
            c.iter()
                .filter(|c| {
                    c.method.to_ascii_lowercase().starts_with("send")
                        && c.chat_id() == Some(chat)
                        && c.ok()
                })
                .cloned()
                .collect()
        })
    }

    /// Texts of accepted `sendMessage` calls to `chat`, in order.
    pub fn texts_to(&self, chat: i64) -> Vec<String> {
        self.sends_to(chat)
            .iter()
            .filter(|c| c.is("sendMessage"))
            .filter_map(Call::text)
            .collect()
    }

    /// The webhook registered by `setWebhook`: (url, secret_token).
    pub fn webhook(&self) -> Option<(String, Option<String>)> {
        self.inner.lock().webhook.clone()
    }

    /// All calls, one line each (for failure messages).
    pub fn summary(&self) -> String {
        self.with_calls(|c| c.iter().map(Call::summary).collect::<Vec<_>>().join("\n"))
    }

    /// Polls (every 20 ms) until `f` over the calls gives `Some`; panics
    /// with `what` and the call list after `within`.
    pub async fn wait_for<T>(
        &self,
        what: &str,
        within: Duration,
        mut f: impl FnMut(&[Call]) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + within;
        loop {
            if let Some(t) = self.with_calls(&mut f) {
                return t;
            }
            if Instant::now() >= deadline {
                panic!(
                    "Telegram double: {what}: not seen within {within:?}. Calls:\n{}",
                    self.summary()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for the first call matching `pred`.
    pub async fn wait_call(
        &self,
        what: &str,
        within: Duration,
        pred: impl Fn(&Call) -> bool,
    ) -> Call {
        self.wait_for(what, within, |calls| {
            calls.iter().find(|c| pred(c)).cloned()
        })
        .await
    }

    /// Waits for an accepted `sendMessage` to `chat` whose text satisfies `pred`.
    pub async fn wait_text_to(
        &self,
        chat: i64,
        what: &str,
        within: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Call {
        self.wait_call(what, within, |c| {
            c.is("sendMessage")
                && c.ok()
                && c.chat_id() == Some(chat)
                && c.text().is_some_and(|t| pred(&t))
        })
        .await
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

fn build_update(st: &mut St, msg: Incoming) -> Value {
    let update_id = st.next_update_id;
    st.next_update_id += 1;
    let message_id = st.next_message_id;
    st.next_message_id += 1;
    st.known_chats.insert(msg.chat_id);
    let mut m = json!({
        "message_id": message_id,
        "date": now_unix(),
        "chat": forum::chat_json(st, msg.chat_id),
        "from": forum::human(msg.chat_id),
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

fn store_file(st: &mut St, dir: &str, ext: &str, bytes: Vec<u8>) -> (String, StoredFile) {
    let n = st.next_file;
    st.next_file += 1;
    let id = format!("AgACAgIAAxkBAAIB{n:06}");
    let f = StoredFile {
        unique_id: format!("AQAD{n:06}"),
        path: format!("{dir}/file_{n}.{ext}"),
        bytes,
    };
    st.files.insert(id.clone(), f.clone());
    (id, f)
}

fn photo_size(f: &(String, StoredFile), w: u32, h: u32) -> Value {
    json!({"file_id": f.0, "file_unique_id": f.1.unique_id, "width": w, "height": h, "file_size": f.1.bytes.len()})
}

// ---------------------------------------------------------------- the server

async fn handle(
    State(d): State<Arc<Inner>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = percent_decode(uri.path());
    if let Some(rest) = path.strip_prefix("/file/bot") {
        return download(&d, rest);
    }
    let Some((token, method)) = path
        .strip_prefix("/bot")
        .and_then(|r| r.split_once('/'))
        .map(|(t, m)| (t.to_owned(), m.trim_end_matches('/').to_owned()))
    else {
        return envelope(404, Err((404, "Not Found".into())));
    };
    let (encoding, params, uploads) = match parse_params(&headers, uri.query(), &body) {
        Ok(p) => p,
        Err(e) => {
            return envelope(400, Err(bad(e)));
        }
    };
    let lower = method.to_ascii_lowercase();
    let seq_at = Instant::now();
    if lower == "getupdates" {
        let off = param_str(&params, "offset").and_then(|o| o.parse::<i64>().ok());
        let mut st = d.lock();
        if let Some(o) = off {
            st.max_offset = st.max_offset.max(o);
        }
        buttons::note_allowed(&mut st, &params);
    }
    enum Pre {
        Down,
        Refuse(ApiResult),
        Garble,
        Go,
    }
    let is_send = lower.starts_with("send");
    let _in_flight = is_send.then(|| InFlight::enter(&d));
    let content = param_str(&params, "text")
        .or_else(|| param_str(&params, "caption"))
        .unwrap_or_default();
    let (pre, hold) = {
        let mut st = d.lock();
        let failing = st
            .failing
            .iter()
            .find(|(m, _)| is_send && content.contains(m.as_str()))
            .map(|(_, how)| *how);
        let hold = (is_send && st.holding.iter().any(|m| content.contains(m.as_str())))
            .then_some(st.release_epoch);
        let pre = if token != TOKEN {
            Pre::Refuse(Err((401, "Unauthorized".into())))
        } else if st.down {
            Pre::Down
        } else if let Some(t) = st
            .throttles
            .iter_mut()
            .find(|t| t.remaining > 0 && t.method == lower)
        {
            t.remaining -= 1;
            let ra = t.retry_after;
            Pre::Refuse(Err((429, format!("Too Many Requests: retry after {ra}"))))
        } else if let Some(r) = (token == TOKEN)
            .then(|| forum::pre_check(&mut st, &lower, &params))
            .flatten()
        {
            Pre::Refuse(r)
        } else if failing == Some(Failure::Refused) {
            Pre::Refuse(Err(bad("message refused by the test double")))
        } else if failing == Some(Failure::Garbled) {
            Pre::Garble
        } else {
            Pre::Go
        };
        (pre, hold)
    };
    let garbled = matches!(pre, Pre::Garble);
    let res = match pre {
        Pre::Down | Pre::Garble => None,
        Pre::Refuse(r) => Some(r),
        Pre::Go if lower == "getupdates" => Some(get_updates(&d, &params).await),
        Pre::Go => Some(call(&d, &lower, &params, &uploads)),
    };
    let (status, answer, response) = match res {
        None if garbled => {
            // An answer cut short: it echoes the message, like Telegram's.
            let cut = format!(r#"{{"ok":true,"result":{{"text":{}"#, json!(content));
            let resp = (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                cut.clone(),
            )
                .into_response();
            (200, Value::String(cut), resp)
        }
        None => {
            let resp = (
                StatusCode::BAD_GATEWAY,
                [(header::CONTENT_TYPE, "text/html")],
                NGINX_502,
            )
                .into_response();
            (502, Value::String(NGINX_502.into()), resp)
        }
        Some(res) => {
            let status = match &res {
                Ok(_) => 200,
                Err((code, _)) => *code,
            };
            let answer = envelope_json(&res);
            let resp = json_response(status, &answer);
            (status, answer, resp)
        }
    };
    {
        let mut st = d.lock();
        let seq = st.calls.len();
        st.calls.push(Call {
            seq,
            at: seq_at,
            method,
            encoding,
            params,
            uploads,
            status,
            answer,
        });
    }
    // A held send is recorded (Telegram took it) before its answer leaves.
    if let Some(epoch) = hold {
        let deadline = Instant::now() + Duration::from_secs(60);
        while d.lock().release_epoch == epoch && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    response
}

/// Counts a `send*` call in flight while it lives (also when the client
/// goes away and the handler is dropped).
struct InFlight(Arc<Inner>);

impl InFlight {
    fn enter(d: &Arc<Inner>) -> InFlight {
        let mut st = d.lock();
        st.sends_in_flight += 1;
        st.max_sends_in_flight = st.max_sends_in_flight.max(st.sends_in_flight);
        InFlight(d.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.lock().sends_in_flight -= 1;
    }
}

fn envelope_json(res: &ApiResult) -> Value {
    match res {
        Ok(v) => json!({"ok": true, "result": v}),
        Err((429, desc)) => {
            let ra: u32 = desc
                .rsplit(' ')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
            json!({"ok": false, "error_code": 429, "description": desc, "parameters": {"retry_after": ra}})
        }
        Err((code, desc)) => json!({"ok": false, "error_code": code, "description": desc}),
    }
}

fn json_response(status: u16, v: &Value) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

fn envelope(status: u16, res: ApiResult) -> Response {
    json_response(status, &envelope_json(&res))
}

fn download(d: &Inner, rest: &str) -> Response {
    let Some((token, file_path)) = rest.split_once('/') else {
        return envelope(404, Err((404, "Not Found".into())));
    };
    let mut st = d.lock();
    let found = if token == TOKEN && !st.down {
        st.files
            .values()
            .find(|f| f.path == file_path)
            .map(|f| f.bytes.clone())
    } else {
        None
    };
    let seq = st.calls.len();
    st.calls.push(Call {
        seq,
        at: Instant::now(),
        method: "file".into(),
        encoding: "none",
        params: Map::from_iter([("file_path".to_owned(), json!(file_path))]),
        uploads: vec![],
        status: if found.is_some() { 200 } else { 404 },
        answer: json!({"ok": found.is_some()}),
    });
    match found {
        Some(bytes) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/octet-stream")],
            Body::from(bytes),
        )
            .into_response(),
        None => envelope(404, Err((404, "Not Found".into()))),
    }
}

async fn get_updates(d: &Inner, p: &Map<String, Value>) -> ApiResult {
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

fn call(d: &Inner, m: &str, p: &Map<String, Value>, uploads: &[Upload]) -> ApiResult {
    let mut st = d.lock();
    match m {
        "getme" => Ok(json!({
            "id": BOT_ID, "is_bot": true, "first_name": "sohbet", "username": "sohbet_bot",
            "can_join_groups": true, "can_read_all_group_messages": false,
            "supports_inline_queries": false, "can_connect_to_business": false,
            "has_main_web_app": false,
        })),
        "getwebhookinfo" => {
            let url = st.webhook.as_ref().map(|w| w.0.clone()).unwrap_or_default();
            Ok(
                json!({"url": url, "has_custom_certificate": false, "pending_update_count": st.updates.len()}),
            )
        }
        "deletewebhook" => {
            st.webhook = None;
            if truthy(p, "drop_pending_updates") {
                st.updates.clear();
            }
            Ok(json!(true))
        }
        "setwebhook" => {
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
            buttons::note_allowed(&mut st, p);
            Ok(json!(true))
        }
        "sendmessage" => {
            let chat = chat_of(&st, p)?;
            let text = param_str(p, "text").unwrap_or_default();
            let plain = if p.get("entities").is_some_and(|e| !e.is_null()) {
                text.clone()
            } else {
                parse_entities(param_str(p, "parse_mode").as_deref(), &text)
                    .map_err(|e| bad(format!("can't parse entities: {e}")))?
            };
            if plain.trim().is_empty() {
                return Err(bad("message text is empty"));
            }
            if utf16_len(&plain) > TEXT_LIMIT {
                return Err(bad("message is too long"));
            }
            let mut body = Map::new();
            body.insert("text".into(), json!(plain));
            if let Some(m) = buttons::markup(p)? {
                body.insert("reply_markup".into(), m);
            }
            forum::place(p, &mut body);
            reply_of(&st, p, &mut body);
            Ok(bot_message(&mut st, chat, body))
        }
        "sendphoto" | "sendvoice" | "sendaudio" | "senddocument" => {
            let field = &m[4..];
            let chat = chat_of(&st, p)?;
            let caption = param_str(p, "caption").unwrap_or_default();
            let plain = parse_entities(param_str(p, "parse_mode").as_deref(), &caption)
                .map_err(|e| bad(format!("can't parse entities: {e}")))?;
            if utf16_len(&plain) > CAPTION_LIMIT {
                return Err(bad("message caption is too long"));
            }
            let Some(value) = param_str(p, field) else {
                return Err(bad(format!("there is no {field} in the request")));
            };
            let bytes = if let Some(id) = value.strip_prefix("attach://") {
                match uploads.iter().find(|u| u.name == id) {
                    Some(u) if !u.bytes.is_empty() => u.bytes.clone(),
                    Some(_) => return Err(bad("file must be non-empty")),
                    None => return Err(bad(format!("there is no {field} in the request"))),
                }
            } else if let Some(f) = st.files.get(&value) {
                f.bytes.clone()
            } else if value.starts_with("http://") || value.starts_with("https://") {
                // Telegram would fetch the URL; the double pretends it did.
                value.clone().into_bytes()
            } else {
                return Err(bad(
                    "wrong remote file identifier specified: Wrong string length",
                ));
            };
            let ext = match field {
                "photo" => "jpg",
                "voice" => "oga",
                "audio" => "mp3",
                _ => "bin",
            };
            let f = store_file(&mut st, &format!("{field}s"), ext, bytes);
            let size = f.1.bytes.len();
            let mut body = Map::new();
            let media = match field {
                "photo" => json!([photo_size(&f, 90, 90), photo_size(&f, 800, 600)]),
                "voice" => json!({"file_id": f.0, "file_unique_id": f.1.unique_id, "duration": 2,
                                  "mime_type": "audio/ogg", "file_size": size}),
                "audio" => json!({"file_id": f.0, "file_unique_id": f.1.unique_id, "duration": 3,
                                  "mime_type": "audio/mpeg", "file_size": size, "file_name": "audio.mp3"}),
                _ => json!({"file_id": f.0, "file_unique_id": f.1.unique_id,
                            "file_name": "file.bin", "file_size": size}),
            };
            body.insert(field.to_owned(), media);
            if !plain.is_empty() {
                body.insert("caption".into(), json!(plain));
            }
            if let Some(m) = buttons::markup(p)? {
                body.insert("reply_markup".into(), m);
            }
            forum::place(p, &mut body);
            reply_of(&st, p, &mut body);
            Ok(bot_message(&mut st, chat, body))
        }
        "getfile" => {
            let id = param_str(p, "file_id").unwrap_or_default();
            match st.files.get(&id) {
                Some(f) => Ok(json!({
                    "file_id": id, "file_unique_id": f.unique_id,
                    "file_size": f.bytes.len(), "file_path": f.path,
                })),
                None => Err(bad("invalid file_id")),
            }
        }
        "setmycommands" | "deletemycommands" | "close" | "logout" => Ok(json!(true)),
        _ => forum::call(&mut st, m, p)
            .or_else(|| buttons::call(&mut st, m, p))
            .unwrap_or_else(|| Err((404, "Not Found".into()))),
    }
}

fn chat_of(st: &St, p: &Map<String, Value>) -> Result<i64, (u16, String)> {
    let raw = param_str(p, "chat_id").ok_or_else(|| bad("chat_id is empty"))?;
    let id: i64 = raw.parse().map_err(|_| bad("chat not found"))?;
    if !st.known_chats.contains(&id) {
        return Err(bad("chat not found"));
    }
    Ok(id)
}

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

// ---------------------------------------------------------------- requests

type Params = (&'static str, Map<String, Value>, Vec<Upload>);

fn parse_params(headers: &HeaderMap, query: Option<&str>, body: &[u8]) -> Result<Params, String> {
    let mut params = Map::new();
    if let Some(q) = query {
        for (k, v) in parse_urlencoded(q) {
            params.insert(k, Value::String(v));
        }
    }
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let lower = ctype.to_ascii_lowercase();
    if body.is_empty() {
        return Ok(("none", params, vec![]));
    }
    if lower.starts_with("application/json") {
        let v: Value =
            serde_json::from_slice(body).map_err(|_| "invalid JSON in the request body")?;
        match v {
            Value::Object(o) => params.extend(o),
            _ => return Err("the request body must be a JSON object".into()),
        }
        Ok(("json", params, vec![]))
    } else if lower.starts_with("multipart/form-data") {
        let boundary = ctype
            .split(';')
            .map(str::trim)
            .find_map(|p| p.strip_prefix("boundary="))
            .map(|b| b.trim_matches('"').to_owned())
            .ok_or("multipart without a boundary")?;
        let mut uploads = vec![];
        for part in parse_multipart(body, &boundary)? {
            if part.file_name.is_some() {
                uploads.push(part);
            } else {
                params.insert(
                    part.name.clone(),
                    Value::String(String::from_utf8_lossy(&part.bytes).into_owned()),
                );
            }
        }
        Ok(("multipart", params, uploads))
    } else {
        let text = std::str::from_utf8(body).map_err(|_| "the request body is not UTF-8")?;
        for (k, v) in parse_urlencoded(text) {
            params.insert(k, Value::String(v));
        }
        Ok(("form", params, vec![]))
    }
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from > hay.len() || needle.is_empty() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

fn parse_multipart(body: &[u8], boundary: &str) -> Result<Vec<Upload>, String> {
    let delim = format!("--{boundary}").into_bytes();
    let mut next_delim = b"\r\n".to_vec();
    next_delim.extend_from_slice(&delim);
    let mut pos = find(body, &delim, 0).ok_or("multipart: no boundary")? + delim.len();
    let mut parts = vec![];
    loop {
        if body[pos..].starts_with(b"--") {
            break;
        }
        if !body[pos..].starts_with(b"\r\n") {
            return Err("multipart: malformed boundary line".into());
        }
        pos += 2;
        let end = find(body, &next_delim, pos).ok_or("multipart: unterminated part")?;
        let part = &body[pos..end];
        let head_end = find(part, b"\r\n\r\n", 0).ok_or("multipart: part without headers")?;
        let head = String::from_utf8_lossy(&part[..head_end]).into_owned();
        let data = part[head_end + 4..].to_vec();
        let mut name = None;
        let mut file_name = None;
        let mut content_type = None;
        for line in head.split("\r\n") {
            let Some((h, v)) = line.split_once(':') else {
                continue;
            };
            if h.trim().eq_ignore_ascii_case("content-disposition") {
                for attr in v.split(';').map(str::trim) {
                    if let Some(n) = attr.strip_prefix("name=") {
                        name = Some(n.trim_matches('"').to_owned());
                    } else if let Some(n) = attr.strip_prefix("filename=") {
                        file_name = Some(n.trim_matches('"').to_owned());
                    }
                }
            } else if h.trim().eq_ignore_ascii_case("content-type") {
                content_type = Some(v.trim().to_owned());
            }
        }
        parts.push(Upload {
            name: name.ok_or("multipart: part without a name")?,
            file_name,
            content_type,
            bytes: data,
        });
        pos = end + next_delim.len();
    }
    Ok(parts)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_urlencoded(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                percent_decode(&k.replace('+', " ")),
                percent_decode(&v.replace('+', " ")),
            )
        })
        .collect()
}

// ---------------------------------------------------------------- entities

/// Checks `text` for `parse_mode` like Telegram: `Ok(text as shown)` or
/// `Err(the reason after "can't parse entities: ")`. No mode: any text.
pub fn parse_entities(parse_mode: Option<&str>, text: &str) -> Result<String, String> {
    match parse_mode.map(str::to_ascii_lowercase).as_deref() {
        None | Some("") => Ok(text.to_owned()),
        Some("markdownv2") => markdown_v2(text),
        Some("markdown") => markdown(text),
        Some("html") => html(text),
        Some(_) => Err("unsupported parse_mode".into()),
    }
}

fn markdown_v2(s: &str) -> Result<String, String> {
    let cs: Vec<(usize, char)> = s.char_indices().collect();
    let at = |i: usize, pat: &str| cs.get(i).is_some_and(|&(o, _)| s[o..].starts_with(pat));
    let mut out = String::new();
    let mut stack: Vec<(&'static str, usize)> = vec![];
    let toggle = |stack: &mut Vec<(&'static str, usize)>, name: &'static str, off: usize| {
        if let Some(pos) = stack.iter().rposition(|(n, _)| *n == name) {
            stack.truncate(pos);
        } else {
            stack.push((name, off));
        }
    };
    let mut i = 0;
    while i < cs.len() {
        let (off, c) = cs[i];
        match c {
            '\\' => match cs.get(i + 1) {
                Some(&(_, n)) if (n as u32) < 127 => {
                    out.push(n);
                    i += 2;
                }
                Some(_) => {
                    out.push('\\');
                    i += 1;
                }
                None => {
                    return Err(
                        "Character '\\' is reserved and must be escaped with the preceding '\\'"
                            .into(),
                    );
                }
            },
            '`' => {
                let delim = if at(i, "```") { "```" } else { "`" };
                let name = if delim.len() == 3 { "Pre" } else { "Code" };
                let mut j = i + delim.len();
                let mut inner = String::new();
                loop {
                    if j >= cs.len() {
                        return Err(format!(
                            "Can't find end of {name} entity at byte offset {off}"
                        ));
                    }
                    if cs[j].1 == '\\' && j + 1 < cs.len() {
                        inner.push(cs[j + 1].1);
                        j += 2;
                        continue;
                    }
                    if at(j, delim) {
                        break;
                    }
                    inner.push(cs[j].1);
                    j += 1;
                }
                out.push_str(&inner);
                i = j + delim.len();
            }
            '*' => {
                toggle(&mut stack, "Bold", off);
                i += 1;
            }
            '_' if at(i, "__") => {
                toggle(&mut stack, "Underline", off);
                i += 2;
            }
            '_' => {
                toggle(&mut stack, "Italic", off);
                i += 1;
            }
            '~' => {
                toggle(&mut stack, "Strikethrough", off);
                i += 1;
            }
            '|' if at(i, "||") => {
                toggle(&mut stack, "Spoiler", off);
                i += 2;
            }
            '[' => {
                stack.push(("TextUrl", off));
                i += 1;
            }
            ']' if stack.last().is_some_and(|(n, _)| *n == "TextUrl") => {
                stack.pop();
                if !at(i + 1, "(") {
                    return Err(format!("Can't find end of a URL at byte offset {off}"));
                }
                let mut j = i + 2;
                loop {
                    if j >= cs.len() {
                        return Err(format!("Can't find end of a URL at byte offset {off}"));
                    }
                    if cs[j].1 == '\\' {
                        j += 2;
                        continue;
                    }
                    if cs[j].1 == ')' {
                        break;
                    }
                    j += 1;
                }
                i = j + 1;
            }
            '>' if i == 0 || cs[i - 1].1 == '\n' => {
                i += 1;
            }
            ']' | '(' | ')' | '>' | '#' | '+' | '-' | '=' | '|' | '{' | '}' | '.' | '!' => {
                return Err(format!(
                    "Character '{c}' is reserved and must be escaped with the preceding '\\'"
                ));
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    if let Some((name, off)) = stack.first() {
        return Err(format!(
            "Can't find end of {name} entity at byte offset {off}"
        ));
    }
    Ok(out)
}

fn markdown(s: &str) -> Result<String, String> {
    let cs: Vec<(usize, char)> = s.char_indices().collect();
    let at = |i: usize, pat: &str| cs.get(i).is_some_and(|&(o, _)| s[o..].starts_with(pat));
    let mut out = String::new();
    let mut i = 0;
    let unclosed =
        |off: usize| format!("Can't find end of the entity starting at byte offset {off}");
    while i < cs.len() {
        let (off, c) = cs[i];
        match c {
            '\\' if cs
                .get(i + 1)
                .is_some_and(|&(_, n)| matches!(n, '_' | '*' | '`' | '[')) =>
            {
                out.push(cs[i + 1].1);
                i += 2;
            }
            '*' | '_' | '`' => {
                let delim = if c == '`' && at(i, "```") {
                    "```"
                } else {
                    &s[off..off + 1]
                };
                let mut j = i + delim.chars().count();
                let start = j;
                while j < cs.len() && !at(j, delim) {
                    j += 1;
                }
                if j >= cs.len() {
                    return Err(unclosed(off));
                }
                out.extend(cs[start..j].iter().map(|&(_, c)| c));
                i = j + delim.chars().count();
            }
            '[' => {
                let mut j = i + 1;
                while j < cs.len() && cs[j].1 != ']' {
                    j += 1;
                }
                if j >= cs.len() {
                    return Err(unclosed(off));
                }
                let label: String = cs[i + 1..j].iter().map(|&(_, c)| c).collect();
                if at(j + 1, "(") {
                    let mut k = j + 2;
                    while k < cs.len() && cs[k].1 != ')' {
                        k += 1;
                    }
                    if k >= cs.len() {
                        return Err(unclosed(off));
                    }
                    out.push_str(&label);
                    i = k + 1;
                } else {
                    out.push('[');
                    out.push_str(&label);
                    out.push(']');
                    i = j + 1;
                }
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

const HTML_TAGS: &[&str] = &[
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "tg-emoji",
    "code",
    "pre",
    "blockquote",
];

fn html(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = String::new();
    let mut stack: Vec<String> = vec![];
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'<' => {
                let off = i;
                let close = b.get(i + 1) == Some(&b'/');
                let name_start = if close { i + 2 } else { i + 1 };
                let mut j = name_start;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'-') {
                    j += 1;
                }
                let name = s[name_start..j].to_ascii_lowercase();
                let Some(end) = find(b, b">", j) else {
                    return Err(if close {
                        format!("Unclosed end tag at byte offset {off}")
                    } else {
                        format!("Unclosed start tag at byte offset {off}")
                    });
                };
                if close {
                    match stack.pop() {
                        Some(open) if open == name => {}
                        Some(open) => {
                            return Err(format!(
                                "Unmatched end tag at byte offset {off}, expected \"</{open}>\", found \"</{name}>\""
                            ));
                        }
                        None => {
                            return Err(format!("Unexpected end tag at byte offset {off}"));
                        }
                    }
                } else {
                    if name.is_empty() || !HTML_TAGS.contains(&name.as_str()) {
                        return Err(format!(
                            "Unsupported start tag \"{name}\" at byte offset {off}"
                        ));
                    }
                    stack.push(name);
                }
                i = end + 1;
            }
            b'&' => {
                let off = i;
                let mut j = i + 1;
                while j < b.len() && j - i <= 10 && (b[j].is_ascii_alphanumeric() || b[j] == b'#') {
                    j += 1;
                }
                let name = &s[i + 1..j];
                let decoded = if b.get(j) == Some(&b';') {
                    match name {
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "amp" => Some('&'),
                        "quot" => Some('"'),
                        n if n.starts_with("#x") || n.starts_with("#X") => {
                            u32::from_str_radix(&n[2..], 16)
                                .ok()
                                .and_then(char::from_u32)
                        }
                        n if n.starts_with('#') => n[1..].parse().ok().and_then(char::from_u32),
                        _ => None,
                    }
                } else {
                    None
                };
                match decoded {
                    Some(c) => {
                        out.push(c);
                        i = j + 1;
                    }
                    None => {
                        return Err(format!(
                            "Unsupported HTML entity \"&{name}\" at byte offset {off}; escape '&' as \"&amp;\""
                        ));
                    }
                }
            }
            _ => {
                let c = s[i..].chars().next().expect("char");
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    if let Some(open) = stack.last() {
        return Err(format!(
            "Can't find end tag corresponding to start tag \"{open}\""
        ));
    }
    Ok(out)
}
