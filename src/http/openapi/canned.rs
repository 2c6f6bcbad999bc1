//! The canned replies routes (issue 13) in the OpenAPI description: stubs
//! and the shapes of [`crate::http::canned`]'s answers.

use serde::Serialize;
use utoipa::ToSchema;

use super::ErrorBody;

/// A canned reply.
#[derive(Serialize, ToSchema)]
pub struct CannedDoc {
    /// Never reused.
    pub id: i64,
    /// 1–64 characters, one line, unique without regard to case.
    pub name: String,
    /// 1–4000 characters: the text sent to the visitor.
    pub body: String,
    /// RFC 3339 UTC with `Z`.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// RFC 3339 UTC with `Z`.
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// `GET /api/canned`.
#[derive(Serialize, ToSchema)]
pub struct CannedListDoc {
    /// `true`.
    pub success: bool,
    /// Every reply, by name.
    pub replies: Vec<CannedDoc>,
}

/// `POST /api/canned`, `PUT /api/canned/{id}`.
#[derive(Serialize, ToSchema)]
pub struct CannedOneDoc {
    /// `true`.
    pub success: bool,
    /// The reply as stored.
    pub reply: CannedDoc,
}

/// Body of `POST /api/canned` and `PUT /api/canned/{id}`.
#[derive(Serialize, ToSchema)]
pub struct CannedBodyDoc {
    /// 1–64 characters after trimming, one line.
    pub name: String,
    /// 1–4000 characters after trimming.
    pub body: String,
}

/// `DELETE /api/canned/{id}`.
#[derive(Serialize, ToSchema)]
pub struct CannedDeletedDoc {
    /// `true`.
    pub success: bool,
    /// The deleted reply's id.
    pub id: i64,
}

/// The canned replies, by name (admin).
#[utoipa::path(get, path = "/api/canned", tag = "admin", responses(
    (status = 200, body = CannedListDoc),
    (status = 401, body = ErrorBody, description = "UNAUTHORIZED: not the admin")
))]
pub fn canned_list() {}

/// Stores a canned reply (admin, CSRF); `canned_updated` to the admins.
#[utoipa::path(post, path = "/api/canned", tag = "admin",
    request_body = CannedBodyDoc,
    responses(
        (status = 200, body = CannedOneDoc),
        (status = 400, body = ErrorBody, description = "VALIDATION_ERROR: empty or too long, or 100 stored"),
        (status = 401, body = ErrorBody, description = "UNAUTHORIZED: not the admin"),
        (status = 403, body = ErrorBody, description = "CSRF_FAILED"),
        (status = 409, body = ErrorBody, description = "CONFLICT: the name is taken")
    ))]
pub fn canned_create() {}

/// Replaces a canned reply's name and body (admin, CSRF).
#[utoipa::path(put, path = "/api/canned/{id}", tag = "admin",
    params(("id" = i64, Path, description = "Canned reply id")),
    request_body = CannedBodyDoc,
    responses(
        (status = 200, body = CannedOneDoc),
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
        (status = 200, body = CannedDeletedDoc),
        (status = 401, body = ErrorBody, description = "UNAUTHORIZED: not the admin"),
        (status = 403, body = ErrorBody, description = "CSRF_FAILED"),
        (status = 404, body = ErrorBody, description = "NOT_FOUND: no such reply")
    ))]
pub fn canned_delete() {}
