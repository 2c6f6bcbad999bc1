//! `GET /api/search` (issue 13) in the OpenAPI description: the stub and
//! the shapes of [`crate::http::search`]'s answer.

use serde::Serialize;
use utoipa::ToSchema;

use super::{ErrorBody, MessageDoc};

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
        (status = 400, body = ErrorBody, description = "BAD_REQUEST (q) / VALIDATION_ERROR (limit, before)"),
        (status = 401, body = ErrorBody, description = "UNAUTHORIZED: not the admin"),
        (status = 429, body = ErrorBody, description = "RATE_LIMITED")
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
