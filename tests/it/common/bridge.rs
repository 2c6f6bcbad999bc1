//! Steps shared by the tests of the Telegram bridge (tests/it/telegram_*.rs):
//! a server wired to the Bot API double, `/health`, the visitor's history,
//! forwards, the outbox table of a kept database, and the real binary for
//! crash tests.

use std::{
    process::Child,
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use sohbet::chat::display_name_for;

use super::{
    Backend, Browser, KeptDb, Opts, TestApp,
    telegram::{ADMIN_CHAT, Call, TelegramDouble},
};

/// How long a normal step may take.
pub const WAIT: Duration = Duration::from_secs(10);
/// How long a step across an outage may take (teloxide waits 10 s after any 5xx).
pub const OUTAGE_WAIT: Duration = Duration::from_secs(30);
/// A chat that is not the admin chat.
pub const FOREIGN_CHAT: i64 = 999_001;

/// The server options for `tg`: its variables, then `extra`.
pub fn wired(backend: Backend, tg: &TelegramDouble, extra: &[(&str, &str)]) -> Opts {
    let env = tg.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Opts::new(backend).envs(&env).envs(extra)
}

/// A server wired to `tg` (login codes still go to the test channel, so
/// `app.admin()` works).
pub async fn start(backend: Backend, tg: &TelegramDouble, extra: &[(&str, &str)]) -> TestApp {
    super::spawn(wired(backend, tg, extra)).await
}

/// The webhook URL of the webhook-mode tests (`TELEGRAM_WEBHOOK_URL`).
pub const HOOK: &str = "https://chat.example.com/telegram/webhook";

/// A server wired to `tg` in webhook mode ([`HOOK`], then `extra`), once
/// Telegram accepted its `setWebhook`: the server and that call.
pub async fn start_webhook(
    backend: Backend,
    tg: &TelegramDouble,
    extra: &[(&str, &str)],
) -> (TestApp, Call) {
    let env: Vec<(&str, &str)> = [("TELEGRAM_WEBHOOK_URL", HOOK)]
        .into_iter()
        .chain(extra.iter().copied())
        .collect();
    let app = start(backend, tg, &env).await;
    let set = tg
        .wait_call("setWebhook", WAIT, |c| c.is("setWebhook") && c.ok())
        .await;
    (app, set)
}

/// The `allowed_updates` a `setWebhook` (or `getUpdates`) call asked for,
/// sent as JSON or as JSON text.
pub fn allowed_updates(call: &Call) -> Vec<String> {
    serde_json::from_value(call.params["allowed_updates"].clone())
        .or_else(|_| serde_json::from_str(&call.str_param("allowed_updates").unwrap_or_default()))
        .expect("allowed_updates")
}

/// `GET /health`: status and body.
pub async fn health(app: &TestApp) -> (u16, Value) {
    let r = reqwest::get(format!("{}/health", app.base))
        .await
        .expect("GET /health");
    let status = r.status().as_u16();
    (status, r.json().await.expect("health JSON"))
}

/// Polls `/health` until `pred` holds.
pub async fn wait_health(
    app: &TestApp,
    what: &str,
    within: Duration,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let (_, h) = health(app).await;
        if pred(&h) {
            return h;
        }
        assert!(
            Instant::now() < deadline,
            "/health never showed {what} within {within:?}; last: {h}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `/health` shows the bridge healthy.
pub async fn wait_telegram_healthy(app: &TestApp) -> Value {
    wait_health(app, "telegram healthy", WAIT, |h| {
        h["checks"]["telegram"] == json!("healthy")
    })
    .await
}

/// Waits until `/health` shows no pending outbox row (every forward sent,
/// dead or dropped, and recorded so).
pub async fn wait_backlog_empty(app: &TestApp) -> Value {
    wait_health(app, "an empty outbox backlog", OUTAGE_WAIT, |h| {
        h["checks"]["telegram_outbox_backlog"] == json!(0)
    })
    .await
}

/// Polls the visitor's history until `pred` holds.
pub async fn wait_messages(
    b: &Browser,
    tid: &str,
    what: &str,
    pred: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + WAIT;
    loop {
        let msgs = b.messages(tid, "?limit=200").await;
        if pred(&msgs) {
            return msgs;
        }
        assert!(
            Instant::now() < deadline,
            "the visitor never saw {what}; history: {msgs:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether the history has an admin message with `text`.
pub fn has_admin_text(msgs: &[Value], text: &str) -> bool {
    msgs.iter()
        .any(|m| m["sender_type"] == json!("admin") && m["content_text"] == json!(text))
}

/// The texts of a history, in order.
pub fn texts(msgs: &[Value]) -> Vec<String> {
    msgs.iter()
        .map(|m| m["content_text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// `[<display name>] <text>`: what a visitor's short text becomes in Telegram.
pub fn forward_text(tid: &str, text: &str) -> String {
    format!("[{}] {text}", display_name_for(tid))
}

/// The forwards a `sendMessage` text carries, each as [`forward_text`]
/// writes it: a single forward `[name] text` as is; a coalesced one
/// (issue 23: `[name]`, then one `HH:MM text` line per message, perhaps a
/// `🌐 …` context line) as `[name] text` per message line.
pub fn expand(text: &str) -> Vec<String> {
    let mut lines = text.split('\n');
    let head = lines.next().unwrap_or_default();
    let timed = |l: &str| {
        let b = l.as_bytes();
        l.len() > 6
            && b[2] == b':'
            && b[5] == b' '
            && l[..2]
                .bytes()
                .chain(l[3..5].bytes())
                .all(|c| c.is_ascii_digit())
    };
    // A head alone on its line: `[name]` (a visitor's) or `name:` (an agent's).
    let bare = (head.starts_with('[') && head.ends_with(']') && !head.contains("] "))
        || (!head.starts_with('[') && head.ends_with(':'));
    let rest: Vec<&str> = lines.collect();
    if bare && rest.first().is_some_and(|l| timed(l)) {
        rest.iter()
            .filter(|l| timed(l))
            .map(|l| format!("{head} {}", &l[6..]))
            .collect()
    } else {
        vec![text.to_owned()]
    }
}

/// The forwards of accepted `sendMessage` calls to `chat` among `calls`,
/// in order, each message of a coalesced forward on its own ([`expand`]).
pub fn forwards_in(calls: &[Call], chat: i64) -> Vec<String> {
    calls
        .iter()
        .filter(|c| c.is("sendMessage") && c.ok() && c.chat_id() == Some(chat))
        .filter_map(Call::text)
        .flat_map(|t| expand(&t))
        .collect()
}

/// [`forwards_in`] of every call so far.
pub fn forwards_to(tg: &TelegramDouble, chat: i64) -> Vec<String> {
    tg.with_calls(|c| forwards_in(c, chat))
}

/// Asserts that every thread's forwards in `wanted` (thread id, its
/// forwards in order) are in `delivered` once each, in that order.
pub fn assert_each_once_in_order(delivered: &[String], wanted: &[(String, Vec<String>)]) {
    for (tid, texts) in wanted {
        let got: Vec<&String> = delivered.iter().filter(|t| texts.contains(t)).collect();
        assert_eq!(
            got,
            texts.iter().collect::<Vec<_>>(),
            "thread {tid}: each once, in order"
        );
    }
}

/// Waits for the accepted `sendMessage` to `chat` that carries the forward
/// `want` (alone or coalesced).
pub async fn wait_carrying(tg: &TelegramDouble, chat: i64, want: &str, within: Duration) -> Call {
    tg.wait_text_to(chat, &format!("forward {want:?}"), within, |t| {
        expand(t).iter().any(|f| f == want)
    })
    .await
}

/// Waits for the forward of the visitor's `text` in the admin chat (alone
/// or in a coalesced forward).
pub async fn wait_forward(tg: &TelegramDouble, tid: &str, text: &str, within: Duration) -> Call {
    wait_carrying(tg, ADMIN_CHAT, &forward_text(tid, text), within).await
}

/// Sends `text` as the visitor and waits for its forward; returns the
/// forward's Telegram message id.
pub async fn send_and_forward(tg: &TelegramDouble, v: &Browser, tid: &str, text: &str) -> i64 {
    let (s, r) = v.send(None, text).await;
    assert_eq!(s, 200, "{r}");
    wait_forward(tg, tid, text, WAIT)
        .await
        .message_id()
        .expect("forward message id")
}

/// How many accepted `sendMessage` calls carried the forward `text` (alone
/// or in a coalesced forward).
pub fn count_ok_texts(tg: &TelegramDouble, text: &str) -> usize {
    tg.with_calls(|calls| {
        calls
            .iter()
            .filter(|c| c.is("sendMessage") && c.ok())
            .filter_map(Call::text)
            .filter(|t| expand(t).iter().any(|f| f == text))
            .count()
    })
}

/// `send*` calls the double saw so far (accepted or not).
pub fn send_calls(tg: &TelegramDouble) -> usize {
    tg.with_calls(|c| {
        c.iter()
            .filter(|c| c.method.to_ascii_lowercase().starts_with("send"))
            .count()
    })
}

/// The outbox rows of a kept database, oldest first: (status, attempts,
/// last_error), read with SQL as an operator would.
pub async fn outbox_rows(db: &KeptDb) -> Vec<(String, i32, Option<String>)> {
    use sqlx::Connection;
    const SQL: &str = "SELECT status, attempts, last_error FROM telegram_outbox ORDER BY id";
    match db.var() {
        ("DATABASE_URL", url) => {
            let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::query_as(SQL).fetch_all(&mut c).await.unwrap()
        }
        (_, path) => {
            let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{path}"))
                .await
                .unwrap();
            sqlx::query_as(SQL).fetch_all(&mut c).await.unwrap()
        }
    }
}

/// The first column (a whole number) of `sql` with `arg` as `$1`, over a
/// kept database, read with SQL as an operator would.
pub async fn numbers(db: &KeptDb, sql: &str, arg: i64) -> Vec<i64> {
    use sqlx::Connection;
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    match db.var() {
        ("DATABASE_URL", url) => {
            let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::query_scalar(sql)
                .bind(arg)
                .fetch_all(&mut c)
                .await
                .unwrap()
        }
        (_, path) => {
            let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{path}"))
                .await
                .unwrap();
            sqlx::query_scalar(sql)
                .bind(arg)
                .fetch_all(&mut c)
                .await
                .unwrap()
        }
    }
}

/// A PNG file (header and filler) under `<dir>/images/<uuid>.png`, as the
/// upload storage names it; returns its path below `dir` and its bytes.
pub fn png_upload(dir: &std::path::Path) -> (String, Vec<u8>) {
    std::fs::create_dir_all(dir.join("images")).unwrap();
    let pic = format!("images/{}.png", uuid::Uuid::new_v4());
    let png: Vec<u8> = [&b"\x89PNG\r\n\x1a\n"[..], &[7u8; 300][..]].concat();
    std::fs::write(dir.join(&pic), &png).unwrap();
    (pic, png)
}

/// The real binary, killed (-9) when dropped.
pub struct Server {
    child: Child,
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the real binary with `env` ([`super::binary`]) and waits for
/// its "listening on" line.
pub fn start_binary(env: &[(String, String)]) -> Server {
    let super::binary::Binary { child, base, .. } =
        super::binary::spawn(super::binary::command(env));
    Server { child, base }
}

/// Waits until message `id`'s buttons carry exactly `want` callback data.
pub async fn wait_buttons(tg: &TelegramDouble, id: i64, want: &[String]) {
    let deadline = Instant::now() + WAIT;
    while tg.button_data(id) != want {
        assert!(
            Instant::now() < deadline,
            "buttons of {id}: {:?}, want {want:?}\n{}",
            tg.button_data(id),
            tg.summary()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Presses button `data` on message `message_id` of `chat`; waits for its
/// `answerCallbackQuery` and returns the answer's text.
pub async fn press(tg: &TelegramDouble, chat: i64, message_id: i64, data: &str) -> String {
    press_as(tg, chat, message_id, data, None).await
}

/// As [`press`], pressed by group member `user` (`None`: the chat's user
/// or the group's admin).
pub async fn press_as(
    tg: &TelegramDouble,
    chat: i64,
    message_id: i64,
    data: &str,
    user: Option<i64>,
) -> String {
    let pushed = match user {
        Some(u) => tg.push_callback_by(chat, message_id, data, u),
        None => tg.push_callback(chat, message_id, data),
    };
    let (_, qid) = pushed.expect("the bot asked for callback queries (allowed_updates)");
    let call = tg
        .wait_call("answerCallbackQuery", WAIT, |c| {
            c.is("answerCallbackQuery") && c.str_param("callback_query_id").as_deref() == Some(&qid)
        })
        .await;
    assert!(call.ok(), "{}", tg.summary());
    assert!(tg.callback_answered(&qid));
    call.str_param("text").unwrap_or_default()
}
