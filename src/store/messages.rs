//! The `messages` table: batched inserts (group commit), pages of a thread,
//! catch-up after an id (and the edits since), an answer's text edited
//! from Telegram, clearing.

use crate::domain::ThreadId;
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::message_sql::{
    BY_CLIENT_ID_SQL, chunks, message_cols, message_insert_sql, referenced_sql, thread_insert_sql,
    touch_sql, visitor_touch_sql,
};
use super::{Db, StoreResult, batch, with_db};
use crate::domain::{EmailSchedule, Inserted, Message, MessageId, NewMessage, Role};

/// The group commit of one batch ([`super::batch`]'s plan) through sqlx on
/// SQLite (tools and tests; the server's writer runs the same statements
/// on its own thread, [`super::sqlite_writer`], and Postgres runs
/// [`super::pg_batch`]), with a constant number of statements per chunk of
/// rows (not per message): one multi-row thread upsert, one multi-row
/// message insert (`client_id` idempotency by the unique index and
/// `ON CONFLICT DO NOTHING`, no lookup first), one touch of each distinct
/// thread (two statements when the batch holds admin-only threads too: a
/// visitor's message also reopens its thread, in the same statement), then
/// [`batch::follow_ups`]. Only a `client_id` seen before (a retry) costs a
/// lookup of the stored row.
macro_rules! insert_all {
    ($p:ident, $batch:ident, $email:ident) => {{
        let now = super::now();
        let mut tx = $p.begin().await?;

        let new_threads = batch::new_threads($batch);
        let mut created: HashSet<ThreadId> = HashSet::new();
        for (start, len) in chunks(new_threads.len()) {
            let mut q = sqlx::query_scalar::<_, ThreadId>(thread_insert_sql(len)).bind(now);
            for (id, name) in &new_threads[start..start + len] {
                q = q.bind(*id).bind(*name);
            }
            created.extend(q.fetch_all(&mut *tx).await?);
        }

        // Messages; a row that hit the client_id index is not returned.
        let mut stored: Vec<Message> = Vec::with_capacity($batch.len());
        for (start, len) in chunks($batch.len()) {
            let mut q = sqlx::query_as::<_, Message>(message_insert_sql(len)).bind(now);
            for m in &$batch[start..start + len] {
                q = q
                    .bind(&m.thread_id)
                    .bind(m.sender)
                    .bind(m.kind)
                    .bind(&m.text)
                    .bind(&m.file_url)
                    .bind(&m.client_id)
                    .bind(m.internal)
                    .bind(m.agent_id)
                    .bind(&m.agent_name);
            }
            stored.extend(q.fetch_all(&mut *tx).await?);
        }
        let mut out = Vec::with_capacity($batch.len());
        for (m, slot) in $batch
            .iter()
            .zip(batch::match_stored($batch, &created, stored)?)
        {
            out.push(match slot {
                batch::Slot::Done(i) => i,
                batch::Slot::Lookup { thread_created } => {
                    let message: Message = sqlx::query_as(BY_CLIENT_ID_SQL)
                        .bind(&m.thread_id)
                        .bind(&m.client_id)
                        .fetch_one(&mut *tx)
                        .await?;
                    batch::retried(m, message, thread_created)
                }
            });
        }

        let (by_visitor, admin_only) = batch::touches($batch, &out);
        let mut reopened: HashMap<String, Option<DateTime<Utc>>> = HashMap::new();
        type Touched = (String, Option<DateTime<Utc>>, Option<DateTime<Utc>>);
        for (start, len) in chunks(by_visitor.len()) {
            let mut q = sqlx::query_as::<_, Touched>(visitor_touch_sql(len)).bind(now);
            for id in &by_visitor[start..start + len] {
                q = q.bind(*id);
            }
            for (id, changed, blocked_at) in q.fetch_all(&mut *tx).await? {
                if changed == Some(now) {
                    reopened.insert(id, blocked_at);
                }
            }
        }
        for (start, len) in chunks(admin_only.len()) {
            let mut q = sqlx::query(touch_sql(len)).bind(now);
            for id in &admin_only[start..start + len] {
                q = q.bind(*id);
            }
            q.execute(&mut *tx).await?;
        }
        batch::follow_ups!(tx, $batch, &out, $email, now);
        batch::mark_reopened(&mut out, reopened);

        tx.commit().await?;
        Ok::<_, sqlx::Error>(out)
    }};
}

/// Inserts `batch` in one transaction, in order (group commit). Returns one
/// [`Inserted`] per input, only after the commit.
///
/// # Errors
/// Any database error; then nothing of the batch is stored.
#[tracing::instrument(skip_all, fields(n = batch.len()))]
pub async fn insert_batch(db: &Db, batch: &[NewMessage]) -> StoreResult<Vec<Inserted>> {
    insert_batch_with(db, batch, &EmailSchedule::OFF).await
}

/// [`insert_batch`], also scheduling in the same transaction the email
/// checks that `email` asks for (issue 26: an agent's answer → an `answer`
/// check of its thread; a visitor's message → an `agent_wait` check; see
/// `store::email`).
///
/// # Errors
/// Any database error; then nothing of the batch is stored.
#[tracing::instrument(skip_all, fields(n = batch.len()))]
pub async fn insert_batch_with(
    db: &Db,
    batch: &[NewMessage],
    email: &EmailSchedule,
) -> StoreResult<Vec<Inserted>> {
    Ok(match db {
        Db::Sqlite(p) => insert_all!(p, batch, email),
        Db::Postgres(p) => super::pg_batch::insert(p, batch, email).await,
    }?)
}

/// [`VISIBLE_TO_VISITOR`] as a literal, for `concat!`.
macro_rules! visible_to_visitor {
    () => {
        "internal = FALSE"
    };
}

/// The SQL condition (on `messages` unqualified) of the rows a visitor may
/// see: no internal note. The twin of [`Message::visible_to`] for queries;
/// every query that reads messages for a visitor (or for anything sent
/// outside the agents: e-mail transcripts, exports) adds it.
pub const VISIBLE_TO_VISITOR: &str = visible_to_visitor!();

/// A page of a thread as `reader` may see it (a visitor: without internal
/// notes, [`VISIBLE_TO_VISITOR`]), oldest first: the newest `limit`
/// messages, or those before id `before`, or (catch-up) the first `limit`
/// after id `after`. A page is full (`limit` rows) while there are more:
/// the notes are left out by the query, not after it.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn page(
    db: &Db,
    reader: Role,
    thread_id: &ThreadId,
    limit: i64,
    before: Option<MessageId>,
    after: Option<MessageId>,
) -> StoreResult<Vec<Message>> {
    macro_rules! select {
        ($cond:expr, $order:expr) => {
            concat!(
                "SELECT ",
                message_cols!(),
                " FROM messages WHERE thread_id = $1 AND ",
                $cond,
                " ORDER BY id ",
                $order,
                " LIMIT $3"
            )
        };
    }
    macro_rules! for_visitor {
        ($cond:expr) => {
            concat!($cond, " AND ", visible_to_visitor!())
        };
    }
    let visitor = reader == Role::Visitor;
    if let Some(after) = after {
        let sql = if visitor {
            select!(for_visitor!("id > $2"), "ASC")
        } else {
            select!("id > $2", "ASC")
        };
        return Ok(
            with_db!(db, p => sqlx::query_as(sql).bind(thread_id).bind(after).bind(limit).fetch_all(p).await)?,
        );
    }
    let sql = if visitor {
        select!(for_visitor!("id < $2"), "DESC")
    } else {
        select!("id < $2", "DESC")
    };
    let before = before.unwrap_or(MessageId(i64::MAX));
    let mut rows: Vec<Message> = with_db!(db, p => sqlx::query_as(sql).bind(thread_id).bind(before).bind(limit).fetch_all(p).await)?;
    rows.reverse();
    Ok(rows)
}

/// The messages of a thread up to id `after` whose text was edited at or
/// after the moment message `after` was stored (issue 23 item 6), as
/// `reader` may see them ([`VISIBLE_TO_VISITOR`] for a visitor), oldest
/// first, at most `limit`: the edits a client that had everything up to
/// `after` may have missed while it was away. A superset (edits it saw
/// live come again, and are applied again to the same effect); none when
/// message `after` does not exist (any more).
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn edited_since(
    db: &Db,
    reader: Role,
    thread_id: &str,
    after: MessageId,
    limit: i64,
) -> StoreResult<Vec<Message>> {
    macro_rules! select {
        ($extra:expr) => {
            concat!(
                "SELECT ",
                message_cols!(),
                " FROM messages WHERE thread_id = $1 AND id <= $2 AND edited_at IS NOT NULL \
                 AND edited_at >= (SELECT a.created_at FROM messages a WHERE a.id = $2)",
                $extra,
                " ORDER BY id ASC LIMIT $3"
            )
        };
    }
    let sql = if reader == Role::Visitor {
        select!(concat!(" AND ", visible_to_visitor!()))
    } else {
        select!("")
    };
    Ok(
        with_db!(db, p => sqlx::query_as(sql).bind(thread_id).bind(after).bind(limit).fetch_all(p).await)?,
    )
}

/// An edit of an agent's answer made in Telegram (issue 23 item 6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TelegramEdit<'a> {
    /// The admin chat (`TELEGRAM_CHAT_ID`) the edited message is in.
    pub tg_chat_id: i64,
    /// The edited Telegram message's id.
    pub tg_message_id: i64,
    /// The Telegram user who edited it.
    pub tg_from_id: i64,
    /// `true` when the edited message is a text message (its `text`),
    /// `false` for a media message (its `caption`).
    pub is_text: bool,
    /// The new text (trimmed and checked by the core).
    pub text: &'a str,
}

/// Applies `edit` to the answer the edited Telegram message became, and
/// returns that message as now stored, with `edited_at = now`. `None` (and
/// nothing changed) unless all of these hold: the Telegram message is
/// linked to a stored message whose `client_id` is `tg:<chat>:<message>`
/// (an answer written in Telegram, not a forward nor a mirror of a panel
/// answer), written by the same Telegram user (`telegram_links.tg_from_id`),
/// an agent's answer to the visitor (no internal note), of the same kind
/// (text for text, a caption for media), and the text differs.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db, edit), fields(tg_message_id = edit.tg_message_id))]
pub async fn edit_telegram_answer(
    db: &Db,
    edit: &TelegramEdit<'_>,
    now: DateTime<Utc>,
) -> StoreResult<Option<Message>> {
    const SQL: &str = concat!(
        "UPDATE messages SET content_text = $1, edited_at = $2 \
         WHERE id = (SELECT l.message_id FROM telegram_links l \
                     WHERE l.tg_chat_id = $3 AND l.tg_message_id = $4 AND l.tg_from_id = $5) \
           AND client_id = $6 AND sender = 'admin' AND internal = FALSE \
           AND (CASE WHEN type = 'text' THEN 'text' ELSE 'media' END) = $7 \
           AND content_text <> $1 \
         RETURNING ",
        message_cols!()
    );
    let client_id = format!("tg:{}:{}", edit.tg_chat_id, edit.tg_message_id);
    let kind = if edit.is_text { "text" } else { "media" };
    Ok(with_db!(db, p => sqlx::query_as(SQL)
        .bind(edit.text)
        .bind(now)
        .bind(edit.tg_chat_id.to_string())
        .bind(edit.tg_message_id)
        .bind(edit.tg_from_id)
        .bind(&client_id)
        .bind(kind)
        .fetch_optional(p)
        .await)?)
}

/// Deletes every message of a thread and records the `clear` event by
/// `by` at `now` in the same transaction (the thread's events stay). Its
/// Telegram links stay (their `message_id` becomes NULL), so a late
/// Telegram reply still finds the thread. Returns how many were deleted
/// and the event.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db, by), fields(by = %by.name))]
pub async fn clear(
    db: &Db,
    thread_id: &ThreadId,
    by: &crate::domain::ActedBy,
    now: DateTime<Utc>,
) -> StoreResult<(u64, crate::domain::ThreadEvent)> {
    use crate::domain::ThreadAction;
    Ok(with_db!(db, p => {
        let mut tx = p.begin().await?;
        let n = sqlx::query("DELETE FROM messages WHERE thread_id = $1").bind(thread_id).execute(&mut *tx).await?.rows_affected();
        let ev = super::thread_events::insert_event!(&mut *tx, thread_id, by, ThreadAction::Clear, None::<&str>, now)?;
        // Its emailed links die with the messages (issue 26).
        sqlx::query(super::email::REVOKE_LINKS_SQL).bind(thread_id).execute(&mut *tx).await?;
        sqlx::query(super::email::CANCEL_THREAD_SQL).bind(thread_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>((n, ev))
    })?)
}

/// Which of `urls` (local upload URLs, `/uploads/…`) some message's
/// `file_url` carries now: the files the upload sweep must keep
/// (`media::sweep`), checked just before it removes any. One query per
/// power-of-two chunk of `urls` (at most 512 each), the same text on SQLite
/// and Postgres; other URLs are never returned.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip_all, fields(urls = urls.len()))]
pub async fn referenced_among(
    db: &Db,
    urls: &[String],
) -> StoreResult<std::collections::HashSet<String>> {
    let mut out = std::collections::HashSet::new();
    for (start, len) in chunks(urls.len()) {
        let found: Vec<String> = with_db!(db, p => {
            let mut q = sqlx::query_scalar(referenced_sql(len)).bind("/uploads/%");
            for u in &urls[start..start + len] {
                q = q.bind(u);
            }
            q.fetch_all(p).await
        })?;
        out.extend(found);
    }
    Ok(out)
}
