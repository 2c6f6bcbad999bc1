//! The Telegram bridge's state for the admin panel (issue 12):
//! `GET /api/telegram/bridge` (admin) → `{success, configured, bridge}`
//! where `bridge` is the last self-test (`{at, topic_mode, topic_reason,
//! checks: [{name, ok, detail, fix}]}`, `null` before the first);
//! `POST /api/telegram/selftest` (admin, CSRF) runs it again and answers
//! the same shape.

use axum::{
    Json, Router,
    extract::State,
    routing::{get, post},
};
use serde::Serialize;

use super::extract::Caller;
use crate::{AppState, http::error::AppResult};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/telegram/bridge", get(bridge))
        .route("/api/telegram/selftest", post(selftest))
}

/// `{success: true, configured, bridge}` of both routes.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BridgeState {
    /// Always `true`.
    pub success: bool,
    /// Is Telegram configured?
    pub configured: bool,
    /// The last self-test, `{at, topic_mode, topic_reason, checks: [{name,
    /// ok, detail, fix}]}`, or `null` before the first (or without
    /// Telegram). Described as an object: `SelfTest` is the Telegram
    /// adapter's type.
    #[schema(value_type = Option<Object>)]
    pub bridge: Option<crate::telegram::selftest::SelfTest>,
}

fn body(
    state: &AppState,
    report: Option<crate::telegram::selftest::SelfTest>,
) -> Json<BridgeState> {
    Json(BridgeState {
        success: true,
        configured: state.telegram.is_some(),
        bridge: report,
    })
}

/// `GET /api/telegram/bridge`.
///
/// # Errors
/// 401/403 for a caller that is not the admin.
pub async fn bridge(State(state): State<AppState>, caller: Caller) -> AppResult<Json<BridgeState>> {
    caller.require_admin()?;
    let report = state.telegram.as_ref().and_then(|t| t.console.report());
    Ok(body(&state, report))
}

/// `POST /api/telegram/selftest`: runs the self-test now.
///
/// # Errors
/// 401/403 for a caller that is not the admin.
pub async fn selftest(
    State(state): State<AppState>,
    caller: Caller,
) -> AppResult<Json<BridgeState>> {
    caller.require_admin()?;
    let report = match &state.telegram {
        Some(tg) => Some(crate::telegram::selftest::run(tg, state.chat.outbox()).await),
        None => None,
    };
    Ok(body(&state, report))
}
