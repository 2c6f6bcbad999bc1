//! Admin login in two steps (`shared/DESIGN.md` § HTTP contract): password,
//! then the 6-digit code delivered out of band; and logout.

use axum::{Json, extract::State, response::IntoResponse};
use axum_extra::extract::cookie::SignedCookieJar;
use serde::{Deserialize, Serialize};

use super::extract::{AppJson, Caller};
use super::visitor::Success;
use crate::{
    AppState,
    auth::OtpCheck,
    http::error::{AppError, AppResult},
};

/// Body of `POST /admin/login`.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginBody {
    /// Admin user name.
    pub username: String,
    /// Admin password (never logged).
    pub password: String,
}

/// `POST /admin/login` → `{success, message: "OTP sent to Telegram", otp_sent: true}`
/// for any enabled agent (issue 22 item 1: the login name in any case, its
/// own password; the code goes to its linked Telegram chat, else where it
/// always went)
/// (`message` says "OTP written to the server log …" when Telegram is not
/// configured: [`crate::auth::otp_delivery::OtpDelivery::answer`])
/// and the `sohbet_login` cookie; 401 `INVALID_CREDENTIALS`; 429 while the
/// caller's address is in its back-off, or (right password only) while the
/// agent's own budget of wrong codes is spent.
///
/// A wrong password counts only against the caller's address, never the
/// account: the account cannot be locked by someone without the password
/// (issue 8 item 4).
pub async fn login(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<LoginBody>,
) -> AppResult<impl IntoResponse> {
    state.limits.login_attempt(caller.ip)?;
    let Some(agent) = state
        .auth
        .check_password(&body.username, &body.password)
        .await?
    else {
        tracing::warn!(ip = %caller.ip, "admin login refused: wrong username or password");
        return Err(AppError::InvalidCredentials);
    };
    state.limits.login_password_ok(caller.ip);
    state.limits.login_account_open(agent.id)?;
    let (login_id, code) = state.auth.start_login(&agent).await?;
    let ttl = state.config.otp_ttl.as_secs() as i64;
    state
        .otp
        .deliver(&code, (ttl as u64).div_ceil(60), &agent)
        .await?;
    let jar = SignedCookieJar::new(state.auth.cookie_key().clone()).add(state.cookies.build(
        state.cookies.login,
        login_id,
        Some(ttl),
    ));
    Ok((
        jar,
        Json(CodeSent {
            success: true,
            message: state.otp.answer(),
            otp_sent: true,
        }),
    ))
}

/// `{success: true, message, otp_sent: true}` of `POST /admin/login`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CodeSent {
    /// Always `true`.
    pub success: bool,
    /// `OTP sent to Telegram`, or `OTP written to the server log (Telegram
    /// is not configured)` ([`crate::auth::otp_delivery::OtpDelivery::answer`]).
    pub message: &'static str,
    /// Always `true`.
    pub otp_sent: bool,
}

/// `{success: true, message: "Login successful", session}` of
/// `POST /admin/verify-otp`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoggedIn {
    /// Always `true`.
    pub success: bool,
    /// `Login successful`.
    pub message: &'static str,
    /// A public session identifier (the token stays in the HttpOnly cookie).
    pub session: String,
}

/// Body of `POST /admin/verify-otp`.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct OtpBody {
    /// The 6-digit code.
    pub otp: String,
}

/// `POST /admin/verify-otp` → `{success, message: "Login successful", session}`
/// and a new admin session cookie (the old one, if any, is ended); 401
/// `INVALID_OTP` (also when the agent was disabled meanwhile); 429 while
/// the caller's address is in its back-off or the agent's budget of wrong
/// codes is spent.
///
/// Every failure counts against the caller's address. Only a wrong code of
/// a login that passed the password step (a live `sohbet_login` cookie)
/// spends the account's budget, and its slot is reserved before comparing,
/// so concurrent guesses cannot exceed it (issue 8 items 4 and 7).
pub async fn verify_otp(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<OtpBody>,
) -> AppResult<impl IntoResponse> {
    state.limits.login_attempt(caller.ip)?;
    let Some(login_id) = caller.login_id.as_deref() else {
        return Err(AppError::InvalidOtp);
    };
    let Some(agent) = state.auth.otp_agent(login_id).await? else {
        return Err(AppError::InvalidOtp);
    };
    let slot = state.limits.login_code_slot(agent)?;
    let agent_id = match state.auth.verify_otp(login_id, &body.otp).await? {
        OtpCheck::Accepted(id) => id,
        OtpCheck::Wrong => {
            slot.spend();
            return Err(AppError::InvalidOtp);
        }
        OtpCheck::Dead => return Err(AppError::InvalidOtp),
    };
    drop(slot);
    state.limits.login_succeeded(caller.ip);
    if let Some(old) = &caller.admin {
        state.auth.end_session(old).await?;
        state.admin_sockets.revoke(&old.token_hash);
    }
    let Some((token, session)) = state.auth.create_session(agent_id).await? else {
        return Err(AppError::InvalidOtp);
    };
    tracing::info!(username = %session.username, agent = %agent_id, "admin logged in");
    let jar = SignedCookieJar::new(state.auth.cookie_key().clone())
        .remove(state.cookies.removal(state.cookies.login))
        .add(state.cookies.build(state.cookies.admin, token, None));
    // `session` names the session without revealing its token (the cookie is HttpOnly).
    let session_id = &session.token_hash[..16];
    Ok((
        jar,
        Json(LoggedIn {
            success: true,
            message: "Login successful",
            session: session_id.to_owned(),
        }),
    ))
}

/// `POST /admin/logout` → `{success: true}`; the session dies at once and
/// its open sockets are disconnected (issue 8 item 5).
pub async fn logout(State(state): State<AppState>, caller: Caller) -> AppResult<impl IntoResponse> {
    if let Some(session) = &caller.admin {
        state.auth.end_session(session).await?;
        state.admin_sockets.revoke(&session.token_hash);
    }
    let jar = SignedCookieJar::new(state.auth.cookie_key().clone())
        .remove(state.cookies.removal(state.cookies.admin));
    Ok((jar, Json(Success { success: true })))
}
