//! The support team's routes (issue 22) in the OpenAPI description: stubs
//! and the shapes of [`crate::http::agents`]'s answers. The agent itself is
//! [`crate::domain::Agent`] (its own `ToSchema`).

use serde::Serialize;
use utoipa::ToSchema;

use super::ErrorBody;
use crate::domain::{Agent, AgentRole};

/// `GET /api/agents`.
#[derive(Serialize, ToSchema)]
pub struct AgentListDoc {
    /// `true`.
    pub success: bool,
    /// Owners first, then by username.
    pub agents: Vec<Agent>,
}

/// `PATCH /api/agents/{id}`, `…/disable`, `…/enable`, `GET` and `PATCH /api/agents/me`.
#[derive(Serialize, ToSchema)]
pub struct AgentOneDoc {
    /// `true`.
    pub success: bool,
    /// The agent as stored now.
    pub agent: Agent,
}

/// `POST /api/agents`.
#[derive(Serialize, ToSchema)]
pub struct AgentCreatedDoc {
    /// `true`.
    pub success: bool,
    /// The new agent.
    pub agent: Agent,
    /// Without a password: the one-time invite page (shown once, 24 h, single use).
    pub invite_url: Option<String>,
    /// Without a password: seconds the invite lives (86400).
    pub invite_expires_in: Option<i64>,
}

/// Body of `POST /api/agents`.
#[derive(Serialize, ToSchema)]
pub struct AgentCreateBodyDoc {
    /// 1–32 of `a-z 0-9 . _ - @` (any case; stored in lower case; unique).
    pub username: String,
    /// 1–64 characters after trimming.
    pub display_name: String,
    /// `owner` or `agent`.
    pub role: AgentRole,
    /// 12–256 characters; omitted: an invite URL is answered.
    pub password: Option<String>,
}

/// Body of `PATCH /api/agents/{id}`.
#[derive(Serialize, ToSchema)]
pub struct AgentUpdateBodyDoc {
    /// New shown name.
    pub display_name: Option<String>,
    /// New role.
    pub role: Option<AgentRole>,
}

/// Body of `PATCH /api/agents/me`.
#[derive(Serialize, ToSchema)]
pub struct AgentOwnBodyDoc {
    /// New shown name.
    pub display_name: Option<String>,
    /// Required with `new_password`.
    pub current_password: Option<String>,
    /// 12–256 characters.
    pub new_password: Option<String>,
}

/// Body of `POST /admin/invite/{token}`.
#[derive(Serialize, ToSchema)]
pub struct InviteBodyDoc {
    /// 12–256 characters.
    pub password: String,
}

/// `POST /admin/invite/{token}`.
#[derive(Serialize, ToSchema)]
pub struct InviteDoc {
    /// `true`.
    pub success: bool,
    /// The agent's login name (it signs in at `/admin/login`).
    pub username: String,
}

/// The agents (owner).
#[utoipa::path(get, path = "/api/agents", tag = "agents", responses(
    (status = 200, body = AgentListDoc),
    (status = 401, body = ErrorBody, description = "UNAUTHORIZED: no session"),
    (status = 403, body = ErrorBody, description = "FORBIDDEN: not an owner")
))]
pub fn agents_list() {}

/// Adds an agent (owner, CSRF).
#[utoipa::path(post, path = "/api/agents", tag = "agents", request_body = AgentCreateBodyDoc,
    responses(
        (status = 200, body = AgentCreatedDoc),
        (status = 400, body = ErrorBody, description = "VALIDATION_ERROR"),
        (status = 401, body = ErrorBody, description = "UNAUTHORIZED"),
        (status = 403, body = ErrorBody, description = "FORBIDDEN: not an owner; CSRF_FAILED"),
        (status = 409, body = ErrorBody, description = "CONFLICT: username taken")
    ))]
pub fn agents_create() {}

/// Renames an agent and/or changes its role (owner, CSRF).
#[utoipa::path(patch, path = "/api/agents/{id}", tag = "agents", request_body = AgentUpdateBodyDoc,
    params(("id" = i64, Path, description = "Agent id")),
    responses(
        (status = 200, body = AgentOneDoc),
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
        (status = 200, body = AgentOneDoc),
        (status = 403, body = ErrorBody, description = "FORBIDDEN: not an owner"),
        (status = 404, body = ErrorBody, description = "NOT_FOUND"),
        (status = 409, body = ErrorBody, description = "CONFLICT: the last enabled owner")
    ))]
pub fn agents_disable() {}

/// Enables an agent again (owner, CSRF).
#[utoipa::path(post, path = "/api/agents/{id}/enable", tag = "agents",
    params(("id" = i64, Path, description = "Agent id")),
    responses(
        (status = 200, body = AgentOneDoc),
        (status = 403, body = ErrorBody, description = "FORBIDDEN: not an owner"),
        (status = 404, body = ErrorBody, description = "NOT_FOUND")
    ))]
pub fn agents_enable() {}

/// `POST /api/agents/{id}/telegram-link`.
#[derive(Serialize, ToSchema)]
pub struct TelegramLinkDoc {
    /// `true`.
    pub success: bool,
    /// The one-time code (12 letters and digits): send `/link CODE` to the bot.
    pub code: String,
    /// `https://t.me/<bot>?start=CODE`: opens the bot's private chat with the code.
    pub url: String,
    /// Minutes the code lives (10).
    pub expires_in_minutes: i64,
}

/// A one-time code that links a Telegram account to an agent (an owner for
/// any agent; any agent for itself: `{id}` = `me` or its own id; CSRF).
#[utoipa::path(post, path = "/api/agents/{id}/telegram-link", tag = "agents",
    params(("id" = String, Path, description = "Agent id, or `me`")),
    responses(
        (status = 200, body = TelegramLinkDoc),
        (status = 401, body = ErrorBody, description = "UNAUTHORIZED"),
        (status = 403, body = ErrorBody, description = "FORBIDDEN: another agent, not an owner"),
        (status = 404, body = ErrorBody, description = "NOT_FOUND"),
        (status = 409, body = ErrorBody, description = "CONFLICT: Telegram not configured, or the agent is disabled"),
        (status = 502, body = ErrorBody, description = "BAD_GATEWAY: the bot's username is unknown")
    ))]
pub fn agents_telegram_link() {}

/// The caller's own agent (any agent).
#[utoipa::path(get, path = "/api/agents/me", tag = "agents", responses(
    (status = 200, body = AgentOneDoc),
    (status = 401, body = ErrorBody, description = "UNAUTHORIZED")
))]
pub fn agents_me() {}

/// Changes the caller's own shown name and/or password (any agent, CSRF).
#[utoipa::path(patch, path = "/api/agents/me", tag = "agents", request_body = AgentOwnBodyDoc,
    responses(
        (status = 200, body = AgentOneDoc),
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
#[utoipa::path(post, path = "/admin/invite/{token}", tag = "agents", request_body = InviteBodyDoc,
    params(("token" = String, Path, description = "Invite token (64 hex digits)")),
    responses(
        (status = 200, body = InviteDoc),
        (status = 400, body = ErrorBody, description = "VALIDATION_ERROR"),
        (status = 404, body = ErrorBody, description = "NOT_FOUND: unknown, used or expired"),
        (status = 429, body = ErrorBody, description = "RATE_LIMITED")
    ))]
pub fn invite_accept() {}
