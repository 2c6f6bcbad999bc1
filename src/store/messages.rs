//! The `messages` table: batched inserts (group commit), pages of a thread,
//! catch-up after an id, clearing.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Db;
use crate::with_db;

/// A stored message as the API shows it (`shared/DESIGN.md` § HTTP contract,
/// `Message`): `{id, thread_id, content_text, content_type, sender_type,
/// file_url, created_at, client_id}`. `created_at` is RFC 3339 UTC with `Z`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Message {
    /// Grows with time.
    pub id: i64,
    /// Thread id (UUID text).
    pub thread_id: String,
    /// The text (1..=4000 characters for text messages; may be empty for media).
    pub content_text: String,
    /// `text` | `image` | `audio`.
    #[sqlx(rename = "type")]
    pub content_type: String,
    /// `visitor` | `admin`.
    #[sqlx(rename = "sender")]
    pub sender_type: String,
    /// Media URL for `image` / `audio`.
    pub file_url: Option<String>,
    /// Stored at (UTC).
    #[serde(serialize_with = "crate::store::messages::rfc3339")]
    pub created_at: DateTime<Utc>,
    /// The sender's idempotency key, if it sent one.
    pub client_id: Option<String>,
}

/// Serialises a UTC time as RFC 3339 with millisecond precision and `Z`.
pub fn rfc3339<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339_string(t))
}

/// A message to insert. `new_thread` carries the display name when the
/// thread row may have to be created (a visitor's first message).
#[derive(Clone, Debug)]
pub struct NewMessage {
    /// Target thread.
    pub thread_id: String,
    /// `visitor` | `admin`.
    pub sender: &'static str,
    /// `text` | `image` | `audio`.
    pub kind: &'static str,
    /// Text (trimmed).
    pub text: String,
    /// Media URL.
    pub file_url: Option<String>,
    /// Idempotency key.
    pub client_id: Option<String>,
    /// `Some(display_name)`: create the thread if it does not exist.
    pub new_thread: Option<String>,
    /// Queue a forward to Telegram in the same transaction (outbox).
    pub forward: bool,
}

/// What one insert did.
#[derive(Clone, Debug)]
pub struct Inserted {
    /// The stored row (an earlier one when `duplicate`).
    pub message: Message,
    /// The thread row was created by this insert.
    pub thread_created: bool,
    /// `client_id` had been stored before: nothing new was written.
    pub duplicate: bool,
    /// That earlier message has another sender: the key is taken.
    pub conflict: bool,
}

/// The columns of [`Message`], as a literal for `concat!`.
macro_rules! cols {
    () => {
        "id, thread_id, content_text, type, sender, file_url, created_at, client_id"
    };
}

macro_rules! insert_all {
    ($p:ident, $batch:ident) => {{
        let mut tx = $p.begin().await?;
        let mut out = Vec::with_capacity($batch.len());
        for m in $batch {
            let now = super::now();
            let mut thread_created = false;
            if let Some(name) = &m.new_thread {
                let r = sqlx::query(
                    "INSERT INTO threads (id, display_name, created_at, last_activity_at, status) \
                     VALUES ($1, $2, $3, $3, 'active') ON CONFLICT (id) DO NOTHING",
                )
                .bind(&m.thread_id)
                .bind(name)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                thread_created = r.rows_affected() == 1;
            }
            if let Some(cid) = &m.client_id {
                let existing: Option<Message> = sqlx::query_as(concat!(
                    "SELECT ", cols!(), " FROM messages WHERE thread_id = $1 AND client_id = $2"
                ))
                .bind(&m.thread_id)
                .bind(cid)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(message) = existing {
                    // Another sender's key is not a retry of this message.
                    let conflict = message.sender_type != m.sender;
                    out.push(Inserted { message, thread_created, duplicate: true, conflict });
                    continue;
                }
            }
            let message: Message = sqlx::query_as(concat!(
                "INSERT INTO messages (thread_id, sender, type, content_text, file_url, client_id, created_at) ",
                "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ", cols!()
            ))
            .bind(&m.thread_id)
            .bind(m.sender)
            .bind(m.kind)
            .bind(&m.text)
            .bind(&m.file_url)
            .bind(&m.client_id)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            if m.forward {
                sqlx::query(
                    "INSERT INTO telegram_outbox (message_id, thread_id, status, attempts, next_attempt_at, created_at) \
                     VALUES ($1, $2, 'pending', 0, $3, $3)",
                )
                .bind(message.id)
                .bind(&m.thread_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query("UPDATE threads SET last_activity_at = $1 WHERE id = $2")
                .bind(now)
                .bind(&m.thread_id)
                .execute(&mut *tx)
                .await?;
            out.push(Inserted { message, thread_created, duplicate: false, conflict: false });
        }
        tx.commit().await?;
        Ok(out)
    }};
}

/// Inserts `batch` in one transaction, in order (group commit). Returns one
/// [`Inserted`] per input, only after the commit.
///
/// # Errors
/// Any database error; then nothing of the batch is stored.
#[tracing::instrument(skip_all, fields(n = batch.len()))]
pub async fn insert_batch(db: &Db, batch: &[NewMessage]) -> Result<Vec<Inserted>, sqlx::Error> {
    with_db!(db, p => insert_all!(p, batch))
}

/// A page of a thread, oldest first: the newest `limit` messages, or those
/// before id `before`, or (catch-up) the first `limit` after id `after`.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn page(
    db: &Db,
    thread_id: &str,
    limit: i64,
    before: Option<i64>,
    after: Option<i64>,
) -> Result<Vec<Message>, sqlx::Error> {
    if let Some(after) = after {
        const SQL: &str = concat!(
            "SELECT ",
            cols!(),
            " FROM messages WHERE thread_id = $1 AND id > $2 ORDER BY id ASC LIMIT $3"
        );
        return with_db!(db, p => sqlx::query_as(SQL).bind(thread_id).bind(after).bind(limit).fetch_all(p).await);
    }
    const SQL: &str = concat!(
        "SELECT ",
        cols!(),
        " FROM messages WHERE thread_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
    );
    let before = before.unwrap_or(i64::MAX);
    let mut rows: Vec<Message> = with_db!(db, p => sqlx::query_as(SQL).bind(thread_id).bind(before).bind(limit).fetch_all(p).await)?;
    rows.reverse();
    Ok(rows)
}

/// Deletes every message of a thread. Its Telegram links stay (their
/// `message_id` becomes NULL), so a late Telegram reply still finds the thread.
/// Returns how many were deleted.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn clear(db: &Db, thread_id: &str) -> Result<u64, sqlx::Error> {
    with_db!(db, p => {
        let mut tx = p.begin().await?;
        let n = sqlx::query("DELETE FROM messages WHERE thread_id = $1").bind(thread_id).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok(n)
    })
}

/// A UTC time as RFC 3339 with millisecond precision and `Z`.
pub fn rfc3339_string(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Every local upload URL (`/uploads/…`) that some message's `file_url`
/// carries: the files the upload sweep must keep (`media::sweep`). One
/// query, the same text on SQLite and Postgres; Cloudinary URLs are not
/// included.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn referenced_upload_urls(
    db: &Db,
) -> Result<std::collections::HashSet<String>, sqlx::Error> {
    const SQL: &str = "SELECT DISTINCT file_url FROM messages WHERE file_url LIKE '/uploads/%'";
    let urls: Vec<String> = with_db!(db, p => sqlx::query_scalar(SQL).fetch_all(p).await)?;
    Ok(urls.into_iter().collect())
}
