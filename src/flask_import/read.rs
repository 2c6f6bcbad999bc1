//! Reads Flask Chat's three tables, every column as text, in the old row
//! order (SQLite `rowid`, Postgres `ctid`): that order breaks ties between
//! messages of the same time. `prefix` is `""` for a Flask database and
//! `"flask_"` for the tables an in-place upgrade has just renamed.

use sqlx::{PgConnection, SqliteConnection};

use super::convert::{FlaskData, FlaskLink, FlaskMessage, FlaskThread};

type ThreadRow = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);
type MessageRow = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);
type LinkRow = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The three SELECTs for one backend: `cast` turns a column into text.
fn selects(prefix: &str, cast: fn(&str) -> String, order: &str) -> [String; 3] {
    let cols = |names: &[&str]| names.iter().map(|c| cast(c)).collect::<Vec<_>>().join(", ");
    [
        format!(
            "SELECT {} FROM {prefix}threads ORDER BY {order}",
            cols(&["id", "display_name", "created_at", "last_activity_at"])
        ),
        format!(
            "SELECT {} FROM {prefix}messages ORDER BY {order}",
            cols(&[
                "id",
                "thread_id",
                "sender",
                "type",
                "content_text",
                "file_path",
                "created_at"
            ])
        ),
        format!(
            "SELECT {} FROM {prefix}telegram_links ORDER BY {order}",
            cols(&["id", "thread_id", "tg_chat_id", "tg_message_id"])
        ),
    ]
}

fn assemble(threads: Vec<ThreadRow>, messages: Vec<MessageRow>, links: Vec<LinkRow>) -> FlaskData {
    FlaskData {
        threads: threads
            .into_iter()
            .map(
                |(id, display_name, created_at, last_activity_at)| FlaskThread {
                    id: id.unwrap_or_default(),
                    display_name,
                    created_at,
                    last_activity_at,
                },
            )
            .collect(),
        messages: messages
            .into_iter()
            .map(
                |(id, thread_id, sender, kind, content_text, file_path, created_at)| FlaskMessage {
                    id: id.unwrap_or_default(),
                    thread_id,
                    sender,
                    kind,
                    content_text,
                    file_path,
                    created_at,
                },
            )
            .collect(),
        links: links
            .into_iter()
            .map(|(id, thread_id, tg_chat_id, tg_message_id)| FlaskLink {
                id: id.unwrap_or_default(),
                thread_id,
                tg_chat_id,
                tg_message_id,
            })
            .collect(),
    }
}

/// Reads the Flask tables of a SQLite database.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(conn))]
pub async fn sqlite(
    conn: &mut SqliteConnection,
    prefix: &str,
    has_links: bool,
) -> Result<FlaskData, sqlx::Error> {
    let [t, m, l] = selects(prefix, |c| format!("CAST(\"{c}\" AS TEXT)"), "rowid");
    let threads = sqlx::query_as(sqlx::AssertSqlSafe(t))
        .fetch_all(&mut *conn)
        .await?;
    let messages = sqlx::query_as(sqlx::AssertSqlSafe(m))
        .fetch_all(&mut *conn)
        .await?;
    let links = if has_links {
        sqlx::query_as(sqlx::AssertSqlSafe(l))
            .fetch_all(&mut *conn)
            .await?
    } else {
        Vec::new()
    };
    Ok(assemble(threads, messages, links))
}

/// Reads the Flask tables of the current Postgres schema.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(conn))]
pub async fn postgres(
    conn: &mut PgConnection,
    prefix: &str,
    has_links: bool,
) -> Result<FlaskData, sqlx::Error> {
    let [t, m, l] = selects(prefix, |c| format!("\"{c}\"::text"), "ctid");
    let threads = sqlx::query_as(sqlx::AssertSqlSafe(t))
        .fetch_all(&mut *conn)
        .await?;
    let messages = sqlx::query_as(sqlx::AssertSqlSafe(m))
        .fetch_all(&mut *conn)
        .await?;
    let links = if has_links {
        sqlx::query_as(sqlx::AssertSqlSafe(l))
            .fetch_all(&mut *conn)
            .await?
    } else {
        Vec::new()
    };
    Ok(assemble(threads, messages, links))
}
