//! Who did what to a thread (issue 22 item 7), on SQLite and Postgres
//! through the real server: close, reopen, block, unblock and clear over
//! the JSON API and from Telegram (buttons and commands) each record one
//! event naming the agent; a repeated close records nothing new; events
//! survive clearing the messages; `GET /api/threads/{id}/events` is the
//! admin's only (a visitor, its own thread too, and the widget's token get
//! 401) and its bad input is refused. `thread_updated.by` on the wire:
//! `tests/js/thread-events.test.mjs`.

use crate::common::{
    self, Backend, Browser, Opts, assert_error,
    bridge::{self, WAIT, press, send_and_forward},
    embed::{self, ORIGIN, embed_token, thread_of},
    spawn,
    telegram::{ADMIN_CHAT, Incoming, TelegramDouble},
};
use serde_json::{Value, json};

on_both_backends!(
    each_http_action_records_one_event_that_survives_clear,
    telegram_buttons_and_commands_record_events,
    visitors_and_the_widget_cannot_read_events,
);

/// The thread's events as the admin reads them: `(action, by.name)`.
async fn events(admin: &Browser, tid: &str) -> Vec<(String, String)> {
    let (s, b) = admin.get(&format!("/api/threads/{tid}/events")).await;
    assert_eq!(s, 200, "{b}");
    b["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            assert_eq!(e["thread_id"], json!(tid), "{e}");
            // Telegram members are not linked to agents here: "Support",
            // no id; the panel's owner is its agent.
            assert_eq!(
                e["by"]["id"].is_null(),
                e["by"]["name"] == json!("Support"),
                "{e}"
            );
            assert!(e["created_at"].as_str().unwrap().ends_with('Z'), "{e}");
            (
                e["action"].as_str().unwrap().to_owned(),
                e["by"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, n)| ((*a).to_owned(), (*n).to_owned()))
        .collect()
}

async fn each_http_action_records_one_event_that_survives_clear(backend: Backend) {
    let mut app = spawn(backend).await;
    let admin = app.admin().await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    assert_eq!(v.send(None, "hello").await.0, 200);
    assert!(events(&admin, &tid).await.is_empty());

    let (s, b) = admin
        .post(&format!("/api/threads/{tid}/close"), json!({}))
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, me) = admin.get("/api/agents/me").await;
    assert_eq!(s, 200, "{me}");
    assert!(me["agent"]["id"].is_i64(), "{me}");
    assert_eq!(
        b["thread"]["by"],
        json!({"id": me["agent"]["id"], "name": "admin"})
    );
    assert_eq!(events(&admin, &tid).await, pairs(&[("close", "admin")]));
    // Closing a closed thread answers but records nothing new.
    let (s, _) = admin
        .post(&format!("/api/threads/{tid}/close"), json!({}))
        .await;
    assert_eq!(s, 200);
    assert_eq!(events(&admin, &tid).await.len(), 1);

    for action in ["reopen", "block", "unblock"] {
        let (s, b) = admin
            .post(&format!("/api/threads/{tid}/{action}"), json!({}))
            .await;
        assert_eq!(s, 200, "{action}: {b}");
    }
    let (s, b) = admin
        .post("/api/messages/clear", json!({"thread_id": tid}))
        .await;
    assert_eq!(s, 200, "{b}");
    assert!(admin.messages(&tid, "").await.is_empty());
    let want = pairs(&[
        ("close", "admin"),
        ("reopen", "admin"),
        ("block", "admin"),
        ("unblock", "admin"),
        ("clear", "admin"),
    ]);
    assert_eq!(events(&admin, &tid).await, want);

    // A later message and a second clear keep the events; `limit` gives
    // the newest ones.
    assert_eq!(v.send(None, "me again").await.0, 200);
    admin
        .post("/api/messages/clear", json!({"thread_id": tid}))
        .await;
    assert_eq!(events(&admin, &tid).await.len(), 6);
    let (s, b) = admin
        .get(&format!("/api/threads/{tid}/events?limit=2"))
        .await;
    assert_eq!(s, 200, "{b}");
    let newest: Vec<&str> = b["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(newest, ["clear", "clear"]);
    // Bad input: clear of an unknown thread stores no event anywhere.
    let unknown = "00000000-0000-4000-8000-000000000000";
    let (s, b) = admin
        .post("/api/messages/clear", json!({"thread_id": unknown}))
        .await;
    assert_error(s, &b, 404, "NOT_FOUND");
    assert!(events(&admin, unknown).await.is_empty());
    app.finish().await;
}

async fn telegram_buttons_and_commands_record_events(backend: Backend) {
    let tg = TelegramDouble::start().await;
    let mut app = bridge::start(backend, &tg, &[]).await;
    let admin = app.admin().await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    let fid = send_and_forward(&tg, &v, &tid, "hello").await;

    assert_eq!(
        press(&tg, ADMIN_CHAT, fid, &format!("cl:{tid}")).await,
        "Closed."
    );
    tg.push(Incoming::text(ADMIN_CHAT, "/reopen").reply_to(fid));
    tg.wait_text_to(ADMIN_CHAT, "reopened", WAIT, |t| {
        t == "Conversation reopened."
    })
    .await;
    assert_eq!(
        press(&tg, ADMIN_CHAT, fid, &format!("bl:{tid}")).await,
        "Visitor blocked."
    );
    tg.push(Incoming::text(ADMIN_CHAT, "/unblock").reply_to(fid));
    tg.wait_text_to(ADMIN_CHAT, "unblocked", WAIT, |t| t == "Visitor unblocked.")
        .await;
    // A press on an unknown thread records nothing.
    let unknown = "00000000-0000-4000-8000-000000000000";
    press(&tg, ADMIN_CHAT, fid, &format!("cl:{unknown}")).await;

    // A private admin chat (the Flask set-up): its user is the bootstrap owner.
    let by = "admin";
    assert_eq!(
        events(&admin, &tid).await,
        pairs(&[
            ("close", by),
            ("reopen", by),
            ("block", by),
            ("unblock", by)
        ])
    );
    assert!(events(&admin, unknown).await.is_empty());
    // And from the panel in the same thread: its own name.
    let (s, _) = admin
        .post(&format!("/api/threads/{tid}/close"), json!({}))
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        events(&admin, &tid).await.last(),
        Some(&("close".to_owned(), "admin".to_owned()))
    );
    app.finish().await;
}

async fn visitors_and_the_widget_cannot_read_events(backend: Backend) {
    let mut app = spawn(Opts::new(backend).envs(&[("EMBED_ORIGINS", ORIGIN)])).await;
    let admin = app.admin().await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    assert_eq!(v.send(None, "hello").await.0, 200);
    let token = embed_token(&app).await;
    let wtid = thread_of(&token);
    let (s, b) = embed::call(
        &token,
        "POST",
        format!("{}/api/messages/send", app.base),
        Some(json!({"text": "from the widget", "type": "text"})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    for t in [&tid, &wtid] {
        let (s, b) = admin
            .post(&format!("/api/threads/{t}/close"), json!({}))
            .await;
        assert_eq!(s, 200, "{b}");
    }

    // The visitor, on its own thread and on another: 401, nothing leaks.
    for t in [&tid, &wtid] {
        let (s, b) = v.get(&format!("/api/threads/{t}/events")).await;
        assert_error(s, &b, 401, "UNAUTHORIZED");
        assert!(b.get("events").is_none(), "{b}");
    }
    // The widget's token, on its own thread.
    let (s, b) = embed::call(
        &token,
        "GET",
        format!("{}/api/threads/{wtid}/events", app.base),
        None,
    )
    .await;
    assert_error(s, &b, 401, "UNAUTHORIZED");
    // No cookie at all.
    let (s, b) = common::embed::cookieless()
        .get(format!("{}/api/threads/{tid}/events", app.base))
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .expect("GET");
    assert_eq!(s, 401);
    assert_eq!(
        b.json::<Value>().await.unwrap()["code"],
        json!("UNAUTHORIZED")
    );
    // The visitor's own messages carry no event or agent name.
    let page = v.get(&format!("/api/messages/{tid}")).await.1;
    assert!(!page.to_string().contains("\"by\""), "{page}");
    assert!(!page.to_string().contains("admin"), "{page}");

    // The admin reads them; bad input is refused.
    assert_eq!(events(&admin, &tid).await, pairs(&[("close", "admin")]));
    for q in ["limit=0", "limit=501", "limit=x"] {
        let (s, b) = admin.get(&format!("/api/threads/{tid}/events?{q}")).await;
        assert_error(s, &b, 400, "VALIDATION_ERROR");
    }
    let long = "x".repeat(65);
    let (s, b) = admin.get(&format!("/api/threads/{long}/events")).await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");
    app.finish().await;
}
