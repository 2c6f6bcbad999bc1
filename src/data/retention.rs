//! The retention job (issue 27 item 4): with `RETENTION_DAYS` set, closed
//! threads whose last activity is older than that many days are erased
//! as `DELETE /api/threads/{id}` erases them (rows, search index, files;
//! the Telegram topic stays in the group). It runs at start-up and then
//! every [`EVERY`] (a failed run is tried again after [`RETRY`]). Threads are picked [`BATCH`] at a time, each erased in
//! its own short transaction, with a [`PAUSE`] after each batch, so that
//! the group-commit writer (the message hot path) never waits long for
//! the database. A run that erased threads is recorded in the audit log
//! (`retention`, `{days, threads}`).

use std::time::Duration;

use chrono::TimeDelta;
use serde_json::json;

use super::{Data, EraseOptions};
use crate::{
    chat::{ChatError, ChatResult},
    domain::{ActedBy, AuditAction},
    store,
};

/// Threads picked per batch.
pub const BATCH: i64 = 50;
/// Pause after each batch.
pub const PAUSE: Duration = Duration::from_millis(200);
/// Time between runs.
pub const EVERY: Duration = Duration::from_secs(24 * 3600);
/// Wait before trying again after a failed run.
pub const RETRY: Duration = Duration::from_secs(60);

impl Data {
    /// One retention run with `days`: erases every closed thread whose
    /// last activity is more than `days` days old; returns how many.
    ///
    /// # Errors
    /// Database errors (threads erased before stay erased).
    #[tracing::instrument(skip(self))]
    pub async fn retention_pass(&self, days: u32) -> ChatResult<u64> {
        let before = store::now() - TimeDelta::days(i64::from(days));
        let mut erased = 0u64;
        loop {
            let ids = store::erase::closed_before(&self.db, before, BATCH).await?;
            for id in &ids {
                if self
                    .erase_one(
                        id,
                        None,
                        EraseOptions {
                            only_closed_before: Some(before),
                            ..EraseOptions::default()
                        },
                    )
                    .await?
                    .is_some()
                {
                    erased += 1;
                }
            }
            if ids.len() < BATCH as usize {
                break;
            }
            tokio::time::sleep(PAUSE).await;
        }
        if erased > 0 {
            self.purge_search_index().await;
            let detail = json!({"days": days, "threads": erased});
            self.audit(
                &ActedBy::retention(),
                AuditAction::Retention,
                None,
                Some(&detail),
            )
            .await?;
            tracing::info!(
                threads = erased,
                days,
                "retention erased old closed threads"
            );
        }
        Ok(erased)
    }

    /// Starts the job when `RETENTION_DAYS` is set: a run now, then one
    /// every [`EVERY`], until the database is closed (server stop).
    pub fn start_retention(&self) {
        let Some(days) = self.retention_days else {
            return;
        };
        let data = self.clone();
        tokio::spawn(async move {
            loop {
                match data.retention_pass(days).await {
                    Ok(_) => {}
                    Err(ChatError::Unavailable(Some(e))) if e.is_closed() => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "retention run failed; next run as planned")
                    }
                }
                tokio::time::sleep(EVERY).await;
            }
        });
    }
}
