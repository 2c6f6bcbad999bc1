//! Telegram as a support console (issue 12), against the Bot API double in
//! forum mode (`tests/it/common/telegram/forum.rs`): one forum topic per
//! visitor, answers without Reply, the mapping across a restart, deleted
//! and closed topics, a burst under Telegram's per-chat limit, and
//! `/selftest`. Every test runs on SQLite and Postgres.

use std::time::{Duration, Instant};

use crate::common::{
    Backend, Browser, KeptDb, TestApp,
    bridge::{
        assert_each_once_in_order, expand, forwards_in, forwards_to, start, wait_carrying, wired,
    },
    spawn,
    telegram::{
        Call, Incoming, Media, TelegramDouble,
        forum::{FORUM_CHAT, Rights},
    },
};
use serde_json::{Value, json};
use sohbet::chat::display_name_for;

on_both_backends!(
    two_visitors_get_two_topics_and_answers_without_reply,
    a_restart_keeps_the_topic_of_a_thread,
    a_deleted_topic_is_recreated_and_a_closed_one_reopened,
    a_burst_is_delivered_completely_in_order_without_a_429_storm,
    selftest_reports_a_bot_without_topic_rights_with_the_fix,
    media_in_a_topic_reach_the_visitor_and_refusals_answer_in_the_topic,
    a_topic_is_named_with_the_visitor_page_once_known,
);

const WAIT: Duration = Duration::from_secs(15);

async fn health(app: &TestApp) -> Value {
    reqwest::get(format!("{}/health", app.base))
        .await
        .expect("GET /health")
        .json()
        .await
        .expect("health JSON")
}

/// Waits until the start-up self-test ran; returns its report.
async fn wait_selftest(app: &TestApp) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let h = health(app).await;
        let r = &h["checks"]["telegram_bridge"];
        if r.is_object() {
            return r.clone();
        }
        assert!(Instant::now() < deadline, "no self-test in /health: {h}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls the visitor's history until `pred` holds.
async fn wait_messages(
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

fn admin_texts(msgs: &[Value]) -> Vec<String> {
    msgs.iter()
        .filter(|m| m["sender_type"] == json!("admin"))
        .filter_map(|m| m["content_text"].as_str().map(str::to_owned))
        .collect()
}

fn forward_text(tid: &str, text: &str) -> String {
    format!("[{}] {text}", display_name_for(tid))
}

fn topic_of(c: &Call) -> Option<i64> {
    c.str_param("message_thread_id")
        .and_then(|t| t.parse().ok())
}

/// Sends `text` as the visitor; waits for its forward; returns the forward.
async fn send_and_forward(tg: &TelegramDouble, v: &Browser, tid: &str, text: &str) -> Call {
    let (s, r) = v.send(None, text).await;
    assert_eq!(s, 200, "{r}");
    wait_carrying(tg, FORUM_CHAT, &forward_text(tid, text), WAIT).await
}

async fn two_visitors_get_two_topics_and_answers_without_reply(backend: Backend) {
    let tg = TelegramDouble::start_forum().await;
    let app = start(backend, &tg, &[]).await;
    let report = wait_selftest(&app).await;
    assert_eq!(report["topic_mode"], json!(true), "{report}");

    let (a, b) = (app.visitor().await, app.visitor().await);
    let (ta, tb) = (a.thread_id().await, b.thread_id().await);
    let fa = send_and_forward(&tg, &a, &ta, "hello from A").await;
    let fb = send_and_forward(&tg, &b, &tb, "hello from B").await;
    let (topic_a, topic_b) = (
        topic_of(&fa).expect("A in a topic"),
        topic_of(&fb).expect("B in a topic"),
    );
    assert_ne!(topic_a, topic_b, "one topic per visitor");
    let names: Vec<(i64, String)> = tg.topics().into_iter().map(|t| (t.id, t.name)).collect();
    assert_eq!(
        names,
        [
            (topic_a, display_name_for(&ta)),
            (topic_b, display_name_for(&tb))
        ],
        "topics named after the visitors"
    );
    // A's second message goes to A's topic, not a new one.
    let fa2 = send_and_forward(&tg, &a, &ta, "A again").await;
    assert_eq!(topic_of(&fa2), Some(topic_a));
    assert_eq!(tg.topics().len(), 2);

    // The admin writes in each topic without Telegram's Reply.
    tg.push(Incoming::text(FORUM_CHAT, "answer for A").in_topic(topic_a));
    tg.push(Incoming::text(FORUM_CHAT, "answer for B").in_topic(topic_b));
    let (last, _) = tg.push(Incoming::text(FORUM_CHAT, "second for A").in_topic(topic_a));
    wait_messages(&a, &ta, "both answers", |m| admin_texts(m).len() == 2).await;
    wait_messages(&b, &tb, "its answer", |m| !admin_texts(m).is_empty()).await;
    tg.wait_consumed(last, WAIT).await;
    assert_eq!(
        admin_texts(&a.messages(&ta, "").await),
        ["answer for A", "second for A"]
    );
    assert_eq!(admin_texts(&b.messages(&tb, "").await), ["answer for B"]);

    // A message in the General topic (no visitor's topic, no reply) gets
    // the topic hint there, and is stored nowhere.
    tg.push(Incoming::text(FORUM_CHAT, "where does this go?"));
    let hint = tg
        .wait_text_to(FORUM_CHAT, "the topic hint", WAIT, |t| {
            t.contains("write in their topic")
        })
        .await;
    assert_eq!(topic_of(&hint), None);
    assert_eq!(admin_texts(&a.messages(&ta, "").await).len(), 2);
    app.finish().await;
}

async fn a_restart_keeps_the_topic_of_a_thread(backend: Backend) {
    let tg = TelegramDouble::start_forum().await;
    let db = KeptDb::new(backend).await;
    // The same key on both runs, so the visitor's cookie stays valid.
    let key = "k".repeat(48);
    let env = [("SECRET_KEY", key.as_str())];
    let app1 = spawn(wired(backend, &tg, &env).db(&db)).await;
    let v = app1.visitor().await;
    let tid = v.thread_id().await;
    let topic =
        topic_of(&send_and_forward(&tg, &v, &tid, "before the restart").await).expect("topic");
    app1.finish().await;

    let app2 = spawn(wired(backend, &tg, &env).db(&db)).await;
    wait_selftest(&app2).await;
    let v = Browser {
        client: v.client.clone(),
        base: app2.base.clone(),
        csrf: v.csrf.clone(),
    };
    // The admin writes in the old topic: it still reaches this visitor.
    tg.push(Incoming::text(FORUM_CHAT, "after the restart").in_topic(topic));
    wait_messages(&v, &tid, "the answer after the restart", |m| {
        admin_texts(m) == ["after the restart"]
    })
    .await;
    // The visitor's next message goes to the same topic.
    // (A stop may cut the worker between Telegram's answer and its record:
    // the first forward may come again, coalesced with this one.)
    let f = send_and_forward(&tg, &v, &tid, "still here").await;
    assert_eq!(topic_of(&f), Some(topic));
    assert_eq!(
        tg.with_calls(|c| c.iter().filter(|c| c.is("createForumTopic")).count()),
        1
    );
    app2.finish().await;
}

async fn a_deleted_topic_is_recreated_and_a_closed_one_reopened(backend: Backend) {
    let tg = TelegramDouble::start_forum().await;
    let app = start(backend, &tg, &[]).await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    let t1 = topic_of(&send_and_forward(&tg, &v, &tid, "first").await).expect("topic");

    tg.delete_topic(t1);
    let f = send_and_forward(&tg, &v, &tid, "after the delete").await;
    let t2 = topic_of(&f).expect("a new topic");
    assert_ne!(t2, t1, "a new topic");
    assert_eq!(tg.topics().iter().filter(|t| !t.deleted).count(), 1);
    tg.push(Incoming::text(FORUM_CHAT, "in the new topic").in_topic(t2));
    wait_messages(&v, &tid, "the answer in the new topic", |m| {
        admin_texts(m) == ["in the new topic"]
    })
    .await;

    let closed = tg.close_topic(t2);
    tg.wait_consumed(closed, WAIT).await;
    let f = send_and_forward(&tg, &v, &tid, "after the close").await;
    assert_eq!(topic_of(&f), Some(t2), "the same topic, reopened");
    assert!(tg.topics().iter().any(|t| t.id == t2 && !t.closed));
    assert!(tg.with_calls(|c| c.iter().any(|c| c.is("reopenForumTopic") && c.ok())));
    app.finish().await;
}

async fn a_burst_is_delivered_completely_in_order_without_a_429_storm(backend: Backend) {
    // Telegram's 20 messages a minute per group, scaled to 20 a second so
    // the test takes seconds: the double refuses the 21st in any second.
    let tg = TelegramDouble::start_forum().await;
    tg.set_chat_limit(20, Duration::from_secs(1));
    let app = start(
        backend,
        &tg,
        &[("TELEGRAM_CHAT_MESSAGES_PER_MINUTE", "1200")],
    )
    .await;
    wait_selftest(&app).await;
    let mut visitors = Vec::new();
    for _ in 0..30 {
        let v = app.visitor().await;
        let tid = v.thread_id().await;
        visitors.push((v, tid));
    }
    // The first visitor has a backlog of 42 before the others write.
    let mut wanted: Vec<(String, Vec<String>)> = Vec::new();
    let mut sends = Vec::new();
    for (i, (v, tid)) in visitors.iter().enumerate() {
        let n = if i == 0 { 42 } else { 2 };
        let texts: Vec<String> = (0..n).map(|k| format!("burst v{i} m{k}")).collect();
        for t in &texts {
            sends.push((v, t.clone()));
        }
        wanted.push((
            tid.clone(),
            texts.iter().map(|t| forward_text(tid, t)).collect(),
        ));
    }
    let total: usize = wanted.iter().map(|w| w.1.len()).sum();
    assert!(total >= 100, "{total}");
    for (v, t) in &sends {
        let (s, r) = v.send(None, t).await;
        assert_eq!(s, 200, "{r}");
    }
    // Every message is queued: the calls from here on.
    let queued = tg.with_calls(|c| c.len());
    let all: Vec<String> = wanted.iter().flat_map(|w| w.1.clone()).collect();
    tg.wait_for(
        "every forward of the burst",
        Duration::from_secs(60),
        |calls| {
            let n = forwards_in(calls, FORUM_CHAT)
                .iter()
                .filter(|t| all.contains(t))
                .count();
            (n >= all.len()).then_some(())
        },
    )
    .await;
    // Alone or coalesced (issue 23), each once and in order per thread.
    assert_each_once_in_order(&forwards_to(&tg, FORUM_CHAT), &wanted);
    // No thread starved behind the first one's backlog: once everything
    // was queued, the first visitor had at most two sends (its turn, and
    // one in flight) before the last visitor's first message went out.
    let sends: Vec<Vec<String>> = tg.with_calls(|c| {
        c[queued..]
            .iter()
            .filter(|c| c.is("sendMessage") && c.ok())
            .filter_map(Call::text)
            .map(|t| expand(&t))
            .collect()
    });
    let last_first = sends
        .iter()
        .position(|s| s.contains(&wanted[29].1[0]))
        .expect("delivered after the burst was queued");
    let first_sends = sends[..last_first]
        .iter()
        .filter(|s| s.iter().any(|f| wanted[0].1.contains(f)))
        .count();
    assert!(
        first_sends <= 2,
        "{first_sends} sends of the first visitor before the last one's first:\n{}",
        tg.summary()
    );
    assert_eq!(tg.limit_refusals(), 0, "no 429 at all:\n{}", tg.summary());
    app.finish().await;
}

async fn selftest_reports_a_bot_without_topic_rights_with_the_fix(backend: Backend) {
    let tg = TelegramDouble::start_forum().await;
    tg.set_rights(Rights {
        admin: true,
        manage_topics: false,
        delete_messages: false,
    });
    let app = start(backend, &tg, &[]).await;
    let report = wait_selftest(&app).await;
    assert_eq!(report["topic_mode"], json!(false), "{report}");

    tg.push(Incoming::text(FORUM_CHAT, "/selftest"));
    let text = tg
        .wait_text_to(FORUM_CHAT, "the self-test", WAIT, |t| {
            t.starts_with("sohbet self-test")
        })
        .await
        .text()
        .expect("text");
    for line in [
        "✓ bot token: valid (@sohbet_bot)",
        "✓ chat: reachable (forum supergroup)",
        "✓ bot is admin: yes",
        "✗ can manage topics: no",
        "→ make the bot an admin with Manage topics",
        "✗ can delete messages: no",
        "✓ updates: long polling",
        "✓ outbox: empty",
        "Topic mode: off",
    ] {
        assert!(text.contains(line), "{line:?} missing in:\n{text}");
    }

    // Without topic rights, today's reply routing: forwards go to the chat
    // itself and a message that is not a reply gets the hint.
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    let f = send_and_forward(&tg, &v, &tid, "no topics here").await;
    assert_eq!(topic_of(&f), None);
    assert!(tg.topics().is_empty());
    tg.push(Incoming::text(FORUM_CHAT, "reply by Reply").reply_to(f.message_id().expect("id")));
    wait_messages(&v, &tid, "the reply", |m| {
        admin_texts(m) == ["reply by Reply"]
    })
    .await;
    app.finish().await;
}

async fn media_in_a_topic_reach_the_visitor_and_refusals_answer_in_the_topic(backend: Backend) {
    let tg = TelegramDouble::start_forum().await;
    let app = start(backend, &tg, &[]).await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    let topic =
        topic_of(&send_and_forward(&tg, &v, &tid, "send me a picture").await).expect("topic");
    // A real 1x1 JPEG, sent "as a file" (a document), no reply.
    const JPEG_1X1_HEX: &str = "ffd8ffe000104a46494600010100000100010000ffdb004300100b0c0e0c0a100e0d0e\
        1211101318281a181616183123251d283a333d3c3933383740485c4e404457453738506d51575f626768673e4d7179\
        7064785c656763ffc0000b080001000101011100ffc40014000100000000000000000000000000000000ffc4001410\
        0100000000000000000000000000000000ffda0008010100003f003fffd9";
    let jpg: Vec<u8> = hex::decode(JPEG_1X1_HEX).expect("hex");
    let doc = Media::Document {
        bytes: jpg.clone(),
        file_name: "photo.jpg".into(),
        mime_type: "image/jpeg".into(),
    };
    tg.push(Incoming::media(FORUM_CHAT, doc, Some("as a file")).in_topic(topic));
    let msgs = wait_messages(&v, &tid, "the admin's image", |m| {
        m.iter()
            .any(|m| m["sender_type"] == json!("admin") && m["content_type"] == json!("image"))
    })
    .await;
    let img = msgs
        .iter()
        .find(|m| m["content_type"] == json!("image"))
        .expect("image");
    assert_eq!(img["content_text"], json!("as a file"));

    // What cannot reach a visitor (a sticker; a PDF) gets a short answer in
    // the topic, not silence, and stores nothing.
    tg.push(Incoming::media(FORUM_CHAT, Media::Sticker, None).in_topic(topic));
    let refusal = tg
        .wait_text_to(FORUM_CHAT, "the refusal", WAIT, |t| {
            t.starts_with("Only text, photos")
        })
        .await;
    assert_eq!(topic_of(&refusal), Some(topic));
    let pdf = Media::Document {
        bytes: b"%PDF-1.4".to_vec(),
        file_name: "a.pdf".into(),
        mime_type: "application/pdf".into(),
    };
    tg.push(Incoming::media(FORUM_CHAT, pdf, None).in_topic(topic));
    let refusal = tg
        .wait_text_to(FORUM_CHAT, "the PDF refusal", WAIT, |t| {
            t.contains("only image and audio documents")
        })
        .await;
    assert_eq!(topic_of(&refusal), Some(topic));
    assert_eq!(admin_texts(&v.messages(&tid, "").await), ["as a file"]);
    app.finish().await;
}

async fn a_topic_is_named_with_the_visitor_page_once_known(backend: Backend) {
    let tg = TelegramDouble::start_forum().await;
    let app = start(backend, &tg, &[]).await;
    wait_selftest(&app).await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    let name = display_name_for(&tid);
    let report = |url: &str| json!({ "url": url, "title": "t" });

    // The page is known before the first message: the topic carries it
    // (host and path; the query, which can carry tokens, never).
    let (s, r) = v
        .post(
            "/api/visitor/context",
            report("https://shop.example/pricing?t=secret"),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let (s, r) = v.send(None, "hello").await;
    assert_eq!(s, 200, "{r}");
    // The thread's first forward ends with the visitor's context line.
    let want = forward_text(&tid, "hello");
    let first = tg
        .wait_text_to(FORUM_CHAT, &format!("forward {want:?}"), WAIT, |t| {
            t.lines().next() == Some(want.as_str())
        })
        .await;
    let topic = topic_of(&first).expect("in a topic");
    let names = || tg.topics().into_iter().map(|t| t.name).collect::<Vec<_>>();
    assert_eq!(names(), [format!("{name} · shop.example/pricing")]);

    // The visitor moves on and writes again: the same topic, renamed.
    let (s, r) = v
        .post("/api/visitor/context", report("https://shop.example/cart"))
        .await;
    assert_eq!(s, 200, "{r}");
    let second = send_and_forward(&tg, &v, &tid, "still there").await;
    assert_eq!(topic_of(&second), Some(topic));
    assert_eq!(names(), [format!("{name} · shop.example/cart")]);
    app.finish().await;
}
