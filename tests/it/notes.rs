//! Internal notes (issue 22, item 6) and the panel's answers in the
//! thread's Telegram topic. A note reaches the agents (admin socket, admin
//! history, the topic) and never the visitor: not its socket, not its
//! history (cookie or widget token), not its reconnect catch-up; a visitor
//! cannot write one. A `/note` written in Telegram is stored as a note. An
//! answer or note written in the panel is mirrored into the topic
//! under the agent's name (`admin: …`, `📝 Note (admin): …`, the bootstrap
//! owner's name); one written in Telegram is not
//! echoed back, and without topics nothing new is sent. Every test runs on
//! SQLite and Postgres.

use serde_json::{Value, json};

use crate::common::{
    Backend, Browser, Opts, TestApp, assert_error,
    bridge::{self, WAIT, send_and_forward, start, wait_backlog_empty, wait_messages},
    embed::{ORIGIN, call, embed_token, thread_of},
    socket::Socket,
    spawn,
    telegram::{ADMIN_CHAT, Call, Incoming, TelegramDouble, forum::FORUM_CHAT},
};

on_both_backends!(
    a_note_reaches_the_agents_sockets_and_never_the_visitors,
    histories_and_catch_up_leave_notes_out_for_visitors,
    a_visitor_cannot_write_a_note,
    a_note_written_in_a_topic_is_kept_from_the_visitor,
    a_note_replied_in_reply_mode_is_kept_from_the_visitor,
    panel_answers_and_notes_are_mirrored_into_the_topic,
    nothing_is_mirrored_without_topics,
);

/// An admin browser and a visitor browser whose thread exists (the visitor
/// wrote `hello`); returns them with the thread id and that message's id.
async fn thread_with_admin(app: &mut TestApp) -> (Browser, Browser, String, i64) {
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    let (s, r) = v.send(None, "hello").await;
    assert_eq!(s, 200, "{r}");
    let admin = app.admin().await;
    (admin, v, tid, r["message_id"].as_i64().expect("id"))
}

/// Posts as `b` to `/api/messages/send`; asserts 200; returns the message.
async fn send(b: &Browser, body: Value) -> Value {
    let (s, r) = b.post("/api/messages/send", body).await;
    assert_eq!(s, 200, "{r}");
    r["message"].clone()
}

fn note(tid: &str, text: &str) -> Value {
    json!({"thread_id": tid, "text": text, "internal": true})
}

fn answer(tid: &str, text: &str) -> Value {
    json!({"thread_id": tid, "text": text})
}

fn texts(msgs: &[Value]) -> Vec<&str> {
    msgs.iter()
        .filter_map(|m| m["content_text"].as_str())
        .collect()
}

async fn a_note_reaches_the_agents_sockets_and_never_the_visitors(backend: Backend) {
    let mut app = spawn(backend).await;
    let (admin, v, tid, _) = thread_with_admin(&mut app).await;
    let mut vs = Socket::visitor(&v, None).await;
    let mut admin_socket = Socket::admin(&admin).await;

    // A note over HTTP, one over the admin's socket, then a normal answer.
    let m = send(&admin, note(&tid, "note over http")).await;
    assert_eq!(m["internal"], json!(true), "{m}");
    let ack = admin_socket
        .emit("message_to_visitor", note(&tid, "note over the socket"))
        .await;
    assert_eq!(ack["success"], json!(true), "{ack}");
    assert_eq!(ack["message"]["internal"], json!(true), "{ack}");
    send(&admin, answer(&tid, "the answer")).await;

    // The agents get all three, in order, the notes marked.
    let mut seen = Vec::new();
    for _ in 0..3 {
        let m = admin_socket.next("message_to_visitor").await;
        seen.push((m["content_text"].clone(), m["internal"].clone()));
    }
    assert_eq!(
        seen,
        [
            (json!("note over http"), json!(true)),
            (json!("note over the socket"), json!(true)),
            (json!("the answer"), json!(false)),
        ]
    );
    // The visitor's first answer event is the answer: the notes, sent
    // before it on the same path, never reached its socket.
    let got = vs.next("message_to_visitor").await;
    assert_eq!(got["content_text"], json!("the answer"), "{got}");
    assert_eq!(got["internal"], json!(false));
    for (event, data) in vs.drain() {
        assert_ne!(data["internal"], json!(true), "{event}: {data}");
    }
    app.finish().await;
}

async fn histories_and_catch_up_leave_notes_out_for_visitors(backend: Backend) {
    let mut app = spawn(Opts::new(backend).env("EMBED_ORIGINS", ORIGIN)).await;
    let (admin, v, tid, hello) = thread_with_admin(&mut app).await;
    send(&admin, note(&tid, "secret note")).await;
    let answered = send(&admin, answer(&tid, "visible answer")).await;
    send(&admin, note(&tid, "second note")).await;

    // The visitor's history and its catch-up after `hello`: no note.
    let all = v.messages(&tid, "").await;
    assert_eq!(texts(&all), ["hello", "visible answer"]);
    let after = v.messages(&tid, &format!("?after={hello}")).await;
    assert_eq!(texts(&after), ["visible answer"]);
    // A page is full although notes are left out (filtered in the query).
    let one = v.messages(&tid, "?limit=1").await;
    assert_eq!(texts(&one), ["visible answer"]);
    // The agents' history has every message, the notes marked.
    let (s, r) = admin.get(&format!("/api/messages/{tid}")).await;
    assert_eq!(s, 200, "{r}");
    let all: Vec<(String, bool)> = r["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            (
                m["content_text"].as_str().unwrap_or_default().to_owned(),
                m["internal"].as_bool().expect("internal is a bool"),
            )
        })
        .collect();
    assert_eq!(
        all,
        [
            ("hello".to_owned(), false),
            ("secret note".to_owned(), true),
            ("visible answer".to_owned(), false),
            ("second note".to_owned(), true),
        ]
    );

    // A reconnecting visitor socket replays what came after `hello`: the
    // answer, not the notes around it.
    let mut vs = Socket::visitor(&v, Some(hello)).await;
    let replayed = vs.next("message_to_visitor").await;
    assert_eq!(replayed["id"], answered["id"], "{replayed}");
    // The next answer arrives live after the replay: no note between.
    send(&admin, answer(&tid, "live answer")).await;
    let live = vs.next("message_to_visitor").await;
    assert_eq!(live["content_text"], json!("live answer"), "{live}");

    // The widget: a token's history leaves notes out too.
    let token = embed_token(&app).await;
    let wtid = thread_of(&token);
    let url = |p: &str| format!("{}{p}", app.base);
    let (s, r) = call(
        &token,
        "POST",
        url("/api/messages/send"),
        Some(json!({"text": "from the widget"})),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    send(&admin, note(&wtid, "widget note")).await;
    send(&admin, answer(&wtid, "widget answer")).await;
    for query in ["", "?after=0"] {
        let (s, r) = call(
            &token,
            "GET",
            url(&format!("/api/messages/{wtid}{query}")),
            None,
        )
        .await;
        assert_eq!(s, 200, "{r}");
        let got: Vec<Value> = r["messages"].as_array().expect("messages").clone();
        assert_eq!(texts(&got), ["from the widget", "widget answer"], "{query}");
    }
    app.finish().await;
}

async fn a_visitor_cannot_write_a_note(backend: Backend) {
    let mut app = spawn(Opts::new(backend).env("EMBED_ORIGINS", ORIGIN)).await;
    let (admin, v, tid, _) = thread_with_admin(&mut app).await;
    let forbidden = "Only an agent can write an internal note";

    // Over HTTP, naming its thread or not.
    for body in [
        json!({"text": "my note", "internal": true}),
        note(&tid, "my note"),
    ] {
        let (s, r) = v.post("/api/messages/send", body).await;
        assert_error(s, &r, 403, "FORBIDDEN");
        assert_eq!(r["error"], json!(forbidden));
    }
    // The agent's browser acting as its own visitor (no thread named).
    let (s, r) = admin
        .post("/api/messages/send", json!({"text": "x", "internal": true}))
        .await;
    assert_error(s, &r, 403, "FORBIDDEN");
    // Over the visitor's socket.
    let mut vs = Socket::visitor(&v, None).await;
    let ack = vs
        .emit(
            "message_from_visitor",
            json!({"text": "socket note", "internal": true}),
        )
        .await;
    assert_eq!(ack["success"], json!(false), "{ack}");
    assert_eq!(ack["code"], json!("FORBIDDEN"), "{ack}");
    // With a widget token.
    let token = embed_token(&app).await;
    let (s, r) = call(
        &token,
        "POST",
        format!("{}/api/messages/send", app.base),
        Some(json!({"text": "token note", "internal": true})),
    )
    .await;
    assert_error(s, &r, 403, "FORBIDDEN");

    // Nothing of it was stored.
    let (_, r) = admin.get(&format!("/api/messages/{tid}")).await;
    let stored: Vec<Value> = r["messages"].as_array().expect("messages").clone();
    assert_eq!(texts(&stored), ["hello"]);
    let (s, _) = admin
        .get(&format!("/api/messages/{}", thread_of(&token)))
        .await;
    assert_eq!(s, 404, "the token's thread was never created");
    app.finish().await;
}

/// The agents' history of `tid`: `(text, internal)` in order.
async fn agents_view(admin: &Browser, tid: &str) -> Vec<(String, bool)> {
    let (s, r) = admin.get(&format!("/api/messages/{tid}")).await;
    assert_eq!(s, 200, "{r}");
    r["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            (
                m["content_text"].as_str().unwrap_or_default().to_owned(),
                m["internal"] == json!(true),
            )
        })
        .collect()
}

fn topic_of(c: &Call) -> Option<i64> {
    c.str_param("message_thread_id")
        .and_then(|t| t.parse().ok())
}

async fn a_note_written_in_a_topic_is_kept_from_the_visitor(backend: Backend) {
    let tg = TelegramDouble::start_forum().await;
    let mut app = start(backend, &tg, &[]).await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    let (s, r) = v.send(None, "hello").await;
    assert_eq!(s, 200, "{r}");
    let fwd = tg
        .wait_text_to(FORUM_CHAT, "the forward", WAIT, |t| {
            t == bridge::forward_text(&tid, "hello")
        })
        .await;
    let topic = topic_of(&fwd).expect("forwarded into a topic");

    tg.push(Incoming::text(FORUM_CHAT, "/note VIP, be kind\nsecond line").in_topic(topic));
    tg.push(Incoming::text(FORUM_CHAT, "/note@other_bot also a note").in_topic(topic));
    tg.push(Incoming::text(FORUM_CHAT, "hi there").in_topic(topic));
    let (last, _) = tg.push(Incoming::text(FORUM_CHAT, "/note").in_topic(topic));
    // The answer reaches the visitor; the notes (sent before it) do not.
    let seen = wait_messages(&v, &tid, "the answer", |m| {
        bridge::has_admin_text(m, "hi there")
    })
    .await;
    assert_eq!(texts(&seen), ["hello", "hi there"]);
    tg.wait_consumed(last, WAIT).await;
    let admin = app.admin().await;
    assert_eq!(
        agents_view(&admin, &tid).await,
        [
            ("hello".to_owned(), false),
            ("VIP, be kind\nsecond line".to_owned(), true),
            ("also a note".to_owned(), true),
            ("hi there".to_owned(), false),
        ]
    );
    // An empty `/note` is refused in the topic, stored nowhere.
    tg.wait_text_to(FORUM_CHAT, "the refusal of an empty note", WAIT, |t| {
        t.starts_with("Not sent:")
    })
    .await;
    // What was written in Telegram is not echoed back into the topic.
    wait_backlog_empty(&app).await;
    let echoed: Vec<String> = tg
        .texts_to(FORUM_CHAT)
        .into_iter()
        .filter(|t| t.contains("VIP") || t.contains("hi there") || t.contains("also a note"))
        .collect();
    assert!(echoed.is_empty(), "echoed: {echoed:?}");
    assert_eq!(texts(&v.messages(&tid, "").await), ["hello", "hi there"]);
    app.finish().await;
}

async fn a_note_replied_in_reply_mode_is_kept_from_the_visitor(backend: Backend) {
    let tg = TelegramDouble::start().await;
    let mut app = start(backend, &tg, &[]).await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    let fwd = send_and_forward(&tg, &v, &tid, "hello").await;
    tg.push(Incoming::text(ADMIN_CHAT, "/note reply-mode note").reply_to(fwd));
    let (last, _) = tg.push(Incoming::text(ADMIN_CHAT, "reply-mode answer").reply_to(fwd));
    wait_messages(&v, &tid, "the answer", |m| {
        bridge::has_admin_text(m, "reply-mode answer")
    })
    .await;
    tg.wait_consumed(last, WAIT).await;
    assert_eq!(
        texts(&v.messages(&tid, "").await),
        ["hello", "reply-mode answer"]
    );
    let admin = app.admin().await;
    assert_eq!(
        agents_view(&admin, &tid).await,
        [
            ("hello".to_owned(), false),
            ("reply-mode note".to_owned(), true),
            ("reply-mode answer".to_owned(), false),
        ]
    );
    app.finish().await;
}

async fn panel_answers_and_notes_are_mirrored_into_the_topic(backend: Backend) {
    let tg = TelegramDouble::start_forum().await;
    let mut app = start(backend, &tg, &[]).await;
    let (admin, v, tid, _) = thread_with_admin(&mut app).await;
    let fwd = tg
        .wait_text_to(FORUM_CHAT, "the forward", WAIT, |t| {
            t == bridge::forward_text(&tid, "hello")
        })
        .await;
    let topic = topic_of(&fwd).expect("a topic");

    send(&admin, answer(&tid, "panel answer")).await;
    send(&admin, note(&tid, "panel note")).await;
    let a = tg
        .wait_text_to(FORUM_CHAT, "the mirrored answer", WAIT, |t| {
            t == "admin: panel answer"
        })
        .await;
    let n = tg
        .wait_text_to(FORUM_CHAT, "the mirrored note", WAIT, |t| {
            t == "📝 Note (admin): panel note"
        })
        .await;
    assert_eq!((topic_of(&a), topic_of(&n)), (Some(topic), Some(topic)));

    // An answer written in the topic reaches the visitor and is not echoed.
    let (last, _) = tg.push(Incoming::text(FORUM_CHAT, "from telegram").in_topic(topic));
    wait_messages(&v, &tid, "the Telegram answer", |m| {
        bridge::has_admin_text(m, "from telegram")
    })
    .await;
    tg.wait_consumed(last, WAIT).await;
    // One more panel answer: mirrored after the Telegram one was handled,
    // so an echo would have been sent before it.
    send(&admin, answer(&tid, "panel again")).await;
    tg.wait_text_to(FORUM_CHAT, "the second mirrored answer", WAIT, |t| {
        t == "admin: panel again"
    })
    .await;
    wait_backlog_empty(&app).await;
    let bot_texts = tg.texts_to(FORUM_CHAT);
    assert!(
        !bot_texts.iter().any(|t| t.contains("from telegram")),
        "echoed: {bot_texts:?}"
    );
    assert_eq!(
        bot_texts
            .iter()
            .filter(|t| t.starts_with("admin: ") || t.starts_with("📝 Note"))
            .collect::<Vec<_>>(),
        [
            "admin: panel answer",
            "📝 Note (admin): panel note",
            "admin: panel again"
        ]
    );
    // The visitor still never got the note.
    assert_eq!(
        texts(&v.messages(&tid, "").await),
        ["hello", "panel answer", "from telegram", "panel again"]
    );
    app.finish().await;
}

async fn nothing_is_mirrored_without_topics(backend: Backend) {
    let tg = TelegramDouble::start().await;
    let mut app = start(backend, &tg, &[]).await;
    let (admin, v, tid, _) = thread_with_admin(&mut app).await;
    bridge::wait_forward(&tg, &tid, "hello", WAIT).await;
    let before = bridge::send_calls(&tg);
    send(&admin, answer(&tid, "reply-mode panel answer")).await;
    send(&admin, note(&tid, "reply-mode panel note")).await;
    // Settled (dropped) without a call.
    wait_backlog_empty(&app).await;
    assert_eq!(bridge::send_calls(&tg), before, "{}", tg.summary());
    // A later visitor message is still forwarded, and nothing else is.
    let (s, r) = v.send(None, "after").await;
    assert_eq!(s, 200, "{r}");
    bridge::wait_forward(&tg, &tid, "after", WAIT).await;
    wait_backlog_empty(&app).await;
    assert_eq!(bridge::send_calls(&tg), before + 1, "{}", tg.summary());
    app.finish().await;
}
