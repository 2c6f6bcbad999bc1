//! `GET /api/search` (issue 13): the admin's full-text search over message
//! text and thread display names. A thin handler over
//! [`crate::chat::Chat::search`]; its OpenAPI description is in
//! `http/openapi/search.rs`.

use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};

use super::extract::{AppQuery, Caller};
use crate::{AppState, chat::search::SearchResults, http::error::AppResult};

/// `{success: true, terms, results, threads, next_before}` of
/// `GET /api/search`: the core's [`SearchResults`], flattened.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Found {
    /// Always `true`.
    pub success: bool,
    /// The page.
    #[serde(flatten)]
    pub page: SearchResults,
}

/// Query of `GET /api/search`.
#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    /// The words (1..=200 characters, at least one letter or digit, at most 10 words).
    pub q: Option<String>,
    /// Results per page, 1..=100 (default 20).
    pub limit: Option<i64>,
    /// Only messages with a smaller id: the previous page's `next_before`.
    pub before: Option<crate::domain::MessageId>,
}

/// `GET /api/search?q=&limit=&before=` (admin) → `{success, terms, results:
/// [{message, thread: {id, display_name, status}, snippet: [{text, hit}]}],
/// threads: [{id, display_name, status, last_activity, highlight}],
/// next_before}`; newest first.
///
/// # Errors
/// 401 `UNAUTHORIZED` without an admin session (visitors included);
/// 400 `BAD_REQUEST` for a bad `q`, 400 `VALIDATION_ERROR` for a bad
/// `limit` / `before` (see [`crate::chat::search`]).
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    AppQuery(query): AppQuery<SearchQuery>,
) -> AppResult<Json<Found>> {
    caller.require_admin()?;
    let found = state
        .chat
        .search(query.q.as_deref(), query.limit, query.before)
        .await?;
    Ok(Json(Found {
        success: true,
        page: found,
    }))
}
