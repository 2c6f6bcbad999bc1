//! Canned replies from Telegram (issue 13), against the Bot API double on
//! SQLite and Postgres: the "💬 Canned" button of a thread's first forward
//! lists the replies in place of the buttons (paged, with Back), a choice
//! sends the reply to the visitor through the normal post path and puts
//! the buttons back, the same listed button pressed twice stores one
//! message, a deleted or unknown reply and a press from another chat send
//! nothing, no replies is said so, and a closed or blocked thread still
//! gets the admin's reply (the core's rule) and keeps its state.

use crate::common;

use std::time::{Duration, Instant};

use crate::common::{
    Backend, Browser, TestApp,
    bridge::{press, wait_buttons},
    telegram::{ADMIN_CHAT, TelegramDouble},
};
use serde_json::{Value, json};
use sohbet::chat::display_name_for;

on_both_backends!(
    choosing_a_reply_sends_it_once_and_puts_the_buttons_back,
    nothing_is_sent_for_no_unknown_deleted_or_foreign_presses,
    closed_and_blocked_threads_get_the_reply_and_keep_their_state,
    a_long_list_has_pages,
);

const WAIT: Duration = Duration::from_secs(15);
/// A chat that is not the admin chat.
const FOREIGN_CHAT: i64 = 999_001;
const NONE_YET: &str = "No canned replies yet: add them in the panel";
const GONE: &str = "This canned reply no longer exists";

async fn start(backend: Backend, tg: &TelegramDouble) -> TestApp {
    common::bridge::start(backend, tg, &[]).await
}

/// Sends `text` as the visitor; returns the id of its forward.
async fn forward(tg: &TelegramDouble, v: &Browser, tid: &str, text: &str) -> i64 {
    let (s, r) = v.send(None, text).await;
    assert_eq!(s, 200, "{r}");
    let want = format!("[{}] {text}", display_name_for(tid));
    tg.wait_text_to(ADMIN_CHAT, &format!("forward {want:?}"), WAIT, |t| {
        t == want
    })
    .await
    .message_id()
    .expect("message id")
}

/// Creates a canned reply; returns its id.
async fn create(admin: &Browser, name: &str, body: &str) -> i64 {
    let (s, b) = admin
        .post("/api/canned", json!({"name": name, "body": body}))
        .await;
    assert_eq!(s, 200, "{b}");
    b["reply"]["id"].as_i64().expect("id")
}

/// Waits until message `id` shows a canned list (a `cs:` button or a
/// page arrow); returns `(label, data)` of every button.
async fn wait_list(tg: &TelegramDouble, id: i64) -> Vec<(String, String)> {
    let deadline = Instant::now() + WAIT;
    loop {
        let buttons: Vec<(String, String)> = tg
            .markup_of(id)
            .and_then(|m| m["inline_keyboard"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .flat_map(|row| row.as_array().cloned().unwrap_or_default())
            .map(|b| {
                let s = |k: &str| b[k].as_str().unwrap_or_default().to_owned();
                (s("text"), s("callback_data"))
            })
            .collect();
        if buttons.iter().any(|(_, d)| d.starts_with("bk:")) {
            return buttons;
        }
        assert!(
            Instant::now() < deadline,
            "no list on {id}\n{}",
            tg.summary()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The data of the listed button labelled `name`.
fn data_of(list: &[(String, String)], name: &str) -> String {
    list.iter()
        .find(|(l, _)| l == name)
        .unwrap_or_else(|| panic!("no {name:?} in {list:?}"))
        .1
        .clone()
}

/// The thread's admin messages with text `text`, as the visitor reads them.
async fn admin_texts(v: &Browser, tid: &str, text: &str) -> usize {
    v.messages(tid, "")
        .await
        .iter()
        .filter(|m| m["sender_type"] == json!("admin") && m["content_text"] == json!(text))
        .count()
}

/// The normal buttons of an open, unblocked thread.
fn normal(tid: &str) -> Vec<String> {
    ["cl", "bl", "cn", "tk"]
        .iter()
        .map(|p| format!("{p}:{tid}"))
        .collect()
}

async fn choosing_a_reply_sends_it_once_and_puts_the_buttons_back(backend: Backend) {
    let tg = TelegramDouble::start().await;
    let mut app = start(backend, &tg).await;
    let admin = app.admin().await;
    create(&admin, "Kargo", "Siparişiniz yarın kargoda.").await;
    create(&admin, "iade", "İade 14 gün içinde yapılır.").await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    let fid = forward(&tg, &v, &tid, "hello").await;
    assert_eq!(tg.button_data(fid), normal(&tid), "{}", tg.summary());

    // Canned lists the replies by name, then Back.
    let answer = press(&tg, ADMIN_CHAT, fid, &format!("cn:{tid}")).await;
    assert_eq!(answer, "Choose a reply to send.");
    let list = wait_list(&tg, fid).await;
    let labels: Vec<&str> = list.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(labels, ["iade", "Kargo", "↩️ Back"]);
    assert_eq!(list[2].1, format!("bk:{tid}"));
    let kargo = data_of(&list, "Kargo");
    assert!(kargo.starts_with("cs:") && kargo.ends_with(&tid), "{kargo}");
    assert!(list.iter().all(|(_, d)| d.len() <= 64));

    // Choosing one sends it; the visitor reads it; the buttons come back.
    assert_eq!(press(&tg, ADMIN_CHAT, fid, &kargo).await, "Sent: Kargo");
    assert_eq!(admin_texts(&v, &tid, "Siparişiniz yarın kargoda.").await, 1);
    wait_buttons(&tg, fid, &normal(&tid)).await;

    // The same listed button again (a double tap): one message.
    assert_eq!(
        press(&tg, ADMIN_CHAT, fid, &kargo).await,
        "Already sent: Kargo"
    );
    assert_eq!(admin_texts(&v, &tid, "Siparişiniz yarın kargoda.").await, 1);

    // Listed again, it can be sent again.
    press(&tg, ADMIN_CHAT, fid, &format!("cn:{tid}")).await;
    let again = data_of(&wait_list(&tg, fid).await, "Kargo");
    assert_ne!(again, kargo, "a new list has a new nonce");
    assert_eq!(press(&tg, ADMIN_CHAT, fid, &again).await, "Sent: Kargo");
    assert_eq!(admin_texts(&v, &tid, "Siparişiniz yarın kargoda.").await, 2);
    // An admin message is not forwarded back to Telegram.
    assert!(
        !tg.texts_to(ADMIN_CHAT)
            .iter()
            .any(|t| t.contains("kargoda")),
        "{}",
        tg.summary()
    );
    app.finish().await;
}

async fn nothing_is_sent_for_no_unknown_deleted_or_foreign_presses(backend: Backend) {
    let tg = TelegramDouble::start().await;
    let mut app = start(backend, &tg).await;
    let admin = app.admin().await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    let fid = forward(&tg, &v, &tid, "hello").await;

    // No replies yet: said so, the buttons stay.
    let cn = format!("cn:{tid}");
    assert_eq!(press(&tg, ADMIN_CHAT, fid, &cn).await, NONE_YET);
    assert_eq!(tg.button_data(fid), normal(&tid));
    assert!(
        !tg.calls().iter().any(|c| c.is("editMessageReplyMarkup")),
        "{}",
        tg.summary()
    );

    let id = create(&admin, "Hours", "We answer 9 to 18.").await;
    press(&tg, ADMIN_CHAT, fid, &cn).await;
    let hours = data_of(&wait_list(&tg, fid).await, "Hours");

    // From another chat: refused, nothing sent, the list stays.
    for data in [cn.clone(), hours.clone(), format!("bk:{tid}")] {
        assert_eq!(
            press(&tg, FOREIGN_CHAT, fid, &data).await,
            "Not allowed here."
        );
    }
    // An unknown reply id, an unknown thread, a malformed argument.
    let unknown = format!("cs:zzzzz.abcdefgh:{tid}");
    assert_eq!(press(&tg, ADMIN_CHAT, fid, &unknown).await, GONE);
    let nowhere = "cn:00000000-0000-4000-8000-000000000000";
    assert_eq!(
        press(&tg, ADMIN_CHAT, fid, nowhere).await,
        "That conversation no longer exists."
    );
    let bad = format!("cs:1:{tid}");
    assert_eq!(press(&tg, ADMIN_CHAT, fid, &bad).await, "Unknown button.");

    // Deleted while listed: said so, nothing sent.
    let r = admin
        .client
        .delete(format!("{}/api/canned/{id}", admin.base))
        .header("X-CSRFToken", &admin.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(press(&tg, ADMIN_CHAT, fid, &hours).await, GONE);

    let msgs = v.messages(&tid, "").await;
    assert!(
        msgs.iter().all(|m| m["sender_type"] == json!("visitor")),
        "{msgs:?}"
    );
    assert_eq!(wait_list(&tg, fid).await[0].1, hours, "the list stays");
    // Back restores the thread's buttons (answered without a text).
    assert_eq!(press(&tg, ADMIN_CHAT, fid, &format!("bk:{tid}")).await, "");
    wait_buttons(&tg, fid, &normal(&tid)).await;
    app.finish().await;
}

async fn closed_and_blocked_threads_get_the_reply_and_keep_their_state(backend: Backend) {
    let tg = TelegramDouble::start().await;
    let mut app = start(backend, &tg).await;
    let admin = app.admin().await;
    create(&admin, "Bye", "Thanks, goodbye!").await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    let fid = forward(&tg, &v, &tid, "hello").await;
    assert_eq!(
        press(&tg, ADMIN_CHAT, fid, &format!("cl:{tid}")).await,
        "Closed."
    );
    assert_eq!(
        press(&tg, ADMIN_CHAT, fid, &format!("bl:{tid}")).await,
        "Visitor blocked."
    );
    let closed_blocked: Vec<String> = ["ro", "ub", "cn", "tk"]
        .iter()
        .map(|p| format!("{p}:{tid}"))
        .collect();
    wait_buttons(&tg, fid, &closed_blocked).await;

    press(&tg, ADMIN_CHAT, fid, &format!("cn:{tid}")).await;
    let bye = data_of(&wait_list(&tg, fid).await, "Bye");
    assert_eq!(press(&tg, ADMIN_CHAT, fid, &bye).await, "Sent: Bye");
    assert_eq!(admin_texts(&v, &tid, "Thanks, goodbye!").await, 1);
    // Back to this thread's own buttons; still closed and blocked.
    wait_buttons(&tg, fid, &closed_blocked).await;
    let (s, b) = admin.get("/api/threads?status=all").await;
    assert_eq!(s, 200, "{b}");
    let t = b["threads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == json!(tid))
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(
        (t["status"].clone(), t["blocked"].clone()),
        (json!("closed"), json!(true)),
        "{b}"
    );
    let (s, b) = v.send(None, "let me in").await;
    assert_eq!((s, b["code"].clone()), (403, json!("BLOCKED")), "{b}");
    app.finish().await;
}

async fn a_long_list_has_pages(backend: Backend) {
    let tg = TelegramDouble::start().await;
    let mut app = start(backend, &tg).await;
    let admin = app.admin().await;
    for i in 0..12 {
        create(&admin, &format!("Reply {i:02}"), &format!("Body {i:02}")).await;
    }
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    let fid = forward(&tg, &v, &tid, "hello").await;
    press(&tg, ADMIN_CHAT, fid, &format!("cn:{tid}")).await;
    let first = wait_list(&tg, fid).await;
    let labels: Vec<&str> = first.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(labels.len(), 12, "{labels:?}");
    assert_eq!(labels[0], "Reply 00");
    assert_eq!(labels[9], "Reply 09");
    assert_eq!(labels[10..], ["↩️ Back", "▶️"]);
    assert_eq!(first[11].1, format!("cp:1:{tid}"));

    // The page is shown before the press is answered.
    press(&tg, ADMIN_CHAT, fid, &first[11].1).await;
    let second = wait_list(&tg, fid).await;
    let labels: Vec<&str> = second.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(labels, ["Reply 10", "Reply 11", "◀️", "↩️ Back"]);
    assert_eq!(
        press(&tg, ADMIN_CHAT, fid, &data_of(&second, "Reply 11")).await,
        "Sent: Reply 11"
    );
    assert_eq!(admin_texts(&v, &tid, "Body 11").await, 1);
    wait_buttons(&tg, fid, &normal(&tid)).await;
    app.finish().await;
}
