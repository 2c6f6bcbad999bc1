//! The email routes (issue 26) in the OpenAPI description: stubs over
//! [`crate::http::email`]'s body and answer types.

use crate::http::{api, email, error::ErrorBody};

/// Emails the visitor's whole conversation (no notes) to the address stored for it (visitor, CSRF).
#[utoipa::path(post, path = "/api/visitor/transcript", tag = "visitor", responses(
    (status = 200, body = api::Done),
    (status = 400, body = ErrorBody, description = "VALIDATION_ERROR: no address stored, or unsubscribed"),
    (status = 404, body = ErrorBody, description = "NOT_FOUND: email is not configured"),
    (status = 429, body = ErrorBody, description = "RATE_LIMITED: 3 a day per conversation")
))]
pub fn transcript() {}

/// Email state for the panel (agent).
#[utoipa::path(get, path = "/api/email/status", tag = "admin", responses(
    (status = 200, body = email::EmailState),
    (status = 401, body = ErrorBody, description = "UNAUTHORIZED")
))]
pub fn email_status() {}

/// Runs the SMTP self-test now: connect, EHLO, STARTTLS, AUTH (agent, CSRF).
#[utoipa::path(post, path = "/api/email/selftest", tag = "admin", responses(
    (status = 200, body = email::SmtpChecked),
    (status = 404, body = ErrorBody, description = "NOT_FOUND: email is not configured")
))]
pub fn email_selftest() {}

/// Sets or removes the caller's own address for unanswered-message alerts (agent, CSRF).
#[utoipa::path(put, path = "/api/agents/me/email", tag = "admin", request_body = email::MyEmail, responses(
    (status = 200, body = email::MyEmailSet),
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
