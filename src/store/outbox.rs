//! The `telegram_outbox` and `telegram_links` tables: forwards waiting for
//! Telegram, and which Telegram message belongs to which thread (one link
//! per message: a coalesced forward carries several). The worker reads
//! only the due *head* of each thread ([`due_heads`]), so a thread whose
//! head keeps failing never holds up another thread, then the thread's
//! pending run ([`pending_of`]) to coalesce it. A row's client address key
//! (the fair share's) lives only while it is pending. Nothing here records
//! message content in a span.

use crate::domain::ThreadId;
use chrono::{DateTime, Utc};

use super::with_db;
use super::{Db, StoreResult};
use crate::domain::{MessageId, OutboxId, OutboxItem, OutboxStatus};

/// SQL condition: `o` is pending and no older forward of its thread is (it is
/// the thread's head).
macro_rules! head {
    () => {
        "o.status = 'pending' AND NOT EXISTS (SELECT 1 FROM telegram_outbox e \
         WHERE e.thread_id = o.thread_id AND e.status = 'pending' AND e.id < o.id)"
    };
}

/// The columns of an [`OutboxItem`] (`o` the outbox row, `m` its message,
/// `t` its thread, [`item_from`]), as a literal for `concat!`.
macro_rules! item_cols {
    () => {
        "o.id, o.attempts, o.parts_sent, o.thread_id, m.id AS message_id, t.display_name, \
         m.type AS content_type, m.content_text, m.file_url, m.sender, m.internal, m.agent_name, \
         t.tg_topic_id, t.tg_topic_chat_id, t.tg_topic_name, t.tg_topic_closed, \
         (SELECT a.display_name FROM agents a WHERE a.id = t.assignee_agent_id) AS assignee_name, \
         m.created_at, o.client_key"
    };
}

/// The tables of [`item_cols`], as a literal for `concat!`.
macro_rules! item_from {
    () => {
        " FROM telegram_outbox o \
         LEFT JOIN messages m ON m.id = o.message_id \
         LEFT JOIN threads t ON t.id = o.thread_id "
    };
}

/// The heads of at most `limit` threads that are due at `now`, oldest first:
/// per thread only its oldest pending forward, and only when its
/// `next_attempt_at` has come; of one client address (`client_key`; a row
/// without one counts as an address of its own thread) only its
/// `per_address` oldest heads, so that an address with many threads cannot
/// fill the page and hide everyone else's (issue 23: the worker's fair
/// share chooses among these). A thread whose head waits for a retry (or
/// keeps failing) is not in the list at all, so it never holds up another
/// thread, and the rows queued behind it are never read. One SQL text for
/// both backends (window functions: SQLite ≥ 3.25, PostgreSQL); heads
/// found through the partial index `telegram_outbox_thread_pending`.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn due_heads(
    db: &Db,
    now: DateTime<Utc>,
    limit: i64,
    per_address: i64,
) -> StoreResult<Vec<OutboxItem>> {
    const SQL: &str = concat!(
        "SELECT h.* FROM (SELECT ",
        item_cols!(),
        ", ROW_NUMBER() OVER (PARTITION BY COALESCE('a ' || o.client_key, 't ' || o.thread_id) \
           ORDER BY o.id) AS nth",
        item_from!(),
        "WHERE ",
        head!(),
        " AND o.next_attempt_at <= $1) h WHERE h.nth <= $3 ORDER BY h.id LIMIT $2"
    );
    Ok(
        with_db!(db, p => sqlx::query_as(SQL).bind(now).bind(limit).bind(per_address).fetch_all(p).await)?,
    )
}

/// The pending forwards of `thread_id` from its head on, in order, at most
/// `limit`: what one coalesced forward may carry (issue 23).
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn pending_of(db: &Db, thread_id: &str, limit: i64) -> StoreResult<Vec<OutboxItem>> {
    const SQL: &str = concat!(
        "SELECT ",
        item_cols!(),
        item_from!(),
        "WHERE o.thread_id = $1 AND o.status = 'pending' ORDER BY o.id LIMIT $2"
    );
    Ok(with_db!(db, p => sqlx::query_as(SQL).bind(thread_id).bind(limit).fetch_all(p).await)?)
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

/// Locks the thread's row (`$1`) for [`LINK_FORWARD_SQL`]: the same row
/// lock `topics::note_receipt` takes first, so a link written after it
/// sees its marks (see `topics::LINK_ADMIN_SQL`).
const LOCK_THREAD: &str =
    "UPDATE threads SET tg_receipt_delivered_id = tg_receipt_delivered_id WHERE id = $1";

/// Links a Telegram message that carries message `$2` of thread `$1`
/// (chat `$3` as text, Telegram message `$4`), with the receipt the
/// visitor's marks already give it: only an agent's answer (not a note,
/// not a visitor's message) has one. Several messages may share one
/// Telegram message (a coalesced forward): each gets its own link.
const LINK_FORWARD_SQL: &str = "INSERT INTO telegram_links \
    (thread_id, message_id, tg_chat_id, tg_message_id, receipt) \
    SELECT $1, $2, $3, $4, CASE WHEN m.id IS NULL OR m.sender <> 'admin' OR m.internal = TRUE THEN 0 \
                                WHEN t.tg_receipt_seen_id >= $2 THEN 2 \
                                WHEN t.tg_receipt_delivered_id >= $2 THEN 1 ELSE 0 END \
    FROM threads t LEFT JOIN messages m ON m.id = $2 WHERE t.id = $1 \
    ON CONFLICT DO NOTHING";

/// Records that part `part` (0-based) of a forward reached Telegram as
/// message `tg_message_id`: links it to the thread and counts it, in one
/// transaction, so a retry never sends that part again. With `last`, the
/// forward is done (and its client address key is forgotten).
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db, item), fields(outbox_id = %item.id))]
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
            "UPDATE telegram_outbox SET parts_sent = $1, status = $2, sent_at = $3, \
             client_key = CASE WHEN $5 THEN NULL ELSE client_key END \
             WHERE id = $4 AND status = 'pending'",
        )
        .bind(part + 1).bind(status).bind(now).bind(item.id).bind(last).execute(&mut *tx).await?;
        sqlx::query(LOCK_THREAD).bind(&item.thread_id).execute(&mut *tx).await?;
        sqlx::query(LINK_FORWARD_SQL)
            .bind(&item.thread_id).bind(item.message_id).bind(tg_chat_id.to_string()).bind(tg_message_id)
            .execute(&mut *tx).await?;
        tx.commit().await
    })?)
}

/// Records that the forwards `items` (of one thread, each a single
/// part) reached Telegram together as message `tg_message_id`, a
/// coalesced forward: each is `sent` (its address key forgotten) and
/// linked to that Telegram message, in one transaction.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db, items), fields(n = items.len()))]
pub async fn coalesced_sent(
    db: &Db,
    items: &[OutboxItem],
    tg_chat_id: i64,
    tg_message_id: i64,
) -> StoreResult<()> {
    const DONE: &str = "UPDATE telegram_outbox SET parts_sent = 1, status = 'sent', sent_at = $1, \
        client_key = NULL WHERE id = $2 AND status = 'pending'";
    let now = super::now();
    let chat = tg_chat_id.to_string();
    Ok(with_db!(db, p => {
        let mut tx = p.begin().await?;
        for item in items {
            sqlx::query(DONE).bind(now).bind(item.id).execute(&mut *tx).await?;
        }
        let mut locked: Vec<&str> = Vec::new();
        for item in items {
            if !locked.contains(&item.thread_id.as_str()) {
                sqlx::query(LOCK_THREAD).bind(&item.thread_id).execute(&mut *tx).await?;
                locked.push(&item.thread_id);
            }
            sqlx::query(LINK_FORWARD_SQL)
                .bind(&item.thread_id).bind(item.message_id).bind(&chat).bind(tg_message_id)
                .execute(&mut *tx).await?;
        }
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
    id: OutboxId,
    status: OutboxStatus,
    next: DateTime<Utc>,
    count_attempt: bool,
    error: &str,
) -> StoreResult<()> {
    // Only a pending row: a sender that lost its lock must not put a row
    // that another one sent meanwhile back in the queue. A row that ends
    // forgets its address key.
    const SQL: &str = "UPDATE telegram_outbox SET status = $1, next_attempt_at = $2, \
          attempts = attempts + $3, last_error = $4, \
          client_key = CASE WHEN $6 THEN NULL ELSE client_key END \
          WHERE id = $5 AND status = 'pending'";
    let inc: i32 = count_attempt.into();
    let ends = status != OutboxStatus::Pending;
    Ok(with_db!(db, p => sqlx::query(SQL)
        .bind(status).bind(next).bind(inc).bind(error).bind(id).bind(ends)
        .execute(p).await.map(|_| ()))?)
}

/// Marks a forward `sent` without sending anything: for a row whose
/// `parts_sent` already covers all its parts.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn mark_sent(db: &Db, id: OutboxId) -> StoreResult<()> {
    const SQL: &str = "UPDATE telegram_outbox SET status = 'sent', sent_at = $1, client_key = NULL \
                       WHERE id = $2 AND status = 'pending'";
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

/// The thread of a Telegram message in the admin chat, if it is linked
/// (every message a coalesced forward carries is of its one thread).
///
/// # Errors
/// Database errors.
pub async fn thread_of(
    db: &Db,
    tg_chat_id: i64,
    tg_message_id: i64,
) -> StoreResult<Option<ThreadId>> {
    const SQL: &str =
        "SELECT thread_id FROM telegram_links WHERE tg_chat_id = $1 AND tg_message_id = $2 LIMIT 1";
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
    thread_id: &ThreadId,
    message_id: Option<MessageId>,
    tg_chat_id: i64,
    tg_message_id: i64,
) -> StoreResult<()> {
    const SQL: &str = "INSERT INTO telegram_links (thread_id, message_id, tg_chat_id, tg_message_id) \
                       VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
    Ok(
        with_db!(db, p => sqlx::query(SQL).bind(thread_id).bind(message_id).bind(tg_chat_id.to_string()).bind(tg_message_id).execute(p).await.map(|_| ()))?,
    )
}

/// The right to send the outbox. On SQLite (one machine) it is always held;
/// on Postgres it is a session-level advisory lock
/// (`pg_try_advisory_lock`, PostgreSQL docs § 9.28.10) kept on one pooled
/// connection, so that of several instances exactly one sends. A lost
/// connection releases the lock on the server; it is then taken again.
///
/// The lock alone does not fence a sender that lost it in the middle of a
/// batch (a Postgres restart while it waits on Telegram, issue 24): so
/// each row is claimed with [`Leader::claim`] right before each Bot API
/// call, on the lock's own session. Cheap to clone (the clones share the
/// lock's connection).
#[derive(Clone, Default)]
pub struct Leader {
    conn: std::sync::Arc<tokio::sync::Mutex<Option<sqlx::pool::PoolConnection<sqlx::Postgres>>>>,
}

/// Arbitrary, fixed key of the outbox lock (`"sohbet-outbox"` as bytes).
const OUTBOX_LOCK: i64 = 0x736f_6862_6574_6f62;

/// The claim on Postgres: the row is still the sender's to send (pending,
/// with the parts it read) and this session still holds the outbox lock
/// (`pg_locks` lists a bigint advisory lock as `classid` = high 32 bits,
/// `objid` = low 32 bits, `objsubid` = 1).
const CLAIM_PG: &str = "UPDATE telegram_outbox SET attempts = attempts \
     WHERE id = $1 AND status = 'pending' AND parts_sent = $2 AND EXISTS ( \
       SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted \
       AND pid = pg_backend_pid() AND classid = $3::bigint::oid \
       AND objid = $4::bigint::oid AND objsubid = 1)";

/// The claim on SQLite (one instance: the row's state only).
const CLAIM_SQLITE: &str = "UPDATE telegram_outbox SET attempts = attempts \
     WHERE id = $1 AND status = 'pending' AND parts_sent = $2";

impl Leader {
    /// Is this instance the sender now? Checks a held lock's connection and
    /// tries to take the lock when not held.
    pub async fn hold(&self, db: &Db) -> bool {
        let Db::Postgres(pool) = db else { return true };
        let mut held = self.conn.lock().await;
        if let Some(conn) = held.as_mut() {
            if sqlx::query("SELECT 1").execute(&mut **conn).await.is_ok() {
                return true;
            }
            // The connection (and with it the lock) is gone.
            *held = None;
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
            *held = Some(conn);
            true
        } else {
            false
        }
    }

    /// Gives the lock's connection back (the lock goes with it when the
    /// pool closes it); for when the sender stops. Does nothing while a
    /// claim or [`Leader::hold`] runs.
    pub fn release(&self) {
        if let Ok(mut held) = self.conn.try_lock()
            && let Some(conn) = held.take()
        {
            // Closed rather than returned: the session ends, so does the lock.
            drop(conn.detach());
        }
    }

    /// Claims outbox row `id`, about to send its part `parts_sent`, with a
    /// conditional update: on Postgres run on the lock's own session and
    /// true only while that session still holds the lock, so a sender that
    /// lost the lock (its session ended: a Postgres restart, a dropped
    /// connection) cannot send a row that another instance now owns; on
    /// both, true only while the row is still pending with the parts the
    /// sender read. `false`: do not send; the caller aborts its batch.
    ///
    /// What it cannot fence: a lock lost after the claim, while the Bot API
    /// call is in flight; the new sender may then send that one row again
    /// (at most one resend per lost lock, as per crash).
    ///
    /// # Errors
    /// A database error on SQLite; on Postgres an error means the lock's
    /// session is gone (the lock is dropped here, `Ok(false)`).
    pub async fn claim(&self, db: &Db, id: OutboxId, parts_sent: i32) -> StoreResult<bool> {
        if let Db::Sqlite(p) = db {
            let r = sqlx::query(CLAIM_SQLITE)
                .bind(id)
                .bind(parts_sent)
                .execute(p)
                .await?;
            return Ok(r.rows_affected() == 1);
        }
        let mut held = self.conn.lock().await;
        let Some(conn) = held.as_mut() else {
            return Ok(false);
        };
        let res = sqlx::query(CLAIM_PG)
            .bind(id)
            .bind(parts_sent)
            .bind(OUTBOX_LOCK >> 32)
            .bind(OUTBOX_LOCK & 0xffff_ffff)
            .execute(&mut **conn)
            .await;
        match res {
            Ok(r) => Ok(r.rows_affected() == 1),
            Err(e) => {
                tracing::warn!(error = %e, "the Telegram outbox lock's session is gone");
                *held = None;
                Ok(false)
            }
        }
    }
}
