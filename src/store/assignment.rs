//! Assignment (issue 22 item 4, migration 0015): `threads.assignee_agent_id`
//! written by a take, an explicit (re)assignment or round robin. Each
//! writes with ONE conditional `UPDATE` (so two simultaneous takes give one
//! winner on both backends: Postgres re-checks the `WHERE` of a row another
//! transaction changed, SQLite serialises writers) and records its `assign`
//! thread event in the same transaction. One SQL text for both backends.

use crate::domain::ThreadId;
use chrono::{DateTime, Utc};

use super::thread_events::insert_event;
use super::with_db;
use super::{Db, StoreResult};
use crate::domain::{ActedBy, AgentId, Assignee, Thread, ThreadAction};

/// `RETURNING` / `SELECT` the columns of [`Thread`] (no table alias).
macro_rules! cols {
    () => {
        "id, display_name, created_at, last_activity_at, status, visitor_last_seen_at, blocked_at, \
         assignee_agent_id AS assignee_id, \
         (SELECT a.display_name FROM agents a WHERE a.id = assignee_agent_id) AS assignee_name"
    };
}

/// What a take did.
#[derive(Clone, Debug)]
pub enum Take {
    /// The thread is the agent's now (an event was recorded when it was
    /// unassigned before; none when it already was the agent's).
    Taken(Box<Thread>),
    /// Another agent has it (nothing changed); `None` when its assignee
    /// changed again between the `UPDATE` and the read.
    Conflict(Option<Assignee>),
    /// No such thread.
    Missing,
}

/// What an explicit assignment did.
#[derive(Clone, Debug)]
pub enum Assign {
    /// The thread as it is now (an event was recorded when it changed).
    Done(Box<Thread>),
    /// No such thread.
    MissingThread,
    /// No such agent.
    MissingAgent,
    /// The agent is disabled.
    DisabledAgent,
}

/// Reads a thread by id (no alias), inside `$exec`.
macro_rules! get_thread {
    ($exec:expr, $id:expr) => {{
        const GET: &str = concat!("SELECT ", cols!(), " FROM threads WHERE id = $1");
        sqlx::query_as::<_, Thread>(GET)
            .bind($id)
            .fetch_optional($exec)
            .await
    }};
}

/// Agent `agent` (named `by`) takes thread `id` when it is unassigned: one
/// conditional `UPDATE … WHERE id = $1 AND assignee_agent_id IS NULL`;
/// when that matched no row, the thread is read to tell "already yours"
/// (no change, no event) from "another agent's" and from "no such thread".
/// The `assign` event (detail: the agent's name) is recorded in the same
/// transaction.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db, by), fields(by = %by.name))]
pub async fn take(
    db: &Db,
    id: &ThreadId,
    agent: AgentId,
    by: &ActedBy,
    now: DateTime<Utc>,
) -> StoreResult<Take> {
    const SQL: &str = concat!(
        "UPDATE threads SET assignee_agent_id = $2 WHERE id = $1 AND assignee_agent_id IS NULL \
         RETURNING ",
        cols!()
    );
    Ok(with_db!(db, p => {
        let mut tx = p.begin().await?;
        let updated: Option<Thread> =
            sqlx::query_as(SQL).bind(id).bind(agent).fetch_optional(&mut *tx).await?;
        let out = match updated {
            Some(t) => {
                insert_event!(&mut *tx, id, by, ThreadAction::Assign, Some(by.name.as_str()), now)?;
                Take::Taken(Box::new(t))
            }
            None => match get_thread!(&mut *tx, id)? {
                None => Take::Missing,
                Some(t) if t.assignee_id == Some(agent) => Take::Taken(Box::new(t)),
                Some(t) => Take::Conflict(t.assignee()),
            },
        };
        tx.commit().await?;
        Ok::<_, sqlx::Error>(out)
    })?)
}

/// Assigns thread `id` to agent `agent` (`None`: unassigns it), which must
/// exist and be enabled; `by` did it. One conditional `UPDATE` (the agent's
/// state is checked inside it); the `assign` event (detail: the assignee's
/// name, or `unassigned`) is recorded in the same transaction when the
/// assignee changed.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db, by), fields(by = %by.name))]
pub async fn assign(
    db: &Db,
    id: &ThreadId,
    agent: Option<AgentId>,
    by: &ActedBy,
    now: DateTime<Utc>,
) -> StoreResult<Assign> {
    const AGENT: &str = "SELECT display_name, disabled_at IS NOT NULL FROM agents WHERE id = $1";
    const SQL: &str = concat!(
        "UPDATE threads SET assignee_agent_id = $2 WHERE id = $1 \
         AND assignee_agent_id IS DISTINCT FROM $2 \
         AND ($2 IS NULL OR EXISTS (SELECT 1 FROM agents g WHERE g.id = $2 AND g.disabled_at IS NULL)) \
         RETURNING ",
        cols!()
    );
    Ok(with_db!(db, p => {
        let mut tx = p.begin().await?;
        let name = match agent {
            None => "unassigned".to_owned(),
            Some(a) => {
                let row: Option<(String, bool)> =
                    sqlx::query_as(AGENT).bind(a).fetch_optional(&mut *tx).await?;
                match row {
                    None => return Ok(Assign::MissingAgent),
                    Some((_, true)) => return Ok(Assign::DisabledAgent),
                    Some((name, false)) => name,
                }
            }
        };
        let updated: Option<Thread> =
            sqlx::query_as(SQL).bind(id).bind(agent).fetch_optional(&mut *tx).await?;
        let out = match updated {
            Some(t) => {
                insert_event!(&mut *tx, id, by, ThreadAction::Assign, Some(name.as_str()), now)?;
                Assign::Done(Box::new(t))
            }
            None => match get_thread!(&mut *tx, id)? {
                None => Assign::MissingThread,
                Some(t) => Assign::Done(Box::new(t)),
            },
        };
        tx.commit().await?;
        Ok::<_, sqlx::Error>(out)
    })?)
}

/// Round robin: assigns the NEW thread `id` (still unassigned) to the
/// first of `candidates` (agent ids in turn order) that is enabled, with
/// one `UPDATE` that picks it; records the event (by `by`). `None` when no
/// candidate is enabled or the thread already has an assignee.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db, by, candidates), fields(n = candidates.len()))]
pub async fn assign_first_enabled(
    db: &Db,
    id: &ThreadId,
    candidates: &[AgentId],
    by: &ActedBy,
    now: DateTime<Utc>,
) -> StoreResult<Option<Thread>> {
    if candidates.is_empty() {
        return Ok(None);
    }
    // The enabled agents (a team: a short list), read first; the first
    // candidate among them is then written with one conditional UPDATE.
    const ENABLED: &str = "SELECT id FROM agents WHERE disabled_at IS NULL";
    const UPDATE: &str = concat!(
        "UPDATE threads SET assignee_agent_id = $2 WHERE id = $1 AND assignee_agent_id IS NULL \
         AND EXISTS (SELECT 1 FROM agents g WHERE g.id = $2 AND g.disabled_at IS NULL) RETURNING ",
        cols!()
    );
    Ok(with_db!(db, p => {
        let enabled: Vec<(AgentId,)> = sqlx::query_as(ENABLED).fetch_all(p).await?;
        let Some(pick) = candidates.iter().find(|c| enabled.iter().any(|(e,)| e == *c)) else {
            return Ok(None);
        };
        let mut tx = p.begin().await?;
        let updated: Option<Thread> =
            sqlx::query_as(UPDATE).bind(id).bind(*pick).fetch_optional(&mut *tx).await?;
        if let Some(t) = &updated {
            let name = t.assignee_name.clone().unwrap_or_default();
            insert_event!(&mut *tx, id, by, ThreadAction::Assign, Some(name.as_str()), now)?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(updated)
    })?)
}
