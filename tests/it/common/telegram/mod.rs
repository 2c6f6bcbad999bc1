//! A Telegram Bot API double: an axum server on 127.0.0.1:0 in the test
//! process that speaks the Bot API's request and answer JSON at
//! `/bot<token>/<method>` (query, JSON, form or multipart parameters, like
//! Telegram) and serves files at `/file/bot<token>/<file_path>`.
//!
//! It records every call in order ([`Call`]), long-polls `getUpdates` with
//! `offset` semantics, refuses what Telegram refuses (texts over 4096
//! UTF-16 units, empty texts, unknown chats, non-HTTPS webhooks,
//! `getUpdates` while a webhook is set; any `parse_mode`, which sohbet
//! never sends) and fails on demand: 502 with nginx's HTML page while
//! "down", 429 `retry_after` for the next K calls of a method, a refusal
//! or an unreadable answer for sends whose text or caption contains a
//! marker ([`TelegramDouble::fail_sends_containing`]). It can also accept a
//! send and hold its answer back ([`TelegramDouble::hold_sends_containing`]),
//! as when the app dies between Telegram taking a message and hearing so;
//! and it counts how many sends were in flight at once.
//!
//! By method group: [`messages`] (`getMe`, `sendMessage`), [`media`]
//! (`send{Photo,Voice,Audio,Document}`, `getFile`, downloads), [`updates`]
//! (what users send, `getUpdates`, webhooks), [`forum`] (topics, rights,
//! reactions, per-chat limits), [`callbacks`] (inline keyboards and button
//! presses); [`server`] routes and records the calls, [`calls`] reads them.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use serde_json::{Map, Value, json};

pub mod callbacks;
mod calls;
pub mod forum;
mod media;
mod messages;
mod server;
mod updates;

pub use calls::{Call, Upload};
#[allow(unused_imports)] // not every test binary uses both
pub use updates::{Incoming, Media};

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

/// 429 for the next `remaining` calls of `method` (or, with `answer`,
/// that error).
#[derive(Clone, Debug)]
struct Throttle {
    method: String,
    remaining: usize,
    retry_after: u32,
    answer: Option<(u16, String)>,
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
    buttons: callbacks::Buttons,
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

/// A group member of its own (`Incoming::by_member`, `push_callback_by`).
pub(super) fn member(id: i64) -> Value {
    json!({"id": id, "is_bot": false, "first_name": format!("Member {id}"), "language_code": "en"})
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
        let app = server::router(inner.clone());
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

    /// The private chat of user `user` "pressed Start": the bot may send
    /// there (a private chat's id is the user's id).
    pub fn knows_private_chat(&self, user: i64) {
        self.inner.lock().known_chats.insert(user);
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
            (
                "TELEGRAM_PRIVATE_CHAT_MESSAGES_PER_MINUTE".into(),
                "0".into(),
            ),
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
            answer: None,
        });
    }

    /// The next `times` calls of `method` fail with Telegram's error answer
    /// `{"ok":false,"error_code":code,"description":description}`, e.g.
    /// `500, "Internal Server Error"`. The HTTP status is 200: teloxide
    /// reads only the JSON, and pauses 10 s after any 5xx status, which
    /// would only slow the test down.
    pub fn fail_method(&self, method: &str, times: usize, code: u16, description: &str) {
        self.inner.lock().throttles.push(Throttle {
            method: method.to_ascii_lowercase(),
            remaining: times,
            retry_after: 0,
            answer: Some((code, description.to_owned())),
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

    /// Holds no new send (those held now stay held until [`TelegramDouble::release`]).
    pub fn stop_holding(&self) {
        self.inner.lock().holding.clear();
    }

    /// Answers every held send; sends with `marker` are held no more
    /// (other markers still hold new sends).
    pub fn release_marker(&self, marker: &str) {
        let mut st = self.inner.lock();
        st.holding.retain(|m| m != marker);
        st.release_epoch += 1;
    }

    /// Answers every held send and holds no more.
    pub fn release(&self) {
        let mut st = self.inner.lock();
        st.holding.clear();
        st.release_epoch += 1;
    }
}
