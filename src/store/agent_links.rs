//! The `telegram_link_codes` table (issue 22 item 2): one-time codes that
//! link a Telegram user to an agent. Only a code's SHA-256 (hex) is stored;
//! an agent has at most one live code; a code is deleted when it is used,
//! and expired ones when any new code is issued. One SQL text for both
//! backends.

use chrono::{DateTime, Utc};

use super::with_db;
use super::{Db, StoreResult};
use crate::domain::AgentId;

/// What redeeming a code did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Redeemed {
    /// The Telegram user is now linked to this agent (login, shown name);
    /// any other agent it was linked to lost the link.
    Linked {
        /// Agent id.
        id: AgentId,
        /// Login name.
        login: String,
    },
    /// No such live code (unknown, used or expired): nothing changed.
    Unknown,
    /// The code's agent is disabled: the code is used up, nothing linked.
    Disabled,
}

/// Stores `code_hash` as agent `agent_id`'s live code until `expires_at`:
/// its former code, and every expired code, are deleted.
///
/// # Errors
/// Database errors (a foreign-key error for an unknown agent).
#[tracing::instrument(skip(db, code_hash))]
pub async fn issue(
    db: &Db,
    agent_id: AgentId,
    code_hash: &str,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    const CLEAN: &str = "DELETE FROM telegram_link_codes WHERE agent_id = $1 OR expires_at <= $2";
    const INSERT: &str = "INSERT INTO telegram_link_codes (code_hash, agent_id, expires_at, created_at) \
                          VALUES ($1, $2, $3, $4)";
    Ok(with_db!(db, p => {
        let mut tx = p.begin().await?;
        sqlx::query(CLEAN).bind(agent_id).bind(now).execute(&mut *tx).await?;
        sqlx::query(INSERT).bind(code_hash).bind(agent_id).bind(expires_at).bind(now).execute(&mut *tx).await?;
        tx.commit().await
    })?)
}

/// Uses the code of hash `code_hash` (deleted, whatever the outcome) and,
/// when it is live and its agent enabled, links Telegram user `user` to
/// that agent (taking the link from any other agent: a Telegram user acts
/// as one agent), in one transaction.
///
/// # Errors
/// Database errors; then nothing changed.
#[tracing::instrument(skip(db, code_hash))]
pub async fn redeem(
    db: &Db,
    code_hash: &str,
    user: i64,
    now: DateTime<Utc>,
) -> StoreResult<Redeemed> {
    const TAKE: &str =
        "DELETE FROM telegram_link_codes WHERE code_hash = $1 RETURNING agent_id, expires_at";
    const AGENT: &str = "SELECT login, disabled_at FROM agents WHERE id = $1";
    const UNLINK: &str =
        "UPDATE agents SET telegram_user_id = NULL WHERE telegram_user_id = $1 AND id <> $2";
    const LINK: &str = "UPDATE agents SET telegram_user_id = $1 WHERE id = $2";
    type Code = (AgentId, DateTime<Utc>);
    type AgentRow = (String, Option<DateTime<Utc>>);
    Ok(with_db!(db, p => async {
        let mut tx = p.begin().await?;
        let code: Option<Code> = sqlx::query_as(TAKE).bind(code_hash).fetch_optional(&mut *tx).await?;
        let Some((id, expires_at)) = code else {
            return Ok(Redeemed::Unknown);
        };
        let agent: Option<AgentRow> = sqlx::query_as(AGENT).bind(id).fetch_optional(&mut *tx).await?;
        let out = match agent {
            _ if expires_at <= now => Redeemed::Unknown,
            None => Redeemed::Unknown,
            Some((_, Some(_))) => Redeemed::Disabled,
            Some((login, None)) => {
                sqlx::query(UNLINK).bind(user).bind(id).execute(&mut *tx).await?;
                sqlx::query(LINK).bind(user).bind(id).execute(&mut *tx).await?;
                Redeemed::Linked { id, login }
            }
        };
        tx.commit().await?;
        Ok::<_, sqlx::Error>(out)
    }.await)?)
}
