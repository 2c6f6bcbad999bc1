//! Thread status and blocks (issue 13) in the `threads` table: closing and
//! reopening, blocking and unblocking a thread's visitor, the list of
//! blocked threads and the count of open and closed threads. The reopening
//! of a closed thread by its visitor's message happens in the group commit
//! ([`super::messages::insert_batch`]), not here.

use crate::domain::ThreadId;
use chrono::{DateTime, Utc};

use super::thread_events::insert_event;
use super::with_db;
use super::{Db, StoreResult};
use crate::domain::{ActedBy, Thread, ThreadAction, ThreadEvent, ThreadStatus};

/// `RETURNING` the columns of [`Thread`] (no table alias), for `concat!`.
macro_rules! returning {
    () => {
        " RETURNING id, display_name, created_at, last_activity_at, status, visitor_last_seen_at, \
         blocked_at, assignee_agent_id AS assignee_id, \
         (SELECT a.display_name FROM agents a WHERE a.id = assignee_agent_id) AS assignee_name"
    };
}

/// The columns of [`Thread`] (no table alias), for `concat!`.
macro_rules! thread_cols {
    () => {
        "id, display_name, created_at, last_activity_at, status, visitor_last_seen_at, blocked_at, \
         assignee_agent_id AS assignee_id, \
         (SELECT a.display_name FROM agents a WHERE a.id = assignee_agent_id) AS assignee_name"
    };
}

/// What a status or block change did: the thread as it is now, and the
/// event recorded when it changed (`None`: it already was so; nothing was
/// written).
pub type Changed = (Thread, Option<ThreadEvent>);

/// Runs `$update` (an `UPDATE … RETURNING` that matches only when the
/// thread changes) in a transaction; when it matched, records `$action`
/// by `$by` in the same transaction, else reads the row as it is.
macro_rules! change_with_event {
    ($db:expr, $id:expr, $by:expr, $action:expr, $now:expr, $update:expr) => {
        change_with_event!($db, $id, $by, $action, $now, $update, None::<&str>)
    };
    ($db:expr, $id:expr, $by:expr, $action:expr, $now:expr, $update:expr, $also:expr) => {
        with_db!($db, p => {
            let mut tx = p.begin().await?;
            let updated: Option<Thread> = $update.fetch_optional(&mut *tx).await?;
            let out = match updated {
                Some(t) => {
                    let ev = insert_event!(&mut *tx, $id, $by, $action, None::<&str>, $now)?;
                    // What the change also causes, in its transaction
                    // (`$1` now, `$2` the thread): e.g. a transcript email.
                    if let Some(sql) = $also {
                        sqlx::query(sql).bind($now).bind($id).execute(&mut *tx).await?;
                    }
                    Some((t, Some(ev)))
                }
                None => {
                    const GET: &str = concat!("SELECT ", thread_cols!(), " FROM threads WHERE id = $1");
                    let t: Option<Thread> = sqlx::query_as(GET).bind($id).fetch_optional(&mut *tx).await?;
                    t.map(|t| (t, None))
                }
            };
            tx.commit().await?;
            Ok::<_, sqlx::Error>(out)
        })
    };
}

/// Sets the status of thread `id` to `status` (`status_changed_at` = `now`)
/// and records `action` by `by`, in one transaction, when the status
/// changes (a stored `active` already is `open`). Returns the row and the
/// event, `None` for an unknown thread.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db, by), fields(by = %by.name))]
pub async fn set_status(
    db: &Db,
    id: &ThreadId,
    status: ThreadStatus,
    now: DateTime<Utc>,
    by: &ActedBy,
) -> StoreResult<Option<Changed>> {
    set_status_with(db, id, status, now, by, false).await
}

/// [`set_status`]; with `transcript` a close also schedules a transcript
/// email of the thread in the same transaction (`EMAIL_TRANSCRIPT_ON_CLOSE`,
/// issue 26; `store::email::SCHEDULE_TRANSCRIPT_SQL`).
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db, by), fields(by = %by.name))]
pub async fn set_status_with(
    db: &Db,
    id: &ThreadId,
    status: ThreadStatus,
    now: DateTime<Utc>,
    by: &ActedBy,
    transcript: bool,
) -> StoreResult<Option<Changed>> {
    let also = (transcript && status == ThreadStatus::Closed)
        .then_some(super::email::SCHEDULE_TRANSCRIPT_SQL);
    const SQL: &str = concat!(
        "UPDATE threads SET status = $1, status_changed_at = $2 \
         WHERE id = $3 AND status <> $1 AND status <> $4",
        returning!()
    );
    let (action, same) = match status {
        ThreadStatus::Open => (ThreadAction::Reopen, "active"),
        ThreadStatus::Closed => (ThreadAction::Close, "closed"),
    };
    Ok(change_with_event!(
        db,
        id,
        by,
        action,
        now,
        sqlx::query_as(SQL)
            .bind(status)
            .bind(now)
            .bind(id)
            .bind(same),
        also
    )?)
}

/// Blocks (`blocked`: `blocked_at` = `now`) or unblocks (`blocked_at` =
/// NULL) the visitor of thread `id` and records `block` / `unblock` by
/// `by`, in one transaction, when that changes anything (blocking a
/// blocked visitor keeps its `blocked_at`). Returns the row and the event,
/// `None` for an unknown thread. Nothing else changes.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db, by), fields(by = %by.name))]
pub async fn set_blocked(
    db: &Db,
    id: &ThreadId,
    blocked: bool,
    now: DateTime<Utc>,
    by: &ActedBy,
) -> StoreResult<Option<Changed>> {
    const BLOCK: &str = concat!(
        "UPDATE threads SET blocked_at = $1 WHERE id = $2 AND blocked_at IS NULL",
        returning!()
    );
    const UNBLOCK: &str = concat!(
        "UPDATE threads SET blocked_at = NULL WHERE id = $1 AND blocked_at IS NOT NULL",
        returning!()
    );
    let changed = if blocked {
        change_with_event!(
            db,
            id,
            by,
            ThreadAction::Block,
            now,
            sqlx::query_as(BLOCK).bind(now).bind(id)
        )
    } else {
        change_with_event!(
            db,
            id,
            by,
            ThreadAction::Unblock,
            now,
            sqlx::query_as(UNBLOCK).bind(id)
        )
    };
    Ok(changed?)
}

/// The ids of every thread whose visitor is blocked (loaded into the core's
/// in-memory set at start and after a lost Redis subscription).
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn blocked_ids(db: &Db) -> StoreResult<Vec<ThreadId>> {
    const SQL: &str = "SELECT id FROM threads WHERE blocked_at IS NOT NULL";
    Ok(with_db!(db, p => sqlx::query_scalar(SQL).fetch_all(p).await)?)
}

/// The blocked threads, most recently blocked first, at most `limit`.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn blocked(db: &Db, limit: i64) -> StoreResult<Vec<Thread>> {
    const SQL: &str = concat!(
        "SELECT ",
        super::threads::thread_cols!(),
        " FROM threads t WHERE t.blocked_at IS NOT NULL ORDER BY t.blocked_at DESC, t.id LIMIT $1"
    );
    Ok(with_db!(db, p => sqlx::query_as(SQL).bind(limit).fetch_all(p).await)?)
}

/// How many threads are open (a stored `active` counts as open) and how
/// many closed: `(open, closed)`.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn counts(db: &Db) -> StoreResult<(i64, i64)> {
    const SQL: &str = "SELECT COUNT(*) AS n, \
        COALESCE(SUM(CASE WHEN status = 'closed' THEN 1 ELSE 0 END), 0) AS closed FROM threads";
    let (all, closed): (i64, i64) = with_db!(db, p => sqlx::query_as(SQL).fetch_one(p).await)?;
    Ok((all - closed, closed))
}
