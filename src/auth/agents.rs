//! The support team (issue 22 item 1): agents with their own logins, the
//! bootstrap owner from `ADMIN_USERNAME` / `ADMIN_PASSWORD`, invites, and
//! the rules every way in (HTTP API, CLI) shares:
//!
//! - a login name is 1..=32 of `a-z 0-9 . _ - @`, stored in lower case
//!   (unique without regard to case); a shown name 1..=64 characters, no
//!   control characters; a password 12..=256 characters ([`password`]);
//! - the last enabled owner can be neither demoted nor disabled;
//! - an invite is 32 random bytes (hex), stored as SHA-256, valid
//!   [`INVITE_TTL_HOURS`], single use;
//! - disabling an agent deletes its sessions and pending codes (the caller
//!   disconnects the sockets of the returned sessions).
//!
//! Transport-free: the HTTP handlers (`http/agents.rs`) and the CLI call
//! in here.

use chrono::TimeDelta;

use super::{Auth, password, random_token, sha256};
use crate::{
    domain::{Agent, AgentId, AgentRole},
    store::{
        self, StoreError,
        agents::{AgentWrite, NewAgent},
    },
};

/// How long an invite lives.
pub const INVITE_TTL_HOURS: i64 = 24;
/// Most characters of a login name.
pub const LOGIN_MAX_CHARS: usize = 32;
/// Most characters of a shown name.
pub const NAME_MAX_CHARS: usize = 64;

/// How an agent operation fails.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// A value breaks a rule (400 `VALIDATION_ERROR`); nothing changed.
    #[error("{0}")]
    Invalid(String),
    /// The login name is taken (409 `CONFLICT`).
    #[error("an agent with this username exists")]
    LoginTaken,
    /// It would leave no enabled owner (409 `CONFLICT`).
    #[error("the last enabled owner cannot be demoted or disabled")]
    LastOwner,
    /// No such agent (404 `NOT_FOUND`).
    #[error("no such agent")]
    NotFound,
    /// The current password given for a change is wrong (400 `VALIDATION_ERROR`).
    #[error("the current password is wrong")]
    WrongPassword,
    /// The invite is unknown, used or expired (404 `NOT_FOUND`).
    #[error("this invite is unknown, used or expired")]
    InviteDead,
    /// The password could not be hashed (no randomness; 500).
    #[error("the password could not be hashed")]
    Hash,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Result alias for agent operations.
pub type AgentResult<T> = Result<T, AgentError>;

/// What `POST /api/agents` (or `sohbet agent add`) asks for.
#[derive(Clone, Debug)]
pub struct AgentRequest {
    /// Login name (any case; stored in lower case).
    pub username: String,
    /// Shown name.
    pub display_name: String,
    /// Role.
    pub role: AgentRole,
    /// Its password; `None`: an invite is made instead.
    pub password: Option<String>,
}

/// A new agent and, when it got no password, its one-time invite token
/// (shown once, never stored).
#[derive(Clone, Debug)]
pub struct Created {
    /// The agent.
    pub agent: Agent,
    /// The invite token (64 hex digits), when no password was given.
    pub invite_token: Option<String>,
}

/// What an agent changes of its own account (`PATCH /api/agents/me`).
#[derive(Clone, Debug, Default)]
pub struct OwnChange {
    /// New shown name.
    pub display_name: Option<String>,
    /// The current password (required with `new_password`).
    pub current_password: Option<String>,
    /// New password.
    pub new_password: Option<String>,
}

/// A login name in its stored form, or why not.
///
/// # Errors
/// [`AgentError::Invalid`].
pub fn parse_login(raw: &str) -> AgentResult<String> {
    let login = raw.trim().to_lowercase();
    let ok = (1..=LOGIN_MAX_CHARS).contains(&login.chars().count())
        && login
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-@".contains(c));
    if ok {
        Ok(login)
    } else {
        Err(AgentError::Invalid(format!(
            "username must be 1 to {LOGIN_MAX_CHARS} characters: letters a-z, digits, '.', '_', '-' or '@'"
        )))
    }
}

/// A shown name, trimmed, or why not.
///
/// # Errors
/// [`AgentError::Invalid`].
pub fn parse_display_name(raw: &str) -> AgentResult<String> {
    let name = raw.trim();
    if (1..=NAME_MAX_CHARS).contains(&name.chars().count()) && !name.chars().any(char::is_control) {
        Ok(name.to_owned())
    } else {
        Err(AgentError::Invalid(format!(
            "display_name must be 1 to {NAME_MAX_CHARS} characters, without control characters"
        )))
    }
}

fn check_password(p: &str) -> AgentResult<()> {
    password::check_rules(p).map_err(AgentError::Invalid)
}

async fn hash(p: &str) -> AgentResult<String> {
    password::hash(p).await.ok_or(AgentError::Hash)
}

fn stored(w: AgentWrite) -> AgentResult<Agent> {
    match w {
        AgentWrite::Stored(a) => Ok(a),
        AgentWrite::Missing => Err(AgentError::NotFound),
        AgentWrite::LoginTaken => Err(AgentError::LoginTaken),
        AgentWrite::LastOwner => Err(AgentError::LastOwner),
    }
}

fn invite_hash(token: &str) -> String {
    hex::encode(sha256(token.trim().as_bytes()))
}

impl Auth {
    /// Creates the bootstrap owner (`ADMIN_USERNAME`, lower case) unless an
    /// agent of that login exists, and gives it the sessions and codes of
    /// before agents ([`store::agents::bootstrap_owner`]). Its password is
    /// `ADMIN_PASSWORD` until it sets one. Called at every start.
    ///
    /// # Errors
    /// Database errors.
    #[tracing::instrument(skip_all)]
    pub async fn bootstrap_owner(&self) -> Result<AgentId, StoreError> {
        store::agents::bootstrap_owner(&self.inner.db, &self.inner.username, store::now()).await
    }

    /// Every agent (no hashes, no invites).
    ///
    /// # Errors
    /// Database errors.
    pub async fn agents(&self) -> AgentResult<Vec<Agent>> {
        Ok(store::agents::list(&self.inner.db).await?)
    }

    /// One agent.
    ///
    /// # Errors
    /// [`AgentError::NotFound`], database errors.
    pub async fn agent(&self, id: AgentId) -> AgentResult<Agent> {
        store::agents::get(&self.inner.db, id)
            .await?
            .ok_or(AgentError::NotFound)
    }

    /// The agent of login name `username` (any case).
    ///
    /// # Errors
    /// [`AgentError::NotFound`], database errors.
    pub async fn agent_by_login(&self, username: &str) -> AgentResult<Agent> {
        let login = username.trim().to_lowercase();
        let cred = store::agents::credentials(&self.inner.db, &login)
            .await?
            .ok_or(AgentError::NotFound)?;
        self.agent(cred.id).await
    }

    /// Adds an agent: with its password, or with an invite valid
    /// [`INVITE_TTL_HOURS`] when none is given.
    ///
    /// # Errors
    /// [`AgentError::Invalid`], [`AgentError::LoginTaken`], database errors.
    #[tracing::instrument(skip_all)]
    pub async fn add_agent(&self, req: AgentRequest) -> AgentResult<Created> {
        let login = parse_login(&req.username)?;
        let display_name = parse_display_name(&req.display_name)?;
        if let Some(p) = &req.password {
            check_password(p)?;
        }
        let password_hash = match &req.password {
            Some(p) => Some(hash(p).await?),
            None => None,
        };
        let now = store::now();
        let token = req.password.is_none().then(random_token);
        let invite = token
            .as_deref()
            .map(|t| (invite_hash(t), now + TimeDelta::hours(INVITE_TTL_HOURS)));
        let new = NewAgent {
            login,
            display_name,
            role: req.role,
            password_hash,
            invite,
        };
        let agent = stored(store::agents::insert(&self.inner.db, &new, now).await?)?;
        tracing::info!(agent = %agent.id, role = %agent.role, "agent added");
        Ok(Created {
            agent,
            invite_token: token,
        })
    }

    /// Renames and/or changes the role of agent `id`.
    ///
    /// # Errors
    /// [`AgentError::Invalid`] (nothing to change, a bad name),
    /// [`AgentError::NotFound`], [`AgentError::LastOwner`], database errors.
    #[tracing::instrument(skip(self, display_name))]
    pub async fn update_agent(
        &self,
        id: AgentId,
        display_name: Option<&str>,
        role: Option<AgentRole>,
    ) -> AgentResult<Agent> {
        if display_name.is_none() && role.is_none() {
            return Err(AgentError::Invalid(
                "nothing to change: give display_name and/or role".into(),
            ));
        }
        let name = display_name.map(parse_display_name).transpose()?;
        stored(store::agents::update(&self.inner.db, id, name.as_deref(), role).await?)
    }

    /// Disables agent `id` and ends its sessions and codes; returns it and
    /// the token hashes of the ended sessions.
    ///
    /// # Errors
    /// [`AgentError::NotFound`], [`AgentError::LastOwner`], database errors.
    #[tracing::instrument(skip(self))]
    pub async fn disable_agent(&self, id: AgentId) -> AgentResult<(Agent, Vec<String>)> {
        let (w, ended) = store::agents::disable(&self.inner.db, id, store::now()).await?;
        let agent = stored(w)?;
        tracing::info!(agent = %id, sessions = ended.len(), "agent disabled");
        Ok((agent, ended))
    }

    /// Enables agent `id` again.
    ///
    /// # Errors
    /// [`AgentError::NotFound`], database errors.
    #[tracing::instrument(skip(self))]
    pub async fn enable_agent(&self, id: AgentId) -> AgentResult<Agent> {
        stored(store::agents::enable(&self.inner.db, id).await?)
    }

    /// Sets agent `id`'s password (the CLI's `reset-password`); any invite
    /// dies.
    ///
    /// # Errors
    /// [`AgentError::Invalid`], [`AgentError::NotFound`], database errors.
    #[tracing::instrument(skip(self, new_password))]
    pub async fn set_agent_password(&self, id: AgentId, new_password: &str) -> AgentResult<()> {
        check_password(new_password)?;
        let h = hash(new_password).await?;
        if store::agents::set_password(&self.inner.db, id, &h).await? {
            Ok(())
        } else {
            Err(AgentError::NotFound)
        }
    }

    /// Agent `id` changes its own shown name and/or password (a new
    /// password needs the current one: the stored hash, or
    /// `ADMIN_PASSWORD` for the bootstrap owner that never set one). All
    /// checks pass before anything is written.
    ///
    /// # Errors
    /// [`AgentError::Invalid`], [`AgentError::WrongPassword`],
    /// [`AgentError::NotFound`], database errors.
    #[tracing::instrument(skip_all, fields(agent = %id))]
    pub async fn change_own(&self, id: AgentId, change: OwnChange) -> AgentResult<Agent> {
        if change.display_name.is_none() && change.new_password.is_none() {
            return Err(AgentError::Invalid(
                "nothing to change: give display_name and/or new_password".into(),
            ));
        }
        let name = change
            .display_name
            .as_deref()
            .map(parse_display_name)
            .transpose()?;
        let new_hash = match &change.new_password {
            Some(new) => {
                check_password(new)?;
                let Some(current) = change.current_password.as_deref() else {
                    return Err(AgentError::Invalid(
                        "current_password is required to set a new password".into(),
                    ));
                };
                let cred = store::agents::credentials_by_id(&self.inner.db, id)
                    .await?
                    .ok_or(AgentError::NotFound)?;
                if !self.password_matches(&cred, current).await {
                    return Err(AgentError::WrongPassword);
                }
                Some(hash(new).await?)
            }
            None => None,
        };
        if let Some(h) = &new_hash
            && !store::agents::set_password(&self.inner.db, id, h).await?
        {
            return Err(AgentError::NotFound);
        }
        if let Some(n) = &name {
            stored(store::agents::update(&self.inner.db, id, Some(n), None).await?)?;
        }
        if new_hash.is_some() {
            tracing::info!(agent = %id, "agent changed its password");
        }
        self.agent(id).await
    }

    /// The agent a live invite token is for: `(login, display_name)`.
    ///
    /// # Errors
    /// [`AgentError::InviteDead`], database errors.
    pub async fn invite(&self, token: &str) -> AgentResult<(String, String)> {
        store::agents::invite(&self.inner.db, &invite_hash(token), store::now())
            .await?
            .map(|(_, login, name)| (login, name))
            .ok_or(AgentError::InviteDead)
    }

    /// Uses an invite: sets the agent's password; the invite dies.
    ///
    /// # Errors
    /// [`AgentError::Invalid`], [`AgentError::InviteDead`], database errors.
    #[tracing::instrument(skip_all)]
    pub async fn accept_invite(&self, token: &str, new_password: &str) -> AgentResult<AgentId> {
        check_password(new_password)?;
        let h = hash(new_password).await?;
        let id = store::agents::use_invite(&self.inner.db, &invite_hash(token), &h, store::now())
            .await?
            .ok_or(AgentError::InviteDead)?;
        tracing::info!(agent = %id, "invite used: agent set its password");
        Ok(id)
    }
}
