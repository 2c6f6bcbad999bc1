//! The HTTP contract (`shared/DESIGN.md` § HTTP contract) against the real
//! server, on SQLite and on Postgres.

use crate::common;

use crate::common::{Backend, Opts, assert_error, spawn};
use serde_json::{Value, json};

on_both_backends!(
    session_gives_a_fixed_thread_and_csrf_token,
    visitor_sends_and_reads_its_history,
    pages_and_pagination,
    client_id_makes_a_resend_return_the_same_message,
    state_changes_need_the_csrf_token,
    bad_input_gets_a_clear_error_and_stores_nothing,
    a_visitor_reaches_only_its_own_thread,
    admin_login_with_otp_and_the_panel_api,
    otp_dies_after_five_wrong_tries_and_is_single_use,
    otp_expires,
    logout_kills_the_session_at_once,
    threads_are_ordered_by_last_activity_with_unread_counts,
    health_probes_answer,
    group_commit_keeps_every_message_in_order,
);

fn is_rfc3339_utc(s: &Value) -> bool {
    s.as_str()
        .is_some_and(|s| s.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(s).is_ok())
}

async fn session_gives_a_fixed_thread_and_csrf_token(backend: Backend) {
    let app = spawn(backend).await;
    let mut b = app.browser();
    let s1 = b.init().await;
    assert_eq!(s1["success"], json!(true));
    assert_eq!(s1["role"], json!("visitor"));
    let tid = s1["thread_id"].as_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&tid).is_ok(), "{tid}");
    assert_eq!(s1["csrf_token"].as_str().unwrap().len(), 64);
    let s2 = b.init().await;
    assert_eq!(
        s2["thread_id"], s1["thread_id"],
        "thread id is fixed for the cookie"
    );
    assert_eq!(s2["csrf_token"], s1["csrf_token"]);
    // The page carries the same token and the visitor cookie is HttpOnly.
    let page = b.client.get(format!("{}/", app.base)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(&format!(r#"<meta name="csrf-token" content="{}">"#, b.csrf)),
        "csrf meta"
    );
    let fresh = reqwest::get(format!("{}/", app.base)).await.unwrap();
    let cookie = fresh
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.starts_with("sohbet_vid=") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    // Another browser gets another thread.
    let other = app.visitor().await;
    assert_ne!(other.thread_id().await, tid);
    app.finish().await;
}

async fn visitor_sends_and_reads_its_history(backend: Backend) {
    let app = spawn(backend).await;
    let b = app.visitor().await;
    let tid = b.thread_id().await;
    assert!(
        b.messages(&tid, "").await.is_empty(),
        "no history before the first message"
    );
    let text = "Merhaba <script>alert(1)</script> & ünïcödé 🎉";
    let (s, r) = b.send(None, &format!("  {text}\n")).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["success"], json!(true));
    assert_eq!(r["thread_id"], json!(tid));
    let id = r["message_id"].as_i64().unwrap();
    let msgs = b.messages(&tid, "").await;
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert_eq!(m["id"], json!(id));
    assert_eq!(m["thread_id"], json!(tid));
    assert_eq!(m["content_text"], json!(text), "trimmed, byte-exact");
    assert_eq!(m["content_type"], json!("text"));
    assert_eq!(m["sender_type"], json!("visitor"));
    assert_eq!(m["file_url"], Value::Null);
    assert!(is_rfc3339_utc(&m["created_at"]), "{m}");
    // Sending with its own thread id explicitly works too.
    let (s, r) = b.send(Some(&tid), "second").await;
    assert_eq!(s, 200, "{r}");
    assert!(r["message_id"].as_i64().unwrap() > id, "ids grow");
    app.finish().await;
}

async fn pages_and_pagination(backend: Backend) {
    let app = spawn(backend).await;
    let b = app.visitor().await;
    let tid = b.thread_id().await;
    let mut ids = vec![];
    for i in 0..7 {
        ids.push(
            b.send(None, &format!("m{i}")).await.1["message_id"]
                .as_i64()
                .unwrap(),
        );
    }
    let texts = |v: &[Value]| {
        v.iter()
            .map(|m| m["content_text"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let newest = b.messages(&tid, "?limit=3").await;
    assert_eq!(
        texts(&newest),
        ["m4", "m5", "m6"],
        "newest page, oldest first"
    );
    let older = b
        .messages(&tid, &format!("?limit=3&before={}", ids[4]))
        .await;
    assert_eq!(texts(&older), ["m1", "m2", "m3"]);
    let after = b.messages(&tid, &format!("?after={}", ids[4])).await;
    assert_eq!(texts(&after), ["m5", "m6"], "catch-up after an id");
    assert_eq!(
        b.messages(&tid, "?limit=0").await.len(),
        1,
        "limit is clamped to >= 1"
    );
    assert_eq!(b.messages(&tid, "").await.len(), 7);
    let (s, body) = b.get(&format!("/api/messages/{tid}?limit=abc")).await;
    assert_error(s, &body, 400, "VALIDATION_ERROR");
    // Pages: visitor page, login page, admin redirect.
    let page = b
        .client
        .get(format!("{}/admin/login", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("csrf-token"));
    let r = b
        .client
        .get(format!("{}/admin", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], "/admin/login");
    app.finish().await;
}

async fn client_id_makes_a_resend_return_the_same_message(backend: Backend) {
    let app = spawn(backend).await;
    let b = app.visitor().await;
    let tid = b.thread_id().await;
    let body = json!({"text": "once", "type": "text", "client_id": "c-42"});
    let (_, r1) = b.post("/api/messages/send", body.clone()).await;
    let (s, r2) = b.post("/api/messages/send", body).await;
    assert_eq!(s, 200, "{r2}");
    assert_eq!(r1["message_id"], r2["message_id"]);
    assert_eq!(b.messages(&tid, "").await.len(), 1, "one row for two sends");
    // The same client_id in another thread is another message.
    let other = app.visitor().await;
    let (_, r3) = other
        .post(
            "/api/messages/send",
            json!({"text": "once", "type": "text", "client_id": "c-42"}),
        )
        .await;
    assert_ne!(r3["message_id"], r1["message_id"]);
    app.finish().await;
}

async fn state_changes_need_the_csrf_token(backend: Backend) {
    let app = spawn(backend).await;
    let b = app.visitor().await;
    let tid = b.thread_id().await;
    let body = json!({"text": "hi", "type": "text"}).to_string();
    let (s, r) = b
        .post_raw("/api/messages/send", body.clone(), "application/json", None)
        .await;
    assert_error(s, &r, 403, "CSRF_FAILED");
    let (s, r) = b
        .post_raw(
            "/api/messages/send",
            body.clone(),
            "application/json",
            Some("00ff"),
        )
        .await;
    assert_error(s, &r, 403, "CSRF_FAILED");
    let other = app.visitor().await;
    let (s, r) = b
        .post_raw(
            "/api/messages/send",
            body.clone(),
            "application/json",
            Some(&other.csrf),
        )
        .await;
    assert_error(s, &r, 403, "CSRF_FAILED");
    let (s, r) = b
        .post_raw(
            "/admin/login",
            json!({"username":"admin","password":"admin123"}).to_string(),
            "application/json",
            None,
        )
        .await;
    assert_error(s, &r, 403, "CSRF_FAILED");
    assert!(
        b.messages(&tid, "").await.is_empty(),
        "nothing stored without the token"
    );
    app.finish().await;
}

async fn bad_input_gets_a_clear_error_and_stores_nothing(backend: Backend) {
    let app = spawn(backend).await;
    let b = app.visitor().await;
    let tid = b.thread_id().await;
    b.send(None, "keep me").await;
    let csrf = b.csrf.clone();
    let cases: Vec<(String, &str, u16, &str)> = vec![
        ("{not json".into(), "application/json", 400, "BAD_REQUEST"),
        (
            "{\"text\": 5}".into(),
            "application/json",
            400,
            "VALIDATION_ERROR",
        ),
        ("[1,2]".into(), "application/json", 400, "VALIDATION_ERROR"),
        ("{}".into(), "application/json", 400, "VALIDATION_ERROR"),
        (
            "{\"text\": \"   \"}".into(),
            "application/json",
            400,
            "VALIDATION_ERROR",
        ),
        (
            json!({"text": "x".repeat(4001)}).to_string(),
            "application/json",
            400,
            "VALIDATION_ERROR",
        ),
        (
            json!({"text": "x", "type": "video"}).to_string(),
            "application/json",
            400,
            "VALIDATION_ERROR",
        ),
        (
            json!({"text": "", "type": "image", "file_url": "https://evil.example/p.png"})
                .to_string(),
            "application/json",
            400,
            "VALIDATION_ERROR",
        ),
        (
            json!({"text": "x", "client_id": "c".repeat(65)}).to_string(),
            "application/json",
            400,
            "VALIDATION_ERROR",
        ),
        (
            "text=hi".into(),
            "application/x-www-form-urlencoded",
            400,
            "BAD_REQUEST",
        ),
        (
            json!({"text": "x".repeat(70_000)}).to_string(),
            "application/json",
            413,
            "PAYLOAD_TOO_LARGE",
        ),
    ];
    for (body, ctype, status, code) in cases {
        let (s, r) = b
            .post_raw("/api/messages/send", body.clone(), ctype, Some(&csrf))
            .await;
        assert_error(s, &r, status, code);
    }
    let (s, r) = b.send(None, &"ş".repeat(4000)).await;
    assert_eq!(s, 200, "exactly 4000 characters is fine: {r}");
    let msgs = b.messages(&tid, "").await;
    assert_eq!(msgs.len(), 2, "only the two valid messages are stored");
    assert_eq!(msgs[0]["content_text"], json!("keep me"));
    // Unknown API paths and methods answer in the same shape.
    let (s, r) = b.get("/api/nope").await;
    assert_error(s, &r, 404, "NOT_FOUND");
    let (s, r) = b.post("/api/threads", json!({})).await;
    assert_error(s, &r, 405, "METHOD_NOT_ALLOWED");
    app.finish().await;
}

async fn a_visitor_reaches_only_its_own_thread(backend: Backend) {
    let mut app = spawn(backend).await;
    let a = app.visitor().await;
    let a_tid = a.thread_id().await;
    a.send(None, "secret of A").await;
    let b = app.visitor().await;
    let (s, r) = b.get(&format!("/api/messages/{a_tid}")).await;
    assert_error(s, &r, 403, "FORBIDDEN");
    let (s, r) = b.send(Some(&a_tid), "intrusion").await;
    assert_error(s, &r, 403, "FORBIDDEN");
    let (s, r) = b.get("/api/threads").await;
    assert_error(s, &r, 401, "UNAUTHORIZED");
    let (s, r) = b
        .post("/api/messages/clear", json!({"thread_id": a_tid}))
        .await;
    assert_error(s, &r, 401, "UNAUTHORIZED");
    let admin = app.admin().await;
    let msgs = admin.messages(&a_tid, "").await;
    assert_eq!(msgs.len(), 1, "A's thread holds only A's message");
    assert_eq!(msgs[0]["content_text"], json!("secret of A"));
    app.finish().await;
}

async fn admin_login_with_otp_and_the_panel_api(backend: Backend) {
    let mut app = spawn(backend).await;
    let visitor = app.visitor().await;
    let vt = visitor.thread_id().await;
    visitor.send(None, "hello admin").await;
    let b = app.visitor().await;
    let (s, r) = b.login("admin", "wrong").await;
    assert_error(s, &r, 401, "INVALID_CREDENTIALS");
    let (s, r) = b.login("root", "admin123").await;
    assert_error(s, &r, 401, "INVALID_CREDENTIALS");
    let (s, r) = b.login("admin", "admin123").await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        r,
        json!({"success": true, "message": "OTP sent to Telegram", "otp_sent": true})
    );
    let code = app.next_otp().await;
    assert_eq!(code.len(), 6);
    assert!(code.chars().all(|c| c.is_ascii_digit()));
    // Another browser cannot use this code.
    let thief = app.visitor().await;
    let (s, r) = thief.post("/admin/verify-otp", json!({"otp": code})).await;
    assert_error(s, &r, 401, "INVALID_OTP");
    let (s, r) = b.post("/admin/verify-otp", json!({"otp": code})).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["message"], json!("Login successful"));
    assert!(r["session"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(b.get("/api/session").await.1["role"], json!("admin"));
    let panel = b
        .client
        .get(format!("{}/admin", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(panel.status(), 200);
    // Thread list.
    let (s, r) = b.get("/api/threads").await;
    assert_eq!(s, 200, "{r}");
    let t = &r["threads"][0];
    assert_eq!(t["id"], json!(vt));
    assert_eq!(
        t["display_name"].as_str().unwrap(),
        sohbet::chat::display_name_for(&vt)
    );
    assert_eq!(t["status"], json!("open"));
    assert_eq!(t["message_count"], json!(1));
    assert_eq!(t["unread_count"], json!(1));
    assert_eq!(t["online"], json!(false));
    assert_eq!(t["last_message"]["content_text"], json!("hello admin"));
    assert!(
        is_rfc3339_utc(&t["created_at"]) && is_rfc3339_utc(&t["last_activity"]),
        "{t}"
    );
    // Reading marks read.
    assert_eq!(b.messages(&vt, "").await.len(), 1);
    assert_eq!(
        b.get("/api/threads").await.1["threads"][0]["unread_count"],
        json!(0)
    );
    // Reply, then the visitor sees it.
    let (s, r) = b.send(Some(&vt), "hi visitor").await;
    assert_eq!(s, 200, "{r}");
    let vm = visitor.messages(&vt, "").await;
    assert_eq!(vm.len(), 2);
    assert_eq!(vm[1]["sender_type"], json!("admin"));
    assert_eq!(vm[1]["content_text"], json!("hi visitor"));
    // Unknown thread.
    let (s, r) = b
        .send(Some("00000000-0000-4000-8000-000000000000"), "x")
        .await;
    assert_error(s, &r, 404, "NOT_FOUND");
    let (s, r) = b
        .get("/api/messages/00000000-0000-4000-8000-000000000000")
        .await;
    assert_error(s, &r, 404, "NOT_FOUND");
    // Clear.
    let (s, r) = b
        .post("/api/messages/clear", json!({"thread_id": vt}))
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r, json!({"success": true, "message": "Messages cleared"}));
    assert!(visitor.messages(&vt, "").await.is_empty());
    let (s, r) = b.post("/api/messages/clear", json!({})).await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    app.finish().await;
}

async fn otp_dies_after_five_wrong_tries_and_is_single_use(backend: Backend) {
    let mut app = spawn(backend).await;
    let b = app.visitor().await;
    b.login("admin", "admin123").await;
    let code = app.next_otp().await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let (s, r) = b.post("/admin/verify-otp", json!({"otp": wrong})).await;
        assert_error(s, &r, 401, "INVALID_OTP");
    }
    let (s, r) = b.post("/admin/verify-otp", json!({"otp": code})).await;
    assert_error(s, &r, 401, "INVALID_OTP");
    // A fresh code works once.
    b.login("admin", "admin123").await;
    let code = app.next_otp().await;
    assert_eq!(
        b.post("/admin/verify-otp", json!({"otp": code})).await.0,
        200
    );
    let c = app.visitor().await;
    let (s, r) = c.post("/admin/verify-otp", json!({"otp": code})).await;
    assert_error(s, &r, 401, "INVALID_OTP");
    let (s, r) = b.post("/admin/verify-otp", json!({"otp": code})).await;
    assert_error(s, &r, 401, "INVALID_OTP");
    app.finish().await;
}

async fn otp_expires(backend: Backend) {
    let mut app =
        spawn(Opts::new(backend).tweak(|c| c.otp_ttl = std::time::Duration::from_millis(300)))
            .await;
    let b = app.visitor().await;
    b.login("admin", "admin123").await;
    let code = app.next_otp().await;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let (s, r) = b.post("/admin/verify-otp", json!({"otp": code})).await;
    assert_error(s, &r, 401, "INVALID_OTP");
    app.finish().await;
}

async fn logout_kills_the_session_at_once(backend: Backend) {
    let mut app = spawn(backend).await;
    let admin = app.admin().await;
    assert_eq!(admin.get("/api/threads").await.0, 200);
    // A second admin browser whose cookies the test holds, to replay them after logout.
    let base = app.base.clone();
    let raw = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let s = raw
        .get(format!("{}/api/session", app.base))
        .send()
        .await
        .unwrap();
    let vid = s.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let csrf = s.json::<Value>().await.unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let post = |path: &str, body: Value, cookie: String| {
        raw.post(format!("{base}{path}"))
            .header("cookie", cookie)
            .header("X-CSRFToken", &csrf)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
    };
    let r = post(
        "/admin/login",
        json!({"username":"admin","password":"admin123"}),
        vid.clone(),
    )
    .await
    .unwrap();
    let login = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let code = app.next_otp().await;
    let r = post(
        "/admin/verify-otp",
        json!({"otp": code}),
        format!("{vid}; {login}"),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let admin_cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|c| c.starts_with("sohbet_admin="))
        .expect("admin cookie");
    let cookies = format!("{vid}; {admin_cookie}");
    let threads = raw
        .get(format!("{}/api/threads", app.base))
        .header("cookie", &cookies)
        .send()
        .await
        .unwrap();
    assert_eq!(threads.status(), 200);
    let r = post("/admin/logout", json!({}), cookies.clone())
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The old cookie, replayed, is useless.
    let threads = raw
        .get(format!("{}/api/threads", app.base))
        .header("cookie", &cookies)
        .send()
        .await
        .unwrap();
    assert_eq!(threads.status(), 401);
    // The other admin browser is unaffected.
    assert_eq!(admin.get("/api/threads").await.0, 200);
    app.finish().await;
}

async fn threads_are_ordered_by_last_activity_with_unread_counts(backend: Backend) {
    let mut app = spawn(backend).await;
    let a = app.visitor().await;
    let b = app.visitor().await;
    let (at, bt) = (a.thread_id().await, b.thread_id().await);
    a.send(None, "a1").await;
    b.send(None, "b1").await;
    a.send(None, "a2").await;
    let admin = app.admin().await;
    let list = admin.get("/api/threads").await.1["threads"]
        .as_array()
        .unwrap()
        .clone();
    let ids: Vec<_> = list
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, [at.clone(), bt.clone()]);
    assert_eq!(list[0]["unread_count"], json!(2));
    assert_eq!(list[0]["message_count"], json!(2));
    assert_eq!(list[0]["last_message"]["content_text"], json!("a2"));
    admin.send(Some(&bt), "reply to b").await;
    let list = admin.get("/api/threads").await.1["threads"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(list[0]["id"], json!(bt), "the admin's reply moves b up");
    assert_eq!(
        list[0]["unread_count"],
        json!(1),
        "admin messages are not unread"
    );
    app.finish().await;
}

async fn health_probes_answer(backend: Backend) {
    let app = spawn(backend).await;
    let b = app.browser();
    let (s, h) = b.get("/health").await;
    assert_eq!(s, 200, "{h}");
    assert_eq!(h["status"], json!("healthy"));
    assert!(is_rfc3339_utc(&h["timestamp"]));
    assert_eq!(h["version"], json!(env!("CARGO_PKG_VERSION")));
    assert_eq!(h["environment"], json!("development"));
    assert_eq!(h["checks"]["database"], json!("healthy"));
    assert_eq!(h["checks"]["telegram"], json!("disabled"));
    assert!(
        h["checks"]["memory"]["used_percent"]
            .as_f64()
            .is_some_and(|p| (0.0..=100.0).contains(&p))
    );
    assert!(h["checks"]["memory"]["available_gb"].as_f64().is_some());
    assert!(
        h["checks"]["disk"]["used_percent"]
            .as_f64()
            .is_some_and(|p| (0.0..=100.0).contains(&p))
    );
    assert!(h["checks"]["disk"]["free_gb"].as_f64().is_some());
    let (s, l) = b.get("/health/live").await;
    assert_eq!((s, &l["status"]), (200, &json!("alive")));
    let (s, r) = b.get("/health/ready").await;
    assert_eq!((s, &r["status"]), (200, &json!("ready")));
    assert!(is_rfc3339_utc(&r["timestamp"]));
    app.finish().await;
}

async fn group_commit_keeps_every_message_in_order(backend: Backend) {
    let app = spawn(backend).await;
    let mut visitors = vec![];
    for _ in 0..8 {
        visitors.push(app.visitor().await);
    }
    // 8 visitors × 25 messages, each visitor's messages sent one after another,
    // all visitors at once: batches mix threads.
    let tasks = visitors.into_iter().map(|v| {
        tokio::spawn(async move {
            let mut ids = vec![];
            for i in 0..25 {
                let (s, r) = v.send(None, &format!("n{i}")).await;
                assert_eq!(s, 200, "{r}");
                ids.push(r["message_id"].as_i64().unwrap());
            }
            let tid = v.thread_id().await;
            let stored = v.messages(&tid, "?limit=200").await;
            (ids, stored)
        })
    });
    let mut all = std::collections::HashSet::new();
    for t in tasks {
        let (ids, stored) = t.await.unwrap();
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "ids grow within a thread"
        );
        let texts: Vec<_> = stored
            .iter()
            .map(|m| m["content_text"].as_str().unwrap().to_owned())
            .collect();
        let want: Vec<_> = (0..25).map(|i| format!("n{i}")).collect();
        assert_eq!(texts, want);
        for id in ids {
            assert!(all.insert(id), "ids are unique");
        }
    }
    assert_eq!(all.len(), 200);
    app.finish().await;
}

/// Issue 8 item 12: `/health` shows its details only with `HEALTH_TOKEN` or
/// to a local caller; others get `{status, timestamp}`. The probes stay
/// public and minimal.
#[tokio::test]
async fn health_details_need_a_token_or_a_local_caller() {
    const TOKEN: &str = "health-token-0123456789";
    async fn get(app: &common::TestApp, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
        let mut req = reqwest::Client::new().get(format!("{}{path}", app.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = req.send().await.unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap())
    }
    fn keys(v: &Value) -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    }
    let minimal = ["status", "timestamp"].map(String::from).to_vec();
    let bearer = format!("Bearer {TOKEN}");
    let forwarded = ("X-Forwarded-For", "203.0.113.7");

    // Without TRUST_PROXY: a forwarded (proxied) request looks remote.
    let app = spawn(Opts::new(Backend::Sqlite).envs(&[("HEALTH_TOKEN", TOKEN)])).await;
    let (s, h) = get(&app, "/health", &[forwarded]).await;
    assert_eq!((s, keys(&h)), (200, minimal.clone()), "{h}");
    assert_eq!(h["status"], json!("healthy"));
    let (s, h) = get(
        &app,
        "/health",
        &[
            forwarded,
            ("Authorization", "Bearer wrong-token-0123456789"),
        ],
    )
    .await;
    assert_eq!((s, keys(&h)), (200, minimal.clone()), "{h}");
    let (s, h) = get(
        &app,
        "/health",
        &[forwarded, ("Authorization", bearer.as_str())],
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(h["version"], json!(env!("CARGO_PKG_VERSION")), "{h}");
    // A direct loopback caller (the operator on the box) sees the details.
    let (_, h) = get(&app, "/health", &[]).await;
    assert!(h["checks"]["disk"].is_object(), "{h}");
    for (path, status) in [("/health/live", "alive"), ("/health/ready", "ready")] {
        let (s, h) = get(&app, path, &[forwarded]).await;
        assert_eq!((s, keys(&h)), (200, minimal.clone()), "{path}: {h}");
        assert_eq!(h["status"], json!(status));
    }
    app.finish().await;

    // With TRUST_PROXY: the forwarded client's address decides.
    let app = spawn(Opts::new(Backend::Sqlite).envs(&[("TRUST_PROXY", "true")])).await;
    let (_, h) = get(&app, "/health", &[forwarded]).await;
    assert_eq!(keys(&h), minimal, "{h}");
    let (_, h) = get(&app, "/health", &[("X-Forwarded-For", "10.1.2.3")]).await;
    assert!(h["checks"]["database"].is_string(), "{h}");
    app.finish().await;
}
