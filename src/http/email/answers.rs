//! The JSON answers of the email API ([`super`]), as written and as the
//! OpenAPI document shows them.

use serde::Serialize;

use crate::{domain::DeadEmail, email::smtp::SmtpCheck};

/// `GET /api/email/status`: `{success, configured: false}` without
/// `SMTP_URL`, else the panel's email state (untagged: one or the other).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum EmailState {
    /// Email is configured.
    On(EmailOn),
    /// `SMTP_URL` is not set: `{success: true, configured: false}`.
    Off {
        /// Always `true`.
        success: bool,
        /// `false`.
        configured: bool,
    },
}

/// The email state of a configured server.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EmailOn {
    /// Always `true`.
    pub success: bool,
    /// `true`.
    pub configured: bool,
    /// Agents are emailed about unanswered messages (no Telegram).
    pub agent_alerts: bool,
    /// The last SMTP self-test, or `null` before the first.
    pub smtp: Option<SmtpLast>,
    /// Threads whose latest email was refused for good.
    pub dead: Vec<DeadEmail>,
    /// The caller's own address for alerts.
    pub my_email: Option<String>,
}

/// When the SMTP self-test ran and what it found.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SmtpLast {
    /// RFC 3339 UTC.
    #[schema(format = DateTime)]
    pub at: String,
    /// Its finding.
    pub check: SmtpCheck,
}

/// `{success: true, check}` of `POST /api/email/selftest`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SmtpChecked {
    /// Always `true`.
    pub success: bool,
    /// What the check found.
    pub check: SmtpCheck,
}

/// `{success: true, email}` of `PUT /api/agents/me/email`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MyEmailSet {
    /// Always `true`.
    pub success: bool,
    /// The address stored (trimmed), or `null`.
    pub email: Option<String>,
}
