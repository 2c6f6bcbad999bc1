//! Assignment over JSON (issue 22 item 4): `POST /api/threads/{id}/take`
//! and `POST /api/threads/{id}/assign`. Thin handlers over
//! [`crate::chat::assignment`]: admin only (401 `UNAUTHORIZED` otherwise),
//! CSRF as every admin `POST` (the router's layer), an unknown thread is
//! 404 `NOT_FOUND`. Each change is recorded as an `assign` thread event and
//! published as `thread_updated` (`change: "assign"`) to admins.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::extract::{AppJson, Caller, thread_id};
use super::thread_admin::ThreadAnswer;
use crate::{
    AppState,
    chat::{ChatError, status::ThreadUpdate},
    domain::{AgentId, Assignee},
    http::error::{AppError, AppResult},
};

/// A take refused because another agent has the thread: 409 `CONFLICT`,
/// `{success: false, error: "This thread is assigned to Ayşe", code:
/// "CONFLICT", status: 409, assignee: {id, name}}` (the error body and who
/// has the thread).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Taken {
    /// Always `false`.
    pub success: bool,
    /// `This thread is assigned to Ayşe`.
    pub error: String,
    /// `CONFLICT`.
    pub code: &'static str,
    /// 409.
    pub status: u16,
    /// Who has it.
    pub assignee: Assignee,
}

/// The 409 answer of a take refused by [`ChatError::Taken`]; `None` for
/// any other error.
pub fn taken(e: &ChatError) -> Option<Taken> {
    let ChatError::Taken(a) = e else { return None };
    Some(Taken {
        success: false,
        error: e.to_string(),
        code: "CONFLICT",
        status: StatusCode::CONFLICT.as_u16(),
        assignee: a.clone(),
    })
}

fn answer(u: ThreadUpdate) -> Response {
    Json(ThreadAnswer::of(u)).into_response()
}

/// `POST /api/threads/{id}/take` (admin) → `{success, thread: {id, status,
/// blocked, blocked_at, change: "assign", by, assignee: {id, name}}}` when
/// the thread was unassigned or already the caller's; 409 `CONFLICT` with
/// `assignee` when another agent has it (nothing changes).
pub async fn take(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let session = caller.require_admin()?;
    let id = thread_id(&id)?;
    match state.chat.take(&id, &session.agent).await {
        Ok(u) => Ok(answer(u)),
        Err(e) => match taken(&e) {
            Some(body) => Ok((StatusCode::CONFLICT, Json(body)).into_response()),
            None => Err(e.into()),
        },
    }
}

/// `POST /api/threads/{id}/assign {agent_id: <id> | null}` (admin) → as
/// `take`, the thread assigned to that agent (`null`: unassigned). 400
/// `VALIDATION_ERROR` for a missing or malformed `agent_id` or a disabled
/// agent, 404 `NOT_FOUND` for an unknown agent; nothing changes then.
pub async fn assign(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    AppJson(body): AppJson<Value>,
) -> AppResult<Response> {
    let by = super::thread_admin::agent(&caller)?;
    let id = thread_id(&id)?;
    let agent = agent_id(&body)?;
    Ok(answer(state.chat.assign(&id, agent, &by).await?))
}

/// Body of `POST /api/threads/{id}/assign` (and of the `assign_thread`
/// socket event, beside its `thread_id`): `{agent_id: <id> | null}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AssignBody {
    /// The agent's id, or `null` to unassign; required (`None`: absent).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, required)]
    pub agent_id: Option<Option<AgentId>>,
}

/// A field that is present (`null` included) is `Some`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<AgentId>>, D::Error> {
    Option::<AgentId>::deserialize(d).map(Some)
}

/// `agent_id` of an assign body ([`AssignBody`]): a whole number, or
/// `null` (unassign).
///
/// # Errors
/// `VALIDATION_ERROR` when it is missing or anything else.
pub fn agent_id(body: &Value) -> Result<Option<AgentId>, AppError> {
    let refused =
        || AppError::Validation("agent_id must be an agent's id, or null to unassign".into());
    if !body.is_object() {
        return Err(refused());
    }
    match AssignBody::deserialize(body) {
        Ok(AssignBody { agent_id: Some(a) }) => Ok(a),
        _ => Err(refused()),
    }
}
