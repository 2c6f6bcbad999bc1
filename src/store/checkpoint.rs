//! SQLite WAL checkpoints off the commit path.
//!
//! By default SQLite checkpoints inside the `COMMIT` that takes the
//! write-ahead log past 1,000 pages: that commit copies the pages back into
//! the database file and `fsync`s it before it returns, so one group-commit
//! batch in every few hundred waits tens of milliseconds, and with it every
//! message of that batch (the p99 of a steady load). Here automatic
//! checkpoints are off (`PRAGMA wal_autocheckpoint=0`, set on every
//! connection in [`super::Db::connect`]) and a background task runs
//! `PRAGMA wal_checkpoint(PASSIVE)` every [`INTERVAL`] on a pool
//! connection of its own: a passive checkpoint never blocks the writer
//! (SQLite docs, "Checkpointing" in <https://www.sqlite.org/wal.html>), and
//! the log restarts from its beginning once a checkpoint has caught up.
//! `journal_size_limit` trims a log that grew during a burst.

use std::time::Duration;

use sqlx::SqlitePool;

/// Time between two checkpoints.
pub const INTERVAL: Duration = Duration::from_millis(500);

/// Size a write-ahead log is cut back to after a checkpoint restarts it
/// (`PRAGMA journal_size_limit`, bytes).
pub const WAL_SIZE_LIMIT: &str = "67108864";

/// Starts the checkpointer of `pool`; it ends when the pool is closed.
pub fn spawn(pool: SqlitePool) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        loop {
            tick.tick().await;
            if pool.is_closed() {
                break;
            }
            // (busy, pages in the log, pages checkpointed)
            let res: Result<(i64, i64, i64), _> = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
                .fetch_one(&pool)
                .await;
            match res {
                Ok(_) => failing = false,
                Err(_) if pool.is_closed() => break,
                // One line per episode, not one per tick.
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(error = %e, "SQLite checkpoint failed; retrying every {INTERVAL:?}");
                }
                Err(_) => {}
            }
        }
    });
}
