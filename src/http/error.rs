//! Errors at the edges: [`AppError`] becomes the contract's JSON error
//! (`{"success": false, "error", "code", "status"}`, `shared/DESIGN.md` § HTTP
//! contract) for HTTP, and the `{success: false, error, code}` ack or
//! `message_error {type, message, code}` event for Socket.IO.
//!
//! The lower floors answer in their own errors and map to these here, from
//! above them: the chat core's [`ChatError`] (and the store's [`StoreError`]
//! as the core judges it), [`LimitError`], [`MediaError`], [`AuthError`].
//! Internal failures keep their source error ([`AppError::Internal`]); it
//! is logged (by the response middleware in `http::log_errors`, or by the
//! Socket.IO reply) and never sent to the client.

use std::sync::Arc;

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use serde_json::json;

use crate::{
    auth::{AuthError, agents::AgentError},
    chat::ChatError,
    limits::LimitError,
    media::MediaError,
    store::StoreError,
};

/// The hidden cause of an [`AppError::Internal`]: any error, kept with its
/// own sources for the log.
#[derive(Clone, Debug)]
pub struct InternalSource(Arc<dyn std::error::Error + Send + Sync>);

impl std::fmt::Display for InternalSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for InternalSource {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl InternalSource {
    /// The error and its sources, `: `-separated (for the log).
    pub fn chain(&self) -> String {
        let mut text = self.0.to_string();
        let mut next = self.0.source();
        while let Some(e) = next {
            text.push_str(": ");
            text.push_str(&e.to_string());
            next = e.source();
        }
        text
    }
}

/// Every error a request or event can end with.
#[derive(Clone, Debug, thiserror::Error)]
pub enum AppError {
    /// Malformed body or parameters (400 `BAD_REQUEST`).
    #[error("{0}")]
    BadRequest(String),
    /// Well-formed but invalid values (400 `VALIDATION_ERROR`).
    #[error("{0}")]
    Validation(String),
    /// Missing or wrong CSRF token (403 `CSRF_FAILED`).
    #[error("CSRF token missing or invalid")]
    Csrf,
    /// No admin session (401 `UNAUTHORIZED`).
    #[error("Authentication required")]
    Unauthorized,
    /// Wrong username or password (401 `INVALID_CREDENTIALS`).
    #[error("Invalid username or password")]
    InvalidCredentials,
    /// Wrong, expired or used-up login code (401 `INVALID_OTP`).
    #[error("Invalid or expired code")]
    InvalidOtp,
    /// Authenticated but not allowed, e.g. another visitor's thread (403 `FORBIDDEN`).
    #[error("{0}")]
    Forbidden(&'static str),
    /// The admin blocked this visitor: its sends are refused (403
    /// `BLOCKED`; socket type `blocked`). Issue 13.
    #[error("Sorry, you can no longer send messages in this conversation.")]
    Blocked,
    /// No such route or resource (404 `NOT_FOUND`).
    #[error("{0}")]
    NotFound(&'static str),
    /// The request clashes with what is stored, e.g. a canned reply's name
    /// that another one has (409 `CONFLICT`); nothing was changed.
    #[error("{0}")]
    Conflict(String),
    /// The path exists but not for this method (405 `METHOD_NOT_ALLOWED`).
    #[error("Method not allowed")]
    MethodNotAllowed,
    /// Body larger than allowed (413 `PAYLOAD_TOO_LARGE`).
    #[error("Request body too large")]
    PayloadTooLarge,
    /// An uploaded file over its limit (413 `FILE_TOO_LARGE`); the limit in bytes.
    #[error("File too large (at most {} MiB)", .0 / (1024 * 1024))]
    FileTooLarge(u64),
    /// An uploaded file of a type not accepted there (415 `UNSUPPORTED_TYPE`).
    #[error("{0}")]
    UnsupportedType(String),
    /// An outside service (Cloudinary) failed (502 `UPSTREAM_ERROR`); the
    /// text is for the client, the detail was logged where it happened.
    #[error("{0}")]
    BadGateway(String),
    /// The request body stalled or arrived below the minimum rate (408
    /// `REQUEST_TIMEOUT`): a JSON body not read within
    /// `BODY_READ_TIMEOUT_SECS`, or an upload below its pacing rules
    /// (`docs/uploads.md` § Limits on the wire and on disk).
    #[error("The request body arrived too slowly and was stopped; please try again")]
    RequestTimeout,
    /// The upload folder's quota would be exceeded (507 `INSUFFICIENT_STORAGE`,
    /// RFC 4918 § 11.5); nothing was stored.
    #[error("The server has no room for this file right now; please try again later")]
    InsufficientStorage,
    /// Too many requests (429 `RATE_LIMITED`); seconds until a retry may pass.
    #[error("Too many requests, retry in {0} s")]
    RateLimited(u64),
    /// The database does not answer (503 `SERVICE_UNAVAILABLE`).
    #[error("Service temporarily unavailable")]
    Unavailable,
    /// The server cannot keep up (503 `SERVER_BUSY`, `Retry-After: 1`;
    /// socket type `server_busy`): the message was refused before it was
    /// stored, so the client may send it again (same `client_id`).
    #[error("Server busy, please retry")]
    Busy,
    /// Anything else (500 `INTERNAL_ERROR`); the source is logged, not sent.
    #[error("Internal server error")]
    Internal(#[source] InternalSource),
}

impl From<StoreError> for AppError {
    /// As the chat core judges it ([`ChatError`]'s `From<StoreError>`):
    /// an unavailable database is 503, anything else 500.
    fn from(e: StoreError) -> Self {
        ChatError::from(e).into()
    }
}

impl From<LimitError> for AppError {
    /// 429 `RATE_LIMITED` (with `Retry-After`) or 503 `SERVICE_UNAVAILABLE`.
    fn from(e: LimitError) -> Self {
        match e {
            LimitError::RateLimited { retry_after } => AppError::RateLimited(retry_after),
            LimitError::Full => AppError::Unavailable,
        }
    }
}

impl From<MediaError> for AppError {
    /// The status named on each [`MediaError`] variant; the upstream's
    /// detail is not sent, an I/O failure is a 500.
    fn from(e: MediaError) -> Self {
        match e {
            MediaError::TooLarge { limit } => AppError::FileTooLarge(limit),
            MediaError::Unsupported(m) => AppError::UnsupportedType(m),
            e @ MediaError::Dimensions { .. } => AppError::Validation(e.to_string()),
            MediaError::Upstream(_) => {
                AppError::BadGateway("The file storage service failed; please try again".into())
            }
            MediaError::QuotaExceeded => AppError::InsufficientStorage,
            e @ MediaError::Io(_) => AppError::internal(e),
        }
    }
}

impl From<AuthError> for AppError {
    /// A database failure as [`From<StoreError>`] judges it; an undelivered
    /// login code is 503 `SERVICE_UNAVAILABLE`.
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Store(e) => e.into(),
            AuthError::OtpUndelivered => AppError::Unavailable,
        }
    }
}

impl From<AgentError> for AppError {
    /// 400 `VALIDATION_ERROR`, 404 `NOT_FOUND`, 409 `CONFLICT`; a database
    /// failure as the core judges it; a failed hash 500.
    fn from(e: AgentError) -> Self {
        match e {
            e @ (AgentError::Invalid(_) | AgentError::WrongPassword) => {
                AppError::Validation(e.to_string())
            }
            e @ (AgentError::LoginTaken | AgentError::LastOwner) => {
                AppError::Conflict(e.to_string())
            }
            AgentError::NotFound => AppError::NotFound("No such agent"),
            AgentError::InviteDead => AppError::NotFound("This invite is unknown, used or expired"),
            AgentError::Store(e) => e.into(),
            e @ AgentError::Hash => AppError::internal(e),
        }
    }
}

impl From<ChatError> for AppError {
    /// The contract's error for each of the core's.
    fn from(e: ChatError) -> Self {
        match e {
            ChatError::BadRequest(m) => AppError::BadRequest(m),
            ChatError::Validation(m) => AppError::Validation(m),
            ChatError::Forbidden(m) => AppError::Forbidden(m),
            ChatError::Blocked => AppError::Blocked,
            ChatError::NotFound(m) => AppError::NotFound(m),
            ChatError::Conflict(m) => AppError::Conflict(m),
            e @ ChatError::Taken(_) => AppError::Conflict(e.to_string()),
            ChatError::Busy => AppError::Busy,
            ChatError::Unavailable(cause) => {
                // The one place a 503's cause is logged (the answer hides it).
                if let Some(cause) = cause {
                    tracing::warn!(error = %InternalSource(cause).chain(), "database unavailable");
                }
                AppError::Unavailable
            }
            e @ (ChatError::Database(_) | ChatError::Media(_)) => AppError::internal(e),
        }
    }
}

impl AppError {
    /// A 500 caused by `e` (kept as the source, logged, never sent).
    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> AppError {
        AppError::Internal(InternalSource(Arc::new(e)))
    }

    /// HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) | AppError::Validation(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized | AppError::InvalidCredentials | AppError::InvalidOtp => {
                StatusCode::UNAUTHORIZED
            }
            AppError::Csrf | AppError::Forbidden(_) | AppError::Blocked => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::PayloadTooLarge | AppError::FileTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            AppError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            AppError::InsufficientStorage => StatusCode::INSUFFICIENT_STORAGE,
            AppError::Unavailable | AppError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The contract's `code` (UPPER_SNAKE).
    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "BAD_REQUEST",
            AppError::Validation(_) => "VALIDATION_ERROR",
            AppError::Csrf => "CSRF_FAILED",
            AppError::Unauthorized => "UNAUTHORIZED",
            AppError::InvalidCredentials => "INVALID_CREDENTIALS",
            AppError::InvalidOtp => "INVALID_OTP",
            AppError::Forbidden(_) => "FORBIDDEN",
            AppError::Blocked => "BLOCKED",
            AppError::NotFound(_) => "NOT_FOUND",
            AppError::Conflict(_) => "CONFLICT",
            AppError::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            AppError::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            AppError::FileTooLarge(_) => "FILE_TOO_LARGE",
            AppError::UnsupportedType(_) => "UNSUPPORTED_TYPE",
            AppError::BadGateway(_) => "UPSTREAM_ERROR",
            AppError::RateLimited(_) => "RATE_LIMITED",
            AppError::RequestTimeout => "REQUEST_TIMEOUT",
            AppError::InsufficientStorage => "INSUFFICIENT_STORAGE",
            AppError::Unavailable => "SERVICE_UNAVAILABLE",
            AppError::Busy => "SERVER_BUSY",
            AppError::Internal(_) => "INTERNAL_ERROR",
        }
    }

    /// The Socket.IO `message_error.type`: `validation_error`, `csrf_error`,
    /// `auth_error`, `rate_limited`, `blocked`, `server_busy` or `server_error`.
    pub fn socket_type(&self) -> &'static str {
        match self {
            AppError::BadRequest(_)
            | AppError::Validation(_)
            | AppError::NotFound(_)
            | AppError::Conflict(_) => "validation_error",
            AppError::PayloadTooLarge
            | AppError::FileTooLarge(_)
            | AppError::UnsupportedType(_)
            | AppError::MethodNotAllowed => "validation_error",
            AppError::Csrf => "csrf_error",
            AppError::Unauthorized
            | AppError::InvalidCredentials
            | AppError::InvalidOtp
            | AppError::Forbidden(_) => "auth_error",
            AppError::RateLimited(_) => "rate_limited",
            AppError::Blocked => "blocked",
            AppError::Busy => "server_busy",
            AppError::Unavailable
            | AppError::Internal(_)
            | AppError::BadGateway(_)
            | AppError::RequestTimeout
            | AppError::InsufficientStorage => "server_error",
        }
    }

    /// Socket.IO ack payload `{success: false, error, code}`.
    pub fn ack_body(&self) -> serde_json::Value {
        json!({"success": false, "error": self.to_string(), "code": self.code()})
    }

    /// Socket.IO `message_error` payload `{type, message, code}`.
    pub fn socket_event(&self) -> SocketError {
        SocketError {
            kind: self.socket_type(),
            message: self.to_string(),
            code: self.code(),
        }
    }
}

/// Payload of the `message_error` event.
#[derive(Debug, Serialize)]
pub struct SocketError {
    /// `validation_error` | `csrf_error` | `auth_error` | `rate_limited` |
    /// `blocked` | `server_busy` | `server_error`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Human text.
    pub message: String,
    /// UPPER_SNAKE code as in HTTP errors.
    pub code: &'static str,
}

/// Marker put into a 500 response's extensions so the logging middleware can
/// log the hidden detail.
#[derive(Clone, Debug)]
pub struct InternalDetail(pub String);

/// Every HTTP error answer: `{success: false, error, code, status}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Always `false`.
    pub success: bool,
    /// Human-readable message.
    pub error: String,
    /// `UPPER_SNAKE` code, e.g. `RATE_LIMITED`, `CSRF_FAILED` (docs/api.md).
    pub code: &'static str,
    /// The HTTP status again.
    pub status: u16,
}

impl AppError {
    /// The answer's body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            success: false,
            error: self.to_string(),
            code: self.code(),
            status: self.status().as_u16(),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut res = (status, Json(self.body())).into_response();
        match &self {
            AppError::RateLimited(secs) => {
                res.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(secs.max(&1).to_owned()),
                );
            }
            AppError::Busy => {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(1u64));
            }
            AppError::Internal(source) => {
                res.extensions_mut().insert(InternalDetail(source.chain()));
            }
            _ => {}
        }
        res
    }
}

/// Result alias for handlers and the core.
pub type AppResult<T> = Result<T, AppError>;
