//! Postgres: the in-place upgrade (the old tables are kept, renamed
//! `flask_*`, as the backup) and reading a Flask database for an import.

use sqlx::{Connection, PgConnection, PgPool};

use super::{
    FlaskError, Report, convert, detect, read,
    write::{self, Tx},
};

/// Key of the transaction-level advisory lock that makes instances
/// starting together upgrade one after the other (`"sohbet-flask"` as bytes).
const UPGRADE_LOCK: i64 = 0x736f_6862_6574_666c;

/// Quotes a Postgres identifier.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Upgrades a Flask Chat database in place, in one transaction: the old
/// tables, their indexes and sequences are renamed `flask_*` (and kept),
/// sohbet's migrations run, the rows are converted and written. Returns
/// `None` when the database holds no Flask schema; fails with
/// [`FlaskError::Unknown`], changing nothing, when it holds something else.
///
/// # Errors
/// [`FlaskError`]; the transaction is rolled back.
#[tracing::instrument(skip_all)]
pub async fn upgrade(
    pool: &PgPool,
    upload_dir: &std::path::Path,
) -> Result<Option<Report>, FlaskError> {
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(UPGRADE_LOCK)
        .execute(&mut *tx)
        .await?;
    let tables = detect::postgres_tables(&mut tx).await?;
    let (has_links, extra_columns) = match detect::classify(&tables) {
        detect::Schema::Flask {
            has_links,
            extra_columns,
        } => (has_links, extra_columns),
        detect::Schema::Unknown { tables } => return Err(FlaskError::Unknown { tables }),
        detect::Schema::Empty | detect::Schema::Sohbet => return Ok(None),
    };
    for table in detect::flask_tables(&tables) {
        let renamed = format!("flask_{table}");
        // Indexes (primary keys included) and owned sequences keep their
        // names across a table rename; sohbet's would clash with them.
        let owned: Vec<(String, String)> = sqlx::query_as(
            "SELECT c.relname::text, CASE c.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'INDEX' END \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND ( \
               c.oid IN (SELECT i.indexrelid FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid \
                         WHERE t.relname = $1 AND t.relnamespace = n.oid) \
               OR (c.relkind = 'S' AND c.oid IN (SELECT d.objid FROM pg_depend d \
                         JOIN pg_class t ON t.oid = d.refobjid \
                         WHERE t.relname = $1 AND t.relnamespace = n.oid AND d.deptype IN ('a', 'i'))))",
        )
        .bind(table)
        .fetch_all(&mut *tx)
        .await?;
        let sql = format!("ALTER TABLE {} RENAME TO {}", ident(table), ident(&renamed));
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await?;
        for (name, kind) in owned {
            let sql = format!(
                "ALTER {kind} {} RENAME TO {}",
                ident(&name),
                ident(&format!("flask_{name}"))
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut *tx)
                .await?;
        }
    }
    sqlx::migrate!("migrations/postgres").run(&mut *tx).await?;
    let data = read::postgres(&mut tx, "flask_", has_links).await?;
    let converted = convert::convert(&data, upload_dir);
    let counts = write::insert(&mut Tx::Postgres(&mut tx), &converted).await?;
    tx.commit().await?;
    Ok(Some(Report {
        counts,
        skipped: converted.skipped,
        extra_columns,
        backup: Some(
            "the old tables, renamed flask_threads, flask_messages, flask_telegram_links".into(),
        ),
    }))
}

/// Reads a Flask Chat Postgres database (`url`) for an import, in one
/// read-only repeatable-read transaction.
///
/// # Errors
/// [`FlaskError::NotFlask`] naming the tables when it is not Flask Chat's;
/// connection and database errors.
#[tracing::instrument(skip_all)]
pub async fn read_source(url: &str, shown: &str) -> Result<convert::FlaskData, FlaskError> {
    let mut conn = PgConnection::connect_with(&crate::store::pg_url::pg_options(url)?).await?;
    let mut tx = conn
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await?;
    let tables = detect::postgres_tables(&mut tx).await?;
    let detect::Schema::Flask { has_links, .. } = detect::classify(&tables) else {
        return Err(FlaskError::NotFlask {
            source_name: shown.to_owned(),
            tables: tables.into_keys().collect(),
        });
    };
    let data = read::postgres(&mut tx, "", has_links).await?;
    tx.rollback().await?;
    conn.close().await?;
    Ok(data)
}
