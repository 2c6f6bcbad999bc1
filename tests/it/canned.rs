//! Canned replies (issue 13) through the real server on SQLite and
//! Postgres: the admin's CRUD round trip, and every bad request (duplicate
//! name in any case, empty name, a 10,000-character body, unknown id, a
//! visitor, no CSRF token) answered with the contract's error while the
//! stored list stays as it was. And the core's `send_canned`: the reply
//! goes through the normal post path (stored as the admin's message,
//! published), and every change is published as `CannedUpdated`.

use crate::common;

use crate::common::{Backend, Browser, assert_error, spawn};
use serde_json::{Value, json};
use sohbet::{
    chat::ChatError,
    chat::{
        Chat, ChatEvent, ChatOptions, PostRequest,
        canned::{CannedAction, CannedInput},
    },
    config::DatabaseConfig,
    store::Db,
};

/// `method path` with a JSON body (or none) and this browser's CSRF token
/// (`csrf: false` leaves it out).
async fn call(
    b: &Browser,
    method: &str,
    path: &str,
    body: Option<Value>,
    csrf: bool,
) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = b.client.request(method, format!("{}{path}", b.base));
    if let Some(body) = body {
        req = req
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    if csrf {
        req = req.header("X-CSRFToken", &b.csrf);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The stored list, as the admin reads it.
async fn listed(admin: &Browser) -> Vec<Value> {
    let (s, b) = admin.get("/api/canned").await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["success"], json!(true));
    b["replies"].as_array().unwrap().clone()
}

async fn crud_round_trip(backend: Backend) {
    let mut app = spawn(backend).await;
    let admin = app.admin().await;
    assert!(listed(&admin).await.is_empty());

    let (s, b) = admin
        .post(
            "/api/canned",
            json!({"name": "  Kargo ", "body": " Siparişiniz yarın kargoda. \n"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let kargo = b["reply"].clone();
    assert_eq!(kargo["name"], "Kargo");
    assert_eq!(kargo["body"], "Siparişiniz yarın kargoda.");
    assert!(kargo["id"].as_i64().is_some());
    assert!(kargo["created_at"].as_str().unwrap().ends_with('Z'));
    let (s, b) = admin
        .post(
            "/api/canned",
            json!({"name": "iade", "body": "Returns take 14 days."}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let iade = b["reply"].clone();
    // By name without regard to case.
    let names: Vec<Value> = listed(&admin)
        .await
        .iter()
        .map(|r| r["name"].clone())
        .collect();
    assert_eq!(names, [json!("iade"), json!("Kargo")]);

    // Update: the same name in another case is its own name, not a clash.
    let path = format!("/api/canned/{}", kargo["id"]);
    let (s, b) = call(
        &admin,
        "PUT",
        &path,
        Some(json!({"name": "KARGO", "body": "Yarın kargoda ✓"})),
        true,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["reply"]["id"], kargo["id"]);
    assert_eq!(b["reply"]["name"], "KARGO");
    assert_eq!(b["reply"]["body"], "Yarın kargoda ✓");
    assert_eq!(b["reply"]["created_at"], kargo["created_at"]);
    let list = listed(&admin).await;
    assert_eq!(list[1], b["reply"]);

    let (s, b) = call(&admin, "DELETE", &path, None, true).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["id"], kargo["id"]);
    assert_eq!(listed(&admin).await, [iade]);
    // Deleted is gone: a second delete or an update is 404.
    let (s, b) = call(&admin, "DELETE", &path, None, true).await;
    assert_error(s, &b, 404, "NOT_FOUND");
    app.finish().await;
}

/// `(method, path, body, with CSRF token, status, code)` of a bad request.
type Case = (&'static str, String, Option<Value>, bool, u16, &'static str);

async fn bad_requests_change_nothing(backend: Backend) {
    let mut app = spawn(backend).await;
    let admin = app.admin().await;
    let visitor = app.visitor().await;
    let (s, b) = admin
        .post(
            "/api/canned",
            json!({"name": "Merhaba", "body": "Merhaba! Nasıl yardımcı olabilirim?"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let first = b["reply"].clone();
    let (s, b) = admin
        .post(
            "/api/canned",
            json!({"name": "hours", "body": "We answer 9 to 5."}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let second = b["reply"].clone();
    let before = listed(&admin).await;
    assert_eq!(before.len(), 2);
    let id = first["id"].as_i64().unwrap();
    let one = format!("/api/canned/{id}");
    let long = "x".repeat(10_000);

    let cases: Vec<Case> = vec![
        // duplicate name, any case, on create and on update
        (
            "POST",
            "/api/canned".into(),
            Some(json!({"name": " MERHABA ", "body": "b"})),
            true,
            409,
            "CONFLICT",
        ),
        (
            "PUT",
            format!("/api/canned/{}", second["id"]),
            Some(json!({"name": "merhaba", "body": "b"})),
            true,
            409,
            "CONFLICT",
        ),
        // empty name, empty body
        (
            "POST",
            "/api/canned".into(),
            Some(json!({"name": "  ", "body": "b"})),
            true,
            400,
            "VALIDATION_ERROR",
        ),
        (
            "PUT",
            one.clone(),
            Some(json!({"name": "", "body": "b"})),
            true,
            400,
            "VALIDATION_ERROR",
        ),
        (
            "POST",
            "/api/canned".into(),
            Some(json!({"name": "n", "body": " \n "})),
            true,
            400,
            "VALIDATION_ERROR",
        ),
        // too long: name and a 10,000-character body
        (
            "POST",
            "/api/canned".into(),
            Some(json!({"name": "ş".repeat(65), "body": "b"})),
            true,
            400,
            "VALIDATION_ERROR",
        ),
        (
            "POST",
            "/api/canned".into(),
            Some(json!({"name": "long", "body": long})),
            true,
            400,
            "VALIDATION_ERROR",
        ),
        (
            "PUT",
            one.clone(),
            Some(json!({"name": "Merhaba", "body": long})),
            true,
            400,
            "VALIDATION_ERROR",
        ),
        (
            "POST",
            "/api/canned".into(),
            Some(json!({"name": "a\nb", "body": "b"})),
            true,
            400,
            "VALIDATION_ERROR",
        ),
        (
            "POST",
            "/api/canned".into(),
            Some(json!({"name": "missing body"})),
            true,
            400,
            "VALIDATION_ERROR",
        ),
        // unknown ids
        (
            "PUT",
            "/api/canned/999999".into(),
            Some(json!({"name": "new", "body": "b"})),
            true,
            404,
            "NOT_FOUND",
        ),
        (
            "DELETE",
            "/api/canned/999999".into(),
            None,
            true,
            404,
            "NOT_FOUND",
        ),
        (
            "DELETE",
            "/api/canned/not-a-number".into(),
            None,
            true,
            404,
            "NOT_FOUND",
        ),
        // no CSRF token
        (
            "POST",
            "/api/canned".into(),
            Some(json!({"name": "csrf", "body": "b"})),
            false,
            403,
            "CSRF_FAILED",
        ),
        ("DELETE", one.clone(), None, false, 403, "CSRF_FAILED"),
    ];
    for (method, path, body, csrf, status, code) in cases {
        let (s, b) = call(&admin, method, &path, body.clone(), csrf).await;
        assert_error(s, &b, status, code);
        assert_eq!(
            listed(&admin).await,
            before,
            "{method} {path} {body:?} changed the list"
        );
    }

    // A visitor (with its own valid CSRF token) may do nothing.
    let (s, b) = visitor.get("/api/canned").await;
    assert_error(s, &b, 401, "UNAUTHORIZED");
    for (method, path, body) in [
        (
            "POST",
            "/api/canned".to_owned(),
            Some(json!({"name": "spam", "body": "spam"})),
        ),
        (
            "PUT",
            one.clone(),
            Some(json!({"name": "spam", "body": "spam"})),
        ),
        ("DELETE", one.clone(), None),
    ] {
        let (s, b) = call(&visitor, method, &path, body, true).await;
        assert_error(s, &b, 401, "UNAUTHORIZED");
        assert_eq!(listed(&admin).await, before, "visitor {method} {path}");
    }
    app.finish().await;
}

async fn open(backend: Backend) -> (Db, common::KeptDb) {
    let dir = common::KeptDb::new(backend).await;
    let config = match backend {
        Backend::Sqlite => DatabaseConfig::Sqlite(dir.path().join("chat.db")),
        Backend::Postgres => DatabaseConfig::Postgres(dir.var().1),
    };
    let db = Db::connect(&config).await.expect("connect");
    db.migrate().await.expect("migrate");
    (db, dir)
}

/// The next event that is not about messages being stored or threads made.
async fn next_canned(
    rx: &mut tokio::sync::mpsc::Receiver<ChatEvent>,
) -> sohbet::chat::canned::CannedChange {
    loop {
        match rx.recv().await.expect("event") {
            ChatEvent::CannedUpdated(c) => return c,
            _ => continue,
        }
    }
}

async fn send_canned_posts_as_the_admin(backend: Backend) {
    let (db, _dir) = open(backend).await;
    let chat = Chat::start(db, ChatOptions::default());
    let mut rx = chat.subscribe();
    let thread = &crate::common::tid("3f2a9c1e-0000-4000-8000-000000000001");
    chat.post(
        &sohbet::auth::Actor::for_request(thread, None),
        PostRequest {
            thread_id: Some(thread.clone()),
            text: "Kargom nerede?".into(),
            kind: sohbet::domain::MessageType::Text,
            file_url: None,
            client_id: None,
            internal: false,
            from_telegram: false,
            telegram_link: None,
        },
    )
    .await
    .expect("visitor message");

    let reply = chat
        .create_canned(CannedInput {
            name: "kargo".into(),
            body: "Yarın kargoda.".into(),
        })
        .await
        .expect("create");
    let c = next_canned(&mut rx).await;
    assert_eq!((c.action, c.id), (CannedAction::Created, reply.id));
    assert_eq!(c.reply.as_ref(), Some(&reply));
    assert_eq!(
        chat.canned_replies().await.unwrap(),
        std::slice::from_ref(&reply)
    );
    assert_eq!(chat.canned_reply(reply.id).await.unwrap(), reply);

    let posted = chat
        .send_canned(thread, reply.id, Some("cn-1".into()))
        .await
        .expect("send");
    assert_eq!(posted.message.content_text, "Yarın kargoda.");
    assert_eq!(posted.message.sender_type, sohbet::domain::Role::Admin);
    assert_eq!(&posted.message.thread_id, thread);
    // Published like any admin message.
    loop {
        if let ChatEvent::MessageStored(m) = rx.recv().await.expect("event")
            && m.id == posted.message.id
        {
            break;
        }
    }
    // The same client_id again: the same message (e.g. a callback query retried).
    let again = chat
        .send_canned(thread, reply.id, Some("cn-1".into()))
        .await
        .unwrap();
    assert!(again.duplicate);
    assert_eq!(again.message.id, posted.message.id);
    let page = chat
        .page(sohbet::domain::Role::Admin, thread, None, None, None)
        .await
        .unwrap();
    assert_eq!(page.len(), 2);

    // Unknown reply, unknown thread: nothing stored.
    assert!(matches!(
        chat.send_canned(
            thread,
            sohbet::domain::CannedId(reply.id.get() + 1000),
            None
        )
        .await,
        Err(ChatError::NotFound(_))
    ));
    assert!(matches!(
        chat.send_canned(&crate::common::tid("no-such-thread"), reply.id, None)
            .await,
        Err(ChatError::NotFound(_))
    ));
    assert_eq!(
        chat.page(sohbet::domain::Role::Admin, thread, None, None, None)
            .await
            .unwrap()
            .len(),
        2
    );

    let updated = chat
        .update_canned(
            reply.id,
            CannedInput {
                name: "Kargo".into(),
                body: "Bugün kargoda.".into(),
            },
        )
        .await
        .unwrap();
    let c = next_canned(&mut rx).await;
    assert_eq!((c.action, c.reply), (CannedAction::Updated, Some(updated)));
    chat.delete_canned(reply.id).await.unwrap();
    let c = next_canned(&mut rx).await;
    assert_eq!(
        (c.action, c.id, c.reply),
        (CannedAction::Deleted, reply.id, None)
    );
    assert!(chat.canned_replies().await.unwrap().is_empty());
}

on_both_backends!(
    crud_round_trip,
    bad_requests_change_nothing,
    send_canned_posts_as_the_admin
);
