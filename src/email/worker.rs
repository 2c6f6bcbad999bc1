//! The email outbox worker (issue 26 item 5). One instance sends (an
//! advisory lock on a shared Postgres). Each round takes the rows due:
//!
//! - a `scheduled` check is looked at again now: an `answer` is cancelled
//!   when the visitor saw every answer (`message_seen`), unsubscribed or
//!   has no address; held back by the 10-minute rule per thread and the
//!   5-an-hour rule per address; else composed with every unseen answer
//!   (one email per burst). A `transcript` likewise. The `agent_wait`
//!   checks of the round become one `agent` email per agent (coalesced).
//!   Composing writes the message into the row (`pending`) in one
//!   transaction with the thread's "emailed up to" mark.
//! - a `pending` email is taken (`sending`, committed), sent over SMTP,
//!   then `sent`; a 4xx answer or no connection → `pending` again after a
//!   back-off (`EMAIL_RETRY_BASE_MS` doubled per try, at most an hour,
//!   [`MAX_ATTEMPTS`] tries); a 5xx answer → `dead` (shown in the panel).
//!
//! At-most-once per crash: a row is `sending` only during its SMTP
//! transaction; a process killed then leaves it so, and the next sender
//! sends it again once ([`crate::chat::email::Emails::recover_in_flight`]).
//! Nothing else is ever sent twice: `take` moves only a `pending` row.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::{Mailer, compose, smtp::Outcome};
use crate::chat::ChatResult;
use crate::domain::{
    AgentId, EmailKind, EmailRow, EmailStatus, EmailThread, Role, ThreadId, ThreadStatus,
};
use crate::store;

/// At most one answer email per thread in this time (issue 26 item 2).
pub const THREAD_INTERVAL: TimeDelta = TimeDelta::minutes(10);

/// At most [`PER_ADDRESS_PER_HOUR`] emails to one address in this window.
pub const ADDRESS_WINDOW: TimeDelta = TimeDelta::hours(1);

/// Emails to one address per [`ADDRESS_WINDOW`], all threads together
/// (issue 26 § Security: sohbet cannot be used to mail-bomb someone).
pub const PER_ADDRESS_PER_HOUR: i64 = 5;

/// SMTP tries of one email before it is given up (`dead`).
pub const MAX_ATTEMPTS: i32 = 20;

/// Messages of a transcript (the newest ones when there are more).
const TRANSCRIPT_MAX: i64 = 500;

/// Rows taken per round.
const ROUND: i64 = 50;

/// Runs the worker until the process ends.
pub async fn run(m: Mailer) {
    let emails = m.chat.emails().clone();
    let alarm = emails.alarm();
    let mut leader = emails.leader();
    let postgres = m.chat.database_kind() == "postgres";
    loop {
        if let Some(first) = leader.hold().await {
            if first {
                match emails.recover_in_flight().await {
                    Ok(0) => {}
                    Ok(n) => tracing::warn!(n, "emails were in flight at a crash; sent again once"),
                    Err(e) => tracing::warn!(error = %e, "cannot recover emails in flight"),
                }
            }
            if let Err(e) = round(&m).await {
                tracing::warn!(error = %e, "email round failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        if let Ok(counts) = emails.counts().await {
            let waiting = counts
                .iter()
                .filter(|(s, _)| {
                    matches!(
                        s,
                        EmailStatus::Scheduled | EmailStatus::Pending | EmailStatus::Sending
                    )
                })
                .map(|(_, n)| n)
                .sum();
            crate::metrics::email_pending(waiting);
        }
        // Until the next row is due, a commit wakes us, or (another
        // instance may schedule on a shared Postgres) a short recheck.
        let cap = if postgres {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(30)
        };
        let wait = match emails.next_due().await {
            Ok(Some(t)) => (t - store::now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(cap),
            Ok(None) => cap,
            Err(_) => Duration::from_secs(1),
        };
        if wait.is_zero() {
            tokio::task::yield_now().await;
            continue;
        }
        tokio::select! {
            () = alarm.notified() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
}

async fn round(m: &Mailer) -> ChatResult<()> {
    let emails = m.chat.emails();
    let now = store::now();
    let rows = emails.due(now, ROUND).await?;
    let mut agent_due = false;
    for row in rows {
        match (row.status, row.kind) {
            (EmailStatus::Scheduled, EmailKind::Answer) => answer(m, &row, now).await?,
            (EmailStatus::Scheduled, EmailKind::Transcript) => transcript(m, &row, now).await?,
            (EmailStatus::Scheduled, EmailKind::AgentWait) => agent_due = true,
            (EmailStatus::Pending, _) => deliver(m, &row).await?,
            _ => {}
        }
    }
    if agent_due {
        // One email per agent lists every thread waiting now (coalesced),
        // not only the checks that fell due this round.
        let waits = emails.agent_waits(ROUND).await?;
        agents(m, &waits, now).await?;
    }
    Ok(())
}

/// When `address` may get its next email (`None`: now).
async fn address_held(
    m: &Mailer,
    address: &str,
    now: DateTime<Utc>,
) -> ChatResult<Option<DateTime<Utc>>> {
    let (n, oldest) = m
        .chat
        .emails()
        .queued_to(address, now - ADDRESS_WINDOW)
        .await?;
    Ok((n >= PER_ADDRESS_PER_HOUR).then(|| oldest.unwrap_or(now) + ADDRESS_WINDOW))
}

/// The thread of a visitor email `row`, with the address to write to:
/// `None` (and the row ended as cancelled) when the thread is gone, has
/// unsubscribed or has no address.
async fn recipient(
    m: &Mailer,
    row: &EmailRow,
) -> ChatResult<Option<(ThreadId, EmailThread, String)>> {
    let emails = m.chat.emails();
    let found = match &row.thread_id {
        Some(tid) => emails.thread(tid).await?,
        None => None,
    };
    match found {
        Some(t) if t.email_unsubscribed_at.is_none() && t.email.is_some() => {
            let to = t.email.clone().unwrap_or_default();
            Ok(Some((t.id.clone(), t, to)))
        }
        _ => {
            emails.end(row.id, EmailStatus::Cancelled).await?;
            Ok(None)
        }
    }
}

async fn answer(m: &Mailer, row: &EmailRow, now: DateTime<Utc>) -> ChatResult<()> {
    let emails = m.chat.emails();
    let Some((tid, t, to)) = recipient(m, row).await? else {
        return Ok(());
    };
    let tid = &tid;
    let after = t.seen_upto.max(t.email_answered_upto);
    let mut answers = emails.answers_after(tid, after).await?;
    let Some(last) = answers.last().map(|a| a.id) else {
        // Seen (or emailed) already.
        return emails.end(row.id, EmailStatus::Cancelled).await;
    };
    if let Some(sent) = t.email_answer_sent_at
        && now - sent < THREAD_INTERVAL
    {
        return emails.reschedule(row.id, sent + THREAD_INTERVAL).await;
    }
    if let Some(until) = address_held(m, &to, now).await? {
        return emails.reschedule(row.id, until).await;
    }
    for a in &mut answers {
        m.chat.names().show(a, Role::Visitor);
    }
    let frame = m.frame(&to, &t, row.id);
    let support = m.chat.names().support.clone();
    let continue_url = m.continue_url(tid, t.email_link_gen, now);
    match compose::answers(&frame.frame(), &answers, &support, &continue_url) {
        Ok(c) => {
            emails
                .compose(row.id, &c.to, &c.raw, Some((tid, last)), now)
                .await?;
        }
        Err(e) => {
            tracing::warn!(error = %e, row = %row.id, "answer email not composed");
            emails.end(row.id, EmailStatus::Cancelled).await?;
        }
    }
    Ok(())
}

async fn transcript(m: &Mailer, row: &EmailRow, now: DateTime<Utc>) -> ChatResult<()> {
    let emails = m.chat.emails();
    let Some((tid, t, to)) = recipient(m, row).await? else {
        return Ok(());
    };
    let tid = &tid;
    let mut messages = emails.visible_messages(tid, TRANSCRIPT_MAX).await?;
    if messages.is_empty() {
        return emails.end(row.id, EmailStatus::Cancelled).await;
    }
    if let Some(until) = address_held(m, &to, now).await? {
        return emails.reschedule(row.id, until).await;
    }
    for msg in &mut messages {
        m.chat.names().show(msg, Role::Visitor);
    }
    let frame = m.frame(&to, &t, row.id);
    let lang = frame.lang;
    let visitor = t.name.clone().unwrap_or_else(|| match lang {
        compose::Lang::Tr => "Siz".into(),
        compose::Lang::En => "You".into(),
    });
    let support = m.chat.names().support.clone();
    let continue_url = m.continue_url(tid, t.email_link_gen, now);
    match compose::transcript(&frame.frame(), &messages, &support, &visitor, &continue_url) {
        Ok(c) => {
            emails.compose(row.id, &c.to, &c.raw, None, now).await?;
        }
        Err(e) => {
            tracing::warn!(error = %e, row = %row.id, "transcript not composed");
            emails.end(row.id, EmailStatus::Cancelled).await?;
        }
    }
    Ok(())
}

/// The `agent_wait` checks of a round: the threads still waiting long
/// enough become one email per agent with an address (its own threads
/// and the unassigned ones); the others are moved or ended.
async fn agents(m: &Mailer, waits: &[EmailRow], now: DateTime<Utc>) -> ChatResult<()> {
    let emails = m.chat.emails();
    let mut done = Vec::new();
    let mut waiting: Vec<(ThreadId, String, DateTime<Utc>, Option<AgentId>)> = Vec::new();
    for row in waits {
        let Some(tid) = &row.thread_id else {
            emails.end(row.id, EmailStatus::Cancelled).await?;
            continue;
        };
        match emails.waiting(tid).await? {
            Some((Some(since), assignee, status, name)) if status != ThreadStatus::Closed => {
                // A thread answered since and written to again waits anew.
                let due = since + m.agent_delay();
                if due > now && row.due_at <= now {
                    emails.reschedule(row.id, due).await?;
                    continue;
                }
                waiting.push((tid.clone(), name, since, assignee));
                done.push(row.id);
            }
            _ => emails.end(row.id, EmailStatus::Cancelled).await?,
        }
    }
    if waiting.is_empty() {
        return Ok(());
    }
    let mut mails = Vec::new();
    for agent in emails.agents_with_email().await? {
        let mine: Vec<(String, DateTime<Utc>, String)> = waiting
            .iter()
            .filter(|(_, _, _, a)| a.is_none_or(|a| a == agent.id))
            .map(|(tid, name, since, _)| (name.clone(), *since, m.panel_url(tid)))
            .collect();
        if mine.is_empty() || address_held(m, &agent.email, now).await?.is_some() {
            continue;
        }
        let unsubscribe = m.agent_unsubscribe_url(agent.id, now);
        let frame = m.agent_frame(&agent.email, &unsubscribe);
        match compose::agent(&frame.frame(), &mine) {
            Ok(c) => mails.push((agent.id, c.to, c.raw)),
            Err(e) => tracing::warn!(error = %e, agent = %agent.id, "agent email not composed"),
        }
    }
    emails.agent_mails(&mails, &done, now).await
}

async fn deliver(m: &Mailer, row: &EmailRow) -> ChatResult<()> {
    let emails = m.chat.emails();
    let (Some(to), Some(body)) = (row.recipient.as_deref(), row.body.as_deref()) else {
        return Ok(());
    };
    if !emails.take(row.id).await? {
        return Ok(());
    }
    let attempts = row.attempts + 1;
    match m.smtp.send(to, body).await {
        Outcome::Sent => {
            crate::metrics::email("sent");
            tracing::info!(row = %row.id, kind = %row.kind, "email sent");
            emails
                .outcome(row.id, EmailStatus::Sent, None, store::now())
                .await
        }
        Outcome::Transient(e) if attempts < MAX_ATTEMPTS => {
            crate::metrics::email("retried");
            let pause = backoff(m.retry_base(), attempts);
            tracing::warn!(row = %row.id, attempts, error = %e, retry_in_s = pause.as_secs(), "email not sent; retried later");
            let at = store::now() + TimeDelta::from_std(pause).unwrap_or(TimeDelta::hours(1));
            emails
                .outcome(row.id, EmailStatus::Pending, Some(&e), at)
                .await
        }
        Outcome::Transient(e) | Outcome::Permanent(e) => {
            crate::metrics::email("dead");
            tracing::warn!(row = %row.id, attempts, error = %e, "email refused for good");
            emails
                .outcome(row.id, EmailStatus::Dead, Some(&e), store::now())
                .await
        }
    }
}

/// `base` doubled per try after the first, at most an hour.
fn backoff(base: Duration, attempts: i32) -> Duration {
    let exp = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(20);
    base.saturating_mul(1 << exp).min(Duration::from_secs(3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let b = Duration::from_secs(5);
        assert_eq!(backoff(b, 1), Duration::from_secs(5));
        assert_eq!(backoff(b, 3), Duration::from_secs(20));
        assert_eq!(backoff(b, 19), Duration::from_secs(3600));
    }
}
