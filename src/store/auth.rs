//! Tables of the admin login: pending codes (`login_otps`) and sessions
//! (`admin_sessions`), each naming its agent (`agents`). Only hashes are
//! stored, never a code or a token.

use chrono::{DateTime, Utc};

use super::with_db;
use super::{Db, StoreResult};
use crate::domain::AgentId;

/// A pending login code.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct OtpRow {
    /// Random id, held by the browser in the `sohbet_login` cookie.
    pub id: String,
    /// Who passed the password step (login name).
    pub username: String,
    /// The agent who passed it (`None` only for a row from before agents,
    /// until the start gives it to the bootstrap owner).
    pub agent_id: Option<AgentId>,
    /// HMAC of the code (hex).
    pub code_hash: String,
    /// Wrong tries so far.
    pub attempts: i32,
    /// Dies at (UTC).
    pub expires_at: DateTime<Utc>,
}

/// Stores a new pending code and drops expired ones.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip_all)]
pub async fn insert_otp(db: &Db, row: &OtpRow, now: DateTime<Utc>) -> StoreResult<()> {
    Ok(with_db!(db, p => {
        sqlx::query("DELETE FROM login_otps WHERE expires_at < $1").bind(now).execute(p).await?;
        sqlx::query(
            "INSERT INTO login_otps (id, username, code_hash, attempts, expires_at, created_at, agent_id) \
             VALUES ($1, $2, $3, 0, $4, $5, $6)",
        )
        .bind(&row.id)
        .bind(&row.username)
        .bind(&row.code_hash)
        .bind(row.expires_at)
        .bind(now)
        .bind(row.agent_id)
        .execute(p)
        .await
        .map(|_| ())
    })?)
}

/// Takes one try of a pending code, atomically: counts it and returns the
/// row (with the new count) only when the code exists, is not expired at
/// `now` and had fewer than `max_attempts` tries. One statement (`UPDATE …
/// RETURNING`, SQLite ≥ 3.35 and Postgres), so concurrent guesses can never
/// compare more than `max_attempts` times (issue 8 item 7).
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip_all)]
pub async fn take_otp_attempt(
    db: &Db,
    id: &str,
    max_attempts: i32,
    now: DateTime<Utc>,
) -> StoreResult<Option<OtpRow>> {
    const SQL: &str = "UPDATE login_otps SET attempts = attempts + 1 \
                       WHERE id = $1 AND attempts < $2 AND expires_at > $3 \
                       RETURNING id, username, agent_id, code_hash, attempts, expires_at";
    Ok(
        with_db!(db, p => sqlx::query_as(SQL).bind(id).bind(max_attempts).bind(now).fetch_optional(p).await)?,
    )
}

/// The agent of pending code `id`, if the code exists (live or not).
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip_all)]
pub async fn otp_agent(db: &Db, id: &str) -> StoreResult<Option<AgentId>> {
    const SQL: &str = "SELECT agent_id FROM login_otps WHERE id = $1";
    let row: Option<Option<AgentId>> =
        with_db!(db, p => sqlx::query_scalar(SQL).bind(id).fetch_optional(p).await)?;
    Ok(row.flatten())
}

/// Deletes a code; `true` when this call deleted it (so a code is used once
/// even when two requests race).
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip_all)]
pub async fn consume_otp(db: &Db, id: &str) -> StoreResult<bool> {
    const SQL: &str = "DELETE FROM login_otps WHERE id = $1";
    Ok(
        with_db!(db, p => sqlx::query(SQL).bind(id).execute(p).await.map(|r| r.rows_affected() == 1))?,
    )
}

/// Stores a new admin session of agent `agent_id`.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip_all)]
pub async fn insert_session(
    db: &Db,
    token_hash: &str,
    agent_id: AgentId,
    username: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> StoreResult<()> {
    Ok(with_db!(db, p => {
        sqlx::query("DELETE FROM admin_sessions WHERE expires_at < $1").bind(now).execute(p).await?;
        sqlx::query(
            "INSERT INTO admin_sessions (token_hash, username, created_at, last_seen_at, expires_at, agent_id) \
             VALUES ($1, $2, $3, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(username)
        .bind(now)
        .bind(expires_at)
        .bind(agent_id)
        .execute(p)
        .await
        .map(|_| ())
    })?)
}

/// Finds a live session (not past `expires_at`, used after `idle_since`) of
/// an enabled agent and marks it used now. Returns its agent's id.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip_all)]
pub async fn touch_session(
    db: &Db,
    token_hash: &str,
    now: DateTime<Utc>,
    idle_since: DateTime<Utc>,
) -> StoreResult<Option<AgentId>> {
    const SQL: &str = "UPDATE admin_sessions SET last_seen_at = $1 \
                       WHERE token_hash = $2 AND expires_at > $1 AND last_seen_at > $3 \
                       AND agent_id IN (SELECT id FROM agents WHERE disabled_at IS NULL) \
                       RETURNING agent_id";
    Ok(
        with_db!(db, p => sqlx::query_scalar(SQL).bind(now).bind(token_hash).bind(idle_since).fetch_optional(p).await)?,
    )
}

/// Is the session of `token_hash` live (not past `expires_at` at `now`,
/// used after `idle_since`, its agent enabled)? Unlike [`touch_session`] it does not mark it
/// used: an open socket alone does not keep a session alive.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip_all)]
pub async fn session_live(
    db: &Db,
    token_hash: &str,
    now: DateTime<Utc>,
    idle_since: DateTime<Utc>,
) -> StoreResult<bool> {
    const SQL: &str = "SELECT COUNT(*) FROM admin_sessions \
                       WHERE token_hash = $1 AND expires_at > $2 AND last_seen_at > $3 \
                       AND agent_id IN (SELECT id FROM agents WHERE disabled_at IS NULL)";
    Ok(
        with_db!(db, p => sqlx::query_scalar::<_, i64>(SQL).bind(token_hash).bind(now).bind(idle_since).fetch_one(p).await.map(|n| n > 0))?,
    )
}

/// Deletes a session (logout).
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip_all)]
pub async fn delete_session(db: &Db, token_hash: &str) -> StoreResult<()> {
    const SQL: &str = "DELETE FROM admin_sessions WHERE token_hash = $1";
    Ok(with_db!(db, p => sqlx::query(SQL).bind(token_hash).execute(p).await.map(|_| ()))?)
}
