//! `GET /api/search` (issue 13): the admin's full-text search over message
//! text and thread display names. A thin handler over
//! [`crate::chat::Chat::search`], with its OpenAPI description.

use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::extract::{AppQuery, Caller};
use crate::{AppState, error::AppResult, http::openapi::MessageDoc};

/// Query of `GET /api/search`.
#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    /// The words (1..=200 characters, at least one letter or digit, at most 10 words).
    pub q: Option<String>,
    /// Results per page, 1..=100 (default 20).
    pub limit: Option<i64>,
    /// Only messages with a smaller id: the previous page's `next_before`.
    pub before: Option<i64>,
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
) -> AppResult<Json<Value>> {
    caller.require_admin()?;
    let found = state
        .chat
        .search(query.q.as_deref(), query.limit, query.before)
        .await?;
    Ok(Json(json!({
        "success": true,
        "terms": found.terms,
        "results": found.results,
        "threads": found.threads,
        "next_before": found.next_before,
    })))
}

// ---- OpenAPI -----------------------------------------------------------------

/// Searches message text and thread display names (admin).
#[utoipa::path(get, path = "/api/search", tag = "messages",
    params(
        ("q" = String, Query, description = "The words: 1–200 characters, at least one letter or \
            digit, at most 10 words. Each word matches words that start with it, case-insensitively \
            (İ = i), diacritics kept (ş ≠ s); all must be present. Punctuation is a separator, \
            never syntax."),
        ("limit" = Option<i64>, Query, description = "Results per page (1–100, default 20)"),
        ("before" = Option<i64>, Query, description = "Only messages with a smaller id: the previous page's `next_before`")
    ),
    responses(
        (status = 200, body = SearchDoc),
        (status = 400, body = crate::http::openapi::ErrorBody, description = "BAD_REQUEST (q) / VALIDATION_ERROR (limit, before)"),
        (status = 401, body = crate::http::openapi::ErrorBody, description = "UNAUTHORIZED: not the admin"),
        (status = 429, body = crate::http::openapi::ErrorBody, description = "RATE_LIMITED")
    ))]
pub fn search_doc() {}

/// A piece of a snippet; the pieces joined are the shown text.
#[derive(Serialize, ToSchema)]
pub struct PartDoc {
    /// Plain text (not HTML).
    pub text: String,
    /// A matched word (shown highlighted).
    pub hit: bool,
}

/// The thread of a matched message.
#[derive(Serialize, ToSchema)]
pub struct SearchThreadDoc {
    /// Thread id.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Status.
    pub status: String,
}

/// A matched message.
#[derive(Serialize, ToSchema)]
pub struct SearchHitDoc {
    /// The message.
    pub message: MessageDoc,
    /// Its thread.
    pub thread: SearchThreadDoc,
    /// Up to 160 characters around the first match, `…` where cut.
    pub snippet: Vec<PartDoc>,
}

/// A thread whose display name matched.
#[derive(Serialize, ToSchema)]
pub struct SearchThreadHitDoc {
    /// Thread id.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Status.
    pub status: String,
    /// RFC 3339: the last message.
    #[schema(format = DateTime)]
    pub last_activity: String,
    /// The display name in pieces, matched words marked.
    pub highlight: Vec<PartDoc>,
}

/// `GET /api/search`.
#[derive(Serialize, ToSchema)]
pub struct SearchDoc {
    /// `true`.
    pub success: bool,
    /// The words searched for, case-folded.
    pub terms: Vec<String>,
    /// Matched messages, newest first.
    pub results: Vec<SearchHitDoc>,
    /// Threads matched by display name (first page only, at most 20).
    pub threads: Vec<SearchThreadHitDoc>,
    /// `before` of the next page; `null` on the last.
    pub next_before: Option<i64>,
}
