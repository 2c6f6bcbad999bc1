//! The `telegram_outbox` and `telegram_links` tables: forwards waiting for
//! Telegram, and which Telegram message belongs to which thread. The worker
//! reads only the due *head* of each thread ([`due_heads`]), so a thread
//! whose head keeps failing never holds up another thread. Nothing here
//! records message content in a span.

use chrono::{DateTime, Utc};

use super::with_db;
use super::{Db, StoreResult};
use crate::domain::{OutboxItem, OutboxStatus};

/// SQL condition: `o` is pending and no older forward of its thread is (it is
/// the thread's head).
macro_rules! head {
    () => {
        "o.status = 'pending' AND NOT EXISTS (SELECT 1 FROM telegram_outbox e \
         WHERE e.thread_id = o.thread_id AND e.status = 'pending' AND e.id < o.id)"
    };
}

/// The heads of at most `limit` threads that are due at `now`, oldest first:
/// per thread only its oldest pending forward, and only when its
/// `next_attempt_at` has come. A thread whose head waits for a retry (or
/// keeps failing) is not in the list at all, so it never holds up another
/// thread, and the rows queued behind it are never read. One SQL text for
/// both backends; served by the partial index `telegram_outbox_thread_pending`.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn due_heads(db: &Db, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<OutboxItem>> {
    const SQL: &str = concat!(
        "SELECT o.id, o.attempts, o.parts_sent, o.thread_id, m.id AS message_id, t.display_name, \
           m.type AS content_type, m.content_text, m.file_url, m.sender, m.internal, m.agent_name, \
           t.tg_topic_id, t.tg_topic_chat_id, t.tg_topic_name, t.tg_topic_closed, \
           (SELECT a.display_name FROM agents a WHERE a.id = t.assignee_agent_id) AS assignee_name \
         FROM telegram_outbox o \
         LEFT JOIN messages m ON m.id = o.message_id \
         LEFT JOIN threads t ON t.id = o.thread_id \
         WHERE ",
        head!(),
        " AND o.next_attempt_at <= $1 ORDER BY o.id LIMIT $2"
    );
    Ok(with_db!(db, p => sqlx::query_as(SQL).bind(now).bind(limit).fetch_all(p).await)?)
}

/// When the earliest head that is not due yet becomes due (`None`: nothing
/// is pending). The worker sleeps until then (or until woken).
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn next_due(db: &Db) -> StoreResult<Option<DateTime<Utc>>> {
    const SQL: &str = concat!(
        "SELECT MIN(o.next_attempt_at) FROM telegram_outbox o WHERE ",
        head!()
    );
    Ok(with_db!(db, p => sqlx::query_scalar(SQL).fetch_one(p).await)?)
}

/// Records that part `part` (0-based) of a forward reached Telegram as
/// message `tg_message_id`: links it to the thread and counts it, in one
/// transaction, so a retry never sends that part again. With `last`, the
/// forward is done.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db, item), fields(outbox_id = item.id))]
pub async fn part_sent(
    db: &Db,
    item: &OutboxItem,
    part: i32,
    last: bool,
    tg_chat_id: i64,
    tg_message_id: i64,
) -> StoreResult<()> {
    let now = super::now();
    let status = if last {
        OutboxStatus::Sent
    } else {
        OutboxStatus::Pending
    };
    Ok(with_db!(db, p => {
        let mut tx = p.begin().await?;
        sqlx::query(
            "UPDATE telegram_outbox SET parts_sent = $1, status = $2, sent_at = $3 WHERE id = $4",
        )
        .bind(part + 1).bind(status).bind(now).bind(item.id).execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO telegram_links (thread_id, message_id, tg_chat_id, tg_message_id) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (tg_chat_id, tg_message_id) DO NOTHING",
        )
        .bind(&item.thread_id).bind(item.message_id).bind(tg_chat_id.to_string()).bind(tg_message_id)
        .execute(&mut *tx).await?;
        tx.commit().await
    })?)
}

/// Schedules another try at `next` (or ends the row with `status`
/// `dead` / `dropped`), recording the error text.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db, error))]
pub async fn mark_failed(
    db: &Db,
    id: i64,
    status: OutboxStatus,
    next: DateTime<Utc>,
    count_attempt: bool,
    error: &str,
) -> StoreResult<()> {
    const SQL: &str = "UPDATE telegram_outbox SET status = $1, next_attempt_at = $2, \
          attempts = attempts + $3, last_error = $4 WHERE id = $5";
    let inc: i32 = count_attempt.into();
    Ok(
        with_db!(db, p => sqlx::query(SQL).bind(status).bind(next).bind(inc).bind(error).bind(id).execute(p).await.map(|_| ()))?,
    )
}

/// Marks a forward `sent` without sending anything: for a row whose
/// `parts_sent` already covers all its parts.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn mark_sent(db: &Db, id: i64) -> StoreResult<()> {
    const SQL: &str = "UPDATE telegram_outbox SET status = 'sent', sent_at = $1 WHERE id = $2";
    let now = super::now();
    Ok(with_db!(db, p => sqlx::query(SQL).bind(now).bind(id).execute(p).await.map(|_| ()))?)
}

/// How many forwards wait.
///
/// # Errors
/// Database errors.
pub async fn backlog(db: &Db) -> StoreResult<i64> {
    const SQL: &str = "SELECT COUNT(*) FROM telegram_outbox WHERE status = 'pending'";
    Ok(with_db!(db, p => sqlx::query_scalar(SQL).fetch_one(p).await)?)
}

/// How many forwards wait, and since when the oldest does (`/selftest`).
///
/// # Errors
/// Database errors.
pub async fn backlog_age(db: &Db) -> StoreResult<(i64, Option<DateTime<Utc>>)> {
    const SQL: &str =
        "SELECT COUNT(*), MIN(created_at) FROM telegram_outbox WHERE status = 'pending'";
    Ok(with_db!(db, p => sqlx::query_as(SQL).fetch_one(p).await)?)
}

/// The thread of a Telegram message in the admin chat, if it is linked.
///
/// # Errors
/// Database errors.
pub async fn thread_of(
    db: &Db,
    tg_chat_id: i64,
    tg_message_id: i64,
) -> StoreResult<Option<String>> {
    const SQL: &str =
        "SELECT thread_id FROM telegram_links WHERE tg_chat_id = $1 AND tg_message_id = $2";
    Ok(
        with_db!(db, p => sqlx::query_scalar(SQL).bind(tg_chat_id.to_string()).bind(tg_message_id).fetch_optional(p).await)?,
    )
}

/// Links a Telegram message (e.g. the admin's reply) to a thread and message.
///
/// # Errors
/// Database errors.
pub async fn link(
    db: &Db,
    thread_id: &str,
    message_id: Option<i64>,
    tg_chat_id: i64,
    tg_message_id: i64,
) -> StoreResult<()> {
    const SQL: &str = "INSERT INTO telegram_links (thread_id, message_id, tg_chat_id, tg_message_id) \
                       VALUES ($1, $2, $3, $4) ON CONFLICT (tg_chat_id, tg_message_id) DO NOTHING";
    Ok(
        with_db!(db, p => sqlx::query(SQL).bind(thread_id).bind(message_id).bind(tg_chat_id.to_string()).bind(tg_message_id).execute(p).await.map(|_| ()))?,
    )
}

/// The right to send the outbox. On SQLite (one machine) it is always held;
/// on Postgres it is a session-level advisory lock
/// (`pg_try_advisory_lock`, PostgreSQL docs § 9.28.10) kept on one pooled
/// connection, so that of several instances exactly one sends. A lost
/// connection releases the lock on the server; it is then taken again.
#[derive(Default)]
pub struct Leader {
    conn: Option<sqlx::pool::PoolConnection<sqlx::Postgres>>,
}

/// Arbitrary, fixed key of the outbox lock (`"sohbet-outbox"` as bytes).
const OUTBOX_LOCK: i64 = 0x736f_6862_6574_6f62;

impl Leader {
    /// Is this instance the sender now? Checks a held lock's connection and
    /// tries to take the lock when not held.
    pub async fn hold(&mut self, db: &Db) -> bool {
        let Db::Postgres(pool) = db else { return true };
        if let Some(conn) = self.conn.as_mut() {
            if sqlx::query("SELECT 1").execute(&mut **conn).await.is_ok() {
                return true;
            }
            // The connection (and with it the lock) is gone.
            self.conn = None;
        }
        let Ok(mut conn) = pool.acquire().await else {
            return false;
        };
        let got: Result<bool, _> = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(OUTBOX_LOCK)
            .fetch_one(&mut *conn)
            .await;
        if matches!(got, Ok(true)) {
            tracing::info!("this instance sends the Telegram outbox");
            self.conn = Some(conn);
            true
        } else {
            false
        }
    }
}
