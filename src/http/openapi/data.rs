//! The operator's data routes (issue 27) in the OpenAPI description:
//! stubs over [`crate::http::data`]'s answer types.

use crate::http::{data, error::ErrorBody};

/// Erases a thread with everything it refers to: messages, events,
/// visitor context, search rows, Telegram outbox rows and links, local and
/// Cloudinary files, and with `telegram_topic=true` its forum topic
/// (owner, CSRF); recorded in the audit log; `thread_erased` to admins and
/// the thread's sockets.
#[utoipa::path(delete, path = "/api/threads/{thread_id}", tag = "messages",
    params(
        ("thread_id" = String, Path, description = "Thread id"),
        ("telegram_topic" = Option<bool>, Query, description = "Also delete the Telegram topic (default false)")
    ),
    responses(
        (status = 200, body = data::Erased),
        (status = 400, body = ErrorBody, description = "VALIDATION_ERROR: bad id or query"),
        (status = 401, body = ErrorBody, description = "UNAUTHORIZED: not an agent"),
        (status = 403, body = ErrorBody, description = "FORBIDDEN: not an owner; CSRF_FAILED"),
        (status = 404, body = ErrorBody, description = "NOT_FOUND: nothing stored under that id")
    ))]
pub fn thread_erase() {}

/// The audit log: erases, retention runs, agents disabled or enabled,
/// backups (owner).
#[utoipa::path(get, path = "/api/audit", tag = "agents",
    params(("limit" = Option<i64>, Query, description = "The newest this many (1–500, default 100)")),
    responses(
        (status = 200, body = data::AuditLog),
        (status = 400, body = ErrorBody, description = "VALIDATION_ERROR: bad limit"),
        (status = 401, body = ErrorBody, description = "UNAUTHORIZED: not an agent"),
        (status = 403, body = ErrorBody, description = "FORBIDDEN: not an owner")
    ))]
pub fn audit() {}

/// Exports a thread as a ZIP (agents: owner or agent; recorded in the
/// audit log): `thread.json` (thread, visitor context, system events,
/// every message with internal notes flagged `internal`), `media/…` (the
/// files its messages carry) and `transcript.html`. Streamed.
#[utoipa::path(get, path = "/api/threads/{thread_id}/export", tag = "messages",
    params(("thread_id" = String, Path, description = "Thread id")),
    responses(
        (status = 200, content_type = "application/zip", description = "The archive (streamed)"),
        (status = 400, body = ErrorBody, description = "VALIDATION_ERROR: bad id"),
        (status = 401, body = ErrorBody, description = "UNAUTHORIZED: not an agent"),
        (status = 404, body = ErrorBody, description = "NOT_FOUND: nothing stored under that id"),
        (status = 503, body = ErrorBody, description = "SERVER_BUSY: too many exports at once (Retry-After)")
    ))]
pub fn thread_export() {}
