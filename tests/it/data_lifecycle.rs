//! The operator's data (issue 27 items 3–6): erasing a thread leaves
//! nothing of it in any table, the upload folder, Cloudinary or (when
//! asked) its Telegram topic; erase by email from the real binary;
//! owner-only routes; the retention job; `sohbet backup` under write load
//! restored into a working server; the audit log. Every test runs on
//! SQLite and Postgres.

use std::{
    path::Path,
    process::Stdio,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use sqlx::Connection;

use crate::common::{
    Backend, Browser, KeptDb, Opts, assert_error, binary, bridge,
    data::{on_kept, send, sohbet},
    socket::Socket,
    spawn,
    telegram::TelegramDouble,
};
use crate::uploads::support::{PNG_1X1, files_under, send_image};

on_both_backends!(
    erase_leaves_nothing_of_the_thread,
    erase_destroys_cloudinary_media,
    erase_by_email_from_the_command_line,
    only_owners_erase_and_read_the_audit_log,
    retention_erases_only_old_closed_threads,
    retention_rechecks_a_thread_in_the_erasing_transaction,
    backup_under_write_load_restores_every_acknowledged_message,
);

/// A word no other test writes: found nowhere once its thread is erased.
const MARKER: &str = "zebracornish";

/// Every (table, column) of the kept database and how many rows hold
/// `needle` in that column (as text); only the non-zero ones.
async fn cells_holding(db: &KeptDb, needle: &str) -> Vec<(String, String, i64)> {
    let mut out = vec![];
    match db.var() {
        ("DATABASE_URL", url) => {
            let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
            let cols: Vec<(String, String)> = sqlx::query_as(
                "SELECT table_name::text, column_name::text FROM information_schema.columns \
                 WHERE table_schema = 'public' ORDER BY 1, 2",
            )
            .fetch_all(&mut c)
            .await
            .unwrap();
            assert!(cols.len() > 20, "{cols:?}");
            for (t, col) in cols {
                let sql = format!(
                    "SELECT count(*) FROM \"{t}\" WHERE CAST(\"{col}\" AS TEXT) LIKE '%' || $1 || '%'"
                );
                let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .bind(needle)
                    .fetch_one(&mut c)
                    .await
                    .unwrap();
                if n > 0 {
                    out.push((t, col, n));
                }
            }
        }
        (_, path) => {
            let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{path}"))
                .await
                .unwrap();
            let tables: Vec<String> =
                sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
                    .fetch_all(&mut c)
                    .await
                    .unwrap();
            assert!(tables.len() > 10, "{tables:?}");
            for t in tables {
                let cols: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT name FROM pragma_table_info('{t}')"
                )))
                .fetch_all(&mut c)
                .await
                .unwrap();
                for col in cols {
                    let sql = format!(
                        "SELECT count(*) FROM \"{t}\" WHERE instr(CAST(\"{col}\" AS TEXT), $1) > 0"
                    );
                    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                        .bind(needle)
                        .fetch_one(&mut c)
                        .await
                        .unwrap();
                    if n > 0 {
                        out.push((t.clone(), col, n));
                    }
                }
            }
        }
    }
    out
}

/// Runs one statement on the kept database (`$1` bound to `arg`, `$2` to `at`).
async fn exec(db: &KeptDb, sql: &str, arg: &str, at: chrono::DateTime<chrono::Utc>) {
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    match db.var() {
        ("DATABASE_URL", url) => {
            let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::query(sql)
                .bind(arg)
                .bind(at)
                .execute(&mut c)
                .await
                .unwrap();
        }
        (_, path) => {
            let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{path}"))
                .await
                .unwrap();
            sqlx::query(sql)
                .bind(arg)
                .bind(at)
                .execute(&mut c)
                .await
                .unwrap();
        }
    }
}

/// The audit log as the owner `owner` reads it.
async fn audit(owner: &Browser) -> Vec<Value> {
    let (s, r) = owner.call("GET", "/api/audit?limit=500", None).await;
    assert_eq!(s, 200, "{r}");
    r["entries"].as_array().unwrap().clone()
}

/// A server on `db` whose uploads go to `<db folder>/uploads`.
async fn erase_leaves_nothing_of_the_thread(backend: Backend) {
    let tg = TelegramDouble::start_forum().await;
    let db = KeptDb::new(backend).await;
    let mut app = on_kept(&db, bridge::wired(backend, &tg, &[])).await;
    let owner = app.admin().await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    let other = app.visitor().await;
    let other_tid = other.thread_id().await;

    // Everything a thread can hold: context, messages (with a picture),
    // an agent's answer and internal note, events, Telegram topic, links,
    // outbox rows, search rows.
    let (s, r) = v
        .post(
            "/api/visitor/identify",
            json!({"name": "Zeynep", "email": "zeynep@example.com"}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    send(&v, json!({"text": format!("hello {MARKER}")})).await;
    let (_, url) = send_image(&v, PNG_1X1.to_vec()).await;
    let (s, r) = other.send(None, "another visitor stays").await;
    assert_eq!(s, 200, "{r}");
    let (_, other_url) = send_image(&other, PNG_1X1.to_vec()).await;
    send(
        &owner,
        json!({"thread_id": tid, "text": format!("answer {MARKER}")}),
    )
    .await;
    send(
        &owner,
        json!({"thread_id": tid, "text": format!("note {MARKER}"), "internal": true}),
    )
    .await;
    let (s, r) = owner
        .call("POST", &format!("/api/threads/{tid}/close"), None)
        .await;
    assert_eq!(s, 200, "{r}");
    bridge::wait_backlog_empty(&app).await;
    let topic = tg
        .topics()
        .into_iter()
        .find(|t| t.name.contains(&sohbet::chat::display_name_for(&tid)))
        .expect("the thread's topic");
    assert!(!cells_holding(&db, &tid).await.is_empty());
    let (_, found) = owner
        .call("GET", &format!("/api/search?q={MARKER}"), None)
        .await;
    assert!(found.to_string().contains(&tid), "{found}");

    let mut vs = Socket::visitor(&v, None).await;
    let mut admin = Socket::admin(&owner).await;
    let (s, r) = owner
        .call(
            "DELETE",
            &format!("/api/threads/{tid}?telegram_topic=true"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let erased = &r["erased"];
    assert_eq!(erased["thread_id"], json!(tid), "{r}");
    assert_eq!(erased["messages"], json!(4), "{r}");
    assert_eq!(erased["media_removed"], json!(1), "{r}");
    assert_eq!(erased["media_failed"], json!(0), "{r}");
    assert_eq!(erased["telegram_topic"], json!("deleted"), "{r}");
    assert_eq!(vs.next("messages_cleared").await, json!({"thread_id": tid}));
    assert_eq!(admin.next("thread_erased").await, json!({"thread_id": tid}));

    // Nothing of it in any table but the audit log (which names it only).
    let left = cells_holding(&db, &tid).await;
    assert_eq!(
        left,
        vec![("audit_log".to_owned(), "target".to_owned(), 1)],
        "rows of the erased thread remain"
    );
    let left = cells_holding(&db, MARKER).await;
    assert!(left.is_empty(), "erased text remains: {left:?}");
    let left = cells_holding(&db, "zeynep@example.com").await;
    assert!(left.is_empty(), "erased context remains: {left:?}");
    let (_, found) = owner
        .call("GET", &format!("/api/search?q={MARKER}"), None)
        .await;
    assert!(!found.to_string().contains(&tid), "{found}");
    // Its file is gone from the upload folder; the other visitor's stays.
    let files: Vec<String> = files_under(&db.path().join("uploads"))
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let name = |u: &str| u.rsplit('/').next().unwrap().to_owned();
    assert!(!files.iter().any(|f| f.ends_with(&name(&url))), "{files:?}");
    assert!(
        files.iter().any(|f| f.ends_with(&name(&other_url))),
        "{files:?}"
    );
    // The topic was deleted through the Bot API.
    assert!(tg.with_calls(|c| c.iter().any(|c| c.is("deleteForumTopic") && c.ok())));
    assert!(tg.topics().iter().any(|t| t.id == topic.id && t.deleted));
    // The other visitor's thread is whole; the list no longer has the erased one.
    let (_, list) = owner.call("GET", "/api/threads", None).await;
    assert!(!list.to_string().contains(&tid), "{list}");
    assert!(list.to_string().contains(&other_tid), "{list}");
    assert_eq!(other.messages(&other_tid, "").await.len(), 2);
    // The audit entry: who, what, counts — no content.
    let log = audit(&owner).await;
    let e = log
        .iter()
        .find(|e| e["action"] == json!("erase"))
        .expect("erase entry");
    assert_eq!(e["target"], json!(tid), "{e}");
    assert_eq!(e["detail"]["messages"], json!(4), "{e}");
    assert!(e["by"]["id"].as_i64().is_some(), "{e}");
    assert!(!e.to_string().contains(MARKER), "{e}");
    // Erasing it again: nothing there.
    let (s, r) = owner
        .call("DELETE", &format!("/api/threads/{tid}"), None)
        .await;
    assert_error(s, &r, 404, "NOT_FOUND");
    app.finish().await;
}

async fn erase_destroys_cloudinary_media(backend: Backend) {
    use crate::uploads::cloudinary::{cloudinary_double, cloudinary_env};
    let (api, seen) = cloudinary_double(false).await;
    let env = cloudinary_env(&api);
    let mut app = spawn(Opts::new(backend).envs(&env)).await;
    let owner = app.admin().await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    let (public_id, _) = send_image(&v, PNG_1X1.to_vec()).await;

    let (s, r) = owner
        .call("DELETE", &format!("/api/threads/{tid}"), None)
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["erased"]["media_removed"], json!(1), "{r}");
    assert_eq!(r["erased"]["telegram_topic"], json!("none"), "{r}");
    let seen = seen.lock().unwrap().clone();
    let destroys: Vec<_> = seen
        .iter()
        .filter(|(p, _, _)| p.ends_with("/destroy"))
        .collect();
    assert_eq!(destroys.len(), 1, "{seen:?}");
    assert_eq!(destroys[0].0, "/v1_1/testcloud/image/destroy");
    assert_eq!(destroys[0].1["public_id"], public_id);
    app.finish().await;
}

async fn erase_by_email_from_the_command_line(backend: Backend) {
    let db = KeptDb::new(backend).await;
    let mut app = on_kept(&db, Opts::new(backend)).await;
    let mut tids = vec![];
    for email in ["Ali@Example.com", "ali@example.com", "veli@example.com"] {
        let v = app.visitor().await;
        let (s, r) = v
            .post("/api/visitor/identify", json!({"email": email}))
            .await;
        assert_eq!(s, 200, "{r}");
        send(&v, json!({"text": "hi"})).await;
        tids.push(v.thread_id().await);
    }
    // Bad input: exit 2, nothing erased.
    let (code, _, err) = sohbet(&db, &["erase", "--email", "not-an-address"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, _) = sohbet(&db, &["erase"]);
    assert_eq!(code, 2);
    let long = "x".repeat(65);
    let (code, _, err) = sohbet(&db, &["erase", "--thread", &long]);
    assert_eq!(code, 2, "{err}");
    for t in &tids {
        assert!(!cells_holding(&db, t).await.is_empty());
    }
    let (code, out, err) = sohbet(&db, &["erase", "--email", "ALI@example.com"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out.lines()
            .filter(|l| l.starts_with("erased thread"))
            .count(),
        2,
        "{out}"
    );
    for t in &tids[..2] {
        let left = cells_holding(&db, t).await;
        assert_eq!(left, vec![("audit_log".into(), "target".into(), 1)]);
    }
    assert!(cells_holding(&db, &tids[2]).await.len() > 2);
    // Nothing left under that address: exit 1, nothing changes.
    let (code, _, err) = sohbet(&db, &["erase", "--email", "ali@example.com"]);
    assert_eq!(code, 1, "{err}");
    // By thread id, from the command line.
    let (code, out, err) = sohbet(&db, &["erase", "--thread", &tids[2]]);
    assert_eq!(code, 0, "{out}{err}");
    let owner = app.admin().await;
    let log = audit(&owner).await;
    let erases: Vec<&Value> = log.iter().filter(|e| e["action"] == "erase").collect();
    assert_eq!(erases.len(), 3, "{log:?}");
    assert!(
        erases
            .iter()
            .all(|e| e["by"] == json!({"id": null, "name": "command line"}))
    );
    app.finish().await;
}

async fn only_owners_erase_and_read_the_audit_log(backend: Backend) {
    let mut app = spawn(backend).await;
    let owner = app.admin().await;
    let v = app.visitor().await;
    let tid = v.thread_id().await;
    send(&v, json!({"text": "keep me"})).await;
    let agent_id = crate::agents::add(&owner, "ayse", "agent").await;
    let agent = crate::agents::login(&mut app, "ayse", crate::agents::PASSWORD).await;

    let path = format!("/api/threads/{tid}");
    let (s, r) = agent.call("DELETE", &path, None).await;
    assert_error(s, &r, 403, "FORBIDDEN");
    let (s, r) = v.call("DELETE", &path, None).await;
    assert_error(s, &r, 401, "UNAUTHORIZED");
    let (s, r) = app.visitor().await.call("DELETE", &path, None).await;
    assert_error(s, &r, 401, "UNAUTHORIZED");
    // Without the CSRF token.
    let r = owner
        .client
        .delete(format!("{}{path}", owner.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    // Bad input.
    let (s, r) = owner
        .call("DELETE", &format!("{path}?telegram_topic=maybe"), None)
        .await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    let (s, r) = owner.call("DELETE", &format!("{path}?other=1"), None).await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    let long = "a".repeat(65);
    let (s, r) = owner
        .call("DELETE", &format!("/api/threads/{long}"), None)
        .await;
    assert_error(s, &r, 400, "VALIDATION_ERROR");
    let unknown = uuid::Uuid::new_v4().to_string();
    let (s, r) = owner
        .call("DELETE", &format!("/api/threads/{unknown}"), None)
        .await;
    assert_error(s, &r, 404, "NOT_FOUND");
    // Nothing changed.
    assert_eq!(v.messages(&tid, "").await.len(), 1);

    // The audit log: owners only, bounded.
    for b in [&agent, &v] {
        let (s, r) = b.call("GET", "/api/audit", None).await;
        let want = if std::ptr::eq(b, &agent) { 403 } else { 401 };
        assert_eq!(s, want, "{r}");
    }
    for bad in ["0", "501", "x"] {
        let (s, r) = owner
            .call("GET", &format!("/api/audit?limit={bad}"), None)
            .await;
        assert_error(s, &r, 400, "VALIDATION_ERROR");
    }
    assert!(audit(&owner).await.is_empty());
    // Disabling and enabling an agent are recorded.
    let (s, r) = owner
        .call("POST", &format!("/api/agents/{agent_id}/disable"), None)
        .await;
    assert_eq!(s, 200, "{r}");
    let (s, r) = owner
        .call("POST", &format!("/api/agents/{agent_id}/enable"), None)
        .await;
    assert_eq!(s, 200, "{r}");
    let log = audit(&owner).await;
    let actions: Vec<&str> = log.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["agent_enable", "agent_disable"], "{log:?}");
    assert_eq!(log[1]["target"], json!(agent_id.to_string()));
    assert!(log[1]["by"]["name"].as_str().is_some_and(|n| !n.is_empty()));
    let (s, r) = owner.call("GET", "/api/audit?limit=1", None).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["entries"].as_array().unwrap().len(), 1);
    app.finish().await;
}

/// The retention job picks its batch, then erases each thread in its own
/// transaction: a thread a visitor reopened (or wrote to) in between no
/// longer qualifies there and is kept, with every message.
async fn retention_rechecks_a_thread_in_the_erasing_transaction(backend: Backend) {
    let db = KeptDb::new(backend).await;
    let mut app = on_kept(&db, Opts::new(backend)).await;
    let owner = app.admin().await;
    let v = app.visitor().await;
    send(&v, json!({"text": "hello"})).await;
    let tid = v.thread_id().await;
    let (s, r) = owner
        .call("POST", &format!("/api/threads/{tid}/close"), None)
        .await;
    assert_eq!(s, 200, "{r}");
    app.finish().await;
    let now = chrono::Utc::now();
    exec(
        &db,
        "UPDATE threads SET last_activity_at = $2 WHERE id = $1",
        &tid,
        now - chrono::TimeDelta::days(31),
    )
    .await;
    let (k, val) = db.var();
    let config =
        sohbet::config::Config::from_lookup(|key| (key == k).then(|| val.clone())).unwrap();
    let store = sohbet::store::Db::connect(&config.database).await.unwrap();
    let before = now - chrono::TimeDelta::days(30);
    // The job chose it; then the visitor came back (the thread reopened).
    assert_eq!(
        sohbet::store::erase::closed_before(&store, before, 50)
            .await
            .unwrap(),
        [crate::common::tid(&tid)]
    );
    exec(
        &db,
        "UPDATE threads SET status = 'open', last_activity_at = $2 WHERE id = $1",
        &tid,
        now,
    )
    .await;
    let erased = sohbet::store::erase::erase_thread(
        &store,
        &crate::common::tid(&tid),
        None,
        now,
        Some(before),
    )
    .await
    .unwrap();
    assert!(erased.is_none(), "a reopened thread was erased");
    assert!(!cells_holding(&db, &tid).await.is_empty());
    // Closed and old again: now it goes.
    exec(
        &db,
        "UPDATE threads SET status = 'closed', last_activity_at = $2 WHERE id = $1",
        &tid,
        now - chrono::TimeDelta::days(31),
    )
    .await;
    let erased = sohbet::store::erase::erase_thread(
        &store,
        &crate::common::tid(&tid),
        None,
        now,
        Some(before),
    )
    .await
    .unwrap()
    .expect("erased");
    assert_eq!(erased.messages, 1);
    store.close().await;
}

async fn retention_erases_only_old_closed_threads(backend: Backend) {
    let db = KeptDb::new(backend).await;
    let mut app = on_kept(&db, Opts::new(backend)).await;
    let owner = app.admin().await;
    let mut tids = vec![];
    for _ in 0..4 {
        let v = app.visitor().await;
        send(&v, json!({"text": "hello"})).await;
        tids.push(v.thread_id().await);
    }
    // 0: closed, old → erased. 1: open, old → kept. 2: closed, recent →
    // kept. 3: closed, 29 days → kept.
    for t in [&tids[0], &tids[2], &tids[3]] {
        let (s, r) = owner
            .call("POST", &format!("/api/threads/{t}/close"), None)
            .await;
        assert_eq!(s, 200, "{r}");
    }
    app.finish().await;
    let now = chrono::Utc::now();
    let set = "UPDATE threads SET last_activity_at = $2 WHERE id = $1";
    exec(&db, set, &tids[0], now - chrono::TimeDelta::days(31)).await;
    exec(&db, set, &tids[1], now - chrono::TimeDelta::days(400)).await;
    exec(&db, set, &tids[3], now - chrono::TimeDelta::days(29)).await;

    let mut app = on_kept(&db, Opts::new(backend).env("RETENTION_DAYS", "30")).await;
    let owner = app.admin().await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while !cells_holding(&db, &tids[0]).await.is_empty() {
        assert!(
            Instant::now() < deadline,
            "the old closed thread stayed: {:?}",
            cells_holding(&db, &tids[0]).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for t in &tids[1..] {
        assert!(!cells_holding(&db, t).await.is_empty(), "{t} was erased");
    }
    let log = audit(&owner).await;
    let e = log
        .iter()
        .find(|e| e["action"] == "retention")
        .expect("retention entry");
    assert_eq!(e["detail"], json!({"days": 30, "threads": 1}), "{e}");
    assert_eq!(e["by"], json!({"id": null, "name": "retention"}));
    // The panel shows the policy.
    let html = owner.page("/admin").await;
    assert!(html.contains("30 days"), "no retention line on the panel");
    app.finish().await;
}

async fn backup_under_write_load_restores_every_acknowledged_message(backend: Backend) {
    let db = KeptDb::new(backend).await;
    let mut app = on_kept(&db, Opts::new(backend)).await;
    if backend == Backend::Postgres {
        let (code, _, err) = sohbet(&db, &["backup", "/tmp/never-written.db"]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("pg_dump"), "{err}");
        assert!(!Path::new("/tmp/never-written.db").exists());
        app.finish().await;
        return;
    }
    let started = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    // (thread, text, acknowledged before the backup started)
    let acked: Arc<Mutex<Vec<(String, String, bool)>>> = Arc::default();
    let mut writers = vec![];
    for w in 0..3 {
        let v = app.visitor().await;
        let tid = v.thread_id().await;
        let (started, stop, acked) = (started.clone(), stop.clone(), acked.clone());
        writers.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Acquire) {
                let text = format!("w{w}-{i}");
                let (s, _) = v.send(None, &text).await;
                if s == 200 {
                    let before = !started.load(Ordering::Acquire);
                    acked.lock().unwrap().push((tid.clone(), text, before));
                }
                i += 1;
            }
        }));
    }
    while acked.lock().unwrap().len() < 60 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let target = db.path().join("backup.db");
    let target_s = target.display().to_string();
    started.store(true, Ordering::Release);
    let (code, out, err) = {
        let (k, v) = db.var();
        let uploads = db.path().join("uploads").display().to_string();
        let mut cmd = binary::command(&[(k, v.as_str()), ("UPLOAD_DIR", uploads.as_str())]);
        cmd.args(["backup", &target_s]).stderr(Stdio::piped());
        let out = tokio::task::spawn_blocking(move || cmd.output().expect("run sohbet"))
            .await
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // Writes go on a little after the copy, then stop.
    let after = acked.lock().unwrap().len();
    while acked.lock().unwrap().len() < after + 20 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Release);
    for w in writers {
        w.await.unwrap();
    }
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("uploads"), "{out}");
    let size = std::fs::metadata(&target).unwrap().len();
    // Never overwrites.
    let (code, _, err) = sohbet(&db, &["backup", &target_s]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("exists"), "{err}");
    assert_eq!(std::fs::metadata(&target).unwrap().len(), size);
    let owner = app.admin().await;
    let log = audit(&owner).await;
    assert!(
        log.iter()
            .any(|e| e["action"] == "backup" && e["target"] == "backup.db"),
        "{log:?}"
    );
    app.finish().await;

    // Restore: stop, copy the file into place, start.
    let restored = tempfile::tempdir().unwrap();
    let path = restored.path().join("chat.db");
    std::fs::copy(&target, &path).unwrap();
    let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(check, "ok");
    c.close().await.unwrap();
    let mut app = spawn(Opts::new(backend).env("SQLITE_PATH", &path.display().to_string())).await;
    let admin = app.admin().await;
    let acked = acked.lock().unwrap().clone();
    let before: Vec<_> = acked.iter().filter(|(_, _, b)| *b).collect();
    assert!(before.len() >= 60);
    let mut present = std::collections::HashSet::new();
    for tid in acked
        .iter()
        .map(|(t, _, _)| t.clone())
        .collect::<std::collections::HashSet<_>>()
    {
        let mut after = 0;
        loop {
            let page = admin
                .messages(&tid, &format!("?limit=200&after={after}"))
                .await;
            if page.is_empty() {
                break;
            }
            after = page.last().unwrap()["id"].as_i64().unwrap();
            for m in page {
                present.insert(m["content_text"].as_str().unwrap().to_owned());
            }
        }
    }
    let missing: Vec<_> = before
        .iter()
        .filter(|(_, t, _)| !present.contains(t))
        .collect();
    assert!(
        missing.is_empty(),
        "acknowledged before the backup, missing: {missing:?}"
    );
    app.finish().await;
}

#[test]
fn check_config_prints_the_retention_policy() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db").display().to_string();
    for (value, want) in [
        ("30", "RETENTION_DAYS=30 (closed threads erased 30 days"),
        ("0", "RETENTION_DAYS=off"),
    ] {
        let out = binary::command(&[("SQLITE_PATH", db.as_str()), ("RETENTION_DAYS", value)])
            .arg("check-config")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && text.contains(want), "{text}");
    }
    let out = binary::command(&[("SQLITE_PATH", db.as_str()), ("RETENTION_DAYS", "-3")])
        .arg("check-config")
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("RETENTION_DAYS"));
}
