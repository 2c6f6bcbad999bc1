//! The email routes (issue 26) in the OpenAPI description: stubs and the
//! shapes of [`crate::http::email`]'s answers.

use serde::Serialize;
use utoipa::ToSchema;

use super::ErrorBody;

/// `POST /api/visitor/transcript`.
#[derive(Serialize, ToSchema)]
pub struct TranscriptDoc {
    /// `true`.
    pub success: bool,
    /// `Transcript queued`.
    pub message: String,
}

/// `GET /api/email/status`.
#[derive(Serialize, ToSchema)]
pub struct EmailStatusDoc {
    /// `true`.
    pub success: bool,
    /// `SMTP_URL` is set.
    pub configured: bool,
    /// Agents are emailed about unanswered messages (no Telegram).
    pub agent_alerts: Option<bool>,
    /// The last SMTP self-test: `{at, check: {ok, detail, fix}}`, or null.
    #[schema(value_type = Option<Object>)]
    pub smtp: Option<serde_json::Value>,
    /// Threads whose latest email was refused for good:
    /// `[{thread_id, kind, last_error, due_at}]`.
    #[schema(value_type = Option<Vec<Object>>)]
    pub dead: Option<Vec<serde_json::Value>>,
    /// The caller's own address for alerts.
    pub my_email: Option<String>,
}

/// `POST /api/email/selftest`.
#[derive(Serialize, ToSchema)]
pub struct EmailCheckDoc {
    /// `true`.
    pub success: bool,
    /// `{ok, detail, fix}`.
    #[schema(value_type = Object)]
    pub check: serde_json::Value,
}

/// `PUT /api/agents/me/email` body and answer.
#[derive(Serialize, ToSchema)]
pub struct MyEmailDoc {
    /// `true` in the answer.
    pub success: Option<bool>,
    /// The address, or null to remove it.
    pub email: Option<String>,
}

/// Emails the visitor's whole conversation (no notes) to the address stored for it (visitor, CSRF).
#[utoipa::path(post, path = "/api/visitor/transcript", tag = "visitor", responses(
    (status = 200, body = TranscriptDoc),
    (status = 400, body = ErrorBody, description = "VALIDATION_ERROR: no address stored, or unsubscribed"),
    (status = 404, body = ErrorBody, description = "NOT_FOUND: email is not configured"),
    (status = 429, body = ErrorBody, description = "RATE_LIMITED: 3 a day per conversation")
))]
pub fn transcript() {}

/// Email state for the panel (agent).
#[utoipa::path(get, path = "/api/email/status", tag = "admin", responses(
    (status = 200, body = EmailStatusDoc),
    (status = 401, body = ErrorBody, description = "UNAUTHORIZED")
))]
pub fn email_status() {}

/// Runs the SMTP self-test now: connect, EHLO, STARTTLS, AUTH (agent, CSRF).
#[utoipa::path(post, path = "/api/email/selftest", tag = "admin", responses(
    (status = 200, body = EmailCheckDoc),
    (status = 404, body = ErrorBody, description = "NOT_FOUND: email is not configured")
))]
pub fn email_selftest() {}

/// Sets or removes the caller's own address for unanswered-message alerts (agent, CSRF).
#[utoipa::path(put, path = "/api/agents/me/email", tag = "admin", request_body = MyEmailDoc, responses(
    (status = 200, body = MyEmailDoc),
    (status = 400, body = ErrorBody, description = "VALIDATION_ERROR: not an address"),
    (status = 404, body = ErrorBody, description = "NOT_FOUND: email is not configured")
))]
pub fn my_email() {}

/// A signed continue link from an email: sets the visitor cookie and opens the chat (302), or a 404 page.
#[utoipa::path(get, path = "/c/{token}", tag = "pages", params(("token" = String, Path)), responses(
    (status = 303, description = "to / or to the widget's host page"),
    (status = 404, description = "forged, expired or revoked link (HTML)")
))]
pub fn continue_link() {}

/// The unsubscribe page (one button).
#[utoipa::path(get, path = "/email/unsubscribe/{token}", tag = "pages", params(("token" = String, Path)), responses(
    (status = 200, description = "HTML page"),
    (status = 404, description = "bad link (HTML)")
))]
pub fn unsubscribe_page() {}

/// RFC 8058 one-click unsubscribe (no CSRF token: the signed token authenticates).
#[utoipa::path(post, path = "/email/unsubscribe/{token}", tag = "pages", params(("token" = String, Path)), responses(
    (status = 200, description = "unsubscribed (HTML)"),
    (status = 404, description = "bad link (HTML)")
))]
pub fn unsubscribe() {}
