//! Reading the operator's data out for an export and writing it back for
//! an import (issue 27 items 1 and 2), on either backend with one SQL
//! text. Reads are paged (keyset on the id) so that an export holds one
//! page at a time, never a whole thread. The import ([`Importer`]) is one
//! transaction: rows keep their ids (agents: see [`Importer::agent`]), and
//! nothing is stored unless it commits; on Postgres the id sequences are
//! moved past the imported ids before the commit.

use crate::domain::{AgentId, EventId, MessageId, ThreadId};
use chrono::{DateTime, Utc};

use super::{Db, StoreResult, with_db};
use crate::domain::export::{
    AgentRecord, CannedRecord, ContextRecord, EventRecord, MessageRecord, ThreadRecord,
};

const THREAD_COLS: &str = "id, display_name, created_at, last_activity_at, status, \
    visitor_last_seen_at, admin_last_read_message_id, status_changed_at, blocked_at, \
    assignee_agent_id";
const MESSAGE_COLS: &str = "id, thread_id, sender, type, content_text, file_path, file_url, \
    client_id, created_at, internal, agent_id, agent_name";
const EVENT_COLS: &str = "id, thread_id, agent_id, agent_name, action, detail, created_at";
const CONTEXT_COLS: &str = "thread_id, page_url, page_title, referrer, browser, os, language, \
    timezone, name, email, user_id, verified, away_shown_at, created_at, updated_at";
const CANNED_COLS: &str = "id, name, name_key, body, created_at, updated_at";
const AGENT_COLS: &str = "id, login, display_name, role, telegram_user_id, disabled_at, created_at";

/// Thread `id`'s row.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn thread(db: &Db, id: &ThreadId) -> StoreResult<Option<ThreadRecord>> {
    let sql = format!("SELECT {THREAD_COLS} FROM threads WHERE id = $1");
    Ok(
        with_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(p).await)?,
    )
}

/// Thread `id`'s visitor context.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn context(db: &Db, id: &ThreadId) -> StoreResult<Option<ContextRecord>> {
    let sql = format!("SELECT {CONTEXT_COLS} FROM visitor_contexts WHERE thread_id = $1");
    Ok(
        with_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(p).await)?,
    )
}

/// Up to `limit` messages of thread `id` with an id above `after`, oldest
/// first (internal notes included).
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn messages(
    db: &Db,
    id: &ThreadId,
    after: MessageId,
    limit: i64,
) -> StoreResult<Vec<MessageRecord>> {
    let sql = format!(
        "SELECT {MESSAGE_COLS} FROM messages WHERE thread_id = $1 AND id > $2 ORDER BY id LIMIT $3"
    );
    Ok(with_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id).bind(after).bind(limit).fetch_all(p).await)?)
}

/// Up to `limit` system events of thread `id` with an id above `after`,
/// oldest first.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn events(
    db: &Db,
    id: &ThreadId,
    after: EventId,
    limit: i64,
) -> StoreResult<Vec<EventRecord>> {
    let sql = format!(
        "SELECT {EVENT_COLS} FROM thread_events WHERE thread_id = $1 AND id > $2 ORDER BY id LIMIT $3"
    );
    Ok(with_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id).bind(after).bind(limit).fetch_all(p).await)?)
}

/// Up to `limit` distinct file URLs above `after` (in text order) that
/// the messages of thread `thread` carry — or, with `None`, of every
/// thread active since `since`.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn media_urls(
    db: &Db,
    thread: Option<&ThreadId>,
    since: Option<DateTime<Utc>>,
    after: &str,
    limit: i64,
) -> StoreResult<Vec<String>> {
    const ONE: &str = "SELECT DISTINCT file_url FROM messages WHERE thread_id = $1 \
        AND file_url IS NOT NULL AND file_url > $2 ORDER BY file_url LIMIT $3";
    const ALL: &str = "SELECT DISTINCT m.file_url FROM messages m JOIN threads t ON t.id = m.thread_id \
        WHERE ($1 IS NULL OR t.last_activity_at >= $1) \
        AND m.file_url IS NOT NULL AND m.file_url > $2 ORDER BY m.file_url LIMIT $3";
    Ok(with_db!(db, p => match thread {
        Some(t) => sqlx::query_scalar(ONE).bind(t).bind(after).bind(limit).fetch_all(p).await,
        None => sqlx::query_scalar(ALL).bind(since).bind(after).bind(limit).fetch_all(p).await,
    })?)
}

/// Up to `limit` thread ids above `after`, in id order, of the threads
/// active since `since` (every thread with `None`).
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn thread_ids(
    db: &Db,
    since: Option<DateTime<Utc>>,
    after: &str,
    limit: i64,
) -> StoreResult<Vec<ThreadId>> {
    const SQL: &str = "SELECT id FROM threads WHERE ($1 IS NULL OR last_activity_at >= $1) \
        AND id > $2 ORDER BY id LIMIT $3";
    Ok(
        with_db!(db, p => sqlx::query_scalar(SQL).bind(since).bind(after).bind(limit).fetch_all(p).await)?,
    )
}

/// Every canned reply, by id.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn canned(db: &Db) -> StoreResult<Vec<CannedRecord>> {
    let sql = format!("SELECT {CANNED_COLS} FROM canned_replies ORDER BY id");
    Ok(with_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(p).await)?)
}

/// Every agent, by id, without password hashes or invites.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn agents(db: &Db) -> StoreResult<Vec<AgentRecord>> {
    let sql = format!("SELECT {AGENT_COLS} FROM agents ORDER BY id");
    Ok(with_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(p).await)?)
}

/// The tables an import needs empty and how many rows each holds; only
/// those that are not empty (`[]`: the database may be imported into).
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn filled_tables(db: &Db) -> StoreResult<Vec<(&'static str, i64)>> {
    const TABLES: [(&str, &str); 5] = [
        ("threads", "SELECT COUNT(*) FROM threads"),
        ("messages", "SELECT COUNT(*) FROM messages"),
        ("visitor_contexts", "SELECT COUNT(*) FROM visitor_contexts"),
        ("thread_events", "SELECT COUNT(*) FROM thread_events"),
        ("canned_replies", "SELECT COUNT(*) FROM canned_replies"),
    ];
    let mut out = vec![];
    for (name, sql) in TABLES {
        let n: i64 = with_db!(db, p => sqlx::query_scalar(sql).fetch_one(p).await)?;
        if n > 0 {
            out.push((name, n));
        }
    }
    Ok(out)
}

/// An import in progress: one open transaction (rolled back when dropped
/// without [`Importer::commit`]).
pub enum Importer {
    /// On SQLite (`BEGIN IMMEDIATE`: the write lock from the start).
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    /// On Postgres.
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

macro_rules! with_tx {
    ($tx:expr, $t:ident => $body:expr) => {
        match $tx {
            Importer::Sqlite($t) => $body,
            Importer::Postgres($t) => $body,
        }
    };
}

impl Importer {
    /// Opens the transaction.
    ///
    /// # Errors
    /// Database errors.
    pub async fn begin(db: &Db) -> StoreResult<Importer> {
        Ok(match db {
            Db::Sqlite(p) => Importer::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(p) => Importer::Postgres(p.begin().await?),
        })
    }

    /// Writes agent `a` without a password (it signs in after `sohbet agent
    /// reset-password`, or, for `ADMIN_USERNAME`, with `ADMIN_PASSWORD`).
    /// An agent of the same login already there is kept and its id
    /// answered; else `a` keeps its id when that id is free, or gets a new
    /// one. Answers the id `a` has now.
    ///
    /// # Errors
    /// Database errors.
    pub async fn agent(&mut self, a: &AgentRecord) -> StoreResult<AgentId> {
        const BY_LOGIN: &str = "SELECT id FROM agents WHERE login = $1";
        const BY_ID: &str = "SELECT id FROM agents WHERE id = $1";
        const WITH_ID: &str = "INSERT INTO agents (id, login, display_name, role, telegram_user_id, \
            disabled_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
        const NEW_ID: &str = "INSERT INTO agents (login, display_name, role, telegram_user_id, \
            disabled_at, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
        Ok(with_tx!(self, t => {
            if let Some(id) = sqlx::query_scalar::<_, AgentId>(BY_LOGIN).bind(&a.login).fetch_optional(&mut **t).await? {
                return Ok(id);
            }
            let taken: Option<AgentId> = sqlx::query_scalar(BY_ID).bind(a.id).fetch_optional(&mut **t).await?;
            if taken.is_none() {
                sqlx::query(WITH_ID).bind(a.id).bind(&a.login).bind(&a.display_name).bind(&a.role)
                    .bind(a.telegram_user_id).bind(a.disabled_at).bind(a.created_at)
                    .execute(&mut **t).await.map(|_| a.id)
            } else {
                sqlx::query_scalar(NEW_ID).bind(&a.login).bind(&a.display_name).bind(&a.role)
                    .bind(a.telegram_user_id).bind(a.disabled_at).bind(a.created_at)
                    .fetch_one(&mut **t).await
            }
        })?)
    }

    /// Writes canned reply `c` with its id.
    ///
    /// # Errors
    /// Database errors (a conflict when its id or name is taken).
    pub async fn canned(&mut self, c: &CannedRecord) -> StoreResult<()> {
        let sql =
            format!("INSERT INTO canned_replies ({CANNED_COLS}) VALUES ($1, $2, $3, $4, $5, $6)");
        with_tx!(self, t => sqlx::query(sqlx::AssertSqlSafe(sql)).bind(c.id).bind(&c.name).bind(&c.name_key)
            .bind(&c.body).bind(c.created_at).bind(c.updated_at).execute(&mut **t).await.map(|_| ()))?;
        Ok(())
    }

    /// Writes thread `r` with its id.
    ///
    /// # Errors
    /// Database errors (a conflict when the id is taken).
    pub async fn thread(&mut self, r: &ThreadRecord) -> StoreResult<()> {
        let sql = format!(
            "INSERT INTO threads ({THREAD_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        );
        with_tx!(self, t => sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&r.id).bind(&r.display_name)
            .bind(r.created_at).bind(r.last_activity_at).bind(&r.status).bind(r.visitor_last_seen_at)
            .bind(r.admin_last_read_message_id).bind(r.status_changed_at).bind(r.blocked_at)
            .bind(r.assignee_agent_id).execute(&mut **t).await.map(|_| ()))?;
        Ok(())
    }

    /// Writes visitor context `c`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn context(&mut self, c: &ContextRecord) -> StoreResult<()> {
        let sql = format!(
            "INSERT INTO visitor_contexts ({CONTEXT_COLS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        );
        with_tx!(self, t => sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&c.thread_id).bind(&c.page_url)
            .bind(&c.page_title).bind(&c.referrer).bind(&c.browser).bind(&c.os).bind(&c.language)
            .bind(&c.timezone).bind(&c.name).bind(&c.email).bind(&c.user_id).bind(c.verified)
            .bind(c.away_shown_at).bind(c.created_at).bind(c.updated_at).execute(&mut **t).await.map(|_| ()))?;
        Ok(())
    }

    /// Writes system event `e` with its id.
    ///
    /// # Errors
    /// Database errors.
    pub async fn event(&mut self, e: &EventRecord) -> StoreResult<()> {
        let sql =
            format!("INSERT INTO thread_events ({EVENT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)");
        with_tx!(self, t => sqlx::query(sqlx::AssertSqlSafe(sql)).bind(e.id).bind(&e.thread_id)
            .bind(e.agent_id).bind(&e.agent_name).bind(&e.action).bind(&e.detail).bind(e.created_at)
            .execute(&mut **t).await.map(|_| ()))?;
        Ok(())
    }

    /// Writes message `m` with its id (the search index follows: SQLite's
    /// triggers, Postgres' expression index).
    ///
    /// # Errors
    /// Database errors (a conflict when the id is taken).
    pub async fn message(&mut self, m: &MessageRecord) -> StoreResult<()> {
        let sql = format!(
            "INSERT INTO messages ({MESSAGE_COLS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        );
        with_tx!(self, t => sqlx::query(sqlx::AssertSqlSafe(sql)).bind(m.id).bind(&m.thread_id)
            .bind(m.sender).bind(m.kind).bind(&m.content_text).bind(&m.file_path).bind(&m.file_url)
            .bind(&m.client_id).bind(m.created_at).bind(m.internal).bind(m.agent_id).bind(&m.agent_name)
            .execute(&mut **t).await.map(|_| ()))?;
        Ok(())
    }

    /// Moves Postgres' id sequences past the imported ids, then commits.
    ///
    /// # Errors
    /// Database errors (nothing is stored then).
    pub async fn commit(self) -> StoreResult<()> {
        const TABLES: [&str; 4] = ["agents", "canned_replies", "thread_events", "messages"];
        match self {
            Importer::Sqlite(t) => t.commit().await?,
            Importer::Postgres(mut t) => {
                for table in TABLES {
                    let sql = format!(
                        "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                         GREATEST((SELECT MAX(id) FROM {table}), 1))"
                    );
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .execute(&mut *t)
                        .await?;
                }
                t.commit().await?;
            }
        }
        Ok(())
    }
}
