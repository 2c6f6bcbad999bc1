//! The `threads` table: lookup, the admin's list with counts and last
//! message, read marks and visitor presence times.

use crate::domain::ThreadId;
use chrono::{DateTime, Utc};

use super::with_db;
use super::{Db, StoreResult};
use crate::domain::{
    AgentId, AssigneeFilter, ListFilter, Message, MessageId, MessageType, Role, Thread,
    ThreadListItem,
};

/// The columns of [`Thread`], as a literal for `concat!` (table alias `t`).
macro_rules! thread_cols {
    () => {
        "t.id, t.display_name, t.created_at, t.last_activity_at, t.status, \
         t.visitor_last_seen_at, t.blocked_at, t.assignee_agent_id AS assignee_id, \
         (SELECT a.display_name FROM agents a WHERE a.id = t.assignee_agent_id) AS assignee_name"
    };
}
pub(crate) use thread_cols;

#[derive(sqlx::FromRow)]
struct ListRow {
    #[sqlx(flatten)]
    thread: Thread,
    message_count: i64,
    unread_count: i64,
    m_id: Option<MessageId>,
    m_content_text: Option<String>,
    m_type: Option<MessageType>,
    m_sender: Option<Role>,
    m_file_url: Option<String>,
    m_created_at: Option<DateTime<Utc>>,
    m_client_id: Option<String>,
    m_internal: Option<bool>,
    m_agent_id: Option<AgentId>,
    m_agent_name: Option<String>,
    m_edited_at: Option<DateTime<Utc>>,
}

/// Finds a thread by id.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn get(db: &Db, id: &ThreadId) -> StoreResult<Option<Thread>> {
    const SQL: &str = concat!("SELECT ", thread_cols!(), " FROM threads t WHERE t.id = $1");
    Ok(with_db!(db, p => sqlx::query_as(SQL).bind(id).fetch_optional(p).await)?)
}

/// The `limit` threads `filter` and `assignee` keep: open ones first, then most recently
/// active first, with counts and their last message.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn list(
    db: &Db,
    limit: i64,
    filter: ListFilter,
    assignee: AssigneeFilter,
) -> StoreResult<Vec<ThreadListItem>> {
    const SQL: &str = concat!(
        "SELECT ",
        thread_cols!(),
        ", (SELECT COUNT(*) FROM messages c WHERE c.thread_id = t.id) AS message_count, \
          (SELECT COUNT(*) FROM messages u WHERE u.thread_id = t.id AND u.sender = 'visitor' \
              AND u.id > t.admin_last_read_message_id) AS unread_count, \
          m.id AS m_id, m.content_text AS m_content_text, m.type AS m_type, m.sender AS m_sender, \
          m.file_url AS m_file_url, m.created_at AS m_created_at, m.client_id AS m_client_id, \
          m.internal AS m_internal, m.agent_id AS m_agent_id, m.agent_name AS m_agent_name, \
          m.edited_at AS m_edited_at \
        FROM threads t \
        LEFT JOIN messages m ON m.id = (SELECT MAX(x.id) FROM messages x WHERE x.thread_id = t.id) \
        WHERE ($2 = 'all' OR (CASE WHEN t.status = 'closed' THEN 'closed' ELSE 'open' END) = $2) \
          AND ($3 = 'all' OR ($3 = 'none' AND t.assignee_agent_id IS NULL) \
               OR ($3 = 'agent' AND t.assignee_agent_id = $4)) \
        ORDER BY CASE WHEN t.status = 'closed' THEN 1 ELSE 0 END, t.last_activity_at DESC, t.id \
        LIMIT $1"
    );
    let (who, agent) = match assignee {
        AssigneeFilter::All => ("all", AgentId(0)),
        AssigneeFilter::Unassigned => ("none", AgentId(0)),
        AssigneeFilter::Agent(id) => ("agent", id),
    };
    let rows: Vec<ListRow> = with_db!(db, p => sqlx::query_as(SQL)
        .bind(limit)
        .bind(filter.as_str())
        .bind(who)
        .bind(agent)
        .fetch_all(p)
        .await)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let last_message = match (r.m_id, r.m_type, r.m_sender, r.m_created_at) {
                (Some(id), Some(content_type), Some(sender_type), Some(created_at)) => {
                    Some(Message {
                        id,
                        thread_id: r.thread.id.clone(),
                        content_text: r.m_content_text.unwrap_or_default(),
                        content_type,
                        sender_type,
                        file_url: r.m_file_url,
                        created_at,
                        client_id: r.m_client_id,
                        internal: r.m_internal.unwrap_or(false),
                        agent_id: r.m_agent_id,
                        sender_name: r.m_agent_name,
                        edited_at: r.m_edited_at,
                    })
                }
                _ => None,
            };
            ThreadListItem {
                thread: r.thread,
                message_count: r.message_count,
                unread_count: r.unread_count,
                last_message,
            }
        })
        .collect())
}

/// Moves the admin's read mark of a thread forward to `up_to` (never back).
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn mark_read(db: &Db, id: &ThreadId, up_to: MessageId) -> StoreResult<()> {
    const SQL: &str = "UPDATE threads SET admin_last_read_message_id = $1 \
                       WHERE id = $2 AND admin_last_read_message_id < $1";
    Ok(with_db!(db, p => sqlx::query(SQL).bind(up_to).bind(id).execute(p).await.map(|_| ()))?)
}

/// Records when a visitor was last seen (its last socket closed).
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn set_visitor_seen(db: &Db, id: &ThreadId, at: DateTime<Utc>) -> StoreResult<()> {
    const SQL: &str = "UPDATE threads SET visitor_last_seen_at = $1 WHERE id = $2";
    Ok(with_db!(db, p => sqlx::query(SQL).bind(at).bind(id).execute(p).await.map(|_| ()))?)
}
