//! The support team's API (issue 22 item 1). Owner only (an agent gets 403
//! `FORBIDDEN`, no session 401): `GET /api/agents`, `POST /api/agents`,
//! `PATCH /api/agents/{id}`, `POST /api/agents/{id}/disable` and
//! `/enable`. Any agent: `GET /api/agents/me` and `PATCH /api/agents/me`
//! (its own shown name and password). Anyone holding an invite:
//! `GET /admin/invite/{token}` (the page, `pages::invite`) and
//! `POST /admin/invite/{token}` (sets the password). Thin handlers over
//! [`crate::auth::agents`]; mutations need `X-CSRFToken` like every other.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::HeaderMap,
    routing::{get, post},
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::extract::{AppJson, Caller};
use crate::{
    AppState,
    auth::agents::{AgentRequest, OwnChange},
    domain::{Agent, AgentId, AgentRole, AuditAction},
    http::error::{AppError, AppResult},
};

/// The routes of the team.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/agents", get(list).post(create))
        .route("/api/agents/me", get(me).patch(change_me))
        .route("/api/agents/{id}", axum::routing::patch(update))
        .route("/api/agents/{id}/disable", post(disable))
        .route("/api/agents/{id}/enable", post(enable))
        .route("/api/agents/{id}/telegram-link", post(telegram_link))
        .route("/admin/invite/{token}", post(accept_invite))
}

/// `{success: true, agents}` of `GET /api/agents`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AgentList {
    /// Always `true`.
    pub success: bool,
    /// Owners first, then by username.
    pub agents: Vec<Agent>,
}

/// `{success: true, agent}`: `PATCH /api/agents/{id}`, `…/disable`,
/// `…/enable`, `GET` and `PATCH /api/agents/me`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AgentOne {
    /// Always `true`.
    pub success: bool,
    /// The agent as stored now.
    pub agent: Agent,
}

impl AgentOne {
    fn of(agent: Agent) -> Json<AgentOne> {
        Json(AgentOne {
            success: true,
            agent,
        })
    }
}

/// `{success: true, agent, invite_url?, invite_expires_in?}` of
/// `POST /api/agents`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AgentCreated {
    /// Always `true`.
    pub success: bool,
    /// The new agent.
    pub agent: Agent,
    /// Without a password: the one-time invite page (shown once, single use).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invite_url: Option<String>,
    /// Without a password: seconds the invite lives (86400).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invite_expires_in: Option<i64>,
}

/// `{success: true, code, url, expires_in_minutes}` of
/// `POST /api/agents/{id}/telegram-link`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TelegramLinkCode {
    /// Always `true`.
    pub success: bool,
    /// The one-time code (12 letters and digits): send `/link CODE` to the bot.
    pub code: String,
    /// `https://t.me/<bot>?start=CODE`: opens the bot's private chat with the code.
    pub url: String,
    /// Minutes the code lives (10).
    pub expires_in_minutes: i64,
}

/// `{success: true, username}` of `POST /admin/invite/{token}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InviteAccepted {
    /// Always `true`.
    pub success: bool,
    /// The agent's login name (it signs in at `/admin/login`).
    pub username: String,
}

/// An id from the path; anything but a whole number names no agent (404).
fn id_of(raw: &str) -> AppResult<AgentId> {
    raw.parse().map_err(|_| AppError::NotFound("No such agent"))
}

/// `GET /api/agents` (owner) → `{success, agents: [Agent…]}` (owners
/// first, then by username; never a hash or an invite).
pub async fn list(State(state): State<AppState>, caller: Caller) -> AppResult<Json<AgentList>> {
    caller.require_owner()?;
    let agents = state.auth.agents().await?;
    Ok(Json(AgentList {
        success: true,
        agents,
    }))
}

/// Body of `POST /api/agents`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AgentCreateBody)]
pub struct CreateBody {
    /// 1..=32 of `a-z 0-9 . _ - @` (any case; stored in lower case).
    pub username: String,
    /// 1..=64 characters after trimming.
    pub display_name: String,
    /// `owner` or `agent`.
    pub role: AgentRole,
    /// 12..=256 characters; without it, an invite URL is made.
    pub password: Option<String>,
}

/// `POST /api/agents` (owner, CSRF) `{username, display_name, role,
/// password?}` → `{success, agent}`, plus `invite_url` (and
/// `invite_expires_in: 86400`, seconds) when no password was given: shown
/// this once, single use. 400 `VALIDATION_ERROR`, 409 `CONFLICT` (username
/// taken); nothing stored then.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    AppJson(body): AppJson<CreateBody>,
) -> AppResult<Json<AgentCreated>> {
    caller.require_owner()?;
    let created = state
        .auth
        .add_agent(AgentRequest {
            username: body.username,
            display_name: body.display_name,
            role: body.role,
            password: body.password,
        })
        .await?;
    let invite = created.invite_token.map(|token| {
        (
            format!("{}/admin/invite/{token}", origin(&state, &headers)),
            crate::auth::agents::INVITE_TTL_HOURS * 3600,
        )
    });
    Ok(Json(AgentCreated {
        success: true,
        agent: created.agent,
        invite_expires_in: invite.as_ref().map(|i| i.1),
        invite_url: invite.map(|i| i.0),
    }))
}

/// `scheme://host` of this request (`https` in production; the `Host`
/// header, else the listen address): the base of an invite URL, which only
/// the owner who made it sees.
fn origin(state: &AppState, headers: &HeaderMap) -> String {
    let scheme = if state.cookies.secure {
        "https"
    } else {
        "http"
    };
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .map_or_else(
            || format!("{}:{}", state.config.host, state.config.port),
            str::to_owned,
        );
    format!("{scheme}://{host}")
}

/// Body of `PATCH /api/agents/{id}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AgentUpdateBody)]
pub struct UpdateBody {
    /// New shown name.
    pub display_name: Option<String>,
    /// New role.
    pub role: Option<AgentRole>,
}

/// `PATCH /api/agents/{id}` (owner, CSRF) `{display_name?, role?}` →
/// `{success, agent}`; 400 (nothing to change, bad name), 404, 409
/// `CONFLICT` (would demote the last enabled owner).
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    AppJson(body): AppJson<UpdateBody>,
) -> AppResult<Json<AgentOne>> {
    caller.require_owner()?;
    let id = id_of(&id)?;
    let agent = state
        .auth
        .update_agent(id, body.display_name.as_deref(), body.role)
        .await?;
    Ok(AgentOne::of(agent))
}

/// `POST /api/agents/{id}/disable` (owner, CSRF) → `{success, agent}`: its
/// sessions and pending codes are deleted and its sockets disconnected
/// (here at once, on other instances by their next sweep, within 3 s);
/// 404, 409 `CONFLICT` (the last enabled owner).
pub async fn disable(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> AppResult<Json<AgentOne>> {
    let session = caller.require_owner()?;
    let (agent, ended) = state.auth.disable_agent(id_of(&id)?).await?;
    for hash in &ended {
        state.admin_sockets.revoke(hash);
    }
    let detail = json!({"sessions_ended": ended.len()});
    super::data::audit_quietly(&state, session, AuditAction::AgentDisable, &id, &detail).await;
    Ok(AgentOne::of(agent))
}

/// `POST /api/agents/{id}/enable` (owner, CSRF) → `{success, agent}`; 404.
pub async fn enable(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> AppResult<Json<AgentOne>> {
    let session = caller.require_owner()?;
    let agent = state.auth.enable_agent(id_of(&id)?).await?;
    super::data::audit_quietly(&state, session, AuditAction::AgentEnable, &id, &json!({})).await;
    Ok(AgentOne::of(agent))
}

/// `POST /api/agents/{id}/telegram-link` (an owner for any agent; any
/// agent for itself, `{id}` = `me` or its own id; CSRF) → `{success, code,
/// url, expires_in_minutes}`: a one-time code (10 minutes, single use; a new
/// one replaces the agent's former) to send to the bot as `/link CODE`, and
/// `url` = `https://t.me/<bot>?start=CODE` (the same from a private chat).
/// 403 (another agent, not an owner), 404, 409 `CONFLICT` (Telegram not
/// configured, or the agent is disabled), 502 `BAD_GATEWAY` (Telegram does
/// not tell the bot's username).
pub async fn telegram_link(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> AppResult<Json<TelegramLinkCode>> {
    let session = caller.require_admin()?;
    let id = if id == "me" {
        session.agent_id
    } else {
        let id = id_of(&id)?;
        if id != session.agent_id {
            caller.require_owner()?;
        }
        id
    };
    let agent = state.auth.agent(id).await?;
    if agent.disabled_at.is_some() {
        return Err(AppError::Conflict("This agent is disabled".into()));
    }
    let Some(tg) = &state.telegram else {
        return Err(AppError::Conflict("Telegram is not configured".into()));
    };
    let Some(bot) = tg.username().await else {
        return Err(AppError::BadGateway(
            "Telegram did not tell the bot's username; try again".into(),
        ));
    };
    let code = state.auth.telegram_link_code(id).await?;
    let url = format!("https://t.me/{bot}?start={code}");
    Ok(Json(TelegramLinkCode {
        success: true,
        code,
        url,
        expires_in_minutes: crate::auth::telegram_link::CODE_TTL_MINUTES,
    }))
}

/// `GET /api/agents/me` (any agent) → `{success, agent}`: its own row.
pub async fn me(State(state): State<AppState>, caller: Caller) -> AppResult<Json<AgentOne>> {
    let session = caller.require_admin()?;
    let agent = state.auth.agent(session.agent_id).await?;
    Ok(AgentOne::of(agent))
}

/// Body of `PATCH /api/agents/me`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AgentOwnBody)]
pub struct OwnBody {
    /// New shown name.
    pub display_name: Option<String>,
    /// The current password (required with `new_password`).
    pub current_password: Option<String>,
    /// New password, 12..=256 characters.
    pub new_password: Option<String>,
}

/// `PATCH /api/agents/me` (any agent, CSRF) `{display_name?,
/// current_password?, new_password?}` → `{success, agent}`; 400
/// `VALIDATION_ERROR` (nothing to change, bad name, short password, missing
/// or wrong current password): nothing changed then. The bootstrap owner's
/// first change of password retires `ADMIN_PASSWORD`.
pub async fn change_me(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<OwnBody>,
) -> AppResult<Json<AgentOne>> {
    let session = caller.require_admin()?;
    let agent = state
        .auth
        .change_own(
            session.agent_id,
            OwnChange {
                display_name: body.display_name,
                current_password: body.current_password,
                new_password: body.new_password,
            },
        )
        .await?;
    Ok(AgentOne::of(agent))
}

/// Body of `POST /admin/invite/{token}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct InviteBody {
    /// The new password, 12..=256 characters.
    pub password: String,
}

/// `POST /admin/invite/{token}` (CSRF) `{password}` → `{success, username}`:
/// the invited agent's password is set and the invite dies; it then logs
/// in at `/admin/login` (password + code). 400 `VALIDATION_ERROR` (the
/// invite stays usable), 404 `NOT_FOUND` (unknown, used or expired
/// invite, or a disabled agent). Counted by the login back-off of the
/// caller's address (the token is a secret).
pub async fn accept_invite(
    State(state): State<AppState>,
    caller: Caller,
    Path(token): Path<String>,
    AppJson(body): AppJson<InviteBody>,
) -> AppResult<Json<InviteAccepted>> {
    crate::auth::password::check_rules(&body.password).map_err(AppError::Validation)?;
    state.limits.login_attempt(caller.ip)?;
    let (username, _) = state.auth.invite(&token).await?;
    state.auth.accept_invite(&token, &body.password).await?;
    state.limits.login_succeeded(caller.ip);
    Ok(Json(InviteAccepted {
        success: true,
        username,
    }))
}
