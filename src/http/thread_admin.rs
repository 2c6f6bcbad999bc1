//! The admin's thread tools over JSON (issue 13): close, reopen, block and
//! unblock a thread's visitor, and the list of blocked visitors. Thin
//! handlers over [`crate::chat::status`]: admin only (401 `UNAUTHORIZED`
//! otherwise), CSRF as every admin `POST` / `DELETE` (the router's layer),
//! an unknown thread is 404 `NOT_FOUND`.

use axum::{
    Json,
    extract::{Path, State},
};
use serde_json::{Value, json};

use super::extract::Caller;
use crate::{AppState, chat::status::ThreadUpdate, http::error::AppResult};

fn answer(u: ThreadUpdate) -> Json<Value> {
    Json(json!({"success": true, "thread": u}))
}

/// `POST /api/threads/{id}/close` (admin) → `{success, thread: {id, status:
/// "closed", blocked, blocked_at}}`; `thread_updated` to admins.
pub async fn close(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    caller.require_admin()?;
    Ok(answer(state.chat.close(&id).await?))
}

/// `POST /api/threads/{id}/reopen` (admin) → as `close`, `status: "open"`.
pub async fn reopen(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    caller.require_admin()?;
    Ok(answer(state.chat.reopen(&id).await?))
}

/// `POST /api/threads/{id}/block` (admin) → as `close`, `blocked: true`:
/// the visitor's sends are refused (403 `BLOCKED`) until unblocked.
pub async fn block(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    caller.require_admin()?;
    Ok(answer(state.chat.set_blocked(&id, true).await?))
}

/// `POST /api/threads/{id}/unblock` and `DELETE /api/threads/{id}/block`
/// (admin) → as `close`, `blocked: false`.
pub async fn unblock(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    caller.require_admin()?;
    Ok(answer(state.chat.set_blocked(&id, false).await?))
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
