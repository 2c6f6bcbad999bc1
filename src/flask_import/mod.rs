//! Switching from Flask Chat v2.x keeps its data (issue 11).
//!
//! At start ([`open`]), before sqlx's migrations, the configured database is
//! classified ([`detect`]): empty or sohbet's own → nothing to do; Flask
//! Chat's (`threads`, `messages`, `telegram_links` of seed
//! `flask-chat-v2.1-system-documentation.md` § "database.py", and nothing
//! else) → upgraded in place, in one transaction, after a backup (SQLite:
//! a copy of the file next to it, `<file>.flask-backup-<UTC time>`;
//! Postgres: the old tables kept as `flask_*`); anything else → start-up
//! stops with [`FlaskError::Unknown`] naming the tables, changing nothing.
//!
//! [`import`] runs the same conversion from a separate Flask database into
//! the configured one (`sohbet import-flask`); a second run adds nothing.
//!
//! The conversion ([`convert`]): threads keep id and display name;
//! messages get integer ids by time (ties by the old row order); naive
//! UTC+3 times become UTC ([`time`]); `file_path` becomes the served URL;
//! Telegram links are kept so that a reply to a message the Flask app
//! forwarded still reaches its thread. Rows that break a rule are skipped
//! and reported (table, old id, reason), never dropped silently.
//!
//! This module owns only the upgrade; it does not touch sohbet's own rows
//! except to add the converted ones. It stands above [`crate::store`] (it
//! opens the pool with [`Db::connect`] and migrates with [`Db::migrate`]);
//! the store knows nothing of it.

pub mod convert;
pub mod detect;
pub mod postgres;
pub mod read;
pub mod sqlite;
pub mod time;
pub mod write;

use std::path::{Path, PathBuf};

use crate::config::DatabaseConfig;
use crate::store::{Db, OpenError};

/// Why an upgrade or import could not be done. Nothing is changed in the
/// configured database when one of these is returned (an upgrade commits
/// in one transaction; [`FlaskError::Store`] comes before it or after it).
#[derive(Debug, thiserror::Error)]
pub enum FlaskError {
    /// The configured database could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] OpenError),
    /// The configured database is neither sohbet's nor Flask Chat's.
    #[error(
        "the database holds tables that are neither sohbet's nor Flask Chat v2.x's: {}; \
         nothing was changed (point DATABASE_URL or SQLITE_PATH at an empty, a sohbet or a \
         Flask Chat database)",
        .tables.join(", ")
    )]
    Unknown {
        /// The tables found, sorted.
        tables: Vec<String>,
    },
    /// The import source is not a Flask Chat database.
    #[error("{source_name} is not a Flask Chat v2.x database (tables found: {})", list(.tables))]
    NotFlask {
        /// The source as given (a Postgres URL without its password).
        source_name: String,
        /// The tables found, sorted.
        tables: Vec<String>,
    },
    /// The SQLite backup could not be written.
    #[error("cannot write the backup {path}: {source}")]
    Backup {
        /// The backup file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A database error.
    #[error("Flask Chat upgrade: {0}")]
    Sql(#[from] sqlx::Error),
    /// sohbet's migrations failed inside the upgrade.
    #[error("Flask Chat upgrade: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// `a, b, c`, or `none`.
fn list(tables: &[String]) -> String {
    if tables.is_empty() {
        "none".into()
    } else {
        tables.join(", ")
    }
}

/// What an upgrade or an import did.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Rows added, and rows that were there already.
    pub counts: write::Counts,
    /// Rows left out, with the reason.
    pub skipped: Vec<convert::Skipped>,
    /// Flask columns not carried over (`table.column`).
    pub extra_columns: Vec<String>,
    /// Where the old data is kept (upgrade only).
    pub backup: Option<String>,
}

impl Report {
    /// One line: what moved, what was there, what was skipped.
    pub fn summary(&self) -> String {
        let c = &self.counts;
        let mut s = format!(
            "{} threads, {} messages, {} Telegram links added",
            c.threads, c.messages, c.links
        );
        if c.already_there > 0 {
            s.push_str(&format!(", {} rows already there", c.already_there));
        }
        s.push_str(&format!(", {} rows skipped", self.skipped.len()));
        if !self.extra_columns.is_empty() {
            s.push_str(&format!(
                ", columns not carried over: {}",
                self.extra_columns.join(", ")
            ));
        }
        if let Some(b) = &self.backup {
            s.push_str(&format!("; backup: {b}"));
        }
        s
    }

    /// Logs every skipped row (warn) and then the summary (info).
    pub fn log(&self, what: &str) {
        for s in &self.skipped {
            tracing::warn!("Flask Chat row skipped: {s}");
        }
        tracing::info!("{what}: {}", self.summary());
    }
}

/// Opens the configured database for use: upgrades a Flask Chat database
/// in place (logging one line of what it did), then applies sohbet's
/// migrations. `upload_dir` is `UPLOAD_DIR`. Returns the pool and the
/// upgrade's report, if one was made.
///
/// # Errors
/// [`FlaskError::Unknown`] (nothing changed), [`FlaskError::Store`] when
/// the database cannot be opened or migrated, among others.
#[tracing::instrument(skip_all)]
pub async fn open(
    database: &DatabaseConfig,
    upload_dir: &Path,
) -> Result<(Db, Option<Report>), FlaskError> {
    let mut report = None;
    if let DatabaseConfig::Sqlite(path) = database {
        match sqlite::schema_of(path).await? {
            detect::Schema::Unknown { tables } => {
                return Err(FlaskError::Unknown { tables });
            }
            detect::Schema::Flask { .. } => {
                let backup = sqlite::backup(path).await?;
                report = sqlite::upgrade(path, upload_dir).await?;
                if let Some(r) = report.as_mut() {
                    r.backup = Some(backup.display().to_string());
                }
            }
            detect::Schema::Empty | detect::Schema::Sohbet => {}
        }
    }
    let db = Db::connect(database).await?;
    if let Db::Postgres(pool) = &db {
        report = postgres::upgrade(pool, upload_dir).await?;
    }
    if let Some(r) = &report {
        r.log("upgraded the Flask Chat database in place");
    }
    db.migrate().await?;
    Ok((db, report))
}

/// Where `import-flask` reads from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A Postgres URL (`postgres://` or `postgresql://`).
    Postgres(String),
}

impl Source {
    /// A `postgres://`/`postgresql://` URL, else a SQLite path (`sqlite:` prefix allowed).
    pub fn parse(arg: &str) -> Source {
        if arg.starts_with("postgres://") || arg.starts_with("postgresql://") {
            Source::Postgres(arg.to_owned())
        } else {
            let path = arg.strip_prefix("sqlite:").unwrap_or(arg);
            Source::Sqlite(path.trim_start_matches("//").into())
        }
    }

    /// How the source is shown: a Postgres URL without its password.
    pub fn shown(&self) -> String {
        match self {
            Source::Sqlite(p) => p.display().to_string(),
            Source::Postgres(url) => crate::config::masked_url(url),
        }
    }
}

/// Imports the Flask Chat database `source` into `db` (already opened
/// with [`open`]) in one transaction; a second run adds nothing (see
/// [`write`]).
///
/// # Errors
/// [`FlaskError`]; nothing is written then.
#[tracing::instrument(skip_all)]
pub async fn import(db: &Db, source: &Source, upload_dir: &Path) -> Result<Report, FlaskError> {
    let data = match source {
        Source::Sqlite(path) => sqlite::read_source(path).await?,
        Source::Postgres(url) => postgres::read_source(url, &source.shown()).await?,
    };
    let converted = convert::convert(&data, upload_dir);
    let counts = match db {
        Db::Sqlite(pool) => {
            let mut conn = pool.acquire().await?;
            let mut tx = sqlx::Connection::begin_with(&mut *conn, "BEGIN IMMEDIATE").await?;
            let counts = write::insert(&mut write::Tx::Sqlite(&mut tx), &converted).await?;
            tx.commit().await?;
            counts
        }
        Db::Postgres(pool) => {
            let mut tx = pool.begin().await?;
            let counts = write::insert(&mut write::Tx::Postgres(&mut tx), &converted).await?;
            tx.commit().await?;
            counts
        }
    };
    let report = Report {
        counts,
        skipped: converted.skipped,
        extra_columns: Vec::new(),
        backup: None,
    };
    report.log(&format!("imported {}", source.shown()));
    Ok(report)
}
