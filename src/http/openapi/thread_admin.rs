//! OpenAPI description of the admin's thread tools (issue 13): close,
//! reopen, block, unblock, the blocked list ([`crate::http::thread_admin`]).

use serde::Serialize;
use utoipa::ToSchema;

use super::ErrorBody;

/// `open` | `closed` (before issue 13 the only value was `active`, which
/// means `open`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ThreadStatusDoc {
    /// Open.
    Open,
    /// Closed.
    Closed,
}

/// What changed a thread: `close`, `reopen`, `block`, `unblock`, or
/// `visitor` (its visitor's message reopened it).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ThreadChangeDoc {
    /// Closed by the admin.
    Close,
    /// Reopened by the admin.
    Reopen,
    /// Visitor blocked.
    Block,
    /// Visitor unblocked.
    Unblock,
    /// Reopened by the visitor's message.
    Visitor,
    /// Its assignee changed (issue 22).
    Assign,
}

/// A thread's status and block, as `thread_updated` carries it.
#[derive(Serialize, ToSchema)]
pub struct ThreadStateDoc {
    /// Thread id.
    pub id: String,
    /// Its status.
    pub status: ThreadStatusDoc,
    /// Its visitor is blocked.
    pub blocked: bool,
    /// When it was blocked (RFC 3339), or null.
    #[schema(format = DateTime)]
    pub blocked_at: Option<String>,
    /// What changed it.
    pub change: Option<ThreadChangeDoc>,
    /// The agent who changed it (issue 22; absent for a visitor's message).
    pub by: Option<ActedByDoc>,
    /// The assignee (issue 22), or null when unassigned; absent for a
    /// visitor's message.
    pub assignee: Option<AssigneeDoc>,
}

/// The agent a thread is assigned to (issue 22).
#[derive(Serialize, ToSchema)]
pub struct AssigneeDoc {
    /// The agent's id.
    pub id: i64,
    /// Its display name.
    pub name: String,
}

/// A refused take: 409 `CONFLICT` naming the agent who has the thread.
#[derive(Serialize, ToSchema)]
pub struct TakenDoc {
    /// `false`.
    pub success: bool,
    /// `This thread is assigned to Ayşe`.
    pub error: String,
    /// `CONFLICT`.
    pub code: String,
    /// 409.
    pub status: u16,
    /// Who has it.
    pub assignee: AssigneeDoc,
}

/// Body of `POST /api/threads/{thread_id}/assign`.
#[derive(Serialize, ToSchema)]
pub struct AssignBodyDoc {
    /// The agent's id, or null to unassign.
    pub agent_id: Option<i64>,
}

/// Takes a thread (agent): assigned to the caller when unassigned or
/// already theirs; 409 naming the assignee otherwise (issue 22).
#[utoipa::path(post, path = "/api/threads/{thread_id}/take", tag = "messages",
    params(("thread_id" = String, Path, description = "Thread id")),
    responses(
        (status = 200, body = ThreadStateAnswerDoc),
        (status = 400, body = ErrorBody, description = "VALIDATION_ERROR: bad thread id"),
        (status = 401, body = ErrorBody, description = "UNAUTHORIZED: not an agent"),
        (status = 403, body = ErrorBody, description = "CSRF_FAILED"),
        (status = 404, body = ErrorBody, description = "NOT_FOUND"),
        (status = 409, body = TakenDoc, description = "CONFLICT: another agent has it")
    ))]
pub fn thread_take() {}

/// Assigns a thread to an enabled agent, or unassigns it (issue 22).
#[utoipa::path(post, path = "/api/threads/{thread_id}/assign", tag = "messages",
    params(("thread_id" = String, Path, description = "Thread id")),
    request_body = AssignBodyDoc,
    responses(
        (status = 200, body = ThreadStateAnswerDoc),
        (status = 400, body = ErrorBody, description = "VALIDATION_ERROR: bad agent_id, disabled agent"),
        (status = 401, body = ErrorBody, description = "UNAUTHORIZED: not an agent"),
        (status = 403, body = ErrorBody, description = "CSRF_FAILED"),
        (status = 404, body = ErrorBody, description = "NOT_FOUND: thread or agent")
    ))]
pub fn thread_assign() {}

/// The agent who acted: `id` null until agents exist.
#[derive(Serialize, ToSchema)]
pub struct ActedByDoc {
    /// The agent's id, or null.
    pub id: Option<i64>,
    /// The agent's name at the time.
    pub name: String,
}

/// What an agent did: `close`, `reopen`, `block`, `unblock`, `clear`, `assign`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ThreadActionDoc {
    /// Closed the thread.
    Close,
    /// Reopened it.
    Reopen,
    /// Blocked its visitor.
    Block,
    /// Unblocked its visitor.
    Unblock,
    /// Cleared its messages.
    Clear,
    /// Assigned it (`detail`: to whom).
    Assign,
}

/// A thread's system event (agents only).
#[derive(Serialize, ToSchema)]
pub struct ThreadEventDoc {
    /// Grows with time.
    pub id: i64,
    /// The thread.
    pub thread_id: String,
    /// What was done.
    pub action: ThreadActionDoc,
    /// More about it (`assign`: the assignee), or null.
    pub detail: Option<String>,
    /// Who did it.
    pub by: ActedByDoc,
    /// When (RFC 3339 UTC).
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// `GET /api/threads/{thread_id}/events`.
#[derive(Serialize, ToSchema)]
pub struct ThreadEventsDoc {
    /// `true`.
    pub success: bool,
    /// The newest events, oldest first.
    pub events: Vec<ThreadEventDoc>,
}

/// A thread's events: who closed, reopened, blocked, unblocked, cleared or
/// assigned it (admin only; never a visitor, not even for its own thread).
#[utoipa::path(get, path = "/api/threads/{thread_id}/events", tag = "messages",
    params(
        ("thread_id" = String, Path, description = "Thread id"),
        ("limit" = Option<i64>, Query, description = "The newest this many (1–500, default 200)")
    ),
    responses(
        (status = 200, body = ThreadEventsDoc),
        (status = 400, body = ErrorBody, description = "VALIDATION_ERROR: bad thread id or limit"),
        (status = 401, body = ErrorBody, description = "UNAUTHORIZED: not the admin")
    ))]
pub fn thread_events() {}

/// Answer of close / reopen / block / unblock.
#[derive(Serialize, ToSchema)]
pub struct ThreadStateAnswerDoc {
    /// `true`.
    pub success: bool,
    /// The thread's state after the change.
    pub thread: ThreadStateDoc,
}

/// One blocked visitor.
#[derive(Serialize, ToSchema)]
pub struct BlockDoc {
    /// Thread id.
    pub id: String,
    /// `Visitor 3F2A`.
    pub display_name: String,
    /// Its status.
    pub status: ThreadStatusDoc,
    /// When it was blocked (RFC 3339).
    #[schema(format = DateTime)]
    pub blocked_at: Option<String>,
    /// The thread's last activity (RFC 3339).
    #[schema(format = DateTime)]
    pub last_activity: String,
}

/// `GET /api/blocks`.
#[derive(Serialize, ToSchema)]
pub struct BlocksDoc {
    /// `true`.
    pub success: bool,
    /// Most recently blocked first.
    pub blocks: Vec<BlockDoc>,
}

/// Open and closed thread counts of `GET /api/threads`.
#[derive(Serialize, ToSchema)]
pub struct ThreadCountsDoc {
    /// Open threads.
    pub open: i64,
    /// Closed threads.
    pub closed: i64,
}

/// Closes a thread (admin); `thread_updated` to admins.
#[utoipa::path(post, path = "/api/threads/{thread_id}/close", tag = "messages",
    params(("thread_id" = String, Path, description = "Thread id")),
    responses(
        (status = 200, body = ThreadStateAnswerDoc),
        (status = 401, body = ErrorBody, description = "UNAUTHORIZED: not the admin"),
        (status = 403, body = ErrorBody, description = "CSRF_FAILED"),
        (status = 404, body = ErrorBody, description = "NOT_FOUND")
    ))]
pub fn thread_close() {}

/// Reopens a thread (admin); `thread_updated` to admins.
#[utoipa::path(post, path = "/api/threads/{thread_id}/reopen", tag = "messages",
    params(("thread_id" = String, Path, description = "Thread id")),
    responses(
        (status = 200, body = ThreadStateAnswerDoc),
        (status = 401, body = ErrorBody, description = "UNAUTHORIZED: not the admin"),
        (status = 403, body = ErrorBody, description = "CSRF_FAILED"),
        (status = 404, body = ErrorBody, description = "NOT_FOUND")
    ))]
pub fn thread_reopen() {}

/// Blocks a thread's visitor (admin): its sends get 403 `BLOCKED`.
#[utoipa::path(post, path = "/api/threads/{thread_id}/block", tag = "messages",
    params(("thread_id" = String, Path, description = "Thread id")),
    responses(
        (status = 200, body = ThreadStateAnswerDoc),
        (status = 401, body = ErrorBody, description = "UNAUTHORIZED: not the admin"),
        (status = 403, body = ErrorBody, description = "CSRF_FAILED"),
        (status = 404, body = ErrorBody, description = "NOT_FOUND")
    ))]
pub fn thread_block() {}

/// Unblocks a thread's visitor (admin).
#[utoipa::path(delete, path = "/api/threads/{thread_id}/block", tag = "messages",
    params(("thread_id" = String, Path, description = "Thread id")),
    responses(
        (status = 200, body = ThreadStateAnswerDoc),
        (status = 401, body = ErrorBody, description = "UNAUTHORIZED: not the admin"),
        (status = 403, body = ErrorBody, description = "CSRF_FAILED"),
        (status = 404, body = ErrorBody, description = "NOT_FOUND")
    ))]
pub fn thread_block_delete() {}

/// Unblocks a thread's visitor (admin); same as `DELETE …/block`.
#[utoipa::path(post, path = "/api/threads/{thread_id}/unblock", tag = "messages",
    params(("thread_id" = String, Path, description = "Thread id")),
    responses(
        (status = 200, body = ThreadStateAnswerDoc),
        (status = 401, body = ErrorBody, description = "UNAUTHORIZED: not the admin"),
        (status = 403, body = ErrorBody, description = "CSRF_FAILED"),
        (status = 404, body = ErrorBody, description = "NOT_FOUND")
    ))]
pub fn thread_unblock() {}

/// The blocked visitors (admin).
#[utoipa::path(get, path = "/api/blocks", tag = "messages", responses(
    (status = 200, body = BlocksDoc),
    (status = 401, body = ErrorBody, description = "UNAUTHORIZED: not the admin")
))]
pub fn blocks() {}
