//! SQLite: finding Flask Chat's schema without touching the file, the
//! backup, and the in-place upgrade.
//!
//! Detection and backup use a read-only connection that sets no pragma
//! that writes (sqlx sets `journal_mode` only when asked), so a database
//! that is not upgraded keeps every byte. The backup is a byte copy of the
//! main file taken under a read transaction (Flask Chat uses SQLite's
//! default rollback journal: the shared lock keeps writers out while the
//! copy is made, so the copy equals the database); a database in WAL mode,
//! whose latest pages may sit in the `-wal` file, is backed up with
//! `VACUUM INTO` instead (a consistent copy, not the same bytes).

use std::{
    io::Write,
    path::{Path, PathBuf},
    time::Duration,
};

use sqlx::{Connection, SqliteConnection, sqlite::SqliteConnectOptions};

use super::{
    FlaskError, Report, convert, detect, read,
    write::{self, Tx},
};

/// Opens `path` read-only; `None` when the file does not exist.
async fn open_read_only(path: &Path) -> Result<Option<SqliteConnection>, FlaskError> {
    if !path.is_file() {
        return Ok(None);
    }
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .busy_timeout(Duration::from_secs(5));
    Ok(Some(SqliteConnection::connect_with(&opts).await?))
}

/// What a SQLite file holds ([`detect::Schema::Empty`] when it does not exist).
///
/// # Errors
/// [`FlaskError::Sql`] when the file cannot be read as a database.
#[tracing::instrument]
pub async fn schema_of(path: &Path) -> Result<detect::Schema, FlaskError> {
    let Some(mut conn) = open_read_only(path).await? else {
        return Ok(detect::Schema::Empty);
    };
    let tables = detect::sqlite_tables(&mut conn).await?;
    conn.close().await?;
    Ok(detect::classify(&tables))
}

/// `<file>.flask-backup-<UTC date and time>`, next to the database; a
/// number is added when that name is taken.
fn backup_path(path: &Path) -> PathBuf {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let base = format!("{}.flask-backup-{stamp}", path.display());
    let mut candidate = PathBuf::from(&base);
    let mut n = 1;
    while candidate.exists() {
        candidate = PathBuf::from(format!("{base}-{n}"));
        n += 1;
    }
    candidate
}

/// Backs `path` up next to itself (see the module doc) and returns the copy's path.
///
/// # Errors
/// [`FlaskError::Backup`] or [`FlaskError::Sql`]; nothing is changed in the database.
#[tracing::instrument]
pub async fn backup(path: &Path) -> Result<PathBuf, FlaskError> {
    let Some(mut conn) = open_read_only(path).await? else {
        return Err(FlaskError::Backup {
            path: path.display().to_string(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        });
    };
    let dest = backup_path(path);
    let io_err = |source| FlaskError::Backup {
        path: dest.display().to_string(),
        source,
    };
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await?;
    if mode.eq_ignore_ascii_case("wal") {
        sqlx::query("VACUUM INTO $1")
            .bind(dest.display().to_string())
            .execute(&mut conn)
            .await?;
    } else {
        let mut tx = conn.begin().await?;
        // The first read takes the shared lock, held until the end of `tx`.
        sqlx::query("SELECT COUNT(*) FROM sqlite_master")
            .execute(&mut *tx)
            .await?;
        let (src, dst) = (path.to_owned(), dest.clone());
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let mut from = std::fs::File::open(&src)?;
            let mut to = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&dst)?;
            std::io::copy(&mut from, &mut to)?;
            to.flush()?;
            to.sync_all()
        })
        .await
        .map_err(|e| io_err(std::io::Error::other(e)))?
        .map_err(io_err)?;
        tx.rollback().await?;
    }
    conn.close().await?;
    Ok(dest)
}

/// Upgrades the Flask Chat database at `path` in place, in one
/// transaction: the Flask tables are renamed `flask_*`, sohbet's
/// migrations run, the rows are converted and written, the `flask_*`
/// tables dropped (the backup keeps them). Returns `None` when the file
/// holds no Flask schema (any more).
///
/// # Errors
/// [`FlaskError`]; the transaction is rolled back and the file is unchanged.
#[tracing::instrument(skip(upload_dir))]
pub async fn upgrade(path: &Path, upload_dir: &Path) -> Result<Option<Report>, FlaskError> {
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .busy_timeout(Duration::from_secs(5))
        .foreign_keys(true);
    let mut conn = SqliteConnection::connect_with(&opts).await?;
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let tables = detect::sqlite_tables(&mut tx).await?;
    let detect::Schema::Flask {
        has_links,
        extra_columns,
    } = detect::classify(&tables)
    else {
        return Ok(None);
    };
    let flask = detect::flask_tables(&tables);
    // Indexes of the old tables would clash with sohbet's names; the
    // tables themselves go at the end of this transaction.
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
         AND tbl_name IN ('threads', 'messages', 'telegram_links')",
    )
    .fetch_all(&mut *tx)
    .await?;
    for index in indexes {
        let sql = format!("DROP INDEX \"{}\"", index.replace('"', "\"\""));
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await?;
    }
    for table in &flask {
        let sql = format!("ALTER TABLE \"{table}\" RENAME TO \"flask_{table}\"");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await?;
    }
    sqlx::migrate!("migrations/sqlite").run(&mut *tx).await?;
    let data = read::sqlite(&mut tx, "flask_", has_links).await?;
    let converted = convert::convert(&data, upload_dir);
    let counts = write::insert(&mut Tx::Sqlite(&mut tx), &converted).await?;
    // Children before parents: the Flask tables may carry foreign keys.
    for table in ["telegram_links", "messages", "threads"] {
        if flask.contains(&table) {
            let sql = format!("DROP TABLE \"flask_{table}\"");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await?;
    conn.close().await?;
    Ok(Some(Report {
        counts,
        skipped: converted.skipped,
        extra_columns,
        backup: None,
    }))
}

/// Reads the Flask tables of the SQLite file at `path` for an import, in
/// one read transaction.
///
/// # Errors
/// [`FlaskError::NotFlask`] naming the tables when it is not Flask Chat's
/// (or does not exist); database errors.
#[tracing::instrument]
pub async fn read_source(path: &Path) -> Result<convert::FlaskData, FlaskError> {
    let Some(mut conn) = open_read_only(path).await? else {
        return Err(FlaskError::NotFlask {
            source_name: path.display().to_string(),
            tables: vec![],
        });
    };
    let mut tx = conn.begin().await?;
    let tables = detect::sqlite_tables(&mut tx).await?;
    let detect::Schema::Flask { has_links, .. } = detect::classify(&tables) else {
        return Err(FlaskError::NotFlask {
            source_name: path.display().to_string(),
            tables: tables.into_keys().collect(),
        });
    };
    let data = read::sqlite(&mut tx, "", has_links).await?;
    tx.rollback().await?;
    conn.close().await?;
    Ok(data)
}
