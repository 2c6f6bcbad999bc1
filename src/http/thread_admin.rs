//! The admin's thread tools over JSON (issue 13): close, reopen, block and
//! unblock a thread's visitor, and the list of blocked visitors. Thin
//! handlers over [`crate::chat::status`]: admin only (401 `UNAUTHORIZED`
//! otherwise), CSRF as every admin `POST` / `DELETE` (the router's layer),
//! an unknown thread is 404 `NOT_FOUND`. Each change is recorded as a
//! thread event naming the agent ([`crate::auth::acting`]); the events are
//! read with `GET /api/threads/{id}/events`, admin only (issue 22 item 7).

use axum::{
    Json,
    extract::{Path, State},
};
use serde::Serialize;

use super::extract::AppQuery;
use super::extract::{Caller, thread_id};
use crate::{
    AppState,
    auth::acting::{Acting, acting_agent},
    chat::status::{ThreadStatus, ThreadUpdate},
    domain::{ActedBy, ThreadEvent, ThreadId},
    http::error::{AppError, AppResult},
};

/// The acting agent of an admin request, or 401 `UNAUTHORIZED`.
pub(super) fn agent(caller: &Caller) -> Result<ActedBy, AppError> {
    let session = caller.require_admin()?;
    Ok(acting_agent(Acting::Session(session)))
}

/// `{success: true, thread}`: the answer of close, reopen, block,
/// unblock, take and assign.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ThreadAnswer {
    /// Always `true`.
    pub success: bool,
    /// The thread's state after the change.
    pub thread: ThreadUpdate,
}

impl ThreadAnswer {
    /// The answer showing `u`.
    pub fn of(u: ThreadUpdate) -> ThreadAnswer {
        ThreadAnswer {
            success: true,
            thread: u,
        }
    }
}

fn answer(u: ThreadUpdate) -> Json<ThreadAnswer> {
    Json(ThreadAnswer::of(u))
}

/// One blocked visitor of `GET /api/blocks`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BlockedThread {
    /// Thread id.
    pub id: ThreadId,
    /// `Visitor 3F2A`.
    pub display_name: String,
    /// Its status.
    pub status: ThreadStatus,
    /// When it was blocked (RFC 3339 UTC).
    #[schema(format = DateTime)]
    pub blocked_at: Option<String>,
    /// The thread's last activity (RFC 3339 UTC).
    #[schema(format = DateTime)]
    pub last_activity: String,
}

/// `{success: true, blocks}` of `GET /api/blocks`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BlockList {
    /// Always `true`.
    pub success: bool,
    /// Most recently blocked first.
    pub blocks: Vec<BlockedThread>,
}

/// `{success: true, events}` of `GET /api/threads/{id}/events`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventList {
    /// Always `true`.
    pub success: bool,
    /// The newest events, oldest first.
    pub events: Vec<ThreadEvent>,
}

/// `POST /api/threads/{id}/close` (admin) → `{success, thread: {id, status:
/// "closed", blocked, blocked_at, change, by}}`; `thread_updated` to admins.
pub async fn close(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> AppResult<Json<ThreadAnswer>> {
    let by = agent(&caller)?;
    let id = thread_id(&id)?;
    Ok(answer(state.chat.close(&id, &by).await?))
}

/// `POST /api/threads/{id}/reopen` (admin) → as `close`, `status: "open"`.
pub async fn reopen(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> AppResult<Json<ThreadAnswer>> {
    let by = agent(&caller)?;
    let id = thread_id(&id)?;
    Ok(answer(state.chat.reopen(&id, &by).await?))
}

/// `POST /api/threads/{id}/block` (admin) → as `close`, `blocked: true`:
/// the visitor's sends are refused (403 `BLOCKED`) until unblocked.
pub async fn block(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> AppResult<Json<ThreadAnswer>> {
    let by = agent(&caller)?;
    let id = thread_id(&id)?;
    Ok(answer(state.chat.set_blocked(&id, true, &by).await?))
}

/// `POST /api/threads/{id}/unblock` and `DELETE /api/threads/{id}/block`
/// (admin) → as `close`, `blocked: false`.
pub async fn unblock(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> AppResult<Json<ThreadAnswer>> {
    let by = agent(&caller)?;
    let id = thread_id(&id)?;
    Ok(answer(state.chat.set_blocked(&id, false, &by).await?))
}

/// `GET /api/blocks` (admin) → `{success, blocks: [{id, display_name,
/// status, blocked_at, last_activity}]}`, most recently blocked first.
pub async fn blocks(State(state): State<AppState>, caller: Caller) -> AppResult<Json<BlockList>> {
    caller.require_admin()?;
    let blocks = state
        .chat
        .blocked_threads()
        .await?
        .iter()
        .map(|t| {
            let u = ThreadUpdate::of(t);
            BlockedThread {
                id: u.id,
                display_name: t.display_name.clone(),
                status: u.status,
                blocked_at: u.blocked_at,
                last_activity: crate::domain::rfc3339_string(&t.last_activity_at),
            }
        })
        .collect();
    Ok(Json(BlockList {
        success: true,
        blocks,
    }))
}

/// The query of `GET /api/threads/{id}/events`.
#[derive(serde::Deserialize)]
pub struct EventsQuery {
    /// How many of the newest events (1..=500, default 200).
    pub limit: Option<i64>,
}

/// `GET /api/threads/{id}/events?limit=N` (admin) → `{success, events:
/// [ThreadEvent]}`, the newest `limit` (1..=500, default 200) oldest first;
/// `[]` for a thread without events (or unknown). 401 `UNAUTHORIZED` for
/// anyone but the admin (a visitor, its own thread too; the widget's token);
/// 400 `VALIDATION_ERROR` for a bad id or `limit`.
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    AppQuery(q): AppQuery<EventsQuery>,
) -> AppResult<Json<EventList>> {
    caller.require_admin()?;
    let id = thread_id(&id)?;
    let max = crate::chat::thread_events::EVENTS_MAX;
    if q.limit.is_some_and(|l| !(1..=max).contains(&l)) {
        return Err(AppError::Validation(format!("limit must be 1 to {max}")));
    }
    let events = state.chat.thread_events(&id, q.limit).await?;
    Ok(Json(EventList {
        success: true,
        events,
    }))
}
