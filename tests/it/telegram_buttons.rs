//! The admin's thread tools from Telegram (issue 13), against the Bot API
//! double (`tests/it/common/telegram/callbacks.rs`), on SQLite and Postgres:
//! the inline buttons of a thread's first forward (Close, Block, Canned:
//! see tests/it/telegram_canned.rs for the last), their
//! callback queries answered and the buttons updated, a press from another
//! chat refused, `/close` `/block` `/unblock` as replies and `/reopen` in a
//! forum topic, and no forwards for a blocked visitor.

use crate::common;

use std::time::{Duration, Instant};

use crate::common::{
    Backend, Browser, TestApp,
    bridge::{press, wait_buttons},
    telegram::{ADMIN_CHAT, Call, Incoming, TelegramDouble, forum::FORUM_CHAT},
};
use serde_json::{Value, json};
use sohbet::chat::display_name_for;

on_both_backends!(
    the_first_forward_has_buttons_that_close_block_and_follow_the_state,
    a_press_from_another_chat_changes_nothing,
    commands_as_replies_close_block_and_unblock,
    reopen_in_a_forum_topic,
    webhook_mode_asks_for_and_handles_button_presses,
);

const WAIT: Duration = Duration::from_secs(15);
/// A chat that is not the admin chat.
const FOREIGN_CHAT: i64 = 999_001;

async fn start(backend: Backend, tg: &TelegramDouble) -> TestApp {
    common::bridge::start(backend, tg, &[]).await
}

/// Sends `text` as the visitor; waits for its forward to `chat`.
async fn send_and_forward(
    tg: &TelegramDouble,
    chat: i64,
    v: &Browser,
    tid: &str,
    text: &str,
) -> Call {
    let (s, r) = v.send(None, text).await;
    assert_eq!(s, 200, "{r}");
    let want = format!("[{}] {text}", display_name_for(tid));
    tg.wait_text_to(chat, &format!("forward {want:?}"), WAIT, |t| t == want)
        .await
}

/// The thread's `{status, blocked}` as the admin's list shows it.
async fn state(admin: &Browser, tid: &str) -> (String, bool) {
    let (s, b) = admin.get("/api/threads").await;
    assert_eq!(s, 200, "{b}");
    let t = b["threads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == json!(tid))
        .cloned()
        .unwrap_or(Value::Null);
    (
        t["status"].as_str().unwrap_or("").to_owned(),
        t["blocked"] == json!(true),
    )
}

/// Waits until the admin's list shows `want` for the thread.
async fn wait_state(admin: &Browser, tid: &str, want: (&str, bool)) {
    let deadline = Instant::now() + WAIT;
    loop {
        let (s, b) = state(admin, tid).await;
        if (s.as_str(), b) == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "state {want:?} never came: ({s}, {b})"
        );
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

async fn the_first_forward_has_buttons_that_close_block_and_follow_the_state(backend: Backend) {
    let tg = TelegramDouble::start().await;
    let mut app = start(backend, &tg).await;
    let admin = app.admin().await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    let first = send_and_forward(&tg, ADMIN_CHAT, &v, &tid, "hello").await;
    let second = send_and_forward(&tg, ADMIN_CHAT, &v, &tid, "anyone?").await;
    let fid = first.message_id().unwrap();
    let d = |p: &str| format!("{p}:{tid}");
    assert_eq!(
        tg.button_data(fid),
        [d("cl"), d("bl"), d("cn"), d("tk")],
        "{}",
        tg.summary()
    );
    assert!(
        tg.button_data(second.message_id().unwrap()).is_empty(),
        "only the first forward has buttons"
    );

    // Close: answered, closed, Close became Reopen.
    assert_eq!(press(&tg, ADMIN_CHAT, fid, &d("cl")).await, "Closed.");
    wait_state(&admin, &tid, ("closed", false)).await;
    wait_buttons(&tg, fid, &[d("ro"), d("bl"), d("cn"), d("tk")]).await;
    tg.wait_call("editMessageReplyMarkup", WAIT, |c| {
        c.is("editMessageReplyMarkup")
            && c.ok()
            && c.str_param("message_id") == Some(fid.to_string())
    })
    .await;

    // The visitor writes again: reopened, the buttons follow.
    send_and_forward(&tg, ADMIN_CHAT, &v, &tid, "me again").await;
    wait_state(&admin, &tid, ("open", false)).await;
    wait_buttons(&tg, fid, &[d("cl"), d("bl"), d("cn"), d("tk")]).await;

    // Block: the visitor is refused; Block became Unblock; Unblock restores.
    assert_eq!(
        press(&tg, ADMIN_CHAT, fid, &d("bl")).await,
        "Visitor blocked."
    );
    wait_state(&admin, &tid, ("open", true)).await;
    wait_buttons(&tg, fid, &[d("cl"), d("ub"), d("cn"), d("tk")]).await;
    let (s, b) = v.send(None, "blocked words").await;
    assert_eq!((s, b["code"].clone()), (403, json!("BLOCKED")), "{b}");
    assert_eq!(
        press(&tg, ADMIN_CHAT, fid, &d("ub")).await,
        "Visitor unblocked."
    );
    wait_buttons(&tg, fid, &[d("cl"), d("bl"), d("cn"), d("tk")]).await;
    send_and_forward(&tg, ADMIN_CHAT, &v, &tid, "free again").await;
    // The refused message was never forwarded.
    assert!(
        !tg.texts_to(ADMIN_CHAT)
            .iter()
            .any(|t| t.contains("blocked words")),
        "{}",
        tg.summary()
    );

    // An unknown thread or button changes nothing and is still answered.
    let unknown = "cl:00000000-0000-4000-8000-000000000000";
    assert_eq!(
        press(&tg, ADMIN_CHAT, fid, unknown).await,
        "That conversation no longer exists."
    );
    assert_eq!(press(&tg, ADMIN_CHAT, fid, "zz:x").await, "Unknown button.");
    assert_eq!(state(&admin, &tid).await, ("open".into(), false));
    app.finish().await;
}

async fn a_press_from_another_chat_changes_nothing(backend: Backend) {
    let tg = TelegramDouble::start().await;
    let mut app = start(backend, &tg).await;
    let admin = app.admin().await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    let fid = send_and_forward(&tg, ADMIN_CHAT, &v, &tid, "hello")
        .await
        .message_id()
        .unwrap();
    for data in [format!("cl:{tid}"), format!("bl:{tid}")] {
        assert_eq!(
            press(&tg, FOREIGN_CHAT, fid, &data).await,
            "Not allowed here."
        );
    }
    // Both presses were handled (answered): nothing changed.
    assert_eq!(state(&admin, &tid).await, ("open".into(), false));
    assert_eq!(
        tg.button_data(fid),
        [
            format!("cl:{tid}"),
            format!("bl:{tid}"),
            format!("cn:{tid}"),
            format!("tk:{tid}")
        ]
    );
    assert!(
        !tg.calls().iter().any(|c| c.is("editMessageReplyMarkup")),
        "{}",
        tg.summary()
    );
    assert_eq!(v.send(None, "still here").await.0, 200);
    app.finish().await;
}

async fn commands_as_replies_close_block_and_unblock(backend: Backend) {
    let tg = TelegramDouble::start().await;
    let mut app = start(backend, &tg).await;
    let admin = app.admin().await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    let fid = send_and_forward(&tg, ADMIN_CHAT, &v, &tid, "hello")
        .await
        .message_id()
        .unwrap();

    let answer = |text: &'static str| {
        let tg = &tg;
        async move {
            tg.wait_text_to(ADMIN_CHAT, text, WAIT, |t| t.starts_with(text))
                .await
        }
    };
    tg.push(Incoming::text(ADMIN_CHAT, "/close").reply_to(fid));
    answer("Conversation closed.").await;
    wait_state(&admin, &tid, ("closed", false)).await;

    tg.push(Incoming::text(ADMIN_CHAT, "/block").reply_to(fid));
    answer("Visitor blocked").await;
    wait_state(&admin, &tid, ("closed", true)).await;
    let (s, b) = v.send(None, "secret spam").await;
    assert_eq!((s, b["code"].clone()), (403, json!("BLOCKED")), "{b}");

    tg.push(Incoming::text(ADMIN_CHAT, "/unblock").reply_to(fid));
    answer("Visitor unblocked.").await;
    // The next message is forwarded (and reopens); the refused one never was.
    send_and_forward(&tg, ADMIN_CHAT, &v, &tid, "sorry").await;
    wait_state(&admin, &tid, ("open", false)).await;
    assert!(
        !tg.texts_to(ADMIN_CHAT)
            .iter()
            .any(|t| t.contains("secret spam")),
        "{}",
        tg.summary()
    );

    // Not a reply, not in a topic: a hint, nothing changes.
    tg.push(Incoming::text(ADMIN_CHAT, "/close"));
    answer("Send this command in a visitor's topic").await;
    assert_eq!(state(&admin, &tid).await, ("open".into(), false));
    app.finish().await;
}

async fn reopen_in_a_forum_topic(backend: Backend) {
    let tg = TelegramDouble::start_forum().await;
    let mut app = start(backend, &tg).await;
    let admin = app.admin().await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    let fwd = send_and_forward(&tg, FORUM_CHAT, &v, &tid, "hello").await;
    let topic: i64 = fwd
        .str_param("message_thread_id")
        .and_then(|t| t.parse().ok())
        .expect("forward in a topic");
    assert_eq!(
        tg.button_data(fwd.message_id().unwrap()),
        [
            format!("cl:{tid}"),
            format!("bl:{tid}"),
            format!("cn:{tid}"),
            format!("tk:{tid}")
        ]
    );
    tg.push(Incoming::text(FORUM_CHAT, "/close").in_topic(topic));
    tg.wait_text_to(FORUM_CHAT, "closed", WAIT, |t| t == "Conversation closed.")
        .await;
    wait_state(&admin, &tid, ("closed", false)).await;
    tg.push(Incoming::text(FORUM_CHAT, "/reopen").in_topic(topic));
    let c = tg
        .wait_text_to(FORUM_CHAT, "reopened", WAIT, |t| {
            t == "Conversation reopened."
        })
        .await;
    assert_eq!(
        c.str_param("message_thread_id"),
        Some(topic.to_string()),
        "answered in the topic"
    );
    wait_state(&admin, &tid, ("open", false)).await;
    app.finish().await;
}

async fn webhook_mode_asks_for_and_handles_button_presses(backend: Backend) {
    let tg = TelegramDouble::start().await;
    let (mut app, set) = common::bridge::start_webhook(backend, &tg, &[]).await;
    let allowed = common::bridge::allowed_updates(&set);
    assert!(
        allowed.contains(&"callback_query".to_owned()),
        "{allowed:?}"
    );
    assert!(allowed.contains(&"message".to_owned()), "{allowed:?}");
    let secret = set.str_param("secret_token").expect("secret");

    let admin = app.admin().await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    let fid = send_and_forward(&tg, ADMIN_CHAT, &v, &tid, "hello")
        .await
        .message_id()
        .unwrap();
    let (update, qid) = tg
        .callback_json(ADMIN_CHAT, fid, &format!("cl:{tid}"))
        .expect("callback queries wanted");
    let r = reqwest::Client::new()
        .post(format!("{}/telegram/webhook", app.base))
        .header("X-Telegram-Bot-Api-Secret-Token", secret)
        .json(&update)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    tg.wait_call("answerCallbackQuery", WAIT, |c| {
        c.is("answerCallbackQuery") && c.str_param("callback_query_id").as_deref() == Some(&qid)
    })
    .await;
    wait_state(&admin, &tid, ("closed", false)).await;
    wait_buttons(
        &tg,
        fid,
        &[
            format!("ro:{tid}"),
            format!("bl:{tid}"),
            format!("cn:{tid}"),
            format!("tk:{tid}"),
        ],
    )
    .await;
    app.finish().await;
}
