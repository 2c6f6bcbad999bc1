//! Writes converted Flask rows into sohbet's tables, inside the caller's
//! transaction, so that running it twice adds nothing:
//! - a thread is inserted only when its id is new (`ON CONFLICT (id) DO
//!   NOTHING`); a new thread's read mark is its last imported message (the
//!   admin saw these conversations in Flask Chat);
//! - a message carries `client_id = flask:<old id>` and the unique
//!   `(thread_id, client_id)` index drops a second copy;
//! - a Telegram link without a message is unique by `(tg_chat_id, tg_message_id)`.
//!
//! Rows go in multi-row INSERTs of at most [`CHUNK`] rows. Message ids are
//! given explicitly, after the largest existing one, in the
//! order of [`Converted::messages`] (time, then old row order), while the
//! `messages` table is locked against other writers (SQLite: the caller's
//! `BEGIN IMMEDIATE`; Postgres: `LOCK TABLE … SHARE ROW EXCLUSIVE`); the
//! Postgres id sequence is moved past them afterwards.

use std::collections::{HashMap, HashSet};

use sqlx::{PgConnection, SqliteConnection};

use super::convert::{Converted, NewMessage, client_id_of};
use crate::domain::ThreadStatus;

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

/// Rows per multi-row INSERT (8 parameters a message row: far below
/// SQLite's and Postgres's parameter limits).
const CHUNK: usize = 500;

/// `rows` inserted of `offered`: adds to `added` and to `already_there`.
fn tally(added: &mut u64, already_there: &mut u64, rows: u64, offered: usize) {
    *added += rows;
    *already_there += (offered as u64).saturating_sub(rows);
}

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
    // Messages an earlier run stored get no id (SQLite would move its
    // AUTOINCREMENT counter even for a row dropped by ON CONFLICT).
    let stored: Vec<(String, String)> = on_tx!(tx, c => sqlx::query_as(
        "SELECT thread_id, client_id FROM messages WHERE client_id LIKE 'flask:%'"
    ).fetch_all(&mut **c).await?);
    let stored: HashSet<(String, String)> = stored.into_iter().collect();
    let fresh: Vec<&NewMessage> = rows
        .messages
        .iter()
        .filter(|m| !stored.contains(&(m.thread_id.clone(), client_id_of(&m.flask_id))))
        .collect();
    let mut last_of_thread: HashMap<&str, i64> = HashMap::new();
    for (i, m) in fresh.iter().enumerate() {
        last_of_thread.insert(&m.thread_id, first_id + i as i64);
    }
    let mut counts = Counts {
        already_there: (rows.messages.len() - fresh.len()) as u64,
        ..Counts::default()
    };
    let Counts {
        threads,
        messages,
        links,
        already_there,
    } = &mut counts;
    for chunk in rows.threads.chunks(CHUNK) {
        let done = on_tx!(tx, c => {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO threads (id, display_name, created_at, last_activity_at, status, \
                 admin_last_read_message_id) ",
            );
            q.push_values(chunk, |mut b, t| {
                let read_mark = last_of_thread.get(t.id.as_str()).copied().unwrap_or(0);
                b.push_bind(&t.id).push_bind(&t.display_name).push_bind(t.created_at)
                    .push_bind(t.last_activity_at).push_bind(ThreadStatus::Open).push_bind(read_mark);
            });
            q.push(" ON CONFLICT (id) DO NOTHING");
            q.build().execute(&mut **c).await?.rows_affected()
        });
        tally(threads, already_there, done, chunk.len());
    }
    for (n, chunk) in fresh.chunks(CHUNK).enumerate() {
        let base = first_id + (n * CHUNK) as i64;
        let done = on_tx!(tx, c => {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO messages (id, thread_id, sender, type, content_text, file_url, \
                 client_id, created_at) ",
            );
            q.push_values(chunk.iter().enumerate(), |mut b, (i, m)| {
                b.push_bind(base + i as i64).push_bind(&m.thread_id).push_bind(m.sender)
                    .push_bind(m.kind).push_bind(&m.text).push_bind(&m.file_url)
                    .push_bind(client_id_of(&m.flask_id)).push_bind(m.created_at);
            });
            q.push(" ON CONFLICT (thread_id, client_id) WHERE client_id IS NOT NULL DO NOTHING");
            q.build().execute(&mut **c).await?.rows_affected()
        });
        tally(messages, already_there, done, chunk.len());
    }
    for chunk in rows.links.chunks(CHUNK) {
        let done = on_tx!(tx, c => {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO telegram_links (thread_id, tg_chat_id, tg_message_id) ",
            );
            q.push_values(chunk, |mut b, l| {
                b.push_bind(&l.thread_id).push_bind(&l.tg_chat_id).push_bind(l.tg_message_id);
            });
            // The unique index `telegram_links_by_tg` (migration 0021).
            q.push(" ON CONFLICT DO NOTHING");
            q.build().execute(&mut **c).await?.rows_affected()
        });
        tally(links, already_there, done, chunk.len());
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
