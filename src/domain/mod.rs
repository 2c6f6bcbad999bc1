//! The bottom floor: the types, ids, views and rows every layer exchanges
//! (closed sets and [`ThreadId`] in [`types`], the wire [`Message`] and RFC
//! 3339 times in [`view`], the rows of threads, messages, canned replies,
//! visitor contexts and the Telegram outbox). It imports nothing of the
//! crate; `store` reads and writes these, the core (`chat`) takes and
//! returns them, the adapters show them.

pub mod agent;
pub mod audit;
pub mod canned;
pub mod email;
pub mod export;
pub mod ids;
pub mod message;
pub mod telegram;
pub mod thread;
pub mod thread_event;
pub mod types;
pub mod view;
pub mod visitor;

pub use agent::{Agent, AgentRef};
pub use audit::{AuditAction, AuditEntry, AuditRow};
pub use canned::{CannedReply, CannedWrite, NewCanned};
pub use email::{DeadEmail, EmailAgent, EmailRow, EmailSchedule, EmailThread};
pub use ids::{AgentId, AuditId, CannedId, EmailId, EventId, LinkId, MessageId, OutboxId};
pub use message::{Inserted, NewMessage};
pub use telegram::{DueReceipt, OutboxItem, TopicNaming};
pub use thread::{
    Assignee, AssigneeFilter, ListFilter, MessageMatch, Thread, ThreadListItem, ThreadMatch,
};
pub use thread_event::{ActedBy, ThreadEvent, ThreadEventRow};
pub use types::{
    AgentRole, AssignmentMode, BadThreadId, EmailKind, EmailStatus, MessageType, OutboxStatus,
    Role, THREAD_ID_MAX, ThreadAction, ThreadId, ThreadStatus, UnknownValue,
};
pub use view::{Message, SenderNames, opt_rfc3339, rfc3339, rfc3339_string};
pub use visitor::{PageReport, VisitorContext};
