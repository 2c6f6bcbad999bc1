//! Telegram console state kept with the threads and links (migration
//! 0005): each thread's forum topic (`threads.tg_topic_*`) and the delivery
//! receipts of the admin's Telegram messages (`telegram_links.receipt*`).
//! One SQL text for both backends.
//!
//! A topic belongs to the chat it was created in (`tg_topic_chat_id`,
//! migration 0010): topic ids are message ids, numbered per chat, so every
//! lookup here is by chat and topic id, and a topic of another chat (or of
//! an unknown one, NULL) is never found.

use super::with_db;
use super::{Db, StoreResult};
use crate::domain::ThreadId;
use crate::domain::{DueReceipt, LinkId, MessageId};

/// Records the forum topic of a thread (a new or recreated one): the chat
/// it was created in, its id and name, open.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db, name))]
pub async fn set_topic(
    db: &Db,
    thread_id: &ThreadId,
    tg_chat_id: i64,
    topic_id: i64,
    name: &str,
) -> StoreResult<()> {
    const SQL: &str = "UPDATE threads SET tg_topic_chat_id = $1, tg_topic_id = $2, tg_topic_name = $3, \
                       tg_topic_closed = 0 WHERE id = $4";
    Ok(
        with_db!(db, p => sqlx::query(SQL).bind(tg_chat_id).bind(topic_id).bind(name).bind(thread_id).execute(p).await.map(|_| ()))?,
    )
}

/// Records the name a thread's topic was renamed to (`editForumTopic`).
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db, name))]
pub async fn set_topic_name(db: &Db, thread_id: &ThreadId, name: &str) -> StoreResult<()> {
    const SQL: &str = "UPDATE threads SET tg_topic_name = $1 WHERE id = $2";
    Ok(with_db!(db, p => sqlx::query(SQL).bind(name).bind(thread_id).execute(p).await.map(|_| ()))?)
}

/// Marks topic `topic_id` of chat `tg_chat_id` closed (`forum_topic_closed`
/// service message) or open again; returns whether a thread has that topic.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn set_topic_closed(
    db: &Db,
    tg_chat_id: i64,
    topic_id: i64,
    closed: bool,
) -> StoreResult<bool> {
    const SQL: &str =
        "UPDATE threads SET tg_topic_closed = $1 WHERE tg_topic_chat_id = $2 AND tg_topic_id = $3";
    let flag = i32::from(closed);
    Ok(
        with_db!(db, p => sqlx::query(SQL).bind(flag).bind(tg_chat_id).bind(topic_id).execute(p).await.map(|r| r.rows_affected() > 0))?,
    )
}

/// The thread whose topic is `topic_id` in chat `tg_chat_id` (a topic of
/// another chat with the same id is not it).
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn thread_of_topic(
    db: &Db,
    tg_chat_id: i64,
    topic_id: i64,
) -> StoreResult<Option<ThreadId>> {
    const SQL: &str = "SELECT id FROM threads WHERE tg_topic_chat_id = $1 AND tg_topic_id = $2 \
                       ORDER BY last_activity_at DESC LIMIT 1";
    Ok(
        with_db!(db, p => sqlx::query_scalar(SQL).bind(tg_chat_id).bind(topic_id).fetch_optional(p).await)?,
    )
}

/// The topic of a thread in chat `tg_chat_id`, if it has one there.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn topic_of_thread(
    db: &Db,
    thread_id: &ThreadId,
    tg_chat_id: i64,
) -> StoreResult<Option<i64>> {
    const SQL: &str = "SELECT tg_topic_id FROM threads WHERE id = $1 AND tg_topic_chat_id = $2";
    let v: Option<Option<i64>> = with_db!(db, p => sqlx::query_scalar(SQL).bind(thread_id).bind(tg_chat_id).fetch_optional(p).await)?;
    Ok(v.flatten())
}

/// What the name of thread `thread_id`'s topic in chat `tg_chat_id` is
/// made of (`None`: no topic there, or no such thread).
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn naming(
    db: &Db,
    thread_id: &ThreadId,
    tg_chat_id: i64,
) -> StoreResult<Option<crate::domain::TopicNaming>> {
    const SQL: &str = "SELECT t.tg_topic_id, t.tg_topic_name, t.display_name, \
        (SELECT a.display_name FROM agents a WHERE a.id = t.assignee_agent_id) AS assignee_name \
        FROM threads t WHERE t.id = $1 AND t.tg_topic_chat_id = $2 AND t.tg_topic_id IS NOT NULL";
    Ok(
        with_db!(db, p => sqlx::query_as(SQL).bind(thread_id).bind(tg_chat_id).fetch_optional(p).await)?,
    )
}

/// Receipt levels (`telegram_links.receipt`).
pub mod level {
    /// The visitor's page received the message.
    pub const DELIVERED: i32 = 1;
    /// The visitor saw it (the page was visible).
    pub const SEEN: i32 = 2;
}

/// Raises the visitor's mark of `thread_id` to message `up_to` at `level`
/// (never lowers it) and the receipts of the admin's Telegram messages up
/// to it. Only links of *admin* messages that are not internal notes
/// change, so a visitor moves nothing but the marks of answers it was sent
/// (a note is never sent, so never marked); each link moves at most twice.
/// Returns how many links changed.
///
/// The mark is raised first: that locks the thread's row, which
/// [`link_admin`] waits for, so a link written meanwhile gets the mark.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn note_receipt(
    db: &Db,
    thread_id: &ThreadId,
    up_to: MessageId,
    level: i32,
) -> StoreResult<u64> {
    let mark = if level >= level::SEEN {
        "UPDATE threads SET tg_receipt_seen_id = $1, \
           tg_receipt_delivered_id = CASE WHEN tg_receipt_delivered_id < $1 THEN $1 ELSE tg_receipt_delivered_id END \
         WHERE id = $2 AND tg_receipt_seen_id < $1"
    } else {
        "UPDATE threads SET tg_receipt_delivered_id = $1 WHERE id = $2 AND tg_receipt_delivered_id < $1"
    };
    const LINKS: &str = "UPDATE telegram_links SET receipt = $1 \
        WHERE thread_id = $2 AND message_id <= $3 AND receipt < $1 \
          AND message_id IN (SELECT id FROM messages WHERE thread_id = $2 AND sender = 'admin' \
            AND internal = FALSE AND id <= $3)";
    Ok(with_db!(db, p => {
        let mut tx = p.begin().await?;
        sqlx::query(mark).bind(up_to).bind(thread_id).execute(&mut *tx).await?;
        let n = sqlx::query(LINKS).bind(level).bind(thread_id).bind(up_to).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok::<_, sqlx::Error>(n)
    })?)
}

/// Links the admin's Telegram message to the message it became
/// (`$1` thread, `$2` message id, `$3` chat id as text, `$4` Telegram
/// message id), with the receipt the visitor's marks already give it (its
/// page may have reported before this link was written; an internal note
/// never has one: the visitor never gets it). Run by the
/// message writer in the transaction that stores the reply
/// ([`super::messages::NewMessage::tg_link`]), after the statement that
/// touches the thread's row.
///
/// The visitor's page gets the message before this link exists, so its
/// receipt ([`note_receipt`]) may run at the same time. Both first lock the
/// thread's row (the writer's touch of `last_activity_at` here), so one
/// waits for the other: on Postgres (read committed) each statement takes a
/// new snapshot, so this insert sees the receipt's committed marks, and a
/// receipt that waited sees this link. On SQLite writers are serialized
/// anyway.
pub const LINK_ADMIN_SQL: &str = "INSERT INTO telegram_links (thread_id, message_id, tg_chat_id, tg_message_id, receipt) \
    SELECT $1, $2, $3, $4, CASE WHEN m.internal = TRUE THEN 0 \
                                WHEN t.tg_receipt_seen_id >= $2 THEN 2 \
                                WHEN t.tg_receipt_delivered_id >= $2 THEN 1 ELSE 0 END \
    FROM threads t JOIN messages m ON m.id = $2 WHERE t.id = $1 \
    ON CONFLICT DO NOTHING";

/// Links the admin's Telegram message to the message it became, on its
/// own ([`LINK_ADMIN_SQL`] after locking the thread's row, one transaction).
/// The server writes these links with the reply itself; this is for tools
/// and tests.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn link_admin(
    db: &Db,
    thread_id: &ThreadId,
    message_id: MessageId,
    tg_chat_id: i64,
    tg_message_id: i64,
) -> StoreResult<()> {
    // Takes the row lock that `note_receipt`'s first statement takes; the
    // insert that follows (a new snapshot) then sees its committed marks.
    const LOCK: &str =
        "UPDATE threads SET tg_receipt_delivered_id = tg_receipt_delivered_id WHERE id = $1";
    Ok(with_db!(db, p => {
        let mut tx = p.begin().await?;
        sqlx::query(LOCK).bind(thread_id).execute(&mut *tx).await?;
        sqlx::query(LINK_ADMIN_SQL).bind(thread_id).bind(message_id).bind(tg_chat_id.to_string()).bind(tg_message_id).execute(&mut *tx).await?;
        tx.commit().await
    })?)
}

/// Records that Telegram user `tg_from_id` wrote the admin's Telegram
/// message `tg_message_id` of chat `tg_chat_id`, linked when it became an
/// answer (issue 23 item 6: only its author's edits are relayed). Sets it
/// once: a redelivered update changes nothing.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn set_link_author(
    db: &Db,
    tg_chat_id: i64,
    tg_message_id: i64,
    tg_from_id: i64,
) -> StoreResult<()> {
    const SQL: &str = "UPDATE telegram_links SET tg_from_id = $3 \
                       WHERE tg_chat_id = $1 AND tg_message_id = $2 AND tg_from_id IS NULL";
    Ok(with_db!(db, p => sqlx::query(SQL)
        .bind(tg_chat_id.to_string())
        .bind(tg_message_id)
        .bind(tg_from_id)
        .execute(p)
        .await
        .map(|_| ()))?)
}

/// At most `limit` receipts not yet shown, oldest first: one per Telegram
/// message. A coalesced forward's Telegram message carries several
/// answers, each with its link; its receipt is the lowest of theirs (👀
/// only once the visitor saw them all), so the link chosen is the one with
/// the lowest receipt (the oldest of those), due when that is above what
/// was shown.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn due_receipts(db: &Db, limit: i64) -> StoreResult<Vec<DueReceipt>> {
    const SQL: &str = "SELECT l.id, l.tg_chat_id, l.tg_message_id, l.receipt FROM telegram_links l \
        WHERE l.receipt > l.receipt_sent AND NOT EXISTS (SELECT 1 FROM telegram_links o \
          WHERE o.tg_chat_id = l.tg_chat_id AND o.tg_message_id = l.tg_message_id \
            AND (o.receipt < l.receipt OR (o.receipt = l.receipt AND o.id < l.id))) \
        ORDER BY l.id LIMIT $1";
    Ok(with_db!(db, p => sqlx::query_as(SQL).bind(limit).fetch_all(p).await)?)
}

/// Records that receipt `level` of link `id` was shown (or given up): on
/// every link of its Telegram message (a coalesced forward has several).
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn receipt_shown(db: &Db, id: LinkId, level: i32) -> StoreResult<()> {
    const SQL: &str = "UPDATE telegram_links SET receipt_sent = $1 WHERE receipt_sent < $1 \
        AND EXISTS (SELECT 1 FROM telegram_links s WHERE s.id = $2 \
          AND s.tg_chat_id = telegram_links.tg_chat_id AND s.tg_message_id = telegram_links.tg_message_id)";
    Ok(with_db!(db, p => sqlx::query(SQL).bind(level).bind(id).execute(p).await.map(|_| ()))?)
}

/// Forgets a thread's topic (it was deleted in Telegram): the next forward
/// creates a new one.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn forget_topic(db: &Db, thread_id: &ThreadId) -> StoreResult<()> {
    const SQL: &str = "UPDATE threads SET tg_topic_id = NULL, tg_topic_name = NULL, \
                       tg_topic_chat_id = NULL, tg_topic_closed = 0 WHERE id = $1";
    Ok(with_db!(db, p => sqlx::query(SQL).bind(thread_id).execute(p).await.map(|_| ()))?)
}
