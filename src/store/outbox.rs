//! The `telegram_outbox` and `telegram_links` tables: forwards waiting for
//! Telegram, and which Telegram message belongs to which thread.

use chrono::{DateTime, Utc};

use super::Db;
use crate::with_db;

/// A due forward, joined with its message and thread.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct OutboxItem {
    /// Outbox row id (sending order).
    pub id: i64,
    /// Tries so far.
    pub attempts: i32,
    /// Parts (messages) of this forward already delivered.
    pub parts_sent: i32,
    /// The thread.
    pub thread_id: String,
    /// The message, or `None` when it was cleared meanwhile.
    pub message_id: Option<i64>,
    /// The thread's display name.
    pub display_name: Option<String>,
    /// `text` | `image` | `audio`.
    pub kind: Option<String>,
    /// Text or caption.
    pub content_text: Option<String>,
    /// Media URL.
    pub file_url: Option<String>,
}

/// The oldest `limit` pending forwards (due or not: the worker keeps per-thread
/// order by skipping a thread whose head is not due yet).
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn pending(db: &Db, limit: i64) -> Result<Vec<(OutboxItem, DateTime<Utc>)>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        item: OutboxItem,
        next_attempt_at: DateTime<Utc>,
    }
    const SQL: &str = "SELECT o.id, o.attempts, o.parts_sent, o.thread_id, m.id AS message_id, t.display_name, \
          m.type AS kind, m.content_text, m.file_url, o.next_attempt_at \
        FROM telegram_outbox o \
        LEFT JOIN messages m ON m.id = o.message_id \
        LEFT JOIN threads t ON t.id = o.thread_id \
        WHERE o.status = 'pending' ORDER BY o.id LIMIT $1";
    let rows: Vec<Row> = with_db!(db, p => sqlx::query_as(SQL).bind(limit).fetch_all(p).await)?;
    Ok(rows
        .into_iter()
        .map(|r| (r.item, r.next_attempt_at))
        .collect())
}

/// Records that part `part` (0-based) of a forward reached Telegram as
/// message `tg_message_id`: links it to the thread and counts it, in one
/// transaction, so a retry never sends that part again. With `last`, the
/// forward is done.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn part_sent(
    db: &Db,
    item: &OutboxItem,
    part: i32,
    last: bool,
    tg_chat_id: i64,
    tg_message_id: i64,
) -> Result<(), sqlx::Error> {
    let now = super::now();
    let status = if last { "sent" } else { "pending" };
    with_db!(db, p => {
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
    })
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
    status: &str,
    next: DateTime<Utc>,
    count_attempt: bool,
    error: &str,
) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE telegram_outbox SET status = $1, next_attempt_at = $2, \
          attempts = attempts + $3, last_error = $4 WHERE id = $5";
    let inc: i32 = count_attempt.into();
    with_db!(db, p => sqlx::query(SQL).bind(status).bind(next).bind(inc).bind(error).bind(id).execute(p).await.map(|_| ()))
}

/// How many forwards wait.
///
/// # Errors
/// Database errors.
pub async fn backlog(db: &Db) -> Result<i64, sqlx::Error> {
    const SQL: &str = "SELECT COUNT(*) FROM telegram_outbox WHERE status = 'pending'";
    with_db!(db, p => sqlx::query_scalar(SQL).fetch_one(p).await)
}

/// The thread of a Telegram message in the admin chat, if it is linked.
///
/// # Errors
/// Database errors.
pub async fn thread_of(
    db: &Db,
    tg_chat_id: i64,
    tg_message_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    const SQL: &str =
        "SELECT thread_id FROM telegram_links WHERE tg_chat_id = $1 AND tg_message_id = $2";
    with_db!(db, p => sqlx::query_scalar(SQL).bind(tg_chat_id.to_string()).bind(tg_message_id).fetch_optional(p).await)
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
) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO telegram_links (thread_id, message_id, tg_chat_id, tg_message_id) \
                       VALUES ($1, $2, $3, $4) ON CONFLICT (tg_chat_id, tg_message_id) DO NOTHING";
    with_db!(db, p => sqlx::query(SQL).bind(thread_id).bind(message_id).bind(tg_chat_id.to_string()).bind(tg_message_id).execute(p).await.map(|_| ()))
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
