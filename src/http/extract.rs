//! Extractors whose rejections answer in the contract's error shape:
//! [`AppJson`], [`AppQuery`] and the caller's identity [`Caller`].

use axum::{
    Json,
    extract::{FromRequest, FromRequestParts, Query, Request, rejection::JsonRejection},
    http::{StatusCode, request::Parts},
};
use serde::de::DeserializeOwned;

use crate::domain::ThreadId;
use crate::{
    AppState,
    auth::{self, AdminSession, cookies::Identity},
    http::error::AppError,
};

/// `Json<T>` whose failures are [`AppError`]s: a missing
/// `Content-Type: application/json` or malformed JSON → 400 `BAD_REQUEST`;
/// wrong types or missing fields → 400 `VALIDATION_ERROR`; an over-long body
/// → 413 `PAYLOAD_TOO_LARGE`.
pub struct AppJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for AppJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(AppJson(v)),
            Err(JsonRejection::JsonDataError(e)) => Err(AppError::Validation(e.body_text())),
            Err(JsonRejection::JsonSyntaxError(_)) => {
                Err(AppError::BadRequest("Malformed JSON body".into()))
            }
            Err(JsonRejection::MissingJsonContentType(_)) => Err(AppError::BadRequest(
                "Content-Type must be application/json".into(),
            )),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(AppError::PayloadTooLarge),
            Err(e) => Err(AppError::BadRequest(e.body_text())),
        }
    }
}

/// `Query<T>` whose failures are 400 `VALIDATION_ERROR`.
pub struct AppQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for AppQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| AppQuery(v))
            .map_err(|e| AppError::Validation(e.body_text()))
    }
}

/// Who is calling: the browser's visitor id (a fresh one when it had none;
/// then `new_visitor` is set and the page or `/api/session` sets the
/// cookie) and the admin session, if any.
///
/// A request with `Authorization: Bearer <visitor token>` (the embed view,
/// [`crate::auth::visitor_token`]) is the visitor of that token's thread and
/// nothing else: its cookies are not read (never the admin, no pending
/// login), so the token path cannot borrow the cookie path's authority.
/// A bearer value that is not a valid visitor token → 401 `UNAUTHORIZED`.
#[derive(Clone, Debug)]
pub struct Caller {
    /// Visitor id (= own thread id).
    pub visitor_id: ThreadId,
    /// `true` when the browser had no valid visitor cookie.
    pub new_visitor: bool,
    /// The admin session.
    pub admin: Option<AdminSession>,
    /// Pending login id.
    pub login_id: Option<String>,
    /// The client's IP (see [`crate::limits::client_ip`]).
    pub ip: std::net::IpAddr,
    /// `true` when identified by a visitor token (the embed view), not by cookies.
    pub by_token: bool,
    /// Who acts ([`crate::auth::Actor::for_request`]): what this request may reach.
    pub actor: crate::auth::Actor,
}

impl Caller {
    /// The key of this caller's session for per-session limits: the admin
    /// session when there is one, else the visitor id.
    pub fn session_key(&self) -> &str {
        self.admin
            .as_ref()
            .map_or(self.visitor_id.as_str(), |a| a.token_hash.as_str())
    }

    /// The session of an owner: 401 `UNAUTHORIZED` without a session, 403
    /// `FORBIDDEN` for an agent that is not an owner (issue 22 item 1).
    ///
    /// # Errors
    /// [`AppError::Unauthorized`], [`AppError::Forbidden`].
    pub fn require_owner(&self) -> Result<&AdminSession, AppError> {
        let session = self.require_admin()?;
        if !self.actor.is_owner() {
            return Err(AppError::Forbidden("Only an owner manages agents"));
        }
        Ok(session)
    }

    /// The admin session or 401 `UNAUTHORIZED`.
    ///
    /// # Errors
    /// [`AppError::Unauthorized`].
    pub fn require_admin(&self) -> Result<&AdminSession, AppError> {
        if !self.actor.can_admin() {
            return Err(AppError::Unauthorized);
        }
        self.admin.as_ref().ok_or(AppError::Unauthorized)
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if let Some(c) = parts.extensions.get::<Caller>() {
            return Ok(c.clone());
        }
        let ip = request_ip(parts, state);
        if let Some(token) = bearer(&parts.headers) {
            let visitor_id = state
                .auth
                .verify_visitor_token(token)
                .ok_or(AppError::Unauthorized)?;
            let caller = Caller {
                actor: crate::auth::Actor::for_request(&visitor_id, None),
                visitor_id,
                new_visitor: false,
                admin: None,
                login_id: None,
                ip,
                by_token: true,
            };
            parts.extensions.insert(caller.clone());
            return Ok(caller);
        }
        let Identity {
            visitor_id,
            admin,
            login_id,
        } = auth::cookies::identify(&state.auth, &state.cookies, &parts.headers).await?;
        let (visitor_id, new_visitor) = match visitor_id {
            Some(v) => (v, false),
            None => (auth::new_visitor_id(), true),
        };
        let caller = Caller {
            actor: crate::auth::Actor::for_request(&visitor_id, admin.as_ref().map(|a| &a.agent)),
            visitor_id,
            new_visitor,
            admin,
            login_id,
            ip,
            by_token: false,
        };
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

/// The client IP of a request: its peer address (`ConnectInfo`), or with
/// `TRUSTED_PROXIES` the `X-Forwarded-For` rule of [`crate::limits::client_ip`].
pub fn request_ip(parts: &Parts, state: &AppState) -> std::net::IpAddr {
    crate::limits::request_ip(&parts.extensions, &parts.headers, state.config.trust_proxy)
}

/// The visitor token of `Authorization: Bearer sv1.…`, if the request has
/// one (other `Authorization` values, e.g. the health token, are not
/// visitor tokens and are left alone).
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    let v = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let token = v
        .strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))?;
    token
        .trim()
        .starts_with(auth::visitor_token::PREFIX)
        .then_some(token.trim())
}

/// A thread id named by a request (a path's `{id}`, a body's `thread_id`),
/// read after the caller's rights are checked.
///
/// # Errors
/// 400 `VALIDATION_ERROR` when it breaks [`ThreadId`]'s rule.
pub fn thread_id(id: &str) -> Result<ThreadId, AppError> {
    ThreadId::parse(id).map_err(|e| AppError::Validation(e.to_string()))
}
