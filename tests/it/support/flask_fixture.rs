//! A Flask Chat v2.x database made by the tests themselves: the schema of
//! seed `flask-chat-v2.1-system-documentation.md` § "database.py" (on
//! SQLite exactly as `init_db` writes it; on Postgres its TIMESTAMP/SERIAL
//! equivalent) and realistic rows: Turkish text and emoji, image and audio
//! rows, a Cloudinary URL, Telegram links, three threads, naive UTC+3
//! times across midnight and month ends, rows inserted out of time order,
//! and rows that break a rule (unknown sender and type, empty text, a
//! missing file, an orphan message and link).
#![allow(dead_code)]

use std::path::Path;

use sqlx::Connection;

pub const T1: &str = "5f0c1a2e-7b1d-4c3a-9e8f-0a1b2c3d4e5f";
pub const T2: &str = "6a1d2b3f-8c2e-4d4b-8f90-1b2c3d4e5f60";
pub const T3: &str = "7b2e3c40-9d3f-4e5c-9a01-2c3d4e5f6071";
/// The image and audio files of T1 (present under `UPLOAD_DIR`).
pub const IMAGE: &str = "0b0c6f4e-5a7e-4d2b-9f3e-2f1a8c9d7e6b.jpg";
pub const AUDIO: &str = "1c1d7a5f-6b8f-4e3c-8a4f-3a2b9d0e8f7c.webm";
/// An image of T3 that is not on disk.
pub const MISSING: &str = "2d2e8b60-7c90-4f4d-9b50-4b3c0e1f9a8d.png";
pub const CLOUDINARY: &str = "https://res.cloudinary.com/demo/image/upload/v1/flask/kargo.jpg";
/// The Telegram admin chat of the links (the double's `ADMIN_CHAT`).
pub const TG_CHAT: &str = "4242";

/// A message: (id, thread, sender, type, text, file_path, created_at local UTC+3).
pub type MessageRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
);

/// Messages in row order.
pub const MESSAGES: &[MessageRow] = &[
    (
        "m1",
        T1,
        "visitor",
        "text",
        Some("Merhaba! Siparişim nerede? 📦🙏"),
        None,
        "2024-10-31 23:55:00",
    ),
    (
        "m2",
        T1,
        "admin",
        "text",
        Some("İyi akşamlar, kargoya verildi 🚚 — yarın elinizde."),
        None,
        "2024-11-01 00:05:00",
    ),
    // m4 and m3 share a time; m4's id sorts first, its row comes second.
    (
        "m4",
        T1,
        "visitor",
        "image",
        None,
        Some("/uploads/images/0b0c6f4e-5a7e-4d2b-9f3e-2f1a8c9d7e6b.jpg"),
        "2024-11-01 00:10:00",
    ),
    (
        "m3",
        T1,
        "visitor",
        "audio",
        Some("sesli not 🎤"),
        Some("uploads/audio/1c1d7a5f-6b8f-4e3c-8a4f-3a2b9d0e8f7c.webm"),
        "2024-11-01 00:10:00",
    ),
    (
        "m5",
        T1,
        "admin",
        "text",
        Some("Teşekkürler, görüşmek üzere 👋"),
        None,
        "2024-11-01 00:20:00",
    ),
    (
        "n1",
        T2,
        "visitor",
        "text",
        Some("Hello from the last day of November"),
        None,
        "2024-11-30 23:59:59",
    ),
    (
        "n2",
        T2,
        "admin",
        "image",
        None,
        Some(CLOUDINARY),
        "2024-12-01 00:00:30",
    ),
    (
        "n3",
        T2,
        "visitor",
        "text",
        Some("Ğ ü ş ı ö ç 😀 <b>not bold</b>"),
        None,
        "2024-12-01 02:30:00",
    ),
    (
        "p1",
        T3,
        "visitor",
        "text",
        Some("ok"),
        None,
        "2024-11-15 10:00:00",
    ),
    (
        "p2",
        T3,
        "bot",
        "text",
        Some("automatic greeting"),
        None,
        "2024-11-15 10:01:00",
    ),
    (
        "p3",
        T3,
        "visitor",
        "video",
        Some("clip"),
        Some("/uploads/video/x.mp4"),
        "2024-11-15 10:02:00",
    ),
    (
        "p4",
        T3,
        "visitor",
        "text",
        Some("   "),
        None,
        "2024-11-15 10:03:00",
    ),
    (
        "p5",
        T3,
        "visitor",
        "image",
        None,
        Some("/uploads/images/2d2e8b60-7c90-4f4d-9b50-4b3c0e1f9a8d.png"),
        "2024-11-15 10:04:00",
    ),
    (
        "o1",
        "ghost-thread",
        "visitor",
        "text",
        Some("orphan"),
        None,
        "2024-11-15 10:05:00",
    ),
    // Stored last, but the earliest of T1: it gets T1's first id.
    (
        "m0",
        T1,
        "visitor",
        "text",
        Some("İlk mesaj"),
        None,
        "2024-10-31 23:51:00",
    ),
];

/// Threads: (id, display_name, created_at, last_activity_at), local UTC+3.
pub const THREADS: &[(&str, &str, &str, &str)] = &[
    (
        T1,
        "Ziyaretçi 3F2A",
        "2024-10-31 23:50:00",
        "2024-11-01 00:20:00",
    ),
    (
        T2,
        "Visitor 9C1B",
        "2024-11-30 23:59:59",
        "2024-12-01 02:30:00",
    ),
    (
        T3,
        "Ziyaretçi 77AA",
        "2024-11-15 10:00:00",
        "2024-11-15 10:05:00",
    ),
];

/// Links: (thread, tg_chat_id, tg_message_id).
pub const LINKS: &[(&str, &str, i64)] = &[
    (T1, TG_CHAT, 501),
    (T2, TG_CHAT, 502),
    ("ghost-thread", TG_CHAT, 503),
];

/// The rows the conversion must skip, as `table id`.
pub const SKIPPED: &[&str] = &[
    "messages p2",
    "messages p3",
    "messages p4",
    "messages p5",
    "messages o1",
    "telegram_links 3",
];

/// Valid messages per thread, in the order sohbet must show them.
pub fn expected_texts(thread: &str) -> Vec<&'static str> {
    let order: &[&str] = match thread {
        T1 => &["m0", "m1", "m2", "m4", "m3", "m5"],
        T2 => &["n1", "n2", "n3"],
        _ => &["p1"],
    };
    order
        .iter()
        .map(|id| {
            MESSAGES
                .iter()
                .find(|m| m.0 == *id)
                .unwrap()
                .4
                .unwrap_or("")
        })
        .collect()
}

const SQLITE_SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS threads (
        id TEXT PRIMARY KEY,
        display_name TEXT NOT NULL,
        created_at TIMESTAMP DEFAULT (datetime('now', '+3 hours')),
        last_activity_at TIMESTAMP DEFAULT (datetime('now', '+3 hours'))
    );
    CREATE TABLE IF NOT EXISTS messages (
        id TEXT PRIMARY KEY,
        thread_id TEXT NOT NULL,
        sender TEXT NOT NULL,
        type TEXT NOT NULL,
        content_text TEXT,
        file_path TEXT,
        created_at TIMESTAMP DEFAULT (datetime('now', '+3 hours')),
        FOREIGN KEY (thread_id) REFERENCES threads(id)
    );
    CREATE TABLE IF NOT EXISTS telegram_links (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        thread_id TEXT NOT NULL,
        tg_chat_id TEXT NOT NULL,
        tg_message_id INTEGER NOT NULL,
        FOREIGN KEY (thread_id) REFERENCES threads(id)
    );
    CREATE INDEX IF NOT EXISTS idx_messages_thread ON messages (thread_id);";

const PG_SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS threads (
        id TEXT PRIMARY KEY,
        display_name TEXT NOT NULL,
        created_at TIMESTAMP DEFAULT (NOW() + INTERVAL '3 hours'),
        last_activity_at TIMESTAMP DEFAULT (NOW() + INTERVAL '3 hours')
    );
    CREATE TABLE IF NOT EXISTS messages (
        id TEXT PRIMARY KEY,
        thread_id TEXT NOT NULL,
        sender TEXT NOT NULL,
        type TEXT NOT NULL,
        content_text TEXT,
        file_path TEXT,
        created_at TIMESTAMP DEFAULT (NOW() + INTERVAL '3 hours')
    );
    CREATE TABLE IF NOT EXISTS telegram_links (
        id SERIAL PRIMARY KEY,
        thread_id TEXT NOT NULL,
        tg_chat_id TEXT NOT NULL,
        tg_message_id INTEGER NOT NULL,
        FOREIGN KEY (thread_id) REFERENCES threads(id)
    );
    CREATE INDEX IF NOT EXISTS idx_messages_thread ON messages (thread_id);";

/// Writes the fixture's files into `upload_dir` (the missing one excepted).
pub fn write_uploads(upload_dir: &Path) {
    std::fs::create_dir_all(upload_dir.join("images")).unwrap();
    std::fs::create_dir_all(upload_dir.join("audio")).unwrap();
    std::fs::write(
        upload_dir.join("images").join(IMAGE),
        b"\xFF\xD8\xFF\xE0 jpeg",
    )
    .unwrap();
    std::fs::write(
        upload_dir.join("audio").join(AUDIO),
        b"\x1A\x45\xDF\xA3 webm",
    )
    .unwrap();
}

fn lit(v: Option<&str>) -> String {
    v.map_or("NULL".into(), |v| format!("'{}'", v.replace('\'', "''")))
}

/// The schema and rows as one SQL text: plain literals, so that the same
/// text fills SQLite (text times) and Postgres (literals cast to TIMESTAMP).
pub fn fixture_sql(schema: &str) -> String {
    let mut sql = String::from(schema);
    for (id, name, created, last) in THREADS {
        sql.push_str(&format!(
            "INSERT INTO threads (id, display_name, created_at, last_activity_at) VALUES ({}, {}, {}, {});\n",
            lit(Some(id)), lit(Some(name)), lit(Some(created)), lit(Some(last))
        ));
    }
    for (id, thread, sender, kind, text, file, at) in MESSAGES {
        if *thread == "ghost-thread" {
            continue;
        }
        sql.push_str(&format!(
            "INSERT INTO messages (id, thread_id, sender, type, content_text, file_path, created_at) \
             VALUES ({}, {}, {}, {}, {}, {}, {});\n",
            lit(Some(id)), lit(Some(thread)), lit(Some(sender)), lit(Some(kind)), lit(*text), lit(*file), lit(Some(at))
        ));
    }
    sql
}

/// The rows that a foreign key would refuse (an orphan message and link),
/// written with the foreign keys off (SQLite) or dropped (Postgres), as an
/// old database without enforced keys may hold them.
fn orphans_sql() -> String {
    let mut sql = String::new();
    for (id, thread, sender, kind, text, file, at) in MESSAGES {
        if *thread != "ghost-thread" {
            continue;
        }
        sql.push_str(&format!(
            "INSERT INTO messages (id, thread_id, sender, type, content_text, file_path, created_at) \
             VALUES ({}, {}, {}, {}, {}, {}, {});\n",
            lit(Some(id)), lit(Some(thread)), lit(Some(sender)), lit(Some(kind)), lit(*text), lit(*file), lit(Some(at))
        ));
    }
    for (thread, chat, msg) in LINKS {
        sql.push_str(&format!(
            "INSERT INTO telegram_links (thread_id, tg_chat_id, tg_message_id) VALUES ({}, {}, {msg});\n",
            lit(Some(thread)), lit(Some(chat))
        ));
    }
    sql
}

/// Creates the Flask database: a SQLite file at `target`, or the tables in
/// the Postgres database at a `postgres://` `target`.
pub async fn create(target: &str) {
    if target.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(target).await.unwrap();
        let sql = format!(
            "{}ALTER TABLE telegram_links DROP CONSTRAINT telegram_links_thread_id_fkey;\n{}",
            fixture_sql(PG_SCHEMA),
            orphans_sql()
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
    } else {
        // Python's sqlite3 leaves foreign keys off, as here: the orphans go in.
        let opts = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(target)
            .create_if_missing(true)
            .foreign_keys(false);
        let mut c = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
        let sql = format!("{}{}", fixture_sql(SQLITE_SCHEMA), orphans_sql());
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
    }
}
