//! The canned replies API (issue 13), admin only: `GET /api/canned`,
//! `POST /api/canned`, `PUT /api/canned/{id}`, `DELETE /api/canned/{id}`
//! (mutations need `X-CSRFToken` like every other). Thin handlers over
//! [`crate::chat::canned`]; every change reaches the admins' sockets as
//! `canned_updated` through the core's events.

use axum::{
    Json, Router,
    extract::{Path, State},
    routing::{get, put},
};
use serde::{Deserialize, Serialize};

use super::extract::{AppJson, Caller};
use crate::{
    AppState,
    chat::canned::{CannedInput, NOT_FOUND},
    domain::{CannedId, CannedReply},
    http::error::{AppError, AppResult},
};

/// The routes of canned replies.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/canned", get(list).post(create))
        .route("/api/canned/{id}", put(update).delete(remove))
}

/// Body of `POST /api/canned` and `PUT /api/canned/{id}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CannedBody {
    /// 1..=64 characters after trimming, one line, unique (any case).
    pub name: String,
    /// 1..=4000 characters after trimming.
    pub body: String,
}

impl From<CannedBody> for CannedInput {
    fn from(b: CannedBody) -> Self {
        CannedInput {
            name: b.name,
            body: b.body,
        }
    }
}

/// `{success: true, replies}` of `GET /api/canned`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CannedList {
    /// Always `true`.
    pub success: bool,
    /// Every reply, by name.
    pub replies: Vec<CannedReply>,
}

/// `{success: true, reply}` of `POST /api/canned`, `PUT /api/canned/{id}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CannedOne {
    /// Always `true`.
    pub success: bool,
    /// The reply as stored.
    pub reply: CannedReply,
}

/// `{success: true, id}` of `DELETE /api/canned/{id}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CannedDeleted {
    /// Always `true`.
    pub success: bool,
    /// The deleted reply's id.
    pub id: CannedId,
}

/// An id from the path; anything but a whole number names no reply (404).
fn id_of(raw: &str) -> AppResult<CannedId> {
    raw.parse().map_err(|_| AppError::NotFound(NOT_FOUND))
}

/// `GET /api/canned` (admin) → `{success, replies: [{id, name, body,
/// created_at, updated_at}]}` by name; 401 for anyone else.
pub async fn list(State(state): State<AppState>, caller: Caller) -> AppResult<Json<CannedList>> {
    caller.require_admin()?;
    let replies = state.chat.canned_replies().await?;
    Ok(Json(CannedList {
        success: true,
        replies,
    }))
}

/// `POST /api/canned` (admin, CSRF) `{name, body}` → `{success, reply}`;
/// 400 `VALIDATION_ERROR` (empty or over-long name or body, or 100 stored
/// already), 409 `CONFLICT` (the name is taken), 401; nothing stored then.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<CannedBody>,
) -> AppResult<Json<CannedOne>> {
    caller.require_admin()?;
    let reply = state.chat.create_canned(body.into()).await?;
    Ok(Json(CannedOne {
        success: true,
        reply,
    }))
}

/// `PUT /api/canned/{id}` (admin, CSRF) `{name, body}` → `{success, reply}`;
/// errors as `POST`, and 404 `NOT_FOUND` for an unknown id.
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    AppJson(body): AppJson<CannedBody>,
) -> AppResult<Json<CannedOne>> {
    caller.require_admin()?;
    let reply = state.chat.update_canned(id_of(&id)?, body.into()).await?;
    Ok(Json(CannedOne {
        success: true,
        reply,
    }))
}

/// `DELETE /api/canned/{id}` (admin, CSRF) → `{success, id}`; 404
/// `NOT_FOUND` for an unknown id, 401.
pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> AppResult<Json<CannedDeleted>> {
    caller.require_admin()?;
    let id = id_of(&id)?;
    state.chat.delete_canned(id).await?;
    Ok(Json(CannedDeleted { success: true, id }))
}
