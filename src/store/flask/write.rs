//! Writes converted Flask rows into sohbet's tables, inside the caller's
//! transaction, so that running it twice adds nothing:
//! - a thread is inserted only when its id is new (`ON CONFLICT (id) DO
//!   NOTHING`); a new thread's read mark is its last imported message (the
//!   admin saw these conversations in Flask Chat);
//! - a message carries `client_id = flask:<old id>` and the unique
//!   `(thread_id, client_id)` index drops a second copy;
//! - a Telegram link is unique by `(tg_chat_id, tg_message_id)`.
//!
//! Message ids are given explicitly, after the largest existing one, in the
//! order of [`Converted::messages`] (time, then old row order), while the
//! `messages` table is locked against other writers (SQLite: the caller's
//! `BEGIN IMMEDIATE`; Postgres: `LOCK TABLE … SHARE ROW EXCLUSIVE`); the
//! Postgres id sequence is moved past them afterwards.

use std::collections::HashMap;

use sqlx::{PgConnection, SqliteConnection};

use super::convert::{Converted, client_id_of};

/// A connection inside a transaction, on either backend.
pub enum Tx<'a> {
    /// SQLite.
    Sqlite(&'a mut SqliteConnection),
    /// Postgres.
    Postgres(&'a mut PgConnection),
}

/// Runs `$body` with `$c` bound to the connection of either backend.
macro_rules! on_tx {
    ($tx:expr, $c:ident => $body:expr) => {
        match $tx {
            Tx::Sqlite($c) => $body,
            Tx::Postgres($c) => $body,
        }
    };
}

/// How many rows were added and how many were there already.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Threads inserted.
    pub threads: u64,
    /// Messages inserted.
    pub messages: u64,
    /// Telegram links inserted.
    pub links: u64,
    /// Rows (of the three tables) that an earlier run had already stored.
    pub already_there: u64,
}

const THREAD_SQL: &str = "INSERT INTO threads \
    (id, display_name, created_at, last_activity_at, status, admin_last_read_message_id) \
    VALUES ($1, $2, $3, $4, 'active', $5) ON CONFLICT (id) DO NOTHING";
const MESSAGE_SQL: &str = "INSERT INTO messages \
    (id, thread_id, sender, type, content_text, file_url, client_id, created_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
    ON CONFLICT (thread_id, client_id) WHERE client_id IS NOT NULL DO NOTHING";
const LINK_SQL: &str = "INSERT INTO telegram_links (thread_id, message_id, tg_chat_id, tg_message_id) \
    VALUES ($1, NULL, $2, $3) ON CONFLICT (tg_chat_id, tg_message_id) DO NOTHING";

/// Inserts `rows`; see the module doc.
///
/// # Errors
/// Database errors (the caller's transaction is then rolled back).
#[tracing::instrument(skip_all, fields(threads = rows.threads.len(), messages = rows.messages.len()))]
pub async fn insert(tx: &mut Tx<'_>, rows: &Converted) -> Result<Counts, sqlx::Error> {
    if let Tx::Postgres(c) = tx {
        sqlx::query("LOCK TABLE messages IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut **c)
            .await?;
    }
    let max: Option<i64> = on_tx!(tx, c => sqlx::query_scalar("SELECT MAX(id) FROM messages").fetch_one(&mut **c).await?);
    let first_id = max.unwrap_or(0) + 1;
    let mut last_of_thread: HashMap<&str, i64> = HashMap::new();
    for (i, m) in rows.messages.iter().enumerate() {
        last_of_thread.insert(&m.thread_id, first_id + i as i64);
    }
    let mut counts = Counts::default();
    for t in &rows.threads {
        let read_mark = last_of_thread.get(t.id.as_str()).copied().unwrap_or(0);
        let done = on_tx!(tx, c => sqlx::query(THREAD_SQL)
            .bind(&t.id).bind(&t.display_name).bind(t.created_at).bind(t.last_activity_at).bind(read_mark)
            .execute(&mut **c).await?.rows_affected());
        counts.threads += done;
        counts.already_there += 1 - done.min(1);
    }
    for (i, m) in rows.messages.iter().enumerate() {
        let done = on_tx!(tx, c => sqlx::query(MESSAGE_SQL)
            .bind(first_id + i as i64).bind(&m.thread_id).bind(m.sender).bind(m.kind)
            .bind(&m.text).bind(&m.file_url).bind(client_id_of(&m.flask_id)).bind(m.created_at)
            .execute(&mut **c).await?.rows_affected());
        counts.messages += done;
        counts.already_there += 1 - done.min(1);
    }
    for l in &rows.links {
        let done = on_tx!(tx, c => sqlx::query(LINK_SQL)
            .bind(&l.thread_id).bind(&l.tg_chat_id).bind(l.tg_message_id)
            .execute(&mut **c).await?.rows_affected());
        counts.links += done;
        counts.already_there += 1 - done.min(1);
    }
    if let Tx::Postgres(c) = tx
        && counts.messages > 0
    {
        sqlx::query(
            "SELECT setval(pg_get_serial_sequence('messages', 'id'), (SELECT MAX(id) FROM messages))",
        )
        .execute(&mut **c)
        .await?;
    }
    Ok(counts)
}
