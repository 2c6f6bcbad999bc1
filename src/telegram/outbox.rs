//! The outbox worker: sends queued forwards to the admin chat, in order per
//! thread, one Bot API call at a time. A visitor's message is forwarded
//! (`[Visitor 3F2A] …`); an agent's answer or internal note written in the
//! panel (or over the API) is mirrored into the thread's forum topic
//! under its agent's name (`Ayşe: …`, `📝 Note (Ayşe): …`,
//! [`super::format::agent_head`]; `Support` when no agent is known) and
//! dropped without a topic (reply mode); what agents wrote in Telegram is
//! never queued (the core's [`crate::chat::PostRequest::from_telegram`]).
//!
//! **Rounds.** Each round is one turn. It reads the *due heads*: per
//! thread only its oldest pending forward, and only once its
//! `next_attempt_at` has come ([`crate::chat::outbox::Outbox::due`]). A
//! thread whose head keeps failing is therefore skipped by the query
//! itself: it holds up its own later forwards (order) but never another
//! thread's. The fair share ([`super::fair`], issue 23) picks whose turn
//! it is: threads round robin, one client address at most one send in
//! `TELEGRAM_ADDRESS_SHARE` while others wait. The turn sends that thread's
//! due texts *coalesced* into one Telegram message when there are several
//! ([`super::coalesce`]: each line with its time, up to 4,096 UTF-16
//! units, the rest at its next turn), else its head forward alone (media
//! keep their own send). After a turn that sent or recorded something the
//! next one starts at once; when nothing is due the worker sleeps until
//! the earliest head becomes due (at least [`MIN_PAUSE`], at most
//! [`MAX_PAUSE`]) or until a new forward is queued — never zero, so
//! failures cannot turn into a busy loop. The worker is woken by the
//! core's [`ChatEvent::OutboxDue`] events (a forward queued, a receipt
//! noted), which it follows like any subscriber, and by its timer. It
//! reads and records everything through [`Outbox`].
//!
//! **Failures.** Network errors, 5xx and unreadable answers are retried with
//! exponential back-off (from `retry_base`, doubling, at most 60 s); a `429`
//! is waited out (`retry_after`) before any other send, since the limit is
//! the bot's. Other Bot API refusals are retried [`MAX_REFUSALS`] times, then
//! the forward is marked `dead` and logged. A local media file that no
//! longer exists is a permanent failure: `dead` at once, with
//! `last_error` saying so (the chat core refuses such a `file_url` at post
//! time; a file can still vanish later).
//!
//! **At most once, except across a crash.** Every delivered part is recorded
//! (`parts_sent` and its Telegram link, one transaction; for a coalesced
//! forward every row it carries, each with its link) right after Telegram
//! accepted it, so a retry or a restart never sends it again. A crash
//! (`kill -9`, power loss) between Telegram accepting a part and that record
//! sends that one part again after the restart. Parts are sent strictly one
//! after another, so at most one part is in flight: each crash duplicates at
//! most one part, and loses none.
//!
//! Nothing here logs message content: logs carry outbox ids and error texts
//! from [`Telegram::describe`].

use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Notify, watch};

use super::{
    Telegram, coalesce,
    fair::Fair,
    send::{Outcome, deliver},
};
use crate::chat::{Chat, ChatEvent, outbox::OutboxItem};

/// Tries before a forward refused by the Bot API is given up.
pub const MAX_REFUSALS: i32 = 5;
/// Most heads (one per thread) one round reads.
const PAGE: i64 = 200;
/// Most heads of one client address one round reads (so that the threads
/// of one address cannot fill the page and hide everyone else's).
const PER_ADDRESS: i64 = 16;
/// Shortest sleep after a round that sent nothing.
pub const MIN_PAUSE: Duration = Duration::from_millis(100);
/// Longest sleep between rounds (new forwards wake the worker sooner).
pub const MAX_PAUSE: Duration = Duration::from_secs(30);
/// Sleep after a database error.
const STORE_PAUSE: Duration = Duration::from_secs(2);

fn backoff(base: Duration, attempts: i32) -> Duration {
    let factor = 2u32.saturating_pow(attempts.clamp(0, 16) as u32);
    base.saturating_mul(factor).min(Duration::from_secs(60))
}

/// Runs until `stop` turns true.
pub async fn run(tg: Telegram, chat: Chat, mut stop: watch::Receiver<bool>) {
    let (signal, follower) = wake_on_events(&chat);
    let outbox = chat.outbox().clone();
    tracing::info!("Telegram outbox worker started");
    let leader = outbox.leader();
    let mut fair = Fair::new(tg.address_share);
    // Topic mode is known once the first self-test ran (at the bridge's
    // start): until then a forward could not know where it goes.
    while tg.console.report().is_none() && !*stop.borrow() {
        tokio::select! {
            _ = tokio::time::sleep(MIN_PAUSE) => {}
            _ = stop.changed() => {}
        }
    }
    while !*stop.borrow() {
        // Several instances on one Postgres: only one sends (else a forward
        // could go out twice).
        if !leader.hold().await {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        // A stop cuts a round short (teloxide waits 10 s after any 5xx):
        // a part is recorded only after Telegram took it, so nothing is lost.
        let wait = tokio::select! {
            w = async {
                let w = round(&tg, &chat, &mut fair).await;
                super::receipts::round(&tg, &outbox).await;
                w
            } => w,
            _ = stop.changed() => break,
        };
        // On Postgres another instance may have queued forwards without
        // waking this one: look again every second.
        let wait = outbox.recheck_every().map_or(wait, |every| wait.min(every));
        if wait.is_zero() {
            // Something was sent or recorded: the next turn may be due.
            tokio::task::yield_now().await;
            continue;
        }
        tokio::select! {
            _ = signal.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {}
        }
    }
    follower.abort();
    tracing::info!("Telegram outbox worker stopped");
}

/// Follows the core's events (draining them at once, so a long round never
/// holds the core up) and turns each [`ChatEvent::OutboxDue`] into a
/// wake-up of the worker.
fn wake_on_events(chat: &Chat) -> (std::sync::Arc<Notify>, tokio::task::JoinHandle<()>) {
    let signal = std::sync::Arc::new(Notify::new());
    let mut events = chat.subscribe();
    let wake = signal.clone();
    let follower = tokio::spawn(async move {
        while let Some(ev) = events.recv().await {
            if matches!(ev, ChatEvent::OutboxDue) {
                wake.notify_one();
            }
        }
    });
    (signal, follower)
}

/// One turn: reads the due heads (one per thread), drops those whose
/// message was cleared, lets the fair share pick one ([`Fair::pick`]) and
/// delivers it ([`turn`]: a coalesced forward, or one forward); returns
/// how long to sleep: zero when something was sent or recorded (the next
/// turn may start at once), else until the earliest head becomes due,
/// within [`MIN_PAUSE`]..=[`MAX_PAUSE`].
async fn round(tg: &Telegram, chat: &Chat, fair: &mut Fair) -> Duration {
    let outbox = chat.outbox();
    let heads = match outbox.due(Utc::now(), PAGE, PER_ADDRESS).await {
        Ok(h) => h,
        Err(e) => {
            tracing::warn!(error = %e, "outbox: cannot read pending forwards");
            return STORE_PAUSE;
        }
    };
    let mut progressed = false;
    let mut live = Vec::with_capacity(heads.len());
    for item in heads {
        if item.message_id.is_some() {
            live.push(item);
            continue;
        }
        // Cleared before it could be forwarded.
        if outbox.drop_cleared(item.id).await.is_err() {
            return STORE_PAUSE;
        }
        progressed = true;
    }
    let Some(item) = fair.pick(&live) else {
        return if progressed {
            Duration::ZERO
        } else {
            until_due(chat).await
        };
    };
    let before = tg.console.pace.sends();
    let outcome = turn(tg, chat, item).await;
    fair.served(item, tg.console.pace.sends().saturating_sub(before));
    let res = match outcome {
        Outcome::Sent => Ok(()),
        Outcome::Throttled(d) => {
            tracing::warn!(retry_after_s = d.as_secs(), "Telegram asks to slow down");
            let next = Utc::now() + chrono::TimeDelta::from_std(d).unwrap_or_default();
            let r = outbox.retry(item.id, next, false, "429 retry_after").await;
            // The limit is the bot's: no send before it has passed.
            return if r.is_ok() {
                d.max(MIN_PAUSE)
            } else {
                STORE_PAUSE
            };
        }
        Outcome::LeaseLost => {
            tracing::warn!(
                outbox_id = %item.id,
                "outbox: this instance lost the sender's lock; its batch is aborted"
            );
            return STORE_PAUSE;
        }
        Outcome::NoTopic => outbox.drop_unmirrored(item.id).await,
        Outcome::TopicGone if item.attempts + 1 < MAX_REFUSALS => {
            outbox.retry(item.id, Utc::now(), true, "topic gone").await
        }
        Outcome::TopicGone => {
            tracing::error!(
                outbox_id = %item.id,
                "the thread's topic keeps vanishing; giving up"
            );
            outbox.give_up(item.id, "topic gone").await
        }
        Outcome::Permanent(e) => {
            tracing::error!(outbox_id = %item.id, error = %e, "a forward can never be sent; giving up");
            outbox.give_up(item.id, &e).await
        }
        Outcome::Refused(e) if item.attempts + 1 >= MAX_REFUSALS => {
            tracing::error!(outbox_id = %item.id, error = %e, "Telegram refused a forward {MAX_REFUSALS} times; giving up");
            outbox.give_up(item.id, &e).await
        }
        Outcome::Transient(e) | Outcome::Refused(e) => {
            // Later forwards of this thread wait behind this one (order);
            // other threads' heads are not affected.
            let d = backoff(tg.retry_base, item.attempts);
            tracing::warn!(outbox_id = %item.id, attempts = item.attempts + 1, error = %e, "forward failed, will retry");
            let next = Utc::now() + chrono::TimeDelta::from_std(d).unwrap_or_default();
            outbox.retry(item.id, next, true, &e).await
        }
        Outcome::Store(source) => {
            // As above; logged with the database error and its sources.
            let d = backoff(tg.retry_base, item.attempts);
            tracing::warn!(
                outbox_id = %item.id,
                attempts = item.attempts + 1,
                error = &*source as &dyn std::error::Error,
                "forward failed, will retry"
            );
            let next = Utc::now() + chrono::TimeDelta::from_std(d).unwrap_or_default();
            outbox.retry(item.id, next, true, &source.to_string()).await
        }
    };
    match res {
        // Sent, or its failure recorded (the head is no longer due): the
        // next turn may start at once.
        Ok(()) => Duration::ZERO,
        Err(e) => {
            tracing::warn!(error = %e, "outbox: cannot record a result");
            STORE_PAUSE
        }
    }
}

/// One thread's turn: its due texts coalesced into one Telegram message
/// when it has more than one ([`coalesce::batch`]), else its head forward
/// alone ([`deliver`]: a media message, a long text in parts, …).
async fn turn(tg: &Telegram, chat: &Chat, head: &OutboxItem) -> Outcome {
    match coalesce::batch(tg, chat, head).await {
        Ok(Some(batch)) => coalesce::send_batch(tg, chat, batch).await,
        Ok(None) => deliver(tg, chat, head).await,
        Err(e) => Outcome::Store(e.into()),
    }
}

/// How long until the earliest pending head becomes due, within
/// [`MIN_PAUSE`]..=[`MAX_PAUSE`].
async fn until_due(chat: &Chat) -> Duration {
    match chat.outbox().next_due().await {
        Ok(Some(at)) => (at - Utc::now())
            .to_std()
            .unwrap_or_default()
            .clamp(MIN_PAUSE, MAX_PAUSE),
        Ok(None) => MAX_PAUSE,
        Err(e) => {
            tracing::warn!(error = %e, "outbox: cannot read pending forwards");
            STORE_PAUSE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_minute() {
        let b = Duration::from_secs(1);
        assert_eq!(backoff(b, 0), Duration::from_secs(1));
        assert_eq!(backoff(b, 3), Duration::from_secs(8));
        assert_eq!(backoff(b, 30), Duration::from_secs(60));
    }
}
