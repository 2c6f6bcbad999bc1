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
//!
//! Under a steady load that alone never lets the log start over: a
//! passive checkpoint copies the frames that were in the log when it began,
//! and by the time it ends the writer has appended more, and SQLite rewinds
//! the log only after a checkpoint that copied every frame ("Checkpoint
//! starvation" on the page above). Measured: 645 MB of log after 30 s at
//! 1,000 messages a second, 2.2 GB at 5,000 (docs/benchmarks.md). So when
//! a pass leaves frames behind, the writing connection's thread
//! (`sqlite_writer`, registered here by database file) copies the rest
//! between two batches: only the frames of the last few milliseconds, and
//! no frame is added while it does, so the log is wholly copied and the
//! next transaction writes from its start again.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use sqlx::SqlitePool;

/// Asks a database's writer thread for a checkpoint of its own between two
/// batches; `false` once that thread is gone.
pub type Finisher = dyn Fn() -> bool + Send + Sync;

/// The writers that finish checkpoints, by database file (weak: a writer
/// that is dropped leaves).
static FINISHERS: Mutex<Vec<(PathBuf, Weak<Finisher>)>> = Mutex::new(Vec::new());

/// Registers `finisher` as the writer of the database file `path`.
pub fn register_finisher(path: &Path, finisher: &Arc<Finisher>) {
    let mut all = FINISHERS.lock().unwrap_or_else(|p| p.into_inner());
    all.retain(|(_, f)| f.strong_count() > 0);
    all.push((path.to_owned(), Arc::downgrade(finisher)));
}

/// Asks the writer of `path`, if one is registered, to copy what a pass
/// left behind.
fn finish(path: &Path) {
    let all = FINISHERS.lock().unwrap_or_else(|p| p.into_inner());
    for (p, f) in all.iter().rev() {
        if p == path
            && let Some(f) = f.upgrade()
            && f()
        {
            return;
        }
    }
}

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
        // The log's length at the last pass: unchanged means no commit came
        // since, and the writer is left asleep.
        let mut last_log = -1;
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
                Ok((busy, log, _)) => {
                    failing = false;
                    // The pass reports the log as it was when the pass began:
                    // frames appended meanwhile are not in its figures, so
                    // the writer is asked after every pass that ran while
                    // commits came (the log's length moved since the last).
                    if busy == 0 && log != last_log {
                        finish(pool.connect_options().get_filename());
                    }
                    last_log = log;
                }
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
