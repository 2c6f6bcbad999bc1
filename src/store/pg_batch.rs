//! The group commit on Postgres in one round trip (issue 25 item 2): the
//! whole batch is one statement, its rows sent as arrays (`UNNEST`, one
//! statement text for any batch size), its data-modifying `WITH` parts
//! creating the missing threads, inserting the messages, reading the rows
//! a retried `client_id` stored before, and touching (and reopening) the
//! threads, all atomic as any single statement. A batch that also writes
//! outbox rows, Telegram links or email checks ([`super::batch`]) runs the
//! same statement inside a transaction with those after it (four round
//! trips instead of one per statement).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool, Row, postgres::PgRow};

use super::batch;
use super::message_sql::BY_CLIENT_ID_SQL;
use crate::domain::{EmailSchedule, Inserted, Message, NewMessage, ThreadId};

/// The batch statement. `$1` now; `$2`…`$11` one array each, an element
/// per message: thread, sender, type, text, file URL, client_id, internal,
/// agent id, agent name, new thread's display name (NULL: do not create).
/// Rows: `kind` `m` (a new message), `d` (a row stored earlier under a
/// `client_id` of the batch), `t` (a thread it created), `v` (a thread a
/// visitor's message touched, with `changed` = its `status_changed_at`).
/// Parts of one statement see the database as it was before it: `d` holds
/// only earlier rows, and `v` never sees a thread `t` creates (a new thread
/// is open and current already). Foreign keys are checked at its end, so a
/// message may join the thread created beside it.
const BATCH_SQL: &str = "WITH input AS ( \
        SELECT * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
            $7::text[], $8::bool[], $9::int8[], $10::text[], $11::text[]) WITH ORDINALITY \
            AS i (thread_id, sender, type, content_text, file_url, client_id, internal, \
                  agent_id, agent_name, new_thread, n) \
    ), t AS ( \
        INSERT INTO threads (id, display_name, created_at, last_activity_at, status) \
        SELECT DISTINCT ON (thread_id) thread_id, new_thread, $1, $1, 'open' FROM input \
        WHERE new_thread IS NOT NULL ORDER BY thread_id, n \
        ON CONFLICT (id) DO NOTHING RETURNING id \
    ), m AS ( \
        INSERT INTO messages (thread_id, sender, type, content_text, file_url, client_id, \
            internal, agent_id, agent_name, created_at) \
        SELECT thread_id, sender, type, content_text, file_url, client_id, internal, agent_id, \
            agent_name, $1 FROM input ORDER BY n \
        ON CONFLICT (thread_id, client_id) WHERE client_id IS NOT NULL DO NOTHING \
        RETURNING id, thread_id, content_text, type, sender, file_url, created_at, client_id, \
            internal, agent_id, agent_name, edited_at \
    ), d AS ( \
        SELECT id, thread_id, content_text, type, sender, file_url, created_at, client_id, \
            internal, agent_id, agent_name, edited_at FROM messages \
        WHERE (thread_id, client_id) IN \
            (SELECT thread_id, client_id FROM input WHERE client_id IS NOT NULL) \
    ), v AS ( \
        UPDATE threads SET last_activity_at = $1, status = 'open', status_changed_at = \
            CASE WHEN status = 'closed' THEN $1 ELSE status_changed_at END \
        WHERE id IN (SELECT thread_id FROM m WHERE sender = 'visitor') \
        RETURNING id, status_changed_at, blocked_at \
    ), a AS ( \
        UPDATE threads SET last_activity_at = $1 \
        WHERE id IN (SELECT thread_id FROM m WHERE sender <> 'visitor') \
          AND id NOT IN (SELECT thread_id FROM m WHERE sender = 'visitor') \
    ) \
    SELECT 'm' AS kind, m.*, NULL::timestamptz AS changed, NULL::timestamptz AS blocked FROM m \
    UNION ALL SELECT 'd', d.*, NULL, NULL FROM d \
    UNION ALL SELECT 't', NULL, id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
        NULL FROM t \
    UNION ALL SELECT 'v', NULL, id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
        status_changed_at, blocked_at FROM v";

/// What the batch statement answered, sorted by kind.
#[derive(Default)]
struct Answer {
    stored: Vec<Message>,
    earlier: HashMap<(ThreadId, String), Message>,
    created: HashSet<ThreadId>,
    reopened: HashMap<String, Option<DateTime<Utc>>>,
}

impl Answer {
    fn read(rows: Vec<PgRow>, now: DateTime<Utc>) -> Result<Answer, sqlx::Error> {
        let mut a = Answer::default();
        for row in rows {
            let kind: &str = row.try_get("kind")?;
            match kind {
                "m" => a.stored.push(Message::from_row(&row)?),
                "d" => {
                    let m = Message::from_row(&row)?;
                    if let Some(cid) = &m.client_id {
                        a.earlier.insert((m.thread_id.clone(), cid.clone()), m);
                    }
                }
                "t" => {
                    a.created.insert(row.try_get("thread_id")?);
                }
                _ => {
                    let changed: Option<DateTime<Utc>> = row.try_get("changed")?;
                    if changed == Some(now) {
                        a.reopened
                            .insert(row.try_get("thread_id")?, row.try_get("blocked")?);
                    }
                }
            }
        }
        Ok(a)
    }
}

/// Stores `batch` as [`super::messages::insert_batch_with`] promises, in
/// one round trip when it writes nothing but threads and messages.
///
/// # Errors
/// Any database error; then nothing of the batch is stored.
pub(super) async fn insert(
    p: &PgPool,
    batch: &[NewMessage],
    email: &EmailSchedule,
) -> Result<Vec<Inserted>, sqlx::Error> {
    let now = super::now();
    let col = |f: fn(&NewMessage) -> Option<&str>| batch.iter().map(f).collect::<Vec<_>>();
    let q = sqlx::query(BATCH_SQL)
        .bind(now)
        .bind(col(|m| Some(m.thread_id.as_str())))
        .bind(col(|m| Some(m.sender.as_str())))
        .bind(col(|m| Some(m.kind.as_str())))
        .bind(col(|m| Some(m.text.as_str())))
        .bind(col(|m| m.file_url.as_deref()))
        .bind(col(|m| m.client_id.as_deref()))
        .bind(batch.iter().map(|m| m.internal).collect::<Vec<_>>())
        .bind(
            batch
                .iter()
                .map(|m| m.agent_id.map(i64::from))
                .collect::<Vec<_>>(),
        )
        .bind(col(|m| m.agent_name.as_deref()))
        .bind(col(|m| m.new_thread.as_deref()));
    let more =
        *email != EmailSchedule::OFF || batch.iter().any(|m| m.forward || m.tg_link.is_some());
    let mut tx = if more { Some(p.begin().await?) } else { None };
    let rows = match &mut tx {
        Some(tx) => q.fetch_all(&mut **tx).await?,
        None => q.fetch_all(p).await?,
    };
    let answer = Answer::read(rows, now)?;

    let mut out = Vec::with_capacity(batch.len());
    for (m, slot) in batch
        .iter()
        .zip(batch::match_stored(batch, &answer.created, answer.stored)?)
    {
        out.push(match slot {
            batch::Slot::Done(i) => i,
            batch::Slot::Lookup { thread_created } => {
                let key = (m.thread_id.clone(), m.client_id.clone().unwrap_or_default());
                let message = match answer.earlier.get(&key) {
                    Some(message) => message.clone(),
                    // Stored by a transaction that committed after this
                    // statement began (another writer): read it now.
                    None => {
                        let q = sqlx::query_as(BY_CLIENT_ID_SQL)
                            .bind(&m.thread_id)
                            .bind(&m.client_id);
                        match &mut tx {
                            Some(tx) => q.fetch_one(&mut **tx).await?,
                            None => q.fetch_one(p).await?,
                        }
                    }
                };
                batch::retried(m, message, thread_created)
            }
        });
    }
    batch::mark_reopened(&mut out, answer.reopened);
    let Some(mut tx) = tx else {
        return Ok(out);
    };

    batch::follow_ups!(tx, batch, &out, email, now);
    tx.commit().await?;
    Ok(out)
}
