//! Thread status and blocks (issue 13) in the `threads` table: closing and
//! reopening, blocking and unblocking a thread's visitor, the list of
//! blocked threads and the count of open and closed threads. The reopening
//! of a closed thread by its visitor's message happens in the group commit
//! ([`super::messages::insert_batch`]), not here.

use chrono::{DateTime, Utc};

use super::with_db;
use super::{Db, StoreResult};
use crate::domain::{Thread, ThreadStatus};

/// `RETURNING` the columns of [`Thread`] (no table alias), for `concat!`.
macro_rules! returning {
    () => {
        " RETURNING id, display_name, created_at, last_activity_at, status, visitor_last_seen_at, blocked_at"
    };
}

/// Sets the status of thread `id` to `status`;
/// `status_changed_at` becomes `now` when the status changes. Returns the
/// updated row, `None` for an unknown thread.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn set_status(
    db: &Db,
    id: &str,
    status: ThreadStatus,
    now: DateTime<Utc>,
) -> StoreResult<Option<Thread>> {
    const SQL: &str = concat!(
        "UPDATE threads SET status = $1, status_changed_at = \
         CASE WHEN status = $1 THEN status_changed_at ELSE $2 END WHERE id = $3",
        returning!()
    );
    Ok(
        with_db!(db, p => sqlx::query_as(SQL).bind(status).bind(now).bind(id).fetch_optional(p).await)?,
    )
}

/// Blocks (`blocked`: `blocked_at` = `now`, kept when already blocked) or
/// unblocks (`blocked_at` = NULL) the visitor of thread `id`. Returns the
/// updated row, `None` for an unknown thread. Nothing else changes.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn set_blocked(
    db: &Db,
    id: &str,
    blocked: bool,
    now: DateTime<Utc>,
) -> StoreResult<Option<Thread>> {
    const SQL: &str = concat!(
        "UPDATE threads SET blocked_at = \
         CASE WHEN $1 THEN COALESCE(blocked_at, $2) ELSE NULL END WHERE id = $3",
        returning!()
    );
    Ok(
        with_db!(db, p => sqlx::query_as(SQL).bind(blocked).bind(now).bind(id).fetch_optional(p).await)?,
    )
}

/// The ids of every thread whose visitor is blocked (loaded into the core's
/// in-memory set at start and after a lost Redis subscription).
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn blocked_ids(db: &Db) -> StoreResult<Vec<String>> {
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
