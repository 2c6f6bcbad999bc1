//! The JSON API under `/api/` (`shared/DESIGN.md` § HTTP contract): session,
//! messages (page, send, clear) and the admin's thread list. Thin handlers:
//! parse, authorise, call the chat core, answer.

use axum::{
    Json,
    extract::{Path, State},
    response::{IntoResponse, Response},
};
use axum_extra::extract::cookie::SignedCookieJar;
use serde::{Deserialize, Serialize};

use super::extract::{AppJson, AppQuery, Caller};
use crate::{
    AppState,
    chat::{PostRequest, Sender},
    domain::{AgentId, Message, MessageId, Role, ThreadId, rfc3339_string},
    http::error::{AppError, AppResult},
    limits::{Action, address_key},
};

/// `{success: true, role, thread_id, display_name, agent_id?, csrf_token}`
/// of `GET /api/session`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionInfo {
    /// Always `true`.
    pub success: bool,
    /// `admin` | `visitor`.
    pub role: Role,
    /// The browser's own visitor thread.
    pub thread_id: ThreadId,
    /// The agent's shown name (issue 22; the bootstrap owner's is
    /// `ADMIN_USERNAME` until it changes it), or the visitor's display name.
    pub display_name: String,
    /// The signed-in agent's id (admins only; issue 22 item 4: the panel's
    /// "Mine" filter); absent for a visitor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    /// The CSRF token for the `X-CSRFToken` header.
    pub csrf_token: String,
}

/// `GET /api/session` → [`SessionInfo`].
pub async fn session(State(state): State<AppState>, caller: Caller) -> Response {
    let (role, display_name) = match &caller.admin {
        Some(a) => (Role::Admin, a.agent.display_name.clone()),
        None => (
            Role::Visitor,
            crate::chat::display_name_for(&caller.visitor_id),
        ),
    };
    let body = Json(SessionInfo {
        success: true,
        role,
        thread_id: caller.visitor_id.clone(),
        display_name,
        agent_id: caller.admin.as_ref().and_then(|a| a.agent.id),
        csrf_token: state.auth.csrf_token(&caller.visitor_id),
    });
    if caller.new_visitor {
        let jar = SignedCookieJar::new(state.auth.cookie_key().clone()).add(state.cookies.build(
            state.cookies.visitor,
            caller.visitor_id.clone(),
            Some(365 * 24 * 3600),
        ));
        (jar, body).into_response()
    } else {
        body.into_response()
    }
}

/// Query of `GET /api/messages/{thread_id}`.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    /// Page size, 1..=200 (default 50).
    pub limit: Option<i64>,
    /// Only messages with a smaller id (older pages).
    pub before: Option<MessageId>,
    /// Only messages with a larger id (catch-up after a reconnect).
    pub after: Option<MessageId>,
}

/// `{success: true, messages}` of `GET /api/messages/{thread_id}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MessagesPage {
    /// Always `true`.
    pub success: bool,
    /// The page, oldest first.
    pub messages: Vec<Message>,
    /// With `?after=ID` only (issue 23 item 6): the messages up to `ID`
    /// edited since message `ID` was stored, oldest first (at most
    /// `limit`): the edits a client that reconnects may have missed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edited: Option<Vec<Message>>,
}

/// `GET /api/messages/{thread_id}` → `{success, messages}` oldest first.
/// Who may read which thread is [`crate::auth::Actor`]'s rule: the admin
/// any existing thread (reading the newest messages marks them read), a
/// visitor only its own (403 otherwise; an empty list before its first
/// message), without the agents' internal notes.
pub async fn messages(
    State(state): State<AppState>,
    caller: Caller,
    Path(thread_id): Path<String>,
    AppQuery(q): AppQuery<PageQuery>,
) -> AppResult<Json<MessagesPage>> {
    let (sender, thread) = caller.actor.target(Some(&thread_id))?;
    let thread = &thread;
    let as_admin = sender == Sender::Admin;
    if as_admin && state.chat.thread(thread).await?.is_none() {
        return Err(AppError::NotFound("Thread not found"));
    }
    // A visitor (cookie or embed token) never reads an internal note.
    let msgs = state
        .chat
        .page(sender.role(), thread, q.limit, q.before, q.after)
        .await?;
    if as_admin
        && q.before.is_none()
        && let Some(last) = msgs.last()
    {
        state.chat.mark_read(thread, last.id).await?;
    }
    let edited = match q.after {
        Some(after) => Some(
            state
                .chat
                .edited_since(sender.role(), thread, after, q.limit)
                .await?,
        ),
        None => None,
    };
    Ok(Json(MessagesPage {
        success: true,
        messages: msgs,
        edited,
    }))
}

/// `{success: true, message_id, thread_id, message}` of `POST /api/messages/send`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Sent {
    /// Always `true`.
    pub success: bool,
    /// The stored message's id.
    pub message_id: MessageId,
    /// Its thread.
    pub thread_id: ThreadId,
    /// The stored message.
    pub message: Message,
}

/// `POST /api/messages/send` [`PostRequest`] → [`Sent`], answered after
/// the commit; broadcast like the Socket.IO events.
pub async fn send(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(req): AppJson<PostRequest>,
) -> AppResult<Json<Sent>> {
    // The same budget as the socket of the same sender: the admin session,
    // or the visitor id.
    let key = match caller.actor.target(req.thread_id.as_deref()) {
        Ok((Sender::Admin, _)) => caller.session_key(),
        _ => caller.visitor_id.as_str(),
    };
    state.limits.check(Action::Send, key, caller.ip)?;
    let posted = state
        .chat
        .post_from(&caller.actor, req, Some(address_key(caller.ip)))
        .await?;
    Ok(Json(Sent {
        success: true,
        message_id: posted.message.id,
        thread_id: posted.message.thread_id.clone(),
        message: posted.message,
    }))
}

/// Query of `GET /api/threads`.
#[derive(Debug, Deserialize)]
pub struct ThreadsQuery {
    /// `open` | `closed` | `all` (default; `active` is taken as `open`).
    pub status: Option<String>,
    /// `me` | `unassigned` | `all` (default).
    pub assignee: Option<String>,
}

/// `GET /api/threads?status=open|closed|all` (admin) → `{success, threads:
/// [{id, display_name, created_at, last_activity, status, blocked,
/// message_count, unread_count, last_message, online, assignee}], counts:
/// {open, closed}}`, open threads first, then most recently active first.
/// `status` is `open` or `closed` (issue 13; `active` before); `assignee`
/// (issue 22 item 4) is `me` (the caller's threads), `unassigned` or `all`.
///
/// # Errors
/// 400 `VALIDATION_ERROR` for another `status` or `assignee`.
pub async fn threads(
    State(state): State<AppState>,
    caller: Caller,
    AppQuery(q): AppQuery<ThreadsQuery>,
) -> AppResult<Json<ThreadList>> {
    use crate::chat::ListFilter;
    use crate::domain::AssigneeFilter;
    let session = caller.require_admin()?;
    let filter = match q.status.as_deref() {
        None | Some("all" | "") => ListFilter::All,
        Some("open" | "active") => ListFilter::Open,
        Some("closed") => ListFilter::Closed,
        Some(_) => {
            return Err(AppError::Validation(
                "status must be open, closed or all".into(),
            ));
        }
    };
    let assignee = match q.assignee.as_deref() {
        None | Some("all" | "") => AssigneeFilter::All,
        Some("unassigned") => AssigneeFilter::Unassigned,
        // An actor without an agent id (none today) has no threads.
        Some("me") => AssigneeFilter::Agent(session.agent.id.unwrap_or(AgentId(0))),
        Some(_) => {
            return Err(AppError::Validation(
                "assignee must be me, unassigned or all".into(),
            ));
        }
    };
    let list = state.chat.threads(filter, assignee).await?;
    let (open, closed) = state.chat.status_counts().await?;
    let threads = list
        .into_iter()
        .map(|t| ThreadSummary {
            online: state.presence.visitor_online(t.thread.id.as_str()),
            created_at: rfc3339_string(&t.thread.created_at),
            last_activity: rfc3339_string(&t.thread.last_activity_at),
            status: t.thread.status,
            blocked: t.thread.blocked_at.is_some(),
            last_seen: t.thread.visitor_last_seen_at.as_ref().map(rfc3339_string),
            assignee: t.thread.assignee(),
            id: t.thread.id.into_string(),
            display_name: t.thread.display_name,
            message_count: t.message_count,
            unread_count: t.unread_count,
            last_message: t.last_message,
        })
        .collect();
    Ok(Json(ThreadList {
        success: true,
        threads,
        counts: StatusCounts { open, closed },
    }))
}

/// One thread of `GET /api/threads`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ThreadSummary {
    /// Thread id.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// RFC 3339 UTC.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// RFC 3339 UTC.
    #[schema(format = DateTime)]
    pub last_activity: String,
    /// `open` | `closed`.
    pub status: crate::chat::status::ThreadStatus,
    /// Its visitor is blocked.
    pub blocked: bool,
    /// Messages in the thread.
    pub message_count: i64,
    /// Visitor messages the admin has not read.
    pub unread_count: i64,
    /// The newest message, if any.
    pub last_message: Option<Message>,
    /// The visitor has a socket open.
    pub online: bool,
    /// When the visitor was last seen (RFC 3339 UTC), if ever.
    #[schema(format = DateTime)]
    pub last_seen: Option<String>,
    /// The assigned agent, `{id, name}`; `null` when unassigned.
    pub assignee: Option<crate::domain::Assignee>,
}

/// `{open, closed}` thread counts.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatusCounts {
    /// Open threads.
    pub open: i64,
    /// Closed threads.
    pub closed: i64,
}

/// `{success: true, threads, counts}` of `GET /api/threads`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ThreadList {
    /// Always `true`.
    pub success: bool,
    /// At most 500, open first, then most recently active first.
    pub threads: Vec<ThreadSummary>,
    /// Counts over all threads.
    pub counts: StatusCounts,
}

/// `{success: true, message}`: an action done.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Done {
    /// Always `true`.
    pub success: bool,
    /// What was done, e.g. `Messages cleared`.
    pub message: &'static str,
}

/// Body of `POST /api/messages/clear`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ClearBody {
    /// The thread to clear.
    pub thread_id: ThreadId,
}

/// `POST /api/messages/clear` (admin) → `{success, message: "Messages
/// cleared"}`; records a `clear` event naming the agent (events stay).
pub async fn clear(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<ClearBody>,
) -> AppResult<Json<Done>> {
    let by = super::thread_admin::agent(&caller)?;
    state.chat.clear(&body.thread_id, &by).await?;
    Ok(Json(Done {
        success: true,
        message: "Messages cleared",
    }))
}

/// Any other `/api/…` path → 404 in the contract's shape.
pub async fn not_found() -> impl IntoResponse {
    AppError::NotFound("No such API endpoint")
}
