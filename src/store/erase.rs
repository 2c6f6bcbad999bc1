//! Erasing a thread (issue 27 items 3 and 4): every row that belongs to it,
//! in one transaction — its Telegram outbox rows, Telegram links and
//! buttons, events, messages (and with them the search index: SQLite's
//! FTS5 triggers, Postgres' expression indexes), visitor context and the
//! thread row itself (with its Telegram topic columns and its FTS row) —
//! plus, when asked, the audit entry that records it ([`super::audit`]),
//! which holds counts only. Also the look-ups that choose what to erase:
//! a visitor's threads by email, closed threads older than a time.
//!
//! Files are not this module's: it returns the media URLs the messages
//! carried so that the caller removes them after the commit.

use crate::domain::ThreadId;
use chrono::{DateTime, Utc};
use serde_json::json;

use super::with_db;
use super::{Db, StoreResult};
use crate::domain::{ActedBy, AuditAction};

/// What [`erase_thread`] removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErasedRows {
    /// Messages deleted (internal notes included).
    pub messages: u64,
    /// Distinct `file_url`s those messages carried (local `/uploads/…`
    /// or Cloudinary URLs), to be removed by the caller.
    pub media: Vec<String>,
    /// The thread's forum topic `(chat id, topic id)`, when it had one.
    pub topic: Option<(i64, i64)>,
    /// Telegram links, outbox rows, buttons, events, visitor context and
    /// thread rows deleted, in total.
    pub other_rows: u64,
}

/// One `DELETE` per table, in this order (children first), each with the
/// thread id as `$1`.
const DELETES: [&str; 8] = [
    "DELETE FROM telegram_outbox WHERE thread_id = $1",
    "DELETE FROM telegram_links WHERE thread_id = $1",
    "DELETE FROM telegram_buttons WHERE thread_id = $1",
    "DELETE FROM thread_events WHERE thread_id = $1",
    "DELETE FROM messages WHERE thread_id = $1",
    "DELETE FROM visitor_contexts WHERE thread_id = $1",
    "DELETE FROM threads WHERE id = $1",
    // Emails hold the messages and the address (issue 26).
    "DELETE FROM email_outbox WHERE thread_id = $1",
];

/// Deletes everything of thread `thread_id` in one transaction; with
/// `audit`, also records an [`AuditAction::Erase`] entry by it at `now`
/// (target the thread id, detail `{messages, media, rows, telegram_topic}`).
/// `None` when nothing was stored under that id (no thread, no context):
/// nothing is written then, not even the audit entry.
///
/// With `only_closed_before` (the retention job), the thread is erased only
/// if it is still closed with its last activity before that time, checked
/// inside the transaction after the thread is locked (SQLite: the write
/// lock; Postgres: `FOR UPDATE` on its row, which a new message's touch of
/// the thread waits for): a visitor message that reopened it after the job
/// chose it is never erased with it. `None` when it no longer qualifies.
///
/// # Errors
/// Database errors (the transaction is rolled back: nothing is deleted).
#[tracing::instrument(skip(db, audit))]
pub async fn erase_thread(
    db: &Db,
    thread_id: &ThreadId,
    audit: Option<&ActedBy>,
    now: DateTime<Utc>,
    only_closed_before: Option<DateTime<Utc>>,
) -> StoreResult<Option<ErasedRows>> {
    let still_due = match db {
        Db::Sqlite(_) => {
            "SELECT id FROM threads WHERE id = $1 AND status = 'closed' AND last_activity_at < $2"
        }
        Db::Postgres(_) => {
            "SELECT id FROM threads WHERE id = $1 AND status = 'closed' AND last_activity_at < $2 \
             FOR UPDATE"
        }
    };
    const TOPIC: &str = "SELECT tg_topic_chat_id, tg_topic_id FROM threads WHERE id = $1";
    const MEDIA: &str = "SELECT DISTINCT file_url FROM messages \
         WHERE thread_id = $1 AND file_url IS NOT NULL AND file_url <> ''";
    // SQLite: take the write lock first (a deferred transaction that reads
    // and then writes fails at once with SQLITE_BUSY when another writer
    // committed meanwhile; an immediate one waits its busy timeout).
    let begin = match db {
        Db::Sqlite(_) => "BEGIN IMMEDIATE",
        Db::Postgres(_) => "BEGIN",
    };
    Ok(with_db!(db, p => {
        let mut tx = p.begin_with(begin).await?;
        if let Some(before) = only_closed_before {
            let due: Option<String> = sqlx::query_scalar(still_due)
                .bind(thread_id)
                .bind(before)
                .fetch_optional(&mut *tx)
                .await?;
            if due.is_none() {
                tx.rollback().await?;
                return Ok(None);
            }
        }
        let topic: Option<(Option<i64>, Option<i64>)> =
            sqlx::query_as(TOPIC).bind(thread_id).fetch_optional(&mut *tx).await?;
        let media: Vec<String> = sqlx::query_scalar(MEDIA).bind(thread_id).fetch_all(&mut *tx).await?;
        let mut out = ErasedRows {
            media,
            topic: topic.and_then(|(c, t)| c.zip(t)),
            ..ErasedRows::default()
        };
        for (i, sql) in DELETES.iter().enumerate() {
            let n = sqlx::query(*sql).bind(thread_id).execute(&mut *tx).await?.rows_affected();
            if i == 4 {
                out.messages = n;
            } else {
                out.other_rows += n;
            }
        }
        if out.messages == 0 && out.other_rows == 0 {
            tx.rollback().await?;
            return Ok(None);
        }
        if let Some(by) = audit {
            let detail = json!({
                "messages": out.messages,
                "media": out.media.len(),
                "rows": out.other_rows,
                "telegram_topic": out.topic.is_some(),
            });
            super::audit::insert_entry!(&mut *tx, by, AuditAction::Erase, Some(thread_id), Some(&detail), now)?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(Some(out))
    })?)
}

/// The ids of the threads whose visitor gave `email` (compared without
/// regard to case; the visitor context, `identify` or the pre-chat form),
/// at most 10,000.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip_all)]
pub async fn threads_of_email(db: &Db, email: &str) -> StoreResult<Vec<ThreadId>> {
    const SQL: &str = "SELECT thread_id FROM visitor_contexts \
         WHERE email IS NOT NULL AND lower(email) = lower($1) ORDER BY thread_id LIMIT 10000";
    Ok(with_db!(db, p => sqlx::query_scalar(SQL).bind(email).fetch_all(p).await)?)
}

/// Up to `limit` closed threads whose last activity is before `before`,
/// oldest first (the retention job's next batch).
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn closed_before(
    db: &Db,
    before: DateTime<Utc>,
    limit: i64,
) -> StoreResult<Vec<ThreadId>> {
    const SQL: &str = "SELECT id FROM threads WHERE status = 'closed' AND last_activity_at < $1 \
         ORDER BY last_activity_at LIMIT $2";
    Ok(with_db!(db, p => sqlx::query_scalar(SQL).bind(before).bind(limit).fetch_all(p).await)?)
}

/// Is `file_url` carried by any message (of another thread, once its own
/// were erased)? Such a file is kept.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn media_in_use(db: &Db, file_url: &str) -> StoreResult<bool> {
    const SQL: &str = "SELECT 1 FROM messages WHERE file_url = $1 LIMIT 1";
    let found: Option<i32> =
        with_db!(db, p => sqlx::query_scalar(SQL).bind(file_url).fetch_optional(p).await)?;
    Ok(found.is_some())
}

/// Purges the words of deleted messages and thread names from SQLite's
/// FTS5 indexes: FTS5 keeps a deleted row's terms in its index pages (its
/// documents are gone, the words stay) until the pages are merged, and
/// `optimize` merges them all now. Its cost grows with the index (it
/// rewrites it, holding the write lock meanwhile): erasing calls it once
/// per request, the retention job once per run. Nothing to do on Postgres
/// (deleted rows and their index entries go at the next autovacuum).
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn purge_search_index(db: &Db) -> StoreResult<()> {
    if let Db::Sqlite(p) = db {
        sqlx::query("INSERT INTO messages_fts (messages_fts) VALUES ('optimize')")
            .execute(p)
            .await?;
        sqlx::query("INSERT INTO threads_fts (threads_fts) VALUES ('optimize')")
            .execute(p)
            .await?;
    }
    Ok(())
}

/// Writes a consistent copy of the SQLite database to `path` with
/// `VACUUM INTO` (a read transaction: the server keeps serving, writers
/// are not blocked in WAL mode). `Ok(false)` on Postgres (nothing done:
/// use `pg_dump`).
///
/// # Errors
/// Database errors, e.g. when `path` exists and is not empty.
#[tracing::instrument(skip(db))]
pub async fn vacuum_into(db: &Db, path: &str) -> StoreResult<bool> {
    match db {
        Db::Sqlite(p) => {
            sqlx::query("VACUUM INTO $1").bind(path).execute(p).await?;
            Ok(true)
        }
        Db::Postgres(_) => Ok(false),
    }
}
