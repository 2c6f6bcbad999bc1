//! The rows of the email outbox (issue 26) as the floors exchange them:
//! what the group-commit writer schedules ([`EmailSchedule`]), an outbox
//! row ([`EmailRow`]), and what composing a visitor's email reads of its
//! thread ([`EmailThread`]).

use chrono::{DateTime, TimeDelta, Utc};

use super::{AgentId, EmailId, EmailKind, EmailStatus, MessageId, ThreadId};

/// What the group-commit writer schedules with the messages it stores,
/// in the same transaction: `None` = off.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EmailSchedule {
    /// An agent's answer (not a note) schedules an `answer` check of its
    /// thread this long after it (`EMAIL_NOTIFY_DELAY_SECS`), when the
    /// thread has an address and is not unsubscribed.
    pub answer_delay: Option<TimeDelta>,
    /// A visitor's message schedules an `agent_wait` check this long after
    /// it (`EMAIL_AGENT_DELAY_SECS`; only without Telegram), when some
    /// enabled agent has an address.
    pub agent_delay: Option<TimeDelta>,
}

impl EmailSchedule {
    /// Nothing is scheduled (email off).
    pub const OFF: EmailSchedule = EmailSchedule {
        answer_delay: None,
        agent_delay: None,
    };
}

/// One row of `email_outbox`.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct EmailRow {
    /// Row id.
    pub id: EmailId,
    /// What it is.
    pub kind: EmailKind,
    /// Its thread (`None` for an `agent` email, which may name several).
    pub thread_id: Option<ThreadId>,
    /// The agent an `agent` email goes to.
    pub agent_id: Option<AgentId>,
    /// Where it stands.
    pub status: EmailStatus,
    /// When it is checked (scheduled) or sent (pending) next, UTC.
    pub due_at: DateTime<Utc>,
    /// SMTP tries so far.
    pub attempts: i32,
    /// The address, once composed.
    pub recipient: Option<String>,
    /// The whole RFC 5322 message, once composed.
    pub body: Option<String>,
    /// Why the last try failed.
    pub last_error: Option<String>,
    /// When it was scheduled.
    pub created_at: DateTime<Utc>,
}

/// What composing a visitor's email reads of its thread.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct EmailThread {
    /// The thread.
    pub id: ThreadId,
    /// Its visitor's address (`visitor_contexts.email`), if any.
    pub email: Option<String>,
    /// The visitor's name, if given.
    pub name: Option<String>,
    /// The browser's language (`tr`, `en-US`, …), if reported.
    pub language: Option<String>,
    /// The browser's IANA time zone, if reported.
    pub timezone: Option<String>,
    /// When the visitor unsubscribed (then: no email).
    pub email_unsubscribed_at: Option<DateTime<Utc>>,
    /// The generation of its signed links (raised by unsubscribe and clear).
    pub email_link_gen: i32,
    /// The last answer id already emailed.
    pub email_answered_upto: MessageId,
    /// When answers were last emailed (the 10-minute rule).
    pub email_answer_sent_at: Option<DateTime<Utc>>,
    /// The last answer id the visitor's page saw (`message_seen`).
    pub seen_upto: MessageId,
}

/// An enabled agent with an address, for `agent` emails.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct EmailAgent {
    /// Agent id.
    pub id: AgentId,
    /// Its name.
    pub display_name: String,
    /// Its address.
    pub email: String,
}

/// A thread whose latest email is dead (refused for good), for the panel.
#[derive(Clone, Debug, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct DeadEmail {
    /// The thread.
    pub thread_id: ThreadId,
    /// What the email was.
    pub kind: EmailKind,
    /// The SMTP server's answer.
    pub last_error: Option<String>,
    /// When it was given up (the last try), UTC.
    #[serde(serialize_with = "super::rfc3339")]
    pub due_at: DateTime<Utc>,
}
