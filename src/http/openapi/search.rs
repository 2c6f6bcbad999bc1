//! `GET /api/search` (issue 13) in the OpenAPI description: the stub;
//! its answer is [`crate::http::search::Found`].

use crate::http::{error::ErrorBody, search};

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
        (status = 200, body = search::Found),
        (status = 400, body = ErrorBody, description = "BAD_REQUEST (q) / VALIDATION_ERROR (limit, before)"),
        (status = 401, body = ErrorBody, description = "UNAUTHORIZED: not the admin"),
        (status = 429, body = ErrorBody, description = "RATE_LIMITED")
    ))]
pub fn search_doc() {}
