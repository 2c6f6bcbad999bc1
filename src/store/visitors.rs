//! The `visitor_contexts` table (issue 14): where the visitor of a thread
//! is (page, referrer, browser, language, time zone) and who it says or is
//! verified to be (name, email, the site's user id). One row per thread,
//! keyed by thread id; the row may exist before the thread (the context is
//! reported before the first message). One SQL text for both backends.

use crate::domain::ThreadId;
use chrono::{DateTime, Utc};

use super::with_db;
use super::{Db, StoreResult};
use crate::domain::{PageReport, VisitorContext};

/// The columns of [`VisitorContext`], as a literal for `concat!`.
macro_rules! cols {
    () => {
        "thread_id, page_url, page_title, referrer, browser, os, language, timezone, \
         name, email, user_id, verified, away_shown_at, updated_at"
    };
}

/// Records a page report for `thread_id` (creating the row when missing).
/// Page, browser, language and time zone replace the stored ones when
/// given; the referrer is kept from the first report.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db, r))]
pub async fn report_page(
    db: &Db,
    thread_id: &ThreadId,
    r: &PageReport,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    const SQL: &str = "INSERT INTO visitor_contexts (thread_id, page_url, page_title, referrer, \
          browser, os, language, timezone, away_shown_at, created_at, updated_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
        ON CONFLICT (thread_id) DO UPDATE SET \
          page_url = COALESCE(excluded.page_url, visitor_contexts.page_url), \
          page_title = CASE WHEN excluded.page_url IS NULL THEN visitor_contexts.page_title \
                            ELSE excluded.page_title END, \
          referrer = COALESCE(visitor_contexts.referrer, excluded.referrer), \
          browser = COALESCE(excluded.browser, visitor_contexts.browser), \
          os = COALESCE(excluded.os, visitor_contexts.os), \
          language = COALESCE(excluded.language, visitor_contexts.language), \
          timezone = COALESCE(excluded.timezone, visitor_contexts.timezone), \
          away_shown_at = COALESCE(excluded.away_shown_at, visitor_contexts.away_shown_at), \
          updated_at = excluded.updated_at";
    let away = r.away_shown.then_some(now);
    Ok(with_db!(db, p => sqlx::query(SQL)
        .bind(thread_id)
        .bind(&r.page_url)
        .bind(&r.page_title)
        .bind(&r.referrer)
        .bind(&r.browser)
        .bind(&r.os)
        .bind(&r.language)
        .bind(&r.timezone)
        .bind(away)
        .bind(now)
        .execute(p)
        .await
        .map(|_| ()))?)
}

/// The context of a thread, if any was reported.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn get(db: &Db, thread_id: &ThreadId) -> StoreResult<Option<VisitorContext>> {
    const SQL: &str = concat!(
        "SELECT ",
        cols!(),
        " FROM visitor_contexts WHERE thread_id = $1"
    );
    Ok(with_db!(db, p => sqlx::query_as(SQL).bind(thread_id).fetch_optional(p).await)?)
}

/// The thread bound to the verified site user `user_id`, if any.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db, user_id))]
pub async fn thread_of_user(db: &Db, user_id: &str) -> StoreResult<Option<ThreadId>> {
    const SQL: &str = "SELECT thread_id FROM visitor_contexts WHERE user_id = $1";
    Ok(with_db!(db, p => sqlx::query_scalar(SQL).bind(user_id).fetch_optional(p).await)?)
}

/// Stores a name and email the visitor gave without proof (the pre-chat
/// form, `identify` without a valid hash): given fields replace the stored
/// ones, unless the row is verified (a verified name is never replaced by an
/// unverified one).
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip_all)]
pub async fn set_unverified(
    db: &Db,
    thread_id: &ThreadId,
    name: Option<&str>,
    email: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    const SQL: &str = "INSERT INTO visitor_contexts (thread_id, name, email, created_at, updated_at) \
        VALUES ($1, $2, $3, $4, $4) \
        ON CONFLICT (thread_id) DO UPDATE SET \
          name = COALESCE(excluded.name, visitor_contexts.name), \
          email = COALESCE(excluded.email, visitor_contexts.email), \
          updated_at = excluded.updated_at \
        WHERE visitor_contexts.verified = FALSE";
    Ok(with_db!(db, p => sqlx::query(SQL)
        .bind(thread_id)
        .bind(name)
        .bind(email)
        .bind(now)
        .execute(p)
        .await
        .map(|_| ()))?)
}

/// Binds `thread_id` to the verified site user `user_id` and stores the
/// vouched-for name and email (replacing unverified ones). Returns `false`
/// when `user_id` is already bound to another thread (a concurrent
/// `identify` won: look it up again with [`thread_of_user`]); nothing is
/// changed then.
///
/// # Errors
/// Database errors other than that unique violation.
#[tracing::instrument(skip_all)]
pub async fn bind_user(
    db: &Db,
    thread_id: &ThreadId,
    user_id: &str,
    name: Option<&str>,
    email: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    const SQL: &str = "INSERT INTO visitor_contexts \
          (thread_id, name, email, user_id, verified, created_at, updated_at) \
        VALUES ($1, $2, $3, $4, TRUE, $5, $5) \
        ON CONFLICT (thread_id) DO UPDATE SET \
          name = COALESCE(excluded.name, visitor_contexts.name), \
          email = COALESCE(excluded.email, visitor_contexts.email), \
          user_id = excluded.user_id, verified = TRUE, updated_at = excluded.updated_at";
    let res = with_db!(db, p => sqlx::query(SQL)
        .bind(thread_id)
        .bind(name)
        .bind(email)
        .bind(user_id)
        .bind(now)
        .execute(p)
        .await
        .map(|_| ()));
    match res {
        Ok(()) => Ok(true),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The context to show with a Telegram forward: only for the thread's
/// first visitor message (`message_id`), so the admin chat gets one
/// context line per thread, not one per message.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn for_first_forward(
    db: &Db,
    thread_id: &ThreadId,
    message_id: crate::domain::MessageId,
) -> StoreResult<Option<VisitorContext>> {
    const SQL: &str = concat!(
        "SELECT ",
        cols!(),
        " FROM visitor_contexts WHERE thread_id = $1 AND NOT EXISTS \
         (SELECT 1 FROM messages m WHERE m.thread_id = $1 AND m.sender = 'visitor' AND m.id < $2)"
    );
    Ok(
        with_db!(db, p => sqlx::query_as(SQL).bind(thread_id).bind(message_id).fetch_optional(p).await)?,
    )
}

/// Removes contexts last updated before `before` whose visitor never wrote
/// (no thread row): bounds the rows a visitor who only looks can leave.
/// Returns how many were removed.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn prune_orphans(db: &Db, before: DateTime<Utc>) -> StoreResult<u64> {
    const SQL: &str = "DELETE FROM visitor_contexts WHERE updated_at < $1 \
        AND NOT EXISTS (SELECT 1 FROM threads t WHERE t.id = visitor_contexts.thread_id)";
    Ok(
        with_db!(db, p => sqlx::query(SQL).bind(before).execute(p).await.map(|r| r.rows_affected()))?,
    )
}
