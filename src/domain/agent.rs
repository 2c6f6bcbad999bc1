//! Agents of the support team (issue 22 item 1): the stored [`Agent`] (as
//! the owner's API shows it, never with a hash) and the [`AgentRef`] that
//! an admin actor (`auth::Actor::Admin`) carries.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{AgentId, AgentRole, opt_rfc3339, rfc3339};

/// One agent as `GET /api/agents` shows it: no password hash, no invite.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Agent {
    /// Row id.
    pub id: AgentId,
    /// Login name, lower case, unique.
    #[sqlx(rename = "login")]
    pub username: String,
    /// The name shown in the panel.
    pub display_name: String,
    /// `owner` or `agent`.
    pub role: AgentRole,
    /// The linked Telegram user (its private chat gets the login codes).
    pub telegram_user_id: Option<i64>,
    /// `true` while an invite is waiting and no password was ever set.
    pub invite_pending: bool,
    /// When it was disabled (RFC 3339 UTC); `null` while enabled.
    #[serde(serialize_with = "opt_rfc3339")]
    pub disabled_at: Option<DateTime<Utc>>,
    /// Created at (RFC 3339 UTC).
    #[serde(serialize_with = "rfc3339")]
    pub created_at: DateTime<Utc>,
}

/// The agent behind an admin actor: who acts in the panel, over the API or
/// on a socket. `id` is `None` for a server-side admin action that no
/// agent made (Telegram for now: [`AgentRef::support`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AgentRef {
    /// The agent's row id; `None` for the "Support" stand-in.
    pub id: Option<AgentId>,
    /// Its role.
    pub role: AgentRole,
    /// Its shown name.
    pub display_name: String,
}

impl AgentRef {
    /// The stand-in of an admin action no agent made (Telegram replies and
    /// buttons until Telegram members are mapped to agents): named
    /// "Support", acting with an owner's reach, no id.
    pub fn support() -> AgentRef {
        AgentRef {
            id: None,
            role: AgentRole::Owner,
            display_name: "Support".to_owned(),
        }
    }

    /// May this agent manage the team?
    pub fn is_owner(&self) -> bool {
        self.role == AgentRole::Owner
    }
}
