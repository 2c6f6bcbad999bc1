//! The `canned_replies` table (issue 13): the admin's short named answers.
//! One SQL text for both backends. Names are unique by `name_key` (the
//! name in lower case, computed by the core, `chat::canned`); a second
//! reply with the same key is refused by the unique index and reported as
//! [`CannedWrite::NameTaken`], never as a database error.

use chrono::{DateTime, Utc};

use super::with_db;
use super::{Db, StoreResult};
use crate::domain::{CannedId, CannedReply, CannedWrite, NewCanned};

/// The columns of [`CannedReply`], as a literal for `concat!`.
macro_rules! cols {
    () => {
        "id, name, body, created_at, updated_at"
    };
}

/// Every reply, by name (`name_key`, then id).
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn list(db: &Db) -> StoreResult<Vec<CannedReply>> {
    const SQL: &str = concat!(
        "SELECT ",
        cols!(),
        " FROM canned_replies ORDER BY name_key, id"
    );
    Ok(with_db!(db, p => sqlx::query_as(SQL).fetch_all(p).await)?)
}

/// One reply by id.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn get(db: &Db, id: CannedId) -> StoreResult<Option<CannedReply>> {
    const SQL: &str = concat!("SELECT ", cols!(), " FROM canned_replies WHERE id = $1");
    Ok(with_db!(db, p => sqlx::query_as(SQL).bind(id).fetch_optional(p).await)?)
}

/// Stores a new reply unless `max` replies exist already
/// ([`CannedWrite::Missing`] then) or its name is taken. The count is read
/// in the same statement; on Postgres two creates racing at the limit may
/// both pass it (a bound against accidents, not a security limit).
///
/// # Errors
/// Database errors other than the name's unique violation.
#[tracing::instrument(skip(db, r), fields(name = %r.name))]
pub async fn insert(
    db: &Db,
    r: &NewCanned,
    max: i64,
    now: DateTime<Utc>,
) -> StoreResult<CannedWrite> {
    const SQL: &str = concat!(
        "INSERT INTO canned_replies (name, name_key, body, created_at, updated_at) \
         SELECT $1, $2, $3, $4, $4 WHERE (SELECT COUNT(*) FROM canned_replies) < $5 \
         RETURNING ",
        cols!()
    );
    let res: Result<Option<CannedReply>, sqlx::Error> = with_db!(db, p => sqlx::query_as(SQL)
        .bind(&r.name)
        .bind(&r.name_key)
        .bind(&r.body)
        .bind(now)
        .bind(max)
        .fetch_optional(p)
        .await);
    outcome(res)
}

/// Replaces the name and body of reply `id`.
///
/// # Errors
/// Database errors other than the name's unique violation.
#[tracing::instrument(skip(db, r), fields(name = %r.name))]
pub async fn update(
    db: &Db,
    id: CannedId,
    r: &NewCanned,
    now: DateTime<Utc>,
) -> StoreResult<CannedWrite> {
    const SQL: &str = concat!(
        "UPDATE canned_replies SET name = $1, name_key = $2, body = $3, updated_at = $4 \
         WHERE id = $5 RETURNING ",
        cols!()
    );
    let res: Result<Option<CannedReply>, sqlx::Error> = with_db!(db, p => sqlx::query_as(SQL)
        .bind(&r.name)
        .bind(&r.name_key)
        .bind(&r.body)
        .bind(now)
        .bind(id)
        .fetch_optional(p)
        .await);
    outcome(res)
}

fn outcome(res: Result<Option<CannedReply>, sqlx::Error>) -> StoreResult<CannedWrite> {
    match res {
        Ok(Some(row)) => Ok(CannedWrite::Stored(row)),
        Ok(None) => Ok(CannedWrite::Missing),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(CannedWrite::NameTaken),
        Err(e) => Err(e.into()),
    }
}

/// Deletes reply `id`; `false` when there was none.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn delete(db: &Db, id: CannedId) -> StoreResult<bool> {
    const SQL: &str = "DELETE FROM canned_replies WHERE id = $1";
    Ok(
        with_db!(db, p => sqlx::query(SQL).bind(id).execute(p).await.map(|r| r.rows_affected() > 0))?,
    )
}
