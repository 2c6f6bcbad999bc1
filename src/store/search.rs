//! Full-text search (issue 13) over message text and thread display names:
//! SQLite FTS5 tables `messages_fts` / `threads_fts`, Postgres GIN indexes
//! over `to_tsvector('simple', …)` (`migrations/*/0009_search.sql`). On
//! SQLite new messages are indexed in bulk after their commit, not by a
//! trigger in every group commit (issue 25, `migrations/sqlite/0023_…`):
//! the writer thread catches the index up about once a second
//! ([`super::sqlite_writer`]) and a search first indexes what is left
//! ([`CATCH_UP_SQL`]), so it finds every stored message as before. The two backends need their own SQL
//! here (FTS5 `MATCH` against `@@ to_tsquery`); everything else is shared.
//!
//! Callers pass search *terms* (words already split and case-folded by
//! `chat::search`); every term is a prefix match and all must be present.
//! The query text handed to the database is built here from the terms
//! alone, each quoted, so no user input reaches FTS5's or tsquery's syntax.

use super::{Db, StoreResult};
use crate::domain::{MessageId, MessageMatch, ThreadMatch};

/// The FTS5 query of `terms`: each a quoted prefix (`"şek"*`), all required.
/// A `"` inside a term is doubled, so any text is a literal.
pub fn fts5_query(terms: &[String]) -> String {
    terms
        .iter()
        .map(|t| format!("\"{}\"*", t.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The tsquery text of `terms`: each a quoted prefix lexeme (`'şek':*`),
/// joined with `&`. A `'` or `\` inside a term is escaped.
pub fn tsquery(terms: &[String]) -> String {
    terms
        .iter()
        .map(|t| format!("'{}':*", t.replace('\\', "\\\\").replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(" & ")
}

/// Indexes the messages above `messages_fts_upto.upto` (those stored
/// since the last catch-up; İ folded as the migration says). Run with
/// [`CATCH_UP_MARK_SQL`] in one write transaction.
pub(super) const CATCH_UP_SQL: &str = "INSERT INTO messages_fts (rowid, content_text) \
    SELECT id, replace(content_text, 'İ', 'i') FROM messages \
    WHERE id > (SELECT upto FROM messages_fts_upto) ORDER BY id";

/// Moves the mark past every stored message (never back: the newest rows
/// may have been deleted since).
pub(super) const CATCH_UP_MARK_SQL: &str = "UPDATE messages_fts_upto \
    SET upto = max(upto, COALESCE((SELECT MAX(id) FROM messages), 0))";

/// Is a message stored that the index has not taken yet?
const BEHIND_SQL: &str = "SELECT COALESCE((SELECT MAX(id) FROM messages), 0) > \
    (SELECT upto FROM messages_fts_upto)";

/// Indexes the messages the writer has not indexed yet (one short write
/// transaction, only when some wait), so a search sees every stored one.
async fn catch_up(p: &sqlx::SqlitePool) -> Result<(), sqlx::Error> {
    if !sqlx::query_scalar::<_, bool>(BEHIND_SQL)
        .fetch_one(p)
        .await?
    {
        return Ok(());
    }
    let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
    sqlx::query(CATCH_UP_SQL).execute(&mut *tx).await?;
    sqlx::query(CATCH_UP_MARK_SQL).execute(&mut *tx).await?;
    tx.commit().await
}

const MESSAGES_SQLITE: &str = "SELECT m.id, m.thread_id, m.content_text, m.type, m.sender, \
      m.file_url, m.created_at, m.client_id, m.internal, m.agent_id, m.agent_name, \
      t.display_name, t.status \
    FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid \
      JOIN threads t ON t.id = m.thread_id \
    WHERE messages_fts MATCH $1 AND messages_fts.rowid < $2 \
    ORDER BY messages_fts.rowid DESC LIMIT $3";

const MESSAGES_POSTGRES: &str = "SELECT m.id, m.thread_id, m.content_text, m.type, m.sender, \
      m.file_url, m.created_at, m.client_id, m.internal, m.agent_id, m.agent_name, \
      t.display_name, t.status \
    FROM messages m JOIN threads t ON t.id = m.thread_id \
    WHERE to_tsvector('simple', m.content_text) @@ to_tsquery('simple', $1) AND m.id < $2 \
    ORDER BY m.id DESC LIMIT $3";

const THREADS_SQLITE: &str = "SELECT t.id, t.display_name, t.status, t.last_activity_at \
    FROM threads_fts JOIN threads t ON t.id = threads_fts.thread_id \
    WHERE threads_fts MATCH $1 \
    ORDER BY t.last_activity_at DESC, t.id LIMIT $2";

const THREADS_POSTGRES: &str = "SELECT id, display_name, status, last_activity_at FROM threads \
    WHERE to_tsvector('simple', display_name) @@ to_tsquery('simple', $1) \
    ORDER BY last_activity_at DESC, id LIMIT $2";

/// Messages whose text has every term (as a word prefix), newest first:
/// at most `limit`, only ids below `before` when given (the next page).
/// An empty `terms` matches nothing.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db, terms), fields(terms = terms.len()))]
pub async fn messages(
    db: &Db,
    terms: &[String],
    limit: i64,
    before: Option<MessageId>,
) -> StoreResult<Vec<MessageMatch>> {
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    let before = before.unwrap_or(MessageId(i64::MAX));
    Ok(match db {
        Db::Sqlite(p) => {
            catch_up(p).await?;
            sqlx::query_as(MESSAGES_SQLITE)
                .bind(fts5_query(terms))
                .bind(before)
                .bind(limit)
                .fetch_all(p)
                .await
        }
        Db::Postgres(p) => {
            sqlx::query_as(MESSAGES_POSTGRES)
                .bind(tsquery(terms))
                .bind(before)
                .bind(limit)
                .fetch_all(p)
                .await
        }
    }?)
}

/// Threads whose display name has every term (as a word prefix), most
/// recently active first, at most `limit`. An empty `terms` matches nothing.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db, terms), fields(terms = terms.len()))]
pub async fn threads(db: &Db, terms: &[String], limit: i64) -> StoreResult<Vec<ThreadMatch>> {
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    Ok(match db {
        Db::Sqlite(p) => {
            sqlx::query_as(THREADS_SQLITE)
                .bind(fts5_query(terms))
                .bind(limit)
                .fetch_all(p)
                .await
        }
        Db::Postgres(p) => {
            sqlx::query_as(THREADS_POSTGRES)
                .bind(tsquery(terms))
                .bind(limit)
                .fetch_all(p)
                .await
        }
    }?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn fts5_terms_are_quoted_prefixes() {
        assert_eq!(
            fts5_query(&terms(&["şek", "istanbul"])),
            "\"şek\"* \"istanbul\"*"
        );
        assert_eq!(fts5_query(&terms(&["a\"b"])), "\"a\"\"b\"*");
    }

    #[test]
    fn tsquery_terms_are_quoted_prefixes() {
        assert_eq!(tsquery(&terms(&["şek", "ılık"])), "'şek':* & 'ılık':*");
        assert_eq!(tsquery(&terms(&["it's\\"])), "'it''s\\\\':*");
    }
}
