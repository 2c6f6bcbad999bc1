//! The `agents` table (issue 22 item 1): the support team's logins. One SQL
//! text for both backends. Logins are stored in lower case (computed by
//! `auth::agents`) and unique; only hashes are stored (an Argon2id PHC
//! string for the password, SHA-256 hex for an invite token). The rule
//! "the last enabled owner stays an enabled owner" is checked inside the
//! writing statement itself.

use chrono::{DateTime, Utc};

use super::with_db;
use super::{Db, StoreError, StoreResult};
use crate::domain::{Agent, AgentId, AgentRole};

/// The columns of [`Agent`], as a literal for `concat!`.
macro_rules! cols {
    () => {
        "id, login, display_name, role, telegram_user_id, \
         (password_hash IS NULL AND invite_hash IS NOT NULL) AS invite_pending, \
         disabled_at, created_at"
    };
}

/// "Another enabled owner exists besides agent `$1`" (a condition of the
/// guarded writes), as a literal for `concat!`.
macro_rules! another_owner {
    () => {
        "EXISTS (SELECT 1 FROM agents o WHERE o.role = 'owner' \
         AND o.disabled_at IS NULL AND o.id <> $1)"
    };
}

/// What the login step needs of an agent.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Credentials {
    /// Row id.
    pub id: AgentId,
    /// Login name (lower case).
    pub login: String,
    /// Shown name.
    pub display_name: String,
    /// Role.
    pub role: AgentRole,
    /// Argon2id PHC string; `None` before a password was ever set.
    pub password_hash: Option<String>,
    /// Its private Telegram chat (login codes), if linked.
    pub telegram_user_id: Option<i64>,
    /// Disabled since.
    pub disabled_at: Option<DateTime<Utc>>,
}

/// The columns of [`Credentials`], as a literal for `concat!`.
macro_rules! cred_cols {
    () => {
        "id, login, display_name, role, password_hash, telegram_user_id, disabled_at"
    };
}

/// A new agent.
#[derive(Clone, Debug)]
pub struct NewAgent {
    /// Login name, lower case.
    pub login: String,
    /// Shown name.
    pub display_name: String,
    /// Role.
    pub role: AgentRole,
    /// Argon2id PHC string, when the owner gave a password.
    pub password_hash: Option<String>,
    /// SHA-256 (hex) of the invite token and when it dies, otherwise.
    pub invite: Option<(String, DateTime<Utc>)>,
}

/// The outcome of a guarded write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AgentWrite {
    /// Written; the agent as it is now.
    Stored(Agent),
    /// No such agent.
    Missing,
    /// The login is taken (without regard to case).
    LoginTaken,
    /// It would leave no enabled owner: nothing was written.
    LastOwner,
}

/// Creates the bootstrap owner `login` unless an agent of that login exists
/// (whatever its role or state: an owner's decisions about it stand), and
/// gives it the sessions and pending codes that name no agent (rows from
/// before agents existed: they were the one admin's). Returns its id.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn bootstrap_owner(db: &Db, login: &str, now: DateTime<Utc>) -> StoreResult<AgentId> {
    const INSERT: &str = "INSERT INTO agents (login, display_name, role, created_at) \
                          VALUES ($1, $1, 'owner', $2) ON CONFLICT (login) DO NOTHING";
    const ID: &str = "SELECT id FROM agents WHERE login = $1";
    const SESSIONS: &str = "UPDATE admin_sessions SET agent_id = $1 WHERE agent_id IS NULL";
    const OTPS: &str = "UPDATE login_otps SET agent_id = $1 WHERE agent_id IS NULL";
    Ok(with_db!(db, p => {
        let mut tx = p.begin().await?;
        sqlx::query(INSERT).bind(login).bind(now).execute(&mut *tx).await?;
        let id: AgentId = sqlx::query_scalar(ID).bind(login).fetch_one(&mut *tx).await?;
        sqlx::query(SESSIONS).bind(id).execute(&mut *tx).await?;
        sqlx::query(OTPS).bind(id).execute(&mut *tx).await?;
        tx.commit().await.map(|_| id)
    })?)
}

/// The login data of agent `login` (lower case).
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn credentials(db: &Db, login: &str) -> StoreResult<Option<Credentials>> {
    const SQL: &str = concat!("SELECT ", cred_cols!(), " FROM agents WHERE login = $1");
    Ok(with_db!(db, p => sqlx::query_as(SQL).bind(login).fetch_optional(p).await)?)
}

/// The login data of agent `id`.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn credentials_by_id(db: &Db, id: AgentId) -> StoreResult<Option<Credentials>> {
    const SQL: &str = concat!("SELECT ", cred_cols!(), " FROM agents WHERE id = $1");
    Ok(with_db!(db, p => sqlx::query_as(SQL).bind(id).fetch_optional(p).await)?)
}

/// The login data of the agent linked to Telegram user `user`.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn credentials_by_telegram(db: &Db, user: i64) -> StoreResult<Option<Credentials>> {
    const SQL: &str = concat!(
        "SELECT ",
        cred_cols!(),
        " FROM agents WHERE telegram_user_id = $1"
    );
    Ok(with_db!(db, p => sqlx::query_as(SQL).bind(user).fetch_optional(p).await)?)
}

/// Every agent, owners first, then by login.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn list(db: &Db) -> StoreResult<Vec<Agent>> {
    const SQL: &str = concat!(
        "SELECT ",
        cols!(),
        " FROM agents ORDER BY CASE role WHEN 'owner' THEN 0 ELSE 1 END, login"
    );
    Ok(with_db!(db, p => sqlx::query_as(SQL).fetch_all(p).await)?)
}

/// One agent.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn get(db: &Db, id: AgentId) -> StoreResult<Option<Agent>> {
    const SQL: &str = concat!("SELECT ", cols!(), " FROM agents WHERE id = $1");
    Ok(with_db!(db, p => sqlx::query_as(SQL).bind(id).fetch_optional(p).await)?)
}

/// Stores a new agent ([`AgentWrite::LoginTaken`] when its login exists).
///
/// # Errors
/// Database errors other than the login's unique violation.
#[tracing::instrument(skip(db, a), fields(login = %a.login))]
pub async fn insert(db: &Db, a: &NewAgent, now: DateTime<Utc>) -> StoreResult<AgentWrite> {
    const SQL: &str = concat!(
        "INSERT INTO agents (login, display_name, role, password_hash, invite_hash, \
         invite_expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ",
        cols!()
    );
    let (invite, expires) = a.invite.clone().unzip();
    let res: Result<Option<Agent>, sqlx::Error> = with_db!(db, p => sqlx::query_as(SQL)
        .bind(&a.login)
        .bind(&a.display_name)
        .bind(a.role)
        .bind(&a.password_hash)
        .bind(&invite)
        .bind(expires)
        .bind(now)
        .fetch_optional(p)
        .await);
    outcome(res)
}

/// On Postgres, locks the rows of the enabled owners (in id order) for the
/// rest of the transaction: two demotions or disablings of the last two
/// owners at once then run one after the other, and the second one's
/// [`another_owner!`] check (a new snapshot per statement under READ
/// COMMITTED) sees the first (PostgreSQL docs § 13.2.1, § 13.3.2). SQLite
/// runs one writer at a time anyway.
const LOCK_OWNERS_PG: &str =
    "SELECT id FROM agents WHERE role = 'owner' AND disabled_at IS NULL ORDER BY id FOR UPDATE";

/// Changes the shown name and/or the role of agent `id`; demoting the last
/// enabled owner is refused ([`AgentWrite::LastOwner`]), also when two
/// owners demote each other at once ([`LOCK_OWNERS_PG`]).
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn update(
    db: &Db,
    id: AgentId,
    display_name: Option<&str>,
    role: Option<AgentRole>,
) -> StoreResult<AgentWrite> {
    const SQL: &str = concat!(
        "UPDATE agents SET display_name = COALESCE($2, display_name), role = COALESCE($3, role) \
         WHERE id = $1 AND ($3 IS NULL OR $3 = 'owner' OR role <> 'owner' \
         OR disabled_at IS NOT NULL OR ",
        another_owner!(),
        ") RETURNING ",
        cols!()
    );
    let postgres = matches!(db, Db::Postgres(_));
    let res: Result<Option<Agent>, sqlx::Error> = with_db!(db, p => async {
        let mut tx = p.begin().await?;
        if postgres {
            sqlx::query(LOCK_OWNERS_PG).execute(&mut *tx).await?;
        }
        let row = sqlx::query_as(SQL)
            .bind(id)
            .bind(display_name)
            .bind(role)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(row)
    }.await);
    guarded(db, id, outcome(res)?).await
}

/// A refused guarded write: missing, or the last owner.
async fn guarded(db: &Db, id: AgentId, w: AgentWrite) -> StoreResult<AgentWrite> {
    if w != AgentWrite::Missing {
        return Ok(w);
    }
    Ok(match get(db, id).await? {
        Some(_) => AgentWrite::LastOwner,
        None => AgentWrite::Missing,
    })
}

/// Disables agent `id` at `now` (the last enabled owner is refused, also
/// against a concurrent demotion: [`LOCK_OWNERS_PG`]) and
/// deletes its sessions and pending codes, in one transaction. Returns the
/// outcome and the token hashes of the sessions it ended (their sockets
/// are to be disconnected). Disabling a disabled agent changes nothing
/// but still ends any session.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn disable(
    db: &Db,
    id: AgentId,
    now: DateTime<Utc>,
) -> StoreResult<(AgentWrite, Vec<String>)> {
    const SQL: &str = concat!(
        "UPDATE agents SET disabled_at = COALESCE(disabled_at, $2) \
         WHERE id = $1 AND (role <> 'owner' OR disabled_at IS NOT NULL OR ",
        another_owner!(),
        ") RETURNING ",
        cols!()
    );
    const SESSIONS: &str = "DELETE FROM admin_sessions WHERE agent_id = $1 RETURNING token_hash";
    const OTPS: &str = "DELETE FROM login_otps WHERE agent_id = $1";
    let postgres = matches!(db, Db::Postgres(_));
    let res: Result<(Option<Agent>, Vec<String>), sqlx::Error> = with_db!(db, p => async {
        let mut tx = p.begin().await?;
        if postgres {
            sqlx::query(LOCK_OWNERS_PG).execute(&mut *tx).await?;
        }
        let row: Option<Agent> = sqlx::query_as(SQL).bind(id).bind(now).fetch_optional(&mut *tx).await?;
        if row.is_none() {
            return Ok((None, vec![]));
        }
        let ended: Vec<String> = sqlx::query_scalar(SESSIONS).bind(id).fetch_all(&mut *tx).await?;
        sqlx::query(OTPS).bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok((row, ended))
    }.await);
    let (row, ended) = res?;
    let w = guarded(db, id, row.map_or(AgentWrite::Missing, AgentWrite::Stored)).await?;
    Ok((w, ended))
}

/// Enables agent `id` again.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn enable(db: &Db, id: AgentId) -> StoreResult<AgentWrite> {
    const SQL: &str = concat!(
        "UPDATE agents SET disabled_at = NULL WHERE id = $1 RETURNING ",
        cols!()
    );
    let res: Result<Option<Agent>, sqlx::Error> =
        with_db!(db, p => sqlx::query_as(SQL).bind(id).fetch_optional(p).await);
    outcome(res)
}

/// Sets agent `id`'s password hash (and drops any invite); `false` when
/// there is no such agent.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db, hash))]
pub async fn set_password(db: &Db, id: AgentId, hash: &str) -> StoreResult<bool> {
    const SQL: &str = "UPDATE agents SET password_hash = $2, invite_hash = NULL, \
                       invite_expires_at = NULL WHERE id = $1";
    Ok(
        with_db!(db, p => sqlx::query(SQL).bind(id).bind(hash).execute(p).await.map(|r| r.rows_affected() == 1))?,
    )
}

/// The enabled agent whose live invite (not expired at `now`) hashes to
/// `invite_hash`: `(id, login, display_name)`.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip_all)]
pub async fn invite(
    db: &Db,
    invite_hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<Option<(AgentId, String, String)>> {
    const SQL: &str = "SELECT id, login, display_name FROM agents WHERE invite_hash = $1 \
                       AND invite_expires_at > $2 AND disabled_at IS NULL";
    Ok(with_db!(db, p => sqlx::query_as(SQL).bind(invite_hash).bind(now).fetch_optional(p).await)?)
}

/// Uses the live invite `invite_hash`: sets the password hash and drops the
/// invite in one statement (so an invite is used once even when two
/// requests race). Returns the agent's id, or `None` for an unknown,
/// used, expired invite or a disabled agent.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip_all)]
pub async fn use_invite(
    db: &Db,
    invite_hash: &str,
    password_hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<Option<AgentId>> {
    const SQL: &str = "UPDATE agents SET password_hash = $2, invite_hash = NULL, \
                       invite_expires_at = NULL WHERE invite_hash = $1 \
                       AND invite_expires_at > $3 AND disabled_at IS NULL RETURNING id";
    Ok(with_db!(db, p => sqlx::query_scalar(SQL)
        .bind(invite_hash)
        .bind(password_hash)
        .bind(now)
        .fetch_optional(p)
        .await)?)
}

fn outcome(res: Result<Option<Agent>, sqlx::Error>) -> StoreResult<AgentWrite> {
    match res {
        Ok(Some(row)) => Ok(AgentWrite::Stored(row)),
        Ok(None) => Ok(AgentWrite::Missing),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(AgentWrite::LoginTaken),
        Err(e) => Err(StoreError::from(e)),
    }
}
