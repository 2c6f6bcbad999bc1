//! The `thread_events` table (issue 22 item 7, migration 0013): who did
//! what to a thread. Rows are written in the transaction of the change
//! they record ([`super::thread_status`], [`super::messages::clear`]) or
//! alone ([`record`], for actions such as `assign` that other modules
//! own); they go only with their thread (`ON DELETE CASCADE`), so clearing
//! a thread's messages keeps them. One SQL text for both backends.

use crate::domain::ThreadId;
use chrono::{DateTime, Utc};

use super::with_db;
use super::{Db, StoreResult};
use crate::domain::{ActedBy, ThreadAction, ThreadEvent, ThreadEventRow};

/// The columns of [`ThreadEventRow`], as a literal for `concat!`.
macro_rules! cols {
    () => {
        "id, thread_id, agent_id, agent_name, action, detail, created_at"
    };
}

/// Inserts one event: `$1` thread, `$2` agent id, `$3` agent name, `$4`
/// action, `$5` detail, `$6` time; returns the row.
pub(super) const INSERT_SQL: &str = concat!(
    "INSERT INTO thread_events (thread_id, agent_id, agent_name, action, detail, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
    cols!()
);

/// Runs [`INSERT_SQL`] on `$exec` (a pool or a transaction) and yields the
/// [`ThreadEvent`] (as `Result<_, sqlx::Error>`).
macro_rules! insert_event {
    ($exec:expr, $thread:expr, $by:expr, $action:expr, $detail:expr, $now:expr) => {
        sqlx::query_as::<_, $crate::domain::ThreadEventRow>(
            $crate::store::thread_events::INSERT_SQL,
        )
        .bind($thread)
        .bind($by.id)
        .bind(&$by.name)
        .bind($action)
        .bind($detail)
        .bind($now)
        .fetch_one($exec)
        .await
        .map($crate::domain::ThreadEvent::from)
    };
}
pub(super) use insert_event;

/// Records `action` (with `detail`) by `by` on thread `thread_id` at
/// `now`; `None` for an unknown thread (nothing stored).
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db, by, detail), fields(by = %by.name))]
pub async fn record(
    db: &Db,
    thread_id: &ThreadId,
    by: &ActedBy,
    action: ThreadAction,
    detail: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<Option<ThreadEvent>> {
    const SQL: &str = concat!(
        "INSERT INTO thread_events (thread_id, agent_id, agent_name, action, detail, created_at) \
         SELECT id, $2, $3, $4, $5, $6 FROM threads WHERE id = $1 RETURNING ",
        cols!()
    );
    let row: Option<ThreadEventRow> = with_db!(db, p => sqlx::query_as(SQL)
        .bind(thread_id)
        .bind(by.id)
        .bind(&by.name)
        .bind(action)
        .bind(detail)
        .bind(now)
        .fetch_optional(p)
        .await)?;
    Ok(row.map(ThreadEvent::from))
}

/// The newest `limit` events of thread `thread_id`, oldest first.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn list(db: &Db, thread_id: &ThreadId, limit: i64) -> StoreResult<Vec<ThreadEvent>> {
    const SQL: &str = concat!(
        "SELECT ",
        cols!(),
        " FROM (SELECT ",
        cols!(),
        " FROM thread_events WHERE thread_id = $1 ORDER BY id DESC LIMIT $2) e ORDER BY id"
    );
    let rows: Vec<ThreadEventRow> =
        with_db!(db, p => sqlx::query_as(SQL).bind(thread_id).bind(limit).fetch_all(p).await)?;
    Ok(rows.into_iter().map(ThreadEvent::from).collect())
}
