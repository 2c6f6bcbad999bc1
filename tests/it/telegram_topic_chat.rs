//! Forum topics belong to their chat (issue 20 item 3, issue 23 item 5),
//! against the Bot API double in forum mode: after `TELEGRAM_CHAT_ID` moves
//! to another group on the same database, a topic id of the old group never
//! routes or receives forwards in the new one (topic ids are message ids,
//! numbered per chat, so they collide); a refused `createForumTopic` turns
//! topic mode off only when topics cannot work (and `/health`'s self-test
//! says why), other failures are retried; topic names are cut at 128 UTF-16
//! units. Every test runs on SQLite and Postgres.

use std::time::{Duration, Instant};

use crate::common::{
    Backend, Browser, KeptDb, TestApp,
    bridge::{start, wait_backlog_empty, wired},
    spawn,
    telegram::{
        Call, Incoming, TelegramDouble,
        forum::{FORUM_CHAT, Rights},
    },
};
use serde_json::{Value, json};
use sohbet::chat::display_name_for;

on_both_backends!(
    an_answer_in_a_colliding_topic_of_a_new_chat_reaches_only_its_visitor,
    a_failed_topic_creation_is_retried_and_topic_mode_stays_on,
    topics_refused_by_the_chat_turn_topic_mode_off_and_the_selftest_says_why,
    a_long_topic_name_is_cut_at_128_utf16_units,
);

const WAIT: Duration = Duration::from_secs(15);
/// The group `TELEGRAM_CHAT_ID` moves to (another supergroup).
const CHAT_B: i64 = -1_009_876_543_210;

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
    wait_report(app, "a self-test", |r| r.is_object()).await
}

/// Polls `/health` until the self-test report satisfies `pred`.
async fn wait_report(app: &TestApp, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let h = health(app).await;
        let r = &h["checks"]["telegram_bridge"];
        if pred(r) {
            return r.clone();
        }
        assert!(Instant::now() < deadline, "no {what} in /health: {h}");
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

fn topic_of(c: &Call) -> Option<i64> {
    c.str_param("message_thread_id")
        .and_then(|t| t.parse().ok())
}

/// Sends `text` as the visitor; waits for its forward to `chat` (its first
/// line: a thread's first forward ends with a context line); returns it.
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
    tg.wait_text_to(chat, &format!("forward {want:?}"), WAIT, |t| {
        t.lines().next() == Some(want.as_str())
    })
    .await
}

fn creations(tg: &TelegramDouble) -> Vec<Call> {
    tg.with_calls(|c| {
        c.iter()
            .filter(|c| c.is("createForumTopic"))
            .cloned()
            .collect()
    })
}

/// The attack of issue 20 item 3: the admin chat moves from group A to
/// group B on the same database; a new visitor's topic in B gets the id the
/// old visitor's topic had in A. The old visitor's next message must get a
/// topic of its own in B, and the admin's answer in the colliding topic must
/// reach the new visitor only.
async fn an_answer_in_a_colliding_topic_of_a_new_chat_reaches_only_its_visitor(backend: Backend) {
    let db = KeptDb::new(backend).await;
    // The same key on both runs, so the old visitor's cookie stays valid.
    let key = "k".repeat(48);
    let env = [("SECRET_KEY", key.as_str())];

    let tg_a = TelegramDouble::start_forum().await;
    let app1 = spawn(wired(backend, &tg_a, &env).db(&db)).await;
    wait_selftest(&app1).await;
    let old = app1.visitor().await;
    let old_tid = old.thread_id().await;
    let old_forward = send_and_forward(&tg_a, FORUM_CHAT, &old, &old_tid, "in group A").await;
    let old_topic = topic_of(&old_forward).expect("a topic in A");
    // Recorded as sent: a stop before that record would resend it in B.
    wait_backlog_empty(&app1).await;
    app1.finish().await;

    // TELEGRAM_CHAT_ID = B, same database.
    let tg_b = TelegramDouble::start_forum_in(CHAT_B).await;
    let app2 = spawn(wired(backend, &tg_b, &env).db(&db)).await;
    let report = wait_selftest(&app2).await;
    assert_eq!(report["topic_mode"], json!(true), "{report}");
    let old = Browser {
        client: old.client.clone(),
        base: app2.base.clone(),
        csrf: old.csrf.clone(),
    };
    let new = app2.visitor().await;
    let new_tid = new.thread_id().await;
    let new_forward = send_and_forward(&tg_b, CHAT_B, &new, &new_tid, "in group B").await;
    let new_topic = topic_of(&new_forward).expect("a topic in B");
    assert_eq!(
        new_topic,
        old_topic,
        "precondition: the two groups' topic ids collide\n{}",
        tg_b.summary()
    );

    // The old visitor writes: a new topic in B, never the colliding one.
    let f = send_and_forward(&tg_b, CHAT_B, &old, &old_tid, "back again").await;
    let old_topic_b = topic_of(&f).expect("the old visitor's forward in a topic of B");
    assert_ne!(
        old_topic_b, new_topic,
        "the old visitor's message went into the new visitor's topic"
    );
    assert_eq!(creations(&tg_b).len(), 2, "{}", tg_b.summary());
    // It carries the thread's buttons there (the old ones are in A).
    let f_id = f.message_id().expect("id");
    assert!(
        !tg_b.button_data(f_id).is_empty(),
        "no buttons in B:\n{}",
        tg_b.summary()
    );

    // The admin answers in the colliding topic, then in the old visitor's
    // new one, then by Telegram's Reply to the message of B whose id the
    // old visitor's forward had in A (links are per chat too).
    assert_eq!(new_forward.message_id(), old_forward.message_id());
    tg_b.push(Incoming::text(CHAT_B, "for the new visitor").in_topic(new_topic));
    tg_b.push(Incoming::text(CHAT_B, "for the old visitor").in_topic(old_topic_b));
    let (last, _) = tg_b
        .push(Incoming::text(CHAT_B, "by Reply").reply_to(old_forward.message_id().expect("id")));
    wait_messages(&new, &new_tid, "both answers", |m| {
        admin_texts(m).len() == 2
    })
    .await;
    wait_messages(&old, &old_tid, "its answer", |m| !admin_texts(m).is_empty()).await;
    tg_b.wait_consumed(last, WAIT).await;
    assert_eq!(
        admin_texts(&new.messages(&new_tid, "?limit=200").await),
        ["for the new visitor", "by Reply"]
    );
    assert_eq!(
        admin_texts(&old.messages(&old_tid, "?limit=200").await),
        ["for the old visitor"],
        "an answer for another visitor reached the old one"
    );
    app2.finish().await;
}

/// `createForumTopic` failing with a server error (500), a 429 and a
/// refusal that is not about topics: the thread's forward is retried and
/// reaches its topic; topic mode stays on.
async fn a_failed_topic_creation_is_retried_and_topic_mode_stays_on(backend: Backend) {
    let tg = TelegramDouble::start_forum().await;
    let app = start(backend, &tg, &[]).await;
    let report = wait_selftest(&app).await;
    assert_eq!(report["topic_mode"], json!(true), "{report}");
    tg.fail_method("createForumTopic", 1, 500, "Internal Server Error");
    tg.throttle("createForumTopic", 1, 1);
    tg.fail_method("createForumTopic", 1, 400, "Bad Request: chat not found");

    let v = app.visitor().await;
    let tid = v.thread_id().await;
    let f = send_and_forward(&tg, FORUM_CHAT, &v, &tid, "hello").await;
    let topic = topic_of(&f).expect("the forward in its topic");
    let tries: Vec<u16> = creations(&tg).iter().map(|c| c.status).collect();
    assert_eq!(tries, [500, 429, 400, 200], "{}", tg.summary());
    assert_eq!(tg.topics().len(), 1);
    assert_eq!(tg.topics()[0].id, topic);
    let report = health(&app).await["checks"]["telegram_bridge"].clone();
    assert_eq!(report["topic_mode"], json!(true), "{report}");
    app.finish().await;
}

/// `createForumTopic` refused because the group is not a forum (or the bot
/// may not manage topics): topic mode off, the forward goes to the chat
/// itself, and the self-test in `/health` says why; `/selftest` turns topic
/// mode on again once topics work.
async fn topics_refused_by_the_chat_turn_topic_mode_off_and_the_selftest_says_why(
    backend: Backend,
) {
    let tg = TelegramDouble::start_forum().await;
    let app = start(backend, &tg, &[]).await;
    let report = wait_selftest(&app).await;
    assert_eq!(report["topic_mode"], json!(true), "{report}");

    // Topics disabled in the group after the start.
    tg.set_is_forum(false);
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    let f = send_and_forward(&tg, FORUM_CHAT, &v, &tid, "no forum").await;
    assert_eq!(topic_of(&f), None, "the forward goes to the chat itself");
    let report = wait_report(&app, "topic mode off", |r| r["topic_mode"] == json!(false)).await;
    let reason = report["topic_reason"].as_str().expect("reason");
    assert!(reason.contains("the chat is not a forum"), "{report}");
    let check = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"] == json!("topic mode"))
        .cloned()
        .expect("a topic mode check");
    assert_eq!(check["ok"], json!(false), "{report}");
    assert!(
        check["fix"]
            .as_str()
            .is_some_and(|f| f.contains("Manage topics"))
    );

    // Topics back on, `/selftest`: topic mode on again; then the bot loses
    // the Manage topics right: off again, with that reason.
    tg.set_is_forum(true);
    tg.push(Incoming::text(FORUM_CHAT, "/selftest"));
    wait_report(&app, "topic mode on again", |r| {
        r["topic_mode"] == json!(true)
    })
    .await;
    tg.set_rights(Rights {
        admin: true,
        manage_topics: false,
        delete_messages: true,
    });
    let w = app.visitor().await;
    let wid = w.thread_id().await;
    let f = send_and_forward(&tg, FORUM_CHAT, &w, &wid, "no rights").await;
    assert_eq!(topic_of(&f), None);
    let report = wait_report(&app, "topic mode off", |r| r["topic_mode"] == json!(false)).await;
    assert!(
        report["topic_reason"]
            .as_str()
            .is_some_and(|r| r.contains("not enough rights")),
        "{report}"
    );
    assert!(tg.topics().is_empty());
    app.finish().await;
}

/// The visitor's page (part of the topic name) is 150 emoji long: the name
/// is cut at Telegram's 128 UTF-16 units, not 128 characters (256 units),
/// and never inside a character.
async fn a_long_topic_name_is_cut_at_128_utf16_units(backend: Backend) {
    let tg = TelegramDouble::start_forum().await;
    let app = start(backend, &tg, &[]).await;
    wait_selftest(&app).await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    let path = "😀".repeat(150);
    let url = format!("https://shop.example/{path}");
    let (s, r) = v
        .post("/api/visitor/context", json!({"url": url, "title": "t"}))
        .await;
    assert_eq!(s, 200, "{r}");
    let f = send_and_forward(&tg, FORUM_CHAT, &v, &tid, "hello").await;
    let topic = topic_of(&f).expect("the forward in a topic");
    let topics = tg.topics();
    assert_eq!(topics.len(), 1);
    assert_eq!(topics[0].id, topic);
    let full = format!("{} · shop.example/{path}", display_name_for(&tid));
    let name = &topics[0].name;
    let units = name.encode_utf16().count();
    assert!((127..=128).contains(&units), "{units} units: {name}");
    assert!(full.starts_with(name.as_str()), "{name}");
    assert!(name.ends_with('😀'), "{name}");
    app.finish().await;
}
