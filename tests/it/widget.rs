//! The embeddable widget (issue 14) against the real server, on SQLite and
//! Postgres: the embed view and its CSP, visitor tokens (one thread each,
//! never another's, unforgeable, no CSRF hole for the cookie path), the
//! visitor context API, identity verification (good hash: verified and the
//! same thread on another device; bad hash: unverified, no merge) and the
//! context line of the first Telegram forward (Bot API double).

use crate::common;

use std::time::Duration;

use crate::common::{
    Backend, Opts, TestApp, assert_error,
    embed::{ORIGIN, call, cookieless, embed_token, thread_of},
    spawn,
    telegram::{ADMIN_CHAT, TelegramDouble},
};
use serde_json::{Value, json};
use sohbet::auth::visitor_token::identity_hash;

on_both_backends!(
    embed_view_is_framed_only_by_embed_origins,
    a_visitor_token_reaches_only_its_own_thread,
    the_token_path_opens_no_csrf_hole,
    context_is_stored_bounded_and_shown_to_the_admin,
    secrets_in_a_page_url_are_never_stored,
    identify_with_a_good_hash_verifies_and_follows_the_user,
    identify_without_a_valid_hash_never_merges,
    the_first_forward_carries_one_context_line,
    contexts_of_visitors_who_never_wrote_are_pruned,
);

const SECRET: &str = "site-identity-secret-123";

async fn start(backend: Backend, extra: &[(&str, &str)]) -> TestApp {
    let mut env = vec![("EMBED_ORIGINS", ORIGIN), ("IDENTITY_SECRET", SECRET)];
    env.extend_from_slice(extra);
    spawn(Opts::new(backend).envs(&env)).await
}

async fn embed_view_is_framed_only_by_embed_origins(backend: Backend) {
    let app = start(backend, &[]).await;
    let r = cookieless()
        .get(format!("{}/embed", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers().get("set-cookie").is_none(),
        "the embed view sets no cookie"
    );
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains(&format!("frame-ancestors {ORIGIN}")), "{csp}");
    assert_eq!(r.headers()["cache-control"], "no-store");
    // The loader is served as JavaScript.
    let js = cookieless()
        .get(format!("{}/widget.js", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), 200);
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("javascript")
    );
    app.finish().await;

    // EMBED_ORIGINS empty: embedding is off.
    let app = spawn(backend).await;
    let r = cookieless()
        .get(format!("{}/embed", app.base))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_error(status, &r.json().await.unwrap(), 404, "NOT_FOUND");
    app.finish().await;
}

async fn a_visitor_token_reaches_only_its_own_thread(backend: Backend) {
    let app = start(backend, &[]).await;
    let a = embed_token(&app).await;
    let b = embed_token(&app).await;
    assert_ne!(a, b, "every view gets a fresh thread");
    let (ta, tb) = (thread_of(&a), thread_of(&b));
    let base = &app.base;

    // A sends and reads its own thread with its token alone (no CSRF, no cookie).
    let (s, v) = call(
        &a,
        "POST",
        format!("{base}/api/messages/send"),
        Some(json!({"text": "from A", "type": "text"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["thread_id"], json!(ta));
    let (s, v) = call(&b, "GET", format!("{base}/api/session"), None).await;
    assert_eq!((s, v["thread_id"].clone()), (200, json!(tb)), "{v}");
    assert_eq!(v["role"], json!("visitor"));

    // B can neither read nor write A's thread.
    let (s, v) = call(&b, "GET", format!("{base}/api/messages/{ta}"), None).await;
    assert_error(s, &v, 403, "FORBIDDEN");
    let (s, v) = call(
        &b,
        "POST",
        format!("{base}/api/messages/send"),
        Some(json!({"thread_id": ta, "text": "intrusion", "type": "text"})),
    )
    .await;
    assert_error(s, &v, 403, "FORBIDDEN");

    // Forged tokens: A's thread with B's MAC, a changed digit, garbage.
    let mac_b = b.rsplit('.').next().unwrap();
    let mut flipped = a.clone();
    let last = flipped.pop().unwrap();
    flipped.push(if last == '0' { '1' } else { '0' });
    for forged in [format!("sv1.{ta}.{mac_b}"), flipped, "sv1.x.y".to_owned()] {
        let (s, v) = call(&forged, "GET", format!("{base}/api/messages/{ta}"), None).await;
        assert_error(s, &v, 401, "UNAUTHORIZED");
        let (s, v) = call(
            &forged,
            "POST",
            format!("{base}/api/messages/send"),
            Some(json!({"text": "forged", "type": "text"})),
        )
        .await;
        assert_error(s, &v, 401, "UNAUTHORIZED");
    }
    // Nothing but A's message is stored in A's thread.
    let (s, v) = call(&a, "GET", format!("{base}/api/messages/{ta}"), None).await;
    assert_eq!(s, 200);
    let texts: Vec<&str> = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content_text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, vec!["from A"]);
    app.finish().await;
}

async fn the_token_path_opens_no_csrf_hole(backend: Backend) {
    let mut app = start(backend, &[]).await;
    let admin = app.admin().await;
    let visitor = app.visitor().await;
    visitor.send(None, "hello").await;
    let tid = visitor.thread_id().await;
    let token = embed_token(&app).await;
    // The admin's browser (its cookies) with a visitor token and no CSRF
    // token: judged by the token alone, so never the admin.
    let r = admin
        .client
        .post(format!("{}/api/messages/clear", app.base))
        .header("Authorization", format!("Bearer {token}"))
        .json(&json!({"thread_id": tid}))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    assert_error(status, &r.json().await.unwrap(), 401, "UNAUTHORIZED");
    // Another Authorization value does not lift the CSRF check.
    let r = admin
        .client
        .post(format!("{}/api/messages/clear", app.base))
        .header("Authorization", "Bearer something-else")
        .json(&json!({"thread_id": tid}))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    assert_error(status, &r.json().await.unwrap(), 403, "CSRF_FAILED");
    // A bearer token does not stand in for CSRF outside /api/ either.
    let r = admin
        .client
        .post(format!("{}/admin/logout", app.base))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    assert_error(status, &r.json().await.unwrap(), 403, "CSRF_FAILED");
    // The thread is intact and the admin still logged in.
    assert_eq!(admin.messages(&tid, "").await.len(), 1);
    app.finish().await;
}

async fn context_is_stored_bounded_and_shown_to_the_admin(backend: Backend) {
    let mut app = start(backend, &[]).await;
    let admin = app.admin().await;
    let token = embed_token(&app).await;
    let tid = thread_of(&token);
    let url = format!("{}/api/visitor/context", app.base);
    let page = json!({
        "url": "http://localhost:8123/pricing?plan=pro",
        "title": "Pricing <b>",
        "referrer": "https://search.example/?q=chat",
        "language": "tr-TR",
        "timezone": "Europe/Istanbul",
    });
    let (s, v) = call(&token, "POST", url.clone(), Some(page)).await;
    assert_eq!(s, 200, "{v}");
    // Navigation: page changes, the first referrer stays.
    let (s, _) = call(
        &token,
        "POST",
        url.clone(),
        Some(json!({"url": "http://localhost:8123/cart", "title": "Cart",
                    "referrer": "http://localhost:8123/pricing"})),
    )
    .await;
    assert_eq!(s, 200);
    // Bad input: a clear error, nothing changed.
    for bad in [
        json!({"url": "javascript:alert(1)"}),
        json!({"url": format!("https://x.example/{}", "a".repeat(2100))}),
        json!({"title": "x".repeat(301)}),
        json!({"timezone": "<script>"}),
        json!({"url": 5}),
    ] {
        let (s, v) = call(&token, "POST", url.clone(), Some(bad.clone())).await;
        assert_error(s, &v, 400, "VALIDATION_ERROR");
    }
    // Only the admin reads it.
    let ctx_path = format!("/api/threads/{tid}/context");
    let (s, v) = call(&token, "GET", format!("{}{ctx_path}", app.base), None).await;
    assert_error(s, &v, 401, "UNAUTHORIZED");
    let (s, v) = admin.get(&ctx_path).await;
    assert_eq!(s, 200, "{v}");
    let c = &v["context"];
    assert_eq!(c["page_url"], json!("http://localhost:8123/cart"));
    assert_eq!(c["page_title"], json!("Cart"));
    assert_eq!(c["referrer"], json!("https://search.example/?q=chat"));
    assert_eq!(c["browser"], json!("Chrome 131.0.0.0"));
    assert_eq!(c["os"], json!("Linux"));
    assert_eq!(c["language"], json!("tr-TR"));
    assert_eq!(c["timezone"], json!("Europe/Istanbul"));
    assert_eq!(c["verified"], json!(false));
    assert_eq!(c["away_shown_at"], Value::Null);
    // The away notice is recorded.
    call(&token, "POST", url, Some(json!({"away": true}))).await;
    let (_, v) = admin.get(&ctx_path).await;
    assert!(v["context"]["away_shown_at"].is_string(), "{v}");
    assert_eq!(
        v["context"]["page_url"],
        json!("http://localhost:8123/cart")
    );
    // No context yet: null.
    let (s, v) = admin
        .get(&format!(
            "/api/threads/{}/context",
            sohbet::auth::new_visitor_id()
        ))
        .await;
    assert_eq!((s, v["context"].clone()), (200, Value::Null));
    app.finish().await;
}

/// Issue 20 item 8: a raw client (not the widget's JS, which masks too)
/// reports a reset link with an OAuth fragment; the server stores and shows
/// it without the fragment and with secret-looking values masked, the
/// names kept, other parameters untouched.
async fn secrets_in_a_page_url_are_never_stored(backend: Backend) {
    let mut app = start(backend, &[]).await;
    let admin = app.admin().await;
    let token = embed_token(&app).await;
    let tid = thread_of(&token);
    let url = format!("{}/api/visitor/context", app.base);
    let page = json!({
        "url": "http://localhost:8123/reset?reset_token=abc123&q=shoes&API_KEY=k9k9&code=c0de#access_token=xyz",
        "referrer": "https://login.example/cb?id_token=jwtjwt&lang=tr#s=1",
    });
    let (s, v) = call(&token, "POST", url, Some(page)).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = admin.get(&format!("/api/threads/{tid}/context")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["context"]["page_url"],
        json!("http://localhost:8123/reset?reset_token=***&q=shoes&API_KEY=***&code=***")
    );
    assert_eq!(
        v["context"]["referrer"],
        json!("https://login.example/cb?id_token=***&lang=tr")
    );
    let shown = v.to_string();
    for secret in ["abc123", "xyz", "k9k9", "c0de", "jwtjwt", "#"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    app.finish().await;
}

async fn identify_with_a_good_hash_verifies_and_follows_the_user(backend: Backend) {
    let mut app = start(backend, &[]).await;
    let admin = app.admin().await;
    let url = format!("{}/api/visitor/identify", app.base);
    let hash = identity_hash(SECRET.as_bytes(), "user-42");
    let laptop = embed_token(&app).await;
    let body = json!({"name": "Ayşe", "email": "ayse@example.com",
                      "user_id": "user-42", "user_hash": hash});
    let (s, v) = call(&laptop, "POST", url.clone(), Some(body.clone())).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["verified"], json!(true));
    assert_eq!(v["switched"], json!(false));
    call(
        &laptop,
        "POST",
        format!("{}/api/messages/send", app.base),
        Some(json!({"text": "from the laptop", "type": "text"})),
    )
    .await;

    // The phone: same user, another device → the laptop's thread.
    let phone = embed_token(&app).await;
    let (s, v) = call(&phone, "POST", url.clone(), Some(body)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["switched"], json!(true));
    assert_eq!(v["thread_id"], json!(thread_of(&laptop)));
    let phone2 = v["visitor_token"].as_str().unwrap().to_owned();
    let (s, v) = call(
        &phone2,
        "GET",
        format!("{}/api/messages/{}", app.base, thread_of(&laptop)),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["messages"][0]["content_text"], json!("from the laptop"));

    // The visitor page (cookie + CSRF): switched by a new visitor cookie.
    let page = app.visitor().await;
    let (s, v) = page
        .post(
            "/api/visitor/identify",
            json!({"user_id": "user-42", "user_hash": identity_hash(SECRET.as_bytes(), "user-42")}),
        )
        .await;
    assert_eq!((s, v["switched"].clone()), (200, json!(true)), "{v}");
    assert!(
        v.get("visitor_token").is_none(),
        "cookie callers get no token: {v}"
    );
    assert_eq!(page.thread_id().await, thread_of(&laptop));

    // An unverified name never replaces the verified one.
    call(&phone2, "POST", url, Some(json!({"name": "Mallory"}))).await;
    let (_, v) = admin
        .get(&format!("/api/threads/{}/context", thread_of(&laptop)))
        .await;
    assert_eq!(v["context"]["verified"], json!(true));
    assert_eq!(v["context"]["name"], json!("Ayşe"));
    assert_eq!(v["context"]["user_id"], json!("user-42"));
    app.finish().await;
}

async fn identify_without_a_valid_hash_never_merges(backend: Backend) {
    let mut app = start(backend, &[]).await;
    let admin = app.admin().await;
    let url = format!("{}/api/visitor/identify", app.base);
    let good = identity_hash(SECRET.as_bytes(), "user-7");
    let first = embed_token(&app).await;
    call(
        &first,
        "POST",
        url.clone(),
        Some(json!({"user_id": "user-7", "user_hash": good})),
    )
    .await;
    let other = embed_token(&app).await;
    for body in [
        json!({"name": "Eve", "user_id": "user-7", "user_hash": "00".repeat(32)}),
        json!({"name": "Eve", "user_id": "user-7"}),
        json!({"name": "Eve", "user_id": "user-7", "user_hash": "zz"}),
    ] {
        let (s, v) = call(&other, "POST", url.clone(), Some(body)).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["verified"], json!(false));
        assert_eq!(v["switched"], json!(false));
        assert_eq!(v["thread_id"], json!(thread_of(&other)));
        assert!(v.get("visitor_token").is_none());
    }
    let (_, v) = admin
        .get(&format!("/api/threads/{}/context", thread_of(&other)))
        .await;
    assert_eq!(v["context"]["name"], json!("Eve"));
    assert_eq!(v["context"]["verified"], json!(false));
    assert_eq!(v["context"]["user_id"], Value::Null);
    // Bad input: a clear error.
    let (s, v) = call(&other, "POST", url, Some(json!({"email": "not-an-email"}))).await;
    assert_error(s, &v, 400, "VALIDATION_ERROR");
    app.finish().await;

    // Without IDENTITY_SECRET even a "good" hash is unverified.
    let app = spawn(Opts::new(backend).envs(&[("EMBED_ORIGINS", ORIGIN)])).await;
    let t = embed_token(&app).await;
    let (_, v) = call(
        &t,
        "POST",
        format!("{}/api/visitor/identify", app.base),
        Some(json!({"user_id": "user-7", "user_hash": identity_hash(SECRET.as_bytes(), "user-7")})),
    )
    .await;
    assert_eq!(v["verified"], json!(false));
    app.finish().await;
}

async fn the_first_forward_carries_one_context_line(backend: Backend) {
    let tg = TelegramDouble::start().await;
    let mut env: Vec<(String, String)> = tg.env();
    env.push(("EMBED_ORIGINS".into(), ORIGIN.into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let app = spawn(Opts::new(backend).envs(&env)).await;
    let token = embed_token(&app).await;
    call(
        &token,
        "POST",
        format!("{}/api/visitor/context", app.base),
        // The query (it can carry tokens) stays out of Telegram.
        Some(
            json!({"url": "http://localhost:8123/pricing?coupon=SECRET#top", "language": "en-GB"}),
        ),
    )
    .await;
    let send = |text: &'static str| {
        call(
            &token,
            "POST",
            format!("{}/api/messages/send", app.base),
            Some(json!({"text": text, "type": "text"})),
        )
    };
    assert_eq!(send("first question").await.0, 200);
    assert_eq!(send("second question").await.0, 200);
    let wait = Duration::from_secs(10);
    let first = tg
        .wait_text_to(ADMIN_CHAT, "first forward", wait, |t| {
            t.contains("first question")
        })
        .await
        .text()
        .unwrap();
    assert!(
        first.ends_with("\n🌐 http://localhost:8123/pricing · Chrome 131.0.0.0 (Linux) · en-GB"),
        "{first}"
    );
    assert_eq!(first.matches('🌐').count(), 1, "{first}");
    // Alone, or coalesced with the first (issue 23): one context line.
    let second = tg
        .wait_text_to(ADMIN_CHAT, "second forward", wait, |t| {
            t.contains("second question")
        })
        .await
        .text()
        .unwrap();
    if second != first {
        assert!(!second.contains('🌐'), "only the first forward: {second}");
    }
    assert_eq!(send("third question").await.0, 200);
    let third = tg
        .wait_text_to(ADMIN_CHAT, "third forward", wait, |t| {
            t.contains("third question")
        })
        .await
        .text()
        .unwrap();
    assert!(!third.contains('🌐'), "only the first forward: {third}");
    app.finish().await;
}

async fn contexts_of_visitors_who_never_wrote_are_pruned(backend: Backend) {
    use sohbet::{
        config::DatabaseConfig,
        domain::{NewMessage, PageReport},
        store::{Db, messages, visitors},
    };
    let dir = common::KeptDb::new(backend).await;
    let config = match backend {
        Backend::Sqlite => DatabaseConfig::Sqlite(dir.path().join("chat.db")),
        Backend::Postgres => DatabaseConfig::Postgres(dir.var().1),
    };
    let db = Db::connect(&config).await.expect("connect");
    db.migrate().await.expect("migrate");
    let (looker, writer) = (
        sohbet::auth::new_visitor_id(),
        sohbet::auth::new_visitor_id(),
    );
    let report = PageReport {
        page_url: Some("https://shop.example/".into()),
        ..Default::default()
    };
    let old = sohbet::store::now() - chrono::TimeDelta::days(2);
    for t in [&looker, &writer] {
        visitors::report_page(&db, t, &report, old).await.unwrap();
    }
    messages::insert_batch(
        &db,
        &[NewMessage {
            thread_id: writer.clone(),
            sender: sohbet::chat::Role::Visitor,
            kind: sohbet::chat::MessageType::Text,
            text: "hi".into(),
            file_url: None,
            client_id: None,
            new_thread: Some("Visitor".into()),
            forward: false,
            internal: false,
            tg_link: None,
            agent_id: None,
            agent_name: None,
            client_key: None,
        }],
    )
    .await
    .unwrap();
    let recent = sohbet::store::now();
    let fresh = sohbet::auth::new_visitor_id();
    visitors::report_page(&db, &fresh, &report, recent)
        .await
        .unwrap();
    let cutoff = recent - chrono::TimeDelta::days(1);
    assert_eq!(visitors::prune_orphans(&db, cutoff).await.unwrap(), 1);
    assert!(visitors::get(&db, &looker).await.unwrap().is_none());
    assert!(visitors::get(&db, &writer).await.unwrap().is_some());
    assert!(visitors::get(&db, &fresh).await.unwrap().is_some());
    db.close().await;
}
