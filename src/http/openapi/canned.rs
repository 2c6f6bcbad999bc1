//! The canned replies routes (issue 13) in the OpenAPI description: stubs
//! over [`crate::http::canned`]'s own body and answer types.

use crate::http::{canned, error::ErrorBody};

/// The canned replies, by name (admin).
#[utoipa::path(get, path = "/api/canned", tag = "admin", responses(
    (status = 200, body = canned::CannedList),
    (status = 401, body = ErrorBody, description = "UNAUTHORIZED: not the admin")
))]
pub fn canned_list() {}

/// Stores a canned reply (admin, CSRF); `canned_updated` to the admins.
#[utoipa::path(post, path = "/api/canned", tag = "admin",
    request_body = canned::CannedBody,
    responses(
        (status = 200, body = canned::CannedOne),
        (status = 400, body = ErrorBody, description = "VALIDATION_ERROR: empty or too long, or 100 stored"),
        (status = 401, body = ErrorBody, description = "UNAUTHORIZED: not the admin"),
        (status = 403, body = ErrorBody, description = "CSRF_FAILED"),
        (status = 409, body = ErrorBody, description = "CONFLICT: the name is taken")
    ))]
pub fn canned_create() {}

/// Replaces a canned reply's name and body (admin, CSRF).
#[utoipa::path(put, path = "/api/canned/{id}", tag = "admin",
    params(("id" = i64, Path, description = "Canned reply id")),
    request_body = canned::CannedBody,
    responses(
        (status = 200, body = canned::CannedOne),
        (status = 400, body = ErrorBody, description = "VALIDATION_ERROR"),
        (status = 401, body = ErrorBody, description = "UNAUTHORIZED: not the admin"),
        (status = 403, body = ErrorBody, description = "CSRF_FAILED"),
        (status = 404, body = ErrorBody, description = "NOT_FOUND: no such reply"),
        (status = 409, body = ErrorBody, description = "CONFLICT: the name is taken")
    ))]
pub fn canned_update() {}

/// Deletes a canned reply (admin, CSRF).
#[utoipa::path(delete, path = "/api/canned/{id}", tag = "admin",
    params(("id" = i64, Path, description = "Canned reply id")),
    responses(
        (status = 200, body = canned::CannedDeleted),
        (status = 401, body = ErrorBody, description = "UNAUTHORIZED: not the admin"),
        (status = 403, body = ErrorBody, description = "CSRF_FAILED"),
        (status = 404, body = ErrorBody, description = "NOT_FOUND: no such reply")
    ))]
pub fn canned_delete() {}
