//! Admin login, OTP, sessions, CSRF and visitor identity: the secrets of the
//! server and how they are checked. Transport-free: the HTTP and Socket.IO
//! adapters read cookies and headers and call in here.
//!
//! - Cookies are signed (HMAC-SHA256, the `cookie` crate via `axum-extra`).
//! - CSRF token: `hex(HMAC-SHA256(secret, "csrf:" + visitor id))`, one per
//!   browser, checked in constant time.
//! - OTP: 6 digits from a CSPRNG (`rand::rng()`, ChaCha seeded by the OS),
//!   stored as an HMAC, 5 minutes, single use, dead after 5 tries (each
//!   try taken atomically in the database before comparing, issue 8 item 7;
//!   issue #2 § Security).
//! - Sessions: 32 random bytes, stored as SHA-256, 30 minutes idle and 12
//!   hours absolute (`SESSION_IDLE_SECS`, `SESSION_ABSOLUTE_SECS`), deleted
//!   at logout; each names its agent, and a disabled agent's session is
//!   dead (issue 22 item 1).
//! - Agents ([`agents`]): each logs in with its own password (Argon2id,
//!   [`password`]); the bootstrap owner `ADMIN_USERNAME` with
//!   `ADMIN_PASSWORD` until it sets one.

pub mod acting;
pub mod agents;
pub mod password;
pub mod telegram_link;
/// Who acts: the core's rule ([`crate::chat::actor`]), named here too
/// since the adapters build it from what this module checked.
pub use crate::chat::Actor;
pub mod cookies;
mod error;
pub use error::{AuthError, AuthResult};
pub mod otp_delivery;
pub mod visitor_token;

use std::sync::Arc;

use chrono::TimeDelta;
use hmac::{Hmac, KeyInit, Mac};
use rand::RngExt;
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

use crate::{
    config::Config,
    domain::{AgentId, AgentRef},
    store::{self, Db, agents::Credentials, auth::OtpRow},
};

type HmacSha256 = Hmac<Sha256>;

/// A logged-in agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminSession {
    /// SHA-256 of the session token (hex), the key of its row.
    pub token_hash: String,
    /// The agent's login name.
    pub username: String,
    /// The agent's id.
    pub agent_id: AgentId,
    /// The agent as an actor carries it.
    pub agent: AgentRef,
}

/// An agent that passed the password step ([`Auth::check_password`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginAgent {
    /// Its id.
    pub id: AgentId,
    /// Its login name.
    pub login: String,
    /// Its private Telegram chat for the code, if linked.
    pub telegram_user_id: Option<i64>,
}

/// The outcome of [`Auth::verify_otp`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OtpCheck {
    /// Right code: the login of this agent (id) completes.
    Accepted(AgentId),
    /// Wrong code: compared, and one of the code's tries is spent.
    Wrong,
    /// No live code for this login (unknown, expired, used or out of
    /// tries): nothing was compared.
    Dead,
}

/// Holder of the secrets; cheap to clone.
#[derive(Clone)]
pub struct Auth {
    inner: Arc<Inner>,
}

struct Inner {
    secret: Vec<u8>,
    cookie_key: axum_extra::extract::cookie::Key,
    /// The bootstrap owner's login (`ADMIN_USERNAME`, lower case).
    username: String,
    /// SHA-256 of `ADMIN_PASSWORD`: the bootstrap owner's password until it sets one.
    password_digest: [u8; 32],
    otp_ttl: TimeDelta,
    otp_max_attempts: i32,
    session_idle: TimeDelta,
    session_absolute: TimeDelta,
    /// `VISITOR_TOKEN_EPOCH` (see [`visitor_token`]).
    token_epoch: u32,
    db: Db,
}

fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

impl Auth {
    /// Derives the keys from `SECRET_KEY` and keeps the admin credentials as digests.
    /// A migrated database for `config` and its `Auth` (unit tests of
    /// other modules).
    #[cfg(test)]
    pub(crate) async fn open_for_tests(config: &Config) -> Auth {
        let db = Db::connect(&config.database).await.expect("database");
        db.migrate().await.expect("migrations");
        Auth::new(config, db)
    }

    /// The login, OTP and session service over `db`, keyed by the
    /// configuration's `SECRET_KEY` (cookies signed with a key derived
    /// from it) and its session and OTP lifetimes.
    pub fn new(config: &Config, db: Db) -> Auth {
        let mut material = b"sohbet-cookie-key:".to_vec();
        material.extend_from_slice(&config.secret_key);
        let cookie_key = axum_extra::extract::cookie::Key::from(&Sha512::digest(&material));
        let ttl = |d: std::time::Duration| TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX);
        Auth {
            inner: Arc::new(Inner {
                secret: config.secret_key.clone(),
                cookie_key,
                username: config.admin_username.trim().to_lowercase(),
                password_digest: sha256(config.admin_password.as_bytes()),
                otp_ttl: ttl(config.otp_ttl),
                otp_max_attempts: config.otp_max_attempts,
                session_idle: ttl(config.session_idle),
                session_absolute: ttl(config.session_absolute),
                token_epoch: config.embed.token_epoch,
                db,
            }),
        }
    }

    /// The key that signs cookies.
    pub fn cookie_key(&self) -> &axum_extra::extract::cookie::Key {
        &self.inner.cookie_key
    }

    pub(crate) fn mac(&self, parts: &[&[u8]]) -> HmacSha256 {
        // HMAC accepts keys of any length; this cannot fail.
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.inner.secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        for p in parts {
            mac.update(p);
        }
        mac
    }

    /// The CSRF token of a browser (hex, 64 characters).
    pub fn csrf_token(&self, visitor_id: &str) -> String {
        hex::encode(
            self.mac(&[b"csrf:", visitor_id.as_bytes()])
                .finalize()
                .into_bytes(),
        )
    }

    /// A secret derived from `SECRET_KEY` for `purpose` (hex, 64 characters),
    /// e.g. the Telegram webhook's `secret_token`.
    pub fn derive(&self, purpose: &str) -> String {
        hex::encode(
            self.mac(&[b"derive:", purpose.as_bytes()])
                .finalize()
                .into_bytes(),
        )
    }

    /// Constant-time check of a CSRF token against a browser's visitor id.
    pub fn csrf_ok(&self, visitor_id: &str, token: &str) -> bool {
        match hex::decode(token.trim()) {
            Ok(raw) => self
                .mac(&[b"csrf:", visitor_id.as_bytes()])
                .verify_slice(&raw)
                .is_ok(),
            Err(_) => false,
        }
    }

    /// The password step: the enabled agent whose login is `username` (any
    /// case) and whose password is `password`, else `None`. The password is
    /// checked against its Argon2id hash, or (the bootstrap owner that never
    /// set one) against `ADMIN_PASSWORD` as SHA-256 digests in constant
    /// time. An unknown login spends the time of one verification too.
    ///
    /// # Errors
    /// Database errors.
    #[tracing::instrument(skip_all)]
    pub async fn check_password(
        &self,
        username: &str,
        password: &str,
    ) -> AuthResult<Option<LoginAgent>> {
        let login = username.trim().to_lowercase();
        let Some(cred) = store::agents::credentials(&self.inner.db, &login).await? else {
            password::verify_nothing(password).await;
            return Ok(None);
        };
        if !self.password_matches(&cred, password).await || cred.disabled_at.is_some() {
            return Ok(None);
        }
        Ok(Some(LoginAgent {
            id: cred.id,
            login: cred.login,
            telegram_user_id: cred.telegram_user_id,
        }))
    }

    /// Does `password` open `cred`'s account?
    pub(crate) async fn password_matches(&self, cred: &Credentials, password: &str) -> bool {
        match &cred.password_hash {
            Some(h) => password::verify(password, h).await,
            None if cred.login == self.inner.username => {
                bool::from(sha256(password.as_bytes()).ct_eq(&self.inner.password_digest))
            }
            None => false,
        }
    }

    /// The bootstrap owner's login (`ADMIN_USERNAME`, lower case).
    pub fn admin_username(&self) -> &str {
        &self.inner.username
    }

    fn otp_hash(&self, login_id: &str, code: &str) -> Vec<u8> {
        self.mac(&[b"otp:", login_id.as_bytes(), b":", code.as_bytes()])
            .finalize()
            .into_bytes()
            .to_vec()
    }

    /// Starts `agent`'s login after the password step: stores a new code
    /// and returns `(login_id, code)`; the caller delivers the code and
    /// binds `login_id` to the browser.
    ///
    /// # Errors
    /// Database errors.
    #[tracing::instrument(skip_all)]
    pub async fn start_login(&self, agent: &LoginAgent) -> AuthResult<(String, String)> {
        let code = format!("{:06}", rand::rng().random_range(0..1_000_000u32));
        let login_id = random_token();
        let now = store::now();
        let row = OtpRow {
            id: login_id.clone(),
            username: agent.login.clone(),
            agent_id: Some(agent.id),
            code_hash: hex::encode(self.otp_hash(&login_id, &code)),
            attempts: 0,
            expires_at: now + self.inner.otp_ttl,
        };
        store::auth::insert_otp(&self.inner.db, &row, now).await?;
        Ok((login_id, code))
    }

    /// Checks a code for the login `login_id`. The try is taken atomically
    /// in the database before comparing ([`store::auth::take_otp_attempt`]),
    /// so a code is compared at most `otp_max_attempts` times however many
    /// guesses race; a right code is consumed (single use).
    ///
    /// # Errors
    /// Database errors.
    #[tracing::instrument(skip_all)]
    pub async fn verify_otp(&self, login_id: &str, code: &str) -> AuthResult<OtpCheck> {
        let db = &self.inner.db;
        let taken =
            store::auth::take_otp_attempt(db, login_id, self.inner.otp_max_attempts, store::now())
                .await?;
        let Some(row) = taken else {
            // Unknown, expired, used or out of tries: nothing was compared.
            store::auth::consume_otp(db, login_id).await?;
            return Ok(OtpCheck::Dead);
        };
        let expected = hex::decode(&row.code_hash).unwrap_or_default();
        let given = self.otp_hash(login_id, code.trim());
        if !bool::from(given.ct_eq(&expected)) {
            return Ok(OtpCheck::Wrong);
        }
        if !store::auth::consume_otp(db, login_id).await? {
            // A concurrent right guess consumed it first.
            return Ok(OtpCheck::Dead);
        }
        match row.agent_id {
            Some(id) => Ok(OtpCheck::Accepted(id)),
            None => Ok(OtpCheck::Dead),
        }
    }

    /// The agent whose pending code `login_id` is, if the code exists
    /// (the per-agent budget of wrong codes is reserved before comparing).
    ///
    /// # Errors
    /// Database errors.
    pub async fn otp_agent(&self, login_id: &str) -> AuthResult<Option<AgentId>> {
        Ok(store::auth::otp_agent(&self.inner.db, login_id).await?)
    }

    /// Opens a new session of agent `agent_id`; returns its token (for the
    /// cookie) and the session, or `None` when the agent is gone or disabled.
    ///
    /// # Errors
    /// Database errors.
    #[tracing::instrument(skip_all)]
    pub async fn create_session(
        &self,
        agent_id: AgentId,
    ) -> AuthResult<Option<(String, AdminSession)>> {
        let Some(cred) = self.live_agent(agent_id).await? else {
            return Ok(None);
        };
        let token = random_token();
        let now = store::now();
        let hash = hex::encode(sha256(token.as_bytes()));
        store::auth::insert_session(
            &self.inner.db,
            &hash,
            agent_id,
            &cred.login,
            now,
            now + self.inner.session_absolute,
        )
        .await?;
        Ok(Some((token, session_of(hash, cred))))
    }

    async fn live_agent(&self, id: AgentId) -> AuthResult<Option<Credentials>> {
        Ok(store::agents::credentials_by_id(&self.inner.db, id)
            .await?
            .filter(|c| c.disabled_at.is_none()))
    }

    /// The live session of `token`, if any (and marks it used).
    ///
    /// # Errors
    /// Database errors.
    #[tracing::instrument(skip_all)]
    pub async fn session(&self, token: &str) -> AuthResult<Option<AdminSession>> {
        self.session_by_hash(&hex::encode(sha256(token.as_bytes())))
            .await
    }

    /// The live session whose token hashes to `token_hash`, if any (and
    /// marks it used): the re-check of an admin socket's session.
    ///
    /// # Errors
    /// Database errors.
    #[tracing::instrument(skip_all)]
    pub async fn session_by_hash(&self, token_hash: &str) -> AuthResult<Option<AdminSession>> {
        let now = store::now();
        let agent = store::auth::touch_session(
            &self.inner.db,
            token_hash,
            now,
            now - self.inner.session_idle,
        )
        .await?;
        let Some(agent_id) = agent else {
            return Ok(None);
        };
        Ok(self
            .live_agent(agent_id)
            .await?
            .map(|cred| session_of(token_hash.to_owned(), cred)))
    }

    /// Is the session of `token_hash` still live (neither ended, nor idle
    /// nor absolutely expired)? Does not mark it used.
    ///
    /// # Errors
    /// Database errors.
    #[tracing::instrument(skip_all)]
    pub async fn session_live(&self, token_hash: &str) -> AuthResult<bool> {
        let now = store::now();
        Ok(store::auth::session_live(
            &self.inner.db,
            token_hash,
            now,
            now - self.inner.session_idle,
        )
        .await?)
    }

    /// Ends a session at once.
    ///
    /// # Errors
    /// Database errors.
    pub async fn end_session(&self, session: &AdminSession) -> AuthResult<()> {
        Ok(store::auth::delete_session(&self.inner.db, &session.token_hash).await?)
    }
}

fn session_of(token_hash: String, cred: Credentials) -> AdminSession {
    AdminSession {
        token_hash,
        username: cred.login,
        agent_id: cred.id,
        agent: AgentRef {
            id: Some(cred.id),
            role: cred.role,
            display_name: cred.display_name,
        },
    }
}

/// 32 random bytes from the CSPRNG, hex.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill(&mut b[..]);
    hex::encode(b)
}

/// A new visitor id (UUID v4), which is also its thread id.
pub fn new_visitor_id() -> crate::domain::ThreadId {
    crate::domain::ThreadId::random()
}

/// Is `s` a visitor id this server could have issued (a hyphenated UUID)?
pub fn is_visitor_id(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::parse_str(s).is_ok()
}
