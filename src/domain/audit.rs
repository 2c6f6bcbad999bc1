//! The audit log's types (issue 27 item 6): what an owner reads with
//! `GET /api/audit`. An entry names who acted (agent id and a snapshot of
//! its name), the action, its target and a detail of counts — never the
//! content of what was erased.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{ActedBy, AgentId, AuditId};

/// What was done. Stored and sent as its [`AuditAction::as_str`] name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// A thread was erased (`target`: the thread id; `detail`: counts).
    Erase,
    /// A retention run erased old closed threads (`detail`: `{days, threads}`).
    Retention,
    /// An agent was disabled (`target`: the agent id).
    AgentDisable,
    /// An agent was enabled again (`target`: the agent id).
    AgentEnable,
    /// A backup was written (`target`: the file name, without its folder).
    Backup,
    /// A thread was exported (`target`: the thread id; `detail`:
    /// `{messages, media}`), or everything (`target` `null`; `detail`:
    /// `{threads, messages, media}`).
    Export,
    /// An export file was imported (`detail`: `{threads, messages, media}`).
    Import,
}

impl AuditAction {
    /// `erase`, `retention`, `agent_disable`, `agent_enable`, `backup`,
    /// `export`, `import`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Erase => "erase",
            AuditAction::Retention => "retention",
            AuditAction::AgentDisable => "agent_disable",
            AuditAction::AgentEnable => "agent_enable",
            AuditAction::Backup => "backup",
            AuditAction::Export => "export",
            AuditAction::Import => "import",
        }
    }
}

/// One stored entry: `{id, by: {id, name}, action, target, detail,
/// created_at}` (RFC 3339 UTC); `detail` is a JSON object or `null`.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// Grows with time; never reused.
    pub id: AuditId,
    /// Who acted (`id` `null`: the command line or the retention job).
    pub by: ActedBy,
    /// The action's name ([`AuditAction::as_str`]).
    pub action: String,
    /// What it was done to, when it names one thing.
    pub target: Option<String>,
    /// Counts and options, as a JSON object.
    pub detail: Option<serde_json::Value>,
    /// When (UTC).
    #[serde(serialize_with = "super::view::rfc3339")]
    pub created_at: DateTime<Utc>,
}

/// The row of `audit_log` as stored.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AuditRow {
    /// `audit_log.id`.
    pub id: AuditId,
    /// `audit_log.agent_id`.
    pub agent_id: Option<AgentId>,
    /// `audit_log.agent_name`.
    pub agent_name: String,
    /// `audit_log.action`.
    pub action: String,
    /// `audit_log.target`.
    pub target: Option<String>,
    /// `audit_log.detail` (JSON text).
    pub detail: Option<String>,
    /// `audit_log.created_at`.
    pub created_at: DateTime<Utc>,
}

impl From<AuditRow> for AuditEntry {
    fn from(r: AuditRow) -> AuditEntry {
        AuditEntry {
            id: r.id,
            by: ActedBy {
                id: r.agent_id,
                name: r.agent_name,
            },
            action: r.action,
            target: r.target,
            detail: r.detail.and_then(|d| serde_json::from_str(&d).ok()),
            created_at: r.created_at,
        }
    }
}

/// The name the command line acts under in the audit log (no agent id).
pub const CLI_NAME: &str = "command line";
/// The name the retention job acts under in the audit log (no agent id).
pub const RETENTION_NAME: &str = "retention";

impl ActedBy {
    /// The command line (`sohbet erase`, `sohbet backup`, `sohbet agent`).
    pub fn cli() -> ActedBy {
        ActedBy {
            id: None,
            name: CLI_NAME.to_owned(),
        }
    }

    /// The retention job (`RETENTION_DAYS`).
    pub fn retention() -> ActedBy {
        ActedBy {
            id: None,
            name: RETENTION_NAME.to_owned(),
        }
    }
}
