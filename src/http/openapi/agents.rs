//! The support team's routes (issue 22) in the OpenAPI description: stubs
//! over [`crate::http::agents`]'s own body and answer types (the agent
//! itself is [`crate::domain::Agent`]).

use crate::http::{agents, error::ErrorBody};

/// The agents (owner).
#[utoipa::path(get, path = "/api/agents", tag = "agents", responses(
    (status = 200, body = agents::AgentList),
    (status = 401, body = ErrorBody, description = "UNAUTHORIZED: no session"),
    (status = 403, body = ErrorBody, description = "FORBIDDEN: not an owner")
))]
pub fn agents_list() {}

/// Adds an agent (owner, CSRF).
#[utoipa::path(post, path = "/api/agents", tag = "agents", request_body = agents::CreateBody,
    responses(
        (status = 200, body = agents::AgentCreated),
        (status = 400, body = ErrorBody, description = "VALIDATION_ERROR"),
        (status = 401, body = ErrorBody, description = "UNAUTHORIZED"),
        (status = 403, body = ErrorBody, description = "FORBIDDEN: not an owner; CSRF_FAILED"),
        (status = 409, body = ErrorBody, description = "CONFLICT: username taken")
    ))]
pub fn agents_create() {}

/// Renames an agent and/or changes its role (owner, CSRF).
#[utoipa::path(patch, path = "/api/agents/{id}", tag = "agents", request_body = agents::UpdateBody,
    params(("id" = i64, Path, description = "Agent id")),
    responses(
        (status = 200, body = agents::AgentOne),
        (status = 400, body = ErrorBody, description = "VALIDATION_ERROR"),
        (status = 403, body = ErrorBody, description = "FORBIDDEN: not an owner"),
        (status = 404, body = ErrorBody, description = "NOT_FOUND"),
        (status = 409, body = ErrorBody, description = "CONFLICT: the last enabled owner")
    ))]
pub fn agents_update() {}

/// Disables an agent: its sessions end, its sockets are disconnected (owner, CSRF).
#[utoipa::path(post, path = "/api/agents/{id}/disable", tag = "agents",
    params(("id" = i64, Path, description = "Agent id")),
    responses(
        (status = 200, body = agents::AgentOne),
        (status = 403, body = ErrorBody, description = "FORBIDDEN: not an owner"),
        (status = 404, body = ErrorBody, description = "NOT_FOUND"),
        (status = 409, body = ErrorBody, description = "CONFLICT: the last enabled owner")
    ))]
pub fn agents_disable() {}

/// Enables an agent again (owner, CSRF).
#[utoipa::path(post, path = "/api/agents/{id}/enable", tag = "agents",
    params(("id" = i64, Path, description = "Agent id")),
    responses(
        (status = 200, body = agents::AgentOne),
        (status = 403, body = ErrorBody, description = "FORBIDDEN: not an owner"),
        (status = 404, body = ErrorBody, description = "NOT_FOUND")
    ))]
pub fn agents_enable() {}

/// A one-time code that links a Telegram account to an agent (an owner for
/// any agent; any agent for itself: `{id}` = `me` or its own id; CSRF).
#[utoipa::path(post, path = "/api/agents/{id}/telegram-link", tag = "agents",
    params(("id" = String, Path, description = "Agent id, or `me`")),
    responses(
        (status = 200, body = agents::TelegramLinkCode),
        (status = 401, body = ErrorBody, description = "UNAUTHORIZED"),
        (status = 403, body = ErrorBody, description = "FORBIDDEN: another agent, not an owner"),
        (status = 404, body = ErrorBody, description = "NOT_FOUND"),
        (status = 409, body = ErrorBody, description = "CONFLICT: Telegram not configured, or the agent is disabled"),
        (status = 502, body = ErrorBody, description = "BAD_GATEWAY: the bot's username is unknown")
    ))]
pub fn agents_telegram_link() {}

/// The caller's own agent (any agent).
#[utoipa::path(get, path = "/api/agents/me", tag = "agents", responses(
    (status = 200, body = agents::AgentOne),
    (status = 401, body = ErrorBody, description = "UNAUTHORIZED")
))]
pub fn agents_me() {}

/// Changes the caller's own shown name and/or password (any agent, CSRF).
#[utoipa::path(patch, path = "/api/agents/me", tag = "agents", request_body = agents::OwnBody,
    responses(
        (status = 200, body = agents::AgentOne),
        (status = 400, body = ErrorBody, description = "VALIDATION_ERROR (also a wrong current password)"),
        (status = 401, body = ErrorBody, description = "UNAUTHORIZED")
    ))]
pub fn agents_me_update() {}

/// The invite page (HTML); 404 for an unknown, used or expired invite.
#[utoipa::path(get, path = "/admin/invite/{token}", tag = "pages",
    params(("token" = String, Path, description = "Invite token (64 hex digits)")),
    responses(
        (status = 200, description = "HTML", content_type = "text/html", body = String),
        (status = 404, description = "HTML: the invite is dead", content_type = "text/html", body = String)
    ))]
pub fn invite_page() {}

/// Uses an invite: sets the agent's password (CSRF).
#[utoipa::path(post, path = "/admin/invite/{token}", tag = "agents", request_body = agents::InviteBody,
    params(("token" = String, Path, description = "Invite token (64 hex digits)")),
    responses(
        (status = 200, body = agents::InviteAccepted),
        (status = 400, body = ErrorBody, description = "VALIDATION_ERROR"),
        (status = 404, body = ErrorBody, description = "NOT_FOUND: unknown, used or expired"),
        (status = 429, body = ErrorBody, description = "RATE_LIMITED")
    ))]
pub fn invite_accept() {}
