//! The database: a sqlx pool for SQLite or Postgres, chosen at run time from
//! `DATABASE_URL`, with migrations embedded per backend
//! (`migrations/sqlite`, `migrations/postgres`). One SQL text serves both
//! backends (`$1` placeholders work on both); [`with_db!`] expands a body once
//! per backend. This module owns SQL; it knows nothing of HTTP or sockets.
//! It reads and writes the types of [`crate::domain`] and answers with its
//! own [`StoreError`] (the driver's error kept as the source).

pub mod agent_links;
pub mod agents;
pub mod assignment;
pub mod audit;
pub mod auth;
mod batch;
pub mod buttons;
pub mod canned;
mod checkpoint;
pub mod email;
pub mod erase;
mod error;
pub mod export;
mod message_sql;
pub mod messages;
pub mod outbox;
mod pg_batch;
pub mod pg_url;
pub mod search;
pub mod sqlite_writer;
pub mod thread_events;
pub mod thread_status;
pub mod threads;
pub mod topics;
pub mod visitors;

use std::time::Duration;

use sqlx::{
    postgres::PgPoolOptions,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

use crate::config::DatabaseConfig;

pub use error::{StoreError, StoreResult};

/// A pool on one of the two supported backends.
#[derive(Clone, Debug)]
pub enum Db {
    /// SQLite (WAL, `synchronous=NORMAL`, busy timeout 5 s, foreign keys on,
    /// checkpoints in the background: `checkpoint`).
    Sqlite(sqlx::SqlitePool),
    /// Postgres.
    Postgres(sqlx::PgPool),
}

/// Runs `$body` with `$p` bound to the backend's pool (`&SqlitePool` or
/// `&PgPool`). Private to the store: only its modules write SQL.
macro_rules! with_db {
    ($db:expr, $p:ident => $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite($p) => $body,
            $crate::store::Db::Postgres($p) => $body,
        }
    };
}
pub(crate) use with_db;

/// Errors of opening the database.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The SQLite folder could not be created.
    #[error("cannot create the SQLite folder {path}: {source}")]
    Folder {
        /// The folder.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Connecting failed.
    #[error("cannot connect to the {kind} database: {source}")]
    Connect {
        /// `sqlite` or `postgres`.
        kind: &'static str,
        /// Why.
        source: sqlx::Error,
    },
    /// A migration failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl Db {
    /// Opens the pool (creating the SQLite file and folder when missing).
    ///
    /// Postgres is retried for up to 30 s so that a server started together
    /// with its database (Railway, Render, compose) does not give up at once.
    ///
    /// # Errors
    /// [`OpenError`] when the folder cannot be made or the database does not answer.
    #[tracing::instrument(skip_all, fields(kind))]
    pub async fn connect(config: &DatabaseConfig) -> Result<Db, OpenError> {
        match config {
            DatabaseConfig::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|source| OpenError::Folder {
                        path: dir.display().to_string(),
                        source,
                    })?;
                }
                let opts = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(5))
                    .foreign_keys(true)
                    // Statement journals (every multi-row statement of a
                    // group commit needs one) in memory, not in a temporary
                    // file: a profile at 12,000 msg/s showed 10 % of the
                    // server's CPU writing them (docs/benchmarks.md).
                    .pragma("temp_store", "memory")
                    // Deleted content is overwritten on the page it was on
                    // (an erased thread leaves no readable text in the
                    // file's free space; `fast`: no extra I/O).
                    .pragma("secure_delete", "fast")
                    // Checkpoints run in the background (`checkpoint`).
                    .pragma("wal_autocheckpoint", "0")
                    .pragma("journal_size_limit", checkpoint::WAL_SIZE_LIMIT);
                let pool = SqlitePoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_with(opts)
                    .await
                    .map_err(|source| OpenError::Connect {
                        kind: "sqlite",
                        source,
                    })?;
                checkpoint::spawn(pool.clone());
                Ok(Db::Sqlite(pool))
            }
            DatabaseConfig::Postgres(url) => {
                let opts = pg_url::pg_options(url).map_err(|source| OpenError::Connect {
                    kind: "postgres",
                    source,
                })?;
                let mut tries = 0;
                loop {
                    let res = PgPoolOptions::new()
                        .max_connections(16)
                        .acquire_timeout(Duration::from_secs(5))
                        .connect_with(opts.clone())
                        .await;
                    match res {
                        Ok(pool) => return Ok(Db::Postgres(pool)),
                        Err(e) if tries < 15 && matches!(e, sqlx::Error::Io(_)) => {
                            tries += 1;
                            tracing::warn!(error = %e, "postgres not answering yet, retrying");
                            tokio::time::sleep(Duration::from_secs(2)).await;
                        }
                        Err(source) => {
                            return Err(OpenError::Connect {
                                kind: "postgres",
                                source,
                            });
                        }
                    }
                }
            }
        }
    }

    /// Applies the embedded migrations of this backend.
    ///
    /// # Errors
    /// [`OpenError::Migrate`].
    #[tracing::instrument(skip_all)]
    pub async fn migrate(&self) -> Result<(), OpenError> {
        match self {
            Db::Sqlite(p) => sqlx::migrate!("migrations/sqlite").run(p).await?,
            Db::Postgres(p) => sqlx::migrate!("migrations/postgres").run(p).await?,
        }
        Ok(())
    }

    /// `SELECT 1`: does the database answer?
    pub async fn ping(&self) -> bool {
        let q = "SELECT 1";
        with_db!(self, p => sqlx::query(q).execute(p).await.is_ok())
    }

    /// Closes the pool (shutdown).
    pub async fn close(&self) {
        with_db!(self, p => p.close().await)
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }
}

/// Now in UTC, truncated to microseconds (what both backends keep).
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::{DurationRound, TimeDelta};
    let t = chrono::Utc::now();
    t.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(t)
}
