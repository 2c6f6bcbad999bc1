//! The OpenAPI 3.1 description of the HTTP API (issue 15), generated with
//! `utoipa` and served at `GET /api/openapi.json`.
//!
//! The schemas are derived (`#[derive(utoipa::ToSchema)]`) from the types
//! the handlers read and write: the request bodies they deserialise
//! (`PostRequest`, `LoginBody`, …), the answers they serialise (`Sent`,
//! `ThreadList`, `ErrorBody`, …) and the `domain` types inside them
//! (`Message`, `Thread…`, `CannedReply`, …), so the document follows the
//! code: a renamed field, a `skip_serializing_if` or a `flatten` changes
//! both. What stays written by hand: the route stubs below (paths, query
//! and path parameters, status codes), the multipart upload form
//! ([`UploadForm`]: the upload handler reads a stream, not a type), and the
//! Telegram self-test inside `/health` and `/api/telegram/bridge`, shown as
//! an object (its type belongs to the Telegram adapter). `tests/it/openapi.rs`
//! validates real answers against the schemas, checks that every schema
//! names a type of `src/` that derives it, and fails for any route of the
//! router that is not described.
//!
//! **Describing a new route** (one step): add a stub function with
//! `#[utoipa::path(method, path = "/…", tag = "…", responses(…))]` below
//! (or in the new route's own module), naming the handler's own body and
//! answer types (`body = api::Sent`; derive `utoipa::ToSchema` on them),
//! and list it in `paths(…)` of [`ApiDoc`]; the schemas it names are
//! collected from there. Route patterns are written as in axum
//! (`{thread_id}`; a catch-all `{*path}` as `{path}`).

pub mod agents;
pub mod canned;
pub mod data;
pub mod email;
mod search;
mod thread_admin;

use axum::{Json, Router, routing::get};
use utoipa::{OpenApi, ToSchema};

pub use search::*;
pub use thread_admin::*;

use crate::AppState;
use crate::http::{admin, api, error::ErrorBody, health, telegram, upload, visitor};

/// The multipart body of the upload routes: one part, `file`. Written by
/// hand: the upload handler reads the body as a stream
/// (`http/upload/body.rs`), so no Rust type of this shape exists.
#[derive(ToSchema)]
pub struct UploadForm {
    /// The file; its bytes decide its type.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// `GET /api/openapi.json`.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/openapi.json", get(openapi_json))
}

/// The description as JSON (built once per call; a few kilobytes).
async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// The whole description; see the module doc for adding a route.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "sohbet",
        description = "Self-hosted website live chat: the JSON API of the visitor page and the \
                       admin panel (Flask Chat v2.3 compatible), the probes, and the pages. \
                       Identity is cookie based: the signed `sohbet_vid` visitor cookie (set by \
                       any page and by `GET /api/session`) and the admin session cookie. Every \
                       `POST` needs `X-CSRFToken` (from `GET /api/session`). Every error is \
                       `ErrorBody` with the HTTP status. Socket.IO events: docs/api.md.",
        license(name = "MIT", identifier = "MIT")
    ),
    paths(
        session, messages, send, threads, clear, upload_image, upload_audio,
        admin_login, verify_otp, logout, telegram_bridge, telegram_selftest,
        visitor_context, visitor_identify, thread_context, widget_js, embed_view,
        health, health_live, health_ready, openapi, metrics,
        visitor_page, admin_page, login_page, uploads, static_files,
        canned::canned_list, canned::canned_create, canned::canned_update, canned::canned_delete,
        thread_close, thread_reopen, thread_block, thread_block_delete, thread_unblock, blocks,
        thread_events, thread_take, thread_assign,
        search_doc,
        agents::agents_list, agents::agents_create, agents::agents_update, agents::agents_disable,
        agents::agents_enable, agents::agents_telegram_link, agents::agents_me, agents::agents_me_update, agents::invite_page,
        agents::invite_accept,
        data::thread_erase, data::audit, data::thread_export,
        email::transcript, email::email_status, email::email_selftest, email::my_email,
        email::continue_link, email::unsubscribe_page, email::unsubscribe
    ),
    tags(
        (name = "session", description = "Visitor identity and CSRF token"),
        (name = "messages", description = "Threads and messages"),
        (name = "uploads", description = "Images and audio"),
        (name = "admin", description = "Admin login (password, then a code)"),
        (name = "agents", description = "The support team: agents, roles, invites"),
        (name = "operations", description = "Probes, metrics, this description"),
        (name = "pages", description = "HTML pages and files")
    )
)]
pub struct ApiDoc;

// ---- routes ------------------------------------------------------------------

/// The caller's identity and CSRF token; sets the visitor cookie when absent.
#[utoipa::path(get, path = "/api/session", tag = "session", responses(
    (status = 200, body = api::SessionInfo),
    (status = 429, body = ErrorBody, description = "RATE_LIMITED")
))]
pub fn session() {}

/// A page of a thread's messages (a visitor: its own thread only).
#[utoipa::path(get, path = "/api/messages/{thread_id}", tag = "messages",
    params(
        ("thread_id" = String, Path, description = "Thread id"),
        ("limit" = Option<i64>, Query, description = "At most this many (1–100, default 50)"),
        ("before" = Option<i64>, Query, description = "Only messages with a smaller id (older pages)"),
        ("after" = Option<i64>, Query, description = "Only messages with a larger id (catch-up)")
    ),
    responses(
        (status = 200, body = api::MessagesPage),
        (status = 400, body = ErrorBody, description = "VALIDATION_ERROR"),
        (status = 403, body = ErrorBody, description = "FORBIDDEN: another visitor's thread"),
        (status = 404, body = ErrorBody, description = "NOT_FOUND (admin: no such thread)")
    ))]
pub fn messages() {}

/// Stores a message; answered after its transaction commits.
#[utoipa::path(post, path = "/api/messages/send", tag = "messages",
    request_body = crate::chat::PostRequest,
    responses(
        (status = 200, body = api::Sent),
        (status = 400, body = ErrorBody, description = "VALIDATION_ERROR"),
        (status = 403, body = ErrorBody, description = "CSRF_FAILED / FORBIDDEN (another visitor's thread, or `internal: true` from a visitor)"),
        (status = 429, body = ErrorBody, description = "RATE_LIMITED (Retry-After)"),
        (status = 503, body = ErrorBody, description = "SERVER_BUSY / SERVICE_UNAVAILABLE")
    ))]
pub fn send() {}

/// The admin's thread list (`?status=open|closed|all`), open ones first.
#[utoipa::path(get, path = "/api/threads", tag = "messages",
    params(
        ("status" = Option<String>, Query, description = "`open`, `closed` or `all` (default)"),
        ("assignee" = Option<String>, Query, description = "`me`, `unassigned` or `all` (default; issue 22)")
    ),
    responses(
    (status = 200, body = api::ThreadList),
    (status = 400, body = ErrorBody, description = "VALIDATION_ERROR: unknown status or assignee"),
    (status = 401, body = ErrorBody, description = "UNAUTHORIZED: not the admin")
))]
pub fn threads() {}

/// Deletes a thread's messages (admin).
#[utoipa::path(post, path = "/api/messages/clear", tag = "messages",
    request_body = api::ClearBody,
    responses(
        (status = 200, body = api::Done),
        (status = 401, body = ErrorBody, description = "UNAUTHORIZED"),
        (status = 403, body = ErrorBody, description = "CSRF_FAILED")
    ))]
pub fn clear() {}

/// Uploads an image (JPEG, PNG, GIF, WebP; ≤ 5 MiB, ≤ 8192 px a side).
#[utoipa::path(post, path = "/api/upload/image", tag = "uploads",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, body = upload::Uploaded),
        (status = 400, body = ErrorBody, description = "BAD_REQUEST / VALIDATION_ERROR"),
        (status = 403, body = ErrorBody, description = "BLOCKED (a blocked visitor; nothing stored)"),
        (status = 408, body = ErrorBody, description = "REQUEST_TIMEOUT"),
        (status = 413, body = ErrorBody, description = "FILE_TOO_LARGE"),
        (status = 415, body = ErrorBody, description = "UNSUPPORTED_TYPE"),
        (status = 429, body = ErrorBody, description = "RATE_LIMITED"),
        (status = 502, body = ErrorBody, description = "UPSTREAM_ERROR (Cloudinary)"),
        (status = 507, body = ErrorBody, description = "INSUFFICIENT_STORAGE")
    ))]
pub fn upload_image() {}

/// Uploads audio (MP3, WAV, OGG, WebM, M4A, AAC; ≤ 10 MiB); errors as images.
#[utoipa::path(post, path = "/api/upload/audio", tag = "uploads",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, body = upload::Uploaded),
        (status = 413, body = ErrorBody, description = "FILE_TOO_LARGE"),
        (status = 415, body = ErrorBody, description = "UNSUPPORTED_TYPE")
    ))]
pub fn upload_audio() {}

/// Password step of the admin login; sends a code.
#[utoipa::path(post, path = "/admin/login", tag = "admin",
    request_body = admin::LoginBody,
    responses(
        (status = 200, body = admin::CodeSent),
        (status = 401, body = ErrorBody, description = "INVALID_CREDENTIALS"),
        (status = 429, body = ErrorBody, description = "RATE_LIMITED (back-off)"),
        (status = 503, body = ErrorBody, description = "the code could not be delivered")
    ))]
pub fn admin_login() {}

/// Code step; sets the admin session cookie.
#[utoipa::path(post, path = "/admin/verify-otp", tag = "admin",
    request_body = admin::OtpBody,
    responses(
        (status = 200, body = admin::LoggedIn),
        (status = 401, body = ErrorBody, description = "INVALID_OTP: wrong, used or expired code"),
        (status = 429, body = ErrorBody, description = "RATE_LIMITED")
    ))]
pub fn verify_otp() {}

/// Ends the admin session (its sockets are disconnected).
#[utoipa::path(post, path = "/admin/logout", tag = "admin", responses(
    (status = 200, body = visitor::Success)
))]
pub fn logout() {}

/// The Telegram bridge's last self-test (admin).
#[utoipa::path(get, path = "/api/telegram/bridge", tag = "admin", responses(
    (status = 200, body = telegram::BridgeState),
    (status = 401, body = ErrorBody, description = "UNAUTHORIZED: not the admin")
))]
pub fn telegram_bridge() {}

/// Runs the Telegram self-test now (admin, CSRF).
#[utoipa::path(post, path = "/api/telegram/selftest", tag = "admin", responses(
    (status = 200, body = telegram::BridgeState),
    (status = 401, body = ErrorBody, description = "UNAUTHORIZED: not the admin"),
    (status = 403, body = ErrorBody, description = "CSRF_FAILED")
))]
pub fn telegram_selftest() {}

/// Status; details with `Authorization: Bearer $HEALTH_TOKEN` or to a local caller.
#[utoipa::path(get, path = "/health", tag = "operations", responses(
    (status = 200, body = health::HealthAnswer),
    (status = 503, body = health::HealthAnswer, description = "database down")
))]
pub fn health() {}

/// The process is up.
#[utoipa::path(get, path = "/health/live", tag = "operations", responses(
    (status = 200, body = health::Probe)
))]
pub fn health_live() {}

/// Migrations ran and the database answers.
#[utoipa::path(get, path = "/health/ready", tag = "operations", responses(
    (status = 200, body = health::Probe),
    (status = 503, body = health::Probe, description = "not_ready")
))]
pub fn health_ready() {}

/// This description.
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations", responses(
    (status = 200, description = "this OpenAPI 3.1 document (JSON)")
))]
pub fn openapi() {}

/// Prometheus text format; only with `METRICS_TOKEN` (bearer) on this port.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses(
    (status = 200, description = "Prometheus text format 0.0.4", content_type = "text/plain", body = String),
    (status = 401, body = ErrorBody, description = "UNAUTHORIZED: no or wrong bearer token"),
    (status = 404, body = ErrorBody, description = "metrics are off")
))]
pub fn metrics() {}

/// The visitor reports where it is (cookie + CSRF, or the embed view's bearer token).
#[utoipa::path(post, path = "/api/visitor/context", tag = "session",
    request_body = visitor::ContextBody,
    responses(
        (status = 200, body = visitor::Success),
        (status = 400, body = ErrorBody, description = "VALIDATION_ERROR"),
        (status = 403, body = ErrorBody, description = "CSRF_FAILED")
    ))]
pub fn visitor_context() {}

/// The host site names its signed-in user (docs/embedding.md).
#[utoipa::path(post, path = "/api/visitor/identify", tag = "session",
    request_body = visitor::IdentifyBody,
    responses(
        (status = 200, body = visitor::Identified),
        (status = 400, body = ErrorBody, description = "VALIDATION_ERROR"),
        (status = 403, body = ErrorBody, description = "CSRF_FAILED")
    ))]
pub fn visitor_identify() {}

/// A thread's visitor context (admin).
#[utoipa::path(get, path = "/api/threads/{thread_id}/context", tag = "messages",
    params(("thread_id" = String, Path, description = "Thread id")),
    responses(
        (status = 200, body = visitor::ThreadContext),
        (status = 401, body = ErrorBody, description = "UNAUTHORIZED: not the admin"),
        (status = 404, body = ErrorBody, description = "NOT_FOUND")
    ))]
pub fn thread_context() {}

/// The embed loader script for host pages (`EMBED_ORIGINS`).
#[utoipa::path(get, path = "/widget.js", tag = "pages", responses(
    (status = 200, description = "JavaScript", content_type = "text/javascript", body = String)
))]
pub fn widget_js() {}

/// The chat view inside the widget's iframe.
#[utoipa::path(get, path = "/embed", tag = "pages", responses(
    (status = 200, description = "HTML", content_type = "text/html", body = String)
))]
pub fn embed_view() {}

/// The visitor chat page (sets the visitor cookie).
#[utoipa::path(get, path = "/", tag = "pages", responses(
    (status = 200, description = "HTML", content_type = "text/html", body = String)
))]
pub fn visitor_page() {}

/// The admin panel, or 302 to `/admin/login`.
#[utoipa::path(get, path = "/admin", tag = "pages", responses(
    (status = 200, description = "HTML", content_type = "text/html", body = String),
    (status = 302, description = "not logged in: to /admin/login")
))]
pub fn admin_page() {}

/// The admin login page, or 302 to `/admin` when logged in.
#[utoipa::path(get, path = "/admin/login", tag = "pages", responses(
    (status = 200, description = "HTML", content_type = "text/html", body = String),
    (status = 302, description = "already logged in: to /admin")
))]
pub fn login_page() {}

/// A stored upload (local storage); `Range` supported, cached for a year.
#[utoipa::path(get, path = "/uploads/{folder}/{name}", tag = "pages",
    params(
        ("folder" = String, Path, description = "`images` or `audio`"),
        ("name" = String, Path, description = "`<uuid>.<ext>`")
    ),
    responses(
        (status = 200, description = "the file", content_type = "application/octet-stream", body = String),
        (status = 404, body = ErrorBody)
    ))]
pub fn uploads() {}

/// Static assets; immutable under the pages' `?v=<digest>` URLs.
#[utoipa::path(get, path = "/static/{path}", tag = "pages",
    params(("path" = String, Path, description = "file under STATIC_DIR")),
    responses(
        (status = 200, description = "the file", content_type = "application/octet-stream", body = String),
        (status = 404, description = "no such file")
    ))]
pub fn static_files() {}
