//! The `telegram_buttons` table (issue 13): which Telegram message of a
//! thread carries its inline buttons, so that they can be updated when the
//! thread is closed, reopened, blocked or unblocked.

use super::with_db;
use super::{Db, StoreResult};
use crate::domain::ThreadId;

/// The `(chat id, message id)` of thread `thread_id`'s buttons, if it has any.
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn get(db: &Db, thread_id: &ThreadId) -> StoreResult<Option<(i64, i64)>> {
    const SQL: &str = "SELECT tg_chat_id, tg_message_id FROM telegram_buttons WHERE thread_id = $1";
    let row: Option<(String, i64)> =
        with_db!(db, p => sqlx::query_as(SQL).bind(thread_id).fetch_optional(p).await)?;
    Ok(row.and_then(|(c, m)| c.parse().ok().map(|c| (c, m))))
}

/// Records that message `tg_message_id` of chat `tg_chat_id` carries the
/// buttons of `thread_id` (the first such message of a chat is kept; a
/// message in another chat, after `TELEGRAM_CHAT_ID` changed, replaces it).
///
/// # Errors
/// Database errors.
#[tracing::instrument(skip(db))]
pub async fn set(
    db: &Db,
    thread_id: &ThreadId,
    tg_chat_id: i64,
    tg_message_id: i64,
) -> StoreResult<()> {
    const SQL: &str = "INSERT INTO telegram_buttons (thread_id, tg_chat_id, tg_message_id) \
                       VALUES ($1, $2, $3) ON CONFLICT (thread_id) DO UPDATE \
                       SET tg_chat_id = excluded.tg_chat_id, tg_message_id = excluded.tg_message_id \
                       WHERE telegram_buttons.tg_chat_id <> excluded.tg_chat_id";
    Ok(
        with_db!(db, p => sqlx::query(SQL).bind(thread_id).bind(tg_chat_id.to_string()).bind(tg_message_id).execute(p).await.map(|_| ()))?,
    )
}
