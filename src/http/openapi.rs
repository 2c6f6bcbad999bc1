//! The OpenAPI 3.1 description of the HTTP API (issue 15), generated with
//! `utoipa` and served at `GET /api/openapi.json`.
//!
//! The handlers build their answers with `serde_json::json!`, so the
//! answer shapes are stated here as schema types (`…Doc` structs that
//! mirror the JSON the handlers write, never used to build answers);
//! `tests/openapi.rs` keeps them honest by validating real answers against
//! these schemas, and fails for any route of the router that is not
//! described.
//!
//! **Describing a new route** (one step): add a stub function with
//! `#[utoipa::path(method, path = "/…", tag = "…", responses(…))]` below
//! (or in the new route's own module) and list it in `paths(…)` of
//! [`ApiDoc`], with any new schema in `components(schemas(…))`. Route
//! patterns are written as in axum (`{thread_id}`; a catch-all `{*path}` as
//! `{path}`).

use axum::{Json, Router, routing::get};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::AppState;

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
        admin_login, verify_otp, logout,
        health, health_live, health_ready, openapi, metrics,
        visitor_page, admin_page, login_page, uploads, static_files
    ),
    components(schemas(
        ErrorBody, SessionDoc, Role, MessageDoc, MessageKind, MessagesDoc, SendBodyDoc,
        SendDoc, ThreadDoc, ThreadsDoc, ClearBodyDoc, DoneDoc, LoginBodyDoc, LoginDoc,
        OtpBodyDoc, OtpDoc, SuccessDoc, UploadFormDoc, UploadDoc, ProbeDoc, HealthDoc
    )),
    tags(
        (name = "session", description = "Visitor identity and CSRF token"),
        (name = "messages", description = "Threads and messages"),
        (name = "uploads", description = "Images and audio"),
        (name = "admin", description = "Admin login (password, then a code)"),
        (name = "operations", description = "Probes, metrics, this description"),
        (name = "pages", description = "HTML pages and files")
    )
)]
pub struct ApiDoc;

/// Every error answer: `{success: false, error, code, status}`.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// Always `false`.
    pub success: bool,
    /// Human-readable message.
    pub error: String,
    /// `UPPER_SNAKE` code, e.g. `RATE_LIMITED`, `CSRF_FAILED` (docs/api.md).
    pub code: String,
    /// The HTTP status again.
    pub status: u16,
}

/// Who the caller is.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A visitor (cookie).
    Visitor,
    /// The admin (session cookie).
    Admin,
}

/// `GET /api/session`.
#[derive(Serialize, ToSchema)]
pub struct SessionDoc {
    /// `true`.
    pub success: bool,
    /// The caller's role.
    pub role: Role,
    /// The visitor's thread id (UUID v4; the admin's own visitor id too).
    pub thread_id: String,
    /// `Visitor 3F2A`, or the admin's login name.
    pub display_name: String,
    /// The value for `X-CSRFToken`.
    pub csrf_token: String,
}

/// Message type.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    /// Text.
    Text,
    /// An uploaded image (`file_url`).
    Image,
    /// An uploaded audio file or voice note (`file_url`).
    Audio,
}

/// A stored message.
#[derive(Serialize, ToSchema)]
pub struct MessageDoc {
    /// Grows with time.
    pub id: i64,
    /// The thread (UUID).
    pub thread_id: String,
    /// Text (1–4000 characters), or a caption (may be empty) for media.
    pub content_text: String,
    /// `text`, `image` or `audio`.
    pub content_type: MessageKind,
    /// Who sent it.
    pub sender_type: Role,
    /// Media URL (`/uploads/…` or Cloudinary's), `null` for text.
    pub file_url: Option<String>,
    /// RFC 3339 UTC with `Z`.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// The sender's idempotency key, if any.
    pub client_id: Option<String>,
}

/// `GET /api/messages/{thread_id}`.
#[derive(Serialize, ToSchema)]
pub struct MessagesDoc {
    /// `true`.
    pub success: bool,
    /// Oldest first.
    pub messages: Vec<MessageDoc>,
}

/// Body of `POST /api/messages/send`.
#[derive(Serialize, ToSchema)]
pub struct SendBodyDoc {
    /// The admin's target thread; a visitor's own thread when absent.
    pub thread_id: Option<String>,
    /// The text (1–4000 characters for `text`).
    pub text: Option<String>,
    /// `text` (default), `image` or `audio`.
    #[serde(rename = "type")]
    pub kind: Option<MessageKind>,
    /// For media: a URL this server issued from an upload.
    pub file_url: Option<String>,
    /// Idempotency key: a repeat returns the stored message.
    pub client_id: Option<String>,
}

/// `POST /api/messages/send`: answered after the commit.
#[derive(Serialize, ToSchema)]
pub struct SendDoc {
    /// `true`.
    pub success: bool,
    /// The stored message's id.
    pub message_id: i64,
    /// Its thread.
    pub thread_id: String,
    /// The stored message.
    pub message: MessageDoc,
}

/// One thread of the admin's list.
#[derive(Serialize, ToSchema)]
pub struct ThreadDoc {
    /// Thread id.
    pub id: String,
    /// `Visitor 3F2A`.
    pub display_name: String,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// RFC 3339: the last message.
    #[schema(format = DateTime)]
    pub last_activity: String,
    /// `active`.
    pub status: String,
    /// Messages in the thread.
    pub message_count: i64,
    /// Visitor messages the admin has not read.
    pub unread_count: i64,
    /// The newest message, if any.
    pub last_message: Option<MessageDoc>,
    /// Has the visitor a socket open on this instance?
    pub online: bool,
    /// When the visitor was last seen (RFC 3339), if known.
    #[schema(format = DateTime)]
    pub last_seen: Option<String>,
}

/// `GET /api/threads`.
#[derive(Serialize, ToSchema)]
pub struct ThreadsDoc {
    /// `true`.
    pub success: bool,
    /// Most recently active first.
    pub threads: Vec<ThreadDoc>,
}

/// Body of `POST /api/messages/clear`.
#[derive(Serialize, ToSchema)]
pub struct ClearBodyDoc {
    /// The thread to clear.
    pub thread_id: String,
}

/// `{success, message}`.
#[derive(Serialize, ToSchema)]
pub struct DoneDoc {
    /// `true`.
    pub success: bool,
    /// What was done.
    pub message: String,
}

/// `{success}`.
#[derive(Serialize, ToSchema)]
pub struct SuccessDoc {
    /// `true`.
    pub success: bool,
}

/// Body of `POST /admin/login`.
#[derive(Serialize, ToSchema)]
pub struct LoginBodyDoc {
    /// `ADMIN_USERNAME`.
    pub username: String,
    /// `ADMIN_PASSWORD`.
    pub password: String,
}

/// `POST /admin/login`: the code went to Telegram (or the log).
#[derive(Serialize, ToSchema)]
pub struct LoginDoc {
    /// `true`.
    pub success: bool,
    /// `OTP sent to Telegram`.
    pub message: String,
    /// `true`.
    pub otp_sent: bool,
}

/// Body of `POST /admin/verify-otp`.
#[derive(Serialize, ToSchema)]
pub struct OtpBodyDoc {
    /// The 6-digit code.
    pub otp: String,
}

/// `POST /admin/verify-otp`: the admin cookie is set.
#[derive(Serialize, ToSchema)]
pub struct OtpDoc {
    /// `true`.
    pub success: bool,
    /// `Login successful`.
    pub message: String,
    /// A public session identifier (the token stays in the cookie).
    pub session: String,
}

/// Multipart body of the upload routes.
#[derive(Serialize, ToSchema)]
pub struct UploadFormDoc {
    /// The file; its bytes decide its type.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// An upload was stored.
#[derive(Serialize, ToSchema)]
pub struct UploadDoc {
    /// `true`.
    pub success: bool,
    /// `images/<uuid>.<ext>` or `audio/<uuid>.<ext>` (local), or the Cloudinary id.
    pub file_path: String,
    /// The URL to send as `file_url`.
    pub file_url: String,
    /// `Image uploaded successfully` / `Audio uploaded successfully`.
    pub message: String,
}

/// `/health/live`, `/health/ready`, and `/health` without details.
#[derive(Serialize, ToSchema)]
pub struct ProbeDoc {
    /// `alive`, `ready`/`not_ready`, or `healthy`/`degraded`/`unhealthy`.
    pub status: String,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub timestamp: String,
}

/// `GET /health` (the details only for a token holder or a local caller).
#[derive(Serialize, ToSchema)]
pub struct HealthDoc {
    /// `healthy`, `degraded` or `unhealthy`.
    pub status: String,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub timestamp: String,
    /// Crate version (details only).
    pub version: Option<String>,
    /// `development` / `production` (details only).
    pub environment: Option<String>,
    /// `database`, `database_kind`, `telegram`, `telegram_outbox_backlog`,
    /// `memory`, `disk`, `sockets` (details only; docs/api.md).
    #[schema(value_type = Option<Object>)]
    pub checks: Option<serde_json::Value>,
}

// ---- routes ------------------------------------------------------------------

/// The caller's identity and CSRF token; sets the visitor cookie when absent.
#[utoipa::path(get, path = "/api/session", tag = "session", responses(
    (status = 200, body = SessionDoc),
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
        (status = 200, body = MessagesDoc),
        (status = 400, body = ErrorBody, description = "VALIDATION_ERROR"),
        (status = 403, body = ErrorBody, description = "FORBIDDEN: another visitor's thread"),
        (status = 404, body = ErrorBody, description = "NOT_FOUND (admin: no such thread)")
    ))]
pub fn messages() {}

/// Stores a message; answered after its transaction commits.
#[utoipa::path(post, path = "/api/messages/send", tag = "messages",
    request_body = SendBodyDoc,
    responses(
        (status = 200, body = SendDoc),
        (status = 400, body = ErrorBody, description = "VALIDATION_ERROR"),
        (status = 403, body = ErrorBody, description = "CSRF_FAILED / FORBIDDEN"),
        (status = 429, body = ErrorBody, description = "RATE_LIMITED (Retry-After)"),
        (status = 503, body = ErrorBody, description = "SERVER_BUSY / SERVICE_UNAVAILABLE")
    ))]
pub fn send() {}

/// The admin's thread list.
#[utoipa::path(get, path = "/api/threads", tag = "messages", responses(
    (status = 200, body = ThreadsDoc),
    (status = 401, body = ErrorBody, description = "UNAUTHORIZED: not the admin")
))]
pub fn threads() {}

/// Deletes a thread's messages (admin).
#[utoipa::path(post, path = "/api/messages/clear", tag = "messages",
    request_body = ClearBodyDoc,
    responses(
        (status = 200, body = DoneDoc),
        (status = 401, body = ErrorBody, description = "UNAUTHORIZED"),
        (status = 403, body = ErrorBody, description = "CSRF_FAILED")
    ))]
pub fn clear() {}

/// Uploads an image (JPEG, PNG, GIF, WebP; ≤ 5 MiB, ≤ 8192 px a side).
#[utoipa::path(post, path = "/api/upload/image", tag = "uploads",
    request_body(content = UploadFormDoc, content_type = "multipart/form-data"),
    responses(
        (status = 200, body = UploadDoc),
        (status = 400, body = ErrorBody, description = "BAD_REQUEST / VALIDATION_ERROR"),
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
    request_body(content = UploadFormDoc, content_type = "multipart/form-data"),
    responses(
        (status = 200, body = UploadDoc),
        (status = 413, body = ErrorBody, description = "FILE_TOO_LARGE"),
        (status = 415, body = ErrorBody, description = "UNSUPPORTED_TYPE")
    ))]
pub fn upload_audio() {}

/// Password step of the admin login; sends a code.
#[utoipa::path(post, path = "/admin/login", tag = "admin",
    request_body = LoginBodyDoc,
    responses(
        (status = 200, body = LoginDoc),
        (status = 401, body = ErrorBody, description = "UNAUTHORIZED: wrong credentials"),
        (status = 429, body = ErrorBody, description = "RATE_LIMITED (back-off)"),
        (status = 503, body = ErrorBody, description = "the code could not be delivered")
    ))]
pub fn admin_login() {}

/// Code step; sets the admin session cookie.
#[utoipa::path(post, path = "/admin/verify-otp", tag = "admin",
    request_body = OtpBodyDoc,
    responses(
        (status = 200, body = OtpDoc),
        (status = 401, body = ErrorBody, description = "UNAUTHORIZED: wrong, used or expired code"),
        (status = 429, body = ErrorBody, description = "RATE_LIMITED")
    ))]
pub fn verify_otp() {}

/// Ends the admin session (its sockets are disconnected).
#[utoipa::path(post, path = "/admin/logout", tag = "admin", responses(
    (status = 200, body = SuccessDoc)
))]
pub fn logout() {}

/// Status; details with `Authorization: Bearer $HEALTH_TOKEN` or to a local caller.
#[utoipa::path(get, path = "/health", tag = "operations", responses(
    (status = 200, body = HealthDoc),
    (status = 503, body = HealthDoc, description = "database down")
))]
pub fn health() {}

/// The process is up.
#[utoipa::path(get, path = "/health/live", tag = "operations", responses(
    (status = 200, body = ProbeDoc)
))]
pub fn health_live() {}

/// Migrations ran and the database answers.
#[utoipa::path(get, path = "/health/ready", tag = "operations", responses(
    (status = 200, body = ProbeDoc),
    (status = 503, body = ProbeDoc, description = "not_ready")
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
