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
use serde_json::{Value, json};

use super::extract::AppQuery;
use super::extract::{Caller, thread_id};
use crate::{
    AppState,
    auth::acting::{Acting, acting_agent},
    chat::status::ThreadUpdate,
    domain::ActedBy,
    http::error::{AppError, AppResult},
};

/// The acting agent of an admin request, or 401 `UNAUTHORIZED`.
pub(super) fn agent(caller: &Caller) -> Result<ActedBy, AppError> {
    let session = caller.require_admin()?;
    Ok(acting_agent(Acting::Session(session)))
}

fn answer(u: ThreadUpdate) -> Json<Value> {
    Json(json!({"success": true, "thread": u}))
}

/// `POST /api/threads/{id}/close` (admin) → `{success, thread: {id, status:
/// "closed", blocked, blocked_at, change, by}}`; `thread_updated` to admins.
pub async fn close(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let by = agent(&caller)?;
    let id = thread_id(&id)?;
    Ok(answer(state.chat.close(&id, &by).await?))
}

/// `POST /api/threads/{id}/reopen` (admin) → as `close`, `status: "open"`.
pub async fn reopen(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
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
) -> AppResult<Json<Value>> {
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
) -> AppResult<Json<Value>> {
    let by = agent(&caller)?;
    let id = thread_id(&id)?;
    Ok(answer(state.chat.set_blocked(&id, false, &by).await?))
}

/// `GET /api/blocks` (admin) → `{success, blocks: [{id, display_name,
/// status, blocked_at, last_activity}]}`, most recently blocked first.
pub async fn blocks(State(state): State<AppState>, caller: Caller) -> AppResult<Json<Value>> {
    caller.require_admin()?;
    let list: Vec<Value> = state
        .chat
        .blocked_threads()
        .await?
        .iter()
        .map(|t| {
            let u = ThreadUpdate::of(t);
            json!({
                "id": u.id,
                "display_name": t.display_name,
                "status": u.status,
                "blocked_at": u.blocked_at,
                "last_activity": crate::domain::rfc3339_string(&t.last_activity_at),
            })
        })
        .collect();
    Ok(Json(json!({"success": true, "blocks": list})))
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
) -> AppResult<Json<Value>> {
    caller.require_admin()?;
    let id = thread_id(&id)?;
    let max = crate::chat::thread_events::EVENTS_MAX;
    if q.limit.is_some_and(|l| !(1..=max).contains(&l)) {
        return Err(AppError::Validation(format!("limit must be 1 to {max}")));
    }
    let events = state.chat.thread_events(&id, q.limit).await?;
    Ok(Json(json!({"success": true, "events": events})))
}
