//! The `email_outbox` table (issue 26) and the email columns of `threads`
//! and `agents`. One SQL text for SQLite and Postgres. The rows are
//! scheduled by the group-commit writer ([`SCHEDULE_ANSWER_SQL`],
//! [`SCHEDULE_AGENT_WAIT_SQL`], run inside `messages::insert_batch`), by a
//! transcript request ([`request_transcript`]) and by a close
//! ([`SCHEDULE_TRANSCRIPT_SQL`] inside `thread_status::set_status`).

use chrono::{DateTime, TimeDelta, Utc};

use super::with_db;
use super::{Db, StoreResult};
use crate::domain::{
    AgentId, DeadEmail, EmailAgent, EmailId, EmailRow, EmailStatus, EmailThread, Message,
    MessageId, ThreadId, ThreadStatus,
};

/// Schedules an `answer` check of thread `$2` at `$3` (`$1` now), unless
/// the thread has no address, unsubscribed, or already has one scheduled
/// (a burst of answers is one email).
pub const SCHEDULE_ANSWER_SQL: &str = "INSERT INTO email_outbox (kind, thread_id, status, due_at, created_at) \
    SELECT 'answer', $2, 'scheduled', $3, $1 \
    WHERE EXISTS (SELECT 1 FROM visitor_contexts v WHERE v.thread_id = $2 AND v.email IS NOT NULL) \
      AND EXISTS (SELECT 1 FROM threads t WHERE t.id = $2 AND t.email_unsubscribed_at IS NULL) \
      AND NOT EXISTS (SELECT 1 FROM email_outbox e WHERE e.thread_id = $2 AND e.kind = 'answer' AND e.status = 'scheduled')";

/// Schedules an `agent_wait` check of thread `$2` at `$3` (`$1` now),
/// unless no enabled agent has an address or one is scheduled already.
pub const SCHEDULE_AGENT_WAIT_SQL: &str = "INSERT INTO email_outbox (kind, thread_id, status, due_at, created_at) \
    SELECT 'agent_wait', $2, 'scheduled', $3, $1 \
    WHERE EXISTS (SELECT 1 FROM agents a WHERE a.email IS NOT NULL AND a.disabled_at IS NULL) \
      AND NOT EXISTS (SELECT 1 FROM email_outbox e WHERE e.thread_id = $2 AND e.kind = 'agent_wait' AND e.status = 'scheduled')";

/// Schedules a `transcript` of thread `$2` now (`$1`), when it has an
/// address and did not unsubscribe.
pub const SCHEDULE_TRANSCRIPT_SQL: &str = "INSERT INTO email_outbox (kind, thread_id, status, due_at, created_at) \
    SELECT 'transcript', $2, 'scheduled', $1, $1 \
    WHERE EXISTS (SELECT 1 FROM visitor_contexts v WHERE v.thread_id = $2 AND v.email IS NOT NULL) \
      AND EXISTS (SELECT 1 FROM threads t WHERE t.id = $2 AND t.email_unsubscribed_at IS NULL)";

/// Raises the generation of thread `$1`'s signed links (they die): run by
/// `messages::clear` in its transaction.
pub const REVOKE_LINKS_SQL: &str =
    "UPDATE threads SET email_link_gen = email_link_gen + 1 WHERE id = $1";

/// Cancels what thread `$1` has scheduled or pending (run by
/// `messages::clear`: the messages it would carry are gone).
pub const CANCEL_THREAD_SQL: &str = "UPDATE email_outbox SET status = 'cancelled' \
    WHERE thread_id = $1 AND status IN ('scheduled', 'pending')";

macro_rules! row {
    () => {
        "id, kind, thread_id, agent_id, status, due_at, attempts, recipient, body, last_error, created_at"
    };
}

/// The rows due at `now` (scheduled checks and emails to send), oldest due first.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn due(db: &Db, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<EmailRow>> {
    const SQL: &str = concat!(
        "SELECT ",
        row!(),
        " FROM email_outbox WHERE status IN ('scheduled', 'pending') AND due_at <= $1 \
         ORDER BY due_at, id LIMIT $2"
    );
    Ok(with_db!(db, p => sqlx::query_as(SQL).bind(now).bind(limit).fetch_all(p).await)?)
}

/// Every scheduled `agent_wait` check, due or not (an agent email lists
/// every thread waiting now: coalescing), oldest first, at most `limit`.
///
/// # Errors
/// Database errors.
pub async fn agent_waits(db: &Db, limit: i64) -> StoreResult<Vec<EmailRow>> {
    const SQL: &str = concat!(
        "SELECT ",
        row!(),
        " FROM email_outbox WHERE status = 'scheduled' AND kind = 'agent_wait' ORDER BY due_at, id LIMIT $1"
    );
    Ok(with_db!(db, p => sqlx::query_as(SQL).bind(limit).fetch_all(p).await)?)
}

/// When the next row falls due (`None`: nothing waits).
///
/// # Errors
/// Database errors.
pub async fn next_due(db: &Db) -> StoreResult<Option<DateTime<Utc>>> {
    const SQL: &str =
        "SELECT MIN(due_at) FROM email_outbox WHERE status IN ('scheduled', 'pending')";
    Ok(with_db!(db, p => sqlx::query_scalar(SQL).fetch_one(p).await)?)
}

/// Rows found `sending` (the process died during their SMTP transaction)
/// become `pending`: each is sent again once. Run when this instance
/// becomes the sender. Returns how many.
///
/// # Errors
/// Database errors.
pub async fn recover_in_flight(db: &Db) -> StoreResult<u64> {
    const SQL: &str = "UPDATE email_outbox SET status = 'pending' WHERE status = 'sending'";
    Ok(with_db!(db, p => sqlx::query(SQL).execute(p).await.map(|r| r.rows_affected()))?)
}

/// What composing a visitor email of `thread_id` needs (`None`: no such thread).
///
/// # Errors
/// Database errors.
pub async fn thread(db: &Db, thread_id: &ThreadId) -> StoreResult<Option<EmailThread>> {
    const SQL: &str = "SELECT t.id, v.email, v.name, v.language, v.timezone, t.email_unsubscribed_at, \
        t.email_link_gen, t.email_answered_upto, t.email_answer_sent_at, t.tg_receipt_seen_id AS seen_upto \
        FROM threads t LEFT JOIN visitor_contexts v ON v.thread_id = t.id WHERE t.id = $1";
    Ok(with_db!(db, p => sqlx::query_as(SQL).bind(thread_id).fetch_optional(p).await)?)
}

/// The agents' answers (never notes) of `thread_id` after message `after`,
/// oldest first, at most 100.
///
/// # Errors
/// Database errors.
pub async fn answers_after(
    db: &Db,
    thread_id: &ThreadId,
    after: MessageId,
) -> StoreResult<Vec<Message>> {
    const SQL: &str = concat!(
        "SELECT id, thread_id, content_text, type, sender, file_url, created_at, client_id, internal, \
         agent_id, agent_name FROM messages WHERE thread_id = $1 AND id > $2 AND sender = 'admin' AND ",
        "internal = FALSE ORDER BY id LIMIT 100"
    );
    Ok(with_db!(db, p => sqlx::query_as(SQL).bind(thread_id).bind(after).fetch_all(p).await)?)
}

/// The whole conversation a visitor may see (no notes,
/// [`super::messages::VISIBLE_TO_VISITOR`]), oldest first, at most `limit`
/// (the newest ones when there are more).
///
/// # Errors
/// Database errors.
pub async fn visible_messages(
    db: &Db,
    thread_id: &ThreadId,
    limit: i64,
) -> StoreResult<Vec<Message>> {
    const SQL: &str = "SELECT id, thread_id, content_text, type, sender, file_url, created_at, client_id, \
        internal, agent_id, agent_name FROM messages WHERE thread_id = $1 AND internal = FALSE \
        ORDER BY id DESC LIMIT $2";
    let mut rows: Vec<Message> =
        with_db!(db, p => sqlx::query_as(SQL).bind(thread_id).bind(limit).fetch_all(p).await)?;
    rows.reverse();
    Ok(rows)
}

/// Emails queued to `address` (any case) since `since` that count against
/// its hourly limit (pending, sending, sent or dead), and the oldest's time.
///
/// # Errors
/// Database errors.
pub async fn queued_to(
    db: &Db,
    address: &str,
    since: DateTime<Utc>,
) -> StoreResult<(i64, Option<DateTime<Utc>>)> {
    const SQL: &str = "SELECT COUNT(*), MIN(queued_at) FROM email_outbox \
        WHERE lower(recipient) = lower($1) AND queued_at >= $2 \
          AND status IN ('pending', 'sending', 'sent', 'dead')";
    Ok(with_db!(db, p => sqlx::query_as(SQL).bind(address).bind(since).fetch_one(p).await)?)
}

/// Composes scheduled row `id`: its recipient and message, `pending` now.
/// An `answer` also records, in the same transaction, that the thread's
/// answers up to `upto` were emailed at `now`. `false` when the row was no
/// longer scheduled (unsubscribed meanwhile).
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db, body))]
pub async fn compose(
    db: &Db,
    id: EmailId,
    recipient: &str,
    body: &str,
    upto: Option<(&ThreadId, MessageId)>,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    const SQL: &str = "UPDATE email_outbox SET status = 'pending', recipient = $2, body = $3, \
        queued_at = $4, due_at = $4, upto_message_id = $5 WHERE id = $1 AND status = 'scheduled'";
    const THREAD: &str =
        "UPDATE threads SET email_answered_upto = $2, email_answer_sent_at = $3 WHERE id = $1";
    Ok(with_db!(db, p => {
        let mut tx = p.begin().await?;
        let n = sqlx::query(SQL).bind(id).bind(recipient).bind(body).bind(now)
            .bind(upto.map(|u| u.1)).execute(&mut *tx).await?.rows_affected();
        if n == 1 && let Some((thread, upto)) = upto {
            sqlx::query(THREAD).bind(thread).bind(upto).bind(now).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(n == 1)
    })?)
}

/// Moves scheduled row `id` to `due` (a limit holds it back).
///
/// # Errors
/// Database errors.
pub async fn reschedule(db: &Db, id: EmailId, due: DateTime<Utc>) -> StoreResult<()> {
    const SQL: &str = "UPDATE email_outbox SET due_at = $2 WHERE id = $1 AND status = 'scheduled'";
    Ok(with_db!(db, p => sqlx::query(SQL).bind(id).bind(due).execute(p).await.map(|_| ()))?)
}

/// Ends scheduled row `id` without an email (`cancelled` or `done`).
///
/// # Errors
/// Database errors.
pub async fn end(db: &Db, id: EmailId, status: EmailStatus) -> StoreResult<()> {
    const SQL: &str = "UPDATE email_outbox SET status = $2 WHERE id = $1 AND status = 'scheduled'";
    Ok(with_db!(db, p => sqlx::query(SQL).bind(id).bind(status).execute(p).await.map(|_| ()))?)
}

/// Takes pending row `id` for an SMTP transaction (`sending`, one more
/// try), committed before the transaction starts. `false` when it is no
/// longer pending.
///
/// # Errors
/// Database errors.
pub async fn take(db: &Db, id: EmailId) -> StoreResult<bool> {
    const SQL: &str = "UPDATE email_outbox SET status = 'sending', attempts = attempts + 1 \
        WHERE id = $1 AND status = 'pending'";
    Ok(
        with_db!(db, p => sqlx::query(SQL).bind(id).execute(p).await.map(|r| r.rows_affected() == 1))?,
    )
}

/// Records the outcome of row `id`'s SMTP transaction: `sent` (at `now`),
/// `pending` again at `retry_at` (a transient failure), or `dead`.
///
/// # Errors
/// Database errors.
pub async fn outcome(
    db: &Db,
    id: EmailId,
    status: EmailStatus,
    error: Option<&str>,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    const SQL: &str = "UPDATE email_outbox SET status = $2, last_error = $3, \
        sent_at = CASE WHEN $2 = 'sent' THEN $4 ELSE sent_at END, due_at = $4 \
        WHERE id = $1 AND status = 'sending'";
    Ok(
        with_db!(db, p => sqlx::query(SQL).bind(id).bind(status).bind(error).bind(at).execute(p).await.map(|_| ()))?,
    )
}

/// What [`waiting`] reads: since when (`None`: answered), the assignee,
/// the status (`open` / `closed`) and the thread's display name.
pub type Waiting = (Option<DateTime<Utc>>, Option<AgentId>, ThreadStatus, String);

/// Since when a visitor message of `thread_id` waits for an answer (the
/// first visitor message after the last agent answer; notes do not
/// answer), its assignee, and whether the thread is open.
///
/// # Errors
/// Database errors.
pub async fn waiting(db: &Db, thread_id: &ThreadId) -> StoreResult<Option<Waiting>> {
    const SQL: &str = "SELECT (SELECT MIN(m.created_at) FROM messages m WHERE m.thread_id = t.id \
          AND m.sender = 'visitor' AND m.id > COALESCE((SELECT MAX(a.id) FROM messages a \
          WHERE a.thread_id = t.id AND a.sender = 'admin' AND a.internal = FALSE), 0)), \
        t.assignee_agent_id, t.status, t.display_name FROM threads t WHERE t.id = $1";
    Ok(with_db!(db, p => sqlx::query_as(SQL).bind(thread_id).fetch_optional(p).await)?)
}

/// Enabled agents with an address.
///
/// # Errors
/// Database errors.
pub async fn agents_with_email(db: &Db) -> StoreResult<Vec<EmailAgent>> {
    const SQL: &str = "SELECT id, display_name, email FROM agents \
        WHERE email IS NOT NULL AND disabled_at IS NULL ORDER BY id";
    Ok(with_db!(db, p => sqlx::query_as(SQL).fetch_all(p).await)?)
}

/// In one transaction: queues one composed `agent` email per
/// `(agent id, address, message)` and ends the checks `done`.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip_all, fields(mails = mails.len(), done = done.len()))]
pub async fn agent_mails(
    db: &Db,
    mails: &[(AgentId, String, String)],
    done: &[EmailId],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    const INSERT: &str = "INSERT INTO email_outbox (kind, agent_id, status, due_at, recipient, body, \
        queued_at, created_at) VALUES ('agent', $1, 'pending', $4, $2, $3, $4, $4)";
    const DONE: &str =
        "UPDATE email_outbox SET status = 'done' WHERE id = $1 AND status = 'scheduled'";
    Ok(with_db!(db, p => {
        let mut tx = p.begin().await?;
        for (agent, to, body) in mails {
            sqlx::query(INSERT).bind(agent).bind(to).bind(body).bind(now).execute(&mut *tx).await?;
        }
        for id in done {
            sqlx::query(DONE).bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await
    })?)
}

/// Why a transcript was not queued.
#[derive(Debug, PartialEq, Eq)]
pub enum TranscriptRefusal {
    /// The thread has no address (or no row yet).
    NoAddress,
    /// The visitor unsubscribed.
    Unsubscribed,
    /// `per_day` transcripts were queued in the last 24 hours; the oldest
    /// of them leaves the window at this time.
    Limit(DateTime<Utc>),
}

/// Queues a transcript of `thread_id` now, unless it has no address,
/// unsubscribed or had `per_day` in the last 24 hours.
///
/// # Errors
/// Database errors.
pub async fn request_transcript(
    db: &Db,
    thread_id: &ThreadId,
    per_day: i64,
    now: DateTime<Utc>,
) -> StoreResult<Result<(), TranscriptRefusal>> {
    const COUNT: &str = "SELECT COUNT(*), MIN(created_at) FROM email_outbox \
        WHERE thread_id = $1 AND kind = 'transcript' AND created_at >= $2 AND status <> 'cancelled'";
    let Some(t) = thread(db, thread_id).await? else {
        return Ok(Err(TranscriptRefusal::NoAddress));
    };
    if t.email.is_none() {
        return Ok(Err(TranscriptRefusal::NoAddress));
    }
    if t.email_unsubscribed_at.is_some() {
        return Ok(Err(TranscriptRefusal::Unsubscribed));
    }
    let day = TimeDelta::days(1);
    let (n, oldest): (i64, Option<DateTime<Utc>>) = with_db!(db, p => sqlx::query_as(COUNT).bind(thread_id).bind(now - day).fetch_one(p).await)?;
    if n >= per_day {
        return Ok(Err(TranscriptRefusal::Limit(oldest.unwrap_or(now) + day)));
    }
    with_db!(db, p => sqlx::query(SCHEDULE_TRANSCRIPT_SQL).bind(now).bind(thread_id).execute(p).await.map(|_| ()))?;
    Ok(Ok(()))
}

/// Unsubscribes `thread_id` at `now`: no more email, its links die, what
/// is scheduled or pending is cancelled. `false` for an unknown thread.
///
/// # Errors
/// Database errors.
pub async fn unsubscribe(db: &Db, thread_id: &ThreadId, now: DateTime<Utc>) -> StoreResult<bool> {
    const THREAD: &str = "UPDATE threads SET email_unsubscribed_at = COALESCE(email_unsubscribed_at, $2), \
        email_link_gen = email_link_gen + 1 WHERE id = $1";
    const CANCEL: &str = "UPDATE email_outbox SET status = 'cancelled' \
        WHERE thread_id = $1 AND status IN ('scheduled', 'pending')";
    Ok(with_db!(db, p => {
        let mut tx = p.begin().await?;
        let n = sqlx::query(THREAD).bind(thread_id).bind(now).execute(&mut *tx).await?.rows_affected();
        sqlx::query(CANCEL).bind(thread_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(n == 1)
    })?)
}

/// Sets (or clears, `None`) agent `agent_id`'s address. `false`: no such agent.
///
/// # Errors
/// Database errors.
pub async fn set_agent_email(db: &Db, agent_id: AgentId, email: Option<&str>) -> StoreResult<bool> {
    const SQL: &str = "UPDATE agents SET email = $2 WHERE id = $1";
    const CANCEL: &str = "UPDATE email_outbox SET status = 'cancelled' \
        WHERE agent_id = $1 AND status IN ('scheduled', 'pending')";
    Ok(with_db!(db, p => {
        let mut tx = p.begin().await?;
        let n = sqlx::query(SQL).bind(agent_id).bind(email).execute(&mut *tx).await?.rows_affected();
        if email.is_none() {
            sqlx::query(CANCEL).bind(agent_id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(n == 1)
    })?)
}

/// Agent `agent_id`'s address.
///
/// # Errors
/// Database errors.
pub async fn agent_email(db: &Db, agent_id: AgentId) -> StoreResult<Option<String>> {
    const SQL: &str = "SELECT email FROM agents WHERE id = $1";
    let v: Option<Option<String>> =
        with_db!(db, p => sqlx::query_scalar(SQL).bind(agent_id).fetch_optional(p).await)?;
    Ok(v.flatten())
}

/// The threads whose latest visitor email is dead, newest first (at most 200).
///
/// # Errors
/// Database errors.
pub async fn dead(db: &Db) -> StoreResult<Vec<DeadEmail>> {
    const SQL: &str = "SELECT e.thread_id, e.kind, e.last_error, e.due_at FROM email_outbox e \
        WHERE e.status = 'dead' AND e.thread_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM email_outbox s \
          WHERE s.thread_id = e.thread_id AND s.status = 'sent' AND s.id > e.id) \
        ORDER BY e.id DESC LIMIT 200";
    Ok(with_db!(db, p => sqlx::query_as(SQL).fetch_all(p).await)?)
}

/// How many rows are in each state (for the metrics).
///
/// # Errors
/// Database errors.
pub async fn counts(db: &Db) -> StoreResult<Vec<(EmailStatus, i64)>> {
    const SQL: &str = "SELECT status, COUNT(*) FROM email_outbox GROUP BY status";
    Ok(with_db!(db, p => sqlx::query_as(SQL).fetch_all(p).await)?)
}

/// Kind and thread of row `id` (tests and tools).
///
/// # Errors
/// Database errors.
pub async fn row(db: &Db, id: EmailId) -> StoreResult<Option<EmailRow>> {
    const SQL: &str = concat!("SELECT ", row!(), " FROM email_outbox WHERE id = $1");
    Ok(with_db!(db, p => sqlx::query_as(SQL).bind(id).fetch_optional(p).await)?)
}

/// Every row of `thread_id`, oldest first (the panel, tests).
///
/// # Errors
/// Database errors.
pub async fn of_thread(db: &Db, thread_id: &ThreadId) -> StoreResult<Vec<EmailRow>> {
    const SQL: &str = concat!(
        "SELECT ",
        row!(),
        " FROM email_outbox WHERE thread_id = $1 ORDER BY id"
    );
    Ok(with_db!(db, p => sqlx::query_as(SQL).bind(thread_id).fetch_all(p).await)?)
}

/// The right to send email: of several instances on one Postgres exactly
/// one holds it (a session-level advisory lock, PostgreSQL docs
/// § 9.28.10, on one pooled connection); on SQLite it is always held.
#[derive(Default)]
pub struct Leader {
    conn: Option<sqlx::pool::PoolConnection<sqlx::Postgres>>,
    /// SQLite: `hold` was called before.
    started: bool,
}

/// Fixed key of the email lock (`"sohbet-email"` as bytes).
const EMAIL_LOCK: i64 = 0x736f_6862_6574_656d;

impl Leader {
    /// Is this instance the sender now? `Some(true)` when it just became
    /// it (the caller recovers rows left `sending`), `Some(false)` when it
    /// already was, `None` when another instance is.
    pub async fn hold(&mut self, db: &Db) -> Option<bool> {
        let Db::Postgres(pool) = db else {
            let first = !self.started;
            self.started = true;
            return Some(first);
        };
        if let Some(conn) = self.conn.as_mut() {
            if sqlx::query("SELECT 1").execute(&mut **conn).await.is_ok() {
                return Some(false);
            }
            self.conn = None;
        }
        let mut conn = pool.acquire().await.ok()?;
        let got: Result<bool, _> = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(EMAIL_LOCK)
            .fetch_one(&mut *conn)
            .await;
        if matches!(got, Ok(true)) {
            tracing::info!("this instance sends the email outbox");
            self.conn = Some(conn);
            Some(true)
        } else {
            None
        }
    }
}
