//! The admin's side in Telegram, on SQLite and Postgres: replies to
//! forwards (and chains of them) reach the visitor, foreign chats are
//! ignored, a message that is no reply gets a hint, `/threads` and `/help`.

use crate::common::{
    Backend,
    bridge::{FOREIGN_CHAT, WAIT, has_admin_text, send_and_forward, start, wait_messages},
    telegram::{ADMIN_CHAT, Incoming, TelegramDouble},
};
use serde_json::json;
use sohbet::chat::display_name_for;

on_both_backends!(
    a_reply_to_a_forward_reaches_the_visitor_and_chains,
    a_foreign_chat_is_ignored,
    a_message_that_is_not_a_reply_gets_the_hint_and_stores_nothing,
    threads_and_help_commands_answer,
);

async fn a_reply_to_a_forward_reaches_the_visitor_and_chains(backend: Backend) {
    let tg = TelegramDouble::start().await;
    let app = start(backend, &tg, &[]).await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    let fwd = send_and_forward(&tg, &v, &tid, "Hello, is anyone there?").await;

    let reply = "Yes! <b>not bold</b> & _not italic_ 🎉";
    let (_, reply_id) = tg.push(Incoming::text(ADMIN_CHAT, reply).reply_to(fwd));
    let msgs = wait_messages(&v, &tid, "the admin's reply", |m| has_admin_text(m, reply)).await;
    let m = msgs
        .iter()
        .find(|m| m["content_text"] == json!(reply))
        .unwrap();
    assert_eq!(m["sender_type"], json!("admin"));
    assert_eq!(m["content_type"], json!("text"));
    assert_eq!(m["thread_id"], json!(tid));

    // A reply to the admin's own reply (a chain) reaches the same thread.
    let second = "And a follow-up.";
    tg.push(Incoming::text(ADMIN_CHAT, second).reply_to(reply_id));
    let msgs = wait_messages(&v, &tid, "the chained reply", |m| has_admin_text(m, second)).await;
    let texts: Vec<_> = msgs
        .iter()
        .map(|m| m["content_text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["Hello, is anyone there?", reply, second]);

    // The replies were not echoed back, and the admin got no error or hint:
    // updates of one chat are handled in order, so once the answer to a
    // later `/help` is sent, anything the replies caused was sent before it.
    tg.push(Incoming::text(ADMIN_CHAT, "/help"));
    let help = tg
        .wait_text_to(ADMIN_CHAT, "the /help answer", WAIT, |t| {
            t.contains("/threads")
        })
        .await;
    let sent: Vec<i64> = tg
        .sends_to(ADMIN_CHAT)
        .iter()
        .filter_map(|c| c.message_id())
        .collect();
    assert_eq!(sent, [fwd, help.message_id().unwrap()], "{}", tg.summary());
    app.finish().await;
}

async fn a_foreign_chat_is_ignored(backend: Backend) {
    let tg = TelegramDouble::start().await;
    let app = start(backend, &tg, &[]).await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    let fwd = send_and_forward(&tg, &v, &tid, "hi there").await;

    // A stranger replies to the forwarded message id, asks for the thread list, chats.
    tg.push(Incoming::text(FOREIGN_CHAT, "I am not the admin").reply_to(fwd));
    tg.push(Incoming::text(FOREIGN_CHAT, "/threads"));
    let (last, _) = tg.push(Incoming::text(FOREIGN_CHAT, "hello bot"));
    tg.wait_consumed(last, WAIT).await;
    // The admin's reply, fetched after the stranger's updates, is stored:
    // the bridge was listening, and had handled those before.
    tg.push(Incoming::text(ADMIN_CHAT, "admin answer").reply_to(fwd));
    let msgs = wait_messages(&v, &tid, "the admin's reply", |m| {
        has_admin_text(m, "admin answer")
    })
    .await;
    let texts: Vec<_> = msgs
        .iter()
        .map(|m| m["content_text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        ["hi there", "admin answer"],
        "nothing from the stranger"
    );
    tg.with_calls(|calls| {
        assert!(
            !calls.iter().any(|c| c.chat_id() == Some(FOREIGN_CHAT)),
            "nothing sent to the stranger:\n{}",
            tg.summary()
        )
    });
    app.finish().await;
}

async fn a_message_that_is_not_a_reply_gets_the_hint_and_stores_nothing(backend: Backend) {
    let tg = TelegramDouble::start().await;
    let mut app = start(backend, &tg, &[]).await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    send_and_forward(&tg, &v, &tid, "only message").await;

    tg.push(Incoming::text(ADMIN_CHAT, "hello, anyone?"));
    let hint = tg
        .wait_text_to(ADMIN_CHAT, "the hint", WAIT, |t| {
            t.to_lowercase().contains("reply")
        })
        .await;
    assert_eq!(hint.parse_mode(), None);
    // A reply to the hint (a message of no thread) is explained, not stored.
    tg.push(Incoming::text(ADMIN_CHAT, "this is for nobody").reply_to(hint.message_id().unwrap()));
    let answer = tg
        .wait_for("an answer to a reply to the hint", WAIT, |calls| {
            calls
                .iter()
                .filter(|c| c.is("sendMessage") && c.ok() && c.chat_id() == Some(ADMIN_CHAT))
                .nth(2)
                .cloned()
        })
        .await;
    assert!(
        answer.text().unwrap().to_lowercase().contains("visitor"),
        "{}",
        answer.summary()
    );

    let admin = app.admin().await;
    let (s, r) = admin.get("/api/threads").await;
    assert_eq!(s, 200, "{r}");
    let threads = r["threads"].as_array().unwrap();
    assert_eq!(threads.len(), 1, "{r}");
    assert_eq!(threads[0]["message_count"], json!(1), "{r}");
    let texts: Vec<_> = v
        .messages(&tid, "")
        .await
        .iter()
        .map(|m| m["content_text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(texts, ["only message"]);
    app.finish().await;
}

async fn threads_and_help_commands_answer(backend: Backend) {
    let tg = TelegramDouble::start().await;
    let app = start(backend, &tg, &[]).await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    let name = display_name_for(&tid);
    send_and_forward(&tg, &v, &tid, "first question").await;
    send_and_forward(&tg, &v, &tid, "second question").await;

    tg.push(Incoming::text(ADMIN_CHAT, "/threads"));
    let list = tg
        .wait_text_to(ADMIN_CHAT, "the /threads answer", WAIT, |t| {
            t.contains(&name) && t.contains("unread")
        })
        .await;
    let text = list.text().unwrap();
    assert!(text.contains("2 unread"), "{text}");
    assert!(
        text.contains("second question"),
        "last message shown: {text}"
    );
    assert_eq!(list.parse_mode(), None);

    tg.push(Incoming::text(ADMIN_CHAT, "/help"));
    let help = tg
        .wait_text_to(ADMIN_CHAT, "the /help answer", WAIT, |t| {
            t.contains("/threads") && t.to_lowercase().contains("reply")
        })
        .await;
    assert_eq!(help.parse_mode(), None);

    // With the bot's username, as Telegram clients send it in groups.
    tg.push(Incoming::text(ADMIN_CHAT, "/threads@sohbet_bot"));
    tg.wait_for("a second /threads answer", WAIT, |calls| {
        (calls
            .iter()
            .filter(|c| {
                c.is("sendMessage")
                    && c.ok()
                    && c.text()
                        .is_some_and(|t| t.contains("unread") && t.contains(&name))
            })
            .count()
            == 2)
            .then_some(())
    })
    .await;
    // Commands store nothing.
    assert_eq!(v.messages(&tid, "").await.len(), 2);
    app.finish().await;
}
