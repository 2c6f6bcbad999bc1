//! Hardening, round three (issue 20), the holes in the new features, each
//! performed as an attack against the real server: a port in
//! `X-Forwarded-For` (item 5), uploads by a blocked visitor (item 7, SQLite
//! and Postgres) and visitor tokens that outlive their embedding (item 9,
//! SQLite and Postgres; HTTP and the Socket.IO handshake, spoken by hand
//! over Engine.IO polling). Item 6 (secrets in `check-config` and in the
//! start-up log) is in tests/cli.rs, with the binary.

use crate::uploads::support;

use crate::common::{
    Backend, KeptDb, Opts, assert_error,
    embed::{ORIGIN, call, cookieless, embed_token, thread_of},
    spawn,
};
use serde_json::{Value, json};
use support::{PNG_1X1, files_under, upload, wav};

on_both_backends!(
    a_blocked_visitor_cannot_upload,
    raising_the_token_epoch_revokes_earlier_tokens,
);

/// `GET /api/session` from 127.0.0.1 (the trusted proxy) with
/// `X-Forwarded-For: xff`; returns the status.
async fn session_as(base: &str, xff: &str) -> u16 {
    cookieless()
        .get(format!("{base}/api/session"))
        .header("x-forwarded-for", xff)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_port_in_forwarded_for_does_not_hide_the_cookieless() {
    // The proxy appends the client as `ip:port`; the client forges a new
    // left-hand entry on every request. Before the fix the entry with the
    // port was skipped and the forged one became the key: 0 of 60 limited.
    let app = spawn(Opts::new(Backend::Sqlite).envs(&[
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("RATE_LIMIT_API_PER_IP_PER_MINUTE", "20"),
    ]))
    .await;
    for (n, appended) in ["203.0.113.8:4711", "[2001:db8::8]:4711", "203.0.113.9"]
        .into_iter()
        .enumerate()
    {
        let mut limited = 0;
        for i in 0..60 {
            let xff = format!("198.51.{n}.{i}, {appended}");
            match session_as(&app.base, &xff).await {
                200 => {}
                429 => limited += 1,
                other => panic!("{appended}: status {other}"),
            }
        }
        // 20 a minute: at most 20 pass, plus one for each 3 s the loop took.
        assert!(limited >= 20, "{appended}: only {limited} of 60 limited");
    }
    app.finish().await;
}

/// A multipart upload of `bytes` as field `file` with a visitor token.
async fn upload_with_token(base: &str, token: &str, path: &str, bytes: &[u8]) -> (u16, Value) {
    let part = reqwest::multipart::Part::bytes(bytes.to_vec()).file_name("f.bin");
    let r = cookieless()
        .post(format!("{base}{path}"))
        .header("Authorization", format!("Bearer {token}"))
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .expect("POST multipart");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn a_blocked_visitor_cannot_upload(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let uploads = dir.path().join("uploads");
    let mut app = spawn(Opts::new(backend).envs(&[
        ("UPLOAD_DIR", uploads.display().to_string().as_str()),
        ("EMBED_ORIGINS", ORIGIN),
    ]))
    .await;
    let admin = app.admin().await;
    // A cookie visitor and a token (embed) visitor, each with a thread.
    let cookie = app.visitor().await;
    assert_eq!(cookie.send(None, "hello").await.0, 200);
    let cookie_thread = cookie.thread_id().await;
    let token = embed_token(&app).await;
    let (s, v) = call(
        &token,
        "POST",
        format!("{}/api/messages/send", app.base),
        Some(json!({"text": "hello", "type": "text"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    // Both can upload while not blocked (the route works for them).
    let (s, v) = upload(&cookie, "/api/upload/image", "a.png", PNG_1X1.to_vec()).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = upload_with_token(&app.base, &token, "/api/upload/image", PNG_1X1).await;
    assert_eq!(s, 200, "{v}");
    let before = files_under(&uploads);
    assert_eq!(before.len(), 2, "{before:?}");

    for thread in [cookie_thread, thread_of(&token)] {
        let (s, v) = admin
            .post(&format!("/api/threads/{thread}/block"), json!({}))
            .await;
        assert_eq!(s, 200, "{v}");
    }
    // Blocked: every upload is refused as a send is, and nothing is stored.
    let (s, v) = cookie.send(None, "still here?").await;
    assert_error(s, &v, 403, "BLOCKED");
    for (path, bytes) in [
        ("/api/upload/image", PNG_1X1.to_vec()),
        ("/api/upload/audio", wav(4096)),
    ] {
        let (s, v) = upload(&cookie, path, "x.bin", bytes.clone()).await;
        assert_error(s, &v, 403, "BLOCKED");
        let (s, v) = upload_with_token(&app.base, &token, path, &bytes).await;
        assert_error(s, &v, 403, "BLOCKED");
    }
    assert_eq!(
        files_under(&uploads),
        before,
        "a blocked upload left a file"
    );
    // The admin is never blocked by its visitors' blocks.
    let (s, v) = upload(&admin, "/api/upload/image", "b.png", PNG_1X1.to_vec()).await;
    assert_eq!(s, 200, "{v}");
    app.finish().await;
}

/// The Socket.IO handshake of the embed view (`auth.visitor_token`), spoken
/// over Engine.IO v4 polling: opens a session, sends the CONNECT packet and
/// returns the server's answer packet (`40{"sid":…}` when accepted,
/// `44{"message":"auth_error"}` when refused).
async fn socket_handshake(base: &str, token: &str) -> String {
    let c = cookieless();
    let open = c
        .get(format!("{base}/socket.io/?EIO=4&transport=polling"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let opened: Value = serde_json::from_str(open.strip_prefix('0').expect("OPEN packet")).unwrap();
    let sid = opened["sid"].as_str().expect("sid");
    let url = format!("{base}/socket.io/?EIO=4&transport=polling&sid={sid}");
    let connect = format!("40{}", json!({"visitor_token": token, "role": "visitor"}));
    let r = c
        .post(&url)
        .header("content-type", "text/plain;charset=UTF-8")
        .body(connect)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let answer = c.get(&url).send().await.unwrap().text().await.unwrap();
    answer
        .split('\u{1e}')
        .find(|p| p.starts_with("40") || p.starts_with("44"))
        .unwrap_or_else(|| panic!("no CONNECT answer in {answer:?}"))
        .to_owned()
}

async fn raising_the_token_epoch_revokes_earlier_tokens(backend: Backend) {
    let db = KeptDb::new(backend).await;
    // One SECRET_KEY for every start (unset, each start would draw its own
    // and revoke every token by itself).
    let opts = |epoch: Option<&str>| {
        let o = Opts::new(backend).db(&db).envs(&[
            ("EMBED_ORIGINS", ORIGIN),
            ("SECRET_KEY", "the-same-secret-key-0123456789abcdef"),
        ]);
        match epoch {
            Some(e) => o.env("VISITOR_TOKEN_EPOCH", e),
            None => o,
        }
    };
    // Epoch 0 (unset): a token is issued and works.
    let app = spawn(opts(None)).await;
    let old = embed_token(&app).await;
    let send = |base: &str| format!("{base}/api/messages/send");
    let (s, v) = call(
        &old,
        "POST",
        send(&app.base),
        Some(json!({"text": "before", "type": "text"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let answer = socket_handshake(&app.base, &old).await;
    assert!(answer.starts_with("40{\"sid\""), "{answer}");
    app.finish().await;

    // The operator raises the epoch (same SECRET_KEY, same database).
    let mut app = spawn(opts(Some("1"))).await;
    let (s, v) = call(&old, "GET", format!("{}/api/session", app.base), None).await;
    assert_error(s, &v, 401, "UNAUTHORIZED");
    let (s, v) = call(
        &old,
        "POST",
        send(&app.base),
        Some(json!({"text": "after", "type": "text"})),
    )
    .await;
    assert_error(s, &v, 401, "UNAUTHORIZED");
    let answer = socket_handshake(&app.base, &old).await;
    assert_eq!(answer, "44{\"message\":\"auth_error\"}");
    // A token of the new epoch works on both paths.
    let new = embed_token(&app).await;
    let (s, v) = call(
        &new,
        "POST",
        send(&app.base),
        Some(json!({"text": "fresh start", "type": "text"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let answer = socket_handshake(&app.base, &new).await;
    assert!(answer.starts_with("40{\"sid\""), "{answer}");
    // The revoked token's conversation is kept; the admin still reads it,
    // and nothing was added to it after the revocation.
    let admin = app.admin().await;
    let texts: Vec<String> = admin
        .messages(&thread_of(&old), "")
        .await
        .iter()
        .map(|m| m["content_text"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(texts, vec!["before"]);
    app.finish().await;

    // Back at epoch 0 the old token would work again: epochs are not a
    // list of revoked tokens but the generation every token must match.
    let app = spawn(opts(Some("0"))).await;
    let (s, _) = call(&old, "GET", format!("{}/api/session", app.base), None).await;
    assert_eq!(s, 200);
    let (s, v) = call(&new, "GET", format!("{}/api/session", app.base), None).await;
    assert_error(s, &v, 401, "UNAUTHORIZED");
    app.finish().await;
}

/// SQLite locked by another writer (`SQLITE_BUSY`): the answer is a 503 the
/// client can retry, not a 500, and nothing of the refused message is
/// stored (seen as a 500 twice under a load average of 30 during issue 20's
/// test runs, where the machine's load made the wait run out).
#[tokio::test]
async fn a_database_locked_by_another_writer_is_a_readable_503() {
    use sqlx::Connection;
    let db = KeptDb::new(Backend::Sqlite).await;
    let app = spawn(Opts::new(Backend::Sqlite).db(&db)).await;
    let v = app.visitor().await;
    let (s, r) = v.send(None, "before the lock").await;
    assert_eq!(s, 200, "{r}");

    // Another process's writer holds the write lock longer than the
    // server's `busy_timeout` (5 s) lets the group commit wait.
    let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(db.path().join("chat.db"));
    let mut other = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();
    let (s, r) = v.send(None, "while locked").await;
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    other.close().await.unwrap();
    assert_error(s, &r, 503, "SERVICE_UNAVAILABLE");

    // The lock is gone: the same client is served again, and the refused
    // message was not stored.
    let (s, r) = v.send(None, "after the lock").await;
    assert_eq!(s, 200, "{r}");
    let tid = v.thread_id().await;
    let texts: Vec<String> = v
        .messages(&tid, "")
        .await
        .iter()
        .filter_map(|m| m["content_text"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(texts, ["before the lock", "after the lock"], "{texts:?}");
}

/// A write lock held a little longer than one `busy_timeout` (5 s) costs
/// the sender a wait, not a refusal: the group commit tries the batch
/// again once SQLite answers busy, and the message is stored once. (Seen
/// as a 503 on a loaded CI machine right after the outbox had waited out a
/// Telegram 429.)
#[tokio::test]
async fn a_lock_held_past_one_busy_timeout_delays_the_send_without_refusing_it() {
    use sqlx::Connection;
    let db = KeptDb::new(Backend::Sqlite).await;
    let app = spawn(Opts::new(Backend::Sqlite).db(&db)).await;
    let v = app.visitor().await;
    let (s, r) = v.send(None, "before the lock").await;
    assert_eq!(s, 200, "{r}");

    let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(db.path().join("chat.db"));
    let mut other = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();
    // The lock is released after one busy timeout has run out (and before
    // a second one would): only a second try can store the message.
    let release = async {
        tokio::time::sleep(std::time::Duration::from_millis(6_500)).await;
        sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    };
    let ((s, r), ()) = tokio::join!(v.send(None, "while locked"), release);
    other.close().await.unwrap();
    assert_eq!(s, 200, "{r}");

    let tid = v.thread_id().await;
    let texts: Vec<String> = v
        .messages(&tid, "")
        .await
        .iter()
        .filter_map(|m| m["content_text"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(texts, ["before the lock", "while locked"], "{texts:?}");
    app.finish().await;
}
