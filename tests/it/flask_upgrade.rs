//! Issue 11: sohbet started on a Flask Chat v2.x database upgrades it in
//! place and shows every old conversation; an unknown database stops it
//! with a clear error and is left alone. On SQLite and on Postgres.

use crate::flask_fixture;

use std::{
    collections::HashMap,
    path::PathBuf,
    time::{Duration, Instant},
};

use crate::common::{
    Backend, Browser, KeptDb, Opts, relaxed_limits, spawn,
    telegram::{ADMIN_CHAT, Incoming, TelegramDouble},
};
use flask_fixture::{AUDIO, CLOUDINARY, IMAGE, T1, T2, T3, expected_texts};
use serde_json::{Value, json};
use sohbet::{App, auth::otp_delivery::OtpDelivery, config::Config};
use sqlx::Connection;

/// Runs `$body` with `$p` bound to the backend's pool (the crate's own
/// `with_db!` is private to its store).
macro_rules! with_db {
    ($db:expr, $p:ident => $body:expr) => {
        match $db {
            sohbet::store::Db::Sqlite($p) => $body,
            sohbet::store::Db::Postgres($p) => $body,
        }
    };
}

/// The database's `SQLITE_PATH` / `DATABASE_URL` value.
fn target(kept: &KeptDb) -> String {
    kept.var().1
}

fn backups(kept: &KeptDb) -> Vec<PathBuf> {
    let db = PathBuf::from(target(kept));
    let dir = db.parent().unwrap();
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("chat.db.flask-backup-")
        })
        .collect();
    found.sort();
    found
}

async fn threads(admin: &Browser) -> Vec<Value> {
    let (s, b) = admin.get("/api/threads").await;
    assert_eq!(s, 200, "{b}");
    b["threads"].as_array().unwrap().clone()
}

async fn pg_count(url: &str, table: &str) -> i64 {
    let mut c = sqlx::PgConnection::connect(url).await.unwrap();
    let n = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
    n
}

async fn a_flask_database_is_upgraded_in_place(backend: Backend) {
    let kept = KeptDb::new(backend).await;
    let uploads = tempfile::tempdir().unwrap();
    flask_fixture::write_uploads(uploads.path());
    flask_fixture::create(&target(&kept)).await;
    let original = (backend == Backend::Sqlite).then(|| std::fs::read(target(&kept)).unwrap());

    let tg = TelegramDouble::start().await;
    let mut env: Vec<(String, String)> = tg.env();
    env.push(("UPLOAD_DIR".into(), uploads.path().display().to_string()));
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut app = spawn(Opts::new(backend).envs(&env_refs).db(&kept)).await;
    let admin = app.admin().await;

    // The panel lists the three threads by last activity, times in UTC.
    let list = threads(&admin).await;
    let summary: Vec<(String, String, i64, i64, String, String)> = list
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_owned(),
                t["display_name"].as_str().unwrap().to_owned(),
                t["message_count"].as_i64().unwrap(),
                t["unread_count"].as_i64().unwrap(),
                t["created_at"].as_str().unwrap().to_owned(),
                t["last_activity"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let row = |id: &str, name: &str, n: i64, created: &str, last: &str| {
        (
            id.to_owned(),
            name.to_owned(),
            n,
            0,
            created.to_owned(),
            last.to_owned(),
        )
    };
    assert_eq!(
        summary,
        vec![
            row(
                T2,
                "Visitor 9C1B",
                3,
                "2024-11-30T20:59:59.000Z",
                "2024-11-30T23:30:00.000Z"
            ),
            row(
                T3,
                "Ziyaretçi 77AA",
                1,
                "2024-11-15T07:00:00.000Z",
                "2024-11-15T07:05:00.000Z"
            ),
            row(
                T1,
                "Ziyaretçi 3F2A",
                6,
                "2024-10-31T20:50:00.000Z",
                "2024-10-31T21:20:00.000Z"
            ),
        ]
    );

    // Messages: ids in the order of time (ties by the old row order), UTC, media URLs.
    let mut all_ids = Vec::new();
    for t in [T1, T2, T3] {
        let msgs = admin.messages(t, "?limit=200").await;
        let texts: Vec<&str> = msgs
            .iter()
            .map(|m| m["content_text"].as_str().unwrap())
            .collect();
        assert_eq!(texts, expected_texts(t), "{t}");
        let ids: Vec<i64> = msgs.iter().map(|m| m["id"].as_i64().unwrap()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        all_ids.push(ids);
    }
    let t1 = admin.messages(T1, "?limit=200").await;
    let times: Vec<&str> = t1
        .iter()
        .map(|m| m["created_at"].as_str().unwrap())
        .collect();
    assert_eq!(
        times,
        [
            "2024-10-31T20:51:00.000Z",
            "2024-10-31T20:55:00.000Z",
            "2024-10-31T21:05:00.000Z",
            "2024-10-31T21:10:00.000Z",
            "2024-10-31T21:10:00.000Z",
            "2024-10-31T21:20:00.000Z",
        ]
    );
    let kinds: Vec<(&str, &str, Value)> = t1
        .iter()
        .map(|m| {
            (
                m["sender_type"].as_str().unwrap(),
                m["content_type"].as_str().unwrap(),
                m["file_url"].clone(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("visitor", "text", Value::Null),
            ("visitor", "text", Value::Null),
            ("admin", "text", Value::Null),
            (
                "visitor",
                "image",
                json!(format!("/uploads/images/{IMAGE}"))
            ),
            ("visitor", "audio", json!(format!("/uploads/audio/{AUDIO}"))),
            ("admin", "text", Value::Null),
        ]
    );
    let t2 = admin.messages(T2, "?limit=200").await;
    assert_eq!(t2[1]["file_url"], json!(CLOUDINARY));
    assert_eq!(t2[2]["created_at"], json!("2024-11-30T23:30:00.000Z"));
    // Thread by thread, then by time: T1's ids come first (its messages are older).
    assert!(all_ids[0].last() < all_ids[2].first() && all_ids[2].last() < all_ids[1].first());
    // The old local files are served.
    let r = admin
        .client
        .get(format!("{}/uploads/images/{IMAGE}", admin.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // An admin's Telegram reply to a message the Flask app forwarded reaches its thread.
    let reply = "Kargonuz yarın geliyor 🚚";
    tg.push(Incoming::text(ADMIN_CHAT, reply).reply_to(501));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let msgs = admin.messages(T1, "?limit=200").await;
        if msgs.iter().any(|m| m["content_text"] == json!(reply)) {
            let last = msgs.last().unwrap();
            assert_eq!(last["sender_type"], json!("admin"));
            assert_eq!(last["content_text"], json!(reply));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the reply never reached T1: {msgs:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for t in [T2, T3] {
        let msgs = admin.messages(t, "?limit=200").await;
        assert!(!msgs.iter().any(|m| m["content_text"] == json!(reply)));
    }

    // The backup: SQLite, a copy next to the file, byte for byte the old
    // database; Postgres, the old tables renamed flask_* with every row.
    match backend {
        Backend::Sqlite => {
            let found = backups(&kept);
            assert_eq!(found.len(), 1, "{found:?}");
            assert!(std::fs::read(&found[0]).unwrap() == original.clone().unwrap());
        }
        Backend::Postgres => {
            let url = target(&kept);
            assert_eq!(pg_count(&url, "flask_threads").await, 3);
            assert_eq!(pg_count(&url, "flask_messages").await, 15);
            assert_eq!(pg_count(&url, "flask_telegram_links").await, 3);
        }
    }

    // A second start changes nothing.
    let before_threads = threads(&admin).await;
    let mut before_msgs = HashMap::new();
    for t in [T1, T2, T3] {
        before_msgs.insert(t, admin.messages(t, "?limit=200").await);
    }
    app.finish().await;
    let mut app = spawn(Opts::new(backend).envs(&env_refs).db(&kept)).await;
    let admin = app.admin().await;
    assert_eq!(threads(&admin).await, before_threads);
    for t in [T1, T2, T3] {
        assert_eq!(admin.messages(t, "?limit=200").await, before_msgs[t], "{t}");
    }
    if backend == Backend::Sqlite {
        assert_eq!(backups(&kept).len(), 1);
    }
    app.finish().await;
}

/// Builds the app on `var` = `value` and returns the start-up error.
async fn start_error(var: &str, value: &str, dir: &std::path::Path) -> String {
    let mut vars: HashMap<String, String> = relaxed_limits()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    vars.insert(
        "UPLOAD_DIR".into(),
        dir.join("uploads").display().to_string(),
    );
    vars.insert(var.into(), value.into());
    let config = Config::from_lookup(|k| vars.get(k).cloned()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    match App::build_with(config, listener, OtpDelivery::Log).await {
        Ok(_) => panic!("sohbet started on an unknown database"),
        Err(e) => e.to_string(),
    }
}

const UNKNOWN_SCHEMA: &str = "CREATE TABLE threads (id TEXT PRIMARY KEY, title TEXT); \
     CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT); \
     INSERT INTO threads VALUES ('a', 'first'); INSERT INTO users VALUES (1, 'x@example.com');";

async fn an_unknown_database_stops_start_up_and_is_left_alone(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let err = match backend {
        Backend::Sqlite => {
            let path = dir.path().join("chat.db");
            let opts = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true);
            let mut c = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
            sqlx::raw_sql(UNKNOWN_SCHEMA).execute(&mut c).await.unwrap();
            c.close().await.unwrap();
            let before = std::fs::read(&path).unwrap();
            let err = start_error("SQLITE_PATH", &path.display().to_string(), dir.path()).await;
            assert!(std::fs::read(&path).unwrap() == before, "the file changed");
            let names: Vec<String> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            assert_eq!(
                names.iter().filter(|n| n.contains("backup")).count(),
                0,
                "{names:?}"
            );
            err
        }
        Backend::Postgres => {
            // Dropped with the guard (also on a panic).
            let kept = KeptDb::new(Backend::Postgres).await;
            let url = kept.var().1;
            let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::raw_sql(UNKNOWN_SCHEMA).execute(&mut c).await.unwrap();
            let err = start_error("DATABASE_URL", &url, dir.path()).await;
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = current_schema() ORDER BY 1",
            )
            .fetch_all(&mut c)
            .await
            .unwrap();
            assert_eq!(tables, ["threads", "users"]);
            let title: String = sqlx::query_scalar("SELECT title FROM threads WHERE id = 'a'")
                .fetch_one(&mut c)
                .await
                .unwrap();
            assert_eq!(title, "first");
            c.close().await.unwrap();
            err
        }
    };
    assert!(err.contains("threads, users"), "{err}");
    assert!(err.contains("neither sohbet's nor Flask Chat"), "{err}");
    assert!(err.contains("nothing was changed"), "{err}");
}

/// More rows than one multi-row INSERT holds, stored newest first: the
/// import orders them by time across chunks, and a second import adds nothing.
async fn a_large_import_keeps_time_order_across_chunks(backend: Backend) {
    const N: usize = 1203;
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("flask.db");
    let mut sql = String::from(
        "CREATE TABLE threads (id TEXT PRIMARY KEY, display_name TEXT NOT NULL, \
         created_at TIMESTAMP, last_activity_at TIMESTAMP);
         CREATE TABLE messages (id TEXT PRIMARY KEY, thread_id TEXT NOT NULL, sender TEXT NOT NULL, \
         type TEXT NOT NULL, content_text TEXT, file_path TEXT, created_at TIMESTAMP);
         INSERT INTO threads VALUES ('big', 'Ziyaretçi BIG', '2024-01-01 00:00:00', '2024-01-02 00:00:00');\n",
    );
    for i in (0..N).rev() {
        let at = chrono::NaiveDate::from_ymd_opt(2024, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            + chrono::TimeDelta::seconds(i as i64 * 61);
        sql.push_str(&format!(
            "INSERT INTO messages VALUES ('id-{i}', 'big', 'visitor', 'text', 'mesaj {i} ✓', NULL, '{}');\n",
            at.format("%Y-%m-%d %H:%M:%S")
        ));
    }
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&source)
        .create_if_missing(true);
    let mut c = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();

    let kept = KeptDb::new(backend).await;
    let database = match backend {
        Backend::Sqlite => sohbet::config::DatabaseConfig::Sqlite(target(&kept).into()),
        Backend::Postgres => sohbet::config::DatabaseConfig::Postgres(target(&kept)),
    };
    let (db, upgraded) = sohbet::flask_import::open(&database, dir.path())
        .await
        .unwrap();
    assert!(upgraded.is_none());
    let src = sohbet::flask_import::Source::Sqlite(source.clone());
    let first = sohbet::flask_import::import(&db, &src, dir.path())
        .await
        .unwrap();
    assert_eq!((first.counts.threads, first.counts.messages), (1, N as u64));
    assert!(first.skipped.is_empty());
    let second = sohbet::flask_import::import(&db, &src, dir.path())
        .await
        .unwrap();
    assert_eq!(
        (second.counts.messages, second.counts.already_there),
        (0, N as u64 + 1)
    );
    let rows: Vec<(i64, Option<String>)> = with_db!(&db, p => sqlx::query_as(
        "SELECT id, client_id FROM messages ORDER BY id"
    ).fetch_all(p).await.unwrap());
    let want: Vec<(i64, Option<String>)> = (0..N)
        .map(|i| (i as i64 + 1, Some(format!("flask:id-{i}"))))
        .collect();
    assert_eq!(rows, want);
    // New messages continue after the imported ids.
    let next: i64 = with_db!(&db, p => sqlx::query_scalar(
        "INSERT INTO messages (thread_id, sender, type, content_text, created_at) \
         VALUES ('big', 'admin', 'text', 'yeni', '2025-01-01T00:00:00Z') RETURNING id"
    ).fetch_one(p).await.unwrap());
    assert_eq!(next, N as i64 + 1);
    db.close().await;
}

/// The story: today's sohbet was started once on the Flask
/// database, its first migration failed there and left an empty
/// `_sqlx_migrations` behind. The upgrade still recognises the database.
async fn a_flask_database_left_with_a_failed_first_migration_is_upgraded(backend: Backend) {
    let kept = KeptDb::new(backend).await;
    let uploads = tempfile::tempdir().unwrap();
    flask_fixture::write_uploads(uploads.path());
    flask_fixture::create(&target(&kept)).await;
    let database = match backend {
        Backend::Sqlite => {
            let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(target(&kept));
            let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
            let failed = sqlx::migrate!("migrations/sqlite").run(&pool).await;
            assert!(failed.is_err(), "the old start must fail: {failed:?}");
            pool.close().await;
            sohbet::config::DatabaseConfig::Sqlite(target(&kept).into())
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&target(&kept)).await.unwrap();
            let failed = sqlx::migrate!("migrations/postgres").run(&pool).await;
            assert!(failed.is_err(), "the old start must fail: {failed:?}");
            pool.close().await;
            sohbet::config::DatabaseConfig::Postgres(target(&kept))
        }
    };
    let (db, report) = sohbet::flask_import::open(&database, uploads.path())
        .await
        .unwrap();
    let report = report.expect("an upgrade");
    let c = report.counts;
    assert_eq!((c.threads, c.messages, c.links), (3, 10, 2));
    assert_eq!(report.skipped.len(), flask_fixture::SKIPPED.len());
    let applied: i64 = with_db!(&db, p => sqlx::query_scalar(
        "SELECT COUNT(*) FROM _sqlx_migrations WHERE success"
    ).fetch_one(p).await.unwrap());
    assert!(applied >= 3, "{applied}");
    db.close().await;
}

on_both_backends!(
    a_flask_database_left_with_a_failed_first_migration_is_upgraded,
    a_flask_database_is_upgraded_in_place,
    an_unknown_database_stops_start_up_and_is_left_alone,
    a_large_import_keeps_time_order_across_chunks,
);
