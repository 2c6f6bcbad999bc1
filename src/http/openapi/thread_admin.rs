//! OpenAPI description of the admin's thread tools (issue 13 and 22):
//! close, reopen, block, unblock, the blocked list, events, take and assign
//! ([`crate::http::thread_admin`], [`crate::http::assignment`]); the
//! shapes are those handlers' own types.

use crate::http::{assignment, error::ErrorBody, thread_admin};

/// Takes a thread (agent): assigned to the caller when unassigned or
/// already theirs; 409 naming the assignee otherwise (issue 22).
#[utoipa::path(post, path = "/api/threads/{thread_id}/take", tag = "messages",
    params(("thread_id" = String, Path, description = "Thread id")),
    responses(
        (status = 200, body = thread_admin::ThreadAnswer),
        (status = 400, body = ErrorBody, description = "VALIDATION_ERROR: bad thread id"),
        (status = 401, body = ErrorBody, description = "UNAUTHORIZED: not an agent"),
        (status = 403, body = ErrorBody, description = "CSRF_FAILED"),
        (status = 404, body = ErrorBody, description = "NOT_FOUND"),
        (status = 409, body = assignment::Taken, description = "CONFLICT: another agent has it")
    ))]
pub fn thread_take() {}

/// Assigns a thread to an enabled agent, or unassigns it (issue 22).
#[utoipa::path(post, path = "/api/threads/{thread_id}/assign", tag = "messages",
    params(("thread_id" = String, Path, description = "Thread id")),
    request_body = assignment::AssignBody,
    responses(
        (status = 200, body = thread_admin::ThreadAnswer),
        (status = 400, body = ErrorBody, description = "VALIDATION_ERROR: bad agent_id, disabled agent"),
        (status = 401, body = ErrorBody, description = "UNAUTHORIZED: not an agent"),
        (status = 403, body = ErrorBody, description = "CSRF_FAILED"),
        (status = 404, body = ErrorBody, description = "NOT_FOUND: thread or agent")
    ))]
pub fn thread_assign() {}

/// A thread's events: who closed, reopened, blocked, unblocked, cleared or
/// assigned it (admin only; never a visitor, not even for its own thread).
#[utoipa::path(get, path = "/api/threads/{thread_id}/events", tag = "messages",
    params(
        ("thread_id" = String, Path, description = "Thread id"),
        ("limit" = Option<i64>, Query, description = "The newest this many (1–500, default 200)")
    ),
    responses(
        (status = 200, body = thread_admin::EventList),
        (status = 400, body = ErrorBody, description = "VALIDATION_ERROR: bad thread id or limit"),
        (status = 401, body = ErrorBody, description = "UNAUTHORIZED: not the admin")
    ))]
pub fn thread_events() {}

/// Closes a thread (admin); `thread_updated` to admins.
#[utoipa::path(post, path = "/api/threads/{thread_id}/close", tag = "messages",
    params(("thread_id" = String, Path, description = "Thread id")),
    responses(
        (status = 200, body = thread_admin::ThreadAnswer),
        (status = 401, body = ErrorBody, description = "UNAUTHORIZED: not the admin"),
        (status = 403, body = ErrorBody, description = "CSRF_FAILED"),
        (status = 404, body = ErrorBody, description = "NOT_FOUND")
    ))]
pub fn thread_close() {}

/// Reopens a thread (admin); `thread_updated` to admins.
#[utoipa::path(post, path = "/api/threads/{thread_id}/reopen", tag = "messages",
    params(("thread_id" = String, Path, description = "Thread id")),
    responses(
        (status = 200, body = thread_admin::ThreadAnswer),
        (status = 401, body = ErrorBody, description = "UNAUTHORIZED: not the admin"),
        (status = 403, body = ErrorBody, description = "CSRF_FAILED"),
        (status = 404, body = ErrorBody, description = "NOT_FOUND")
    ))]
pub fn thread_reopen() {}

/// Blocks a thread's visitor (admin): its sends get 403 `BLOCKED`.
#[utoipa::path(post, path = "/api/threads/{thread_id}/block", tag = "messages",
    params(("thread_id" = String, Path, description = "Thread id")),
    responses(
        (status = 200, body = thread_admin::ThreadAnswer),
        (status = 401, body = ErrorBody, description = "UNAUTHORIZED: not the admin"),
        (status = 403, body = ErrorBody, description = "CSRF_FAILED"),
        (status = 404, body = ErrorBody, description = "NOT_FOUND")
    ))]
pub fn thread_block() {}

/// Unblocks a thread's visitor (admin).
#[utoipa::path(delete, path = "/api/threads/{thread_id}/block", tag = "messages",
    params(("thread_id" = String, Path, description = "Thread id")),
    responses(
        (status = 200, body = thread_admin::ThreadAnswer),
        (status = 401, body = ErrorBody, description = "UNAUTHORIZED: not the admin"),
        (status = 403, body = ErrorBody, description = "CSRF_FAILED"),
        (status = 404, body = ErrorBody, description = "NOT_FOUND")
    ))]
pub fn thread_block_delete() {}

/// Unblocks a thread's visitor (admin); same as `DELETE …/block`.
#[utoipa::path(post, path = "/api/threads/{thread_id}/unblock", tag = "messages",
    params(("thread_id" = String, Path, description = "Thread id")),
    responses(
        (status = 200, body = thread_admin::ThreadAnswer),
        (status = 401, body = ErrorBody, description = "UNAUTHORIZED: not the admin"),
        (status = 403, body = ErrorBody, description = "CSRF_FAILED"),
        (status = 404, body = ErrorBody, description = "NOT_FOUND")
    ))]
pub fn thread_unblock() {}

/// The blocked visitors (admin).
#[utoipa::path(get, path = "/api/blocks", tag = "messages", responses(
    (status = 200, body = thread_admin::BlockList),
    (status = 401, body = ErrorBody, description = "UNAUTHORIZED: not the admin")
))]
pub fn blocks() {}
