//! What a database holds: nothing, sohbet's schema, Flask Chat's, or
//! something else. Reads the catalogue only (SQLite `sqlite_master` and
//! `pragma_table_info`, Postgres `information_schema` of `current_schema()`).

use std::collections::BTreeMap;

use sqlx::{PgConnection, SqliteConnection};

/// Flask Chat's tables and the columns each must have (seed
/// `flask-chat-v2.1-system-documentation.md` § "database.py").
const FLASK: [(&str, &[&str]); 3] = [
    (
        "threads",
        &["id", "display_name", "created_at", "last_activity_at"],
    ),
    (
        "messages",
        &[
            "id",
            "thread_id",
            "sender",
            "type",
            "content_text",
            "file_path",
            "created_at",
        ],
    ),
    (
        "telegram_links",
        &["id", "thread_id", "tg_chat_id", "tg_message_id"],
    ),
];

/// The table sqlx keeps its migration history in: present only in sohbet's databases.
const SQLX_TABLE: &str = "_sqlx_migrations";

/// What [`classify`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Schema {
    /// No table at all: a new database.
    Empty,
    /// sohbet's own (its migration history is there).
    Sohbet,
    /// Flask Chat v2.x.
    Flask {
        /// `telegram_links` exists.
        has_links: bool,
        /// Columns of the Flask tables that sohbet does not carry over
        /// (`table.column`), reported in the upgrade's log line.
        extra_columns: Vec<String>,
    },
    /// Neither: the tables found, sorted.
    Unknown {
        /// Their names.
        tables: Vec<String>,
    },
}

/// Classifies a database from its tables and their columns.
///
/// Flask Chat's: `threads` and `messages` (and optionally `telegram_links`)
/// with Flask's columns, no other table, and `messages` without sohbet's
/// `file_url` column. sohbet's: sqlx's `_sqlx_migrations` exists.
pub fn classify(tables: &BTreeMap<String, Vec<String>>) -> Schema {
    if tables.is_empty() {
        return Schema::Empty;
    }
    if tables.contains_key(SQLX_TABLE) {
        return Schema::Sohbet;
    }
    let unknown = || Schema::Unknown {
        tables: tables.keys().cloned().collect(),
    };
    let mut extra_columns = Vec::new();
    for (name, columns) in tables {
        let Some((_, required)) = FLASK.iter().find(|(t, _)| *t == name.as_str()) else {
            return unknown();
        };
        if !required
            .iter()
            .all(|c| columns.iter().any(|have| have == c))
        {
            return unknown();
        }
        extra_columns.extend(
            columns
                .iter()
                .filter(|c| !required.contains(&c.as_str()))
                .map(|c| format!("{name}.{c}")),
        );
    }
    let sohbet_messages = tables
        .get("messages")
        .is_some_and(|cols| cols.iter().any(|c| c == "file_url"));
    if !tables.contains_key("threads") || !tables.contains_key("messages") || sohbet_messages {
        return unknown();
    }
    Schema::Flask {
        has_links: tables.contains_key("telegram_links"),
        extra_columns,
    }
}

/// The tables of a SQLite database (without SQLite's own `sqlite_*`) and their columns.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip_all)]
pub async fn sqlite_tables(
    conn: &mut SqliteConnection,
) -> Result<BTreeMap<String, Vec<String>>, sqlx::Error> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut out = BTreeMap::new();
    for name in names {
        let cols: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info($1)")
            .bind(&name)
            .fetch_all(&mut *conn)
            .await?;
        out.insert(name, cols);
    }
    if out.contains_key(SQLX_TABLE) {
        let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
            .fetch_one(&mut *conn)
            .await?;
        forget_empty_history(&mut out, applied);
    }
    Ok(out)
}

/// The tables of the current Postgres schema (`current_schema()`) and their columns.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip_all)]
pub async fn postgres_tables(
    conn: &mut PgConnection,
) -> Result<BTreeMap<String, Vec<String>>, sqlx::Error> {
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT t.table_name::text, c.column_name::text FROM information_schema.tables t \
         LEFT JOIN information_schema.columns c \
           ON c.table_schema = t.table_schema AND c.table_name = t.table_name \
         WHERE t.table_schema = current_schema() AND t.table_type = 'BASE TABLE' \
         ORDER BY t.table_name, c.ordinal_position",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (table, column) in rows {
        let cols = out.entry(table).or_default();
        cols.extend(column);
    }
    if out.contains_key(SQLX_TABLE) {
        let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
            .fetch_one(&mut *conn)
            .await?;
        forget_empty_history(&mut out, applied);
    }
    Ok(out)
}

/// An empty `_sqlx_migrations` is what an earlier sohbet left in a Flask
/// Chat database when its first migration failed there (before issue 11):
/// sqlx creates the table before it runs the migration, whose transaction
/// is then rolled back. Such a table does not make the database sohbet's.
fn forget_empty_history(tables: &mut BTreeMap<String, Vec<String>>, applied: i64) {
    if applied == 0 {
        tables.remove(SQLX_TABLE);
    }
}

/// The names of Flask Chat's tables among `tables` (what an upgrade renames).
pub fn flask_tables(tables: &BTreeMap<String, Vec<String>>) -> Vec<&'static str> {
    FLASK
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| tables.contains_key(*name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(tables: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        tables
            .iter()
            .map(|(t, cols)| (t.to_string(), cols.iter().map(|c| c.to_string()).collect()))
            .collect()
    }

    #[test]
    fn recognises_the_three_kinds() {
        assert_eq!(classify(&db(&[])), Schema::Empty);
        let flask = db(&FLASK);
        assert_eq!(
            classify(&flask),
            Schema::Flask {
                has_links: true,
                extra_columns: vec![]
            }
        );
        let mut with_status = db(&FLASK[..2]);
        with_status
            .get_mut("threads")
            .unwrap()
            .push("status".into());
        assert_eq!(
            classify(&with_status),
            Schema::Flask {
                has_links: false,
                extra_columns: vec!["threads.status".into()]
            }
        );
        let mut ours = flask.clone();
        ours.insert(SQLX_TABLE.into(), vec!["version".into()]);
        assert_eq!(classify(&ours), Schema::Sohbet);
    }

    #[test]
    fn anything_else_is_unknown_and_named() {
        let mut other = db(&FLASK);
        other.insert("users".into(), vec!["id".into()]);
        assert_eq!(
            classify(&other),
            Schema::Unknown {
                tables: vec![
                    "messages".into(),
                    "telegram_links".into(),
                    "threads".into(),
                    "users".into()
                ]
            }
        );
        let missing_column = db(&[("threads", &["id"][..]), ("messages", FLASK[1].1)]);
        assert!(matches!(classify(&missing_column), Schema::Unknown { .. }));
        let only_links = db(&FLASK[2..]);
        assert!(matches!(classify(&only_links), Schema::Unknown { .. }));
    }
}
