//! Issue 22's "done when" as one conversation: three agents — Cem in the
//! panel, Ayşe in the Telegram forum group (linked), and a group member
//! linked to no agent while `TELEGRAM_GROUP_MEMBERS=linked` — and one
//! visitor. The visitor sees each answer under its agent's name; Cem's
//! panel answer appears in the topic; a note from the panel and one from
//! Telegram reach no visitor path; the unlinked member is refused and
//! stores nothing; two simultaneous Takes give one assignee and the other
//! agent is told; disabling Cem ends his socket.
//!
//! On Postgres a second instance shares the database and Redis (SQLite is
//! one instance by design, docs/scaling.md): Cem's panel socket lives
//! there, so Ayşe's answer, her note and the end of his socket cross
//! instances.

use serde_json::{Value, json};
use sohbet::telegram::members::Refusal;

use crate::agents::{PASSWORD, add, login, sql};
use crate::common::{
    Backend, KeptDb, Opts, TestApp,
    bridge::{self, WAIT, press_as},
    socket::Socket,
    spawn,
    telegram::{Incoming, TelegramDouble, forum::FORUM_CHAT},
};

on_both_backends!(a_team_of_three_answers_one_visitor);

const REDIS_URL: &str = "redis://127.0.0.1:6379";
const AYSE_TG: i64 = 6_600_001;
const STRANGER_TG: i64 = 6_600_009;

/// The next `message_to_visitor` of `s`: its text and `sender_name`.
async fn next_answer(s: &mut Socket) -> (String, Value) {
    let m = s.next("message_to_visitor").await;
    (
        m["content_text"].as_str().unwrap_or_default().to_owned(),
        m["sender_name"].clone(),
    )
}

async fn a_team_of_three_answers_one_visitor(backend: Backend) {
    let tg = TelegramDouble::start_forum().await;
    let db = KeptDb::new(backend).await;
    let prefix = format!("sohbet-test-{}", uuid::Uuid::new_v4().simple());
    let shared = |o: Opts| {
        o.db(&db)
            .env("REDIS_URL", REDIS_URL)
            .env("REDIS_PREFIX", &prefix)
    };
    let mut one = spawn(shared(bridge::wired(
        backend,
        &tg,
        &[("TELEGRAM_GROUP_MEMBERS", "linked")],
    )))
    .await;
    let mut two: Option<TestApp> = match backend {
        Backend::Postgres => Some(spawn(shared(Opts::new(backend))).await),
        Backend::Sqlite => None,
    };

    let owner = one.admin().await;
    let ayse = add(&owner, "ayse", "agent").await;
    let cem = add(&owner, "cem", "agent").await;
    sql(
        &db,
        &format!("UPDATE agents SET telegram_user_id = {AYSE_TG} WHERE id = {ayse}"),
    )
    .await;
    let cem_http = login(&mut one, "cem", PASSWORD).await;
    let cem_there = match two.as_mut() {
        Some(t) => login(t, "cem", PASSWORD).await,
        None => login(&mut one, "cem", PASSWORD).await,
    };
    let mut cem_socket = Socket::admin(&cem_there).await;

    // The visitor writes; the forward opens its topic.
    let v = one.visitor().await;
    let tid = v.thread_id().await;
    let mut vs = Socket::visitor(&v, None).await;
    let (s, r) = v.send(None, "hello, anyone?").await;
    assert_eq!(s, 200, "{r}");
    let want = bridge::forward_text(&tid, "hello, anyone?");
    let fwd = tg
        .wait_text_to(FORUM_CHAT, "the forward", WAIT, |t| t == want)
        .await;
    let topic: i64 = fwd
        .str_param("message_thread_id")
        .and_then(|t| t.parse().ok())
        .expect("a topic");
    let fid = fwd.message_id().expect("the forward's id");
    let in_topic = |text: &str, user: i64| {
        Incoming::text(FORUM_CHAT, text)
            .in_topic(topic)
            .by_member(user)
    };

    // Ayşe answers from Telegram: the visitor sees her name; Cem's socket
    // (the other instance on Postgres) sees the answer too.
    tg.push(in_topic("Merhaba, Ayşe here", AYSE_TG));
    assert_eq!(
        next_answer(&mut vs).await,
        ("Merhaba, Ayşe here".to_owned(), json!("ayse name"))
    );
    let seen = cem_socket.next("message_to_visitor").await;
    assert_eq!(seen["content_text"], json!("Merhaba, Ayşe here"), "{seen}");

    // The member linked to no agent is refused and stores nothing.
    tg.push(in_topic("I am not an agent", STRANGER_TG));
    tg.wait_text_to(FORUM_CHAT, "the refusal", WAIT, |t| {
        t == Refusal::Unlinked.text()
    })
    .await;

    // Cem answers in the panel: the visitor sees his name, the topic holds it.
    let (s, r) = cem_http
        .post(
            "/api/messages/send",
            json!({"thread_id": tid, "text": "Cem from the panel", "type": "text"}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        next_answer(&mut vs).await,
        ("Cem from the panel".to_owned(), json!("cem name"))
    );
    tg.wait_text_to(FORUM_CHAT, "the mirrored panel answer", WAIT, |t| {
        t == "cem name: Cem from the panel"
    })
    .await;

    // A note from the panel and one from Telegram: agents see both.
    let (s, r) = cem_http
        .post(
            "/api/messages/send",
            json!({"thread_id": tid, "text": "panel note: VIP", "type": "text", "internal": true}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    tg.push(in_topic("/note telegram note: refund", AYSE_TG));
    let deadline = std::time::Instant::now() + WAIT;
    let notes = loop {
        let (s, r) = cem_http.get(&format!("/api/messages/{tid}")).await;
        assert_eq!(s, 200, "{r}");
        let notes: Vec<String> = r["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["internal"] == json!(true))
            .filter_map(|m| m["content_text"].as_str().map(str::to_owned))
            .collect();
        if notes.len() == 2 {
            break notes;
        }
        assert!(std::time::Instant::now() < deadline, "notes: {r}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(notes, ["panel note: VIP", "telegram note: refund"]);
    // ... and no visitor path does: the live socket's next answer is the
    // one after the notes, and nothing the visitor received or can read
    // holds them or the refused text.
    tg.push(in_topic("after the notes", AYSE_TG));
    assert_eq!(next_answer(&mut vs).await.0, "after the notes");
    let got = format!("{:?}", vs.drain());
    let history = v.messages(&tid, "").await;
    let texts: Vec<&str> = history
        .iter()
        .filter_map(|m| m["content_text"].as_str())
        .collect();
    assert_eq!(
        texts,
        [
            "hello, anyone?",
            "Merhaba, Ayşe here",
            "Cem from the panel",
            "after the notes"
        ],
        "{history:?}"
    );
    for secret in ["VIP", "refund", "not an agent"] {
        assert!(!got.contains(secret), "{secret} reached the visitor: {got}");
    }
    // The catch-up of a reconnecting visitor (everything after id 0).
    let mut again = Socket::visitor(&v, Some(0)).await;
    let mut replayed = Vec::new();
    loop {
        let m = again.next("message_to_visitor").await;
        let done = m["content_text"] == json!("after the notes");
        replayed.push(m);
        if done {
            break;
        }
    }
    let (s, r) = v.get(&format!("/api/messages/{tid}")).await;
    assert_eq!(s, 200, "{r}");
    let replay = format!("{replayed:?}{r}");
    for secret in ["VIP", "refund"] {
        assert!(
            !replay.contains(secret),
            "{secret} reached the visitor: {replay}"
        );
    }

    // Cem (panel) and Ayşe (Take button) take the thread at once: one wins,
    // the other is told who has it.
    let take = format!("tk:{tid}");
    let take_path = format!("/api/threads/{tid}/take");
    let ((s, r), pressed) = tokio::join!(
        cem_http.post(&take_path, json!({})),
        press_as(&tg, FORUM_CHAT, fid, &take, Some(AYSE_TG)),
    );
    let assignee = owner.listed_thread(&tid).await["assignee"]["id"].clone();
    if s == 200 {
        assert_eq!(assignee, json!(cem), "{r}");
        assert!(!pressed.starts_with("Assigned to you"), "{pressed}");
        assert!(pressed.contains("cem name"), "{pressed}");
    } else {
        assert_eq!((s, &r["code"]), (409, &json!("CONFLICT")), "{r}");
        assert!(r.to_string().contains("ayse name"), "{r}");
        assert!(pressed.starts_with("Assigned to you"), "{pressed}");
        assert_eq!(assignee, json!(ayse));
    }
    let (_, ev) = owner.get(&format!("/api/threads/{tid}/events")).await;
    let assigns = ev["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == json!("assign"))
        .count();
    assert_eq!(assigns, 1, "{ev}");

    // The owner disables Cem (on the first instance): his panel socket
    // ends, his sessions are refused.
    let (s, r) = owner
        .post(&format!("/api/agents/{cem}/disable"), json!({}))
        .await;
    assert_eq!(s, 200, "{r}");
    cem_socket.next("disconnect").await;
    let (s, _) = cem_there.get("/api/threads").await;
    assert_eq!(s, 401);
    let (s, _) = cem_http.get("/api/threads").await;
    assert_eq!(s, 401);

    drop(vs);
    drop(again);
    if let Some(t) = two {
        t.finish().await;
    }
    one.finish().await;
}
