//! The admin's thread tools over the JSON API (issue 13), on SQLite and
//! Postgres through the real server: close and reopen (and a visitor's
//! message reopening), the list's open / closed filter and counts, blocking
//! and unblocking a visitor, and bad input (unknown thread, a visitor or a
//! request without CSRF token calling the admin routes) changing nothing.
//! Socket.IO and the panel: `tests/js/thread-tools.test.mjs`; Telegram:
//! `tests/it/telegram_buttons.rs`.

use crate::common::{Backend, Browser, assert_error, spawn};
use serde_json::{Value, json};

on_both_backends!(
    close_reopen_and_a_visitor_message_reopens,
    the_list_puts_open_threads_first_and_filters_with_counts,
    a_blocked_visitor_is_refused_until_unblocked,
    bad_input_changes_nothing,
);

/// `DELETE path` with the browser's CSRF token.
async fn delete(b: &Browser, path: &str) -> (u16, Value) {
    let r = b
        .client
        .delete(format!("{}{path}", b.base))
        .header("X-CSRFToken", &b.csrf)
        .send()
        .await
        .expect("DELETE");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn close_reopen_and_a_visitor_message_reopens(backend: Backend) {
    let mut app = spawn(backend).await;
    let admin = app.admin().await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    assert_eq!(v.send(None, "hello").await.0, 200);
    assert_eq!(admin.listed_thread(&tid).await["status"], json!("open"));

    let (s, b) = admin
        .post(&format!("/api/threads/{tid}/close"), json!({}))
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, me) = admin.get("/api/agents/me").await;
    assert_eq!(s, 200, "{me}");
    assert!(me["agent"]["id"].is_i64(), "{me}");
    assert_eq!(
        b["thread"],
        json!({"id": tid, "status": "closed", "blocked": false, "blocked_at": null, "change": "close", "by": {"id": me["agent"]["id"], "name": "admin"}, "assignee": null})
    );
    assert_eq!(admin.listed_thread(&tid).await["status"], json!("closed"));

    // The admin's own reply leaves it closed; the visitor's message reopens it.
    assert_eq!(admin.send(Some(&tid), "bye").await.0, 200);
    assert_eq!(admin.listed_thread(&tid).await["status"], json!("closed"));
    assert_eq!(v.send(None, "one more thing").await.0, 200);
    assert_eq!(admin.listed_thread(&tid).await["status"], json!("open"));

    // Closed again, reopened by the admin; closing twice is harmless.
    for _ in 0..2 {
        let (s, _) = admin
            .post(&format!("/api/threads/{tid}/close"), json!({}))
            .await;
        assert_eq!(s, 200);
    }
    let (s, b) = admin
        .post(&format!("/api/threads/{tid}/reopen"), json!({}))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["thread"]["status"], json!("open"));
    assert_eq!(admin.listed_thread(&tid).await["status"], json!("open"));
    // Every message is still there.
    assert_eq!(admin.messages(&tid, "").await.len(), 3);
    app.finish().await;
}

async fn the_list_puts_open_threads_first_and_filters_with_counts(backend: Backend) {
    let mut app = spawn(backend).await;
    let admin = app.admin().await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let v = app.visitor().await;
        assert_eq!(v.send(None, &format!("visitor {i}")).await.0, 200);
        ids.push(v.thread_id().await);
    }
    // The newest thread is closed: it goes after the open ones.
    let (s, _) = admin
        .post(&format!("/api/threads/{}/close", ids[2]), json!({}))
        .await;
    assert_eq!(s, 200);

    let (s, b) = admin.get("/api/threads").await;
    assert_eq!(s, 200, "{b}");
    let order: Vec<&str> = b["threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(order, [&ids[1], &ids[0], &ids[2]], "{b}");
    assert_eq!(b["counts"], json!({"open": 2, "closed": 1}));

    let (_, b) = admin.get("/api/threads?status=closed").await;
    let closed: Vec<&str> = b["threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(closed, [&ids[2]]);
    assert_eq!(b["counts"], json!({"open": 2, "closed": 1}));
    // `active` (the old name) is `open`.
    for q in ["open", "active"] {
        let (_, b) = admin.get(&format!("/api/threads?status={q}")).await;
        let open: Vec<&str> = b["threads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap())
            .collect();
        assert_eq!(open, [&ids[1], &ids[0]], "{q}");
    }
    app.finish().await;
}

async fn a_blocked_visitor_is_refused_until_unblocked(backend: Backend) {
    let mut app = spawn(backend).await;
    let admin = app.admin().await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    assert_eq!(v.send(None, "first").await.0, 200);

    let (s, b) = admin
        .post(&format!("/api/threads/{tid}/block"), json!({}))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["thread"]["blocked"], json!(true));
    assert!(b["thread"]["blocked_at"].is_string(), "{b}");
    assert_eq!(admin.listed_thread(&tid).await["blocked"], json!(true));

    let (s, b) = v.send(None, "let me in").await;
    assert_error(s, &b, 403, "BLOCKED");
    assert!(b["error"].as_str().unwrap().starts_with("Sorry"), "{b}");
    // Nothing stored was deleted, nothing new stored; the admin may still write.
    assert_eq!(v.messages(&tid, "").await.len(), 1);
    assert_eq!(admin.send(Some(&tid), "noted").await.0, 200);

    let (s, b) = admin.get("/api/blocks").await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["blocks"].as_array().unwrap().len(), 1, "{b}");
    assert_eq!(b["blocks"][0]["id"], json!(tid));

    // DELETE …/block unblocks; POST …/unblock does the same.
    let (s, b) = delete(&admin, &format!("/api/threads/{tid}/block")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["thread"]["blocked"], json!(false));
    assert_eq!(v.send(None, "thanks").await.0, 200);
    admin
        .post(&format!("/api/threads/{tid}/block"), json!({}))
        .await;
    assert_eq!(v.send(None, "again?").await.0, 403);
    let (s, _) = admin
        .post(&format!("/api/threads/{tid}/unblock"), json!({}))
        .await;
    assert_eq!(s, 200);
    assert_eq!(v.send(None, "back").await.0, 200);
    let (_, b) = admin.get("/api/blocks").await;
    assert_eq!(b["blocks"], json!([]));
    let texts: Vec<String> = v
        .messages(&tid, "")
        .await
        .iter()
        .map(|m| m["content_text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(texts, ["first", "noted", "thanks", "back"]);
    app.finish().await;
}

async fn bad_input_changes_nothing(backend: Backend) {
    let mut app = spawn(backend).await;
    let admin = app.admin().await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    assert_eq!(v.send(None, "hi").await.0, 200);
    let unknown = "00000000-0000-4000-8000-000000000000";
    for action in ["close", "reopen", "block", "unblock"] {
        let (s, b) = admin
            .post(&format!("/api/threads/{unknown}/{action}"), json!({}))
            .await;
        assert_error(s, &b, 404, "NOT_FOUND");
        // The visitor (even on its own thread) is not the admin.
        let (s, b) = v
            .post(&format!("/api/threads/{tid}/{action}"), json!({}))
            .await;
        assert_error(s, &b, 401, "UNAUTHORIZED");
        // Without the CSRF token.
        let (s, b) = admin
            .post_raw(
                &format!("/api/threads/{tid}/{action}"),
                "{}".into(),
                "application/json",
                None,
            )
            .await;
        assert_error(s, &b, 403, "CSRF_FAILED");
    }
    let (s, b) = delete(&admin, &format!("/api/threads/{unknown}/block")).await;
    assert_error(s, &b, 404, "NOT_FOUND");
    let (s, b) = delete(&v, &format!("/api/threads/{tid}/block")).await;
    assert_error(s, &b, 401, "UNAUTHORIZED");
    let (s, b) = v.get("/api/blocks").await;
    assert_error(s, &b, 401, "UNAUTHORIZED");
    let (s, b) = admin.get("/api/threads?status=bogus").await;
    assert_error(s, &b, 400, "VALIDATION_ERROR");

    let t = admin.listed_thread(&tid).await;
    assert_eq!(t["status"], json!("open"));
    assert_eq!(t["blocked"], json!(false));
    assert_eq!(v.send(None, "still here").await.0, 200);
    app.finish().await;
}
