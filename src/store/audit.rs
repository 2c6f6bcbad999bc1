//! The `audit_log` table (issue 27 item 6, migration 0016): who erased,
//! ran retention, disabled or enabled an agent, made a backup. Rows are
//! written in the transaction of what they record ([`super::erase`]) or
//! alone ([`record`]); nothing deletes them (no foreign key: an erased
//! thread's entry stays). One SQL text for both backends.

use chrono::{DateTime, Utc};

use super::with_db;
use super::{Db, StoreResult};
use crate::domain::{ActedBy, AuditAction, AuditEntry, AuditRow};

/// Inserts one entry: `$1` agent id, `$2` agent name, `$3` action, `$4`
/// target, `$5` detail (JSON text), `$6` time.
pub(super) const INSERT_SQL: &str = "INSERT INTO audit_log \
     (agent_id, agent_name, action, target, detail, created_at) VALUES ($1, $2, $3, $4, $5, $6)";

/// Runs [`INSERT_SQL`] on `$exec` (a pool or a transaction); yields
/// `Result<_, sqlx::Error>`.
macro_rules! insert_entry {
    ($exec:expr, $by:expr, $action:expr, $target:expr, $detail:expr, $now:expr) => {
        sqlx::query($crate::store::audit::INSERT_SQL)
            .bind($by.id)
            .bind(&$by.name)
            .bind($action.as_str())
            .bind($target)
            .bind($detail.map(|d: &serde_json::Value| d.to_string()))
            .bind($now)
            .execute($exec)
            .await
    };
}
pub(super) use insert_entry;

/// Records `action` by `by` on `target` with `detail` (a JSON object of
/// counts, never content) at `now`.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db, by, detail), fields(by = %by.name, action = action.as_str()))]
pub async fn record(
    db: &Db,
    by: &ActedBy,
    action: AuditAction,
    target: Option<&str>,
    detail: Option<&serde_json::Value>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    with_db!(db, p => insert_entry!(p, by, action, target, detail, now).map(|_| ()))?;
    Ok(())
}

/// The newest `limit` entries, newest first.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn list(db: &Db, limit: i64) -> StoreResult<Vec<AuditEntry>> {
    const SQL: &str = "SELECT id, agent_id, agent_name, action, target, detail, created_at \
         FROM audit_log ORDER BY id DESC LIMIT $1";
    let rows: Vec<AuditRow> =
        with_db!(db, p => sqlx::query_as(SQL).bind(limit).fetch_all(p).await)?;
    Ok(rows.into_iter().map(AuditEntry::from).collect())
}
