//! The plan of one group commit (issue 25): which rows a batch of new
//! messages writes and how the rows that come back map to its inputs,
//! without running anything. Two executors follow it with the same SQL
//! texts: [`super::messages::insert_batch_with`] (sqlx; Postgres, and
//! SQLite for tools and tests) and [`super::sqlite_writer`] (the server's
//! SQLite hot path: one thread, one connection, the whole batch in one
//! call).

use std::collections::{HashMap, HashSet, VecDeque};

use chrono::{DateTime, Utc};

use crate::domain::{EmailSchedule, Inserted, Message, NewMessage, Role, ThreadId};

/// The threads that the batch's visitor messages create when missing, in
/// order, each once (the first message's display name wins).
pub(super) fn new_threads(batch: &[NewMessage]) -> Vec<(&ThreadId, &str)> {
    let mut out: Vec<(&ThreadId, &str)> = Vec::new();
    for m in batch {
        if let Some(name) = &m.new_thread
            && !out.iter().any(|(id, _)| **id == m.thread_id)
        {
            out.push((&m.thread_id, name));
        }
    }
    out
}

/// One input's outcome before the lookups: settled, or a `client_id` seen
/// in an earlier batch whose stored row must be read
/// ([`super::message_sql::BY_CLIENT_ID_SQL`], then [`retried`]).
pub(super) enum Slot {
    /// Known from the insert's returned rows.
    Done(Inserted),
    /// A retry of a row stored before this batch.
    Lookup {
        /// This input is the first of a thread the batch created.
        thread_created: bool,
    },
}

impl Slot {
    fn done(message: Message, thread_created: bool, duplicate: bool, conflict: bool) -> Slot {
        Slot::Done(Inserted {
            message,
            thread_created,
            duplicate,
            conflict,
            thread_reopened: false,
            blocked_at: None,
        })
    }
}

/// Maps the rows the multi-row message insert returned (`stored`, any
/// order; a row that hit the `client_id` index is not among them) to the
/// inputs. `created`: the threads the batch's thread insert created.
///
/// # Errors
/// `RowNotFound` when fewer unkeyed rows came back than were sent (the
/// database broke its promise; the transaction is rolled back).
pub(super) fn match_stored(
    batch: &[NewMessage],
    created: &HashSet<ThreadId>,
    mut stored: Vec<Message>,
) -> Result<Vec<Slot>, sqlx::Error> {
    // Ids grow in VALUES order: sorted, the rows without a client_id come
    // back in the order of their inputs.
    stored.sort_unstable_by_key(|m| m.id);
    let mut keyed: HashMap<(ThreadId, String), (Message, bool)> = HashMap::new();
    let mut unkeyed: VecDeque<Message> = VecDeque::new();
    for m in stored {
        match &m.client_id {
            Some(cid) => {
                keyed.insert((m.thread_id.clone(), cid.clone()), (m, false));
            }
            None => unkeyed.push_back(m),
        }
    }
    let mut out = Vec::with_capacity(batch.len());
    let mut first_of_thread: HashSet<&ThreadId> = HashSet::new();
    for m in batch {
        let thread_created = created.contains(&m.thread_id) && first_of_thread.insert(&m.thread_id);
        let slot = match &m.client_id {
            None => {
                let message = unkeyed.pop_front().ok_or(sqlx::Error::RowNotFound)?;
                Slot::done(message, thread_created, false, false)
            }
            Some(cid) => match keyed.get_mut(&(m.thread_id.clone(), cid.clone())) {
                Some((message, taken @ false)) => {
                    *taken = true;
                    Slot::done(message.clone(), thread_created, false, false)
                }
                // The same key twice in one batch: the second is a retry of the first.
                Some((message, true)) => {
                    let conflict = message.sender_type != m.sender;
                    Slot::done(message.clone(), thread_created, true, conflict)
                }
                None => Slot::Lookup { thread_created },
            },
        };
        out.push(slot);
    }
    Ok(out)
}

/// The outcome of input `m`, a retry of the stored row `message`
/// (another sender's key is not a retry: a conflict).
pub(super) fn retried(m: &NewMessage, message: Message, thread_created: bool) -> Inserted {
    let conflict = message.sender_type != m.sender;
    Inserted {
        message,
        thread_created,
        duplicate: true,
        conflict,
        thread_reopened: false,
        blocked_at: None,
    }
}

/// The inputs that stored a new row (not a retry), with their outcome.
fn stored<'a>(
    batch: &'a [NewMessage],
    out: &'a [Inserted],
) -> impl Iterator<Item = (&'a NewMessage, &'a Inserted)> {
    batch.iter().zip(out).filter(|(_, i)| !i.duplicate)
}

/// Forwards to Telegram (outbox rows: message id, thread, the visitor's
/// address key for the fair share), in message order: only messages marked
/// `forward`, which the core marks only when Telegram is configured
/// (`chat::post`).
pub(super) fn forwards<'a>(
    batch: &'a [NewMessage],
    out: &'a [Inserted],
) -> Vec<(i64, &'a str, Option<&'a str>)> {
    stored(batch, out)
        .filter(|(m, _)| m.forward)
        .map(|(m, i)| {
            (
                i.message.id.get(),
                i.message.thread_id.as_str(),
                m.client_key.as_deref(),
            )
        })
        .collect()
}

/// The threads to touch, each once: those with a new visitor message
/// (touched and reopened by one statement), then those with only agents'
/// messages.
pub(super) fn touches<'a>(
    batch: &'a [NewMessage],
    out: &'a [Inserted],
) -> (Vec<&'a str>, Vec<&'a str>) {
    let mut by_visitor: Vec<&str> = Vec::new();
    let mut admin_only: Vec<&str> = Vec::new();
    for (m, i) in stored(batch, out) {
        let id = i.message.thread_id.as_str();
        if m.sender == Role::Visitor && !by_visitor.contains(&id) {
            by_visitor.push(id);
        } else if m.sender != Role::Visitor && !admin_only.contains(&id) {
            admin_only.push(id);
        }
    }
    admin_only.retain(|id| !by_visitor.contains(id));
    (by_visitor, admin_only)
}

/// Telegram links of admin replies (`topics::LINK_ADMIN_SQL`'s four
/// parameters: thread, message id, chat id as text, Telegram message id).
pub(super) fn tg_links<'a>(
    batch: &'a [NewMessage],
    out: &'a [Inserted],
) -> Vec<(&'a str, i64, String, i64)> {
    stored(batch, out)
        .filter_map(|(m, i)| {
            m.tg_link.map(|(chat, tg_message)| {
                (
                    i.message.thread_id.as_str(),
                    i.message.id.get(),
                    chat.to_string(),
                    tg_message,
                )
            })
        })
        .collect()
}

/// Emails (issue 26): one scheduled check per thread and kind, as (thread,
/// SQL of `store::email`, due); none when `email` is off.
pub(super) fn email_checks<'a>(
    batch: &'a [NewMessage],
    out: &'a [Inserted],
    email: &EmailSchedule,
    now: DateTime<Utc>,
) -> Vec<(&'a str, &'static str, DateTime<Utc>)> {
    let mut checks: Vec<(&str, &'static str, DateTime<Utc>)> = Vec::new();
    for (m, i) in stored(batch, out) {
        let id = i.message.thread_id.as_str();
        let check = match m.sender {
            Role::Admin if !m.internal => email
                .answer_delay
                .map(|d| (super::email::SCHEDULE_ANSWER_SQL, now + d)),
            Role::Visitor => email
                .agent_delay
                .map(|d| (super::email::SCHEDULE_AGENT_WAIT_SQL, now + d)),
            Role::Admin => None,
        };
        if let Some((sql, due)) = check
            && !checks
                .iter()
                .any(|(t, s, _)| *t == id && std::ptr::eq(*s, sql))
        {
            checks.push((id, sql, due));
        }
    }
    checks
}

/// Marks the new messages of the threads the visitor touch reopened
/// (`reopened`: thread → its `blocked_at`).
pub(super) fn mark_reopened(
    out: &mut [Inserted],
    mut reopened: HashMap<String, Option<DateTime<Utc>>>,
) {
    for i in out.iter_mut().filter(|i| !i.duplicate) {
        if let Some(blocked_at) = reopened.remove(i.message.thread_id.as_str()) {
            i.thread_reopened = true;
            i.blocked_at = blocked_at;
        }
    }
}

/// Writes on `$tx` (an open transaction) what a batch writes after its
/// messages and touches: outbox rows ([`forwards`]), Telegram links of
/// admin replies ([`tg_links`]: after the touch, which locked their thread
/// rows, see `topics::LINK_ADMIN_SQL`) and email checks
/// ([`email_checks`]). For the sqlx executors (`messages`, `pg_batch`).
macro_rules! follow_ups {
    ($tx:expr, $batch:expr, $out:expr, $email:expr, $now:expr) => {{
        use $crate::store::{batch, message_sql, topics};
        let forwards = batch::forwards($batch, $out);
        for (start, len) in message_sql::chunks(forwards.len()) {
            let mut q = sqlx::query(message_sql::outbox_insert_sql(len)).bind($now);
            for (id, thread, key) in &forwards[start..start + len] {
                q = q.bind(*id).bind(*thread).bind(*key);
            }
            q.execute(&mut *$tx).await?;
        }
        for (thread, id, chat, tg_message) in batch::tg_links($batch, $out) {
            sqlx::query(topics::LINK_ADMIN_SQL)
                .bind(thread)
                .bind(id)
                .bind(chat)
                .bind(tg_message)
                .execute(&mut *$tx)
                .await?;
        }
        for (thread, sql, due) in batch::email_checks($batch, $out, $email, $now) {
            sqlx::query(sql)
                .bind($now)
                .bind(thread)
                .bind(due)
                .execute(&mut *$tx)
                .await?;
        }
    }};
}
pub(super) use follow_ups;
