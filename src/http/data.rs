//! The operator's data over JSON (issue 27): `DELETE /api/threads/{id}`
//! (erase a visitor's thread with everything it refers to) and `GET
//! /api/audit` (the audit log), both owner only: 401 `UNAUTHORIZED`
//! without an admin session (a visitor, the widget's token), 403
//! `FORBIDDEN` for an agent that is not an owner. Thin handlers over
//! [`crate::data`]; `DELETE` needs `X-CSRFToken` like every mutation.

use axum::{
    Json, Router,
    extract::{Path, State},
    routing::get,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::extract::{AppQuery, Caller};
use crate::{
    AppState,
    auth::{
        AdminSession,
        acting::{Acting, acting_agent},
    },
    data::{AUDIT_MAX, EraseOptions, EraseReport, export::ExportError, zip_stream::Out},
    domain::{ActedBy, AuditAction, AuditEntry},
    http::error::{AppError, AppResult},
};

/// The routes of this module (`DELETE /api/threads/{id}` is mounted by
/// `http::router` next to the thread's other routes).
pub fn router() -> Router<AppState> {
    Router::new().route("/api/audit", get(audit))
}

/// The acting owner of a request: 401 without an admin session, 403
/// `FORBIDDEN` for an agent that is not an owner.
fn owner(caller: &Caller, what: &'static str) -> AppResult<ActedBy> {
    let session = caller.require_admin()?;
    if !caller.actor.is_owner() {
        return Err(AppError::Forbidden(what));
    }
    Ok(acting_agent(Acting::Session(session)))
}

/// `{success: true, erased}` of `DELETE /api/threads/{id}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Erased {
    /// Always `true`.
    pub success: bool,
    /// What was removed.
    pub erased: EraseReport,
}

/// `{success: true, entries}` of `GET /api/audit`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditLog {
    /// Always `true`.
    pub success: bool,
    /// Newest first.
    pub entries: Vec<AuditEntry>,
}

/// The query of `DELETE /api/threads/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EraseQuery {
    /// Also delete the thread's Telegram forum topic (default `false`).
    pub telegram_topic: Option<bool>,
}

/// `DELETE /api/threads/{id}?telegram_topic=true|false` (owner, CSRF) →
/// `{success, erased: {thread_id, messages, media_removed, media_failed,
/// telegram_topic: "none"|"kept"|"deleted"|"failed"}}`. Removes the
/// thread, its messages (internal notes too), events, visitor context,
/// search index rows, Telegram outbox rows, links and buttons, the local
/// and Cloudinary files its messages carried, and with
/// `telegram_topic=true` its forum topic (`deleteForumTopic`). The audit
/// log records it (counts only). `thread_erased {thread_id}` goes to the
/// admins and the thread's sockets. 400 `VALIDATION_ERROR` for a malformed
/// id or query, 404 `NOT_FOUND` when nothing is stored under the id.
pub async fn erase(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    AppQuery(q): AppQuery<EraseQuery>,
) -> AppResult<Json<Erased>> {
    let by = owner(&caller, "Only an owner erases threads")?;
    let opts = EraseOptions {
        telegram_topic: q.telegram_topic.unwrap_or(false),
        ..EraseOptions::default()
    };
    let report = state.data.erase_thread(&id, &by, opts).await?;
    Ok(Json(Erased {
        success: true,
        erased: report,
    }))
}

/// The query of `GET /api/audit`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// How many of the newest entries (1..=500, default 100).
    pub limit: Option<i64>,
}

/// `GET /api/audit?limit=N` (owner) → `{success, entries: [{id, by: {id,
/// name}, action, target, detail, created_at}]}`, newest first; `action`
/// is `erase`, `retention`, `agent_disable`, `agent_enable` or `backup`.
/// 400 `VALIDATION_ERROR` for a `limit` outside 1..=500.
pub async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    AppQuery(q): AppQuery<AuditQuery>,
) -> AppResult<Json<AuditLog>> {
    owner(&caller, "Only an owner reads the audit log")?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=AUDIT_MAX).contains(&limit) {
        return Err(AppError::Validation(format!(
            "limit must be 1 to {AUDIT_MAX}"
        )));
    }
    let entries = state.data.audit_log(limit).await?;
    Ok(Json(AuditLog {
        success: true,
        entries,
    }))
}

/// Records `action` on `target` by the agent of `session` in the audit
/// log; a failure is logged, not answered (the action itself is done).
pub(super) async fn audit_quietly(
    state: &AppState,
    session: &AdminSession,
    action: AuditAction,
    target: &str,
    detail: &Value,
) {
    let by = acting_agent(Acting::Session(session));
    if let Err(e) = state
        .data
        .audit(&by, action, Some(target), Some(detail))
        .await
    {
        tracing::error!(error = %e, action = action.as_str(), "could not write the audit log");
    }
}

/// `GET /api/threads/{id}/export` (an agent: owner or agent) → a ZIP,
/// streamed (`Content-Type: application/zip`, `Content-Disposition:
/// attachment`): `thread.json`, `media/…`, `transcript.html` (see
/// [`crate::data::export`]). Recorded in the audit log before the first
/// byte. 400 `VALIDATION_ERROR` for a malformed id, 404 `NOT_FOUND` when
/// nothing is stored under it, 503 `SERVER_BUSY` while
/// [`crate::data::EXPORTS_AT_ONCE`] exports run. A failure after the
/// first byte (the database, a full disk) cuts the body short (the client
/// sees a broken download, never a valid partial archive) and is logged.
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> AppResult<axum::response::Response> {
    let session = caller.require_admin()?;
    let by = acting_agent(Acting::Session(session));
    let id = super::extract::thread_id(&id)?;
    let slot = state.data.export_slot().ok_or(AppError::Busy)?;
    state
        .data
        .begin_thread_export(&id, &by)
        .await
        .map_err(|e| match e {
            ExportError::Invalid(m) => AppError::Validation(m),
            ExportError::NotFound => AppError::NotFound("Thread not found"),
            ExportError::Store(e) => e.into(),
            e @ ExportError::Zip(_) => AppError::internal(e),
        })?;
    let (tx, rx) = tokio::sync::mpsc::channel(EXPORT_CHUNKS_AHEAD);
    let data = state.data.clone();
    let thread = id.clone();
    tokio::spawn(async move {
        let _slot = slot;
        let err_tx = tx.clone();
        if let Err(e) = data.export_thread(&thread, Out::Channel(tx)).await {
            tracing::warn!(error = %e, "a thread export stopped");
            let _ = err_tx
                .send(Err(std::io::Error::other("export failed")))
                .await;
        }
    });
    let body = axum::body::Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    let name = format!("attachment; filename=\"sohbet-thread-{id}.zip\"");
    axum::response::Response::builder()
        .header(axum::http::header::CONTENT_TYPE, "application/zip")
        .header(axum::http::header::CONTENT_DISPOSITION, name)
        .header(axum::http::header::CACHE_CONTROL, "no-store")
        .body(body)
        .map_err(AppError::internal)
}

/// Chunks (64 KiB each) an export may be ahead of the client: the
/// back-pressure that bounds its memory.
const EXPORT_CHUNKS_AHEAD: usize = 4;
